import { checkInt, need, noTrailing, viewOf } from './errors.ts'
import { decodeSfloat, encodeSfloat } from './ieee11073.ts'
import type { Ieee11073Number } from './ieee11073.ts'

const C = '0x2A5F PLX Continuous Measurement'

/** Measurement Status bits (present when flags bit 2 is set). */
export const plxMeasurementStatus = {
  MEASUREMENT_ONGOING: 1 << 5,
  EARLY_ESTIMATED_DATA: 1 << 6,
  VALIDATED_DATA: 1 << 7,
  FULLY_QUALIFIED_DATA: 1 << 8,
  DATA_FROM_STORAGE: 1 << 9,
  DATA_FOR_DEMONSTRATION: 1 << 10,
  DATA_FOR_TESTING: 1 << 11,
  CALIBRATION_ONGOING: 1 << 12,
  MEASUREMENT_UNAVAILABLE: 1 << 13,
  QUESTIONABLE_MEASUREMENT: 1 << 14,
  INVALID_MEASUREMENT: 1 << 15,
} as const

/** Device and Sensor Status bits (24-bit field, present when flags bit 3 is set). */
export const plxDeviceStatus = {
  EXTENDED_DISPLAY_UPDATE_ONGOING: 1 << 0,
  EQUIPMENT_MALFUNCTION: 1 << 1,
  SIGNAL_PROCESSING_IRREGULARITY: 1 << 2,
  INADEQUATE_SIGNAL: 1 << 3,
  POOR_SIGNAL: 1 << 4,
  LOW_PERFUSION: 1 << 5,
  ERRATIC_SIGNAL: 1 << 6,
  NONPULSATILE_SIGNAL: 1 << 7,
  QUESTIONABLE_PULSE: 1 << 8,
  SIGNAL_ANALYSIS_ONGOING: 1 << 9,
  SENSOR_INTERFERENCE: 1 << 10,
  SENSOR_UNCONNECTED_TO_USER: 1 << 11,
  UNKNOWN_SENSOR: 1 << 12,
  SENSOR_DISPLACED: 1 << 13,
  SENSOR_MALFUNCTIONING: 1 << 14,
  SENSOR_DISCONNECTED: 1 << 15,
} as const

/** One SpO2/pulse-rate pair. Values are NaN when the sensor sent NaN or NRes (no valid value). */
export interface PlxReading {
  /** Percent. */
  readonly spo2Pct: number
  /** Beats per minute. */
  readonly pulseRateBpm: number
}

export interface PlxContinuousMeasurement extends PlxReading {
  readonly fast: PlxReading | null
  readonly slow: PlxReading | null
  /** Measurement Status bit set (see plxMeasurementStatus), or null when absent. */
  readonly measurementStatus: number | null
  /** Device and Sensor Status bit set (see plxDeviceStatus), or null when absent. */
  readonly deviceAndSensorStatus: number | null
  /** Percent, or null when absent. */
  readonly pulseAmplitudeIndexPct: number | null
}

export interface PlxContinuousMeasurementInput extends PlxReading {
  readonly fast?: PlxReading | null
  readonly slow?: PlxReading | null
  readonly measurementStatus?: number | null
  readonly deviceAndSensorStatus?: number | null
  readonly pulseAmplitudeIndexPct?: number | null
  /** Decimals kept in each SFLOAT (default 0: whole percent and bpm; 1 for 97.5 %). */
  readonly fractionDigits?: number
}

const FLAG_FAST = 0x01
const FLAG_SLOW = 0x02
const FLAG_STATUS = 0x04
const FLAG_DEVICE_STATUS = 0x08
const FLAG_PAI = 0x10

function sfloat(v: DataView, o: number, what: string): Ieee11073Number {
  need(v, o, 2, what, C)
  return decodeSfloat(v.getUint16(o, true), `${C} ${what}`)
}

function pair(v: DataView, o: number, what: string): PlxReading {
  return { spo2Pct: sfloat(v, o, `${what} SpO2`).value, pulseRateBpm: sfloat(v, o + 2, `${what} PR`).value }
}

