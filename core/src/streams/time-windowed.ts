import { Serdes, type Serde } from '../state/index.ts'
import {
  aggregateFold,
  countFold,
  DEFAULT_SERDE,
  reduceFold,
  repartitionIfRequired,
  type Fold,
  type Graph,
} from './graph.ts'
import { stampedSerde, WindowedSerdes, type Stamped } from './windowed-serdes.ts'
import {
  addWindowedNode,
  parseWindowedOptions,
  WindowedKTable,
  type WindowedKind,
  type WindowedMaterialized,
} from './windowed-common.ts'
import type { TimeWindows } from './windows.ts'
import type { ProcessorContext } from './topology.ts'

export {
  WindowedKTable as TimeWindowedKTable,
  type EmitStrategy,
  type WindowedMaterialized,
} from './windowed-common.ts'

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
  count(materialized: WindowedMaterialized<K, number> = {}): WindowedKTable<K, V, number> {
    return this.#aggregate('count', materialized, Serdes.Long as Serde<unknown>, countFold)
  }

  /** Combines each key's values per window with `reducer(aggregate, value)`; the first value is the start. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: WindowedMaterialized<K, V> = {},
  ): WindowedKTable<K, V, V> {
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
  ): WindowedKTable<K, V, VA> {
    return this.#aggregate('aggregate', materialized, DEFAULT_SERDE, aggregateFold(initializer, aggregator))
  }

  #aggregate<VA>(
    operation: string,
    materialized: WindowedMaterialized<K, VA>,
    defaultValueSerde: Serde<unknown>,
    fold: Fold,
  ): WindowedKTable<K, V, VA> {
    const options = parseWindowedOptions(materialized, operation)
    const graph = this.#graph
    const windows = this.#windows
    const storeName = options.name ?? graph.name('KSTREAM-AGGREGATE-STATE-STORE')
    const metaName = `${storeName}-meta`
    const keySerde = options.keySerde ?? this.#keySerde
    const valueSerde = options.valueSerde ?? defaultValueSerde
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
    addMetaStore(graph, metaName)
    const node = addWindowedNode({
      graph,
      parent,
      stores: [storeName],
      metaName,
      options,
      bind: (context) => timeWindowsKind(context.windowStore(storeName), windows, fold),
    })
    return new WindowedKTable<K, V, VA>(
      graph,
      node,
      WindowedSerdes.timeWindowed(keySerde) as Serde<unknown>,
      valueSerde,
      storeName,
      { keySerde: this.#keySerde, valueSerde: this.#valueSerde },
    )
  }
}

/** The `<name>-meta` store: stream time and emit progress (numbers under string keys). */
export function addMetaStore(graph: Graph, metaName: string): void {
  graph.addStore({
    name: metaName,
    keySerde: Serdes.String as Serde<unknown>,
    valueSerde: Serdes.Long as Serde<unknown>,
  })
}

/**
 * Emits a window store's closed windows by ascending start, then key: every window starting in
 * (afterMs, throughMs], with its end as `endOf(start)`.
 */
export function emitClosedWindows(
  store: ReturnType<ProcessorContext['windowStore']>,
  endOf: (startMs: number) => number,
  afterMs: number,
  throughMs: number,
  emit: (record: { key: unknown; value: unknown; timestampMs: number }) => void,
): void {
  // Collected first: emitting may write to stores, and a lazy scan must not see writes.
  for (const entry of Array.from(store.fetchAll(afterMs + 1, throughMs))) {
    const { startMs } = entry.key.window
    const stamped = entry.value as Stamped<unknown>
    emit({
      key: { key: entry.key.key, window: { startMs, endMs: endOf(startMs) } },
      value: stamped.value,
      timestampMs: stamped.timestampMs,
    })
  }
}

function timeWindowsKind(
  store: ReturnType<ProcessorContext['windowStore']>,
  windows: TimeWindows,
  fold: Fold,
): WindowedKind {
  return {
    emittedKey: 'emittedThroughStartMs',
    // A window [s, s + size) is closed once streamTime ≥ s + size + grace.
    lastClosed: (streamTimeMs) => streamTimeMs - windows.sizeMs - windows.graceMs,
    emitClosed: (afterMs, throughMs, emit) => {
      emitClosedWindows(store, (startMs) => startMs + windows.sizeMs, afterMs, throughMs, emit)
    },
    process: (r, streamTimeMs, emit, emittedThroughMs) => {
      const open = windows.windowsFor(r.timestampMs).filter((w) => !windows.isClosed(w, streamTimeMs))
      if (open.length === 0) return false
      for (const window of open) {
        const current = store.fetch(r.key, window.startMs) as Stamped<unknown> | undefined
        const stamped: Stamped<unknown> = {
          timestampMs: Math.max(current?.timestampMs ?? r.timestampMs, r.timestampMs),
          value: fold(r.key, r.value, current?.value),
        }
        store.put(r.key, stamped, window.startMs)
        if (emittedThroughMs === undefined) {
          emit({
            key: { key: r.key, window },
            value: stamped.value,
            oldValue: current?.value ?? null,
            timestampMs: stamped.timestampMs,
          })
        }
      }
      return true
    },
  }
}
