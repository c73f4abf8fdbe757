import { describe, expect, it } from 'vitest'
import { LogError } from '../../src/log/errors.ts'
import {
  decodeSampleBlock,
  encodeSampleBlock,
  SAMPLE_BLOCK_HEADER_BYTES,
  sampleBlockSize,
  type SampleBlock,
} from '../../src/log/sample-block.ts'

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    return error instanceof LogError ? error.code : `not a LogError: ${String(error)}`
  }
  return 'no error'
}

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  return 'no error'
}

/** Copies `bytes` to offset `at` of a fresh ArrayBuffer and returns the view there. */
function placedAt(bytes: Uint8Array, at: number): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(at + bytes.length), at, bytes.length)
  copy.set(bytes)
  return copy
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

// Int16 [1, -2], 250 Hz, first sample at 1000 ms, sequence 7.
// prettier-ignore
const INT16_FIXTURE = Uint8Array.from([
  0x53, 0x01, 0x01, 0x00, // magic, version, dtype int16, reserved
  0x00, 0x00, 0x7a, 0x43, // sampleRateHz 250 (f32 LE)
  0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x8f, 0x40, // firstSampleTimeMs 1000 (f64 LE)
  0x07, 0x00, 0x00, 0x00, // sequence 7
  0x02, 0x00, 0x00, 0x00, // count 2
  0x01, 0x00, 0xfe, 0xff, // 1, -2
])

// Float32 [0.5], 62.5 Hz, first sample at 0 ms, sequence 0.
// prettier-ignore
const FLOAT32_FIXTURE = Uint8Array.from([
  0x53, 0x01, 0x02, 0x00,
  0x00, 0x00, 0x7a, 0x42, // 62.5
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00,
  0x01, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x3f, // 0.5
])

