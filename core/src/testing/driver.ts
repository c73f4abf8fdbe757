import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { Log, MAX_PARTITIONS, type RecordHeaders } from '../log/index.ts'
import type {
  ReadOnlyKeyValueStore,
  ReadOnlySessionStore,
  ReadOnlyWindowStore,
  Serde,
} from '../state/index.ts'
import { StreamsEngine, type EngineMetrics, type ProducedRecord } from '../streams/engine.ts'
import { StreamsError } from '../streams/errors.ts'
import { DEAD_LETTER_HEADERS } from '../streams/task.ts'
import { EMPTY_VALUE, isTombstone, TOMBSTONE_HEADERS } from '../streams/tombstone.ts'
import {
  deadLetterTopicOf,
  deserializationExceptionHandlers,
  parseOrThrow,
  type StreamsLogger,
} from '../streams/options.ts'
import type { Topology } from '../streams/topology.ts'

/** The application id the driver runs topologies under (prefix of repartition topics). */
export const DEFAULT_TEST_APPLICATION_ID = 'topology-test-driver'

const driverOptionsSchema = z
  .object({
    /** Partitions of every source and sink topic the driver creates. */
    partitions: z.number().int().min(1).max(MAX_PARTITIONS).default(1),
    applicationId: z.string().default(DEFAULT_TEST_APPLICATION_ID),
    /** Starting wall-clock time in ms (default: now); the default timestamp of piped records. */
    initialWallClockTimeMs: z.number().int().nonnegative().optional(),
    /**
     * A Log to run on instead of a fresh one in a temp directory. The driver creates missing topics
     * in it and does not close it.
     */
    log: z.custom<Log>((v) => v instanceof Log, { error: 'must be a Log from Log.open()' }).optional(),
    /** The engine's handler for source records that fail to deserialize (default 'logAndContinue'). */
    deserializationExceptionHandler: z.enum(deserializationExceptionHandlers).optional(),
    /** Where the engine logs skipped records (default: one line each on stderr). */
    logger: z
      .custom<StreamsLogger>(
        (v) => typeof v === 'object' && v !== null && typeof (v as StreamsLogger).warn === 'function',
        { error: 'must be a logger: an object with a warn(message) function' },
      )
      .optional(),
  })
  .strict()
export type TopologyTestDriverOptions = z.input<typeof driverOptionsSchema>

/** A record read from an output topic. */
export interface TestRecord<K, V> {
  readonly key: K | null
  /** null for a tombstone (a table deletion): read a table's output topic as `<K, V | null>`. */
  readonly value: V
  readonly timestampMs: number
  readonly partition: number
  readonly offset: number
}

/** A raw record of the dead-letter topic, as the source read it, with the DEAD_LETTER_HEADERS. */
export interface DeadLetterRecord {
  readonly key: Uint8Array | null
  readonly value: Uint8Array
  readonly timestampMs: number
  /** All headers: the original record's and DEAD_LETTER_HEADERS as strings. */
  readonly headers: RecordHeaders
  /** The DEAD_LETTER_HEADERS, decoded: where the record came from and why it failed. */
  readonly source: {
    readonly topic: string
    readonly partition: number
    readonly offset: number
    readonly exception: string
    readonly message: string
  }
}

/**
 * Runs a Topology over a real Log (LMDB in a temp directory, or an injected one) for tests. Piping a
 * record appends it to its topic and processes everything that results — repartitioning included —
 * before pipeInput returns, so outputs and stores are readable right away. Records are routed to
 * partitions by the log (murmur2 of the serialized key, as Kafka), so with `partitions > 1` each
 * partition is its own task with its own stores.
 *
 * The driver's wall clock is the engine's clock (wall-clock punctuations, the 'processing' timestamp
 * extractor), the log's clock (when it made the log) and the default timestamp of piped records;
 * advanceWallClockTime moves it and runs the punctuations that became due.
 */
export class TopologyTestDriver {
  readonly #topology: Topology
  readonly #log: Log
  readonly #ownedDir: string | undefined
  readonly #engine: StreamsEngine
  readonly #clock: { nowMs: number }
  readonly #produced = new Map<string, ProducedRecord[]>()
  readonly #applicationId: string
  #closed = false

  private constructor(
    topology: Topology,
    log: Log,
    ownedDir: string | undefined,
    engine: StreamsEngine,
    clock: { nowMs: number },
    applicationId: string,
  ) {
    this.#topology = topology
    this.#applicationId = applicationId
    this.#log = log
    this.#ownedDir = ownedDir
    this.#engine = engine
    this.#clock = clock
    for (const topic of topology.sinkTopics) this.#produced.set(topic, [])
  }

