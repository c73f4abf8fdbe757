/*
 * Keys of a store's table, big-endian so byte order is the order the queries need. An LMDB table
 * prefixes each with the store id (see lmdb.ts); an in-memory table stores them as they are, so both
 * kinds run the same store code over the same layout.
 *
 * meta position     => 0x00 0x01                                   value => utf8( json {"topic/partition": offset} )
 * meta stream time  => 0x00 0x02                                   value => streamTimeMs:u64
 * kv entry          => 0x01 key                                    value => value
 * window entry      => 0x02 keyLen:u32 key startMs:u64             value => value
 * window time index => 0x03 startMs:u64 keyLen:u32 key             value => (empty)
 * session entry     => 0x04 keyLen:u32 key endMs:u64 startMs:u64   value => value
 * session time index=> 0x05 endMs:u64 keyLen:u32 key startMs:u64   value => (empty)
 *
 * Why two orders for windows and sessions: the hot query is per key ("patient p's windows from t1 to
 * t2"), so the entry is key-first and such a fetch is one contiguous scan, ordered by time. Expiry and
 * fetchAll need time order, so a time-first index entry is written with every entry, in the same write.
 * Expiry then reads only the index entries it deletes (those before the cutoff), never the whole store,
 * at the cost of one extra small write per put. keyLen makes the key boundary unambiguous, so a key's
 * scan never strays into another key that merely starts with the same bytes.
 */

export const TAG_META = 0x00
export const TAG_KV = 0x01
export const TAG_WINDOW = 0x02
export const TAG_WINDOW_INDEX = 0x03
export const TAG_SESSION = 0x04
export const TAG_SESSION_INDEX = 0x05

export const META_POSITION = Uint8Array.of(TAG_META, 0x01)
export const META_STREAM_TIME = Uint8Array.of(TAG_META, 0x02)

/** Largest user key a store accepts: LMDB's key limit (1978 bytes) minus the prefixes and suffixes above. */
export const MAX_KEY_BYTES = 1900
/** Largest time a key holds (time values are JS safe integers). */
export const MAX_TIME_MS = Number.MAX_SAFE_INTEGER

const TWO_32 = 2 ** 32
export const EMPTY = new Uint8Array(0)

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

export function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24
  out[at + 1] = (value >>> 16) & 0xff
  out[at + 2] = (value >>> 8) & 0xff
  out[at + 3] = value & 0xff
}

export function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
}

export function writeU64(out: Uint8Array, at: number, value: number): void {
  writeU32(out, at, Math.floor(value / TWO_32))
  writeU32(out, at + 4, value >>> 0)
}

export function readU64(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at) * TWO_32 + readU32(bytes, at + 4)
}

export function u64(value: number): Uint8Array {
  const out = new Uint8Array(8)
  writeU64(out, 0, value)
  return out
}

/** The first key after every key that starts with prefix; undefined if there is none (all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const out = prefix.slice(0, i + 1)
      out[i]! += 1
      return out
    }
  }
  return undefined
}

export function kvKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + key.length)
  out[0] = TAG_KV
  out.set(key, 1)
  return out
}

/** `tag keyLen:u32 key` followed by room for `suffixBytes`. */
function keyed(tag: number, key: Uint8Array, suffixBytes: number): Uint8Array {
  const out = new Uint8Array(5 + key.length + suffixBytes)
  out[0] = tag
  writeU32(out, 1, key.length)
  out.set(key, 5)
  return out
}

export function windowKeyPrefix(key: Uint8Array): Uint8Array {
  return keyed(TAG_WINDOW, key, 0)
}

export function windowKey(key: Uint8Array, startMs: number): Uint8Array {
  const out = keyed(TAG_WINDOW, key, 8)
  writeU64(out, 5 + key.length, startMs)
  return out
}

export function parseWindowKey(bytes: Uint8Array): { key: Uint8Array; startMs: number } {
  const keyLen = readU32(bytes, 1)
  return { key: bytes.slice(5, 5 + keyLen), startMs: readU64(bytes, 5 + keyLen) }
}

export function windowIndexKey(startMs: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(13 + key.length)
  out[0] = TAG_WINDOW_INDEX
  writeU64(out, 1, startMs)
  writeU32(out, 9, key.length)
  out.set(key, 13)
  return out
}

/** The first window-index key at startMs (before every key's). */
export function windowIndexAt(startMs: number): Uint8Array {
  const out = new Uint8Array(9)
  out[0] = TAG_WINDOW_INDEX
  writeU64(out, 1, startMs)
  return out
}

export function parseWindowIndexKey(bytes: Uint8Array): { key: Uint8Array; startMs: number } {
  const keyLen = readU32(bytes, 9)
  return { key: bytes.slice(13, 13 + keyLen), startMs: readU64(bytes, 1) }
}

export function sessionKeyPrefix(key: Uint8Array): Uint8Array {
  return keyed(TAG_SESSION, key, 0)
}

export function sessionKey(key: Uint8Array, endMs: number, startMs: number): Uint8Array {
  const out = keyed(TAG_SESSION, key, 16)
  writeU64(out, 5 + key.length, endMs)
  writeU64(out, 13 + key.length, startMs)
  return out
}

export function parseSessionKey(bytes: Uint8Array): { key: Uint8Array; startMs: number; endMs: number } {
  const keyLen = readU32(bytes, 1)
  return {
    key: bytes.slice(5, 5 + keyLen),
    endMs: readU64(bytes, 5 + keyLen),
    startMs: readU64(bytes, 13 + keyLen),
  }
}

export function sessionIndexKey(endMs: number, key: Uint8Array, startMs: number): Uint8Array {
  const out = new Uint8Array(21 + key.length)
  out[0] = TAG_SESSION_INDEX
  writeU64(out, 1, endMs)
  writeU32(out, 9, key.length)
  out.set(key, 13)
  writeU64(out, 13 + key.length, startMs)
  return out
}

export function sessionIndexAt(endMs: number): Uint8Array {
  const out = new Uint8Array(9)
  out[0] = TAG_SESSION_INDEX
  writeU64(out, 1, endMs)
  return out
}

export function parseSessionIndexKey(bytes: Uint8Array): { key: Uint8Array; startMs: number; endMs: number } {
  const keyLen = readU32(bytes, 9)
  return { key: bytes.slice(13, 13 + keyLen), endMs: readU64(bytes, 1), startMs: readU64(bytes, 13 + keyLen) }
}
