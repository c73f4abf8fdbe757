import { Serdes, type Serde } from '../state/index.ts'
import { DEFAULT_SERDE } from './graph.ts'
import type { GroupedSource } from './graph.ts'
import { WindowedSerdes } from './windowed-serdes.ts'
import {
  WindowedKStreamBase,
  type WindowedKind,
  type WindowedKTable,
  type WindowedMaterialized,
  type WindowedStoreSpec,
} from './windowed-common.ts'
import type { SessionWindows } from './windows.ts'
import type { ProcessorContext } from './topology.ts'

/**
 * How a session aggregation folds: `merge(key, acc, sessionAggregate)` combines the aggregates of
 * the sessions a record joins (acc undefined before the first), `fold(key, value, acc)` adds the
 * record (acc undefined when it joins no session).
 */
interface SessionFold {
  merge(key: unknown, acc: unknown, sessionAggregate: unknown): unknown
  fold(key: unknown, value: unknown, acc: unknown): unknown
}

/**
 * A grouped stream aggregated per key and session, with Kafka Streams' semantics:
 *
 * - A session is `[start, end]` (both inclusive): the first and last record timestamps of a burst
 *   of records no more than `inactivityGapMs` apart. A record at t joins every session of its key
 *   within the gap (`findSessions(key, t − gap, t + gap)`); they merge into one session whose
 *   aggregate is `merger` over their aggregates (in session-end order) plus the record.
 * - A record is late when its merged session is closed (stream time > end + grace): dropped,
 *   counted, and sent to `lateRecords()` (Kafka's rule).
 * - A closed session may still grow: a record within the gap after it is not late while its own
 *   time is within grace. It is final once stream time > end + gap + grace (no record that is not
 *   late can join it): onWindowClose emits it then, and it never merges again. Kafka emits at
 *   end + grace and merges closed sessions until its store expires them (about end + gap + grace),
 *   so its "final" session can be superseded; here an emitted session never is.
 * - onUpdate emits, per record, a tombstone (value null) for each session merged away, then the
 *   merged session. onWindowClose emits each session once, when final (by end, then key).
 * - Output record timestamps are the session's end. Keys default to
 *   `WindowedSerdes.sessionWindowed(keySerde)`.
 * - State: a session store named by `{ name }` (retention gap + grace, queryable with
 *   getSessionStore), `<name>-meta`, and for onWindowClose `<name>-closing`, a window store of the
 *   open sessions by end (the session store has no cross-key range by end).
 */
export class SessionWindowedKStream<K, V> extends WindowedKStreamBase<K, V> {
  readonly #windows: SessionWindows

  /** Internal: from KGroupedStream.windowedBy(). */
  constructor(source: GroupedSource, windows: SessionWindows) {
    super(source)
    this.#windows = windows
  }

