import { StateError, type Serde, type Windowed } from '../state/index.ts'

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
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
      view(out).setBigUint64(key.byteLength, BigInt(startMs))
      view(out).setBigUint64(key.byteLength + 8, BigInt(endMs))
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
      const startMs = Number(view(bytes).getBigUint64(at))
      const endMs = Number(view(bytes).getBigUint64(at + 8))
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
      view(out).setBigUint64(key.byteLength, BigInt(endMs))
      view(out).setBigUint64(key.byteLength + 8, BigInt(startMs))
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
      const endMs = Number(view(bytes).getBigUint64(at))
      const startMs = Number(view(bytes).getBigUint64(at + 8))
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
      view(out).setBigUint64(0, BigInt(timestampMs))
      out.set(bytes, 8)
      return out
    },
    deserialize(bytes) {
      if (bytes.byteLength < 8) {
        throw new StateError('SERDE_FAILURE', `a stamped value needs ≥ 8 bytes, got ${bytes.byteLength}`)
      }
      return { timestampMs: Number(view(bytes).getBigUint64(0)), value: inner.deserialize(bytes.subarray(8)) }
    },
  }
}
