import { cobsEncode, cobsMaxEncodedLength } from './cobs.ts'
import { crc32c } from './crc32c.ts'
import { SerialProtocolError } from './errors.ts'

/*
 * serial frame v1 (little-endian; specified in docs/reference/serial-protocol.md):
 *   wire  => 0x00 cobs(body) 0x00
 *   body  => version:u8 type:u8 sensorId:u16 seq:u32 timestampUs:u48 payloadLength:u16
 *            payload[payloadLength] crc32c:u32            crc32c over every body byte before it
 *   type 1 samples => signal:u8 channel:u8 sampleRateHz:u16 count:u16 sample:i16[count]
 *   type 2 vital   => kind:u8 valueMilli:i32
 *   type 3 event   => code:u8 value:i32
 *   type 4 status  => batteryPercent:u8 leadOff:u8 resetReason:u8 flags:u8
 */

/** The protocol version this module encodes and the only one it decodes. */
export const SERIAL_PROTOCOL_VERSION = 1
/** Bytes before the payload: version, type, sensorId, seq, timestampUs, payloadLength. */
export const SERIAL_HEADER_BYTES = 16
/** The CRC-32C trailer. */
export const SERIAL_CRC_BYTES = 4
/** The smallest body: a header, an empty payload and the CRC. */
export const SERIAL_MIN_FRAME_BYTES = SERIAL_HEADER_BYTES + SERIAL_CRC_BYTES
/** The largest body (header + payload + CRC, before COBS) any v1 sender may produce. */
export const SERIAL_MAX_FRAME_BYTES = 1024
/** The largest payload: SERIAL_MAX_FRAME_BYTES minus header and CRC. */
export const SERIAL_MAX_PAYLOAD_BYTES = SERIAL_MAX_FRAME_BYTES - SERIAL_MIN_FRAME_BYTES
/** The most bytes between two delimiters a v1 frame can take on the line. */
export const SERIAL_MAX_ENCODED_FRAME_BYTES = cobsMaxEncodedLength(SERIAL_MAX_FRAME_BYTES)
/** Bytes before the samples in a sample block payload. */
export const SERIAL_SAMPLES_PAYLOAD_HEADER_BYTES = 6
/** The most int16 samples one sample block can carry. */
export const SERIAL_MAX_SAMPLES_PER_BLOCK = Math.floor(
  (SERIAL_MAX_PAYLOAD_BYTES - SERIAL_SAMPLES_PAYLOAD_HEADER_BYTES) / 2,
)
/** The largest device timestamp, µs (2^48 − 1, about 8.9 years of uptime). */
export const SERIAL_MAX_TIMESTAMP_US = 2 ** 48 - 1
/** Status `batteryPercent` value meaning "not known". */
export const SERIAL_BATTERY_UNKNOWN = 0xff

/** Frame type codes (header byte 1). */
export const serialFrameTypeCodes = { samples: 1, vital: 2, event: 3, status: 4 } as const
export type SerialFrameType = keyof typeof serialFrameTypeCodes

/**
 * What a sample block carries, and the unit of one int16 LSB:
 * ecg µV; ppg raw ADC counts (unitless); accel milli-g (channel 0 x, 1 y, 2 z); resp raw counts (thoracic impedance).
 */
export const serialSignalCodes = { ecg: 1, ppg: 2, accel: 3, resp: 4 } as const
export type SerialSignal = keyof typeof serialSignalCodes

/**
 * Vital kinds and their units (the value travels as an int32 of thousandths of the unit):
 * heart-rate bpm, spo2 %, pulse-rate bpm, temperature °C, resp-rate breaths/min, rr-interval ms.
 */
export const serialVitalCodes = {
  'heart-rate': 1,
  spo2: 2,
  'pulse-rate': 3,
  temperature: 4,
  'resp-rate': 5,
  'rr-interval': 6,
} as const
export type SerialVitalKind = keyof typeof serialVitalCodes

