import { environmentOf } from '../log/environment.ts'
import type { Log, LogTransaction } from '../log/index.ts'
import {
  Position,
  Stores,
  type KeyValue,
  type KeyValueStore,
  type ReadOnlyKeyValueStore,
  type ReadOnlyWindowStore,
  type Serde,
  type Windowed,
  type WindowStore,
} from '../state/index.ts'
import { StreamsError } from './errors.ts'
import { engineOptionsSchema, parseOrThrow, type EngineOptions, type EngineOptionsInput } from './options.ts'
import type {
  Forward,
  ProcessFn,
  SinkNode,
  SourceNode,
  StreamRecord,
  SubTopology,
  Topology,
} from './topology.ts'

/*
 * Runs a Topology over a Log: one task per sub-topology and input partition, each processing its
 * records in offset order and committing a batch — its output appends (including repartition
 * topics) and its input offsets (consumer group = applicationId) — in ONE `log.transact`.
 *
 * State: each task's stores are persistent LMDB stores in the LOG'S OWN environment (reached
 * through the core-internal `environmentOf`), named `<applicationId>-<store>-<partition>`, each under
 * a write buffer. Processing puts into the buffers; at the end of the batch, still inside the
 * `transact`, every store's position is advanced to the task's consumed input offsets and every store
 * is flushed. So a commit covers outputs, input offsets and state together: exactly once. A
 * restarted engine opens the same stores and continues from the committed offsets with the state as
 * of that same commit — nothing is wiped or replayed.
 *  - On start, each store's position must equal the committed input offsets (minus one: a position
 *    names the last record reflected, an offset commit the next to read). If it does not — e.g. a
 *    store added to a topology that already ran, or offsets reset behind the state's back — the
 *    engine refuses with STATE_NOT_RESTORABLE instead of counting on top of the wrong state.
 *  - A failed commit leaves the stores ahead of disk (buffers emptied, positions advanced) and the
 *    failure is deterministic (a user function, a serde) or storage trouble, so the engine stops
 *    for good: it closes every store at once (a new engine may open them again, from what was
 *    committed) and every later call throws STREAMS_CLOSED naming the failure.
 */

/** One record the engine appended to an output or repartition topic, in production order. */
export interface ProducedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

export interface EngineMetrics {
  /** Input records processed (each record once, counted when its batch committed). */
  readonly processedRecords: number
  /** Records skipped on purpose, e.g. a null key reaching an aggregation, or a late record. */
  readonly droppedRecords: number
  /**
   * Of droppedRecords, those a windowed aggregation dropped as late: every window the record belongs
   * to was already closed (stream time ≥ window end + grace).
   */
  readonly lateRecords: number
  /** Commit transactions. */
  readonly commits: number
}

interface Input {
  readonly source: SourceNode
  readonly topic: string
  readonly partition: number
  next: number
  readonly buffer: BufferedRecord[]
}

interface Batch {
  readonly records: number
  readonly produced: ProducedRecord[]
  readonly consumed: ReadonlyMap<Input, number>
}

interface BufferedRecord {
  readonly offset: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array
  readonly timestampMs: number
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The log's LMDB environment, opaque here: streams code must not name lmdb types. */
type Environment = ReturnType<typeof environmentOf>

/** The name of a task's instance of a store in the log's environment: unique per application, store and partition. */
function physicalStoreName(applicationId: string, store: string, partition: number): string {
  return `${applicationId}-${store}-${partition}`
}

class Task {
  readonly id: string
  readonly stores = new Map<string, KeyValueStore<unknown, unknown>>()
  readonly windowStores = new Map<string, WindowStore<unknown, unknown>>()
  readonly #topology: Topology
  readonly #inputs: Input[]
  readonly #processors = new Map<string, ProcessFn>()
  readonly #physical: (node: SourceNode | SinkNode) => string
  #current: { topic: string; partition: number; offset: number } | undefined
  #tx: LogTransaction | undefined
  #produced: ProducedRecord[] = []