  /** Opens the log (unless injected), creates the topology's topics and starts its tasks. */
  static async create(
    topology: Topology,
    input: TopologyTestDriverOptions = {},
  ): Promise<TopologyTestDriver> {
    const options = parseOrThrow(driverOptionsSchema, input, 'TopologyTestDriver options')
    const clock = { nowMs: options.initialWallClockTimeMs ?? Date.now() }
    const dir = options.log === undefined ? mkdtempSync(join(tmpdir(), 'vigil-topology-test-')) : undefined
    let log: Log | undefined = options.log
    try {
      log ??= await Log.open({ dataDir: dir!, clock: () => clock.nowMs })
      for (const topic of [...topology.sourceTopics, ...topology.sinkTopics]) {
        await log.ensureTopic(topic, { partitions: options.partitions })
      }
      const { applicationId, deserializationExceptionHandler, logger } = options
      const engine = await StreamsEngine.start(topology, log, {
        applicationId,
        clock: () => clock.nowMs,
        ...(deserializationExceptionHandler === undefined ? {} : { deserializationExceptionHandler }),
        ...(logger === undefined ? {} : { logger }),
      })
      return new TopologyTestDriver(topology, log, dir, engine, clock, applicationId)
    } catch (error) {
      if (dir !== undefined) {
        if (log !== undefined) await log.close()
        rmSync(dir, { recursive: true, force: true })
      }
      throw error
    }
  }

  /** The log the driver runs on (e.g. to check committed offsets). */
  get log(): Log {
    return this.#log
  }

  /** Current wall-clock time of the driver, in ms. */
  get wallClockTimeMs(): number {
    return this.#clock.nowMs
  }

  /** A topic to pipe records into; it must be a source topic of the topology (else UNKNOWN_TOPIC). */
  createInputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestInputTopic<K, V> {
    this.#assertOpen()
    if (!this.#topology.sourceTopics.includes(topic)) {
      throw new StreamsError(
        'UNKNOWN_TOPIC',
        `${topic} is not a source topic of the topology; its sources are ${this.#topology.sourceTopics.join(', ')}`,
      )
    }
    return new TestInputTopic(
      topic,
      keySerde,
      valueSerde,
      (record) => {
        this.#assertOpen()
        this.#log.transact((tx) => tx.append(topic, [record]))
        this.#process()
      },
      () => this.#clock.nowMs,
    )
  }

  /** A topic to read the topology's output from; it must be a sink topic of the topology (else UNKNOWN_TOPIC). */
  createOutputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    this.#assertOpen()
    if (!this.#topology.sinkTopics.includes(topic)) {
      throw new StreamsError(
        'UNKNOWN_TOPIC',
        `${topic} is not written by the topology; its sink topics are ${this.#topology.sinkTopics.join(', ')}`,
      )
    }
    return new TestOutputTopic(this.#log, keySerde, valueSerde, this.#produced.get(topic)!)
  }

  /** The store `name` as one read-only view over every task's instance. Throws UNKNOWN_STORE. */
  getKeyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    this.#assertOpen()
    return this.#engine.keyValueStore<K, V>(name)
  }

  /**
   * The window store `name` (a windowed aggregation's `{ name }`) as one read-only view over every
   * task's instance; values are the aggregates. Throws UNKNOWN_STORE.
   */
  getWindowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    this.#assertOpen()
    return this.#engine.windowStore<K, V>(name)
  }

  /** The session store `name` (a session-windowed aggregation's `{ name }`) over every task. Throws UNKNOWN_STORE. */
  getSessionStore<K, V>(name: string): ReadOnlySessionStore<K, V> {
    this.#assertOpen()
    return this.#engine.sessionStore<K, V>(name)
  }

  /**
   * Every record in the dead-letter topic `<applicationId>-dlq` (source records that failed to
   * deserialize under 'logAndContinue'), oldest first; [] if the topic does not exist.
   */
  getDeadLetterRecords(): DeadLetterRecord[] {
    this.#assertOpen()
    const topic = deadLetterTopicOf(this.#applicationId)
    const info = this.#log.topics().find((t) => t.name === topic)
    if (info === undefined) return []
    const decoder = new TextDecoder()
    const out: DeadLetterRecord[] = []
    for (let p = 0; p < info.config.partitions; p++) {
      for (let offset = this.#log.startOffset(topic, p); offset < this.#log.endOffset(topic, p);) {
        const records = this.#log.read(topic, p, offset, { maxRecords: 100 })
        for (const r of records) {
          const header = (name: string) => {
            const value = r.headers[name]
            return value === undefined ? '' : decoder.decode(value)
          }
          const headers: Record<string, Uint8Array> = Object.create(null) as Record<string, Uint8Array>
          for (const name in r.headers) headers[name] = r.headers[name]!.slice()
          out.push({
            key: r.key === null ? null : r.key.slice(),
            value: r.value.slice(),
            timestampMs: r.timestampMs,
            headers,
            source: {
              topic: header(DEAD_LETTER_HEADERS.topic),
              partition: Number(header(DEAD_LETTER_HEADERS.partition)),
              offset: Number(header(DEAD_LETTER_HEADERS.offset)),
              exception: header(DEAD_LETTER_HEADERS.exception),
              message: header(DEAD_LETTER_HEADERS.message),
            },
          })
          offset = r.offset + 1
        }
        if (records.length === 0) break
      }
    }
    return out
  }

  /** The engine's metrics: processed, dropped (and of those, late) records, commits. */
  metrics(): EngineMetrics {
    this.#assertOpen()
    return this.#engine.metrics()
  }

  /**
   * Moves the wall clock forward by `ms` (an integer ≥ 0), then runs the wall-clock punctuations due
   * (each at most once, as Kafka's driver: missed points are skipped) and what they cause.
   */
  advanceWallClockTime(ms: number): void {
    this.#assertOpen()
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new StreamsError(
        'INVALID_ARGUMENT',
        `advanceWallClockTime needs an integer number of ms ≥ 0, got ${ms}`,
      )
    }
    this.#clock.nowMs += ms
    this.#process()
  }

  /** Stops the engine; closes and deletes the log unless it was injected. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#engine.close()
    if (this.#ownedDir !== undefined) {
      await this.#log.close()
      rmSync(this.#ownedDir, { recursive: true, force: true })
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  #process(): void {
    for (const record of this.#engine.processAvailable()) this.#produced.get(record.topic)?.push(record)
  }

  #assertOpen(): void {
    if (this.#closed) throw new StreamsError('STREAMS_CLOSED', 'the TopologyTestDriver is closed')
  }
}

interface PipedRecord {
  readonly key: Uint8Array | null
  readonly value: Uint8Array
  readonly timestampMs: number
  readonly headers?: RecordHeaders
}

/** Pipes records into one input topic of a TopologyTestDriver. */
export class TestInputTopic<K, V> {
  readonly topic: string
  readonly #keySerde: Serde<K>
  readonly #valueSerde: Serde<V>
  readonly #pipe: (record: PipedRecord) => void
  readonly #now: () => number