/**
 * Device events; `value` is code-specific: lead-off/lead-on the lead-off bitmask after the change,
 * samples-dropped the number of samples the device discarded, others 0.
 */
export const serialEventCodes = {
  'lead-off': 1,
  'lead-on': 2,
  button: 3,
  fall: 4,
  'sensor-detached': 5,
  'sensor-attached': 6,
  'samples-dropped': 7,
} as const
export type SerialEventCode = keyof typeof serialEventCodes

/** Why the device last (re)started; carried in every status frame. */
export const serialResetReasonCodes = {
  unknown: 0,
  'power-on': 1,
  watchdog: 2,
  'brown-out': 3,
  software: 4,
  external: 5,
  fault: 6,
} as const
export type SerialResetReason = keyof typeof serialResetReasonCodes

/** Status `flags` bit 0: the battery is charging. Bits 1–7 are reserved: sent as 0, ignored on receipt. */
export const SERIAL_STATUS_FLAG_CHARGING = 0x01

export interface SerialFrameHeader {
  /** Which sensor of the device the frame is about, 0–65535; 0 is the device itself (status frames). */
  readonly sensorId: number
  /** Per-sensor-id frame counter, u32, +1 per frame, wraps 2^32−1 → 0, restarts at 0 after a device reset. */
  readonly seq: number
  /**
   * Device clock, µs since the device booted (u48). For a sample block, the time of its first sample;
   * otherwise the time the value or event applies to. Not wall time: the gateway maps it.
   */
  readonly timestampUs: number
}

export interface SerialSampleBlock extends SerialFrameHeader {
  readonly type: 'samples'
  readonly signal: SerialSignal
  /** Channel index within the signal (ECG lead, PPG wavelength, accelerometer axis), 0–255. */
  readonly channel: number
  /** Samples per second, 1–65535; sample i was taken at timestampUs + i·10⁶/sampleRateHz. */
  readonly sampleRateHz: number
  /** 1–SERIAL_MAX_SAMPLES_PER_BLOCK samples, oldest first, in the signal's unit (see serialSignalCodes). */
  readonly samples: Int16Array
}

export interface SerialVital extends SerialFrameHeader {
  readonly type: 'vital'
  readonly kind: SerialVitalKind
  /** In the kind's unit, resolution 0.001 (encoders round to the nearest thousandth); |value| ≤ 2147483.647. */
  readonly value: number
}

export interface SerialEvent extends SerialFrameHeader {
  readonly type: 'event'
  readonly event: SerialEventCode
  /** int32, meaning per event (see serialEventCodes). */
  readonly value: number
}

export interface SerialStatus extends SerialFrameHeader {
  readonly type: 'status'
  /** 0–100 %, or null when the device does not know (0xFF on the wire). */
  readonly batteryPercent: number | null
  /** Bit i set: electrode/lead i is off. 0 = all attached. */
  readonly leadOff: number
  readonly resetReason: SerialResetReason
  readonly charging: boolean
}

export type SerialFrame = SerialSampleBlock | SerialVital | SerialEvent | SerialStatus

const typeByCode = invert(serialFrameTypeCodes)
const signalByCode = invert(serialSignalCodes)
const vitalByCode = invert(serialVitalCodes)
const eventByCode = invert(serialEventCodes)
const resetByCode = invert(serialResetReasonCodes)

function invert<K extends string>(m: Readonly<Record<K, number>>): ReadonlyMap<number, K> {
  return new Map(Object.entries(m).map(([k, v]) => [v as number, k as K]))
}

function checkInt(value: unknown, min: number, max: number, what: string, fix: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SerialProtocolError(
      'INVALID_FRAME',
      `${what} must be an integer in [${min}, ${max}], got ${String(value)}; ${fix}`,
    )
  }
  return value
}

