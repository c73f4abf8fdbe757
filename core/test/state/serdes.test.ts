import { describe, expect, it } from 'vitest'
import { Serdes, type Serde } from '../../src/state/index.ts'
import { expectCode } from './fixtures/harness.ts'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const fromHex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'))

function roundTrips<T>(serde: Serde<T>, value: T): T {
  return serde.deserialize(serde.serialize(value))
}

describe('Serdes.Long (Kafka LongSerializer: int64 big-endian)', () => {
  it.each([
    [0, '0000000000000000'],
    [1, '0000000000000001'],
    [-1, 'ffffffffffffffff'],
    [256, '0000000000000100'],
    [-256, 'ffffffffffffff00'],
    [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
    [Number.MIN_SAFE_INTEGER, 'ffe0000000000001'],
  ])('%d ⇄ %s', (value, bytes) => {
    expect(hex(Serdes.Long.serialize(value))).toBe(bytes)
    expect(Serdes.Long.deserialize(fromHex(bytes))).toBe(value)
  })

  it('refuses values a JS number cannot hold exactly, in both directions', () => {
    expectCode(() => Serdes.Long.serialize(1.5), 'SERDE_FAILURE')
    expectCode(() => Serdes.Long.serialize(2 ** 53), 'SERDE_FAILURE')
    expectCode(() => Serdes.Long.deserialize(fromHex('7fffffffffffffff')), 'SERDE_FAILURE')
    expectCode(() => Serdes.Long.deserialize(fromHex('00000000000001')), 'SERDE_FAILURE')
  })

  it('reads from a view into a larger buffer', () => {
    const buffer = fromHex('aa0000000000000102bb')
    expect(Serdes.Long.deserialize(buffer.subarray(1, 9))).toBe(258)
  })
})

describe('Serdes.BigLong', () => {
  it('covers the whole int64 range', () => {
    expect(hex(Serdes.BigLong.serialize(-(2n ** 63n)))).toBe('8000000000000000')
    expect(Serdes.BigLong.deserialize(fromHex('7fffffffffffffff'))).toBe(2n ** 63n - 1n)
    expectCode(() => Serdes.BigLong.serialize(2n ** 63n), 'SERDE_FAILURE')
  })
})

describe('Serdes.String (Kafka StringSerializer: UTF-8)', () => {
  it.each([
    ['', ''],
    ['p1', '7031'],
    ['héllo', '68c3a96c6c6f'],
    ['❤', 'e29da4'],
  ])('%j ⇄ %s', (value, bytes) => {
    expect(hex(Serdes.String.serialize(value))).toBe(bytes)
    expect(Serdes.String.deserialize(fromHex(bytes))).toBe(value)
  })

  it('replaces malformed UTF-8 as Kafka’s deserializer does, rather than failing', () => {
    expect(Serdes.String.deserialize(fromHex('61ff62'))).toBe('a\ufffdb')
  })
})

describe('other serdes', () => {
  it('Integer is int32 big-endian', () => {
    expect(hex(Serdes.Integer.serialize(-2))).toBe('fffffffe')
    expect(Serdes.Integer.deserialize(fromHex('00000100'))).toBe(256)
    expectCode(() => Serdes.Integer.serialize(2 ** 31), 'SERDE_FAILURE')
  })

  it('Double is IEEE 754 binary64 big-endian', () => {
    expect(hex(Serdes.Double.serialize(1))).toBe('3ff0000000000000')
    expect(hex(Serdes.Double.serialize(-2.5))).toBe('c004000000000000')
    expect(Number.isNaN(roundTrips(Serdes.Double, Number.NaN))).toBe(true)
    expectCode(() => Serdes.Double.deserialize(fromHex('3ff0')), 'SERDE_FAILURE')
  })

  it('JSON round-trips values and fails with SERDE_FAILURE on bad input', () => {
    const value = { patientId: 'p1', hr: [60, 61], ok: true, note: null }
    expect(roundTrips(Serdes.JSON<typeof value>(), value)).toEqual(value)
    expect(hex(Serdes.JSON<number>().serialize(1))).toBe('31')
    expectCode(() => Serdes.JSON<unknown>().deserialize(fromHex('7b')), 'SERDE_FAILURE')
    expectCode(() => Serdes.JSON<unknown>().serialize(undefined), 'SERDE_FAILURE')
  })

  it('Bytes passes bytes through', () => {
    const bytes = Uint8Array.of(0, 255)
    expect(Serdes.Bytes.serialize(bytes)).toBe(bytes)
    expect(Serdes.Bytes.deserialize(bytes)).toBe(bytes)
  })
})
