import { describe, expect, it } from 'vitest'
import { murmur2, partitionForKey, toPositive } from '../../src/log/murmur2.ts'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('murmur2', () => {
  // org.apache.kafka.common.utils.UtilsTest.testMurmur2
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ])('hashes %j to Kafka’s %i', (input, expected) => {
    expect(murmur2(utf8(input))).toBe(expected)
  })

  it('hashes the bytes [a, b, c] to Kafka’s 479470107', () => {
    expect(murmur2(new Uint8Array([0x61, 0x62, 0x63]))).toBe(479470107)
  })

  it('returns a signed 32-bit integer for every tail length', () => {
    for (let length = 0; length <= 9; length++) {
      const h = murmur2(new Uint8Array(length).fill(0xff))
      expect(Number.isInteger(h)).toBe(true)
      expect(h).toBeGreaterThanOrEqual(-2147483648)
      expect(h).toBeLessThanOrEqual(2147483647)
    }
  })

  it('reads only the view, not the rest of its buffer', () => {
    const backing = utf8('xxfoobaryy')
    expect(murmur2(backing.subarray(2, 8))).toBe(-790332482)
  })
})

describe('toPositive', () => {
  it('clears the sign bit like Kafka’s Utils.toPositive', () => {
    expect(toPositive(0)).toBe(0)
    expect(toPositive(5)).toBe(5)
    expect(toPositive(2147483647)).toBe(2147483647)
    expect(toPositive(-1)).toBe(2147483647)
    expect(toPositive(-2147483648)).toBe(0)
    expect(toPositive(-973932308)).toBe(1173551340)
  })
})

describe('partitionForKey', () => {
  it('is toPositive(murmur2(key)) % numPartitions', () => {
    // murmur2("foobar") = -790332482 → toPositive = 1357151166
    expect(partitionForKey(utf8('foobar'), 1)).toBe(0)
    expect(partitionForKey(utf8('foobar'), 4)).toBe(2)
    expect(partitionForKey(utf8('foobar'), 11)).toBe(8)
    expect(partitionForKey(utf8('foobar'), 1024)).toBe(958)
    // murmur2("21") = -973932308 → toPositive = 1173551340
    expect(partitionForKey(utf8('21'), 9)).toBe(3)
    expect(partitionForKey(utf8('21'), 100)).toBe(40)
    // murmur2([a, b, c]) = 479470107 (already positive)
    expect(partitionForKey(new Uint8Array([0x61, 0x62, 0x63]), 13)).toBe(12)
  })

  it('always lands in [0, numPartitions)', () => {
    for (let i = 0; i < 200; i++) {
      const p = partitionForKey(utf8(`patient-${i}`), 6)
      expect(p).toBeGreaterThanOrEqual(0)
      expect(p).toBeLessThan(6)
    }
  })
})