function checkName<K extends string>(m: Readonly<Record<K, number>>, value: unknown, what: string): number {
  const code = typeof value === 'string' ? (m as Record<string, number>)[value] : undefined
  if (code === undefined || !Object.hasOwn(m, value as string)) {
    throw new SerialProtocolError(
      'INVALID_FRAME',
      `${what} must be one of ${Object.keys(m).join(', ')}; got ${JSON.stringify(value)}`,
    )
  }
  return code
}

function payloadLength(frame: SerialFrame): number {
  switch (frame.type) {
    case 'samples':
      return SERIAL_SAMPLES_PAYLOAD_HEADER_BYTES + 2 * frame.samples.length
    case 'vital':
    case 'event':
      return 5
    case 'status':
      return 4
    default:
      return frame satisfies never
  }
}

/**
 * The body of a frame (header, payload, CRC-32C), before COBS. Throws SerialProtocolError
 * INVALID_FRAME naming the field when a value does not fit the format.
 */
export function encodeSerialFrameBody(frame: SerialFrame): Uint8Array {
  const typeCode = checkName(serialFrameTypeCodes, (frame as { type: unknown }).type, 'frame.type')
  checkInt(frame.sensorId, 0, 0xffff, 'sensorId', 'sensor ids are u16')
  checkInt(frame.seq, 0, 0xffffffff, 'seq', 'wrap the sequence number modulo 2^32')
  checkInt(frame.timestampUs, 0, SERIAL_MAX_TIMESTAMP_US, 'timestampUs', 'device time is whole µs in a u48')
  if (frame.type === 'samples') {
    if (!(frame.samples instanceof Int16Array)) {
      throw new SerialProtocolError('INVALID_FRAME', 'samples must be an Int16Array')
    }
    checkInt(
      frame.samples.length,
      1,
      SERIAL_MAX_SAMPLES_PER_BLOCK,
      'samples.length',
      `split longer blocks into frames of at most ${SERIAL_MAX_SAMPLES_PER_BLOCK} samples`,
    )
  }
  const len = payloadLength(frame)
  const body = new Uint8Array(SERIAL_HEADER_BYTES + len + SERIAL_CRC_BYTES)
  const v = new DataView(body.buffer)
  v.setUint8(0, SERIAL_PROTOCOL_VERSION)
  v.setUint8(1, typeCode)
  v.setUint16(2, frame.sensorId, true)
  v.setUint32(4, frame.seq, true)
  v.setUint32(8, frame.timestampUs % 2 ** 32, true)
  v.setUint16(12, Math.floor(frame.timestampUs / 2 ** 32), true)
  v.setUint16(14, len, true)
  const p = SERIAL_HEADER_BYTES
  switch (frame.type) {
    case 'samples': {
      v.setUint8(p, checkName(serialSignalCodes, frame.signal, 'signal'))
      v.setUint8(p + 1, checkInt(frame.channel, 0, 0xff, 'channel', 'channels are u8'))
      v.setUint16(
        p + 2,
        checkInt(frame.sampleRateHz, 1, 0xffff, 'sampleRateHz', 'sample rates are whole Hz in a u16'),
        true,
      )
      v.setUint16(p + 4, frame.samples.length, true)
      const s = frame.samples
      for (let i = 0; i < s.length; i++) v.setInt16(p + 6 + 2 * i, s[i]!, true)
      break
    }
    case 'vital': {
      v.setUint8(p, checkName(serialVitalCodes, frame.kind, 'vital kind'))
      const milli = typeof frame.value === 'number' ? Math.round(frame.value * 1000) : NaN
      checkInt(
        milli,
        -(2 ** 31),
        2 ** 31 - 1,
        'vital value × 1000',
        `the value ${String(frame.value)} must be finite with |value| ≤ 2147483.647`,
      )
      v.setInt32(p + 1, milli, true)
      break
    }
    case 'event':
      v.setUint8(p, checkName(serialEventCodes, frame.event, 'event'))
      v.setInt32(
        p + 1,
        checkInt(frame.value, -(2 ** 31), 2 ** 31 - 1, 'event value', 'values are int32'),
        true,
      )
      break
    case 'status': {
      const battery =
        frame.batteryPercent === null
          ? SERIAL_BATTERY_UNKNOWN
          : checkInt(frame.batteryPercent, 0, 100, 'batteryPercent', 'use null when unknown')
      v.setUint8(p, battery)
      v.setUint8(p + 1, checkInt(frame.leadOff, 0, 0xff, 'leadOff', 'it is a bitmask of 8 leads'))
      v.setUint8(p + 2, checkName(serialResetReasonCodes, frame.resetReason, 'resetReason'))
      v.setUint8(p + 3, frame.charging ? SERIAL_STATUS_FLAG_CHARGING : 0)
      break
    }
    default:
      frame satisfies never
  }
  v.setUint32(p + len, crc32c(body, 0, p + len), true)
  return body
}

