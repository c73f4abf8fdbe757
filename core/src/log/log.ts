import { EventEmitter } from 'node:events'
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database, type RootDatabase } from 'lmdb'
import { registerEnvironment } from './environment.ts'
import { LogError } from './errors.ts'
import { LatencyWindow, type LatencySummary } from './latency.ts'
import { acquireDirectoryLock } from './lock.ts'
import { checkManifest, lmdbKey } from './manifest.ts'
import { BatchBuilder, batchCount, BufferPool, dropBatchHead, MAX_BATCH_BYTES, walkBatch } from './batch.ts'
import { keyValue, makeKey, MAX_KEY_VALUE, RECORD_KEY_BYTES, writeKey } from './keys.ts'
import { partitionForKey } from './murmur2.ts'
import {
  logOptionsSchema,
  parseOrThrow,
  priorityClasses,
  topicConfigSchema,
  validateTopicName,
  type LogOptions,
  type LogOptionsInput,
  type PriorityClass,
  type TopicConfig,
  type TopicConfigInput,
} from './options.ts'
import {
  decodeRecord,
  EMPTY_HEADERS,
  encodedRecordSize,
  encodeRecord,
  storedTimestamp,
  MAX_HEADERS,
  type LogRecord,
  type RecordHeaders,
  type RecordInput,
} from './record-codec.ts'
import { Subscription, type SubscribeOptions } from './subscription.ts'

/** On-disk format written and read by this build. Bump on any incompatible change to keys or records. */
export const LOG_FORMAT_VERSION = 1
const DATA_FILE = 'log.mdb'
/** Kafka's max.poll.records-like default for `read`. */
export const DEFAULT_READ_MAX_RECORDS = 1000
export const DEFAULT_READ_MAX_BYTES = 4 * 1024 * 1024
/**
 * Each record counts as its encoded size plus this in `logBytes`, the disk budget and byte
 * retention: a logical size, independent of how appends happened to be batched. (Its share of
 * frame, batch header and key is smaller; LMDB's page overhead is not counted: see `fileBytes`.)
 */
export const RECORD_OVERHEAD_BYTES = 16
/** Without diskHardLimitBytes, appends are refused at this multiple of diskBudgetBytes. */
export const DEFAULT_HARD_LIMIT_FACTOR = 2

export interface AppendResult {
  readonly partition: number
  readonly offset: number
}

export interface TopicInfo {
  readonly name: string
  readonly config: TopicConfig
}

export type TrimReason = 'retention-time' | 'retention-bytes' | 'disk-budget' | 'delete-records'

/** One trimmed range `[fromOffset, toOffset)` of one partition. */
export interface TrimEvent {
  readonly topic: string
  readonly partition: number
  readonly priorityClass: PriorityClass
  readonly fromOffset: number
  readonly toOffset: number
  readonly records: number
  readonly bytes: number
  readonly reason: TrimReason
  /** Records trimmed at or above the partition's floor, i.e. not yet released by its holders (never replicated). */
  readonly belowFloorRecords: number
}

/**
 * 'budget-exceeded': the log went over its disk budget with nothing more it may trim (floors hold
 * the rest); emitted once on entering that state. 'budget-recovered': back within budget.
 */
export interface BudgetExceededEvent {
  readonly logBytes: number
  readonly budgetBytes: number
}

export interface LogEvents {
  trimmed: [TrimEvent]
  'budget-exceeded': [BudgetExceededEvent]
  'budget-recovered': [BudgetExceededEvent]
  /** A background retention pass failed; the log keeps running and retries on the next pass. */
  'retention-failed': [Error]
}

export interface CommittedOffset {
  readonly offset: number
  readonly metadata: string
  readonly committedAtMs: number
}

export interface LogMetrics {
  readonly appendedRecords: number
  readonly appendedBytes: number
  readonly commits: number
  /** Time from a batch's start of commit until it is flushed (durable) and acknowledged. */
  readonly flushLatency: LatencySummary
  readonly rejectedAppends: Readonly<Record<string, number>>
  readonly trimmedRecords: Readonly<Record<string, number>>
  readonly trimmedBytes: Readonly<Record<string, number>>
  /** Stored bytes (records + keys) the budget is counted in. */
  readonly logBytes: number
  /** Size of the LMDB file on disk (never shrinks; freed pages are reused). */
  readonly fileBytes: number
  /** Background retention passes that failed (each also emitted as 'retention-failed'). */
  readonly retentionFailures: number
  /** Over the disk budget with nothing left to trim (between 'budget-exceeded' and 'budget-recovered'). */
  readonly overBudget: boolean
}

interface PartitionState {
  readonly topic: TopicState
  readonly partition: number
  /** First retained offset. */
  start: number
  /** Next offset to assign. */
  next: number
  /** End of what is durable, readable and acknowledged. */
  durableNext: number
  bytes: number
  maxTimestampMs: number
  bytesSinceIndex: number
  indexed: boolean
  readonly waiters: Set<() => void>
  builder: BatchBuilder | undefined
}

interface TopicState {
  readonly id: number
  readonly name: string
  readonly config: TopicConfig
  readonly partitions: PartitionState[]
  roundRobin: number
}

/**
 * A validated append, already encoded: the caller may reuse or change its buffers and objects as
 * soon as `appendBatch` returns (as with Kafka's producer, which serializes in send()).
 */
interface PreparedAppend {
  readonly topic: TopicState
  readonly partitions: readonly number[]
  readonly timestamps: readonly number[]
  /** Encoded size of each record; the records lie back to back in `encoded`. */
  readonly sizes: readonly number[]
  readonly encoded: Buffer
}

/** One LMDB transaction's appends: partitions touched (with their new end) and totals for the metrics. */
interface CommitScope {
  readonly ends: Map<PartitionState, number>
  readonly started: number
  records: number
  bytes: number
}

interface PendingAppend extends PreparedAppend {
  readonly resolve: (results: AppendResult[]) => void
  readonly reject: (error: unknown) => void
}

/** What `Log.transact`'s work can do; all of it commits together. Valid only while `work` runs. */
export interface LogTransaction {
  /** Appends records (validated as `appendBatch`); they are acknowledged when `transact` returns. */
  append(topic: string, records: readonly RecordInput[]): AppendResult[]
  /** Stores a consumer group's next offset, as `commitOffset`. */
  commitOffset(group: string, topic: string, partition: number, offset: number, metadata?: string): void
}

interface PartitionMeta {
  start: number
  bytes: number
  maxTimestampMs: number
  bytesSinceIndex: number
  indexed: boolean
}

interface TrimPlan {
  readonly ps: PartitionState
  readonly toOffset: number
  readonly records: number
  readonly bytes: number
  readonly reason: TrimReason
  readonly belowFloorRecords: number
}

