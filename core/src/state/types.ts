import type { Position } from './position.ts'

/*
 * The store interfaces, in Kafka Streams' shapes. Every layer of a store stack implements the same
 * interface: the bytes stores at the bottom are `KeyValueStore<Uint8Array, Uint8Array>` and so on; the
 * typed layer on top turns them into `KeyValueStore<K, V>` with serdes.
 *
 * Ordering: keys are ordered by their serialized bytes (unsigned lexicographic, a shorter prefix first),
 * as Kafka Streams orders them. For Serdes.String that is UTF-8 byte order; for Serdes.Long it is not
 * numeric order once negative numbers are involved (two's complement puts them after the positives).
 *
 * Iterables returned by range queries are lazy: they read as they are iterated. Do not write to the store
 * while iterating one (collect with Array.from first); what the iteration then sees is unspecified.
 *
 * Time values (window starts, session bounds) are epoch milliseconds: integers in [0, 2^53).
 */

export interface KeyValue<K, V> {
  readonly key: K
  readonly value: V
}

/** A time window, [startMs, endMs) for time windows; [startMs, endMs] (both inclusive) for sessions. */
export interface TimeWindow {
  readonly startMs: number
  readonly endMs: number
}

/** A key and the window it is aggregated in. */
export interface Windowed<K> {
  readonly key: K
  readonly window: TimeWindow
}

/** What every store, and every read-only view of one, has. */
export interface ReadOnlyStateStore {
  /** The store's name, unique within its LMDB environment (for LMDB stores) or its task. */
  readonly name: string
  /** Input offsets whose effects the store reflects, including writes not flushed yet. */
  position(): Position
}

/** The lifecycle every writable store has. */
export interface StateStore extends ReadOnlyStateStore {
  readonly persistent: boolean
  readonly isOpen: boolean
  /**
   * Records that the store now reflects `offset` of topic/partition (the runtime calls this after
   * processing a record). Offsets only move forward. Persisted by the next flush().
   */
  updatePosition(topic: string, partition: number, offset: number): void
  /**
   * Writes everything buffered (and the position) to the underlying storage.
   *
   * For an LMDB-backed store this MUST run inside a write transaction of the store's environment
   * (`stateTransaction(env, fn)`, or the env's own `transactionSync`): the runtime flushes every store of
   * a task in the same transaction as the task's output appends and input offset commits, which is what
   * makes a task commit exactly-once. Outside one it throws NOT_IN_TRANSACTION and changes nothing.
   *
   * If that enclosing transaction then aborts, the store's in-memory position and stream time are ahead
   * of disk (and a write buffer has already been emptied): close the store and open it again before
   * reprocessing from the committed offsets.
   */
  flush(): void
  /**
   * Releases the store. Unflushed writes are discarded (flush first, inside a transaction, to keep them).
   * Closing twice is a no-op; any other call afterwards throws STORE_CLOSED.
   */
  close(): void
}

export interface ReadOnlyKeyValueStore<K, V> extends ReadOnlyStateStore {
  /** The value of key, or undefined if absent. */
  get(key: K): V | undefined
  /**
   * Entries with from ≤ key < to (inclusive from, EXCLUSIVE to), in ascending key-byte order.
   * Empty when from ≥ to.
   */
  range(from: K, to: K): Iterable<KeyValue<K, V>>
  /** Every entry, in ascending key-byte order. */
  all(): Iterable<KeyValue<K, V>>
  /**
   * The number of entries. Exact for in-memory stores; for LMDB stores it counts the store's keys
   * (O(entries)) and, under a write buffer, checks each buffered key against the store.
   */
  approximateNumEntries(): number
}

export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V>, StateStore {
  /** Sets key to value. */
  put(key: K, value: V): void
  /** Sets key to value unless it has one; returns the value it had (undefined if it was set). */
  putIfAbsent(key: K, value: V): V | undefined
  /** Removes key; returns the value it had, or undefined. */
  delete(key: K): V | undefined
}