/**
 * One frame as it goes on the line: `0x00 cobs(body) 0x00`. The leading delimiter ends any garbage
 * the line picked up since the previous frame, so that garbage can never swallow this frame.
 */
export function encodeSerialFrame(frame: SerialFrame): Uint8Array {
  const encoded = cobsEncode(encodeSerialFrameBody(frame))
  const out = new Uint8Array(encoded.length + 2)
  out.set(encoded, 1)
  return out
}

export type SerialBodyResult =
  | { readonly ok: true; readonly frame: SerialFrame }
  | {
      readonly ok: false
      readonly code:
        'TRUNCATED' | 'CRC_MISMATCH' | 'UNKNOWN_VERSION' | 'BAD_PAYLOAD_LENGTH' | 'UNKNOWN_TYPE' | 'BAD_FIELD'
      readonly message: string
    }

function declaredBytes(body: Uint8Array): number {
  return body.length >= SERIAL_HEADER_BYTES
    ? SERIAL_MIN_FRAME_BYTES + (body[14]! | (body[15]! << 8))
    : SERIAL_MIN_FRAME_BYTES
}

/**
 * Decodes a body (COBS already removed). Never throws. Checks, in order: length ≥ 20 (TRUNCATED),
 * CRC-32C of the last four bytes (CRC_MISMATCH, or TRUNCATED when the body is also shorter than its
 * header declares), version, header length, type, payload length, field values.
 */
