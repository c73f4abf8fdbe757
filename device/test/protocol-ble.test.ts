import { describe, expect, it } from 'vitest'
import {
  BleCodecError,
  decodeBatteryLevel,
  decodeFloat,
  decodeHeartRateMeasurement,
  decodePlxContinuousMeasurement,
  decodeSfloat,
  decodeTemperatureMeasurement,
  decodeVendorStreamConfig,
  decodeVendorStreamFrame,
  encodeBatteryLevel,
  encodeFloat,
  encodeHeartRateMeasurement,
  encodePlxContinuousMeasurement,
  encodeSfloat,
  encodeTemperatureMeasurement,
  encodeVendorStreamConfig,
  encodeVendorStreamFrame,
  msToRr1024,
  plxDeviceStatus,
  plxMeasurementStatus,
  rr1024ToMs,
  sigUuid,
  vendorSamplesPerNotification,
  vendorSeqGap,
} from '@vigil/device/protocol'
import type { BleCodecErrorCode } from '@vigil/device/protocol'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(/\s+/).filter(Boolean), (b) => parseInt(b, 16))

function codeOf(f: () => unknown): BleCodecErrorCode {
  try {
    f()
  } catch (e) {
    if (e instanceof BleCodecError) return e.code
    throw new Error(`threw a ${String(e)} instead of a BleCodecError`, { cause: e })
  }
  throw new Error('did not throw')
}

const decoders = {
  heartRate: decodeHeartRateMeasurement,
  plx: decodePlxContinuousMeasurement,
  temperature: decodeTemperatureMeasurement,
  battery: decodeBatteryLevel,
  vendorFrame: decodeVendorStreamFrame,
  vendorConfig: decodeVendorStreamConfig,
} as const

describe('IEEE-11073 SFLOAT and FLOAT', () => {
  it('decodes the reference examples', () => {
    expect(decodeSfloat(0xf014)).toEqual({ kind: 'finite', value: 2, exponent: -1, mantissa: 20 })
    expect(decodeSfloat(0x0b2e).value).toBe(-1234)
    expect(decodeFloat(0xff000014)).toEqual({ kind: 'finite', value: 2, exponent: -1, mantissa: 20 })
    expect(decodeFloat(0xff000172).value).toBe(37)
  })

  it('decodes the special values before sign extension', () => {
    expect(decodeSfloat(0x07ff).kind).toBe('NaN')
    expect(decodeSfloat(0x07ff).value).toBeNaN()
    expect(decodeSfloat(0x0800).kind).toBe('NRes')
    expect(decodeSfloat(0x0800).value).toBeNaN()
    expect(decodeSfloat(0x07fe)).toMatchObject({ kind: '+INF', value: Infinity })
    expect(decodeSfloat(0x0802)).toMatchObject({ kind: '-INF', value: -Infinity })
    // The exponent nibble does not matter for a special mantissa.
    expect(decodeSfloat(0xf7ff).kind).toBe('NaN')
    expect(codeOf(() => decodeSfloat(0x0801))).toBe('RESERVED_VALUE')
    expect(decodeFloat(0x007fffff).kind).toBe('NaN')
    expect(decodeFloat(0x00800000).kind).toBe('NRes')
    expect(decodeFloat(0x007ffffe).value).toBe(Infinity)
    expect(decodeFloat(0x00800002).value).toBe(-Infinity)
    expect(codeOf(() => decodeFloat(0x00800001))).toBe('RESERVED_VALUE')
  })

  it('decodes negative mantissas and positive exponents', () => {
    expect(decodeSfloat(0x0fff).value).toBe(-1) // e 0, m 0xFFF
    expect(decodeSfloat(0x2005).value).toBe(500) // e 2, m 5
    expect(decodeSfloat(0x8001).value).toBe(1e-8) // e −8
    expect(decodeFloat(0xfeffff9c).value).toBe(-1) // e −2, m −100
  })

  it('encodes with the requested decimals, giving up decimals only when the mantissa would overflow', () => {
    expect(encodeSfloat(2, 1)).toBe(0xf014)
    expect(encodeSfloat(-1234)).toBe(0x0b2e)
    expect(encodeSfloat(98)).toBe(0x0062)
    expect(encodeSfloat(97.5, 1)).toBe(0xf3cf)
    expect(decodeSfloat(encodeSfloat(204.6, 1)).value).toBe(205) // 2046 is +INF: one decimal is dropped
    expect(decodeSfloat(encodeSfloat(123456)).value).toBe(123500)
    expect(encodeFloat(2, 1)).toBe(0xff000014)
    expect(encodeFloat(37, 1)).toBe(0xff000172)
    expect(encodeSfloat(Number.NaN)).toBe(0x07ff)
    expect(encodeSfloat(Infinity)).toBe(0x07fe)
    expect(encodeSfloat(-Infinity)).toBe(0x0802)
    expect(encodeFloat(Number.NaN)).toBe(0x007fffff)
    expect(codeOf(() => encodeSfloat(1e12))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => encodeSfloat(1, 9))).toBe('INVALID_ARGUMENT')
  })

  it('round-trips every finite SFLOAT word', () => {
    for (let raw = 0; raw <= 0xffff; raw++) {
      const m = raw & 0xfff
      if (m >= 0x7fe && m <= 0x802) continue
      const d = decodeSfloat(raw)
      const back = decodeSfloat(encodeSfloat(d.value, -d.exponent))
      expect(back.value).toBe(d.value)
    }
  })
})

