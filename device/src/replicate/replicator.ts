import { EventEmitter } from 'node:events'
import {
  partitionForKey,
  type Log,
  type LogRecord,
  type PriorityClass,
  type TrimEvent,
  type TrimReason,
} from '@vigil/core'
import {
  Kafka,
  logLevel,
  type Admin,
  type IHeaders,
  type Message,
  type Producer,
  type TopicMessages,
} from 'kafkajs'
import { classify, ReplicatorError, type ReplicatorErrorCode } from './errors.ts'
import { abortable, Backoff, delay, isAborted, TokenBucket } from './flow.ts'
import { defaultSocketFactory, guarded } from './sockets.ts'
import { OffsetReader, offsetKey, type OffsetRecord, type OffsetSnapshot } from './offset-reader.ts'
import {
  describeOptions,
  loadCredentials,
  parseReplicatorOptions,
  SEND_CHUNK_BYTES,
  SEND_CHUNK_RECORDS,
  type ReplicatorOptions,
  type ReplicatorOptionsInput,
} from './options.ts'

/** The log's tombstone marker (core/streams): an empty value with this header is a Kafka null value upstream. */
export const TOMBSTONE_HEADER = 'vigil.null-value'
/** Headers every upstream record carries (values are UTF-8 strings). */
export const HEADER_GATEWAY_ID = 'vigil.gateway-id'
export const HEADER_LOCAL_TOPIC = 'vigil.local-topic'
export const HEADER_LOCAL_OFFSET = 'vigil.local-offset'
export const HEADER_TIMESTAMP_MS = 'vigil.timestamp-ms'

export const partitionStates = ['starting', 'recovering', 'replicating', 'backoff', 'closed'] as const
export type PartitionState = (typeof partitionStates)[number]

export interface ReplicatorErrorInfo {
  readonly code: ReplicatorErrorCode
  readonly message: string
  readonly retriable: boolean
  readonly atMs: number
}

/** One local partition's replication, as `status()` reports it. */
export interface PartitionStatus {
  readonly topic: string
  readonly partition: number
  readonly upstreamTopic: string
  readonly priorityClass: PriorityClass
  readonly state: PartitionState
  /** First local offset not yet committed upstream; null until read from the offsets topic. */
  readonly replicatedOffset: number | null
  /** One past the last local record. */
  readonly endOffset: number
  /** Local records not yet committed upstream (unknown before the first recovery: counts from the floor). */
  readonly lagRecords: number
  /** Age of the oldest record not yet committed upstream, by its timestamp; 0 when caught up. */
  readonly lagSeconds: number
  /** When the last upstream transaction of this partition committed (ms since the epoch). */
  readonly lastSuccessMs: number | null
  /** The last failure; kept after recovery (compare `atMs` with `lastSuccessMs`). */
  readonly lastError: ReplicatorErrorInfo | null
  readonly consecutiveFailures: number
  readonly replicatedRecords: number
  /** Records reported upstream as trimmed before they were replicated. */
  readonly gapRecords: number
}

/*
 * gap record (topic <prefix>gaps): key utf8 "<topic>/<partition>", value utf8 JSON
 *   { v: 1, gatewayId, topic, partition, fromOffset, toOffset (exclusive), records, reason, reportedAtMs }
 */
export interface GapRecord {
  readonly v: 1
  readonly gatewayId: string
  readonly topic: string
  readonly partition: number
  readonly fromOffset: number
  readonly toOffset: number
  readonly records: number
  readonly reason: TrimReason | 'unknown'
  readonly reportedAtMs: number
}

export interface CommitEvent {
  readonly topic: string
  readonly partition: number
  /** The new replicated offset (exclusive end of what is upstream). */
  readonly nextOffset: number
  readonly records: number
  readonly gap: GapRecord | undefined
}

