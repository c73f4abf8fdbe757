import type { KeyValue, Serde, Windowed } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import {
  DEFAULT_SERDE,
  INTERNALS,
  type Graph,
  type Materialized,
  type SerdeOptions,
  type TableInternals,
} from './graph.ts'
import { groupTableBy, GroupedTableAggregations } from './grouped-table.ts'
import { materializedSchema, parseOrThrow, serdesSchema } from './options.ts'
import type { ProcessorContext, StreamRecord } from './topology.ts'
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

  /**
   * The rows for which `predicate` holds. A row that stops satisfying it is deleted (a change to
   * null), as in Kafka Streams. Materialized (queryable) only when `{ name }` is given.
   */
  filter(predicate: (key: K, value: V) => boolean, materialized: Materialized<K, V> = {}): KTable<K, V> {
    return this.#transform('KTABLE-FILTER', materialized, this.#valueSerde, (key, value) =>
      predicate(key as K, value as V) ? value : null,
    )
  }

  /** The rows for which `predicate` does not hold; see filter(). */
  filterNot(predicate: (key: K, value: V) => boolean, materialized: Materialized<K, V> = {}): KTable<K, V> {
    return this.filter((key, value) => !predicate(key, value), materialized)
  }

  /** Each row's value mapped (deletions stay deletions). Materialized only when `{ name }` is given. */
  mapValues<VR>(mapper: (value: V, key: K) => VR, materialized: Materialized<K, VR> = {}): KTable<K, VR> {
    return this.#transform('KTABLE-MAPVALUES', materialized, DEFAULT_SERDE, (key, value) =>
      mapper(value as V, key as K),
    )
  }

  /**
   * Re-keys rows for an aggregation by `selector(key, value)`; the aggregation always repartitions.
   * Serdes default to Serdes.String for the new key and this table's value serde.
   */
  groupBy<KR, VR>(
    selector: (key: K, value: V) => KeyValue<KR, VR>,
    options: SerdeOptions<KR, VR> = {},
  ): KGroupedTable<KR, VR> {
    const parsed = parseOrThrow(serdesSchema, options, 'options of KTable.groupBy()')
    const node = groupTableBy(
      this[INTERNALS](),
      selector as (key: unknown, value: unknown) => KeyValue<unknown, unknown>,
    )
    return new KGroupedTable<KR, VR>(
      new GroupedTableAggregations(
        this.#graph,
        node,
        parsed.keySerde ?? DEFAULT_SERDE,
        parsed.valueSerde ?? this.#valueSerde,
      ),
    )
  }

  /**
   * A stateless row transformation with Kafka Streams' old/new change semantics: both values are
   * transformed, a change that leaves no trace (both null) is not forwarded; with `{ name }` the
   * result is also kept in a queryable store.
   */
  #transform<VR>(
    prefix: string,
    materialized: Materialized<K, VR>,
    defaultValueSerde: Serde<unknown>,
    transform: (key: unknown, value: unknown) => unknown,
  ): KTable<K, VR> {
    const parsed = parseOrThrow(materializedSchema, materialized, `materialized options of ${prefix}`)
    const graph = this.#graph
    const keySerde = parsed.keySerde ?? this.#keySerde
    const valueSerde = parsed.valueSerde ?? defaultValueSerde
    const storeName = parsed.name
    if (storeName !== undefined) graph.addStore({ name: storeName, keySerde, valueSerde })
    const apply = (key: unknown, value: unknown): unknown =>
      value === null || value === undefined ? null : transform(key, value)
    const name = graph.name(prefix)
    graph.add({
      kind: 'processor',
      name,
      parents: [this.#node],
      stores: storeName === undefined ? [] : [storeName],
      create: (context: ProcessorContext) => {
        const store = storeName === undefined ? undefined : context.keyValueStore(storeName)
        return (r: StreamRecord, forward) => {
          const value = apply(r.key, r.value)
          const oldValue = apply(r.key, r.oldValue)
          if (value === null && oldValue === null) return
          if (store !== undefined) {
            if (value === null) store.delete(r.key)
            else store.put(r.key, value)
          }
          forward({ key: r.key, value, oldValue, timestampMs: r.timestampMs })
        }
      },
    })
    return new KTable<K, VR>(graph, name, keySerde, valueSerde, storeName, this.#repartitionRequired)
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

/** A table re-keyed by `KTable.groupBy`, ready to aggregate; rows move between groups as they change. */
export class KGroupedTable<K, V> {
  readonly #builder: GroupedTableAggregations<K, V>

  /** Internal: from KTable.groupBy(). */
  constructor(builder: GroupedTableAggregations<K, V>) {
    this.#builder = builder
  }

  /** Rows per group (Serdes.Long in the store); a row leaving a group decrements it. */
  count(materialized: Materialized<K, number> = {}): KTable<K, number> {
    return tableOf(this.#builder.count(materialized))
  }

  /**
   * Combines each group's rows: `adder(aggregate, value)` for a row entering the group (its first
   * row is the start), `subtractor(aggregate, value)` for a row leaving it.
   */
  reduce(
    adder: (aggregate: V, value: V) => V,
    subtractor: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
  ): KTable<K, V> {
    return tableOf(this.#builder.reduce(adder, subtractor, materialized))
  }

  /**
   * Folds each group's rows from `initializer()`: `adder(key, value, aggregate)` for a row entering
   * the group, `subtractor(key, value, aggregate)` for a row leaving it. `valueSerde` (default
   * Serdes.String) serializes the aggregate.
   */
  aggregate<VA>(
    initializer: () => VA,
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> = {},
  ): KTable<K, VA> {
    return tableOf(this.#builder.aggregate(initializer, adder, subtractor, materialized))
  }
}

function tableOf<K, V>(internals: TableInternals): KTable<K, V> {
  const { graph, node, keySerde, valueSerde, queryableStoreName } = internals
  return new KTable<K, V>(
    graph,
    node,
    keySerde ?? DEFAULT_SERDE,
    valueSerde ?? DEFAULT_SERDE,
    queryableStoreName,
  )
}

/** The result of a windowed aggregation: a KTable keyed by `Windowed<K>`, plus its late records. */
export class WindowedKTable<K, V, VA> extends KTable<Windowed<K>, VA> {
  readonly #graph: Graph
  readonly #node: { readonly result: string; addLateChild(): string }
  readonly #inputKeySerde: Serde<unknown>
  readonly #inputValueSerde: Serde<unknown>

  /** Internal: from the windowed aggregations. */
  constructor(
    graph: Graph,
    node: { readonly result: string; addLateChild(): string },
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    store: string,
    input: { keySerde: Serde<unknown>; valueSerde: Serde<unknown> },
  ) {
    super(graph, node.result, keySerde, valueSerde, store)
    this.#graph = graph
    this.#node = node
    this.#inputKeySerde = input.keySerde
    this.#inputValueSerde = input.valueSerde
  }

  /**
   * Beyond Kafka Streams: the input records this aggregation dropped as late (all their windows
   * closed), unchanged, in processing order. Call before `build()`; each call adds another stream
   * of the same records.
   */
  lateRecords(): KStream<K, V> {
    const child = this.#node.addLateChild()
    return new KStream<K, V>(this.#graph, child, this.#inputKeySerde, this.#inputValueSerde, false)
  }
}