/*
 * 0x2A5F => flags:u8 spo2:sfloat pr:sfloat [fastSpo2:sfloat fastPr:sfloat if flags.0]
 *           [slowSpo2:sfloat slowPr:sfloat if flags.1] [measurementStatus:u16 if flags.2]
 *           [deviceAndSensorStatus:u24 if flags.3] [pulseAmplitudeIndex:sfloat if flags.4]
 * Bits 5-7 of flags are RFU (ignored). Bytes the flags do not declare are rejected (TRAILING_BYTES).
 */
export function decodePlxContinuousMeasurement(payload: Uint8Array): PlxContinuousMeasurement {
  const v = viewOf(payload, C)
  need(v, 0, 1, 'flags', C)
  const flags = v.getUint8(0)
  const normal = pair(v, 1, 'normal')
  let o = 5
  let fast: PlxReading | null = null
  let slow: PlxReading | null = null
  if ((flags & FLAG_FAST) !== 0) {
    fast = pair(v, o, 'fast')
    o += 4
  }
  if ((flags & FLAG_SLOW) !== 0) {
    slow = pair(v, o, 'slow')
    o += 4
  }
  let measurementStatus: number | null = null
  if ((flags & FLAG_STATUS) !== 0) {
    need(v, o, 2, 'measurement status', C)
    measurementStatus = v.getUint16(o, true)
    o += 2
  }
  let deviceAndSensorStatus: number | null = null
  if ((flags & FLAG_DEVICE_STATUS) !== 0) {
    need(v, o, 3, 'device and sensor status', C)
    deviceAndSensorStatus = v.getUint16(o, true) | (v.getUint8(o + 2) << 16)
    o += 3
  }
  let pulseAmplitudeIndexPct: number | null = null
  if ((flags & FLAG_PAI) !== 0) {
    pulseAmplitudeIndexPct = sfloat(v, o, 'pulse amplitude index').value
    o += 2
  }
  noTrailing(v, o, C)
  return { ...normal, fast, slow, measurementStatus, deviceAndSensorStatus, pulseAmplitudeIndexPct }
}

/** Encodes a PLX Continuous Measurement; throws BleCodecError INVALID_ARGUMENT for unrepresentable values. */
export function encodePlxContinuousMeasurement(m: PlxContinuousMeasurementInput): Uint8Array {
  const digits = m.fractionDigits ?? 0
  const fast = m.fast ?? null
  const slow = m.slow ?? null
  const status = m.measurementStatus ?? null
  const device = m.deviceAndSensorStatus ?? null
  const pai = m.pulseAmplitudeIndexPct ?? null
  if (status !== null) checkInt(status, 0, 0xffff, 'measurementStatus', C)
  if (device !== null) checkInt(device, 0, 0xffffff, 'deviceAndSensorStatus', C)
  const words: number[] = []
  const push = (x: number): void => {
    words.push(encodeSfloat(x, digits, C))
  }
  push(m.spo2Pct)
  push(m.pulseRateBpm)
  if (fast !== null) {
    push(fast.spo2Pct)
    push(fast.pulseRateBpm)
  }
  if (slow !== null) {
    push(slow.spo2Pct)
    push(slow.pulseRateBpm)
  }
  const size =
    1 + words.length * 2 + (status === null ? 0 : 2) + (device === null ? 0 : 3) + (pai === null ? 0 : 2)
  const out = new Uint8Array(size)
  const v = new DataView(out.buffer)
  v.setUint8(
    0,
    (fast === null ? 0 : FLAG_FAST) |
      (slow === null ? 0 : FLAG_SLOW) |
      (status === null ? 0 : FLAG_STATUS) |
      (device === null ? 0 : FLAG_DEVICE_STATUS) |
      (pai === null ? 0 : FLAG_PAI),
  )
  let o = 1
  for (const w of words) {
    v.setUint16(o, w, true)
    o += 2
  }
  if (status !== null) {
    v.setUint16(o, status, true)
    o += 2
  }
  if (device !== null) {
    v.setUint16(o, device & 0xffff, true)
    v.setUint8(o + 2, device >>> 16)
    o += 3
  }
  if (pai !== null) v.setUint16(o, encodeSfloat(pai, digits, C), true)
  return out
}
