import { describe, expect, it } from 'vitest'
import { LogError } from '../../src/log/errors.ts'
import {
  decodeRecord,
  EMPTY_HEADERS,
  encodedRecordSize,
  encodeRecord,
  storedTimestamp,
  type LogRecord,
  type RecordHeaders,
} from '../../src/log/record-codec.ts'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

/** Encodes into a buffer of exactly `encodedRecordSize` bytes (so an undersized estimate would throw). */
function encode(
  key: Uint8Array | null | undefined,
  value: Uint8Array,
  timestampMs: number,
  headers: RecordHeaders = EMPTY_HEADERS,
): Buffer {
  const out = Buffer.alloc(encodedRecordSize(key, value, headers))
  const end = encodeRecord(out, 0, key, value, timestampMs, headers)
  expect(end).toBe(out.length)
  return out
}

function decode(stored: Uint8Array): LogRecord {
  return decodeRecord(Buffer.from(stored), 'vitals', 3, 42)
}

function plain(record: LogRecord): unknown {
  const headers: Record<string, number[]> = {}
  for (const name of Object.keys(record.headers)) headers[name] = [...record.headers[name]!]
  return {
    key: record.key === null ? null : [...record.key],
    value: [...record.value],
    timestampMs: record.timestampMs,
    headers,
  }
}

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    return error instanceof LogError ? error.code : `not a LogError: ${String(error)}`
  }
  return 'no error'
}

/** mulberry32: a small seeded PRNG, so a failing garbage case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// key "k", headers { h: [9] }, value [1, 2], timestamp 1000.
// prettier-ignore
const FIXTURE = bytes(
  0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x8f, 0x40, // timestampMs 1000 (f64 LE)
  0x01, 0x00, 0x00, 0x00, // keyLen 1
  0x6b, // "k"
  0x01, 0x00, // headerCount 1
  0x01, 0x00, 0x68, // nameLen 1, "h"
  0x01, 0x00, 0x00, 0x00, 0x09, // valueLen 1, [9]
  0x01, 0x02, // value
)
/** Where FIXTURE's value starts: every shorter prefix is missing part of the key or headers. */
const FIXTURE_VALUE_AT = 23