  constructor(
    engine: StreamsEngine,
    topology: Topology,
    sub: SubTopology,
    partition: number,
    inputs: Input[],
    physical: (node: SourceNode | SinkNode) => string,
    state: { readonly env: Environment; readonly applicationId: string },
  ) {
    this.id = `${sub.id}_${partition}`
    this.#topology = topology
    this.#inputs = inputs
    this.#physical = physical
    try {
      for (const def of topology.stores.filter((s) => sub.stores.includes(s.name))) {
        const physicalName = physicalStoreName(state.applicationId, def.name, partition)
        // The write buffer (on by default) keeps puts out of LMDB until flush() in the commit transaction.
        if (def.kind === 'window') {
          const { windowSizeMs, retentionMs } = def
          const windowBuilder = Stores.windowStoreBuilder(
            Stores.persistentWindowStore(physicalName, { windowSizeMs, retentionMs }),
            def.keySerde,
            def.valueSerde,
          )
          this.windowStores.set(def.name, windowBuilder.build({ env: state.env }))
          continue
        }
        const builder = Stores.keyValueStoreBuilder(
          Stores.persistentKeyValueStore(physicalName),
          def.keySerde,
          def.valueSerde,
        )
        this.stores.set(def.name, builder.build({ env: state.env }))
      }
    } catch (error) {
      this.close()
      throw error
    }
    const context = {
      taskId: this.id,
      keyValueStore: (name: string) => {
        const store = this.stores.get(name)
        if (store === undefined) {
          throw new StreamsError(
            'UNKNOWN_STORE',
            `task ${this.id} has no store ${name}; declare it on the processor`,
          )
        }
        return store
      },
      windowStore: (name: string) => {
        const store = this.windowStores.get(name)
        if (store === undefined) {
          throw new StreamsError(
            'UNKNOWN_STORE',
            `task ${this.id} has no window store ${name}; declare it on the processor`,
          )
        }
        return store
      },
      dropped: (_reason: string, options: { readonly late?: boolean } = {}) => {
        engine.countDropped(options.late === true)
      },
    }
    for (const name of sub.nodes) {
      const node = topology.node(name)
      if (node.kind === 'processor') this.#processors.set(name, node.create(context))
    }
  }

  /** Reads what the log has for this task's inputs (outside the commit transaction); true if any is pending. */
  fetch(log: Log, maxRecords: number): boolean {
    let pending = false
    for (const input of this.#inputs) {
      if (input.buffer.length === 0 && input.next < log.endOffset(input.topic, input.partition)) {
        for (const r of log.read(input.topic, input.partition, input.next, { maxRecords })) {
          // Log records are views valid until the next read: copy.
          input.buffer.push({
            offset: r.offset,
            key: r.key === null ? null : r.key.slice(),
            value: r.value.slice(),
            timestampMs: r.timestampMs,
          })
        }
      }
      pending ||= input.buffer.length > 0
    }
    return pending
  }

  /**
   * Inside the commit transaction: processes up to `maxRecords` buffered records, lowest timestamp
   * first across inputs (offset order within each), then commits the inputs' next offsets.
   */
  process(tx: LogTransaction, maxRecords: number, group: string): Batch {
    this.#tx = tx
    this.#produced = []
    const consumed = new Map<Input, number>()
    let records = 0
    try {
      for (; records < maxRecords; records++) {
        let input: Input | undefined
        for (const candidate of this.#inputs) {
          const head = candidate.buffer[consumed.get(candidate) ?? 0]
          if (head === undefined) continue
          const best = input?.buffer[consumed.get(input) ?? 0]
          if (best === undefined || head.timestampMs < best.timestampMs) input = candidate
        }
        if (input === undefined) break
        const index = consumed.get(input) ?? 0
        consumed.set(input, index + 1)
        this.#processRecord(input, input.buffer[index]!)
      }
      for (const [input, count] of consumed) {
        const last = input.buffer[count - 1]!.offset
        tx.commitOffset(group, input.topic, input.partition, last + 1)
        for (const store of this.allStores()) store.updatePosition(input.topic, input.partition, last)
      }
      // Last, so the state written is exactly that of the records whose offsets commit with it.
      for (const store of this.allStores()) store.flush()
    } finally {
      this.#tx = undefined
      this.#current = undefined
    }
    return { records, produced: this.#produced, consumed }
  }

  /** After the commit transaction succeeded: drops the records it consumed. */
  advance(consumed: ReadonlyMap<Input, number>): void {
    for (const [input, count] of consumed) {
      input.next = input.buffer[count - 1]!.offset + 1
      input.buffer.splice(0, count)
    }
  }

  #processRecord(input: Input, record: BufferedRecord): void {
    const { source } = input
    this.#current = { topic: input.topic, partition: input.partition, offset: record.offset }
    let key: unknown
    let value: unknown
    try {
      key = record.key === null ? null : source.keySerde.deserialize(record.key)
      value = source.valueSerde.deserialize(record.value)
    } catch (cause) {
      throw new StreamsError(
        'SERDE_FAILURE',
        `task ${this.id}: source ${source.name} could not deserialize ${this.#where()}: ${message(cause)}; check the serdes given to stream()`,
        { cause },
      )
    }
    this.#forwardFrom(source.name, { key, value, timestampMs: record.timestampMs })
  }