describe('encodeSampleBlock / decodeSampleBlock', () => {
  it('encodes the documented v1 layout', () => {
    const encoded = encodeSampleBlock({
      samples: Int16Array.from([1, -2]),
      sampleRateHz: 250,
      firstSampleTimeMs: 1000,
      sequence: 7,
    })
    expect([...encoded]).toEqual([...INT16_FIXTURE])
    const float32 = encodeSampleBlock({
      samples: Float32Array.from([0.5]),
      sampleRateHz: 62.5,
      firstSampleTimeMs: 0,
      sequence: 0,
    })
    expect([...float32]).toEqual([...FLOAT32_FIXTURE])
  })

  it('decodes the literal fixtures', () => {
    const int16 = decodeSampleBlock(placedAt(INT16_FIXTURE, 0))
    expect(int16.samples).toBeInstanceOf(Int16Array)
    expect([...int16.samples]).toEqual([1, -2])
    expect(int16.sampleRateHz).toBe(250)
    expect(int16.firstSampleTimeMs).toBe(1000)
    expect(int16.sequence).toBe(7)
    const float32 = decodeSampleBlock(placedAt(FLOAT32_FIXTURE, 0))
    expect(float32.samples).toBeInstanceOf(Float32Array)
    expect([...float32.samples]).toEqual([0.5])
    expect(float32.sampleRateHz).toBe(62.5)
  })

  it('round-trips Int16 samples, including the extremes', () => {
    const block: SampleBlock = {
      samples: Int16Array.from([0, 1, -1, 32767, -32768, 1234]),
      sampleRateHz: 500,
      firstSampleTimeMs: 1_700_000_000_123.25,
      sequence: 4294967295,
    }
    const encoded = encodeSampleBlock(block)
    expect(encoded.length).toBe(SAMPLE_BLOCK_HEADER_BYTES + 12)
    expect(sampleBlockSize(block)).toBe(36)
    const decoded = decodeSampleBlock(encoded)
    expect(decoded.samples).toBeInstanceOf(Int16Array)
    expect([...decoded.samples]).toEqual([0, 1, -1, 32767, -32768, 1234])
    expect(decoded.sampleRateHz).toBe(500)
    expect(decoded.firstSampleTimeMs).toBe(1_700_000_000_123.25)
    expect(decoded.sequence).toBe(4294967295)
  })

  it('round-trips Float32 samples, including non-finite ones', () => {
    const samples = Float32Array.from([0, -0.5, 3.25, 1e-7, Infinity, -Infinity, NaN])
    const decoded = decodeSampleBlock(
      encodeSampleBlock({ samples, sampleRateHz: 128, firstSampleTimeMs: -5, sequence: 0 }),
    )
    expect(decoded.samples).toBeInstanceOf(Float32Array)
    expect([...decoded.samples]).toEqual([...samples])
    expect(decoded.sampleRateHz).toBe(128)
    expect(decoded.firstSampleTimeMs).toBe(-5)
    expect(decoded.sequence).toBe(0)
  })

  it('round-trips an empty block', () => {
    const encoded = encodeSampleBlock({
      samples: new Float32Array(0),
      sampleRateHz: 1,
      firstSampleTimeMs: 0,
      sequence: 1,
    })
    expect(encoded.length).toBe(SAMPLE_BLOCK_HEADER_BYTES)
    const decoded = decodeSampleBlock(encoded)
    expect(decoded.samples).toBeInstanceOf(Float32Array)
    expect(decoded.samples.length).toBe(0)
    expect(decoded.sequence).toBe(1)
  })

  it('encodes only the samples of a subarray view', () => {
    const backing = Int16Array.from([9, 9, 5, 6, 9])
    const decoded = decodeSampleBlock(
      encodeSampleBlock({
        samples: backing.subarray(2, 4),
        sampleRateHz: 250,
        firstSampleTimeMs: 0,
        sequence: 3,
      }),
    )
    expect([...decoded.samples]).toEqual([5, 6])
  })

  it('views the samples in place (zero-copy) when the value is aligned', () => {
    const input = placedAt(FLOAT32_FIXTURE, 8)
    const decoded = decodeSampleBlock(input)
    expect(decoded.samples.buffer).toBe(input.buffer)
    expect(decoded.samples.byteOffset).toBe(8 + SAMPLE_BLOCK_HEADER_BYTES)
    // A view sees later writes to the value.
    input.set([0x00, 0x00, 0x80, 0x3f], SAMPLE_BLOCK_HEADER_BYTES) // 1.0
    expect(decoded.samples[0]).toBe(1)
  })

  it('views Int16 samples in place at a 2-byte (not 4-byte) aligned offset', () => {
    const input = placedAt(INT16_FIXTURE, 2)
    const decoded = decodeSampleBlock(input)
    expect(decoded.samples.buffer).toBe(input.buffer)
    expect([...decoded.samples]).toEqual([1, -2])
  })

  it('copies the samples when the value is misaligned', () => {
    const float32 = placedAt(FLOAT32_FIXTURE, 2)
    const decodedFloat = decodeSampleBlock(float32)
    expect(decodedFloat.samples.buffer).not.toBe(float32.buffer)
    expect([...decodedFloat.samples]).toEqual([0.5])
    const int16 = placedAt(INT16_FIXTURE, 1)
    const decodedInt = decodeSampleBlock(int16)
    expect(decodedInt.samples.buffer).not.toBe(int16.buffer)
    expect([...decodedInt.samples]).toEqual([1, -2])
    // A copy does not change when the value does.
    int16.set([0x05, 0x00], SAMPLE_BLOCK_HEADER_BYTES)
    expect(decodedInt.samples[0]).toBe(1)
  })
})

describe('encodeSampleBlock rejects bad blocks with INVALID_ARGUMENT', () => {
  const good = { samples: Int16Array.from([1]), sampleRateHz: 250, firstSampleTimeMs: 0, sequence: 0 }

  it.each([0, -250, NaN, Infinity, -Infinity])('sampleRateHz %d', (sampleRateHz) => {
    const block = { ...good, sampleRateHz }
    expect(codeOf(() => encodeSampleBlock(block))).toBe('INVALID_ARGUMENT')
    expect(messageOf(() => encodeSampleBlock(block))).toContain('sampleRateHz')
  })

  it.each([NaN, Infinity, -Infinity])('firstSampleTimeMs %d', (firstSampleTimeMs) => {
    const block = { ...good, firstSampleTimeMs }
    expect(codeOf(() => encodeSampleBlock(block))).toBe('INVALID_ARGUMENT')
    expect(messageOf(() => encodeSampleBlock(block))).toContain('firstSampleTimeMs')
  })

  it.each([-1, 1.5, 4294967296, NaN, Infinity])('sequence %d', (sequence) => {
    const block = { ...good, sequence }
    expect(codeOf(() => encodeSampleBlock(block))).toBe('INVALID_ARGUMENT')
    expect(messageOf(() => encodeSampleBlock(block))).toContain('sequence')
  })

  it('samples that are not an Int16Array or Float32Array (they could not be decoded)', () => {
    const cases: [string, unknown][] = [
      ['Float64Array', new Float64Array([1, 2])],
      ['Uint16Array', new Uint16Array([1, 2])],
      ['number[]', [1, 2]],
    ]
    for (const [what, samples] of cases) {
      const block = { ...good, samples } as unknown as SampleBlock
      expect(
        codeOf(() => encodeSampleBlock(block)),
        what,
      ).toBe('INVALID_ARGUMENT')
    }
  })
})