export interface ReplicatorEvents {
  committed: [CommitEvent]
  error: [{ topic: string | undefined; partition: number | undefined; error: ReplicatorError }]
}

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error'
  readonly message: string
  readonly [field: string]: unknown
}
export type ReplicatorLogger = (entry: LogEntry) => void

const defaultLogger: ReplicatorLogger = (entry) => {
  if (entry.level !== 'info')
    process.stderr.write(`${JSON.stringify({ component: 'replicator', ...entry })}\n`)
}

interface TopicPlan {
  readonly topic: string
  readonly upstreamTopic: string
  readonly partitions: number
  readonly priorityClass: PriorityClass
}

class Closed extends Error {}

/** While one error repeats, it is logged on the first attempt and then every this many. */
const LOG_EVERY_FAILURES = 10

/**
 * Replicates local log topics to an upstream Kafka cluster exactly once (KIP-618's exactly-once
 * source pattern). Per local partition a transactional producer (transactional.id
 * `<gatewayId>.<topic>.<partition>`) commits each batch of records together with an offset record
 * in `vigil.replication-offsets`; after any failure or restart it re-initialises the producer
 * (fencing a zombie and aborting its open transaction) and resumes at the committed offset read
 * with read_committed. Records go to the same partition number upstream with their key, timestamp
 * and headers, plus the gateway id, local topic, local offset and original timestamp as headers.
 *
 * The log's floor (holder `floorHolder`) is held at the replicated offset, so retention never
 * trims un-replicated vitals or alarms; waveform ranges trimmed under disk pressure before they
 * were replicated are reported as gap records in the same transaction as the next batch.
 */
export class Replicator extends EventEmitter<ReplicatorEvents> {
  readonly #log: Log
  readonly #options: ReplicatorOptions
  readonly #logger: ReplicatorLogger
  readonly #kafka: Kafka
  readonly #plans: TopicPlan[]
  readonly #gapsTopic: string
  readonly #bucket: TokenBucket
  readonly #closing = new AbortController()
  readonly #workers: PartitionWorker[] = []
  readonly #initialFloors = new Map<string, number>()
  #setupError: ReplicatorErrorInfo | null = null
  #admin: Admin | undefined
  #reader: OffsetReader | undefined
  #offsetsPartitions = 1
  #gapsPartitions = 1
  #run: Promise<void> = Promise.resolve()
  readonly #onTrimmed = (event: TrimEvent): void => {
    for (const w of this.#workers)
      if (w.topic === event.topic && w.partition === event.partition) w.trimmed(event)
  }

