import { Serdes, type KeyValue, type Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import { checkTopic, materializedSchema, parseOrThrow, serdesSchema } from './options.ts'
import {
  Topology,
  type KeyValueStoreDef,
  type ProcessFn,
  type ProcessorContext,
  type StreamRecord,
  type TopologyNode,
} from './topology.ts'

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

const DEFAULT_SERDE = Serdes.String as Serde<unknown>

class Graph {
  readonly nodes: TopologyNode[] = []
  readonly stores: KeyValueStoreDef[] = []
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

  addStore(store: KeyValueStoreDef): void {
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

  /** The topology as built so far; the builder may keep growing, later builds include more. */
  build(): Topology {
    return new Topology([...this.#graph.nodes], [...this.#graph.stores])
  }
}

type Predicate<K, V> = (key: K, value: V) => boolean

function passThrough(): ProcessFn {
  return (record, forward) => {
    forward(record)
  }
}

/** An unbounded stream of key-value records. Every operation returns a new stream; none mutate this one. */
export class KStream<K, V> {
  readonly #graph: Graph
  readonly #node: string
  readonly #keySerde: Serde<unknown> | undefined
  readonly #valueSerde: Serde<unknown> | undefined
  readonly #repartitionRequired: boolean

  /** Internal: streams come from StreamsBuilder.stream() and the operations on a stream. */
  constructor(
    graph: Graph,
    node: string,
    keySerde: Serde<unknown> | undefined,
    valueSerde: Serde<unknown> | undefined,
    repartitionRequired: boolean,
  ) {
    this.#graph = graph
    this.#node = node
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.#repartitionRequired = repartitionRequired
  }

  /** The processor node that produces this stream (as named in Topology.describe()). */
  get nodeName(): string {
    return this.#node
  }

  #derive<KR, VR>(
    prefix: string,
    create: () => ProcessFn,
    change: { key: boolean; value: boolean },
  ): KStream<KR, VR> {
    const name = this.#graph.processor(prefix, [this.#node], create)
    return new KStream<KR, VR>(
      this.#graph,
      name,
      change.key ? undefined : this.#keySerde,
      change.value ? undefined : this.#valueSerde,
      this.#repartitionRequired || change.key,
    )
  }

  /** Keeps the records for which `predicate` is true. */
  filter(predicate: Predicate<K, V>): KStream<K, V> {
    return this.#derive(
      'KSTREAM-FILTER',
      () => (r, forward) => {
        if (predicate(r.key as K, r.value as V)) forward(r)
      },
      { key: false, value: false },
    )
  }

  /** Drops the records for which `predicate` is true. */
  filterNot(predicate: Predicate<K, V>): KStream<K, V> {
    return this.#derive(
      'KSTREAM-FILTER',
      () => (r, forward) => {
        if (!predicate(r.key as K, r.value as V)) forward(r)
      },
      { key: false, value: false },
    )
  }

  /** One record out per record in, with a new key and value (a later aggregation repartitions). */
  map<KR, VR>(mapper: (key: K, value: V) => KeyValue<KR, VR>): KStream<KR, VR> {
    return this.#derive(
      'KSTREAM-MAP',
      () => (r, forward) => {
        const out = mapper(r.key as K, r.value as V)
        forward({ key: out.key, value: out.value, timestampMs: r.timestampMs })
      },
      { key: true, value: true },
    )
  }

  /** A new value per record; the key is kept (no repartition needed). */
  mapValues<VR>(mapper: (value: V, key: K) => VR): KStream<K, VR> {
    return this.#derive(
      'KSTREAM-MAPVALUES',
      () => (r, forward) => {
        forward({ key: r.key, value: mapper(r.value as V, r.key as K), timestampMs: r.timestampMs })
      },
      { key: false, value: true },
    )
  }

  /** Zero or more records out per record in, each with its own key and value. */
  flatMap<KR, VR>(mapper: (key: K, value: V) => Iterable<KeyValue<KR, VR>>): KStream<KR, VR> {
    return this.#derive(
      'KSTREAM-FLATMAP',
      () => (r, forward) => {
        for (const out of mapper(r.key as K, r.value as V)) {
          forward({ key: out.key, value: out.value, timestampMs: r.timestampMs })
        }
      },
      { key: true, value: true },
    )
  }

  /** Zero or more values out per record in, each with the input's key. */
  flatMapValues<VR>(mapper: (value: V, key: K) => Iterable<VR>): KStream<K, VR> {
    return this.#derive(
      'KSTREAM-FLATMAPVALUES',
      () => (r, forward) => {
        for (const value of mapper(r.value as V, r.key as K)) {
          forward({ key: r.key, value, timestampMs: r.timestampMs })
        }
      },
      { key: false, value: true },
    )
  }

  /** Replaces the key (a later aggregation repartitions by it). */
  selectKey<KR>(selector: (key: K, value: V) => KR): KStream<KR, V> {
    return this.#derive(
      'KSTREAM-KEY-SELECT',
      () => (r, forward) => {
        forward({ key: selector(r.key as K, r.value as V), value: r.value, timestampMs: r.timestampMs })
      },
      { key: true, value: false },
    )
  }

  /** Calls `action` with each record and passes the record on unchanged. */
  peek(action: (key: K, value: V) => void): KStream<K, V> {
    return this.#derive(
      'KSTREAM-PEEK',
      () => (r, forward) => {
        action(r.key as K, r.value as V)
        forward(r)
      },
      { key: false, value: false },
    )
  }

  /** Calls `action` with each record; a terminal operation. */
  foreach(action: (key: K, value: V) => void): void {
    this.#graph.processor('KSTREAM-FOREACH', [this.#node], () => (r) => {
      action(r.key as K, r.value as V)
    })
  }

  /**
   * Routes each record to the first branch whose predicate it satisfies; a record matching none is
   * dropped (pass `() => true` last for a default branch). Returns one stream per predicate, in order.
   */
  branch(...predicates: Predicate<K, V>[]): KStream<K, V>[] {
    if (predicates.length === 0) {
      throw new StreamsError('INVALID_ARGUMENT', 'branch() needs at least one predicate')
    }
    const children: string[] = []
    const split = this.#graph.processor('KSTREAM-BRANCH', [this.#node], () => (r, forward) => {
      const index = predicates.findIndex((p) => p(r.key as K, r.value as V))
      if (index >= 0) forward(r, children[index])
    })
    return predicates.map(() => {
      const name = this.#graph.processor('KSTREAM-BRANCHCHILD', [split], passThrough)
      children.push(name)
      return new KStream<K, V>(this.#graph, name, this.#keySerde, this.#valueSerde, this.#repartitionRequired)
    })
  }

  /**
   * Kafka Streams' split(): declare branches with `.branch(predicate, { name })`, then end with
   * `.defaultBranch()` or `.noDefaultBranch()`, which return the branches by name. Each record goes
   * to the first branch whose predicate it satisfies, else to the default branch (or is dropped).
   * A branch is named `<split name><branch name>`; an unnamed branch by its position from "1", the
   * default branch "0".
   */
  split(options: { readonly name?: string } = {}): BranchedKStream<K, V> {
    const predicates: Predicate<K, V>[] = []
    const children: string[] = []
    const split = this.#graph.processor('KSTREAM-BRANCH', [this.#node], () => (r, forward) => {
      const index = predicates.findIndex((p) => p(r.key as K, r.value as V))
      if (index >= 0) forward(r, children[index])
    })
    return new BranchedKStream<K, V>(options.name ?? '', (predicate) => {
      predicates.push(predicate)
      const name = this.#graph.processor('KSTREAM-BRANCHCHILD', [split], passThrough)
      children.push(name)
      return new KStream<K, V>(this.#graph, name, this.#keySerde, this.#valueSerde, this.#repartitionRequired)
    })
  }

  /** Both streams' records, each in its own order (no order between the two). */
  merge(other: KStream<K, V>): KStream<K, V> {
    if (other.#graph !== this.#graph) {
      throw new StreamsError('INVALID_TOPOLOGY', 'merge() needs two streams of the same StreamsBuilder')
    }
    const name = this.#graph.processor('KSTREAM-MERGE', [this.#node, other.#node], passThrough)
    const same = <T>(a: T, b: T): T | undefined => (a === b ? a : undefined)
    return new KStream<K, V>(
      this.#graph,
      name,
      same(this.#keySerde, other.#keySerde),
      same(this.#valueSerde, other.#valueSerde),
      this.#repartitionRequired || other.#repartitionRequired,
    )
  }

  /**
   * Writes every record to `topic` (which must exist when the topology starts), partitioned by the
   * murmur2 hash of its serialized key as Kafka's default partitioner does (null key: round-robin).
   * Serdes: the given ones, else the stream's own where known, else Serdes.String.
   */
  to(topic: string, options: SerdeOptions<K, V> = {}): void {
    const parsed = parseOrThrow(serdesSchema, options, `options of to(${topic})`)
    this.#graph.add({
      kind: 'sink',
      name: this.#graph.name('KSTREAM-SINK'),
      parents: [this.#node],
      topic: checkTopic(topic),
      internal: false,
      keySerde: parsed.keySerde ?? this.#keySerde ?? DEFAULT_SERDE,
      valueSerde: parsed.valueSerde ?? this.#valueSerde ?? DEFAULT_SERDE,
    })
  }

  /**
   * Groups by the current key. If an earlier operation may have changed the key, the aggregation
   * first repartitions through `<applicationId>-<name>-repartition` (serdes as given here).
   */
  groupByKey(options: SerdeOptions<K, V> = {}): KGroupedStream<K, V> {
    const parsed = parseOrThrow(serdesSchema, options, 'options of groupByKey()')
    return new KGroupedStream<K, V>(
      this.#graph,
      this.#node,
      parsed.keySerde ?? this.#keySerde ?? DEFAULT_SERDE,
      parsed.valueSerde ?? this.#valueSerde ?? DEFAULT_SERDE,
      this.#repartitionRequired,
    )
  }

  /** Groups by a new key; the aggregation repartitions by it so each key's state lives in one task. */
  groupBy<KR>(selector: (key: K, value: V) => KR, options: SerdeOptions<KR, V> = {}): KGroupedStream<KR, V> {
    const parsed = parseOrThrow(serdesSchema, options, 'options of groupBy()')
    const name = this.#graph.processor('KSTREAM-KEY-SELECT', [this.#node], () => (r, forward) => {
      forward({ key: selector(r.key as K, r.value as V), value: r.value, timestampMs: r.timestampMs })
    })
    return new KGroupedStream<KR, V>(
      this.#graph,
      name,
      parsed.keySerde ?? DEFAULT_SERDE,
      parsed.valueSerde ?? this.#valueSerde ?? DEFAULT_SERDE,
      true,
    )
  }
}