describe('decodeSampleBlock rejects corrupt blocks with CORRUPT_RECORD', () => {
  const withByte = (fixture: Uint8Array, at: number, byte: number): Uint8Array => {
    const copy = Uint8Array.from(fixture)
    copy[at] = byte
    return copy
  }

  it('every truncation of a block', () => {
    for (const fixture of [INT16_FIXTURE, FLOAT32_FIXTURE]) {
      for (let length = 0; length < fixture.length; length++) {
        expect(
          codeOf(() => decodeSampleBlock(fixture.slice(0, length))),
          `length ${length}`,
        ).toBe('CORRUPT_RECORD')
      }
    }
  })

  it('a trailing extra byte', () => {
    expect(codeOf(() => decodeSampleBlock(Uint8Array.from([...INT16_FIXTURE, 0])))).toBe('CORRUPT_RECORD')
  })

  it('a wrong magic, version or dtype', () => {
    expect(codeOf(() => decodeSampleBlock(withByte(INT16_FIXTURE, 0, 0x54)))).toBe('CORRUPT_RECORD')
    expect(codeOf(() => decodeSampleBlock(withByte(INT16_FIXTURE, 1, 2)))).toBe('CORRUPT_RECORD')
    expect(codeOf(() => decodeSampleBlock(withByte(INT16_FIXTURE, 2, 0)))).toBe('CORRUPT_RECORD')
    expect(codeOf(() => decodeSampleBlock(withByte(INT16_FIXTURE, 2, 3)))).toBe('CORRUPT_RECORD')
  })

  it('a count that does not match the bytes (including one that would overflow)', () => {
    expect(codeOf(() => decodeSampleBlock(withByte(INT16_FIXTURE, 20, 3)))).toBe('CORRUPT_RECORD')
    expect(codeOf(() => decodeSampleBlock(withByte(INT16_FIXTURE, 23, 0xff)))).toBe('CORRUPT_RECORD')
    // An int16 block read as float32: 4 bytes hold one float, not two.
    expect(codeOf(() => decodeSampleBlock(withByte(INT16_FIXTURE, 2, 2)))).toBe('CORRUPT_RECORD')
  })

  it('a header whose sampleRateHz encode refuses to write (0, negative, NaN, Infinity)', () => {
    const rates: [string, number[]][] = [
      ['0', [0x00, 0x00, 0x00, 0x00]],
      ['-250', [0x00, 0x00, 0x7a, 0xc3]],
      ['NaN', [0x00, 0x00, 0xc0, 0x7f]],
      ['Infinity', [0x00, 0x00, 0x80, 0x7f]],
    ]
    for (const [what, rate] of rates) {
      const block = Uint8Array.from(INT16_FIXTURE)
      block.set(rate, 4)
      expect(
        codeOf(() => decodeSampleBlock(block)),
        `sampleRateHz ${what}`,
      ).toBe('CORRUPT_RECORD')
    }
  })

  it('random garbage: decodes or throws CORRUPT_RECORD, never anything else', () => {
    const random = prng(0x5eed)
    let decoded = 0
    let rejected = 0
    for (let round = 0; round < 3000; round++) {
      const length = Math.floor(random() * 64)
      const bytes = new Uint8Array(length)
      for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256)
      // Pure garbage fails at the magic byte; make some of it get further, up to a consistent count.
      if (length >= 2 && round % 2 === 0) bytes.set([0x53, 0x01])
      if (length >= SAMPLE_BLOCK_HEADER_BYTES && round % 4 === 0) {
        const bytesPerSample = round % 8 === 0 ? 2 : 4
        bytes[2] = bytesPerSample === 2 ? 1 : 2
        new DataView(bytes.buffer).setUint32(
          20,
          Math.floor((length - SAMPLE_BLOCK_HEADER_BYTES) / bytesPerSample),
          true,
        )
      }
      try {
        const block = decodeSampleBlock(bytes)
        decoded++
        expect(SAMPLE_BLOCK_HEADER_BYTES + block.samples.byteLength, `round ${round}`).toBe(length)
      } catch (error) {
        rejected++
        expect(error, `round ${round}`).toBeInstanceOf(LogError)
        expect((error as LogError).code, `round ${round}`).toBe('CORRUPT_RECORD')
      }
    }
    expect(decoded).toBeGreaterThan(0)
    expect(rejected).toBeGreaterThan(0)
  })
})
