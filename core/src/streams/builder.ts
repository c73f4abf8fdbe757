import { checkTopic, parseOrThrow, serdesSchema } from './options.ts'
import { DEFAULT_SERDE, Graph, type Materialized, type SerdeOptions } from './graph.ts'
import { KStream } from './kstream.ts'
import type { KTable } from './ktable.ts'
import { Topology } from './topology.ts'

/** Builds a topology with the DSL; `build()` returns the Topology to run. */
export class StreamsBuilder {
  readonly #graph = new Graph()

  /**
   * A stream of the records of `topic`, in offset order per partition. Serdes default to
   * Serdes.String; a record whose key is null keeps a null key (the serde is not asked).
   */
  stream<K, V>(topic: string, options: SerdeOptions<K, V> = {}): KStream<K, V> {
    const parsed = parseOrThrow(serdesSchema, options, `options of stream(${topic})`)
    const name = this.#graph.name('KSTREAM-SOURCE')
    const keySerde = parsed.keySerde ?? DEFAULT_SERDE
    const valueSerde = parsed.valueSerde ?? DEFAULT_SERDE
    this.#graph.add({ kind: 'source', name, topic: checkTopic(topic), internal: false, keySerde, valueSerde })
    return new KStream<K, V>(this.#graph, name, keySerde, valueSerde, false)
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
