import { StateError, type Serde, type Windowed } from '../state/index.ts'

const TWO_32 = 2 ** 32

/*
 * u64 big-endian by hand: no BigInt, and no DataView over a fresh small Uint8Array (reading `.buffer`
 * of an on-heap typed array makes V8 move it off-heap). Same bytes as DataView.setBigUint64.
 */
function writeU64(out: Uint8Array, at: number, value: number): void {
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

/** As Number(getBigUint64(at)): one rounding, exact below 2^53. */
function readU64(bytes: Uint8Array, at: number): number {
  const hi = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  const lo = ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) >>> 0
  return hi * TWO_32 + lo
}

function checkTime(what: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new StateError('SERDE_FAILURE', `${what} must be an integer number of ms in [0, 2^53), got ${ms}`)
  }
}

/* time-windowed key => inner key bytes  startMs:u64be  endMs:u64be */
function timeWindowed<K>(inner: Serde<K>): Serde<Windowed<K>> {
  return {
    serialize(windowed) {
      const { startMs, endMs } = windowed.window
      checkTime('window startMs', startMs)
      checkTime('window endMs', endMs)
      const key = inner.serialize(windowed.key)
      const out = new Uint8Array(key.byteLength + 16)
      out.set(key, 0)
      writeU64(out, key.byteLength, startMs)
      writeU64(out, key.byteLength + 8, endMs)
      return out
    },
    deserialize(bytes) {
      if (bytes.byteLength < 16) {
        throw new StateError(
          'SERDE_FAILURE',
          `a time-windowed key needs ≥ 16 bytes (key, startMs u64, endMs u64), got ${bytes.byteLength}`,
        )
      }
      const at = bytes.byteLength - 16
      const startMs = readU64(bytes, at)
      const endMs = readU64(bytes, at + 8)
      return { key: inner.deserialize(bytes.subarray(0, at)), window: { startMs, endMs } }
    },
  }
}

/* session-windowed key => inner key bytes  endMs:u64be  startMs:u64be (Kafka's SessionKeySchema order) */
function sessionWindowed<K>(inner: Serde<K>): Serde<Windowed<K>> {
  return {
    serialize(windowed) {
      const { startMs, endMs } = windowed.window
      checkTime('session startMs', startMs)
      checkTime('session endMs', endMs)
      if (startMs > endMs) {
        throw new StateError(
          'SERDE_FAILURE',
          `a session is [startMs, endMs] with startMs ≤ endMs, got [${startMs}, ${endMs}]`,
        )
      }
      const key = inner.serialize(windowed.key)
      const out = new Uint8Array(key.byteLength + 16)
      out.set(key, 0)
      writeU64(out, key.byteLength, endMs)
      writeU64(out, key.byteLength + 8, startMs)
      return out
    },
    deserialize(bytes) {
      if (bytes.byteLength < 16) {
        throw new StateError(
          'SERDE_FAILURE',
          `a session-windowed key needs ≥ 16 bytes (key, endMs u64, startMs u64), got ${bytes.byteLength}`,
        )
      }
      const at = bytes.byteLength - 16
      const endMs = readU64(bytes, at)
      const startMs = readU64(bytes, at + 8)
      return { key: inner.deserialize(bytes.subarray(0, at)), window: { startMs, endMs } }
    },
  }
}

/**
 * Serdes for the keys of windowed aggregations (`KTable<Windowed<K>, V>` and its `toStream()`).
 *
 * `timeWindowed(inner)`: the inner key's bytes, then the window's startMs and endMs as unsigned
 * 64-bit big-endian integers (16 bytes). Unlike Kafka's TimeWindowedSerde (key + startMs only,
 * the end recomputed from a configured window size), the end travels with the key, so a reader
 * needs no window size. Windowed aggregations use it by default for their key; pass it to `to()`
 * only to be explicit. Throws SERDE_FAILURE on fewer than 16 bytes or a bad time.
 *
 * `sessionWindowed(inner)`: the inner key's bytes, then the session's endMs and startMs (both
 * inclusive) as unsigned 64-bit big-endian integers, in that order as Kafka's session key schema.
 * Session-windowed aggregations use it by default. Throws SERDE_FAILURE on fewer than 16 bytes, a
 * bad time, or start > end.
 */
export const WindowedSerdes = { timeWindowed, sessionWindowed } as const

/** A value with the largest record timestamp that made it (what a windowed aggregation stores). */
export interface Stamped<V> {
  readonly timestampMs: number
  readonly value: V
}

/* stamped value => timestampMs:u64be  inner value bytes */
export function stampedSerde<V>(inner: Serde<V>): Serde<Stamped<V>> {
  return {
    serialize({ timestampMs, value }) {
      checkTime('timestampMs', timestampMs)
      const bytes = inner.serialize(value)
      const out = new Uint8Array(bytes.byteLength + 8)
      writeU64(out, 0, timestampMs)
      out.set(bytes, 8)
      return out
    },
    deserialize(bytes) {
      if (bytes.byteLength < 8) {
        throw new StateError('SERDE_FAILURE', `a stamped value needs ≥ 8 bytes, got ${bytes.byteLength}`)
      }
      return { timestampMs: readU64(bytes, 0), value: inner.deserialize(bytes.subarray(8)) }
    },
  }
}