/**
 * A Kafka-shaped partitioned log on LMDB, embedded in the process.
 *
 * Durability: commits are synchronous (lmdb-js `overlappingSync: false`, LMDB's default sync
 * mode): a commit fdatasyncs the data pages, then writes the meta page through an O_DSYNC
 * descriptor, before it returns. An append is acknowledged, and becomes readable, only after its
 * commit returned, so acknowledged records survive a process crash (SIGKILL) and a power loss or
 * kernel crash. A commit is atomic: a crash during one leaves all or none of its records, and
 * none of them was acknowledged. (`overlappingSync` was measured and rejected: its commit
 * latency tail was 5x worse on this hardware; bench/RESULTS.md.) Metadata writes (`put`) resolve
 * once their commit is durable for the same reason.
 *
 * Concurrent appends are group-committed: everything appended while one batch commits goes into
 * the next LMDB transaction.
 */
export class Log extends EventEmitter<LogEvents> {
  readonly #options: LogOptions
  readonly #env: RootDatabase
  readonly #meta: Database<unknown, string>
  readonly #records: Database<Buffer, Buffer>
  readonly #timeIndex: Database<number, Buffer>
  readonly #partitionMeta: Database<PartitionMeta, Buffer>
  readonly #topicsDb: Database<{ id: number; config: TopicConfig }, string>
  readonly #offsetsDb: Database<CommittedOffset, [string, string, number]>
  readonly #floorsDb: Database<number, [string, string, number]>
  readonly #releaseLock: () => void
  readonly #topics = new Map<string, TopicState>()
  readonly #floors = new Map<PartitionState, Map<string, number>>()
  readonly #keyScratch = Buffer.allocUnsafe(RECORD_KEY_BYTES)
  #pending: PendingAppend[] = []
  readonly #encodeBuffers = new BufferPool()
  #commitScheduled = false
  #inTransaction = false
  #maintenance: Promise<unknown> = Promise.resolve()
  #maintenanceQueued = false
  #retentionTimer: NodeJS.Timeout | undefined
  #closed = false
  #closing: Promise<void> | undefined
  #subscriptions = new Set<Subscription>()
  readonly #latency = new LatencyWindow()
  #appendedRecords = 0
  #appendedBytes = 0
  #commits = 0
  #retentionFailures = 0
  #overBudget = false
  readonly #rejected: Record<string, number> = {}
  readonly #trimmedRecords: Record<string, number> = {}
  readonly #trimmedBytes: Record<string, number> = {}

  private constructor(options: LogOptions, env: RootDatabase, releaseLock: () => void) {
    super()
    this.#options = options
    this.#env = env
    registerEnvironment(this, env)
    this.#releaseLock = releaseLock
    this.#meta = env.openDB({ name: 'meta' })
    this.#records = env.openDB({ name: 'records', keyEncoding: 'binary', encoding: 'binary' })
    this.#timeIndex = env.openDB({ name: 'time-index', keyEncoding: 'binary' })
    this.#partitionMeta = env.openDB({ name: 'partitions', keyEncoding: 'binary' })
    this.#topicsDb = env.openDB({ name: 'topics' })
    this.#offsetsDb = env.openDB({ name: 'consumer-offsets' })
    this.#floorsDb = env.openDB({ name: 'floors' })
  }

  /** Opens (creating if needed) the log in `dataDir`. Throws LOG_LOCKED, FORMAT_VERSION_MISMATCH, ENCRYPTION_KEY_MISMATCH, INVALID_ARGUMENT. */
  static async open(input: LogOptionsInput): Promise<Log> {
    const options = parseOrThrow(logOptionsSchema, input, 'log options')
    mkdirSync(options.dataDir, { recursive: true })
    const releaseLock = acquireDirectoryLock(options.dataDir)
    let env: RootDatabase | undefined
    try {
      const key = options.encryptionKey === undefined ? undefined : lmdbKey(options.encryptionKey)
      checkManifest(options.dataDir, DATA_FILE, LOG_FORMAT_VERSION, key, options.clock())
      env = openEnvironment(options, key)
      const log = new Log(options, env, releaseLock)
      await log.#checkFormat()
      log.#loadTopics()
      log.#startRetentionTimer()
      return log
    } catch (error) {
      await env?.close().catch(() => undefined)
      releaseLock()
      throw error
    }
  }

  async #checkFormat(): Promise<void> {
    let format: unknown
    try {
      format = this.#meta.get('format')
    } catch (cause) {
      throw unreadable(this.#options, cause)
    }
    if (format === undefined) {
      const hasData = this.#topicsDb.getKeysCount() > 0 || this.#records.getKeysCount() > 0
      if (hasData) {
        throw new LogError(
          'FORMAT_VERSION_MISMATCH',
          `data directory ${this.#options.dataDir} holds LMDB data that is not a Vigil log; point dataDir at an empty or Vigil directory`,
        )
      }
      await this.#meta.put('format', { version: LOG_FORMAT_VERSION, createdAtMs: this.#options.clock() })
      return
    }
    const version: unknown =
      typeof format === 'object' && format !== null && 'version' in format ? format.version : undefined
    if (version !== LOG_FORMAT_VERSION) {
      throw new LogError(
        'FORMAT_VERSION_MISMATCH',
        `data directory ${this.#options.dataDir} is log format ${JSON.stringify(version)}, this build reads format ${LOG_FORMAT_VERSION}; run the Vigil version that wrote it, or migrate/move the directory`,
      )
    }
  }