describe('0x2A37 Heart Rate Measurement', () => {
  it('decodes the reference example 16 48 8E 03', () => {
    const m = decodeHeartRateMeasurement(hex('16 48 8E 03'))
    expect(m).toEqual({
      heartRateBpm: 72,
      sensorContact: 'detected',
      energyExpendedKj: null,
      rrIntervals1024: [910],
    })
    expect(rr1024ToMs(910)).toBeCloseTo(888.7, 1)
    expect(
      encodeHeartRateMeasurement({ heartRateBpm: 72, sensorContact: 'detected', rrIntervals1024: [910] }),
    ).toEqual(hex('16 48 8E 03'))
  })

  it('decodes uint16 HR, energy expended and several RR intervals', () => {
    const m = decodeHeartRateMeasurement(hex('19 2C 01 10 27 00 04 00 02'))
    expect(m).toEqual({
      heartRateBpm: 300,
      sensorContact: 'unsupported',
      energyExpendedKj: 10000,
      rrIntervals1024: [1024, 512],
    })
    expect(decodeHeartRateMeasurement(hex('04 3C')).sensorContact).toBe('not-detected')
    expect(decodeHeartRateMeasurement(hex('E0 3C')).heartRateBpm).toBe(60) // RFU bits ignored
  })

  it('round-trips through the encoder', () => {
    const input = {
      heartRateBpm: 61,
      sensorContact: 'not-detected',
      energyExpendedKj: 5,
      rrIntervals1024: [1, 2, 65535],
    } as const
    expect(decodeHeartRateMeasurement(encodeHeartRateMeasurement(input))).toEqual(input)
    expect(encodeHeartRateMeasurement({ heartRateBpm: 60, uint16: true })).toEqual(hex('01 3C 00'))
    expect(msToRr1024(1000)).toBe(1024)
  })

  it('rejects malformed payloads with a code', () => {
    expect(codeOf(() => decodeHeartRateMeasurement(hex('')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeHeartRateMeasurement(hex('00')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeHeartRateMeasurement(hex('01 48')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeHeartRateMeasurement(hex('08 48 01')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeHeartRateMeasurement(hex('16 48 8E')))).toBe('TRAILING_BYTES')
    expect(codeOf(() => decodeHeartRateMeasurement(hex('06 48 8E 03')))).toBe('TRAILING_BYTES')
    expect(codeOf(() => encodeHeartRateMeasurement({ heartRateBpm: 70.5 }))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => encodeHeartRateMeasurement({ heartRateBpm: 70, rrIntervals1024: [70000] }))).toBe(
      'INVALID_ARGUMENT',
    )
  })
})

describe('0x2A5F PLX Continuous Measurement', () => {
  it('decodes the reference example 00 62 00 48 00', () => {
    expect(decodePlxContinuousMeasurement(hex('00 62 00 48 00'))).toEqual({
      spo2Pct: 98,
      pulseRateBpm: 72,
      fast: null,
      slow: null,
      measurementStatus: null,
      deviceAndSensorStatus: null,
      pulseAmplitudeIndexPct: null,
    })
    expect(encodePlxContinuousMeasurement({ spo2Pct: 98, pulseRateBpm: 72 })).toEqual(hex('00 62 00 48 00'))
  })

  it('decodes every optional field', () => {
    const bytes = hex('1F CF F3 48 00 61 00 49 00 60 00 4A 00 80 00 00 80 01 32 F0')
    expect(decodePlxContinuousMeasurement(bytes)).toEqual({
      spo2Pct: 97.5,
      pulseRateBpm: 72,
      fast: { spo2Pct: 97, pulseRateBpm: 73 },
      slow: { spo2Pct: 96, pulseRateBpm: 74 },
      measurementStatus: plxMeasurementStatus.VALIDATED_DATA,
      deviceAndSensorStatus: plxDeviceStatus.SENSOR_DISCONNECTED | 0x010000,
      pulseAmplitudeIndexPct: 5,
    })
  })

  it('carries NaN for an unavailable reading and round-trips the status words', () => {
    const m = decodePlxContinuousMeasurement(
      encodePlxContinuousMeasurement({
        spo2Pct: Number.NaN,
        pulseRateBpm: Number.NaN,
        deviceAndSensorStatus: plxDeviceStatus.SENSOR_UNCONNECTED_TO_USER,
        measurementStatus: plxMeasurementStatus.MEASUREMENT_UNAVAILABLE,
      }),
    )
    expect(m.spo2Pct).toBeNaN()
    expect(m.pulseRateBpm).toBeNaN()
    expect(m.deviceAndSensorStatus).toBe(plxDeviceStatus.SENSOR_UNCONNECTED_TO_USER)
    expect(m.measurementStatus).toBe(plxMeasurementStatus.MEASUREMENT_UNAVAILABLE)
  })

  it('rejects malformed payloads with a code', () => {
    expect(codeOf(() => decodePlxContinuousMeasurement(hex('00 62 00 48')))).toBe('TRUNCATED')
    expect(codeOf(() => decodePlxContinuousMeasurement(hex('08 62 00 48 00 00 80')))).toBe('TRUNCATED')
    expect(codeOf(() => decodePlxContinuousMeasurement(hex('00 62 00 48 00 00')))).toBe('TRAILING_BYTES')
    expect(codeOf(() => decodePlxContinuousMeasurement(hex('00 01 08 48 00')))).toBe('RESERVED_VALUE')
    expect(
      codeOf(() =>
        encodePlxContinuousMeasurement({ spo2Pct: 98, pulseRateBpm: 72, deviceAndSensorStatus: 1 << 24 }),
      ),
    ).toBe('INVALID_ARGUMENT')
  })
})

describe('0x2A1C Temperature Measurement', () => {
  it('decodes the reference example 04 72 01 00 FF 06', () => {
    expect(decodeTemperatureMeasurement(hex('04 72 01 00 FF 06'))).toEqual({
      temperature: 37,
      unit: 'celsius',
      celsius: 37,
      timestamp: null,
      temperatureType: 6,
    })
    expect(encodeTemperatureMeasurement({ temperature: 37, temperatureType: 6, fractionDigits: 1 })).toEqual(
      hex('04 72 01 00 FF 06'),
    )
  })

  it('decodes Fahrenheit with a time stamp', () => {
    // 98.6 °F = FLOAT e −1 m 986 (0x3DA); 2025-01-02 03:04:05
    const m = decodeTemperatureMeasurement(hex('03 DA 03 00 FF E9 07 01 02 03 04 05'))
    expect(m.unit).toBe('fahrenheit')
    expect(m.temperature).toBe(98.6)
    expect(m.celsius).toBeCloseTo(37, 10)
    expect(m.timestamp).toEqual({ year: 2025, month: 1, day: 2, hours: 3, minutes: 4, seconds: 5 })
    expect(m.temperatureType).toBeNull()
  })

  it('round-trips 2-decimal Celsius and special values', () => {
    const ts = { year: 0, month: 0, day: 0, hours: 23, minutes: 59, seconds: 59 }
    expect(
      decodeTemperatureMeasurement(encodeTemperatureMeasurement({ temperature: 38.47, timestamp: ts })),
    ).toEqual({
      temperature: 38.47,
      unit: 'celsius',
      celsius: 38.47,
      timestamp: ts,
      temperatureType: null,
    })
    expect(decodeTemperatureMeasurement(hex('00 FE FF 7F 00')).temperature).toBe(Infinity)
    expect(decodeTemperatureMeasurement(hex('00 00 00 80 00')).temperature).toBeNaN()
  })

  it('rejects malformed payloads with a code', () => {
    expect(codeOf(() => decodeTemperatureMeasurement(hex('00 72 01 00')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeTemperatureMeasurement(hex('02 72 01 00 FF')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeTemperatureMeasurement(hex('02 72 01 00 FF E9 07 0D 02 03 04 05')))).toBe(
      'OUT_OF_RANGE',
    )
    expect(codeOf(() => decodeTemperatureMeasurement(hex('02 72 01 00 FF 10 00 01 02 03 04 05')))).toBe(
      'OUT_OF_RANGE',
    )
    expect(codeOf(() => decodeTemperatureMeasurement(hex('02 72 01 00 FF E9 07 01 02 18 04 05')))).toBe(
      'OUT_OF_RANGE',
    )
    expect(codeOf(() => decodeTemperatureMeasurement(hex('04 72 01 00 FF 0A')))).toBe('RESERVED_VALUE')
    expect(codeOf(() => decodeTemperatureMeasurement(hex('00 01 00 80 00')))).toBe('RESERVED_VALUE')
    expect(codeOf(() => decodeTemperatureMeasurement(hex('00 72 01 00 FF 06')))).toBe('TRAILING_BYTES')
    expect(codeOf(() => encodeTemperatureMeasurement({ temperature: 37, temperatureType: 0 }))).toBe(
      'INVALID_ARGUMENT',
    )
  })
})

describe('0x2A19 Battery Level', () => {
  it('decodes 0..100 and rejects the reserved range', () => {
    expect(decodeBatteryLevel(hex('00'))).toBe(0)
    expect(decodeBatteryLevel(hex('64'))).toBe(100)
    expect(encodeBatteryLevel(57)).toEqual(hex('39'))
    expect(codeOf(() => decodeBatteryLevel(hex('65')))).toBe('RESERVED_VALUE')
    expect(codeOf(() => decodeBatteryLevel(hex('FF')))).toBe('RESERVED_VALUE')
    expect(codeOf(() => decodeBatteryLevel(hex('')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeBatteryLevel(hex('50 00')))).toBe('TRAILING_BYTES')
    expect(codeOf(() => encodeBatteryLevel(101))).toBe('INVALID_ARGUMENT')
  })
})

describe('vendor stream', () => {
  it('encodes the documented ECG frame', () => {
    // docs/reference/ble-vendor-stream.md: version 1, ECG, seq 258, samples 1000 µV, −2 µV
    const bytes = hex('01 01 02 01 00 00 E8 03 FE FF')
    expect(encodeVendorStreamFrame({ kind: 'ecg', seq: 258, samples: [1000, -2] })).toEqual(bytes)
    const f = decodeVendorStreamFrame(bytes)
    expect(f.kind).toBe('ecg')
    expect(f.seq).toBe(258)
    expect([...f.samples]).toEqual([1000, -2])
  })

  it('round-trips accelerometer triples and the config', () => {
    const f = decodeVendorStreamFrame(
      encodeVendorStreamFrame({ kind: 'acc', seq: 0xffffffff, samples: [1, -1, 32767, -32768, 0, 5] }),
    )
    expect(f).toEqual({ kind: 'acc', seq: 0xffffffff, samples: Int16Array.of(1, -1, 32767, -32768, 0, 5) })
    expect(
      decodeVendorStreamConfig(encodeVendorStreamConfig({ ecgSampleRateHz: 250, accSampleRateHz: 50 })),
    ).toEqual({
      ecgSampleRateHz: 250,
      accSampleRateHz: 50,
    })
    expect(decodeVendorStreamConfig(hex('01 FA 00 32 00'))).toEqual({
      ecgSampleRateHz: 250,
      accSampleRateHz: 50,
    })
  })

  it('counts sequence gaps across the wrap', () => {
    expect(vendorSeqGap(4, 5)).toBe(0)
    expect(vendorSeqGap(4, 7)).toBe(2)
    expect(vendorSeqGap(0xffffffff, 0)).toBe(0)
    expect(vendorSeqGap(0xfffffffe, 1)).toBe(2)
  })

  it('sizes notifications to the MTU in whole xyz triples', () => {
    expect(vendorSamplesPerNotification('ecg', 23)).toBe(7)
    expect(vendorSamplesPerNotification('acc', 23)).toBe(6)
    expect(vendorSamplesPerNotification('ecg', 185)).toBe(88)
    expect(vendorSamplesPerNotification('acc', 185)).toBe(87)
  })

  it('rejects malformed frames with a code', () => {
    expect(codeOf(() => decodeVendorStreamFrame(hex('01 01 00 00 00')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeVendorStreamFrame(hex('01 01 00 00 00 00')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeVendorStreamFrame(hex('01 01 00 00 00 00 E8')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeVendorStreamFrame(hex('01 01 00 00 00 00 E8 03 00')))).toBe('TRAILING_BYTES')
    expect(codeOf(() => decodeVendorStreamFrame(hex('01 02 00 00 00 00 E8 03 00 00')))).toBe('TRUNCATED')
    expect(codeOf(() => decodeVendorStreamFrame(hex('02 01 00 00 00 00 E8 03')))).toBe('UNSUPPORTED_VERSION')
    expect(codeOf(() => decodeVendorStreamFrame(hex('01 03 00 00 00 00 E8 03')))).toBe('RESERVED_VALUE')
    expect(codeOf(() => decodeVendorStreamConfig(hex('01 00 00 32 00')))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => encodeVendorStreamFrame({ kind: 'acc', seq: 0, samples: [1, 2] }))).toBe(
      'INVALID_ARGUMENT',
    )
    expect(codeOf(() => encodeVendorStreamFrame({ kind: 'ecg', seq: -1, samples: [1] }))).toBe(
      'INVALID_ARGUMENT',
    )
    expect(codeOf(() => encodeVendorStreamFrame({ kind: 'ecg', seq: 0, samples: [40000] }))).toBe(
      'INVALID_ARGUMENT',
    )
  })
})

describe('every decoder is hardened', () => {
  const valid: Record<keyof typeof decoders, Uint8Array> = {
    heartRate: hex('19 2C 01 10 27 00 04'),
    plx: hex('1F CF F3 48 00 61 00 49 00 60 00 4A 00 80 00 00 80 01 32 F0'),
    temperature: hex('07 DA 03 00 FF E9 07 01 02 03 04 05 02'),
    battery: hex('50'),
    vendorFrame: hex('01 02 07 00 00 00 01 00 02 00 03 00'),
    vendorConfig: hex('01 FA 00 32 00'),
  }

  it.each(Object.keys(decoders) as (keyof typeof decoders)[])('%s: every truncation is TRUNCATED', (name) => {
    const full = valid[name]
    expect(() => decoders[name](full)).not.toThrow()
    for (let len = 0; len < full.length; len++) {
      expect(codeOf(() => decoders[name](full.subarray(0, len)))).toMatch(/^(TRUNCATED|TRAILING_BYTES)$/)
    }
  })

  it.each(Object.keys(decoders) as (keyof typeof decoders)[])('%s: non-bytes and oversize input', (name) => {
    const decode = decoders[name] as (p: unknown) => unknown
    for (const bad of [null, undefined, 'abc', 42, [1, 2, 3], {}])
      expect(codeOf(() => decode(bad))).toBe('NOT_BYTES')
    expect(codeOf(() => decode(new Uint8Array(513)))).toBe('TOO_LONG')
    // A view into a larger buffer decodes only its own bytes.
    const padded = new Uint8Array(valid[name].length + 8).fill(0xee)
    padded.set(valid[name], 4)
    expect(decode(padded.subarray(4, 4 + valid[name].length))).toEqual(decode(valid[name]))
  })

  it('random garbage decodes or fails with a BleCodecError, never anything else', () => {
    let state = 0x9e3779b9
    const rand = (): number => {
      // xorshift32: deterministic, so a failure reproduces
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      return (state >>> 0) / 0x100000000
    }
    const counts = new Map<string, number>()
    for (let i = 0; i < 5_000; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(rand() * 24) }, () => Math.floor(rand() * 256))
      for (const [name, decode] of Object.entries(decoders)) {
        let outcome = 'ok'
        try {
          decode(bytes)
        } catch (e) {
          outcome = e instanceof BleCodecError ? e.code : `foreign ${String(e)}`
        }
        counts.set(`${name}:${outcome}`, (counts.get(`${name}:${outcome}`) ?? 0) + 1)
      }
    }
    expect([...counts.keys()].filter((k) => k.includes(':foreign'))).toEqual([])
    // The garbage reaches past the length checks: lenient formats decode, and several distinct codes occur.
    expect(counts.get('heartRate:ok')).toBeGreaterThan(0)
    expect(counts.get('battery:ok')).toBeGreaterThan(0)
    expect(new Set([...counts.keys()].map((k) => k.split(':')[1])).size).toBeGreaterThanOrEqual(5)
  })
})

describe('UUIDs', () => {
  it('expands SIG 16-bit numbers the way BlueZ reports them', () => {
    expect(sigUuid(0x2a37)).toBe('00002a37-0000-1000-8000-00805f9b34fb')
  })
})