  /**
   * Throws STATE_NOT_RESTORABLE unless every store reflects exactly the committed offsets of the
   * task's inputs: both commit in one transaction, so any difference means the state is not the
   * state those offsets were committed with.
   */
  checkRestorable(log: Log, group: string): void {
    for (const store of this.allStores()) {
      const position = store.position()
      for (const input of this.#inputs) {
        const committed = log.fetchOffset(group, input.topic, input.partition)?.offset
        const reflected = position.offset(input.topic, input.partition)
        const expected = committed === undefined ? undefined : committed - 1
        if (reflected === expected) continue
        throw new StreamsError(
          'STATE_NOT_RESTORABLE',
          `task ${this.id}: store ${store.name} reflects ${input.topic}/${input.partition} up to offset ${reflected ?? 'none'} but application ${group} committed ${committed ?? 'nothing'} there; the store was added to a topology that already ran, or offsets were reset without the state — use a new applicationId or reset the application (its offsets and stores)`,
        )
      }
    }
  }

  #where(): string {
    const c = this.#current
    return c === undefined ? 'no record' : `${c.topic}/${c.partition}@${c.offset}`
  }

  #forwardFrom(name: string, record: StreamRecord, child?: string): void {
    if (child !== undefined) {
      this.#deliver(child, record)
      return
    }
    for (const next of this.#topology.children(name)) this.#deliver(next, record)
  }

  #deliver(name: string, record: StreamRecord): void {
    const node = this.#topology.node(name)
    try {
      switch (node.kind) {
        case 'processor': {
          const forward: Forward = (out, child) => {
            this.#forwardFrom(name, out, child)
          }
          this.#processors.get(name)!(record, forward)
          return
        }
        case 'sink':
          this.#sink(node, record)
          return
        case 'source':
          throw new StreamsError('INVALID_TOPOLOGY', `source ${name} cannot be a child of another node`)
        default:
          node satisfies never
      }
    } catch (cause) {
      if (cause instanceof StreamsError) throw cause
      throw new StreamsError(
        'TASK_FAILED',
        `task ${this.id} failed in node ${name} processing ${this.#where()}: ${message(cause)}`,
        { cause },
      )
    }
  }

  #sink(node: SinkNode, record: StreamRecord): void {
    const topic = this.#physical(node)
    let key: Uint8Array | null
    let value: Uint8Array
    try {
      key = record.key === null || record.key === undefined ? null : node.keySerde.serialize(record.key)
      value = node.valueSerde.serialize(record.value)
    } catch (cause) {
      throw new StreamsError(
        'SERDE_FAILURE',
        `task ${this.id}: sink ${node.name} could not serialize a record for ${topic} (from ${this.#where()}): ${message(cause)}; pass matching serdes to to()/groupBy()`,
        { cause },
      )
    }
    const [result] = this.#tx!.append(topic, [{ key, value, timestampMs: record.timestampMs }])
    this.#produced.push({ topic, partition: result!.partition, offset: result!.offset })
  }

  allStores(): (KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown>)[] {
    return [...this.stores.values(), ...this.windowStores.values()]
  }

  close(): void {
    for (const store of this.allStores()) store.close()
  }
}

/**
 * Runs a Topology over a Log, synchronously, as far as the log has input: see `processAvailable`.
 * Source and sink topics must exist; repartition topics `<applicationId>-<name>-repartition` are
 * created (with as many partitions as the sub-topology that writes them has tasks).
 */
export class StreamsEngine {
  readonly #log: Log
  readonly #topology: Topology
  readonly #options: EngineOptions
  readonly #tasks: Task[]
  #closed = false
  #failure: StreamsError | undefined
  #processed = 0
  #dropped = 0
  #late = 0
  #commits = 0

