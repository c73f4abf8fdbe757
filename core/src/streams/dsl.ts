import { Serdes, type KeyValue, type Serde, type Windowed } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import {
  checkTopic,
  materializedSchema,
  parseOrThrow,
  serdesSchema,
  windowedMaterializedSchema,
} from './options.ts'
import { stampedSerde, WindowedSerdes, type Stamped } from './windowed-serdes.ts'
import { TimeWindows } from './windows.ts'
import {
  Topology,
  type StoreDef,
  type Forward,
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

/**
 * Kafka Streams' repartition before an aggregation whose key may have changed: through
 * `<name>-repartition`, so each key's state lives in one task. Returns the node to aggregate from.
 */
function repartitionIfRequired(
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
type Fold = (key: unknown, value: unknown, current: unknown) => unknown

const countFold: Fold = (_key, _value, current) => (current === undefined ? 1 : (current as number) + 1)

function reduceFold<V>(reducer: (aggregate: V, value: V) => V): Fold {
  return (_key, value, current) => (current === undefined ? value : reducer(current as V, value as V))
}

function aggregateFold<VA>(
  initializer: () => VA,
  aggregator: (key: never, value: never, aggregate: VA) => VA,
): Fold {
  return (key, value, current) =>
    aggregator(key as never, value as never, current === undefined ? initializer() : (current as VA))
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

  /**
   * Aggregates per key and time window (tumbling or hopping `TimeWindows`) instead of per key: see
   * TimeWindowedKStream. Throws INVALID_ARGUMENT for anything but TimeWindows (sliding and session
   * windowed aggregations are not implemented yet).
   */
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V> {
    if (!((windows as unknown) instanceof TimeWindows)) {
      throw new StreamsError(
        'INVALID_ARGUMENT',
        'windowedBy() takes TimeWindows (tumbling or hopping); sliding and session windowed aggregations are not implemented yet',
      )
    }
    return new TimeWindowedKStream<K, V>(
      this.#graph,
      this.#node,
      this.#keySerde,
      this.#valueSerde,
      this.#repartitionRequired,
      windows,
    )
  }

  /** The number of records per key (Serdes.Long in the store). Records with a null key are dropped. */
  count(materialized: Materialized<K, number> = {}): KTable<K, number> {
    return this.#aggregate('count', materialized, Serdes.Long as Serde<unknown>, countFold)
  }

  /** Combines each key's values with `reducer(aggregate, value)`; the first value is the start. */
  reduce(reducer: (aggregate: V, value: V) => V, materialized: Materialized<K, V> = {}): KTable<K, V> {
    return this.#aggregate('reduce', materialized, this.#valueSerde, reduceFold(reducer))
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
    const graph = this.#graph
    const storeName = parsed.name ?? graph.name('KSTREAM-AGGREGATE-STATE-STORE')
    const keySerde = parsed.keySerde ?? this.#keySerde
    const valueSerde = parsed.valueSerde ?? defaultValueSerde
    const parent = repartitionIfRequired(graph, this.#node, storeName, this.#repartitionRequired, {
      keySerde,
      valueSerde: this.#valueSerde,
    })
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