export function decodeSerialFrameBody(body: Uint8Array): SerialBodyResult {
  const n = body.length
  if (n < SERIAL_MIN_FRAME_BYTES) {
    return {
      ok: false,
      code: 'TRUNCATED',
      message: `frame is ${n} bytes, less than the ${SERIAL_MIN_FRAME_BYTES}-byte minimum`,
    }
  }
  const v = new DataView(body.buffer, body.byteOffset, n)
  const sent = v.getUint32(n - SERIAL_CRC_BYTES, true)
  const computed = crc32c(body, 0, n - SERIAL_CRC_BYTES)
  if (sent !== computed) {
    const declared = declaredBytes(body)
    if (n < declared) {
      return {
        ok: false,
        code: 'TRUNCATED',
        message: `frame is ${n} bytes but its header declares ${declared} (and the CRC does not match)`,
      }
    }
    return {
      ok: false,
      code: 'CRC_MISMATCH',
      message: `CRC-32C 0x${hex32(sent)} in the frame, 0x${hex32(computed)} computed over its ${n - SERIAL_CRC_BYTES} bytes`,
    }
  }
  const version = v.getUint8(0)
  if (version !== SERIAL_PROTOCOL_VERSION) {
    return {
      ok: false,
      code: 'UNKNOWN_VERSION',
      message: `protocol version ${version}; this decoder speaks version ${SERIAL_PROTOCOL_VERSION} only (upgrade the gateway or configure the device for v${SERIAL_PROTOCOL_VERSION})`,
    }
  }
  const len = v.getUint16(14, true)
  if (SERIAL_MIN_FRAME_BYTES + len !== n) {
    return {
      ok: false,
      code: 'BAD_PAYLOAD_LENGTH',
      message: `header declares a ${len}-byte payload but the frame carries ${n - SERIAL_MIN_FRAME_BYTES}`,
    }
  }
  const typeCode = v.getUint8(1)
  const type = typeByCode.get(typeCode)
  if (type === undefined) {
    return {
      ok: false,
      code: 'UNKNOWN_TYPE',
      message: `frame type ${typeCode} is not defined in v${SERIAL_PROTOCOL_VERSION} (1–4 are)`,
    }
  }
  const header = {
    sensorId: v.getUint16(2, true),
    seq: v.getUint32(4, true),
    timestampUs: v.getUint32(8, true) + v.getUint16(12, true) * 2 ** 32,
  }
  const p = SERIAL_HEADER_BYTES
  const badLength = (want: string): SerialBodyResult => ({
    ok: false,
    code: 'BAD_PAYLOAD_LENGTH',
    message: `${type} payload is ${len} bytes; it must be ${want}`,
  })
  const badField = (message: string): SerialBodyResult => ({
    ok: false,
    code: 'BAD_FIELD',
    message: `${type} frame: ${message}`,
  })
  switch (type) {
    case 'samples': {
      if (len < SERIAL_SAMPLES_PAYLOAD_HEADER_BYTES + 2) return badLength('6 + 2·count bytes with count ≥ 1')
      const count = v.getUint16(p + 4, true)
      if (len !== SERIAL_SAMPLES_PAYLOAD_HEADER_BYTES + 2 * count) {
        return badLength(
          `6 + 2·count = ${SERIAL_SAMPLES_PAYLOAD_HEADER_BYTES + 2 * count} bytes for count ${count}`,
        )
      }
      const signalCode = v.getUint8(p)
      const signal = signalByCode.get(signalCode)
      if (signal === undefined) return badField(`signal ${signalCode} is not defined (1–4 are)`)
      const sampleRateHz = v.getUint16(p + 2, true)
      if (sampleRateHz === 0) return badField('sample rate 0 Hz')
      const samples = new Int16Array(count)
      for (let i = 0; i < count; i++) samples[i] = v.getInt16(p + 6 + 2 * i, true)
      return {
        ok: true,
        frame: { type, ...header, signal, channel: v.getUint8(p + 1), sampleRateHz, samples },
      }
    }
    case 'vital': {
      if (len !== 5) return badLength('5 bytes')
      const kindCode = v.getUint8(p)
      const kind = vitalByCode.get(kindCode)
      if (kind === undefined) return badField(`vital kind ${kindCode} is not defined (1–6 are)`)
      return { ok: true, frame: { type, ...header, kind, value: v.getInt32(p + 1, true) / 1000 } }
    }
    case 'event': {
      if (len !== 5) return badLength('5 bytes')
      const eventCode = v.getUint8(p)
      const event = eventByCode.get(eventCode)
      if (event === undefined) return badField(`event code ${eventCode} is not defined (1–7 are)`)
      return { ok: true, frame: { type, ...header, event, value: v.getInt32(p + 1, true) } }
    }
    case 'status': {
      if (len !== 4) return badLength('4 bytes')
      const battery = v.getUint8(p)
      if (battery > 100 && battery !== SERIAL_BATTERY_UNKNOWN) {
        return badField(`battery ${battery} %; 0–100 or 255 (unknown) are allowed`)
      }
      const reasonCode = v.getUint8(p + 2)
      const resetReason = resetByCode.get(reasonCode)
      if (resetReason === undefined) return badField(`reset reason ${reasonCode} is not defined (0–6 are)`)
      return {
        ok: true,
        frame: {
          type,
          ...header,
          batteryPercent: battery === SERIAL_BATTERY_UNKNOWN ? null : battery,
          leadOff: v.getUint8(p + 1),
          resetReason,
          charging: (v.getUint8(p + 3) & SERIAL_STATUS_FLAG_CHARGING) !== 0,
        },
      }
    }
    default:
      return type satisfies never
  }
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0')
}
