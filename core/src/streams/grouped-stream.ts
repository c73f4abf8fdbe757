import { Serdes, type Serde } from '../state/index.ts'
import { materializedSchema, parseOrThrow } from './options.ts'
import {
  aggregateFold,
  countFold,
  DEFAULT_SERDE,
  reduceFold,
  aggregationInput,
  type Fold,
  type Graph,
  type GroupedSource,
  type Materialized,
} from './graph.ts'
import { KTable } from './ktable.ts'
import { SessionWindowedKStream } from './session-windowed.ts'
import { SlidingWindowedKStream } from './sliding-windowed.ts'
import { TimeWindowedKStream } from './time-windowed.ts'
import { wrongWindows } from './windowed-common.ts'
import { SessionWindows, SlidingWindows, TimeWindows } from './windows.ts'
import type { ProcessorContext, StreamRecord } from './topology.ts'

/** A stream grouped by key, ready to aggregate into a KTable. */
export class KGroupedStream<K, V> {
  readonly #source: GroupedSource

  /** Internal: from KStream.groupByKey() / groupBy(). */
  constructor(
    graph: Graph,
    node: string,
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    repartitionRequired: boolean,
  ) {
    this.#source = { graph, node, keySerde, valueSerde, repartitionRequired }
  }

  /**
   * Aggregates per key and window instead of per key: TimeWindows (tumbling or hopping) give a
   * TimeWindowedKStream, SlidingWindows a SlidingWindowedKStream, SessionWindows a
   * SessionWindowedKStream. Throws INVALID_ARGUMENT for anything else.
   */
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>
  windowedBy(windows: SlidingWindows): SlidingWindowedKStream<K, V>
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>
  windowedBy(
    windows: TimeWindows | SlidingWindows | SessionWindows,
  ): TimeWindowedKStream<K, V> | SlidingWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    const source = this.#source
    if (windows instanceof TimeWindows) return new TimeWindowedKStream<K, V>(source, windows)
    if (windows instanceof SlidingWindows) return new SlidingWindowedKStream<K, V>(source, windows)
    if (windows instanceof SessionWindows) return new SessionWindowedKStream<K, V>(source, windows)
    throw wrongWindows()
  }

  /** The number of records per key (Serdes.Long in the store). Records with a null key are dropped. */
  count(materialized: Materialized<K, number> = {}): KTable<K, number> {
    return this.#aggregate('count', materialized, Serdes.Long as Serde<unknown>, countFold)
  }

  /** Combines each key's values with `reducer(aggregate, value)`; the first value is the start. */
  reduce(reducer: (aggregate: V, value: V) => V, materialized: Materialized<K, V> = {}): KTable<K, V> {
    return this.#aggregate('reduce', materialized, this.#source.valueSerde, reduceFold(reducer))
  }

  /**
   * Folds each key's values into `aggregator(key, value, aggregate)`, starting from `initializer()`.
   * `valueSerde` (default Serdes.String) serializes the aggregate in the store.
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> = {},
  ): KTable<K, VA> {
    return this.#aggregate('aggregate', materialized, DEFAULT_SERDE, aggregateFold(initializer, aggregator))
  }

  #aggregate<VA>(
    operation: string,
    materialized: Materialized<K, VA>,
    defaultValueSerde: Serde<unknown>,
    fold: Fold,
  ): KTable<K, VA> {
    const parsed = parseOrThrow(materializedSchema, materialized, `materialized options of ${operation}()`)
    const { graph } = this.#source
    const { storeName, keySerde, valueSerde, parent } = aggregationInput(
      this.#source,
      parsed,
      defaultValueSerde,
    )
    graph.addStore({ name: storeName, keySerde, valueSerde })
    const name = graph.name('KSTREAM-AGGREGATE')
    graph.add({
      kind: 'processor',
      name,
      parents: [parent],
      stores: [storeName],
      create: (context: ProcessorContext) => {
        const store = context.keyValueStore(storeName)
        return (r: StreamRecord, forward) => {
          if (r.key === null || r.key === undefined) {
            context.dropped('null key in aggregation')
            return
          }
          const current = store.get(r.key)
          const next = fold(r.key, r.value, current)
          store.put(r.key, next)
          forward({ key: r.key, value: next, oldValue: current ?? null, timestampMs: r.timestampMs })
        }
      },
    })
    return new KTable<K, VA>(graph, name, keySerde, valueSerde, storeName)
  }
}
