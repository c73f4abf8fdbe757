import { Serdes, type Serde, type Windowed } from '../state/index.ts'
import { parseOrThrow, windowedMaterializedSchema } from './options.ts'
import {
  aggregateFold,
  countFold,
  DEFAULT_SERDE,
  passThrough,
  reduceFold,
  repartitionIfRequired,
  type Fold,
  type Graph,
  type Materialized,
} from './graph.ts'
import { KStream } from './kstream.ts'
import { KTable } from './ktable.ts'
import { stampedSerde, WindowedSerdes, type Stamped } from './windowed-serdes.ts'
import type { TimeWindows } from './windows.ts'
import type { Forward, ProcessorContext, StreamRecord } from './topology.ts'

/**
 * When a windowed aggregation emits: `'onUpdate'` (the default) emits the new aggregate of every
 * window a record updates; `'onWindowClose'` emits each window's final aggregate exactly once, when
 * stream time closes it (stream time ≥ window end + grace) — also across restarts.
 */
export type EmitStrategy = 'onUpdate' | 'onWindowClose'

/** Materialized options of a windowed aggregation, plus when it emits. */
export interface WindowedMaterialized<K, V> extends Materialized<K, V> {
  readonly emitStrategy?: EmitStrategy
}

/**
 * A grouped stream aggregated per key and time window, with Kafka Streams' semantics:
 *
 * - Stream time is the largest record timestamp the aggregation has seen (in its task), persisted
 *   with its state, so it survives restarts.
 * - A record at t goes to every window `[start, end)` containing t (`windows.windowsFor(t)`) that is
 *   not closed at stream time (closed: stream time ≥ end + grace). A record whose windows are all
 *   closed is late: dropped, counted in the engine's `droppedRecords` and `lateRecords` metrics, and
 *   forwarded to the table's `lateRecords()` stream.
 * - State lives in a persistent window store named by `{ name }` (retention: size + grace) and a
 *   key-value store `<name>-meta` holding the stream time and what onWindowClose has emitted.
 * - Output keys are `Windowed<K>` (key + window); their serde defaults to
 *   `WindowedSerdes.timeWindowed(keySerde)`. An output record's timestamp is the largest timestamp
 *   among the records aggregated into its window.
 */
export class TimeWindowedKStream<K, V> {
  readonly #graph: Graph
  readonly #node: string
  readonly #keySerde: Serde<unknown>
  readonly #valueSerde: Serde<unknown>
  readonly #repartitionRequired: boolean
  readonly #windows: TimeWindows

  /** Internal: from KGroupedStream.windowedBy(). */
  constructor(
    graph: Graph,
    node: string,
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    repartitionRequired: boolean,
    windows: TimeWindows,
  ) {
    this.#graph = graph
    this.#node = node
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.#repartitionRequired = repartitionRequired
    this.#windows = windows
  }

  /** The number of records per key and window (Serdes.Long in the store). */
  count(materialized: WindowedMaterialized<K, number> = {}): TimeWindowedKTable<K, V, number> {
    return this.#aggregate('count', materialized, Serdes.Long as Serde<unknown>, countFold)
  }

