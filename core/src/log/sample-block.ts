import { endianness } from 'node:os'
import { LogError } from './errors.ts'

/**
 * A block of waveform samples of one channel, stored as one record's value: 100–250 ms of ECG,
 * PPG or accelerometer data rather than one record per sample.
 */
export interface SampleBlock<S extends Int16Array | Float32Array = Int16Array | Float32Array> {
  readonly samples: S
  /** Samples per second (> 0). */
  readonly sampleRateHz: number
  /** Time of `samples[0]`, ms since the epoch (may be fractional). */
  readonly firstSampleTimeMs: number
  /** The sensor's block sequence number (u32), for gap detection. */
  readonly sequence: number
}

/*
 * sample block v1 => magic:u8=0x53 version:u8=1 dtype:u8 reserved:u8 sampleRateHz:f32
 *                    firstSampleTimeMs:f64 sequence:u32 count:u32 samples      (little-endian)
 * dtype 1 = int16, 2 = float32. The 24-byte header keeps the samples 8-byte aligned relative to
 * the block, so a read can view them in place when the block itself is aligned.
 */
export const SAMPLE_BLOCK_HEADER_BYTES = 24
const MAGIC = 0x53
const VERSION = 1
const DTYPE_INT16 = 1
const DTYPE_FLOAT32 = 2

if (endianness() !== 'LE') {
  // Typed-array views are host-endian; every target Vigil ships on is little-endian.
  throw new Error('sample blocks need a little-endian host')
}

function invalid(message: string): LogError {
  return new LogError('INVALID_ARGUMENT', message)
}

/** Bytes of the encoded block. */
export function sampleBlockSize(block: SampleBlock): number {
  return SAMPLE_BLOCK_HEADER_BYTES + block.samples.byteLength
}

/** Encodes a block into one record value (one copy of the samples). */
export function encodeSampleBlock(block: SampleBlock): Uint8Array {
  const { samples, sampleRateHz, firstSampleTimeMs, sequence } = block
  if (!(samples instanceof Int16Array) && !(samples instanceof Float32Array)) {
    throw invalid(
      `samples must be an Int16Array or a Float32Array, got ${Object.prototype.toString.call(samples)}`,
    )
  }
  // Stored as float32: the rate must survive that, or the block could never be decoded.
  const stored = Math.fround(sampleRateHz)
  if (!(stored > 0) || !Number.isFinite(stored)) {
    throw invalid(`sampleRateHz must be a finite number > 0 that fits a float32, got ${sampleRateHz}`)
  }
  if (!Number.isFinite(firstSampleTimeMs))
    throw invalid(`firstSampleTimeMs must be finite, got ${firstSampleTimeMs}`)
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > 0xffffffff) {
    throw invalid(`sequence must be an integer in [0, 2^32), got ${sequence}`)
  }
  const dtype = samples instanceof Int16Array ? DTYPE_INT16 : DTYPE_FLOAT32
  const out = Buffer.allocUnsafe(SAMPLE_BLOCK_HEADER_BYTES + samples.byteLength)
  out[0] = MAGIC
  out[1] = VERSION
  out[2] = dtype
  out[3] = 0
  out.writeFloatLE(sampleRateHz, 4)
  out.writeDoubleLE(firstSampleTimeMs, 8)
  out.writeUInt32LE(sequence, 16)
  out.writeUInt32LE(samples.length, 20)
  out.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength), SAMPLE_BLOCK_HEADER_BYTES)
  return out
}

/**
 * Decodes a block. The samples are a view on `value` when its alignment allows (zero-copy),
 * otherwise a copy. Throws CORRUPT_RECORD when `value` is not a v1 sample block.
 */
export function decodeSampleBlock(value: Uint8Array): SampleBlock {
  if (value.length < SAMPLE_BLOCK_HEADER_BYTES || value[0] !== MAGIC) {
    throw new LogError('CORRUPT_RECORD', `not a sample block (${value.length} bytes, magic ${value[0]})`)
  }
  if (value[1] !== VERSION) {
    throw new LogError(
      'CORRUPT_RECORD',
      `sample block version ${value[1]} is not supported (this build reads v${VERSION})`,
    )
  }
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  const dtype = value[2]
  const sampleRateHz = view.getFloat32(4, true)
  const firstSampleTimeMs = view.getFloat64(8, true)
  const sequence = view.getUint32(16, true)
  const count = view.getUint32(20, true)
  if (!(sampleRateHz > 0) || !Number.isFinite(sampleRateHz)) {
    throw new LogError(
      'CORRUPT_RECORD',
      `sample block has sampleRateHz ${sampleRateHz}; a valid block has a finite rate > 0`,
    )
  }
  const bytesPerSample = dtype === DTYPE_INT16 ? 2 : dtype === DTYPE_FLOAT32 ? 4 : 0
  if (bytesPerSample === 0) throw new LogError('CORRUPT_RECORD', `sample block dtype ${dtype} is unknown`)
  if (value.length !== SAMPLE_BLOCK_HEADER_BYTES + count * bytesPerSample) {
    throw new LogError(
      'CORRUPT_RECORD',
      `sample block says ${count} samples but holds ${value.length - SAMPLE_BLOCK_HEADER_BYTES} bytes`,
    )
  }
  const start = value.byteOffset + SAMPLE_BLOCK_HEADER_BYTES
  let samples: Int16Array | Float32Array
  if (start % bytesPerSample === 0) {
    samples =
      dtype === DTYPE_INT16
        ? new Int16Array(value.buffer, start, count)
        : new Float32Array(value.buffer, start, count)
  } else {
    const copy = new Uint8Array(value.subarray(SAMPLE_BLOCK_HEADER_BYTES))
    samples =
      dtype === DTYPE_INT16 ? new Int16Array(copy.buffer, 0, count) : new Float32Array(copy.buffer, 0, count)
  }
  return { samples, sampleRateHz, firstSampleTimeMs, sequence }
}
