import { BleCodecError, checkInt, need, noTrailing, viewOf } from './errors.ts'

const C = 'vendor stream frame'
const CC = 'vendor stream config'

export const VENDOR_STREAM_VERSION = 1
export const VENDOR_STREAM_HEADER_BYTES = 6

/** Stream kinds: ECG is one channel in µV; the accelerometer three interleaved channels x,y,z in mg. */
export const vendorStreamKinds = { ecg: 1, acc: 2 } as const
export type VendorStreamKind = keyof typeof vendorStreamKinds

/** Channels per sample instant of each kind. */
export const vendorStreamChannels: Record<VendorStreamKind, number> = { ecg: 1, acc: 3 }

export interface VendorStreamFrame {
  readonly kind: VendorStreamKind
  /** Per-characteristic notification counter, +1 per notification, wraps at 2^32. */
  readonly seq: number
  /** Interleaved samples (acc: x0 y0 z0 x1 …): ECG in µV, accelerometer in mg. */
  readonly samples: Int16Array
}

export interface VendorStreamConfig {
  readonly ecgSampleRateHz: number
  readonly accSampleRateHz: number
}

/** Next sequence number after `seq` (mod 2^32). */
export function nextVendorSeq(seq: number): number {
  return (seq + 1) >>> 0
}

/** Notifications missing between `previous` and `current` (0 when consecutive; mod 2^32). */
export function vendorSeqGap(previous: number, current: number): number {
  return (current - previous - 1) >>> 0
}

/*
 * vendor stream frame v1 => version:u8(=1) kind:u8(1 ECG | 2 ACC) seq:u32 samples:i16[n·channels]
 *   all little-endian; n ≥ 1; ACC samples interleave x,y,z. Version ≠ 1 is UNSUPPORTED_VERSION,
 *   another kind RESERVED_VALUE, no samples or a partial xyz triple TRUNCATED, an odd byte TRAILING_BYTES.
 */
export function decodeVendorStreamFrame(payload: Uint8Array): VendorStreamFrame {
  const v = viewOf(payload, C)
  need(v, 0, VENDOR_STREAM_HEADER_BYTES, 'header', C)
  const version = v.getUint8(0)
  if (version !== VENDOR_STREAM_VERSION) {
    throw new BleCodecError(
      'UNSUPPORTED_VERSION',
      C,
      `version ${version} is not supported (this decoder reads version ${VENDOR_STREAM_VERSION})`,
    )
  }
  const code = v.getUint8(1)
  const kind: VendorStreamKind | null =
    code === vendorStreamKinds.ecg ? 'ecg' : code === vendorStreamKinds.acc ? 'acc' : null
  if (kind === null)
    throw new BleCodecError('RESERVED_VALUE', C, `stream kind ${code} is reserved (1 ECG, 2 ACC)`)
  const seq = v.getUint32(2, true)
  const bodyBytes = v.byteLength - VENDOR_STREAM_HEADER_BYTES
  const count = Math.floor(bodyBytes / 2)
  const channels = vendorStreamChannels[kind]
  if (count === 0 || count % channels !== 0) {
    throw new BleCodecError(
      'TRUNCATED',
      C,
      `${kind} frame carries ${count} int16 values; it needs a positive multiple of ${channels}`,
    )
  }
  noTrailing(v, VENDOR_STREAM_HEADER_BYTES + count * 2, C)
  const samples = new Int16Array(count)
  for (let i = 0; i < count; i++) samples[i] = v.getInt16(VENDOR_STREAM_HEADER_BYTES + 2 * i, true)
  return { kind, seq, samples }
}

/** Encodes one notification; throws BleCodecError INVALID_ARGUMENT for a bad seq or sample count. */
export function encodeVendorStreamFrame(frame: {
  readonly kind: VendorStreamKind
  readonly seq: number
  readonly samples: ArrayLike<number>
}): Uint8Array {
  checkInt(frame.seq, 0, 0xffffffff, 'seq', C)
  const n = frame.samples.length
  const channels = vendorStreamChannels[frame.kind]
  if (n === 0 || n % channels !== 0) {
    throw new BleCodecError(
      'INVALID_ARGUMENT',
      C,
      `${frame.kind} needs a positive multiple of ${channels} samples, got ${n}`,
    )
  }
  const out = new Uint8Array(VENDOR_STREAM_HEADER_BYTES + 2 * n)
  if (out.byteLength > 512) {
    throw new BleCodecError(
      'INVALID_ARGUMENT',
      C,
      `${n} samples make a ${out.byteLength}-byte frame (max 512)`,
    )
  }
  const v = new DataView(out.buffer)
  v.setUint8(0, VENDOR_STREAM_VERSION)
  v.setUint8(1, vendorStreamKinds[frame.kind])
  v.setUint32(2, frame.seq, true)
  for (let i = 0; i < n; i++) {
    const s = frame.samples[i]!
    checkInt(s, -0x8000, 0x7fff, `samples[${i}]`, C)
    v.setInt16(VENDOR_STREAM_HEADER_BYTES + 2 * i, s, true)
  }
  return out
}

/** Samples per notification that fit an ATT MTU (payload = MTU − 3), rounded down to whole xyz triples. */
export function vendorSamplesPerNotification(kind: VendorStreamKind, attMtu: number): number {
  const channels = vendorStreamChannels[kind]
  const values = Math.floor((Math.min(attMtu - 3, 512) - VENDOR_STREAM_HEADER_BYTES) / 2)
  return Math.max(0, values - (values % channels))
}

/* vendor stream config v1 => version:u8(=1) ecgSampleRateHz:u16 accSampleRateHz:u16 */
export function decodeVendorStreamConfig(payload: Uint8Array): VendorStreamConfig {
  const v = viewOf(payload, CC)
  need(v, 0, 1, 'version', CC)
  const version = v.getUint8(0)
  if (version !== VENDOR_STREAM_VERSION) {
    throw new BleCodecError('UNSUPPORTED_VERSION', CC, `version ${version} is not supported`)
  }
  need(v, 1, 4, 'sample rates', CC)
  noTrailing(v, 5, CC)
  const ecgSampleRateHz = v.getUint16(1, true)
  const accSampleRateHz = v.getUint16(3, true)
  if (ecgSampleRateHz === 0 || accSampleRateHz === 0) {
    throw new BleCodecError(
      'OUT_OF_RANGE',
      CC,
      `sample rates must be positive, got ecg ${ecgSampleRateHz} Hz, acc ${accSampleRateHz} Hz`,
    )
  }
  return { ecgSampleRateHz, accSampleRateHz }
}

export function encodeVendorStreamConfig(config: VendorStreamConfig): Uint8Array {
  checkInt(config.ecgSampleRateHz, 1, 0xffff, 'ecgSampleRateHz', CC)
  checkInt(config.accSampleRateHz, 1, 0xffff, 'accSampleRateHz', CC)
  const out = new Uint8Array(5)
  const v = new DataView(out.buffer)
  v.setUint8(0, VENDOR_STREAM_VERSION)
  v.setUint16(1, config.ecgSampleRateHz, true)
  v.setUint16(3, config.accSampleRateHz, true)
  return out
}