/** The branches of `KStream.split()` being declared. */
export class BranchedKStream<K, V> {
  readonly #prefix: string
  readonly #add: (predicate: Predicate<K, V>) => KStream<K, V>
  readonly #branches = new Map<string, KStream<K, V>>()
  #count = 0
  #ended = false

  /** Internal: from KStream.split(). */
  constructor(prefix: string, add: (predicate: Predicate<K, V>) => KStream<K, V>) {
    this.#prefix = prefix
    this.#add = add
  }

  /** Adds a branch for the records `predicate` accepts that no earlier branch took. */
  branch(predicate: Predicate<K, V>, options: { readonly name?: string } = {}): this {
    const position = ++this.#count
    this.#put(options.name ?? String(position), predicate)
    return this
  }

  /** Ends the split with a branch for every record no other branch took; returns the branches by name. */
  defaultBranch(options: { readonly name?: string } = {}): Map<string, KStream<K, V>> {
    this.#put(options.name ?? '0', () => true)
    return this.noDefaultBranch()
  }

  /** Ends the split; records no branch took are dropped. Returns the branches by name. */
  noDefaultBranch(): Map<string, KStream<K, V>> {
    this.#ended = true
    return new Map(this.#branches)
  }

  #put(name: string, predicate: Predicate<K, V>): void {
    const full = this.#prefix + name
    if (this.#ended) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `split() already ended; add branch ${full} before defaultBranch()`,
      )
    }
    if (this.#branches.has(full)) {
      throw new StreamsError('INVALID_TOPOLOGY', `split() has two branches named ${full}; name them apart`)
    }
    this.#branches.set(full, this.#add(predicate))
  }
}