describe('encodeRecord / decodeRecord', () => {
  it('encodes the documented v1 layout', () => {
    expect([...encode(utf8('k'), bytes(1, 2), 1000, { h: bytes(9) })]).toEqual([...FIXTURE])
  })

  it('decodes the literal fixture', () => {
    const record = decode(FIXTURE)
    expect(plain(record)).toEqual({ key: [0x6b], value: [1, 2], timestampMs: 1000, headers: { h: [9] } })
    expect(record.topic).toBe('vitals')
    expect(record.partition).toBe(3)
    expect(record.offset).toBe(42)
  })

  it('round-trips a null key (and an absent one) as null', () => {
    expect(decode(encode(null, bytes(7), 5)).key).toBeNull()
    expect(decode(encode(undefined, bytes(7), 5)).key).toBeNull()
    expect(encode(null, bytes(7), 5).readInt32LE(8)).toBe(-1)
  })

  it('keeps an empty key distinct from a null key', () => {
    const key = decode(encode(new Uint8Array(0), bytes(7), 5)).key
    expect(key).not.toBeNull()
    expect(key?.length).toBe(0)
  })

  it('round-trips an empty value', () => {
    expect(plain(decode(encode(utf8('id'), new Uint8Array(0), 1)))).toEqual({
      key: [0x69, 0x64],
      value: [],
      timestampMs: 1,
      headers: {},
    })
  })

  it('round-trips headers with unicode names and empty values', () => {
    const headers = {
      'content-type': utf8('ecg/int16'),
      ü: bytes(1),
      心拍: bytes(2, 3),
      '🫀': new Uint8Array(0),
      '': bytes(4),
    }
    const record = decode(encode(utf8('patient-7'), bytes(10, 20, 30), 1_700_000_000_000, headers))
    expect(plain(record)).toEqual({
      key: [...utf8('patient-7')],
      value: [10, 20, 30],
      timestampMs: 1_700_000_000_000,
      headers: {
        'content-type': [...utf8('ecg/int16')],
        ü: [1],
        心拍: [2, 3],
        '🫀': [],
        '': [4],
      },
    })
  })

  it('round-trips empty headers as an empty object', () => {
    const record = decode(encode(null, bytes(1), 0, {}))
    expect(record.headers).toEqual({})
    expect(Object.keys(record.headers)).toEqual([])
  })

  it('round-trips a header named __proto__ as an own header', () => {
    const headers: Record<string, Uint8Array> = {}
    Object.defineProperty(headers, '__proto__', { value: bytes(1), enumerable: true })
    const record = decode(encode(null, bytes(2), 0, headers))
    expect(Object.keys(record.headers)).toEqual(['__proto__'])
    const own = Object.getOwnPropertyDescriptor(record.headers, '__proto__') as
      { value?: Uint8Array } | undefined
    expect(own?.value && [...own.value]).toEqual([1])
    const names: string[] = []
    for (const name in record.headers) names.push(name)
    expect(names).toEqual(['__proto__'])
  })

  it('round-trips timestamps from 0 to the largest safe integer', () => {
    for (const timestampMs of [0, 1, 1_700_000_000_123, Number.MAX_SAFE_INTEGER]) {
      const stored = encode(null, bytes(), timestampMs)
      expect(decode(stored).timestampMs).toBe(timestampMs)
      expect(storedTimestamp(stored)).toBe(timestampMs)
    }
  })

  it('encodes at a position and returns the position after the record', () => {
    const headers = { trace: bytes(5, 6) }
    const size = encodedRecordSize(utf8('ab'), bytes(1, 2, 3), headers)
    const out = Buffer.alloc(7 + size + 5, 0xee)
    expect(encodeRecord(out, 7, utf8('ab'), bytes(1, 2, 3), 99, headers)).toBe(7 + size)
    expect([...out.subarray(0, 7)]).toEqual([0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee])
    expect([...out.subarray(7 + size)]).toEqual([0xee, 0xee, 0xee, 0xee, 0xee])
    expect(plain(decodeRecord(out.subarray(7, 7 + size), 't', 0, 0))).toEqual({
      key: [0x61, 0x62],
      value: [1, 2, 3],
      timestampMs: 99,
      headers: { trace: [5, 6] },
    })
  })

  it('decodes views on the stored bytes (no copies)', () => {
    const stored = Buffer.from(FIXTURE)
    const record = decodeRecord(stored, 't', 0, 0)
    expect(record.value.buffer).toBe(stored.buffer)
    expect(record.key?.buffer).toBe(stored.buffer)
    stored[FIXTURE_VALUE_AT] = 0x7f
    expect(record.value[0]).toBe(0x7f)
  })
})

describe('encodedRecordSize', () => {
  it('is exact', () => {
    expect(encodedRecordSize(null, new Uint8Array(0), {})).toBe(14)
    expect(encodedRecordSize(undefined, bytes(1, 2), {})).toBe(16)
    expect(encodedRecordSize(utf8('k'), bytes(1, 2), { h: bytes(9) })).toBe(FIXTURE.length)
    // "ü" is 2 bytes of UTF-8, "🫀" 4: 14 + 3 + 5 + (2 + 2 + 4 + 1) + (2 + 4 + 4 + 0)
    expect(encodedRecordSize(utf8('abc'), new Uint8Array(5), { ü: bytes(1), '🫀': bytes() })).toBe(41)
  })

  it('matches what encodeRecord writes for many shapes', () => {
    const random = prng(7)
    for (let round = 0; round < 200; round++) {
      const key = round % 3 === 0 ? null : new Uint8Array(Math.floor(random() * 20))
      const value = new Uint8Array(Math.floor(random() * 50))
      const headers: Record<string, Uint8Array> = {}
      const count = Math.floor(random() * 4)
      for (let i = 0; i < count; i++) headers[`h${i}${'é'.repeat(i)}`] = new Uint8Array(i * 3)
      const size = encodedRecordSize(key, value, headers)
      const out = Buffer.alloc(size + 8)
      expect(encodeRecord(out, 3, key, value, round, headers), `round ${round}`).toBe(3 + size)
    }
  })
})