  private constructor(
    log: Log,
    topology: Topology,
    options: EngineOptions,
    build: (engine: StreamsEngine) => Task[],
  ) {
    this.#log = log
    this.#topology = topology
    this.#options = options
    this.#tasks = build(this)
  }

  /**
   * Validates the topology against the log, creates its repartition topics and tasks, and opens
   * (or creates) the tasks' stores in the log's environment as of the last commit. Throws
   * UNKNOWN_TOPIC (a source or sink topic is missing), INVALID_TOPOLOGY (a repartition topic exists
   * with another partition count), STATE_NOT_RESTORABLE (see the module comment), INVALID_ARGUMENT;
   * and StateError STORE_ALREADY_OPEN if another engine of the same applicationId on this log is
   * still open in this process (close it first), INVALID_STORE_NAME if
   * `<applicationId>-<store>-<partition>` is longer than a store name may be.
   */
  static async start(topology: Topology, log: Log, input: EngineOptionsInput): Promise<StreamsEngine> {
    const options = parseOrThrow(engineOptionsSchema, input, 'streams engine options')
    const { applicationId } = options
    const physical = (node: SourceNode | SinkNode): string =>
      node.internal ? `${applicationId}-${node.topic}` : node.topic
    const existing = new Map(log.topics().map((t) => [t.name, t.config.partitions]))
    const partitions = new Map<string, number>()
    for (const topic of [...topology.sourceTopics, ...topology.sinkTopics]) {
      const count = existing.get(topic)
      if (count === undefined) {
        throw new StreamsError(
          'UNKNOWN_TOPIC',
          `topic ${topic} does not exist; create it before starting the topology`,
        )
      }
      partitions.set(topic, count)
    }
    const taskCounts = resolveTaskCounts(topology, partitions, physical)
    for (const sub of topology.subTopologies) {
      for (const sink of sub.sinks.filter((s) => s.internal)) {
        const topic = physical(sink)
        const wanted = taskCounts.get(sub.id)!
        const have = existing.get(topic)
        if (have !== undefined && have !== wanted) {
          throw new StreamsError(
            'INVALID_TOPOLOGY',
            `repartition topic ${topic} has ${have} partitions, the topology needs ${wanted}; reset the application (delete the topic) or keep the input partition counts`,
          )
        }
        await log.ensureTopic(topic, { partitions: wanted })
      }
    }
    const state = { env: environmentOf(log), applicationId }
    // Every task built so far, so that a failure part-way (a store that cannot open or restore)
    // releases the stores already opened: they stay registered to this process otherwise.
    const tasks: Task[] = []
    try {
      const engine = new StreamsEngine(log, topology, options, (engine) => build(engine))
      for (const task of tasks) task.checkRestorable(log, applicationId)
      return engine
    } catch (error) {
      for (const task of tasks) task.close()
      throw error
    }

    function build(engine: StreamsEngine): Task[] {
      return topology.subTopologies.flatMap((sub) =>
        Array.from({ length: taskCounts.get(sub.id)! }, (_, p) => {
          const inputs = sub.sources.flatMap((source): Input[] => {
            const topic = physical(source)
            if (p >= partitions.get(topic)!) return []
            const committed = log.fetchOffset(applicationId, topic, p)?.offset
            return [{ source, topic, partition: p, next: committed ?? log.startOffset(topic, p), buffer: [] }]
          })
          const task = new Task(engine, topology, sub, p, inputs, physical, state)
          tasks.push(task)
          return task
        }),
      )
    }
  }