/** A stream grouped by key, ready to aggregate into a KTable. */
export class KGroupedStream<K, V> {
  readonly #graph: Graph
  readonly #node: string
  readonly #keySerde: Serde<unknown>
  readonly #valueSerde: Serde<unknown>
  readonly #repartitionRequired: boolean

  /** Internal: from KStream.groupByKey() / groupBy(). */
  constructor(
    graph: Graph,
    node: string,
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    repartitionRequired: boolean,
  ) {
    this.#graph = graph
    this.#node = node
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.#repartitionRequired = repartitionRequired
  }

  /** The number of records per key (Serdes.Long in the store). Records with a null key are dropped. */
  count(materialized: Materialized<K, number> = {}): KTable<K, number> {
    return this.#aggregate('count', materialized, Serdes.Long as Serde<unknown>, (_key, _value, current) =>
      current === undefined ? 1 : (current as number) + 1,
    )
  }

  /** Combines each key's values with `reducer(aggregate, value)`; the first value is the start. */
  reduce(reducer: (aggregate: V, value: V) => V, materialized: Materialized<K, V> = {}): KTable<K, V> {
    return this.#aggregate('reduce', materialized, this.#valueSerde, (_key, value, current) =>
      current === undefined ? value : reducer(current as V, value as V),
    )
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
    return this.#aggregate('aggregate', materialized, DEFAULT_SERDE, (key, value, current) =>
      aggregator(key as K, value as V, current === undefined ? initializer() : (current as VA)),
    )
  }

  #aggregate<VA>(
    operation: string,
    materialized: Materialized<K, VA>,
    defaultValueSerde: Serde<unknown>,
    fold: (key: unknown, value: unknown, current: unknown) => unknown,
  ): KTable<K, VA> {
    const parsed = parseOrThrow(materializedSchema, materialized, `materialized options of ${operation}()`)
    const graph = this.#graph
    const storeName = parsed.name ?? graph.name('KSTREAM-AGGREGATE-STATE-STORE')
    const keySerde = parsed.keySerde ?? this.#keySerde
    const valueSerde = parsed.valueSerde ?? defaultValueSerde
    let parent = this.#node
    if (this.#repartitionRequired) {
      const topic = `${storeName}-repartition`
      const serdes = { keySerde, valueSerde: this.#valueSerde }
      graph.add({ kind: 'sink', name: `${topic}-sink`, parents: [parent], topic, internal: true, ...serdes })
      parent = `${topic}-source`
      graph.add({ kind: 'source', name: parent, topic, internal: true, ...serdes })
    }
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
          const next = fold(r.key, r.value, store.get(r.key))
          store.put(r.key, next)
          forward({ key: r.key, value: next, timestampMs: r.timestampMs })
        }
      },
    })
    return new KTable<K, VA>(graph, name, keySerde, valueSerde, storeName)
  }
}

/** A changelog view of an aggregation: the latest value per key, kept in a queryable store. */
export class KTable<K, V> {
  readonly #graph: Graph
  readonly #node: string
  readonly #keySerde: Serde<unknown>
  readonly #valueSerde: Serde<unknown>
  /** The name to query the table's store by (TopologyTestDriver.getKeyValueStore). */
  readonly queryableStoreName: string

  /** Internal: from KGroupedStream aggregations. */
  constructor(
    graph: Graph,
    node: string,
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    store: string,
  ) {
    this.#graph = graph
    this.#node = node
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.queryableStoreName = store
  }

  /** Every update of the table as a record (key, new value), one per input record that changed it. */
  toStream(): KStream<K, V> {
    const name = this.#graph.processor('KTABLE-TOSTREAM', [this.#node], passThrough)
    return new KStream<K, V>(this.#graph, name, this.#keySerde, this.#valueSerde, false)
  }
}
