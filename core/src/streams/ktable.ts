import type { Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import { DEFAULT_SERDE, INTERNALS, type Graph, type Materialized, type TableInternals } from './graph.ts'
import { tableTableJoin, type ValueJoiner } from './joins.ts'
import { KStream } from './kstream.ts'

/**
 * A changelog: the latest value per key. Its records are changes — `value` the new value (null: the
 * key was deleted), `oldValue` the previous one (null: absent). Materialized tables keep the values
 * in a queryable key-value store.
 */
export class KTable<K, V> {
  readonly #graph: Graph
  readonly #node: string
  readonly #keySerde: Serde<unknown>
  readonly #valueSerde: Serde<unknown>
  readonly #repartitionRequired: boolean
  /**
   * The name to query the table's store by (VigilStreams.store, TopologyTestDriver.getKeyValueStore);
   * undefined for a table that is not materialized (e.g. filter() without a name).
   */
  readonly queryableStoreName: string | undefined

  /** Internal: from aggregations, toTable(), StreamsBuilder.table() and table operations. */
  constructor(
    graph: Graph,
    node: string,
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    store: string | undefined,
    repartitionRequired = false,
  ) {
    this.#graph = graph
    this.#node = node
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.queryableStoreName = store
    this.#repartitionRequired = repartitionRequired
  }

  /** Internal: this table's place in the graph, for the DSL's own modules. */
  [INTERNALS](): TableInternals {
    return {
      graph: this.#graph,
      node: this.#node,
      keySerde: this.#keySerde,
      valueSerde: this.#valueSerde,
      repartitionRequired: this.#repartitionRequired,
      queryableStoreName: this.queryableStoreName,
    }
  }

  static #from<K, V>(internals: TableInternals): KTable<K, V> {
    const { graph, node, keySerde, valueSerde, queryableStoreName, repartitionRequired } = internals
    return new KTable<K, V>(
      graph,
      node,
      keySerde ?? DEFAULT_SERDE,
      valueSerde ?? DEFAULT_SERDE,
      queryableStoreName,
      repartitionRequired,
    )
  }

  /** Every update of the table as a record (key, new value; null for a deletion). */
  toStream(): KStream<K, V> {
    const name = this.#graph.processor('KTABLE-TOSTREAM', [this.#node], () => (r, forward) => {
      forward({ key: r.key, value: r.value, timestampMs: r.timestampMs })
    })
    return new KStream<K, V>(this.#graph, name, this.#keySerde, this.#valueSerde, false)
  }

  /** Inner join with another table on equal keys: a row wherever both have the key. */
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    materialized: Materialized<K, VR> = {},
  ): KTable<K, VR> {
    return this.#join('inner', other, joiner, materialized)
  }

  /** Left join with another table: a row wherever this table has the key (otherValue null if absent). */
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    materialized: Materialized<K, VR> = {},
  ): KTable<K, VR> {
    return this.#join('left', other, joiner, materialized)
  }

  /** Outer join with another table: a row wherever either has the key (null for the absent side). */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    materialized: Materialized<K, VR> = {},
  ): KTable<K, VR> {
    return this.#join('outer', other, joiner, materialized)
  }

  #join<VO, VR>(
    kind: 'inner' | 'left' | 'outer',
    other: KTable<K, VO>,
    joiner: unknown,
    materialized: Materialized<K, VR>,
  ): KTable<K, VR> {
    if (!((other as unknown) instanceof KTable)) {
      throw new StreamsError('INVALID_ARGUMENT', `a table ${kind} join needs another KTable`)
    }
    if (typeof joiner !== 'function') {
      throw new StreamsError('INVALID_ARGUMENT', `table ${kind} join needs a joiner function`)
    }
    return KTable.#from(
      tableTableJoin(
        this[INTERNALS](),
        other[INTERNALS](),
        joiner as ValueJoiner,
        kind,
        materialized as Materialized<unknown, unknown>,
      ),
    )
  }
}
