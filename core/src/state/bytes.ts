/*
 * 64-bit big-endian integers by hand, shared by the serdes: no BigInt, and no DataView over a fresh
 * small Uint8Array (reading `.buffer` of an on-heap typed array makes V8 move it off-heap, ~10x the
 * cost of the write). Same bytes as DataView.setBigInt64 / setBigUint64.
 */

const TWO_32 = 2 ** 32

/**
 * Writes a safe integer as int64 big-endian two's complement at `at` (no BigInt). For a value
 * ≥ 0 these are also its u64 big-endian bytes.
 */
export function writeInt64(out: Uint8Array, at: number, value: number): void {
  const hi = Math.floor(value / TWO_32)
  const lo = value >>> 0
  out[at] = hi >>> 24
  out[at + 1] = hi >>> 16
  out[at + 2] = hi >>> 8
  out[at + 3] = hi
  out[at + 4] = lo >>> 24
  out[at + 5] = lo >>> 16
  out[at + 6] = lo >>> 8
  out[at + 7] = lo
}

/** Reads int64 big-endian as a number; exact for safe integers (beyond, the nearest double). */
export function readInt64(bytes: Uint8Array, at: number): number {
  return high32(bytes, at) * TWO_32 + low32(bytes, at)
}

/** Reads u64 big-endian as Number(getBigUint64(at)): one rounding, exact below 2^53. */
export function readUint64(bytes: Uint8Array, at: number): number {
  return (high32(bytes, at) >>> 0) * TWO_32 + low32(bytes, at)
}

/** Reads int64 big-endian as a bigint (the whole range). */
export function readBigInt64(bytes: Uint8Array, at: number): bigint {
  return (BigInt(high32(bytes, at)) << 32n) + BigInt(low32(bytes, at))
}

/** The high 32 bits at `at`, signed. */
function high32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!
}

/** The low 32 bits at `at` (bytes at + 4 … at + 7), unsigned. */
function low32(bytes: Uint8Array, at: number): number {
  return ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) >>> 0
}
