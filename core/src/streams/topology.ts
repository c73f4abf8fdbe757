import type { Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'

/*
 * The logical graph the DSL builds and the engine instantiates once per task. Records travel through
 * it untyped (the DSL's generics are checked where the user writes them); serdes only matter where
 * records cross the log: sources, sinks and repartition topics.
 */

/** A record as it flows between processor nodes. `timestampMs` is event time, carried to outputs. */
export interface StreamRecord {
  readonly key: unknown
  readonly value: unknown
  readonly timestampMs: number
  /**
   * Only on a KTable's change records: the key's value before this change (null: the key was
   * absent). On those records `value` is the new value, null when the key was deleted (a tombstone).
   * Absent on stream records.
   */
  readonly oldValue?: unknown
}

/** Sends a record to every child, or to the one named child (used by split/branch). */
export type Forward = (record: StreamRecord, child?: string) => void

/** Where the record being processed was read from. */
export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/** What a processor sees of its task: its stores by name, forwarding, time and punctuation. */
export interface ProcessorContext {
  readonly taskId: string
  /**
   * Sends a record from this node to every child, or to the one named child. Valid while the task
   * processes a record or runs a punctuation (inside its commit transaction); throws otherwise.
   */
  forward(record: StreamRecord, child?: string): void
  /** The task's stream time: the largest record timestamp it has processed; -1 before the first. */
  currentStreamTimeMs(): number
  /** The engine's wall clock (its `clock` option), in ms. */
  currentSystemTimeMs(): number
  /** The input record being processed; undefined during a punctuation. */
  recordMetadata(): RecordMetadata | undefined
  /** The task's instance of key-value store `name`; throws UNKNOWN_STORE if it has none. */
  keyValueStore(name: string): TaskKeyValueStore
  /** The task's instance of window store `name`; throws UNKNOWN_STORE if it has none. */
  windowStore(name: string): TaskWindowStore
  /** The task's instance of session store `name`; throws UNKNOWN_STORE if it has none. */
  sessionStore(name: string): TaskSessionStore
  /**
   * Counts a record the processor deliberately skipped (visible in the engine's metrics:
   * droppedRecords, and also lateRecords when `late` — the record's windows were all closed).
   */
  dropped(reason: string, options?: { readonly late?: boolean }): void
  /**
   * Calls `callback` every `intervalMs` of stream time (the task's largest record timestamp) or of
   * wall-clock time (the engine's clock), inside the task's commit transaction, so its forwards and
   * store writes commit exactly once with the input offsets. Schedules are in-memory: call this
   * from the processor's create/init so a restarted task schedules again.
   */
  schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable
}

/** What drives a punctuator: the task's stream time, or the engine's (injectable) wall clock. */
export type PunctuationType = 'streamTime' | 'wallClock'

/** Called with the current stream time or wall-clock time, in ms. */
export type Punctuator = (timestampMs: number) => void

/** Returned by schedule(); cancel() stops further calls (idempotent). */
export interface Cancellable {
  cancel(): void
}

/** The store operations processors use; a subset of KeyValueStore, so a test can fake it. */
export interface TaskKeyValueStore {
  get(key: unknown): unknown
  put(key: unknown, value: unknown): void
  delete(key: unknown): unknown
}

/** The window store operations processors use; a subset of WindowStore. */
export interface TaskWindowStore {
  fetch(key: unknown, windowStartMs: number): unknown
  /** Returns false (storing nothing) if the window is already expired in the store. */
  put(key: unknown, value: unknown, windowStartMs: number): boolean
  /** key's windows with timeFromMs ≤ start ≤ timeToMs (both inclusive), ascending by start. */
  fetchRange(
    key: unknown,
    timeFromMs: number,
    timeToMs: number,
  ): Iterable<{
    readonly key: { readonly key: unknown; readonly window: { readonly startMs: number } }
    readonly value: unknown
  }>
  /** Every key's windows with timeFromMs ≤ start ≤ timeToMs (both inclusive), ascending by start. */
  fetchAll(
    timeFromMs: number,
    timeToMs: number,
  ): Iterable<{
    readonly key: { readonly key: unknown; readonly window: { readonly startMs: number } }
    readonly value: unknown
  }>
}

/** The session store operations processors use; a subset of SessionStore. */
export interface TaskSessionStore {
  findSessions(
    key: unknown,
    earliestSessionEndMs: number,
    latestSessionStartMs: number,
  ): Iterable<{
    readonly key: {
      readonly key: unknown
      readonly window: { readonly startMs: number; readonly endMs: number }
    }
    readonly value: unknown
  }>
  /** Returns false (storing nothing) if the session is already expired in the store. */
  put(
    session: { readonly key: unknown; readonly window: { readonly startMs: number; readonly endMs: number } },
    value: unknown,
  ): boolean
  remove(session: {
    readonly key: unknown
    readonly window: { readonly startMs: number; readonly endMs: number }
  }): void
}

/** Processes one record; throws to fail the task. */
export type ProcessFn = (record: StreamRecord, forward: Forward) => void

export interface SourceNode {
  readonly kind: 'source'
  readonly name: string
  /** The topic name; for an internal topic, without the `<applicationId>-` prefix. */
  readonly topic: string
  readonly internal: boolean
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
  /** Where the record timestamp comes from; 'event' (the log record's timestamp) when absent. */
  readonly timestampExtractor?: TimestampExtractor<unknown, unknown>
}

/** A record as a function TimestampExtractor sees it: deserialized, with where it was read from. */
export interface ConsumedRecord<K, V> {
  readonly key: K | null
  readonly value: V
  /** The log record's timestamp. */
  readonly timestampMs: number
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/**
 * Kafka's TimestampExtractor: the event time of a source record, given the partition time (the
 * largest timestamp extracted so far on this input partition, -1 before the first). A result that
 * is not a finite number ≥ 0 drops the record (counted in droppedRecords and invalidTimestampRecords).
 */
export type TimestampExtractorFn<K, V> = (record: ConsumedRecord<K, V>, partitionTimeMs: number) => number

/**
 * - 'event': the log record's timestamp (the producer's, or the append time if it gave none).
 * - 'ingestion': the log record's timestamp too: the log keeps no separate append time today, so
 *   this equals 'event' for records appended with an explicit timestamp. It names the intent; it
 *   becomes the true append time if the log records one.
 * - 'processing': the engine's wall clock when the record is processed.
 * - a function: see TimestampExtractorFn.
 */
export type TimestampExtractor<K, V> = 'event' | 'ingestion' | 'processing' | TimestampExtractorFn<K, V>

/** A processor with a close hook (run when its task closes), as a ProcessorNode may create. */
export interface ProcessorInstance {
  readonly process: ProcessFn
  close?(): void
}

export interface ProcessorNode {
  readonly kind: 'processor'
  readonly name: string
  readonly parents: readonly string[]
  readonly stores: readonly string[]
  /**
   * A join: every source topic of its sub-topology must have the same partition count (each key's
   * records of both inputs meet in one task). Repartition topics it reads get that count.
   */
  readonly copartitioned?: boolean
  /** Called once per task: stateful processors bind their task's stores and schedule punctuations here. */
  readonly create: (context: ProcessorContext) => ProcessFn | ProcessorInstance
}

export interface SinkNode {
  readonly kind: 'sink'
  readonly name: string
  readonly parents: readonly string[]
  readonly topic: string
  readonly internal: boolean
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode

export interface KeyValueStoreDef {
  readonly kind?: 'keyValue'
  readonly name: string
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
}

/** A window store: windows `[start, start + windowSizeMs)` kept `retentionMs` behind the latest start. */
export interface WindowStoreDef {
  readonly kind: 'window'
  readonly name: string
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
  readonly windowSizeMs: number
  readonly retentionMs: number
  /**
   * Values are `{ timestampMs, value }` (a windowed aggregation's: the largest record timestamp in
   * the window with the aggregate); queries return only `value`.
   */
  readonly timestamped: boolean
}

/** A session store: sessions kept `retentionMs` after their end, behind the store's stream time. */
export interface SessionStoreDef {
  readonly kind: 'session'
  readonly name: string
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
  readonly retentionMs: number
}

export type StoreDef = KeyValueStoreDef | WindowStoreDef | SessionStoreDef

/** Nodes connected without crossing a topic: processed together by one task per input partition. */
export interface SubTopology {
  readonly id: number
  /** Node names in the order they were added. */
  readonly nodes: readonly string[]
  readonly sources: readonly SourceNode[]
  readonly sinks: readonly SinkNode[]
  readonly stores: readonly string[]
}

/**
 * A built, immutable processing graph (what `StreamsBuilder.build()` returns). Run it with
 * `StreamsEngine` over a Log, or with `TopologyTestDriver` in tests.
 */
export class Topology {
  readonly #nodes: ReadonlyMap<string, TopologyNode>
  readonly #children: ReadonlyMap<string, readonly string[]>
  readonly #stores: ReadonlyMap<string, StoreDef>
  readonly #subTopologies: readonly SubTopology[]

  /** Internal: made by StreamsBuilder.build(). */
  constructor(nodes: readonly TopologyNode[], stores: readonly StoreDef[]) {
    if (!nodes.some((n) => n.kind === 'source')) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        'the topology has no source; call builder.stream(topic) before build()',
      )
    }
    this.#nodes = new Map(nodes.map((n) => [n.name, n]))
    const children = new Map<string, string[]>(nodes.map((n) => [n.name, []]))
    for (const node of nodes) {
      if (node.kind === 'source') continue
      for (const parent of node.parents) children.get(parent)!.push(node.name)
    }
    this.#children = children
    this.#stores = new Map(stores.map((s) => [s.name, s]))
    this.#subTopologies = splitSubTopologies(nodes, children)
  }

  node(name: string): TopologyNode {
    const node = this.#nodes.get(name)
    if (node === undefined) throw new StreamsError('INVALID_TOPOLOGY', `no node named ${name}`)
    return node
  }

  children(name: string): readonly string[] {
    return this.#children.get(name) ?? []
  }

  get subTopologies(): readonly SubTopology[] {
    return this.#subTopologies
  }

  get stores(): readonly StoreDef[] {
    return [...this.#stores.values()]
  }

  /** Topics read by the topology, excluding internal (repartition) topics. */
  get sourceTopics(): string[] {
    return unique(
      this.#subTopologies.flatMap((s) => s.sources.filter((n) => !n.internal).map((n) => n.topic)),
    )
  }

  /** Topics written by the topology, excluding internal (repartition) topics. */
  get sinkTopics(): string[] {
    return unique(this.#subTopologies.flatMap((s) => s.sinks.filter((n) => !n.internal).map((n) => n.topic)))
  }

  /** Internal topic names, without the `<applicationId>-` prefix the engine adds. */
  get internalTopics(): string[] {
    return unique(this.#subTopologies.flatMap((s) => s.sinks.filter((n) => n.internal).map((n) => n.topic)))
  }

  /** A readable listing in Kafka Streams' `TopologyDescription` format. */
  describe(): string {
    const lines = ['Topologies:']
    for (const sub of this.#subTopologies) {
      lines.push(`   Sub-topology: ${sub.id}`)
      for (const name of sub.nodes) {
        const node = this.#nodes.get(name)!
        switch (node.kind) {
          case 'source':
            lines.push(`    Source: ${name} (topics: [${node.topic}])`)
            break
          case 'processor':
            lines.push(`    Processor: ${name} (stores: [${node.stores.join(', ')}])`)
            break
          case 'sink':
            lines.push(`    Sink: ${name} (topic: ${node.topic})`)
            break
          default:
            node satisfies never
        }
        const kids = this.children(name)
        if (kids.length > 0) lines.push(`      --> ${kids.join(', ')}`)
        if (node.kind !== 'source') lines.push(`      <-- ${node.parents.join(', ')}`)
      }
    }
    return lines.join('\n') + '\n'
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)]
}

/** Connected components of the graph, where sink → topic → source edges do not connect. */
function splitSubTopologies(
  nodes: readonly TopologyNode[],
  children: ReadonlyMap<string, readonly string[]>,
): SubTopology[] {
  const component = new Map<string, number>()
  const byName = new Map(nodes.map((n) => [n.name, n]))
  // Processors that share a store must run in one task (Kafka Streams merges them likewise).
  const byStore = new Map<string, string[]>()
  for (const node of nodes) {
    if (node.kind !== 'processor') continue
    for (const store of node.stores) byStore.set(store, [...(byStore.get(store) ?? []), node.name])
  }
  const neighbours = (node: TopologyNode): string[] => [
    ...(node.kind === 'source' ? [] : node.parents),
    ...(children.get(node.name) ?? []),
    ...(node.kind === 'processor' ? node.stores.flatMap((store) => byStore.get(store) ?? []) : []),
  ]
  let next = 0
  for (const start of nodes) {
    if (component.has(start.name)) continue
    const id = next++
    const stack = [start]
    component.set(start.name, id)
    while (stack.length > 0) {
      for (const name of neighbours(stack.pop()!)) {
        if (component.has(name)) continue
        component.set(name, id)
        stack.push(byName.get(name)!)
      }
    }
  }
  const subs: SubTopology[] = []
  for (let id = 0; id < next; id++) {
    const members = nodes.filter((n) => component.get(n.name) === id)
    subs.push({
      id,
      nodes: members.map((n) => n.name),
      sources: members.filter((n) => n.kind === 'source'),
      sinks: members.filter((n) => n.kind === 'sink'),
      stores: unique(members.flatMap((n) => (n.kind === 'processor' ? [...n.stores] : []))),
    })
  }
  return subs
}