  private constructor(
    log: Log,
    options: ReplicatorOptions,
    logger: ReplicatorLogger,
    plans: TopicPlan[],
    gapsTopic: string,
  ) {
    super()
    this.#log = log
    this.#options = options
    this.#logger = logger
    this.#plans = plans
    this.#gapsTopic = gapsTopic
    const credentials = loadCredentials(options)
    this.#kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      ssl: credentials.ssl,
      ...(credentials.sasl && { sasl: credentials.sasl }),
      connectionTimeout: options.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // Short client-level retries: the replicator's own backoff (with jitter) handles outages.
      // factor and multiplier pinned: kafkajs swaps in other defaults when NODE_ENV is 'test'.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000, factor: 0.2, multiplier: 2 },
      logLevel: logLevel.NOTHING,
      socketFactory: options.socketFactory ? guarded(options.socketFactory) : defaultSocketFactory,
    })
    this.#bucket = new TokenBucket(
      options.maxBytesPerSecond,
      options.burstBytes ?? Math.max(options.maxBytesPerSecond ?? 0, options.maxBatchBytes),
      options.clock,
    )
  }

  /**
   * Validates the options (INVALID_CONFIG naming the field; UNKNOWN_LOCAL_TOPIC), reads the TLS
   * and SASL files, holds the floor on every partition, and starts replicating in the background.
   * Does not wait for the brokers: an unreachable cluster shows in `status()` and is retried.
   */
  static async start(
    log: Log,
    input: ReplicatorOptionsInput,
    hooks: { logger?: ReplicatorLogger } = {},
  ): Promise<Replicator> {
    const options = parseReplicatorOptions(input)
    const prefix = options.topicPrefix ?? `vigil.${options.gatewayId}.`
    const local = new Map(log.topics().map((t) => [t.name, t]))
    const names = options.topics ?? [...local.keys()]
    const plans: TopicPlan[] = names.map((topic) => {
      const info = local.get(topic)
      if (!info) {
        throw new ReplicatorError(
          'UNKNOWN_LOCAL_TOPIC',
          `topics: local topic ${JSON.stringify(topic)} does not exist (known: ${[...local.keys()].join(', ') || 'none'}); create it first or remove it from topics`,
        )
      }
      return {
        topic,
        upstreamTopic: options.topicNames[topic] ?? `${prefix}${topic}`,
        partitions: info.config.partitions,
        priorityClass: info.config.priorityClass,
      }
    })
    const gapsTopic = options.gapsTopic ?? `${prefix}gaps`
    const seen = new Map<string, string>([
      [options.offsetsTopic, 'offsetsTopic'],
      [gapsTopic, 'gapsTopic'],
    ])
    for (const plan of plans) {
      if (plan.upstreamTopic.length > 249) {
        throw new ReplicatorError(
          'INVALID_CONFIG',
          `upstream topic name for ${plan.topic} is over 249 characters; shorten topicPrefix`,
        )
      }
      const other = seen.get(plan.upstreamTopic)
      if (other !== undefined) {
        throw new ReplicatorError(
          'INVALID_CONFIG',
          `upstream topic ${plan.upstreamTopic} (for local ${plan.topic}) is also used by ${other}; give it another name in topicNames`,
        )
      }
      seen.set(plan.upstreamTopic, `local topic ${plan.topic}`)
    }
    const replicator = new Replicator(log, options, hooks.logger ?? defaultLogger, plans, gapsTopic)
    await replicator.#holdFloors()
    replicator.#start()
    return replicator
  }

  /**
   * Until the committed offsets are known, everything not yet replicated stays held: from the
   * floor a previous run left (persisted), else from the first retained record. Records trimmed
   * below it meanwhile (waveforms under disk pressure) are reported as a gap once recovered.
   */
  async #holdFloors(): Promise<void> {
    for (const plan of this.#plans) {
      for (let p = 0; p < plan.partitions; p++) {
        const start = this.#log.startOffset(plan.topic, p)
        const initial = Math.min(this.#log.floor(plan.topic, p) ?? start, start)
        this.#initialFloors.set(`${plan.topic}/${p}`, initial)
        await this.#log.holdFloor(this.#options.floorHolder, plan.topic, p, initial)
      }
    }
  }

  /** Where replication starts when the offsets topic has no record for the partition. */
  initialFloor(topic: string, partition: number): number {
    return this.#initialFloors.get(`${topic}/${partition}`) ?? 0
  }

  #start(): void {
    const options = this.#options
    for (const plan of this.#plans) {
      for (let p = 0; p < plan.partitions; p++) this.#workers.push(new PartitionWorker(this, plan, p))
    }
    this.#log.on('trimmed', this.#onTrimmed)
    this.#logger({ level: 'info', message: 'replicator starting', options: describeOptions(options) })
    this.#run = this.#supervise()
  }

  /** Creates the topics (retrying with backoff), then runs every partition's worker. */
  async #supervise(): Promise<void> {
    const backoff = new Backoff(this.#options.backoff.initialMs, this.#options.backoff.maxMs)
    const signal = this.#closing.signal
    for (;;) {
      try {
        await abortable(this.#setup(), signal)
        this.#setupError = null
        break
      } catch (error) {
        if (signal.aborted) return
        const e = classify(error, 'setting up upstream topics')
        const repeat =
          backoff.attempt > 0 &&
          e.code === this.#setupError?.code &&
          backoff.attempt % LOG_EVERY_FAILURES !== 0
        this.#setupError = {
          code: e.code,
          message: e.message,
          retriable: e.retriable,
          atMs: this.#options.clock(),
        }
        this.reportError(undefined, undefined, e, repeat)
        await this.#admin?.disconnect().catch(() => undefined)
        this.#admin = undefined
        try {
          await delay(backoff.next(!e.retriable), signal)
        } catch {
          return
        }
      }
    }
    await Promise.all(this.#workers.map((w) => w.run(signal)))
  }

  async #setup(): Promise<void> {
    const o = this.#options
    const admin = this.#kafka.admin({
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000, factor: 0.2, multiplier: 2 },
    })
    this.#admin = admin
    await admin.connect()
    const existing = new Set(await admin.listTopics())
    const wanted = [
      ...this.#plans.map((p) => ({
        topic: p.upstreamTopic,
        numPartitions: p.partitions,
        configEntries: [] as { name: string; value: string }[],
      })),
      {
        topic: o.offsetsTopic,
        numPartitions: 1,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
      { topic: this.#gapsTopic, numPartitions: 1, configEntries: [] },
    ]
    const missing = wanted.filter((t) => !existing.has(t.topic))
    if (missing.length > 0) {
      if (!o.createTopics) {
        throw new ReplicatorError(
          'UPSTREAM_ERROR',
          `upstream topics ${missing.map((t) => t.topic).join(', ')} do not exist and createTopics is false; create them (same partition counts as the local topics) or set createTopics`,
          { retriable: true },
        )
      }
      await admin.createTopics({
        topics: missing.map((t) => ({ ...t, replicationFactor: o.replicationFactor })),
        waitForLeaders: true,
      })
      this.#logger({ level: 'info', message: 'created upstream topics', topics: missing.map((t) => t.topic) })
    }
    const { topics } = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic) })
    const counts = new Map(topics.map((t) => [t.name, t.partitions.length]))
    for (const plan of this.#plans) {
      const count = counts.get(plan.upstreamTopic)
      if (count !== plan.partitions) {
        throw new ReplicatorError(
          'PARTITION_MISMATCH',
          `upstream topic ${plan.upstreamTopic} has ${count} partitions but local ${plan.topic} has ${plan.partitions}; keys would land on other partitions — recreate it with ${plan.partitions} partitions or map ${plan.topic} to another topic in topicNames`,
        )
      }
    }
    this.#offsetsPartitions = counts.get(o.offsetsTopic) ?? 1
    this.#gapsPartitions = counts.get(this.#gapsTopic) ?? 1
    this.#reader = new OffsetReader(
      this.#kafka,
      o.offsetsTopic,
      o.gatewayId,
      `${o.clientId}.${o.gatewayId}.offsets-reader`,
      o.offsetReadTimeoutMs,
    )
    // Not kept: a long-lived kafkajs client never recovers a connection whose peer vanished.
    await admin.disconnect()
    this.#admin = undefined
  }

  /** Per-partition status: lag, last success, last error. */
  status(): PartitionStatus[] {
    return this.#workers.length > 0
      ? this.#workers.map((w) => w.status())
      : this.#plans.flatMap((plan) =>
          Array.from({ length: plan.partitions }, (_, p) => PartitionWorker.idle(this, plan, p)),
        )
  }

  /** Stops replicating: aborts open transactions, disconnects. Floors stay held (persisted) for the next start. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return this.#run
    this.#closing.abort(new Closed('replicator closed'))
    this.#bucket.close(new Closed('replicator closed'))
    this.#log.off('trimmed', this.#onTrimmed)
    await this.#run
    await this.#admin?.disconnect().catch(() => undefined)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  // ---- for PartitionWorker ------------------------------------------------------------------

  get log(): Log {
    return this.#log
  }
  get options(): ReplicatorOptions {
    return this.#options
  }
  get kafka(): Kafka {
    return this.#kafka
  }
  get bucket(): TokenBucket {
    return this.#bucket
  }
  get setupError(): ReplicatorErrorInfo | null {
    return this.#setupError
  }
  get gapsTopic(): string {
    return this.#gapsTopic
  }
  get offsetsPartitions(): number {
    return this.#offsetsPartitions
  }
  get gapsPartitions(): number {
    return this.#gapsPartitions
  }
  readOffsets(): Promise<OffsetSnapshot> {
    if (!this.#reader) throw new ReplicatorError('REPLICATOR_CLOSED', 'offsets read before setup')
    return this.#reader.read()
  }
  /** Emits 'error'; logs it unless `quiet` (a repeat during one outage: the status still shows it). */
  reportError(
    topic: string | undefined,
    partition: number | undefined,
    error: ReplicatorError,
    quiet = false,
  ): void {
    const where = topic === undefined ? '' : ` ${topic}/${partition}`
    if (!quiet)
      this.#logger({
        level: error.retriable ? 'warn' : 'error',
        message: `replication${where} failed: ${error.message}`,
        code: error.code,
        retriable: error.retriable,
        ...(topic !== undefined && { topic, partition }),
      })
    if (this.listenerCount('error') > 0) this.emit('error', { topic, partition, error })
  }
  logInfo(message: string, fields: Record<string, unknown>): void {
    this.#logger({ level: 'info', message, ...fields })
  }
}