describe('decodeRecord rejects truncated and garbage records with CORRUPT_RECORD', () => {
  it('every prefix that cuts into the header, key or headers', () => {
    for (let length = 0; length < FIXTURE_VALUE_AT; length++) {
      expect(
        codeOf(() => decode(FIXTURE.slice(0, length))),
        `length ${length}`,
      ).toBe('CORRUPT_RECORD')
    }
  })

  it('every prefix of a record with a null key and no headers shorter than 14 bytes', () => {
    const stored = encode(null, bytes(1, 2, 3), 5)
    for (let length = 0; length < 14; length++) {
      expect(
        codeOf(() => decode(stored.subarray(0, length))),
        `length ${length}`,
      ).toBe('CORRUPT_RECORD')
    }
  })

  it('names the record in the error', () => {
    try {
      decode(FIXTURE.slice(0, 10))
      expect.unreachable('decode of 10 bytes succeeded')
    } catch (error) {
      expect(error).toBeInstanceOf(LogError)
      expect((error as LogError).message).toContain('vitals/3@42')
    }
  })

  it('a negative key length other than -1', () => {
    const stored = Buffer.from(FIXTURE)
    stored.writeInt32LE(-2, 8)
    expect(codeOf(() => decode(stored))).toBe('CORRUPT_RECORD')
    stored.writeInt32LE(-2147483648, 8)
    expect(codeOf(() => decode(stored))).toBe('CORRUPT_RECORD')
  })

  it('a key, header name or header value length past the end', () => {
    const key = Buffer.from(FIXTURE)
    key.writeInt32LE(0x7fffffff, 8)
    expect(codeOf(() => decode(key))).toBe('CORRUPT_RECORD')
    const count = Buffer.from(FIXTURE)
    count.writeUInt16LE(0xffff, 13)
    expect(codeOf(() => decode(count))).toBe('CORRUPT_RECORD')
    const name = Buffer.from(FIXTURE)
    name.writeUInt16LE(0xffff, 15)
    expect(codeOf(() => decode(name))).toBe('CORRUPT_RECORD')
    const value = Buffer.from(FIXTURE)
    value.writeUInt32LE(0xffffffff, 18)
    expect(codeOf(() => decode(value))).toBe('CORRUPT_RECORD')
  })

  it('seeded random garbage: decodes or throws CORRUPT_RECORD, never another error', () => {
    const random = prng(0xc0ffee)
    let decoded = 0
    let rejected = 0
    const valid = encode(utf8('patient'), bytes(1, 2, 3, 4), 1000, { a: bytes(1), bb: bytes(2, 2) })
    for (let round = 0; round < 4000; round++) {
      let stored: Buffer
      if (round % 2 === 0) {
        // pure garbage
        stored = Buffer.alloc(Math.floor(random() * 40))
        for (let i = 0; i < stored.length; i++) stored[i] = Math.floor(random() * 256)
      } else {
        // a valid record with a few bytes flipped and maybe cut short
        stored = Buffer.from(valid.subarray(0, Math.floor(random() * (valid.length + 1))))
        for (let flips = 1 + Math.floor(random() * 3); flips > 0 && stored.length > 0; flips--) {
          stored[Math.floor(random() * stored.length)] = Math.floor(random() * 256)
        }
      }
      try {
        const record = decodeRecord(stored, 't', 0, round)
        decoded++
        expect(record.offset).toBe(round)
        expect(record.value.byteOffset + record.value.length).toBe(stored.byteOffset + stored.length)
      } catch (error) {
        rejected++
        expect(error, `round ${round}: ${stored.toString('hex')}`).toBeInstanceOf(LogError)
        expect((error as LogError).code, `round ${round}`).toBe('CORRUPT_RECORD')
      }
    }
    expect(decoded).toBeGreaterThan(0)
    expect(rejected).toBeGreaterThan(0)
  })
})