export interface ReadOnlyWindowStore<K, V> extends ReadOnlyStateStore {
  /** Length of every window in this store: a window starting at s covers [s, s + windowSizeMs). */
  readonly windowSizeMs: number
  /** How long a window is kept, measured from the store's stream time (see observedStreamTimeMs). */
  readonly retentionMs: number
  /**
   * Largest window start ever put (-Infinity before the first put). A window whose start is
   * < observedStreamTimeMs() - retentionMs is expired: puts to it are dropped, reads never return it, and
   * it is deleted from storage as stream time passes it.
   */
  observedStreamTimeMs(): number
  /** The value of key's window starting at windowStartMs, or undefined (also if expired). */
  fetch(key: K, windowStartMs: number): V | undefined
  /** key's windows with timeFromMs ≤ start ≤ timeToMs (both INCLUSIVE), ascending by start. */
  fetchRange(key: K, timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<K>, V>>
  /**
   * Every key's windows with timeFromMs ≤ start ≤ timeToMs (both INCLUSIVE), ascending by start, then by
   * key length, then key bytes.
   */
  fetchAll(timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<K>, V>>
}

export interface WindowStore<K, V> extends ReadOnlyWindowStore<K, V>, StateStore {
  /**
   * Sets the value of key's window starting at windowStartMs; a null value deletes the window (Kafka
   * Streams' tombstone). Advances stream time. Returns false, and stores nothing, if the window is
   * already expired (counted as an expired drop in the metrics).
   */
  put(key: K, value: V | null, windowStartMs: number): boolean
}

export interface ReadOnlySessionStore<K, V> extends ReadOnlyStateStore {
  /** How long a session is kept after its END, measured from the store's stream time. */
  readonly retentionMs: number
  /**
   * Largest session end ever put (-Infinity before the first put). A session whose end is
   * < observedStreamTimeMs() - retentionMs is expired: puts are dropped and reads never return it.
   */
  observedStreamTimeMs(): number
  /**
   * key's sessions that overlap [earliestSessionEndMs, latestSessionStartMs], i.e. with
   * end ≥ earliestSessionEndMs and start ≤ latestSessionStartMs, ascending by end, then start. Session
   * window merging asks (key, recordTime - gap, recordTime + gap) to find the sessions a record joins.
   */
  findSessions(
    key: K,
    earliestSessionEndMs: number,
    latestSessionStartMs: number,
  ): Iterable<KeyValue<Windowed<K>, V>>
  /** The value of exactly the session [startMs, endMs] of key, or undefined. */
  fetchSession(key: K, startMs: number, endMs: number): V | undefined
  /** All of key's live sessions, ascending by end, then start. */
  fetch(key: K): Iterable<KeyValue<Windowed<K>, V>>
}

export interface SessionStore<K, V> extends ReadOnlySessionStore<K, V>, StateStore {
  /**
   * Sets the value of the session window.window of window.key (startMs ≤ endMs). Advances stream time.
   * Returns false, and stores nothing, if the session is already expired.
   */
  put(session: Windowed<K>, value: V): boolean
  /** Removes exactly that session (same key, start and end); a no-op if absent. */
  remove(session: Windowed<K>): void
}

/** Counts and latencies of one kind of operation on a store, since it was built. */
export interface OperationMetrics {
  readonly count: number
  /**
   * Over the most recent samples (a ring), in milliseconds. put/get/delete are sampled (one operation in
   * SAMPLE_EVERY, metered.ts; `count` stays exact); flush and range are timed every time.
   */
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

export interface StoreMetrics {
  readonly store: string
  readonly put: OperationMetrics
  readonly get: OperationMetrics
  /** range/all/fetchRange/fetchAll/findSessions/fetch, timed to the end of iteration. */
  readonly range: OperationMetrics
  readonly delete: OperationMetrics
  readonly flush: OperationMetrics
  /** Window/session puts dropped because the window had already expired. */
  readonly expiredDrops: number
  /** Bytes held by the write buffer now (0 without one); see maxBufferedBytes. */
  readonly bufferedBytes: number
}

/** A store with metrics: what the builders return. */
export interface Metered {
  metrics(): StoreMetrics
}