function toHeaders(record: LogRecord, gatewayId: string): IHeaders {
  const headers: IHeaders = {}
  for (const name in record.headers) {
    if (name !== TOMBSTONE_HEADER) headers[name] = Buffer.from(record.headers[name]!)
  }
  headers[HEADER_GATEWAY_ID] = gatewayId
  headers[HEADER_LOCAL_TOPIC] = record.topic
  headers[HEADER_LOCAL_OFFSET] = String(record.offset)
  headers[HEADER_TIMESTAMP_MS] = String(record.timestampMs)
  return headers
}

/** One local partition: its transactional producer, its replicated offset and its status. */
class PartitionWorker {
  readonly topic: string
  readonly partition: number
  readonly #r: Replicator
  readonly #plan: TopicPlan
  readonly #transactionalId: string
  readonly #key: string
  #state: PartitionState = 'starting'
  #next: number | null = null
  #lastSuccessMs: number | null = null
  #lastError: ReplicatorErrorInfo | null = null
  #failures = 0
  #replicated = 0
  #gapRecords = 0
  #lastTrimReason: TrimReason | undefined
  #wake: (() => void) | undefined
  #floorTarget: number | undefined
  #floorWrite: Promise<void> | undefined
  #floorError: Error | undefined

  constructor(r: Replicator, plan: TopicPlan, partition: number) {
    this.#r = r
    this.#plan = plan
    this.topic = plan.topic
    this.partition = partition
    this.#transactionalId = `${r.options.gatewayId}.${plan.topic}.${partition}`
    this.#key = offsetKey(r.options.gatewayId, plan.topic, partition)
  }

