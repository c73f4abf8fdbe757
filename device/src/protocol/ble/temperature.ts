import { BleCodecError, checkInt, need, noTrailing, viewOf } from './errors.ts'
import { decodeFloat, encodeFloat } from './ieee11073.ts'

const C = '0x2A1C Temperature Measurement'

export type TemperatureUnit = 'celsius' | 'fahrenheit'

/** Date Time (0x2A08). Zero in year, month or day means "not known"; the clock fields are local time. */
export interface BleDateTime {
  /** 1582–9999, or 0 when unknown. */
  readonly year: number
  /** 1–12, or 0 when unknown. */
  readonly month: number
  /** 1–31, or 0 when unknown. */
  readonly day: number
  /** 0–23. */
  readonly hours: number
  /** 0–59. */
  readonly minutes: number
  /** 0–59. */
  readonly seconds: number
}

/** Temperature Type (0x2A1D); 0 and 10–255 are reserved. */
export const temperatureTypes = {
  ARMPIT: 1,
  BODY: 2,
  EAR: 3,
  FINGER: 4,
  GASTROINTESTINAL_TRACT: 5,
  MOUTH: 6,
  RECTUM: 7,
  TOE: 8,
  TYMPANUM: 9,
} as const

export interface TemperatureMeasurement {
  /** In `unit`; NaN when the thermometer sent NaN or NRes, ±Infinity for ±INF. */
  readonly temperature: number
  readonly unit: TemperatureUnit
  /** The same temperature in degrees Celsius. */
  readonly celsius: number
  readonly timestamp: BleDateTime | null
  /** One of temperatureTypes, or null when absent. */
  readonly temperatureType: number | null
}

export interface TemperatureMeasurementInput {
  readonly temperature: number
  /** Default celsius. */
  readonly unit?: TemperatureUnit
  readonly timestamp?: BleDateTime | null
  readonly temperatureType?: number | null
  /** Decimals kept in the FLOAT (default 2). */
  readonly fractionDigits?: number
}

const FLAG_FAHRENHEIT = 0x01
const FLAG_TIMESTAMP = 0x02
const FLAG_TYPE = 0x04

const DATE_FIELDS = [
  ['month', 0, 12],
  ['day', 0, 31],
  ['hours', 0, 23],
  ['minutes', 0, 59],
  ['seconds', 0, 59],
] as const

/*
 * 0x2A1C => flags:u8 temperature:float [timestamp:datetime if flags.1] [type:u8 if flags.2]
 *   flags: bit0 unit (0 °C, 1 °F), bit1 timestamp present, bit2 type present, bits3-7 RFU (ignored)
 *   datetime => year:u16 month:u8 day:u8 hours:u8 minutes:u8 seconds:u8
 * Out-of-range date fields are OUT_OF_RANGE, reserved temperature types RESERVED_VALUE.
 */
export function decodeTemperatureMeasurement(payload: Uint8Array): TemperatureMeasurement {
  const v = viewOf(payload, C)
  need(v, 0, 1, 'flags', C)
  const flags = v.getUint8(0)
  need(v, 1, 4, 'temperature FLOAT', C)
  const temperature = decodeFloat(v.getUint32(1, true), C).value
  const unit: TemperatureUnit = (flags & FLAG_FAHRENHEIT) !== 0 ? 'fahrenheit' : 'celsius'
  let o = 5
  let timestamp: BleDateTime | null = null
  if ((flags & FLAG_TIMESTAMP) !== 0) {
    need(v, o, 7, 'time stamp', C)
    const year = v.getUint16(o, true)
    if (year !== 0 && (year < 1582 || year > 9999)) {
      throw new BleCodecError('OUT_OF_RANGE', C, `time stamp year ${year} is outside 1582–9999 (0 = unknown)`)
    }
    const fields = [
      v.getUint8(o + 2),
      v.getUint8(o + 3),
      v.getUint8(o + 4),
      v.getUint8(o + 5),
      v.getUint8(o + 6),
    ]
    DATE_FIELDS.forEach(([name, min, max], i) => {
      const x = fields[i]!
      if (x < min || x > max) {
        throw new BleCodecError('OUT_OF_RANGE', C, `time stamp ${name} ${x} is outside ${min}–${max}`)
      }
    })
    timestamp = {
      year,
      month: fields[0]!,
      day: fields[1]!,
      hours: fields[2]!,
      minutes: fields[3]!,
      seconds: fields[4]!,
    }
    o += 7
  }
  let temperatureType: number | null = null
  if ((flags & FLAG_TYPE) !== 0) {
    need(v, o, 1, 'temperature type', C)
    temperatureType = v.getUint8(o)
    if (temperatureType < 1 || temperatureType > 9) {
      throw new BleCodecError(
        'RESERVED_VALUE',
        C,
        `temperature type ${temperatureType} is reserved (valid: 1–9)`,
      )
    }
    o += 1
  }
  noTrailing(v, o, C)
  const celsius = unit === 'celsius' ? temperature : ((temperature - 32) * 5) / 9
  return { temperature, unit, celsius, timestamp, temperatureType }
}

/** Encodes a Temperature Measurement; throws BleCodecError INVALID_ARGUMENT for unrepresentable values. */
export function encodeTemperatureMeasurement(m: TemperatureMeasurementInput): Uint8Array {
  const unit = m.unit ?? 'celsius'
  const ts = m.timestamp ?? null
  const type = m.temperatureType ?? null
  if (type !== null) checkInt(type, 1, 9, 'temperatureType', C)
  if (ts !== null) {
    if (ts.year !== 0) checkInt(ts.year, 1582, 9999, 'timestamp.year (or 0)', C)
    for (const [name, min, max] of DATE_FIELDS) checkInt(ts[name], min, max, `timestamp.${name}`, C)
  }
  const raw = encodeFloat(m.temperature, m.fractionDigits ?? 2, C)
  const out = new Uint8Array(5 + (ts === null ? 0 : 7) + (type === null ? 0 : 1))
  const v = new DataView(out.buffer)
  v.setUint8(
    0,
    (unit === 'fahrenheit' ? FLAG_FAHRENHEIT : 0) |
      (ts === null ? 0 : FLAG_TIMESTAMP) |
      (type === null ? 0 : FLAG_TYPE),
  )
  v.setUint32(1, raw, true)
  let o = 5
  if (ts !== null) {
    v.setUint16(o, ts.year, true)
    v.setUint8(o + 2, ts.month)
    v.setUint8(o + 3, ts.day)
    v.setUint8(o + 4, ts.hours)
    v.setUint8(o + 5, ts.minutes)
    v.setUint8(o + 6, ts.seconds)
    o += 7
  }
  if (type !== null) v.setUint8(o, type)
  return out
}