  /** The number of records per key and session (Serdes.Long in the store). */
  count(materialized: WindowedMaterialized<K, number> = {}): WindowedKTable<K, V, number> {
    return this.#aggregate('count', materialized, Serdes.Long as Serde<unknown>, {
      merge: (_key, acc, session) => ((acc as number | undefined) ?? 0) + (session as number),
      fold: (_key, _value, acc) => ((acc as number | undefined) ?? 0) + 1,
    })
  }

  /**
   * Combines each key's values per session with `reducer(aggregate, value)`; merging sessions
   * combines their aggregates with the same reducer.
   */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: WindowedMaterialized<K, V> = {},
  ): WindowedKTable<K, V, V> {
    const combine = (acc: unknown, next: unknown): unknown =>
      acc === undefined ? next : reducer(acc as V, next as V)
    return this.#aggregate('reduce', materialized, this.inputValueSerde, {
      merge: (_key, acc, session) => combine(acc, session),
      fold: (_key, value, acc) => combine(acc, value),
    })
  }

  /**
   * Folds each key's values per session into `aggregator(key, value, aggregate)`, from
   * `initializer()`; when a record joins sessions, `merger(key, aggregate, sessionAggregate)`
   * folds their aggregates first, starting from `initializer()`. `valueSerde` (default
   * Serdes.String) serializes the aggregate.
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    merger: (key: K, aggregate: VA, sessionAggregate: VA) => VA,
    materialized: WindowedMaterialized<K, VA> = {},
  ): WindowedKTable<K, V, VA> {
    const start = (acc: unknown): VA => (acc === undefined ? initializer() : (acc as VA))
    return this.#aggregate('aggregate', materialized, DEFAULT_SERDE, {
      merge: (key, acc, session) => merger(key as K, start(acc), session as VA),
      fold: (key, value, acc) => aggregator(key as K, value as V, start(acc)),
    })
  }

  #aggregate<VA>(
    operation: string,
    materialized: WindowedMaterialized<K, VA>,
    defaultValueSerde: Serde<unknown>,
    fold: SessionFold,
  ): WindowedKTable<K, V, VA> {
    const windows = this.#windows
    const closingName = (storeName: string): string => `${storeName}-closing`
    const spec: WindowedStoreSpec = {
      windowedKeySerde: (keySerde) => WindowedSerdes.sessionWindowed(keySerde) as Serde<unknown>,
      addStore: ({ graph, name, keySerde, valueSerde }) => {
        graph.addStore({ kind: 'session', name, keySerde, valueSerde, retentionMs: windows.retentionMs })
      },
      addMoreStores: ({ graph, name, keySerde, options }) => {
        if (options.emitStrategy !== 'onWindowClose') return []
        // (key, session end) → session start. A session not yet final ends at ≥ streamTime − gap −
        // grace and the latest end put is ≤ streamTime, so retention gap + grace keeps it.
        graph.addStore({
          kind: 'window',
          name: closingName(name),
          keySerde,
          valueSerde: Serdes.Long as Serde<unknown>,
          windowSizeMs: 1,
          retentionMs: windows.retentionMs,
          timestamped: false,
        })
        return [closingName(name)]
      },
      bind: (context, { name, options }) =>
        sessionKind(
          context.sessionStore(name),
          options.emitStrategy === 'onWindowClose' ? context.windowStore(closingName(name)) : undefined,
          windows,
          fold,
        ),
    }
    return this.addAggregation(operation, materialized, defaultValueSerde, spec)
  }
}

type SessionStore = ReturnType<ProcessorContext['sessionStore']>
type WindowStore = ReturnType<ProcessorContext['windowStore']>

/** Kafka's KStreamSessionWindowAggregate, plus the by-end index onWindowClose reads. */
function sessionKind(
  store: SessionStore,
  closing: WindowStore | undefined,
  windows: SessionWindows,
  fold: SessionFold,
): WindowedKind {
  const gap = windows.inactivityGapMs
  return {
    emittedKey: 'emittedThroughEndMs',
    // A session [s, e] is final once streamTime > e + gap + grace.
    lastClosed: (streamTimeMs) => streamTimeMs - gap - windows.graceMs - 1,
    emitClosed: (afterMs, throughMs, emit) => {
      if (closing === undefined) return
      for (const entry of Array.from(closing.fetchAll(afterMs + 1, throughMs))) {
        const key = entry.key.key
        const endMs = entry.key.window.startMs
        const startMs = entry.value as number
        // The only session of key that ends at or after endMs and starts by it is [startMs, endMs]:
        // sessions of one key never overlap.
        const session = Array.from(store.findSessions(key, endMs, endMs)).find(
          (s) => s.key.window.startMs === startMs && s.key.window.endMs === endMs,
        )
        if (session === undefined) continue
        emit({ key: { key, window: { startMs, endMs } }, value: session.value, timestampMs: endMs })
      }
    },
    process: (r, streamTimeMs, emit, emittedThroughMs) => {
      const t = r.timestampMs
      // Final sessions (emitted under onWindowClose) never merge again (see the class comment).
      const found = Array.from(store.findSessions(r.key, t - gap, t + gap)).filter(
        (s) => !windows.isFinal(s.key.window, streamTimeMs),
      )
      let startMs = t
      let endMs = t
      let acc: unknown = undefined
      for (const session of found) {
        acc = fold.merge(r.key, acc, session.value)
        startMs = Math.min(startMs, session.key.window.startMs)
        endMs = Math.max(endMs, session.key.window.endMs)
      }
      const merged = { startMs, endMs }
      if (windows.isClosed(merged, streamTimeMs)) return false
      const onUpdate = emittedThroughMs === undefined
      for (const session of found) {
        const { window } = session.key
        // A session only updated in place is overwritten below: no tombstone for it.
        if (window.startMs === startMs && window.endMs === endMs) continue
        store.remove({ key: r.key, window })
        closing?.put(r.key, null, window.endMs)
        // Not final, so not emitted under onWindowClose: nothing to retract there.
        if (onUpdate) emit({ key: { key: r.key, window }, value: null, timestampMs: window.endMs })
      }
      const value = fold.fold(r.key, r.value, acc)
      store.put({ key: r.key, window: merged }, value)
      closing?.put(r.key, startMs, endMs)
      if (onUpdate) emit({ key: { key: r.key, window: merged }, value, timestampMs: endMs })
      return true
    },
  }
}
