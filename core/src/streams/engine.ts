import { environmentOf } from '../log/environment.ts'
import type { Log, LogTransaction } from '../log/index.ts'
import {
  Position,
  type KeyValue,
  type KeyValueStore,
  type ReadOnlyKeyValueStore,
  type ReadOnlySessionStore,
  type ReadOnlyWindowStore,
  type Serde,
  type SessionStore,
  type Windowed,
  type WindowStore,
} from '../state/index.ts'
import { StreamsError } from './errors.ts'
import {
  deadLetterTopicOf,
  engineOptionsSchema,
  parseOrThrow,
  type EngineOptions,
  type EngineOptionsInput,
} from './options.ts'
import { message, partitionTimeOf, Task, type Batch, type Input, type ProducedRecord } from './task.ts'
import type { SinkNode, SourceNode, SubTopology, Topology } from './topology.ts'

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

export type { ProducedRecord } from './task.ts'

/** Consumed repartition records are purged once at least this many have piled up in a partition. */
const PURGE_MIN_RECORDS = 1000

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
  /**
   * Source records the serdes could not deserialize, written to `<applicationId>-dlq` and skipped
   * (deserializationExceptionHandler 'logAndContinue'). Not in processedRecords.
   */
  readonly deadLetteredRecords: number
  /** Of droppedRecords, those whose extracted timestamp was invalid (not a whole number of ms ≥ 0). */
  readonly invalidTimestampRecords: number
  /**
   * Input records retention or the disk budget trimmed before the engine read them; it went on from
   * the first retained record (Kafka's auto.offset.reset=earliest) and logged each gap.
   */
  readonly trimmedInputRecords: number
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
  /** at_least_once: when each task last committed its offsets and state. */
  readonly #lastStateCommitMs = new Map<Task, number>()
  #deadLettered = 0
  #invalidTimestamps = 0
  #trimmedInputs = 0
  /** A purge of consumed repartition records is in flight (one at a time). */
  #purging = false

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
        const wanted = partitions.get(topic)!
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
    const deadLetterTopic = deadLetterTopicOf(applicationId)
    if (options.deserializationExceptionHandler === 'logAndContinue') await log.ensureTopic(deadLetterTopic)
    const state = { ...options, env: environmentOf(log) }
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
            const committed = log.fetchOffset(applicationId, topic, p)
            const next = committed?.offset ?? log.startOffset(topic, p)
            const partitionTimeMs = partitionTimeOf(committed?.metadata)
            return [{ source, topic, partition: p, next, buffer: [], partitionTimeMs }]
          })
          const task = new Task(engine, topology, sub, p, inputs, physical, state, deadLetterTopic)
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
   * Then runs the due wall-clock punctuations (see punctuate()).
   */
  processAvailable(): ProducedRecord[] {
    this.#assertUsable()
    const produced = this.#processRecords()
    for (const record of this.punctuate()) produced.push(record)
    this.#purgeRepartitionTopics()
    return produced
  }

  /**
   * Every input partition of every task, non-internal ones first with where the engine reads next
   * (a runtime waits for appends past these).
   */
  inputPositions(): { topic: string; partition: number; next: number }[] {
    this.#assertUsable()
    return this.#tasks.flatMap((t) => t.inputPositions().filter((i) => !i.internal))
  }

  /**
   * Deletes repartition records every consumer of them has committed (Kafka Streams purges its
   * repartition topics the same way), so they do not grow until the disk budget trims them. In the
   * background, one purge at a time; a failure is logged and retried at a later call.
   */
  #purgeRepartitionTopics(): void {
    if (this.#purging) return
    const group = this.#options.applicationId
    const due: { topic: string; partition: number; before: number }[] = []
    for (const task of this.#tasks) {
      for (const { topic, partition, internal } of task.inputPositions()) {
        if (!internal) continue
        const committed = this.#log.fetchOffset(group, topic, partition)?.offset
        if (
          committed !== undefined &&
          committed - this.#log.startOffset(topic, partition) >= PURGE_MIN_RECORDS
        ) {
          due.push({ topic, partition, before: committed })
        }
      }
    }
    if (due.length === 0) return
    this.#purging = true
    void (async () => {
      try {
        for (const { topic, partition, before } of due)
          await this.#log.deleteRecords(topic, partition, before)
      } catch (error) {
        this.#options.logger.warn(
          `streams ${group}: purging consumed repartition records failed: ${message(error)}`,
        )
      } finally {
        this.#purging = false
      }
    })()
  }

  /**
   * Runs every wall-clock punctuator due by the engine's clock, each task's in one commit
   * transaction (with what they forward and write), then processes what that output caused (e.g.
   * through repartition topics). Returns what was appended to output and repartition topics. Throws
   * as processAvailable, stopping the engine.
   */
  punctuate(): ProducedRecord[] {
    this.#assertUsable()
    const nowMs = this.#options.clock()
    const produced: ProducedRecord[] = []
    for (const task of this.#tasks) {
      if (!task.wallClockDue(nowMs)) continue
      const batch = this.#commit(task, (tx) =>
        task.punctuateWallClock(tx, nowMs, this.#options.applicationId),
      )
      produced.push(...batch.produced)
    }
    if (produced.length > 0) produced.push(...this.#processRecords())
    return produced
  }

  #processRecords(): ProducedRecord[] {
    const produced: ProducedRecord[] = []
    const group = this.#options.applicationId
    const max = this.#options.maxRecordsPerCommit
    for (let progressed = true; progressed;) {
      progressed = false
      for (const task of this.#tasks) {
        if (!task.fetch(this.#log, max)) continue
        const commitState = this.#stateCommitDue(task)
        const batch = this.#commit(task, (tx) => task.process(tx, max, group, commitState))
        if (commitState) this.#lastStateCommitMs.set(task, this.#options.clock())
        task.advance(batch.consumed)
        produced.push(...batch.produced)
        this.#processed += batch.records
        progressed = true
      }
    }
    return produced
  }

  /** Whether this batch of `task` also commits its offsets and state (always, under exactly-once). */
  #stateCommitDue(task: Task): boolean {
    if (this.#options.processingGuarantee === 'exactly_once') return true
    const last = this.#lastStateCommitMs.get(task)
    if (last === undefined) {
      this.#lastStateCommitMs.set(task, this.#options.clock())
      return task.stateBufferFilling
    }
    return this.#options.clock() - last >= this.#options.commitIntervalMs || task.stateBufferFilling
  }

  /** One commit transaction of `task`; a failure stops the engine for good. */
  #commit(task: Task, work: (tx: LogTransaction) => Batch): Batch {
    let batch: Batch
    try {
      batch = this.#log.transact(work)
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
    this.#commits++
    return batch
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

  /**
   * A read-only view of the session store `name` (e.g. a session-windowed aggregation's `{ name }`)
   * across all tasks. Throws UNKNOWN_STORE.
   */
  sessionStore<K, V>(name: string): ReadOnlySessionStore<K, V> {
    this.#assertUsable()
    const def = this.#topology.stores.find((s) => s.name === name)
    const instances = this.#tasks.flatMap((t) => {
      const store = t.sessionStores.get(name)
      return store === undefined ? [] : [store as SessionStore<K, V>]
    })
    if (def?.kind !== 'session' || instances.length === 0) {
      throw new StreamsError('UNKNOWN_STORE', `the topology has no session store named ${name}`)
    }
    return new TasksSessionView<K, V>(name, instances)
  }

  metrics(): EngineMetrics {
    return {
      processedRecords: this.#processed,
      droppedRecords: this.#dropped,
      lateRecords: this.#late,
      commits: this.#commits,
      deadLetteredRecords: this.#deadLettered,
      invalidTimestampRecords: this.#invalidTimestamps,
      trimmedInputRecords: this.#trimmedInputs,
    }
  }

  /** Internal: processors count their deliberate drops here (`late`: also as a late record). */
  countDropped(late = false): void {
    this.#dropped++
    if (late) this.#late++
  }

  /** Internal: tasks count the records they skip here. */
  countSkipped(reason: 'deadLettered' | 'invalidTimestamp' | 'trimmed', count = 1): void {
    if (reason === 'deadLettered') this.#deadLettered += count
    else if (reason === 'invalidTimestamp') this.#invalidTimestamps += count
    else this.#trimmedInputs += count
  }

  /**
   * Releases the tasks' stores (unflushed state is that of uncommitted records, so nothing is lost).
   * Under at_least_once, first commits the offsets and state still pending, so a clean stop leaves
   * nothing to process twice. Idempotent. Committed offsets, outputs and state stay in the log's
   * environment. Close the engine before the log.
   */
  close(): void {
    if (this.#closed) return
    try {
      if (this.#failure === undefined) {
        const group = this.#options.applicationId
        for (const task of this.#tasks.filter((t) => t.hasUncommittedState)) {
          this.#commit(task, (tx) => task.commitPendingState(tx, group))
        }
      }
    } finally {
      this.#closed = true
      for (const task of this.#tasks) task.close()
    }
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

/** Whether a sub-topology holds a join (its inputs must be co-partitioned). */
function hasJoin(topology: Topology, sub: SubTopology): boolean {
  return sub.nodes.some((name) => {
    const node = topology.node(name)
    return node.kind === 'processor' && node.copartitioned === true
  })
}

/**
 * Tasks per sub-topology: the most partitions among its source topics, repartition topics resolved
 * upstream first. A repartition topic has as many partitions as its writer has tasks, except where a
 * join reads it: then as many as the join's other inputs (which must agree), as Kafka Streams does.
 */
function resolveTaskCounts(
  topology: Topology,
  partitions: Map<string, number>,
  physical: (node: SourceNode | SinkNode) => string,
): Map<number, number> {
  for (const sub of topology.subTopologies) {
    const joins = hasJoin(topology, sub)
    if (!joins) continue
    const external = sub.sources
      .filter((s) => !s.internal)
      .map((s) => [s.topic, partitions.get(s.topic)!] as const)
    const counts = new Set(external.map(([, n]) => n))
    if (counts.size > 1) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `a join reads ${external.map(([t, n]) => `${t} (${n} partitions)`).join(' and ')}, which are not co-partitioned; give the joined topics the same partition count`,
      )
    }
    const [required] = counts
    if (required === undefined) continue
    for (const source of sub.sources.filter((s) => s.internal)) partitions.set(physical(source), required)
  }
  const counts = new Map<number, number>()
  for (let progressed = true; progressed;) {
    progressed = false
    for (const sub of topology.subTopologies) {
      if (counts.has(sub.id)) continue
      const known = sub.sources.map((s) => partitions.get(physical(s)))
      if (known.some((n) => n === undefined)) continue
      const count = Math.max(...(known as number[]))
      counts.set(sub.id, count)
      for (const sink of sub.sinks.filter((s) => s.internal)) {
        if (!partitions.has(physical(sink))) partitions.set(physical(sink), count)
      }
      progressed = true
    }
  }
  for (const sub of topology.subTopologies) {
    const joins = hasJoin(topology, sub)
    const sources = sub.sources.map((s) => [physical(s), partitions.get(physical(s))] as const)
    if (joins && new Set(sources.map(([, n]) => n)).size > 1) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `a join reads ${sources.map(([t, n]) => `${t} (${n ?? '?'} partitions)`).join(' and ')}, which are not co-partitioned; give the topics its inputs come from the same partition count`,
      )
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
    return mergedPosition(this.#instances)
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
    return mergedPosition(this.#instances)
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

class TasksSessionView<K, V> implements ReadOnlySessionStore<K, V> {
  readonly name: string
  readonly retentionMs: number
  readonly #instances: readonly SessionStore<K, V>[]

  constructor(name: string, instances: readonly SessionStore<K, V>[]) {
    this.name = name
    this.#instances = instances
    this.retentionMs = instances[0]!.retentionMs
  }

  position(): Position {
    return mergedPosition(this.#instances)
  }

  observedStreamTimeMs(): number {
    return Math.max(...this.#instances.map((s) => s.observedStreamTimeMs()))
  }

  // A key lives in one task: at most one instance has its sessions, already in order.
  findSessions(
    key: K,
    earliestSessionEndMs: number,
    latestSessionStartMs: number,
  ): Iterable<KeyValue<Windowed<K>, V>> {
    return this.#instances.flatMap((s) =>
      Array.from(s.findSessions(key, earliestSessionEndMs, latestSessionStartMs)),
    )
  }

  fetchSession(key: K, startMs: number, endMs: number): V | undefined {
    for (const store of this.#instances) {
      const value = store.fetchSession(key, startMs, endMs)
      if (value !== undefined) return value
    }
    return undefined
  }

  fetch(key: K): Iterable<KeyValue<Windowed<K>, V>> {
    return this.#instances.flatMap((s) => Array.from(s.fetch(key)))
  }
}

/** The positions of a store's task instances, merged: each input partition's largest offset. */
function mergedPosition(instances: readonly { position(): Position }[]): Position {
  const merged: Record<string, number> = {}
  for (const store of instances) {
    for (const [tp, offset] of Object.entries(store.position().toJSON())) {
      merged[tp] = Math.max(merged[tp] ?? -1, offset)
    }
  }
  return Position.fromJSON(merged)
}