  /**
   * Processes every record available in the log — including records the engine itself writes to
   * repartition topics on the way — and returns what it appended to output and repartition topics,
   * in production order. Each task commits at most `maxRecordsPerCommit` records per transaction.
   * Throws TASK_FAILED (a user function threw; names the task, node and input record) or
   * SERDE_FAILURE; that batch is not committed, and the engine is then stopped for good.
   */
  processAvailable(): ProducedRecord[] {
    this.#assertUsable()
    const produced: ProducedRecord[] = []
    const group = this.#options.applicationId
    const max = this.#options.maxRecordsPerCommit
    for (let progressed = true; progressed;) {
      progressed = false
      for (const task of this.#tasks) {
        if (!task.fetch(this.#log, max)) continue
        let batch: Batch
        try {
          batch = this.#log.transact((tx) => task.process(tx, max, group))
        } catch (cause) {
          // The stores are ahead of what the aborted transaction left on disk: release them now
          // (a new engine reopens them as committed) and stop.
          for (const t of this.#tasks) t.close()
          this.#failure =
            cause instanceof StreamsError
              ? cause
              : new StreamsError('TASK_FAILED', `task ${task.id} failed to commit: ${message(cause)}`, {
                  cause,
                })
          throw this.#failure
        }
        task.advance(batch.consumed)
        produced.push(...batch.produced)
        this.#processed += batch.records
        this.#commits++
        progressed = true
      }
    }
    return produced
  }

  /**
   * A read-only view of the key-value store `name` across all tasks (each key lives in exactly one
   * task's instance). range() and all() read every instance and return entries in key-byte order.
   * Throws UNKNOWN_STORE.
   */
  keyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    this.#assertUsable()
    const instances = this.#tasks.flatMap((t) => {
      const store = t.stores.get(name)
      return store === undefined ? [] : [store as KeyValueStore<K, V>]
    })
    if (instances.length === 0) {
      throw new StreamsError('UNKNOWN_STORE', `the topology has no store named ${name}`)
    }
    const def = this.#topology.stores.find((s) => s.name === name)!
    return new TasksKeyValueView(name, instances, def.keySerde as Serde<K>)
  }

  /**
   * A read-only view of the window store `name` (e.g. a windowed aggregation's `{ name }`) across all
   * tasks; values are the aggregates. fetchAll() reads every instance and returns windows by start,
   * then key length, then key bytes, as one store does. Throws UNKNOWN_STORE.
   */
  windowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    this.#assertUsable()
    const def = this.#topology.stores.find((s) => s.name === name)
    const instances = this.#tasks.flatMap((t) => {
      const store = t.windowStores.get(name)
      return store === undefined ? [] : [store]
    })
    if (def?.kind !== 'window' || instances.length === 0) {
      throw new StreamsError('UNKNOWN_STORE', `the topology has no window store named ${name}`)
    }
    return new TasksWindowView<K, V>(name, instances, def.keySerde as Serde<K>, def.timestamped)
  }

  metrics(): EngineMetrics {
    return {
      processedRecords: this.#processed,
      droppedRecords: this.#dropped,
      lateRecords: this.#late,
      commits: this.#commits,
    }
  }

  /** Internal: processors count their deliberate drops here (`late`: also as a late record). */
  countDropped(late = false): void {
    this.#dropped++
    if (late) this.#late++
  }

  /**
   * Releases the tasks' stores (unflushed state is that of uncommitted records, so nothing is lost).
   * Idempotent. Committed offsets, outputs and state stay in the log's environment. Close the engine
   * before the log.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const task of this.#tasks) task.close()
  }

  #assertUsable(): void {
    if (this.#closed) throw new StreamsError('STREAMS_CLOSED', 'the streams engine is closed')
    if (this.#failure !== undefined) {
      throw new StreamsError(
        'STREAMS_CLOSED',
        `the streams engine stopped after a failure: ${this.#failure.message}`,
        {
          cause: this.#failure,
        },
      )
    }
  }
}

/** Tasks per sub-topology: the most partitions among its source topics, repartition topics resolved upstream first. */
function resolveTaskCounts(
  topology: Topology,
  partitions: Map<string, number>,
  physical: (node: SourceNode | SinkNode) => string,
): Map<number, number> {
  const counts = new Map<number, number>()
  for (let progressed = true; progressed;) {
    progressed = false
    for (const sub of topology.subTopologies) {
      if (counts.has(sub.id)) continue
      const known = sub.sources.map((s) => partitions.get(physical(s)))
      if (known.some((n) => n === undefined)) continue
      const count = Math.max(...(known as number[]))
      counts.set(sub.id, count)
      for (const sink of sub.sinks.filter((s) => s.internal)) partitions.set(physical(sink), count)
      progressed = true
    }
  }
  if (counts.size < topology.subTopologies.length) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      'the repartition topics form a cycle; a topology must be acyclic',
    )
  }
  return counts
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

class TasksKeyValueView<K, V> implements ReadOnlyKeyValueStore<K, V> {
  readonly name: string
  readonly #instances: readonly KeyValueStore<K, V>[]
  readonly #keySerde: Serde<K>

