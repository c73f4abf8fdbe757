import { checkTopic, parseOrThrow, storeSpecSchema, streamOptionsSchema } from './options.ts'
import { DEFAULT_SERDE, Graph, type Materialized, type SerdeOptions } from './graph.ts'
import { KStream } from './kstream.ts'
import type { KTable } from './ktable.ts'
import { storeDefOf, type StateStoreSpec } from './processor.ts'
import { Topology, type TimestampExtractor } from './topology.ts'

/** Options of `stream(topic, …)`: serdes, and where record timestamps come from (default 'event'). */
export interface StreamOptions<K, V> extends SerdeOptions<K, V> {
  readonly timestampExtractor?: TimestampExtractor<K, V>
}

/** Builds a topology with the DSL; `build()` returns the Topology to run. */
export class StreamsBuilder {
  readonly #graph = new Graph()

  /**
   * A stream of the records of `topic`, in offset order per partition. Serdes default to
   * Serdes.String; a record whose key is null keeps a null key (the serde is not asked).
   * `timestampExtractor` sets each record's timestamp (event time): see TimestampExtractor.
   */
  stream<K, V>(topic: string, options: StreamOptions<K, V> = {}): KStream<K, V> {
    const parsed = parseOrThrow(streamOptionsSchema, options, `options of stream(${topic})`)
    const name = this.#graph.name('KSTREAM-SOURCE')
    const keySerde = parsed.keySerde ?? DEFAULT_SERDE
    const valueSerde = parsed.valueSerde ?? DEFAULT_SERDE
    const extractor = options.timestampExtractor as TimestampExtractor<unknown, unknown> | undefined
    this.#graph.add({
      kind: 'source',
      name,
      topic: checkTopic(topic),
      internal: false,
      keySerde,
      valueSerde,
      ...(extractor === undefined || extractor === 'event' ? {} : { timestampExtractor: extractor }),
    })
    return new KStream<K, V>(this.#graph, name, keySerde, valueSerde, false)
  }

  /**
   * Registers a store for the Processor API (Kafka's `addStateStore`): a persistent LMDB store per
   * task, committed with the task's offsets like the DSL's stores. Returns `spec` as the typed handle
   * to pass to `process(supplier, { stores: [spec] })` and `context.getStateStore(spec)`.
   * Throws INVALID_ARGUMENT for a bad spec, INVALID_TOPOLOGY if the name is taken.
   */
  addStateStore<S extends StateStoreSpec>(spec: S): S {
    const parsed = parseOrThrow(storeSpecSchema, spec, 'store spec of addStateStore()')
    this.#graph.addStore(storeDefOf(parsed))
    return spec
  }

  /**
   * The records of `topic` as a table: the latest value per key (a null value deletes it), kept in
   * a key-value store named by `{ name }`. Serdes as for stream(); the materialized ones default to them.
   */
  table<K, V>(topic: string, materialized: Materialized<K, V> & SerdeOptions<K, V> = {}): KTable<K, V> {
    const { keySerde, valueSerde } = materialized
    const stream = this.stream<K, V>(topic, {
      ...(keySerde === undefined ? {} : { keySerde }),
      ...(valueSerde === undefined ? {} : { valueSerde }),
    })
    return stream.toTable(materialized)
  }

  /** The topology as built so far; the builder may keep growing, later builds include more. */
  build(): Topology {
    return new Topology([...this.#graph.nodes], [...this.#graph.stores])
  }
}
