import { BleCodecError, checkInt, need, noTrailing, viewOf } from './errors.ts'

const C = '0x2A37 Heart Rate Measurement'

/** Sensor Contact Status, flags bits 1–2: 0/1 → unsupported, 2 → not detected, 3 → detected. */
export type SensorContact = 'unsupported' | 'not-detected' | 'detected'

export interface HeartRateMeasurement {
  /** Beats per minute. */
  readonly heartRateBpm: number
  readonly sensorContact: SensorContact
  /** Energy expended since the last reset, kJ; null when the flag is clear. */
  readonly energyExpendedKj: number | null
  /** RR intervals in units of 1/1024 s, oldest first (empty when the flag is clear). */
  readonly rrIntervals1024: readonly number[]
}

export interface HeartRateMeasurementInput {
  readonly heartRateBpm: number
  readonly sensorContact?: SensorContact
  readonly energyExpendedKj?: number | null
  readonly rrIntervals1024?: readonly number[]
  /** Send the HR as uint16 even when it fits a uint8 (flags bit 0). Default: only when > 255. */
  readonly uint16?: boolean
}

const FLAG_UINT16 = 0x01
const FLAG_ENERGY = 0x08
const FLAG_RR = 0x10
const CONTACT_BITS: Record<SensorContact, number> = {
  unsupported: 0,
  'not-detected': 2 << 1,
  detected: 3 << 1,
}

/** 1/1024 s → milliseconds. */
export function rr1024ToMs(rr1024: number): number {
  return (rr1024 * 1000) / 1024
}

/** Milliseconds → the nearest 1/1024 s. */
export function msToRr1024(ms: number): number {
  return Math.round((ms * 1024) / 1000)
}

/*
 * 0x2A37 => flags:u8 hr:(u8 | u16 if flags.0) energyKj:u16 if flags.3 rr:u16[*] if flags.4
 *   flags: bit0 HR uint16, bits1-2 sensor contact, bit3 energy expended, bit4 RR present, bits5-7 RFU (ignored)
 * Strict: an odd RR tail or bytes the flags do not declare are rejected (TRAILING_BYTES), and so is the RR
 * flag without an interval (TRUNCATED).
 */
export function decodeHeartRateMeasurement(payload: Uint8Array): HeartRateMeasurement {
  const v = viewOf(payload, C)
  need(v, 0, 1, 'flags', C)
  const flags = v.getUint8(0)
  let o = 1
  let heartRateBpm: number
  if ((flags & FLAG_UINT16) !== 0) {
    need(v, o, 2, 'uint16 heart rate', C)
    heartRateBpm = v.getUint16(o, true)
    o += 2
  } else {
    need(v, o, 1, 'uint8 heart rate', C)
    heartRateBpm = v.getUint8(o)
    o += 1
  }
  const contactBits = (flags >> 1) & 0x03
  const sensorContact: SensorContact =
    contactBits === 3 ? 'detected' : contactBits === 2 ? 'not-detected' : 'unsupported'
  let energyExpendedKj: number | null = null
  if ((flags & FLAG_ENERGY) !== 0) {
    need(v, o, 2, 'energy expended', C)
    energyExpendedKj = v.getUint16(o, true)
    o += 2
  }
  const rrIntervals1024: number[] = []
  if ((flags & FLAG_RR) !== 0) {
    const rest = v.byteLength - o
    if (rest % 2 !== 0) {
      throw new BleCodecError(
        'TRAILING_BYTES',
        C,
        `RR intervals take ${rest} bytes, not a whole number of uint16 (payload ${v.byteLength} bytes)`,
      )
    }
    if (rest === 0)
      throw new BleCodecError('TRUNCATED', C, 'the RR-interval flag is set but no RR interval follows')
    for (; o < v.byteLength; o += 2) rrIntervals1024.push(v.getUint16(o, true))
  }
  noTrailing(v, o, C)
  return { heartRateBpm, sensorContact, energyExpendedKj, rrIntervals1024 }
}

/** Encodes a Heart Rate Measurement; throws BleCodecError INVALID_ARGUMENT for values the format cannot carry. */
export function encodeHeartRateMeasurement(m: HeartRateMeasurementInput): Uint8Array {
  checkInt(m.heartRateBpm, 0, 0xffff, 'heartRateBpm', C)
  const wide = m.uint16 === true || m.heartRateBpm > 0xff
  const rr = m.rrIntervals1024 ?? []
  const energy = m.energyExpendedKj ?? null
  if (energy !== null) checkInt(energy, 0, 0xffff, 'energyExpendedKj', C)
  for (const r of rr) checkInt(r, 0, 0xffff, 'rrIntervals1024[i]', C)
  const size = 1 + (wide ? 2 : 1) + (energy === null ? 0 : 2) + rr.length * 2
  if (size > 512) {
    throw new BleCodecError('INVALID_ARGUMENT', C, `${rr.length} RR intervals make a ${size}-byte payload`)
  }
  const out = new Uint8Array(size)
  const v = new DataView(out.buffer)
  const flags =
    (wide ? FLAG_UINT16 : 0) |
    CONTACT_BITS[m.sensorContact ?? 'unsupported'] |
    (energy === null ? 0 : FLAG_ENERGY) |
    (rr.length > 0 ? FLAG_RR : 0)
  v.setUint8(0, flags)
  let o = 1
  if (wide) {
    v.setUint16(o, m.heartRateBpm, true)
    o += 2
  } else {
    v.setUint8(o, m.heartRateBpm)
    o += 1
  }
  if (energy !== null) {
    v.setUint16(o, energy, true)
    o += 2
  }
  for (const r of rr) {
    v.setUint16(o, r, true)
    o += 2
  }
  return out
}