  /** Combines each key's values per window with `reducer(aggregate, value)`; the first value is the start. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: WindowedMaterialized<K, V> = {},
  ): TimeWindowedKTable<K, V, V> {
    return this.#aggregate('reduce', materialized, this.#valueSerde, reduceFold(reducer))
  }

  /**
   * Folds each key's values per window into `aggregator(key, value, aggregate)`, starting from
   * `initializer()` in every window. `valueSerde` (default Serdes.String) serializes the aggregate.
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    materialized: WindowedMaterialized<K, VA> = {},
  ): TimeWindowedKTable<K, V, VA> {
    return this.#aggregate('aggregate', materialized, DEFAULT_SERDE, aggregateFold(initializer, aggregator))
  }

  #aggregate<VA>(
    operation: string,
    materialized: WindowedMaterialized<K, VA>,
    defaultValueSerde: Serde<unknown>,
    fold: Fold,
  ): TimeWindowedKTable<K, V, VA> {
    const parsed = parseOrThrow(
      windowedMaterializedSchema,
      materialized,
      `materialized options of windowed ${operation}()`,
    )
    const graph = this.#graph
    const windows = this.#windows
    const emitOnClose = parsed.emitStrategy === 'onWindowClose'
    const storeName = parsed.name ?? graph.name('KSTREAM-AGGREGATE-STATE-STORE')
    const metaName = `${storeName}-meta`
    const keySerde = parsed.keySerde ?? this.#keySerde
    const valueSerde = parsed.valueSerde ?? defaultValueSerde
    const parent = repartitionIfRequired(graph, this.#node, storeName, this.#repartitionRequired, {
      keySerde,
      valueSerde: this.#valueSerde,
    })
    graph.addStore({
      kind: 'window',
      name: storeName,
      keySerde,
      valueSerde: stampedSerde(valueSerde) as Serde<unknown>,
      windowSizeMs: windows.sizeMs,
      retentionMs: windows.retentionMs,
      timestamped: true,
    })
    graph.addStore({
      name: metaName,
      keySerde: Serdes.String as Serde<unknown>,
      valueSerde: Serdes.Long as Serde<unknown>,
    })
    const name = graph.name('KSTREAM-WINDOWED-AGGREGATE')
    // Children by role: results go to `result`, late records to each node in `late` (so never mixed).
    let result = ''
    const late: string[] = []
    graph.add({
      kind: 'processor',
      name,
      parents: [parent],
      stores: [storeName, metaName],
      create: (context: ProcessorContext) => {
        const store = context.windowStore(storeName)
        const meta = context.keyValueStore(metaName)
        // Largest timestamp seen; −1 before the first record (timestamps are ≥ 0).
        let streamTimeMs = (meta.get(STREAM_TIME_KEY) as number | undefined) ?? -1
        // onWindowClose: every window starting at or before this was emitted (−1: none yet).
        let emittedThroughStartMs = (meta.get(EMITTED_KEY) as number | undefined) ?? -1
        const emitClosed = (forward: Forward): void => {
          // A window [s, s + size) is closed once streamTime ≥ s + size + grace.
          const lastClosedStartMs = streamTimeMs - windows.sizeMs - windows.graceMs
          if (lastClosedStartMs <= emittedThroughStartMs) return
          const closed = Array.from(store.fetchAll(emittedThroughStartMs + 1, lastClosedStartMs))
          for (const entry of closed) {
            const { startMs } = entry.key.window
            const stamped = entry.value as Stamped<unknown>
            forward(
              {
                key: { key: entry.key.key, window: { startMs, endMs: startMs + windows.sizeMs } },
                value: stamped.value,
                timestampMs: stamped.timestampMs,
              },
              result,
            )
          }
          emittedThroughStartMs = lastClosedStartMs
          meta.put(EMITTED_KEY, emittedThroughStartMs)
        }
        return (r: StreamRecord, forward) => {
          if (r.key === null || r.key === undefined) {
            context.dropped('null key in windowed aggregation')
            return
          }
          if (r.timestampMs > streamTimeMs) {
            streamTimeMs = r.timestampMs
            meta.put(STREAM_TIME_KEY, streamTimeMs)
          }
          // Before this record's puts: the windows it updates are open, so they are not emitted
          // here, and no put has yet advanced the store's expiry past a window still to emit.
          if (emitOnClose) emitClosed(forward)
          const open = windows.windowsFor(r.timestampMs).filter((w) => !windows.isClosed(w, streamTimeMs))
          if (open.length === 0) {
            context.dropped(`late record at ${r.timestampMs}, stream time ${streamTimeMs}`, { late: true })
            for (const child of late) forward(r, child)
            return
          }
          for (const window of open) {
            const current = store.fetch(r.key, window.startMs) as Stamped<unknown> | undefined
            const stamped: Stamped<unknown> = {
              timestampMs: Math.max(current?.timestampMs ?? r.timestampMs, r.timestampMs),
              value: fold(r.key, r.value, current?.value),
            }
            store.put(r.key, stamped, window.startMs)
            if (!emitOnClose) {
              forward(
                { key: { key: r.key, window }, value: stamped.value, timestampMs: stamped.timestampMs },
                result,
              )
            }
          }
        }
      },
    })
    result = graph.processor('KTABLE-WINDOWED', [name], passThrough)
    return new TimeWindowedKTable<K, V, VA>(
      graph,
      result,
      WindowedSerdes.timeWindowed(keySerde) as Serde<unknown>,
      valueSerde,
      storeName,
      (create) => {
        const child = graph.processor('KSTREAM-LATE', [name], passThrough)
        late.push(child)
        return create(child, this.#keySerde, this.#valueSerde)
      },
    )
  }
}

const STREAM_TIME_KEY = 'streamTimeMs'
const EMITTED_KEY = 'emittedThroughStartMs'

/** The result of a windowed aggregation: a KTable keyed by `Windowed<K>`, plus its late records. */
export class TimeWindowedKTable<K, V, VA> extends KTable<Windowed<K>, VA> {
  readonly #graph: Graph
  readonly #addLate: (
    create: (node: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>) => KStream<K, V>,
  ) => KStream<K, V>

  /** Internal: from TimeWindowedKStream aggregations. */
  constructor(
    graph: Graph,
    node: string,
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    store: string,
    addLate: (
      create: (node: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>) => KStream<K, V>,
    ) => KStream<K, V>,
  ) {
    super(graph, node, keySerde, valueSerde, store)
    this.#graph = graph
    this.#addLate = addLate
  }

  /**
   * Beyond Kafka Streams: the input records this aggregation dropped as late (all their windows
   * closed), unchanged, in processing order. Call before `build()`; each call adds another stream
   * of the same records.
   */
  lateRecords(): KStream<K, V> {
    return this.#addLate(
      (node, keySerde, valueSerde) => new KStream<K, V>(this.#graph, node, keySerde, valueSerde, false),
    )
  }
}