  constructor(name: string, instances: readonly KeyValueStore<K, V>[], keySerde: Serde<K>) {
    this.name = name
    this.#instances = instances
    this.#keySerde = keySerde
  }

  position(): Position {
    const merged: Record<string, number> = {}
    for (const store of this.#instances) {
      for (const [tp, offset] of Object.entries(store.position().toJSON())) {
        merged[tp] = Math.max(merged[tp] ?? -1, offset)
      }
    }
    return Position.fromJSON(merged)
  }

  get(key: K): V | undefined {
    for (const store of this.#instances) {
      const value = store.get(key)
      if (value !== undefined) return value
    }
    return undefined
  }

  range(from: K, to: K): Iterable<KeyValue<K, V>> {
    return this.#sorted((store) => store.range(from, to))
  }

  all(): Iterable<KeyValue<K, V>> {
    return this.#sorted((store) => store.all())
  }

  approximateNumEntries(): number {
    return this.#instances.reduce((sum, store) => sum + store.approximateNumEntries(), 0)
  }

  #sorted(read: (store: KeyValueStore<K, V>) => Iterable<KeyValue<K, V>>): KeyValue<K, V>[] {
    const entries = this.#instances.flatMap((store) => Array.from(read(store)))
    if (this.#instances.length === 1) return entries
    // Same order as one store: by serialized key bytes.
    const keyed = entries.map((entry) => ({ bytes: this.#keySerde.serialize(entry.key), entry }))
    return keyed.sort((a, b) => compareBytes(a.bytes, b.bytes)).map((k) => k.entry)
  }
}

class TasksWindowView<K, V> implements ReadOnlyWindowStore<K, V> {
  readonly name: string
  readonly windowSizeMs: number
  readonly retentionMs: number
  readonly #instances: readonly WindowStore<unknown, unknown>[]
  readonly #keySerde: Serde<K>
  readonly #unwrap: (value: unknown) => V

  constructor(
    name: string,
    instances: readonly WindowStore<unknown, unknown>[],
    keySerde: Serde<K>,
    timestamped: boolean,
  ) {
    this.name = name
    this.#instances = instances
    this.#keySerde = keySerde
    this.windowSizeMs = instances[0]!.windowSizeMs
    this.retentionMs = instances[0]!.retentionMs
    this.#unwrap = timestamped ? (value) => (value as { value: V }).value : (value) => value as V
  }

  position(): Position {
    const merged: Record<string, number> = {}
    for (const store of this.#instances) {
      for (const [tp, offset] of Object.entries(store.position().toJSON())) {
        merged[tp] = Math.max(merged[tp] ?? -1, offset)
      }
    }
    return Position.fromJSON(merged)
  }

  observedStreamTimeMs(): number {
    return Math.max(...this.#instances.map((s) => s.observedStreamTimeMs()))
  }

  fetch(key: K, windowStartMs: number): V | undefined {
    for (const store of this.#instances) {
      const value = store.fetch(key, windowStartMs)
      if (value !== undefined) return this.#unwrap(value)
    }
    return undefined
  }

  fetchRange(key: K, timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<K>, V>> {
    // A key lives in one task: at most one instance has entries, already in start order.
    return this.#instances.flatMap((store) =>
      Array.from(store.fetchRange(key, timeFromMs, timeToMs), (e) => this.#entry(e)),
    )
  }

  fetchAll(timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<K>, V>> {
    const entries = this.#instances.flatMap((store) =>
      Array.from(store.fetchAll(timeFromMs, timeToMs), (e) => this.#entry(e)),
    )
    if (this.#instances.length === 1) return entries
    const keyed = entries.map((entry) => ({ bytes: this.#keySerde.serialize(entry.key.key), entry }))
    return keyed
      .sort(
        (a, b) =>
          a.entry.key.window.startMs - b.entry.key.window.startMs ||
          a.bytes.length - b.bytes.length ||
          compareBytes(a.bytes, b.bytes),
      )
      .map((k) => k.entry)
  }

  #entry(entry: KeyValue<Windowed<unknown>, unknown>): KeyValue<Windowed<K>, V> {
    return { key: entry.key as Windowed<K>, value: this.#unwrap(entry.value) }
  }
}