  /** Internal: from TopologyTestDriver.createInputTopic(). */
  constructor(
    topic: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    pipe: (record: PipedRecord) => void,
    now: () => number,
  ) {
    this.topic = topic
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.#pipe = pipe
    this.#now = now
  }

  /**
   * Appends one record (timestamp: `timestampMs`, else the driver's wall clock) and processes it and
   * everything it causes. Throws what processing throws (TASK_FAILED, SERDE_FAILURE).
   */
  pipeInput(key: K | null, value: V | null, timestampMs?: number): void {
    const serializedKey = key === null ? null : this.#keySerde.serialize(key)
    const at = timestampMs ?? this.#now()
    // A null value is a tombstone (a table deletion), carried as the engine's sinks carry it.
    this.#pipe(
      value === null
        ? { key: serializedKey, value: EMPTY_VALUE, timestampMs: at, headers: TOMBSTONE_HEADERS }
        : { key: serializedKey, value: this.#valueSerde.serialize(value), timestampMs: at },
    )
  }

  /** pipeInput for each pair, in order. */
  pipeKeyValueList(
    records: Iterable<{ readonly key: K | null; readonly value: V }>,
    timestampMs?: number,
  ): void {
    for (const { key, value } of records) this.pipeInput(key, value, timestampMs)
  }
}

/**
 * Reads, in production order, what the topology wrote to one output topic since the driver started
 * or it was last read. Every TestOutputTopic of the same topic shares one read position.
 */
export class TestOutputTopic<K, V> {
  readonly #log: Log
  readonly #keySerde: Serde<K>
  readonly #valueSerde: Serde<V>
  readonly #queue: ProducedRecord[]

  /** Internal: from TopologyTestDriver.createOutputTopic(). */
  constructor(log: Log, keySerde: Serde<K>, valueSerde: Serde<V>, queue: ProducedRecord[]) {
    this.#log = log
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.#queue = queue
  }

  /** Unread records. */
  get queueSize(): number {
    return this.#queue.length
  }

  isEmpty(): boolean {
    return this.#queue.length === 0
  }

  /** The next unread record; throws INVALID_ARGUMENT when there is none. */
  readRecord(): TestRecord<K, V> {
    const next = this.#queue.shift()
    if (next === undefined) {
      throw new StreamsError('INVALID_ARGUMENT', 'the output topic is empty; check isEmpty() before reading')
    }
    const [record] = this.#log.read(next.topic, next.partition, next.offset, { maxRecords: 1 })
    return {
      key: record!.key === null ? null : this.#keySerde.deserialize(record!.key),
      value: isTombstone(record!.headers) ? (null as V) : this.#valueSerde.deserialize(record!.value),
      timestampMs: record!.timestampMs,
      partition: next.partition,
      offset: next.offset,
    }
  }

  readKeyValue(): { key: K | null; value: V } {
    const { key, value } = this.readRecord()
    return { key, value }
  }

  readValue(): V {
    return this.readRecord().value
  }

  readRecordsToList(): TestRecord<K, V>[] {
    const out: TestRecord<K, V>[] = []
    while (!this.isEmpty()) out.push(this.readRecord())
    return out
  }

  readKeyValuesToList(): { key: K | null; value: V }[] {
    return this.readRecordsToList().map(({ key, value }) => ({ key, value }))
  }

  readValuesToList(): V[] {
    return this.readRecordsToList().map((r) => r.value)
  }
}
