import { readUint64, writeInt64 } from '../state/bytes.ts'
import { StateError, type Serde, type Windowed } from '../state/index.ts'

// Times are u64 big-endian: checkTime keeps them in [0, 2^53), where writeInt64 writes the same bytes.

function checkTime(what: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new StateError('SERDE_FAILURE', `${what} must be an integer number of ms in [0, 2^53), got ${ms}`)
  }
}

/** One of the two windowed key formats: the inner key's bytes, then two times as u64 big-endian. */
interface WindowedKeyFormat {
  /** Throws SERDE_FAILURE for a window this format cannot write. */
  readonly check: (startMs: number, endMs: number) => void
  /** endMs before startMs (Kafka's SessionKeySchema order), else startMs before endMs. */
  readonly endFirst: boolean
  /** What a too-short input lacks, for the error: e.g. `a time-windowed key needs ≥ 16 bytes (…)`. */
  readonly needs: string
}

function windowedKeySerde<K>(inner: Serde<K>, format: WindowedKeyFormat): Serde<Windowed<K>> {
  return {
    serialize(windowed) {
      const { startMs, endMs } = windowed.window
      format.check(startMs, endMs)
      const key = inner.serialize(windowed.key)
      const out = new Uint8Array(key.byteLength + 16)
      out.set(key, 0)
      writeInt64(out, key.byteLength, format.endFirst ? endMs : startMs)
      writeInt64(out, key.byteLength + 8, format.endFirst ? startMs : endMs)
      return out
    },
    deserialize(bytes) {
      if (bytes.byteLength < 16) {
        throw new StateError('SERDE_FAILURE', `${format.needs}, got ${bytes.byteLength}`)
      }
      const at = bytes.byteLength - 16
      const first = readUint64(bytes, at)
      const second = readUint64(bytes, at + 8)
      const window = format.endFirst ? { startMs: second, endMs: first } : { startMs: first, endMs: second }
      return { key: inner.deserialize(bytes.subarray(0, at)), window }
    },
  }
}

/* time-windowed key => inner key bytes  startMs:u64be  endMs:u64be */
function timeWindowed<K>(inner: Serde<K>): Serde<Windowed<K>> {
  return windowedKeySerde(inner, {
    check: (startMs, endMs) => {
      checkTime('window startMs', startMs)
      checkTime('window endMs', endMs)
    },
    endFirst: false,
    needs: 'a time-windowed key needs ≥ 16 bytes (key, startMs u64, endMs u64)',
  })
}

/* session-windowed key => inner key bytes  endMs:u64be  startMs:u64be (Kafka's SessionKeySchema order) */
function sessionWindowed<K>(inner: Serde<K>): Serde<Windowed<K>> {
  return windowedKeySerde(inner, {
    check: (startMs, endMs) => {
      checkTime('session startMs', startMs)
      checkTime('session endMs', endMs)
      if (startMs > endMs) {
        throw new StateError(
          'SERDE_FAILURE',
          `a session is [startMs, endMs] with startMs ≤ endMs, got [${startMs}, ${endMs}]`,
        )
      }
    },
    endFirst: true,
    needs: 'a session-windowed key needs ≥ 16 bytes (key, endMs u64, startMs u64)',
  })
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
      writeInt64(out, 0, timestampMs)
      out.set(bytes, 8)
      return out
    },
    deserialize(bytes) {
      if (bytes.byteLength < 8) {
        throw new StateError('SERDE_FAILURE', `a stamped value needs ≥ 8 bytes, got ${bytes.byteLength}`)
      }
      return { timestampMs: readUint64(bytes, 0), value: inner.deserialize(bytes.subarray(8)) }
    },
  }
}
