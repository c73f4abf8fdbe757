import type { KeyValue, Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import { checkTopic, parseOrThrow, serdesSchema } from './options.ts'
import {
  DEFAULT_SERDE,
  INTERNALS,
  passThrough,
  repartitionIfRequired,
  type Graph,
  type Predicate,
  type SerdeOptions,
  type StreamInternals,
} from './graph.ts'
import { KGroupedStream } from './grouped-stream.ts'
import {
  streamStreamJoin,
  streamTableJoin,
  type Joined,
  type StreamJoined,
  type ValueJoiner,
} from './joins.ts'
import { KTable } from './ktable.ts'
import { addStreamProcessor, type ProcessOptions, type ProcessorSupplier } from './processor.ts'
import { materializedSchema } from './options.ts'
import type { Materialized } from './graph.ts'
import type { ProcessFn, ProcessorContext } from './topology.ts'
import type { JoinWindows } from './windows.ts'

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

  /** Internal: this stream's place in the graph, for the DSL's own modules. */
  [INTERNALS](): StreamInternals {
    return {
      graph: this.#graph,
      node: this.#node,
      keySerde: this.#keySerde,
      valueSerde: this.#valueSerde,
      repartitionRequired: this.#repartitionRequired,
    }
  }

  static #from<K, V>(internals: StreamInternals): KStream<K, V> {
    const { graph, node, keySerde, valueSerde, repartitionRequired } = internals
    return new KStream<K, V>(graph, node, keySerde, valueSerde, repartitionRequired)
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

  /**
   * Windowed inner join with another stream: for each pair of records with equal keys whose
   * timestamps differ by at most the windows' before/after, emits `joiner(value, otherValue, key)`.
   * With a KTable instead: each stream record joins the table's current value for its key (records
   * without one are dropped).
   */
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    windows: JoinWindows,
    options?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>
  join<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT, key: K) => VR,
    options?: Joined<K, V>,
  ): KStream<K, VR>
  join<VR>(other: unknown, joiner: unknown, third?: unknown, fourth?: unknown): KStream<K, VR> {
    return this.#join('inner', other, joiner, third, fourth) as KStream<K, VR>
  }

  /**
   * As join(), but every record of this stream is emitted: with `otherValue` null when nothing
   * joined it (for a stream–stream join, once its window has closed).
   */
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    options?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>
  leftJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT | null, key: K) => VR,
    options?: Joined<K, V>,
  ): KStream<K, VR>
  leftJoin<VR>(other: unknown, joiner: unknown, third?: unknown, fourth?: unknown): KStream<K, VR> {
    return this.#join('left', other, joiner, third, fourth) as KStream<K, VR>
  }

  /**
   * Windowed outer join: as join(), and every record of either stream that nothing joined is emitted
   * once its window has closed, with null for the missing side.
   */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    options: StreamJoined<K, V, VO> = {},
  ): KStream<K, VR> {
    return this.#join('outer', other, joiner, windows, options) as KStream<K, VR>
  }

  #join(
    kind: 'inner' | 'left' | 'outer',
    other: unknown,
    joiner: unknown,
    third: unknown,
    fourth: unknown,
  ): KStream<unknown, unknown> {
    if (typeof joiner !== 'function') {
      throw new StreamsError('INVALID_ARGUMENT', `${kind} join needs a joiner function`)
    }
    if (other instanceof KTable) {
      if (kind === 'outer') {
        throw new StreamsError(
          'INVALID_TOPOLOGY',
          'a stream–table join is inner or left; outer needs two streams or two tables',
        )
      }
      const table = other[INTERNALS]()
      const options = (third ?? {}) as Joined<unknown, unknown>
      return KStream.#from(streamTableJoin(this[INTERNALS](), table, joiner as ValueJoiner, kind, options))
    }
    if (!(other instanceof KStream)) {
      throw new StreamsError('INVALID_ARGUMENT', `${kind} join needs a KStream or a KTable to join with`)
    }
    const options = (fourth ?? {}) as StreamJoined<unknown, unknown, unknown>
    return KStream.#from(
      streamStreamJoin(
        this[INTERNALS](),
        other[INTERNALS](),
        joiner as ValueJoiner,
        third as JoinWindows,
        kind,
        options,
      ),
    )
  }

  /**
   * The stream as a table: each record is the latest value of its key (a null value deletes it),
   * kept in a store named by `{ name }` (queryable). Records with a null key are dropped. If an
   * earlier operation may have changed the key, the records first go through
   * `<applicationId>-<name>-repartition`.
   */
  toTable(materialized: Materialized<K, V> = {}): KTable<K, V> {
    const parsed = parseOrThrow(materializedSchema, materialized, 'materialized options of toTable()')
    const graph = this.#graph
    const storeName = parsed.name ?? graph.name('KSTREAM-TOTABLE-STATE-STORE')
    const keySerde = parsed.keySerde ?? this.#keySerde ?? DEFAULT_SERDE
    const valueSerde = parsed.valueSerde ?? this.#valueSerde ?? DEFAULT_SERDE
    // A re-keyed stream goes through `<name>-repartition` first, so each key's row lives in one task.
    const parent = repartitionIfRequired(graph, this.#node, storeName, this.#repartitionRequired, {
      keySerde,
      valueSerde,
    })
    graph.addStore({ name: storeName, keySerde, valueSerde })
    const name = graph.name('KSTREAM-TOTABLE')
    graph.add({
      kind: 'processor',
      name,
      parents: [parent],
      stores: [storeName],
      create: (context: ProcessorContext) => {
        const store = context.keyValueStore(storeName)
        return (r, forward) => {
          if (r.key === null || r.key === undefined) {
            context.dropped('null key in toTable')
            return
          }
          const deleted = r.value === null || r.value === undefined
          const oldValue = (deleted ? store.delete(r.key) : store.get(r.key)) ?? null
          if (deleted && oldValue === null) return
          if (!deleted) store.put(r.key, r.value)
          forward({ key: r.key, value: deleted ? null : r.value, oldValue, timestampMs: r.timestampMs })
        }
      },
    })
    return new KTable<K, V>(graph, name, keySerde, valueSerde, storeName)
  }

  /**
   * Runs a Processor (low-level API) on every record; it forwards what it wants downstream. The
   * stores it uses must be named in `options.stores`.
   */
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, options: ProcessOptions = {}): KStream<KR, VR> {
    return KStream.#from(
      addStreamProcessor(
        this[INTERNALS](),
        supplier as ProcessorSupplier<unknown, unknown, unknown, unknown>,
        options,
      ),
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
