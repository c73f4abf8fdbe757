import { Serdes, type Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import type { ProcessFn, StoreDef, TopologyNode } from './topology.ts'

/*
 * The DSL: KStream/KGroupedStream/KTable only append nodes to their builder's graph; nothing runs
 * until a StreamsEngine (or TopologyTestDriver) instantiates the built Topology per task.
 *
 * Serdes default to Serdes.String wherever they are not given and cannot be inherited: an operation
 * that may change the key (map, flatMap, selectKey, groupBy) or the value (map*, flatMap*) forgets
 * the corresponding serde, as Kafka Streams falls back to its configured default serdes.
 */

/** Serdes for where records enter or leave through a topic. Both default to Serdes.String. */
export interface SerdeOptions<K, V> {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
}

/**
 * How an aggregation is materialized: `name` names its key-value store (queryable by that name) and
 * its repartition topic `<applicationId>-<name>-repartition`; generated when absent.
 */
export interface Materialized<K, V> {
  readonly name?: string
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
}

export const DEFAULT_SERDE = Serdes.String as Serde<unknown>

export class Graph {
  readonly nodes: TopologyNode[] = []
  readonly stores: StoreDef[] = []
  readonly #sourceTopics = new Set<string>()
  #index = 0

  /** Kafka Streams' generated names: PREFIX-0000000007, numbered in creation order. */
  name(prefix: string): string {
    return `${prefix}-${String(this.#index++).padStart(10, '0')}`
  }

  add(node: TopologyNode): void {
    if (node.kind === 'source') {
      if (this.#sourceTopics.has(node.topic)) {
        throw new StreamsError(
          'INVALID_TOPOLOGY',
          `topic ${node.topic} is already a source of this topology; reuse its KStream (or merge) instead of calling stream() twice`,
        )
      }
      this.#sourceTopics.add(node.topic)
    }
    this.nodes.push(node)
  }

  addStore(store: StoreDef): void {
    if (this.stores.some((s) => s.name === store.name)) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `store name ${store.name} is used twice; give each aggregation its own { name }`,
      )
    }
    this.stores.push(store)
  }

  processor(prefix: string, parents: readonly string[], create: () => ProcessFn): string {
    const name = this.name(prefix)
    this.add({ kind: 'processor', name, parents, stores: [], create })
    return name
  }
}

export type Predicate<K, V> = (key: K, value: V) => boolean

export function passThrough(): ProcessFn {
  return (record, forward) => {
    forward(record)
  }
}

/**
 * Kafka Streams' repartition before an aggregation whose key may have changed: through
 * `<name>-repartition`, so each key's state lives in one task. Returns the node to aggregate from.
 */
export function repartitionIfRequired(
  graph: Graph,
  node: string,
  storeName: string,
  required: boolean,
  serdes: { keySerde: Serde<unknown>; valueSerde: Serde<unknown> },
): string {
  if (!required) return node
  const topic = `${storeName}-repartition`
  graph.add({ kind: 'sink', name: `${topic}-sink`, parents: [node], topic, internal: true, ...serdes })
  const source = `${topic}-source`
  graph.add({ kind: 'source', name: source, topic, internal: true, ...serdes })
  return source
}

/** How one record changes an aggregate (`undefined` before the first record of a key or window). */
export type Fold = (key: unknown, value: unknown, current: unknown) => unknown

export const countFold: Fold = (_key, _value, current) =>
  current === undefined ? 1 : (current as number) + 1

export function reduceFold<V>(reducer: (aggregate: V, value: V) => V): Fold {
  return (_key, value, current) => (current === undefined ? value : reducer(current as V, value as V))
}

export function aggregateFold<VA>(
  initializer: () => VA,
  aggregator: (key: never, value: never, aggregate: VA) => VA,
): Fold {
  return (key, value, current) =>
    aggregator(key as never, value as never, current === undefined ? initializer() : (current as VA))
}

/**
 * Internal access to a stream's or table's place in the graph, for the DSL's own modules (joins,
 * windowed aggregations); not exported from the package.
 */
export const INTERNALS = Symbol('vigil.streams.internals')

export interface StreamInternals {
  readonly graph: Graph
  readonly node: string
  readonly keySerde: Serde<unknown> | undefined
  readonly valueSerde: Serde<unknown> | undefined
  readonly repartitionRequired: boolean
}

/** A table's internals: a stream of change records (see StreamRecord.oldValue) plus its store, if materialized. */
export interface TableInternals extends StreamInternals {
  readonly queryableStoreName: string | undefined
}

/** Internal: a grouped stream as its aggregations see it (KGroupedStream and its windowed streams). */
export interface GroupedSource {
  readonly graph: Graph
  readonly node: string
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
  /** A key changed upstream: aggregations repartition by key first. */
  readonly repartitionRequired: boolean
}

/** Where an aggregation keeps its state and what feeds it. */
export interface AggregationInput {
  readonly storeName: string
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
  /** The node the aggregation reads from: the grouped stream's, or its repartition topic's source. */
  readonly parent: string
}

/**
 * What an aggregation's materialized options choose: its store (`name`, or a generated one) and
 * serdes (`keySerde`, or the grouped stream's; `valueSerde`, or `defaultValueSerde`); and its parent,
 * after repartitioning through a topic named after the store when the grouped stream requires it.
 */
export function aggregationInput(
  source: GroupedSource,
  options: {
    readonly name?: string | undefined
    readonly keySerde?: Serde<unknown> | undefined
    readonly valueSerde?: Serde<unknown> | undefined
  },
  defaultValueSerde: Serde<unknown>,
): AggregationInput {
  const { graph } = source
  const storeName = options.name ?? graph.name('KSTREAM-AGGREGATE-STATE-STORE')
  const keySerde = options.keySerde ?? source.keySerde
  const valueSerde = options.valueSerde ?? defaultValueSerde
  const parent = repartitionIfRequired(graph, source.node, storeName, source.repartitionRequired, {
    keySerde,
    valueSerde: source.valueSerde,
  })
  return { storeName, keySerde, valueSerde, parent }
}