  static idle(r: Replicator, plan: TopicPlan, partition: number): PartitionStatus {
    return new PartitionWorker(r, plan, partition).status()
  }

  trimmed(event: TrimEvent): void {
    this.#lastTrimReason = event.reason
    this.#wake?.()
  }

  status(): PartitionStatus {
    const log = this.#r.log
    const now = this.#r.options.clock()
    let end = 0
    let lagRecords = 0
    let lagSeconds = 0
    if (!log.closed) {
      end = log.endOffset(this.topic, this.partition)
      const from = Math.max(
        this.#next ?? log.floor(this.topic, this.partition) ?? 0,
        log.startOffset(this.topic, this.partition),
      )
      lagRecords = Math.max(0, end - (this.#next ?? from))
      if (from < end) {
        const oldest = log.read(this.topic, this.partition, from, { maxRecords: 1 })[0]
        if (oldest) lagSeconds = Math.max(0, (now - oldest.timestampMs) / 1000)
      }
    }
    return {
      topic: this.topic,
      partition: this.partition,
      upstreamTopic: this.#plan.upstreamTopic,
      priorityClass: this.#plan.priorityClass,
      state: this.#state,
      replicatedOffset: this.#next,
      endOffset: end,
      lagRecords,
      lagSeconds,
      lastSuccessMs: this.#lastSuccessMs,
      lastError: this.#lastError ?? this.#r.setupError,
      consecutiveFailures: this.#failures,
      replicatedRecords: this.#replicated,
      gapRecords: this.#gapRecords,
    }
  }

  async run(closing: AbortSignal): Promise<void> {
    const o = this.#r.options
    const backoff = new Backoff(o.backoff.initialMs, o.backoff.maxMs)
    while (!closing.aborted) {
      let producer: Producer | undefined
      try {
        this.#state = 'recovering'
        producer = this.#r.kafka.producer({
          transactionalId: this.#transactionalId,
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: o.transactionTimeoutMs,
          allowAutoTopicCreation: false,
          // A transaction's first send right after a commit is refused (CONCURRENT_TRANSACTIONS)
          // until the broker has written the previous commit's markers, a few ms on a healthy
          // cluster; kafkajs retries it through this policy, so start small (Java waits 20 ms).
          retry: { retries: 12, initialRetryTime: 5, maxRetryTime: 1_000, factor: 0.2, multiplier: 1.5 },
        })
        // Recovery steps may wait on a broker for long: close() does not wait for them.
        const connecting = producer
        await abortable(
          (async () => {
            await connecting.connect()
            // InitProducerId: bumps the epoch (fencing a zombie) and ends any transaction it left open.
            await (await connecting.transaction()).abort()
          })(),
          closing,
        )
        const offsets = await abortable(this.#r.readOffsets(), closing)
        // Our producer was just initialised, so all its transactions have ended: a record of ours
        // without its marker means the pass missed the marker, and the record before it may be stale.
        if (offsets.unresolved.has(this.#key))
          throw new ReplicatorError(
            'OFFSET_READ_INCONCLUSIVE',
            `the offset record of ${this.topic}/${this.partition} was read without its transaction's outcome; reading again`,
            { retriable: true },
          )
        const committed = offsets.records.get(this.#key)
        this.#recovered(committed?.nextOffset ?? this.#r.initialFloor(this.topic, this.partition))
        await this.#r.log.holdFloor(o.floorHolder, this.topic, this.partition, this.#next!)
        this.#state = 'replicating'
        // Failures and the backoff reset at the first commit, not here: an error that only shows
        // when sending (a missing WRITE grant) must keep backing off and be logged once.
        await this.#replicate(producer, closing, backoff)
      } catch (error) {
        if (isAborted(closing) || error instanceof Closed) break
        if (this.#r.log.closed) {
          this.#lastError = {
            code: 'REPLICATOR_CLOSED',
            message: 'the local log was closed',
            retriable: false,
            atMs: o.clock(),
          }
          break
        }
        const e = classify(
          error,
          `replicating ${this.topic}/${this.partition} to ${this.#plan.upstreamTopic}`,
        )
        this.#failures++
        // One log line per outage and kind of error, then one per LOG_EVERY_FAILURES attempts.
        const repeat =
          this.#failures > 1 && e.code === this.#lastError?.code && this.#failures % LOG_EVERY_FAILURES !== 0
        this.#lastError = { code: e.code, message: e.message, retriable: e.retriable, atMs: o.clock() }
        this.#r.reportError(this.topic, this.partition, e, repeat)
        this.#state = 'backoff'
      } finally {
        // The commit outcome of a failed transaction is unknown: drop the producer; the next round re-reads the offset.
        await producer?.disconnect().catch(() => undefined)
      }
      if (isAborted(closing)) break
      try {
        await delay(backoff.next(this.#lastError?.retriable === false), closing)
      } catch {
        break
      }
    }
    await this.#floorWrite
    this.#state = 'closed'
  }

  #recovered(next: number): void {
    const end = this.#r.log.endOffset(this.topic, this.partition)
    if (next > end) {
      throw new ReplicatorError(
        'UPSTREAM_ERROR',
        `upstream says ${this.topic}/${this.partition} is replicated up to offset ${next}, past the local end ${end}: the local log was reset; give this gateway a new gatewayId (or delete its offset record)`,
      )
    }
    if (this.#next !== next)
      this.#r.logInfo('resuming replication', {
        topic: this.topic,
        partition: this.partition,
        nextOffset: next,
      })
    this.#next = next
  }

  async #replicate(producer: Producer, closing: AbortSignal, backoff: Backoff): Promise<void> {
    const r = this.#r
    const o = r.options
    const log = r.log
    const { topic, partition } = this
    for (;;) {
      if (closing.aborted) throw new Closed()
      if (this.#floorError) {
        const error = this.#floorError
        this.#floorError = undefined
        throw error
      }
      const next = this.#next!
      const start = log.startOffset(topic, partition)
      const end = log.endOffset(topic, partition)
      const gapEnd = Math.max(next, start)
      if (gapEnd >= end && gapEnd === next) {
        this.#resumed(backoff) // recovered and nothing to send: that counts as success too
        await this.#waitForWork(next, closing)
        continue
      }
      const records =
        gapEnd < end
          ? log.read(topic, partition, gapEnd, { maxRecords: o.maxBatchRecords, maxBytes: o.maxBatchBytes })
          : []
      const now = o.clock()
      const gap: GapRecord | undefined =
        start > next
          ? {
              v: 1,
              gatewayId: o.gatewayId,
              topic,
              partition,
              fromOffset: next,
              toOffset: start,
              records: start - next,
              reason: this.#lastTrimReason ?? 'unknown',
              reportedAtMs: now,
            }
          : undefined
      let bytes = 0
      const sizes: number[] = []
      const messages: Message[] = records.map((record) => {
        const tombstone = record.headers[TOMBSTONE_HEADER] !== undefined
        // Upstream size, roughly: key, value, the record's own headers and ~140 bytes of framing
        // and provenance headers, so a chunk stays under the brokers' message.max.bytes.
        let size = (record.key?.length ?? 0) + record.value.length + 140
        for (const name in record.headers) size += name.length + record.headers[name]!.length
        sizes.push(size)
        bytes += size
        return {
          key: record.key ? Buffer.from(record.key) : null,
          value: tombstone ? null : Buffer.from(record.value),
          partition,
          timestamp: String(record.timestampMs),
          headers: toHeaders(record, o.gatewayId),
        }
      })
      const newNext = records.length > 0 ? records[records.length - 1]!.offset + 1 : gapEnd
      await r.bucket.take(bytes, this.#plan.priorityClass, closing)
      const offsetRecord: OffsetRecord = {
        v: 1,
        gatewayId: o.gatewayId,
        topic,
        partition,
        nextOffset: newNext,
        upstreamTopic: this.#plan.upstreamTopic,
        committedAtMs: now,
      }
      const offsetKeyBytes = Buffer.from(this.#key)
      const topicMessages: TopicMessages[] = []
      if (gap) {
        const gapKey = Buffer.from(`${topic}/${partition}`)
        topicMessages.push({
          topic: r.gapsTopic,
          messages: [
            {
              key: gapKey,
              value: JSON.stringify(gap),
              partition: partitionForKey(gapKey, r.gapsPartitions),
              headers: { [HEADER_GATEWAY_ID]: o.gatewayId },
            },
          ],
        })
      }
      // Chunks of the data in order: one produce request each (see SEND_CHUNK_BYTES/RECORDS).
      for (let from = 0; from < messages.length;) {
        let to = from
        let chunkBytes = 0
        while (
          to < messages.length &&
          to - from < SEND_CHUNK_RECORDS &&
          (to === from || chunkBytes + sizes[to]! <= SEND_CHUNK_BYTES)
        )
          chunkBytes += sizes[to++]!
        topicMessages.push({ topic: this.#plan.upstreamTopic, messages: messages.slice(from, to) })
        from = to
      }
      topicMessages.push({
        topic: o.offsetsTopic,
        messages: [
          {
            key: offsetKeyBytes,
            value: JSON.stringify(offsetRecord),
            partition: partitionForKey(offsetKeyBytes, r.offsetsPartitions),
          },
        ],
      })
      const tx = await producer.transaction()
      try {
        // One partition per request, on purpose. kafkajs 2.2.4's send retry remembers which BROKERS
        // answered, not which partitions: after a leader move, a partition whose new leader already
        // answered is silently skipped (lost), and one that moved off an answered broker is sent
        // again with a fresh sequence number (a duplicate the broker cannot catch). Both were seen
        // in the fail-over test; a single-partition send has no partial success to get wrong.
        for (const { topic: to, messages: batch } of topicMessages) {
          if (isAborted(closing)) throw new Closed()
          await tx.send({ topic: to, messages: batch, acks: -1 })
        }
        await tx.commit()
      } catch (error) {
        // On close nothing is in flight: abort now. After a failed request, do not: a produce
        // still queued on a broker could land after an abort marker of the same epoch and open a
        // transaction nobody ends (brokers without KIP-890 verification). The next round's
        // InitProducerId bumps the epoch, which aborts this one and fences any late request.
        if (error instanceof Closed) await tx.abort().catch(() => undefined)
        throw error
      }
      this.#next = newNext
      this.#lastSuccessMs = o.clock()
      this.#resumed(backoff)
      this.#replicated += records.length
      if (gap) {
        this.#gapRecords += gap.records
        r.logInfo('reported a gap upstream', { ...gap })
      }
      this.#advanceFloor(newNext)
      if (r.listenerCount('committed') > 0)
        r.emit('committed', { topic, partition, nextOffset: newNext, records: records.length, gap })
    }
  }

  /**
   * Moves the log floor to `offset` without waiting for the durable write: a floor that lags the
   * upstream commit only holds more, never less. Writes are coalesced (one in flight, then the
   * latest); a failed write is rethrown by the next batch.
   */
  #advanceFloor(offset: number): void {
    this.#floorTarget = offset
    if (this.#floorWrite) return
    const write = async (): Promise<void> => {
      while (this.#floorTarget !== undefined) {
        const target = this.#floorTarget
        this.#floorTarget = undefined
        await this.#r.log.holdFloor(this.#r.options.floorHolder, this.topic, this.partition, target)
      }
    }
    this.#floorWrite = write().then(
      () => {
        this.#floorWrite = undefined
      },
      (error: unknown) => {
        this.#floorWrite = undefined
        if (!this.#r.log.closed) this.#floorError = error instanceof Error ? error : new Error(String(error))
      },
    )
  }

  /** After failures, the first success: log it once, reset the count and the backoff. */
  #resumed(backoff: Backoff): void {
    if (this.#failures === 0) return
    this.#r.logInfo('replication resumed', {
      topic: this.topic,
      partition: this.partition,
      failures: this.#failures,
    })
    this.#failures = 0
    backoff.reset()
  }

  /** Waits for an append, a trim (a gap to report) or close. */
  async #waitForWork(position: number, closing: AbortSignal): Promise<void> {
    const woken = new AbortController()
    this.#wake = () => {
      woken.abort()
    }
    try {
      await this.#r.log.waitForAppend(
        this.topic,
        this.partition,
        position,
        AbortSignal.any([woken.signal, closing]),
      )
    } finally {
      this.#wake = undefined
    }
  }
}