  #loadTopics(): void {
    for (const { key: name, value } of this.#topicsDb.getRange()) {
      const topic: TopicState = { id: value.id, name, config: value.config, partitions: [], roundRobin: 0 }
      for (let p = 0; p < value.config.partitions; p++) {
        const ps = newPartitionState(topic, p)
        this.#loadPartition(ps)
        topic.partitions.push(ps)
      }
      this.#topics.set(name, topic)
    }
    for (const { key, value } of this.#floorsDb.getRange()) {
      const [holder, topicName, partition] = key
      const ps = this.#topics.get(topicName)?.partitions[partition]
      if (ps) this.#floorMap(ps).set(holder, value)
    }
  }

  /** (Re)reads a partition's state from disk: after open, and after a failed transaction. */
  #loadPartition(ps: PartitionState): void {
    const { id } = ps.topic
    const meta = this.#partitionMeta.get(partitionKey(id, ps.partition))
    ps.start = meta?.start ?? 0
    ps.bytes = meta?.bytes ?? 0
    ps.maxTimestampMs = meta?.maxTimestampMs ?? -1
    ps.bytesSinceIndex = meta?.bytesSinceIndex ?? 0
    ps.indexed = meta?.indexed ?? false
    let next = ps.start
    // Reverse ranges include `start` and exclude `end`; the 8-byte prefix sorts before every key of the partition.
    for (const { key, value } of this.#records.getRange({
      start: makeKey(id, ps.partition, MAX_KEY_VALUE),
      end: partitionKey(id, ps.partition),
      reverse: true,
      limit: 1,
    })) {
      next = keyValue(key) + batchCount(value)
    }
    ps.next = next
    ps.durableNext = next
  }

  #startRetentionTimer(): void {
    this.#retentionTimer = setInterval(() => {
      this.#queueRetention().catch((error: unknown) => {
        this.#retentionFailed(error)
      })
    }, this.#options.retentionCheckIntervalMs)
    this.#retentionTimer.unref()
  }

  // ---- topics -------------------------------------------------------------------------------

  /** Creates a topic. Throws INVALID_TOPIC_NAME, INVALID_ARGUMENT, TOPIC_EXISTS. */
  createTopic(name: string, config: TopicConfigInput = {}): Promise<TopicInfo> {
    try {
      return Promise.resolve(this.#createTopic(name, config))
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  #createTopic(name: string, config: TopicConfigInput): TopicInfo {
    this.#assertOpen()
    validateTopicName(name)
    const parsed = parseOrThrow(topicConfigSchema, config, `config of topic ${name}`)
    if (this.#topics.has(name)) {
      throw new LogError(
        'TOPIC_EXISTS',
        `topic ${name} already exists; use ensureTopic to accept an existing one`,
      )
    }
    let id = 0
    for (const topic of this.#topics.values()) id = Math.max(id, topic.id + 1)
    const topic: TopicState = { id, name, config: parsed, partitions: [], roundRobin: 0 }
    for (let p = 0; p < parsed.partitions; p++) topic.partitions.push(newPartitionState(topic, p))
    try {
      // Durable before the topic can take appends (which commit synchronously), so records never outlive their topic's entry.
      this.#env.transactionSync(() => {
        this.#topicsDb.putSync(name, { id, config: parsed })
      })
      this.#topics.set(name, topic)
    } catch (cause) {
      throw new LogError('STORAGE_FAILURE', `could not create topic ${name}: ${String(cause)}`, {
        cause,
        retriable: true,
      })
    }
    return { name, config: parsed }
  }

  /** Returns the topic, creating it with `config` if missing. An existing topic keeps its own config. */
  async ensureTopic(name: string, config: TopicConfigInput = {}): Promise<TopicInfo> {
    this.#assertOpen()
    const existing = this.#topics.get(name)
    if (existing) return { name, config: existing.config }
    return this.createTopic(name, config)
  }

  topics(): TopicInfo[] {
    return [...this.#topics.values()].map((t) => ({ name: t.name, config: t.config }))
  }

  // ---- append -------------------------------------------------------------------------------

  /** Appends one record; resolves once it is durable. See `appendBatch`. */
  async append(topic: string, record: RecordInput): Promise<AppendResult> {
    const [result] = await this.appendBatch(topic, [record])
    return result!
  }

  /**
   * Appends records to a topic, each to its explicit partition, else its key's murmur2 partition,
   * else round-robin. Resolves with each record's partition and offset once all are durable.
   * The batch is validated first: one bad record rejects the whole call and writes nothing
   * (UNKNOWN_TOPIC, UNKNOWN_PARTITION, INVALID_ARGUMENT, RECORD_TOO_LARGE, LOG_CLOSED).
   */
  appendBatch(topicName: string, records: readonly RecordInput[]): Promise<AppendResult[]> {
    let prepared: PreparedAppend
    try {
      prepared = this.#prepare(topicName, records)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    if (prepared.sizes.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      this.#pending.push({ ...prepared, resolve, reject })
      this.#scheduleCommit()
    })
  }

  /**
   * Validates a batch (throws, counting the rejection by code), picks each record's partition and
   * timestamp, and encodes the records, so nothing the caller does afterwards can change them.
   */
  #prepare(topicName: string, records: readonly RecordInput[]): PreparedAppend {
    try {
      this.#assertOpen()
      const topic = this.#topic(topicName)
      const list: unknown = records
      if (!Array.isArray(list)) {
        throw new LogError(
          'INVALID_ARGUMENT',
          `appendBatch takes an array of records for ${topic.name}; use append for one`,
        )
      }
      // Plain arrays: typed arrays' off-heap backing stores made young-generation GCs several times slower at 20k appends/s.
      const partitions: number[] = []
      const timestamps: number[] = []
      const sizes: number[] = []
      const now = this.#options.clock()
      const appendTime = topic.config.timestampType === 'LogAppendTime'
      let total = 0
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!
        if (typeof record !== 'object' || (record as RecordInput | null) === null) {
          throw new LogError(
            'INVALID_ARGUMENT',
            `record ${i} for ${topic.name} is ${(record as RecordInput | null) === null ? 'null' : typeof record}, not a record object`,
          )
        }
        const timestampMs = appendTime ? now : (record.timestampMs ?? now)
        // Validated before hashing: a bogus key must not reach murmur2.
        const size = this.#validateRecord(topic, record, i, timestampMs)
        partitions.push(this.#choosePartition(topic, record, i))
        timestamps.push(timestampMs)
        sizes.push(size)
        total += size
      }
      this.#checkHardLimit(topic, total + sizes.length * RECORD_OVERHEAD_BYTES)
      const encoded = this.#encodeBuffers.take(total)
      let position = 0
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!
        position = encodeRecord(
          encoded,
          position,
          record.key,
          record.value,
          timestamps[i]!,
          record.headers ?? EMPTY_HEADERS,
        )
      }
      return { topic, partitions, timestamps, sizes, encoded }
    } catch (error) {
      const code = error instanceof LogError ? error.code : 'UNKNOWN'
      this.#rejected[code] = (this.#rejected[code] ?? 0) + 1
      throw error
    }
  }

  /**
   * The hard limit stops the disk from filling when floors hold everything (the replicator is
   * offline for long): appends are then refused with a retriable DISK_BUDGET_EXCEEDED, which the
   * caller must surface (a technical alarm) — unlike the budget, which only trims.
   */
  #checkHardLimit(topic: TopicState, bytes: number): void {
    const limit = this.#hardLimitBytes
    // The lowest class is never refused: the budget trims it regardless of floors.
    if (limit === null || topic.config.priorityClass === priorityClasses[0]) return
    let held = 0
    for (const other of this.#topics.values()) {
      if (other.config.priorityClass !== priorityClasses[0])
        for (const ps of other.partitions) held += ps.bytes
    }
    if (held + bytes > limit) {
      throw new LogError(
        'DISK_BUDGET_EXCEEDED',
        `appending ${bytes} bytes to ${topic.name} would take the log's ${priorityClasses.slice(1).join('/')} data to ${held + bytes} bytes, over diskHardLimitBytes=${limit}; replicate it (floors hold it) or raise the limit`,
        { retriable: true },
      )
    }
  }

  get #hardLimitBytes(): number | null {
    const { diskHardLimitBytes, diskBudgetBytes } = this.#options
    return (
      diskHardLimitBytes ?? (diskBudgetBytes === null ? null : diskBudgetBytes * DEFAULT_HARD_LIMIT_FACTOR)
    )
  }

  /**
   * Runs `work` inside ONE durable LMDB write transaction, in which it may append records and
   * commit consumer offsets through `tx`: all of it is committed together, or — if `work` throws —
   * none of it, and the error is rethrown. Appends made before the call are committed first, so
   * offsets follow call order. Records appended through `tx` are acknowledged (readable) when
   * `transact` returns. This is the exactly-once primitive of the streams engine: a task's
   * outputs, input offsets and state changes commit in one transaction. `work` must be
   * synchronous and must not call `transact` again.
   */
  transact<T>(work: (tx: LogTransaction) => T): T {
    this.#assertOpen()
    if (this.#inTransaction) {
      throw new LogError(
        'INVALID_ARGUMENT',
        'transact cannot be nested; do all the work in the outer transaction',
      )
    }
    this.#commitPending()
    const scope = newScope()
    let active = true
    const assertActive = (): void => {
      if (!active)
        throw new LogError(
          'INVALID_ARGUMENT',
          'this LogTransaction has ended; use it only inside its work function',
        )
    }
    const tx: LogTransaction = {
      append: (topic, records) => {
        assertActive()
        const prepared = this.#prepare(topic, records)
        const results = this.#writeRecords(prepared, scope)
        this.#encodeBuffers.give(prepared.encoded)
        return results
      },
      commitOffset: (group, topic, partition, offset, metadata = '') => {
        assertActive()
        this.#offsetsDb.putSync(...this.#offsetEntry(group, topic, partition, offset, metadata))
      },
    }
    let result: T
    this.#inTransaction = true
    try {
      result = this.#env.transactionSync(() => {
        const value = work(tx)
        if (typeof (value as { then?: unknown } | null)?.then === 'function') {
          // An async work function would commit before its awaits ran; throwing here aborts the transaction.
          throw new LogError(
            'INVALID_ARGUMENT',
            'transact work must be synchronous; it returned a promise, so nothing was committed',
          )
        }
        this.#finishWrites(scope.ends)
        return value
      })
    } catch (error) {
      this.#rollback(scope.ends)
      throw error
    } finally {
      active = false
      this.#inTransaction = false
    }
    this.#published(scope)
    return result
  }

  #choosePartition(topic: TopicState, record: RecordInput, index: number): number {
    const n = topic.config.partitions
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= n) {
        throw new LogError(
          'UNKNOWN_PARTITION',
          `record ${index}: partition ${record.partition} does not exist; topic ${topic.name} has partitions 0..${n - 1}`,
        )
      }
      return record.partition
    }
    if (record.key) return n === 1 ? 0 : partitionForKey(record.key, n)
    topic.roundRobin = (topic.roundRobin + 1) % n
    return topic.roundRobin
  }

  /** Throws on a bad record; returns its encoded size. */
  #validateRecord(topic: TopicState, record: RecordInput, index: number, timestampMs: number): number {
    if (!(record.value instanceof Uint8Array)) {
      throw new LogError('INVALID_ARGUMENT', `record ${index} for ${topic.name}: value must be a Uint8Array`)
    }
    if (record.key != null && !(record.key instanceof Uint8Array)) {
      throw new LogError(
        'INVALID_ARGUMENT',
        `record ${index} for ${topic.name}: key must be a Uint8Array or null`,
      )
    }
    if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
      throw new LogError(
        'INVALID_ARGUMENT',
        `record ${index} for ${topic.name}: timestampMs must be an integer ≥ 0 (ms since the epoch), got ${timestampMs}`,
      )
    }
    const headers = record.headers ?? EMPTY_HEADERS
    if (typeof headers !== 'object' || (headers as RecordHeaders | null) === null) {
      throw new LogError(
        'INVALID_ARGUMENT',
        `record ${index} for ${topic.name}: headers must be an object of Uint8Array values`,
      )
    }
    let headerCount = 0
    for (const name in headers) {
      if (++headerCount > MAX_HEADERS) {
        throw new LogError(
          'INVALID_ARGUMENT',
          `record ${index} for ${topic.name}: more than ${MAX_HEADERS} headers`,
        )
      }
      if (!(headers[name] instanceof Uint8Array)) {
        throw new LogError(
          'INVALID_ARGUMENT',
          `record ${index} for ${topic.name}: header ${name} must be a Uint8Array`,
        )
      }
      if (Buffer.byteLength(name) > 0xffff) {
        throw new LogError(
          'INVALID_ARGUMENT',
          `record ${index} for ${topic.name}: header name longer than 65535 bytes`,
        )
      }
    }
    const size = encodedRecordSize(record.key, record.value, headers)
    if (size > this.#options.maxRecordBytes) {
      throw new LogError(
        'RECORD_TOO_LARGE',
        `record ${index} for ${topic.name} is ${size} bytes encoded, over maxRecordBytes=${this.#options.maxRecordBytes}; split it (e.g. smaller sample blocks) or raise maxRecordBytes`,
      )
    }
    return size
  }

  #scheduleCommit(): void {
    if (this.#commitScheduled) return
    this.#commitScheduled = true
    setImmediate(() => {
      this.#commitScheduled = false
      this.#commitPending()
    })
  }

  /** Commits everything appended since the last commit as one durable transaction, then acknowledges it. */
  #commitPending(): void {
    if (this.#pending.length === 0) return
    const batch = this.#pending
    this.#pending = []
    const scope = newScope()
    const results: AppendResult[][] = []
    try {
      this.#env.transactionSync(() => {
        for (const item of batch) results.push(this.#writeRecords(item, scope))
        this.#finishWrites(scope.ends)
      })
      for (const item of batch) this.#encodeBuffers.give(item.encoded)
    } catch (cause) {
      this.#rollback(scope.ends)
      const error = new LogError('STORAGE_FAILURE', `append failed and was not written: ${String(cause)}`, {
        cause,
        retriable: true,
      })
      this.#rejected.STORAGE_FAILURE = (this.#rejected.STORAGE_FAILURE ?? 0) + batch.length
      for (const item of batch) item.reject(error)
      return
    }
    this.#published(scope)
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!)
  }

  /** After a failed transaction: in-memory partition state back to what is on disk. */
  #rollback(ends: Map<PartitionState, number>): void {
    for (const ps of ends.keys()) {
      ps.builder?.reset()
      this.#loadPartition(ps)
    }
  }

  /** After a commit: the new records become readable, their subscribers wake, the budget is checked. */
  #published(scope: CommitScope): void {
    this.#commits++
    this.#appendedRecords += scope.records
    this.#appendedBytes += scope.bytes
    this.#latency.record(performance.now() - scope.started)
    for (const [ps, end] of scope.ends) {
      ps.durableNext = end
      if (ps.waiters.size > 0) {
        const waiters = [...ps.waiters]
        ps.waiters.clear()
        for (const wake of waiters) wake()
      }
    }
    this.#afterCommit()
  }

  /** Inside the write transaction: copies one prepared append into its partitions' batches. */
  #writeRecords(item: PreparedAppend, scope: CommitScope): AppendResult[] {
    const indexInterval = this.#options.timeIndexIntervalBytes
    const { topic, partitions, timestamps, sizes, encoded } = item
    const out: AppendResult[] = new Array<AppendResult>(sizes.length)
    let position = 0
    for (let i = 0; i < sizes.length; i++) {
      const ps = topic.partitions[partitions[i]!]!
      const size = sizes[i]!
      const builder = (ps.builder ??= new BatchBuilder(MAX_BATCH_BYTES))
      if (!builder.fits(size, MAX_BATCH_BYTES)) this.#putBatch(ps, builder)
      const offset = ps.next++
      // Recorded before anything can throw, so a failed transaction reloads every partition it touched.
      scope.ends.set(ps, ps.next)
      const timestampMs = timestamps[i]!
      const at = builder.begin(size, offset)
      encoded.copy(builder.buffer, at, position, position + size)
      position += size
      const stored = size + RECORD_OVERHEAD_BYTES
      ps.bytes += stored
      if (timestampMs > ps.maxTimestampMs) {
        ps.maxTimestampMs = timestampMs
        if (!ps.indexed || ps.bytesSinceIndex >= indexInterval) {
          this.#timeIndex.putSync(makeKey(topic.id, ps.partition, timestampMs), offset)
          ps.indexed = true
          ps.bytesSinceIndex = 0
        }
      }
      ps.bytesSinceIndex += stored
      scope.bytes += stored
      out[i] = { partition: ps.partition, offset }
    }
    scope.records += sizes.length
    return out
  }

  /** Inside the write transaction, last: writes the partially filled batches and the partitions' metadata. */
  #finishWrites(ends: Map<PartitionState, number>): void {
    for (const ps of ends.keys()) {
      if (ps.builder && ps.builder.count > 0) this.#putBatch(ps, ps.builder)
      this.#putPartitionMeta(ps)
    }
  }

  #putBatch(ps: PartitionState, builder: BatchBuilder): void {
    this.#records.putSync(
      writeKey(this.#keyScratch, ps.topic.id, ps.partition, builder.baseOffset),
      builder.finish(),
    )
    builder.reset()
  }

  /**
   * Calls `visit` with each stored record (a view) and its offset in [from, end), in order, until
   * it returns false. Reads the current read snapshot (or the write transaction, inside one).
   */
  #scanStored(
    ps: PartitionState,
    from: number,
    end: number,
    visit: (stored: Buffer, offset: number) => boolean,
  ): void {
    if (from >= end) return
    const { id } = ps.topic
    const { partition } = ps
    let base = from
    for (const key of this.#records.getKeys({
      start: makeKey(id, partition, from),
      end: partitionKey(id, partition),
      reverse: true,
      limit: 1,
    })) {
      base = keyValue(key)
    }
    for (const { key, value } of this.#records.getRange({
      start: makeKey(id, partition, base),
      end: makeKey(id, partition, end),
    })) {
      if (!walkBatch(value, keyValue(key), from, end, visit)) return
    }
  }

  #putPartitionMeta(ps: PartitionState): void {
    this.#partitionMeta.putSync(partitionKey(ps.topic.id, ps.partition), {
      start: ps.start,
      bytes: ps.bytes,
      maxTimestampMs: ps.maxTimestampMs,
      bytesSinceIndex: ps.bytesSinceIndex,
      indexed: ps.indexed,
    })
  }

  /** Over budget after a commit: run a pass, or one more after the running one (it may have planned before this commit). */
  #afterCommit(): void {
    const budget = this.#options.diskBudgetBytes
    if (budget === null || this.#maintenanceQueued || this.#logBytes() <= budget) return
    this.#maintenanceQueued = true
    const pass = this.#maintenance.then(() => {
      this.#maintenanceQueued = false
    })
    this.#maintenance = pass
    this.#queueRetention().catch((error: unknown) => {
      this.#retentionFailed(error)
    })
  }

  // ---- read ---------------------------------------------------------------------------------

  /**
   * Reads acknowledged records from `fromOffset` (inclusive), at most `maxRecords` and, past the
   * first record, at most `maxBytes` of stored bytes. Returns [] at the end of the log. Throws
   * OFFSET_OUT_OF_RANGE below the log start (trimmed) or past the end.
   */
  read(
    topicName: string,
    partition: number,
    fromOffset: number,
    options: { maxRecords?: number; maxBytes?: number } = {},
  ): LogRecord[] {
    this.#assertOpen()
    const ps = this.#partition(topicName, partition)
    this.#checkOffset(ps, fromOffset)
    const maxRecords = options.maxRecords ?? DEFAULT_READ_MAX_RECORDS
    const maxBytes = options.maxBytes ?? DEFAULT_READ_MAX_BYTES
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      throw new LogError('INVALID_ARGUMENT', `maxRecords must be an integer ≥ 1, got ${maxRecords}`)
    }
    if (!(maxBytes >= 0))
      throw new LogError('INVALID_ARGUMENT', `maxBytes must be a number ≥ 0, got ${maxBytes}`)
    const end = Math.min(ps.durableNext, fromOffset + maxRecords)
    const out: LogRecord[] = []
    if (fromOffset >= end) return out
    const { name } = ps.topic
    let bytes = 0
    this.#scanStored(ps, fromOffset, end, (stored, offset) => {
      if (out.length === 0 && offset !== fromOffset) throw outOfRange(ps, fromOffset) // trimmed meanwhile
      bytes += stored.length + RECORD_OVERHEAD_BYTES
      if (bytes > maxBytes && out.length > 0) return false
      out.push(decodeRecord(stored, name, partition, offset))
      return true
    })
    return out
  }

  /**
   * Follows a partition from `fromOffset` ('earliest', 'latest' or an offset), yielding each
   * acknowledged record; waits for appends without polling. Ends when closed, when `signal`
   * aborts, or when the log closes; throws OFFSET_OUT_OF_RANGE if its position is trimmed.
   */
  subscribe(topicName: string, partition: number, options: SubscribeOptions = {}): Subscription {
    this.#assertOpen()
    const ps = this.#partition(topicName, partition)
    const batchSize = options.batchSize ?? DEFAULT_READ_MAX_RECORDS
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new LogError('INVALID_ARGUMENT', `batchSize must be an integer ≥ 1, got ${batchSize}`)
    }
    const from = options.fromOffset ?? 'earliest'
    const start = from === 'earliest' ? ps.start : from === 'latest' ? ps.durableNext : from
    this.#checkOffset(ps, start)
    const subscription = new Subscription(
      {
        read: (offset, maxRecords) => this.read(topicName, partition, offset, { maxRecords }),
        waitForAppend: (position, wake) => {
          if (this.#closed || ps.durableNext > position) {
            wake()
            return () => undefined
          }
          ps.waiters.add(wake)
          return () => ps.waiters.delete(wake)
        },
        isClosed: () => this.#closed,
        onClose: (s) => this.#subscriptions.delete(s),
      },
      start,
      options,
    )
    this.#subscriptions.add(subscription)
    return subscription
  }

  /**
   * The earliest offset whose timestamp is ≥ `timestampMs` (Kafka's offsetsForTimes), or null if
   * no retained record is that recent. Uses a sparse index of running-maximum timestamps.
   */
  offsetForTimestamp(topicName: string, partition: number, timestampMs: number): number | null {
    this.#assertOpen()
    const ps = this.#partition(topicName, partition)
    if (!Number.isFinite(timestampMs)) {
      throw new LogError('INVALID_ARGUMENT', `timestampMs must be a finite number, got ${timestampMs}`)
    }
    return this.#offsetForTimestamp(ps, timestampMs, ps.durableNext)
  }

  #offsetForTimestamp(ps: PartitionState, timestampMs: number, end: number): number | null {
    if (ps.start >= end) return null
    const { partition } = ps
    const { id } = ps.topic
    if (timestampMs > ps.maxTimestampMs) return null
    const target = Math.max(0, Math.ceil(timestampMs))
    let from = ps.start
    // Last index entry (maxTs, offset) with maxTs < target: every record up to `offset` is older.
    for (const { value } of this.#timeIndex.getRange({
      start: makeKey(id, partition, target),
      end: partitionKey(id, partition),
      reverse: true,
      exclusiveStart: true,
      limit: 1,
    })) {
      from = Math.max(from, value + 1)
    }
    let found: number | null = null
    this.#scanStored(ps, from, end, (stored, offset) => {
      if (storedTimestamp(stored) < target) return true
      found = offset
      return false
    })
    return found
  }

  /**
   * Resolves once a record at or past `position` is readable on `topic`/`partition` (at once if one
   * is), when the log closes, or when `signal` aborts — whichever is first. For consumers that drain
   * a partition synchronously and then wait, without polling or a subscription.
   */
  waitForAppend(topicName: string, partition: number, position: number, signal?: AbortSignal): Promise<void> {
    this.#assertOpen()
    const ps = this.#partition(topicName, partition)
    if (ps.durableNext > position || signal?.aborted === true) return Promise.resolve()
    return new Promise((resolve) => {
      const wake = (): void => {
        ps.waiters.delete(wake)
        signal?.removeEventListener('abort', wake)
        resolve()
      }
      ps.waiters.add(wake)
      signal?.addEventListener('abort', wake, { once: true })
    })
  }

  /** First retained offset. */
  startOffset(topicName: string, partition: number): number {
    this.#assertOpen()
    return this.#partition(topicName, partition).start
  }

  /** One past the last acknowledged offset (Kafka's high watermark). */
  endOffset(topicName: string, partition: number): number {
    this.#assertOpen()
    return this.#partition(topicName, partition).durableNext
  }

  // ---- consumer offsets ---------------------------------------------------------------------

  /** Durably stores `group`'s next offset to read on a partition (Kafka semantics: the offset after the last processed record). */
  async commitOffset(
    group: string,
    topicName: string,
    partition: number,
    offset: number,
    metadata = '',
  ): Promise<void> {
    await this.#offsetsDb.put(...this.#offsetEntry(group, topicName, partition, offset, metadata))
  }

  /** Validates an offset commit; returns its key and value. */
  #offsetEntry(
    group: string,
    topicName: string,
    partition: number,
    offset: number,
    metadata: string,
  ): [[string, string, number], CommittedOffset] {
    this.#assertOpen()
    if (typeof group !== 'string' || group.length === 0 || group.length > 255) {
      throw new LogError(
        'INVALID_ARGUMENT',
        `consumer group must be a string of 1–255 characters, got ${JSON.stringify(group)}`,
      )
    }
    const ps = this.#partition(topicName, partition)
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > ps.next) {
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `cannot commit offset ${offset} for ${group} on ${topicName}/${partition}; valid is 0..${ps.next}`,
      )
    }
    return [[group, topicName, partition], { offset, metadata, committedAtMs: this.#options.clock() }]
  }

  fetchOffset(group: string, topicName: string, partition: number): CommittedOffset | undefined {
    this.#assertOpen()
    this.#partition(topicName, partition)
    return this.#offsetsDb.get([group, topicName, partition])
  }

  // ---- floors, retention, disk budget -------------------------------------------------------

  /**
   * Holds records at offsets ≥ `offset` against trimming by retention, and against the disk budget
   * for every class above the lowest. Each holder (e.g. 'replicator') has one floor per
   * partition; the effective floor is the lowest. Persisted.
   */
  async holdFloor(holder: string, topicName: string, partition: number, offset: number): Promise<void> {
    this.#assertOpen()
    const ps = this.#partition(topicName, partition)
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new LogError('INVALID_ARGUMENT', `floor offset must be an integer ≥ 0, got ${offset}`)
    }
    this.#floorMap(ps).set(holder, offset)
    await this.#floorsDb.put([holder, topicName, partition], offset)
  }

  async releaseFloor(holder: string, topicName: string, partition: number): Promise<void> {
    this.#assertOpen()
    const ps = this.#partition(topicName, partition)
    this.#floorMap(ps).delete(holder)
    await this.#floorsDb.remove([holder, topicName, partition])
  }

  /** The effective floor of a partition, or undefined when nothing holds it. */
  floor(topicName: string, partition: number): number | undefined {
    this.#assertOpen()
    return this.#floorOf(this.#partition(topicName, partition))
  }

  #floorMap(ps: PartitionState): Map<string, number> {
    let map = this.#floors.get(ps)
    if (!map) this.#floors.set(ps, (map = new Map<string, number>()))
    return map
  }

  #floorOf(ps: PartitionState): number | undefined {
    const map = this.#floors.get(ps)
    if (!map || map.size === 0) return undefined
    return Math.min(...map.values())
  }

  /**
   * Applies time and byte retention to every partition, then the disk budget; resolves with
   * what was trimmed (also emitted as 'trimmed' events). Runs in the background every
   * retentionCheckIntervalMs and after a commit that takes the log over its budget.
   */
  enforceRetention(): Promise<TrimEvent[]> {
    this.#assertOpen()
    return this.#queueRetention()
  }

  /**
   * Kafka's deleteRecords: makes `beforeOffset` the partition's first offset, deleting the records
   * below it (durably; reported as a 'trimmed' event with reason 'delete-records'). Resolves with
   * that event, or undefined if nothing was below. For administrative resets (e.g. a streams
   * application's internal topics); it never deletes what a floor holds. Throws OFFSET_OUT_OF_RANGE
   * for an offset past the end, INVALID_ARGUMENT if a floor is below `beforeOffset`.
   */
  deleteRecords(topicName: string, partition: number, beforeOffset: number): Promise<TrimEvent | undefined> {
    try {
      return this.#deleteRecords(topicName, partition, beforeOffset)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  #deleteRecords(topicName: string, partition: number, beforeOffset: number): Promise<TrimEvent | undefined> {
    this.#assertOpen()
    const ps = this.#partition(topicName, partition)
    if (!Number.isSafeInteger(beforeOffset) || beforeOffset < 0 || beforeOffset > ps.durableNext) {
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `cannot delete records of ${topicName}/${partition} before ${beforeOffset}; valid is 0..${ps.durableNext}`,
      )
    }
    const floor = this.#floorOf(ps)
    if (floor !== undefined && floor < beforeOffset) {
      throw new LogError(
        'INVALID_ARGUMENT',
        `a floor holds ${topicName}/${partition} at offset ${floor}; release it (releaseFloor) before deleting records up to ${beforeOffset}`,
      )
    }
    const run = this.#maintenance.then(() => {
      if (beforeOffset <= ps.start) return undefined
      let bytes = 0
      this.#scanStored(ps, ps.start, beforeOffset, (stored) => {
        bytes += stored.length + RECORD_OVERHEAD_BYTES
        return true
      })
      const plan: TrimPlan = {
        ps,
        toOffset: beforeOffset,
        records: beforeOffset - ps.start,
        bytes,
        reason: 'delete-records',
        belowFloorRecords: 0,
      }
      return this.#trim([plan])[0]
    })
    this.#maintenance = run.catch(() => undefined)
    return run
  }

  // Not 'error': an EventEmitter 'error' with no listener would crash the gateway.
  #retentionFailed(error: unknown): void {
    this.#retentionFailures++
    this.emit('retention-failed', error instanceof Error ? error : new Error(String(error)))
  }

  /** Passes run one at a time; `close` waits for the queued ones before closing LMDB. */
  #queueRetention(): Promise<TrimEvent[]> {
    const run = this.#maintenance.then(() => this.#runRetention())
    this.#maintenance = run.catch(() => undefined)
    return run
  }

  #runRetention(): TrimEvent[] {
    const events: TrimEvent[] = []
    const now = this.#options.clock()
    const retentionPlans: TrimPlan[] = []
    for (const topic of this.#topics.values()) {
      const { retentionMs, retentionBytes } = topic.config
      if (retentionMs === null && retentionBytes === null) continue
      for (const ps of topic.partitions) {
        const plan = this.#planRetention(ps, now, retentionMs, retentionBytes)
        if (plan) retentionPlans.push(plan)
      }
    }
    events.push(...this.#trim(retentionPlans))
    const budget = this.#options.diskBudgetBytes
    // Appends keep committing while a trim runs, so re-plan until within budget or nothing is left to trim.
    while (budget !== null && this.#logBytes() > budget) {
      const plans = this.#planBudget(this.#logBytes() - budget)
      if (plans.length === 0) {
        if (!this.#overBudget) {
          this.#overBudget = true
          this.emit('budget-exceeded', { logBytes: this.#logBytes(), budgetBytes: budget })
        }
        break
      }
      events.push(...this.#trim(plans))
    }
    if (budget !== null && this.#overBudget && this.#logBytes() <= budget) {
      this.#overBudget = false
      this.emit('budget-recovered', { logBytes: this.#logBytes(), budgetBytes: budget })
    }
    return events
  }

  #planRetention(
    ps: PartitionState,
    now: number,
    retentionMs: number | null,
    retentionBytes: number | null,
  ): TrimPlan | undefined {
    const floor = this.#floorOf(ps)
    const limit = Math.min(ps.durableNext, floor ?? Infinity)
    if (ps.start >= limit) return undefined
    let byTime = ps.start
    if (retentionMs !== null) byTime = this.#offsetForTimestamp(ps, now - retentionMs, limit) ?? limit
    const mustFree = retentionBytes === null ? 0 : ps.bytes - retentionBytes
    let to = ps.start
    let bytes = 0
    this.#scanStored(ps, ps.start, limit, (stored) => {
      if (to >= byTime && bytes >= mustFree) return false
      bytes += stored.length + RECORD_OVERHEAD_BYTES
      to++
      return true
    })
    if (to === ps.start) return undefined
    return {
      ps,
      toOffset: to,
      records: to - ps.start,
      bytes,
      reason: to > byTime ? 'retention-bytes' : 'retention-time',
      belowFloorRecords: 0,
    }
  }

  /** Frees `needed` bytes: lowest priority class first, oldest record (by timestamp) first across its partitions. */
  #planBudget(needed: number): TrimPlan[] {
    const plans: TrimPlan[] = []
    let freed = 0
    for (const priorityClass of priorityClasses) {
      if (freed >= needed) break
      const lowest = priorityClass === priorityClasses[0]
      // No partition gives more than what is still needed, so each candidate list is bounded by it.
      const candidates: {
        ps: PartitionState
        timestamps: number[]
        sizes: number[]
        taken: number
        bytes: number
      }[] = []
      for (const topic of this.#topics.values()) {
        if (topic.config.priorityClass !== priorityClass) continue
        for (const ps of topic.partitions) {
          const limit = lowest ? ps.durableNext : Math.min(ps.durableNext, this.#floorOf(ps) ?? Infinity)
          const timestamps: number[] = []
          const sizes: number[] = []
          let bytes = 0
          this.#scanStored(ps, ps.start, limit, (stored) => {
            timestamps.push(storedTimestamp(stored))
            sizes.push(stored.length + RECORD_OVERHEAD_BYTES)
            bytes += stored.length + RECORD_OVERHEAD_BYTES
            return bytes < needed - freed
          })
          if (timestamps.length > 0) candidates.push({ ps, timestamps, sizes, taken: 0, bytes: 0 })
        }
      }
      while (freed < needed) {
        let oldest: (typeof candidates)[number] | undefined
        for (const c of candidates) {
          if (
            c.taken < c.timestamps.length &&
            (!oldest || c.timestamps[c.taken]! < oldest.timestamps[oldest.taken]!)
          ) {
            oldest = c
          }
        }
        if (!oldest) break
        const size = oldest.sizes[oldest.taken++]!
        oldest.bytes += size
        freed += size
      }
      for (const c of candidates) {
        if (c.taken === 0) continue
        const toOffset = c.ps.start + c.taken
        const floor = this.#floorOf(c.ps)
        plans.push({
          ps: c.ps,
          toOffset,
          records: c.taken,
          bytes: c.bytes,
          reason: 'disk-budget',
          belowFloorRecords: floor === undefined ? 0 : Math.max(0, toOffset - Math.max(floor, c.ps.start)),
        })
      }
    }
    return plans
  }

  /** Inside a write transaction: deletes a partition's records below `toOffset`, rewriting the batch that straddles it. */
  #dropRecords(ps: PartitionState, toOffset: number): void {
    const { id } = ps.topic
    const { partition } = ps
    // Keys only: values are copied out of LMDB, and only the last batch can straddle toOffset.
    const doomed = [
      ...this.#records.getKeys({ start: partitionKey(id, partition), end: makeKey(id, partition, toOffset) }),
    ]
    const last = doomed.at(-1)
    const straddling = last === undefined ? undefined : this.#records.get(last)
    for (const key of doomed) this.#records.removeSync(key)
    if (last !== undefined && straddling !== undefined) {
      const base = keyValue(last)
      if (base + batchCount(straddling) > toOffset) {
        this.#records.putSync(makeKey(id, partition, toOffset), dropBatchHead(straddling, toOffset - base))
      }
    }
  }

  #trim(plans: TrimPlan[]): TrimEvent[] {
    if (plans.length === 0) return []
    const events: TrimEvent[] = []
    const touched = plans.map((p) => p.ps)
    try {
      this.#env.transactionSync(() => {
        for (const plan of plans) {
          const { ps, toOffset } = plan
          const { partition } = ps
          const fromOffset = ps.start
          this.#dropRecords(ps, toOffset)
          this.#trimTimeIndex(ps, toOffset)
          ps.start = toOffset
          ps.bytes -= plan.bytes
          this.#putPartitionMeta(ps)
          events.push({
            topic: ps.topic.name,
            partition,
            priorityClass: ps.topic.config.priorityClass,
            fromOffset,
            toOffset,
            records: plan.records,
            bytes: plan.bytes,
            reason: plan.reason,
            belowFloorRecords: plan.belowFloorRecords,
          })
        }
      })
    } catch (cause) {
      for (const ps of touched) this.#loadPartition(ps)
      throw new LogError('STORAGE_FAILURE', `trimming failed and was rolled back: ${String(cause)}`, {
        cause,
        retriable: true,
      })
    }
    for (const event of events) {
      this.#trimmedRecords[event.topic] = (this.#trimmedRecords[event.topic] ?? 0) + event.records
      this.#trimmedBytes[event.topic] = (this.#trimmedBytes[event.topic] ?? 0) + event.bytes
      this.emit('trimmed', event)
    }
    for (const subscription of this.#subscriptions) subscription.wake()
    return events
  }

  /** Drops index entries wholly below the new start, keeping the last one (it still bounds lookups). */
  #trimTimeIndex(ps: PartitionState, newStart: number): void {
    const { partition } = ps
    const doomed: Buffer[] = []
    for (const { key, value } of this.#timeIndex.getRange({
      start: makeKey(ps.topic.id, partition, 0),
      end: makeKey(ps.topic.id, partition + 1, 0),
    })) {
      if (value >= newStart) break
      doomed.push(key)
    }
    doomed.pop()
    for (const key of doomed) this.#timeIndex.removeSync(key)
  }

  #logBytes(): number {
    let total = 0
    for (const topic of this.#topics.values()) for (const ps of topic.partitions) total += ps.bytes
    return total
  }

  // ---- metrics, lifecycle -------------------------------------------------------------------

  metrics(): LogMetrics {
    let fileBytes = 0
    try {
      fileBytes = statSync(join(this.#options.dataDir, DATA_FILE)).size
    } catch {
      // closed or removed: report 0
    }
    return {
      appendedRecords: this.#appendedRecords,
      appendedBytes: this.#appendedBytes,
      commits: this.#commits,
      flushLatency: this.#latency.snapshot(),
      rejectedAppends: { ...this.#rejected },
      trimmedRecords: { ...this.#trimmedRecords },
      trimmedBytes: { ...this.#trimmedBytes },
      logBytes: this.#logBytes(),
      fileBytes,
      retentionFailures: this.#retentionFailures,
      overBudget: this.#overBudget,
    }
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Waits for pending appends to become durable, ends subscriptions, closes LMDB, releases the directory. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#retentionTimer)
    for (const subscription of this.#subscriptions) subscription.wake()
    for (const topic of this.#topics.values()) {
      for (const ps of topic.partitions) for (const wake of [...ps.waiters]) wake()
    }
    this.#commitPending()
    await this.#maintenance
    try {
      await this.#env.close()
    } finally {
      this.#releaseLock()
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new LogError('LOG_CLOSED', `log ${this.#options.dataDir} is closed; open it again`)
  }

  #topic(name: string): TopicState {
    const topic = this.#topics.get(name)
    if (!topic) {
      validateTopicName(name)
      throw new LogError(
        'UNKNOWN_TOPIC',
        `topic ${name} does not exist; create it with createTopic/ensureTopic first`,
      )
    }
    return topic
  }

  #partition(topicName: string, partition: number): PartitionState {
    const topic = this.#topic(topicName)
    const ps = Number.isInteger(partition) ? topic.partitions[partition] : undefined
    if (!ps) {
      throw new LogError(
        'UNKNOWN_PARTITION',
        `partition ${partition} does not exist; topic ${topicName} has partitions 0..${topic.partitions.length - 1}`,
      )
    }
    return ps
  }

  #checkOffset(ps: PartitionState, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < ps.start || offset > ps.durableNext)
      throw outOfRange(ps, offset)
  }
}

function outOfRange(ps: PartitionState, offset: number): LogError {
  return new LogError(
    'OFFSET_OUT_OF_RANGE',
    `offset ${offset} is outside ${ps.topic.name}/${ps.partition}'s range [${ps.start}, ${ps.durableNext}]; ` +
      (offset < ps.start ? 'it was trimmed, resume from startOffset()' : 'read from at most endOffset()'),
  )
}

function newScope(): CommitScope {
  return { ends: new Map(), started: performance.now(), records: 0, bytes: 0 }
}

function newPartitionState(topic: TopicState, partition: number): PartitionState {
  return {
    topic,
    partition,
    start: 0,
    next: 0,
    durableNext: 0,
    bytes: 0,
    maxTimestampMs: -1,
    bytesSinceIndex: 0,
    indexed: false,
    waiters: new Set(),
    builder: undefined,
  }
}

function partitionKey(topicId: number, partition: number): Buffer {
  const key = Buffer.allocUnsafe(8)
  key.writeUInt32BE(topicId, 0)
  key.writeUInt32BE(partition, 4)
  return key
}

function openEnvironment(options: LogOptions, key: string | undefined): RootDatabase {
  try {
    return open({
      path: join(options.dataDir, DATA_FILE),
      maxDbs: 16,
      // Address space, not disk: reserving it up front spares the stop-the-world remaps of a growing map.
      mapSize: options.mapSizeBytes,
      // Synchronous commits: see the class comment.
      overlappingSync: false,
      cache: false,
      compression: false,
      ...(key !== undefined ? { encryptionKey: key } : {}),
    })
  } catch (cause) {
    throw unreadable(options, cause)
  }
}

function unreadable(options: LogOptions, cause: unknown): LogError {
  if (options.encryptionKey !== undefined) {
    return new LogError(
      'ENCRYPTION_KEY_MISMATCH',
      `cannot read ${options.dataDir} with the given encryptionKey (${String(cause)}); use the key it was created with`,
      { cause },
    )
  }
  return new LogError(
    'FORMAT_VERSION_MISMATCH',
    `cannot read ${options.dataDir} as a Vigil log (${String(cause)}); if it is encrypted pass its encryptionKey, otherwise point dataDir elsewhere`,
    { cause },
  )
}
