import { randomUUID } from 'node:crypto'
import type { Admin, Consumer, Kafka } from 'kafkajs'
import { ReplicatorError } from './errors.ts'

/*
 * offset record (topic vigil.replication-offsets, compacted)
 *   key   => utf8 "<gatewayId>/<local topic>/<partition>"
 *   value => utf8 JSON { v: 1, gatewayId, topic, partition, nextOffset, upstreamTopic, committedAtMs }
 * nextOffset is the first local offset NOT yet replicated (Kafka's committed-offset convention).
 */
export interface OffsetRecord {
  readonly v: 1
  readonly gatewayId: string
  readonly topic: string
  readonly partition: number
  readonly nextOffset: number
  readonly upstreamTopic: string
  readonly committedAtMs: number
}

export function offsetKey(gatewayId: string, topic: string, partition: number): string {
  return `${gatewayId}/${topic}/${partition}`
}

function parseOffsetRecord(value: Buffer): OffsetRecord | undefined {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<OffsetRecord>
    return parsed.v === 1 && Number.isSafeInteger(parsed.nextOffset) ? (parsed as OffsetRecord) : undefined
  } catch {
    return undefined
  }
}

/** One read of the offsets topic. */
export interface OffsetSnapshot {
  /** This gateway's committed offset records, keyed by `offsetKey`. */
  readonly records: Map<string, OffsetRecord>
  /**
   * Keys with a transactional record whose COMMIT or ABORT marker the pass did not see. For a
   * key whose producer was just initialised (its transactions all ended) this means the read was
   * incomplete: kafkajs does not hand a fetch made only of control records to `eachBatch`, so a
   * marker can be skipped. Such a key's entry in `records` may be stale: read again.
   */
  readonly unresolved: ReadonlySet<string>
}

/** What kafkajs decodes for each record of a fetched batch (runtime fields, not in its typings). */
interface RawRecord {
  readonly offset: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly isControlRecord: boolean
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean }
}

/** Control record key => version:i16 type:i16; type 0 = ABORT, 1 = COMMIT. */
function isCommitMarker(key: Buffer | null): boolean {
  return key !== null && key.length >= 4 && key.readInt16BE(2) === 1
}

/**
 * Reads this gateway's committed offset records to the end of the topic.
 *
 * Read-committed is resolved here, not by kafkajs: kafkajs 2.2.4 filters aborted records with a
 * list it assumes is sorted by first offset, but Kafka returns aborted transactions in the order
 * they ended, so when several producers' transactions interleave on one partition — exactly this
 * topic after a crash — an aborted offset record can pass as committed (and the replicator would
 * skip a batch). So this reads uncommitted, holds each producer's transactional records until its
 * next control record, and keeps them only on a COMMIT marker; records of a transaction still open
 * are not committed. Requests made while a pass is queued share it; a request always gets a pass that started
 * after it, so it sees every transaction committed before the request. Callers first initialise
 * their transactional producer, which aborts (or completes) any transaction a crashed instance left
 * open — until then the last stable offset would stop before it.
 */
/** How long a pass waits for its consumer to leave before moving on (it keeps leaving in the background). */
const DISCONNECT_WAIT_MS = 2_000

interface PassState {
  admin: Admin | undefined
  consumer: Consumer | undefined
  /** Offsets-topic partitions not yet read to their listed end. */
  readonly remaining: Set<number>
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

export class OffsetReader {
  readonly #kafka: Kafka
  readonly #topic: string
  readonly #gatewayId: string
  readonly #groupPrefix: string
  readonly #timeoutMs: number
  readonly #maxBytesPerPartition: number | undefined
  #queued: Promise<OffsetSnapshot> | undefined
  #chain: Promise<unknown> = Promise.resolve()

  constructor(
    kafka: Kafka,
    topic: string,
    gatewayId: string,
    groupPrefix: string,
    timeoutMs: number,
    /** The consumer's fetch size per partition (kafkajs default 1 MiB); tests make it tiny to split fetches. */
    maxBytesPerPartition?: number,
  ) {
    this.#maxBytesPerPartition = maxBytesPerPartition
    this.#kafka = kafka
    this.#topic = topic
    this.#gatewayId = gatewayId
    this.#groupPrefix = groupPrefix
    this.#timeoutMs = timeoutMs
  }

  /** All of this gateway's offset records, keyed by `offsetKey`, and the keys left unresolved. */
  read(): Promise<OffsetSnapshot> {
    if (this.#queued) return this.#queued
    const pass = this.#chain.then(() => {
      this.#queued = undefined
      return this.#pass()
    })
    this.#queued = pass
    this.#chain = pass.catch(() => undefined)
    return pass
  }

  /**
   * One pass, bounded as a whole: listing the ends, joining, fetching. A consumer whose
   * connections were cut can hang in connect or join for its session timeout; the pass gives up
   * at the deadline and the consumer is left to disconnect in the background, so the next pass
   * (the caller retries) never waits behind it.
   */
  async #pass(): Promise<OffsetSnapshot> {
    const state: PassState = { admin: undefined, consumer: undefined, remaining: new Set() }
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new ReplicatorError(
            'OFFSET_READ_TIMEOUT',
            `reading ${this.#topic} to its last stable offset took over ${this.#timeoutMs} ms (partitions left: ${[...state.remaining].join(',') || 'none listed yet'}); retrying`,
            { retriable: true },
          ),
        )
      }, this.#timeoutMs)
    })
    const work = this.#read(state)
    work.catch(() => undefined) // settles after the deadline when it lost the race
    try {
      return await Promise.race([work, deadline])
    } finally {
      clearTimeout(timer)
      // A clean disconnect is quick; a consumer cut off mid-join may take its session timeout.
      const leaving = [state.admin, state.consumer].map((client) =>
        client ? client.disconnect().catch(() => undefined) : Promise.resolve(),
      )
      await Promise.race([Promise.all(leaving), sleep(DISCONNECT_WAIT_MS)])
    }
  }

  async #read(state: PassState): Promise<OffsetSnapshot> {
    const found = new Map<string, OffsetRecord>()
    // `offset` is the last stable offset (kafkajs lists offsets read_committed); below it, nothing: skip.
    // Every transaction that ended before this call ends below it (a newly elected leader answers
    // OFFSET_NOT_AVAILABLE until its high watermark has caught up, KIP-207), so it is the target.
    const ends = new Map<number, number>()
    // A fresh admin each pass, like the consumer: kafkajs keeps a connection whose peer vanished
    // (no FIN, no RST) and times out every request on it, so a long-lived client never recovers.
    const admin = this.#kafka.admin()
    state.admin = admin
    await admin.connect()
    for (const { partition, offset, low } of await admin.fetchTopicOffsets(this.#topic)) {
      if (Number(offset) > Number(low)) ends.set(partition, Number(offset))
    }
    await admin.disconnect()
    state.admin = undefined
    const remaining = state.remaining
    for (const partition of ends.keys()) remaining.add(partition)
    if (remaining.size === 0) return { records: found, unresolved: new Set() }
    /** Per offsets-topic partition, per producer id: the records of its open transaction. */
    const open = new Map<string, Map<string, OffsetRecord | undefined>>()
    const prefix = `${this.#gatewayId}/`
    // A fresh group each pass: a member of a crashed process would otherwise stall the join until it expires.
    const consumer = this.#kafka.consumer({
      groupId: `${this.#groupPrefix}.${randomUUID()}`,
      readUncommitted: true,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
      ...(this.#maxBytesPerPartition === undefined
        ? {}
        : { maxBytesPerPartition: this.#maxBytesPerPartition }),
    })
    state.consumer = consumer
    const done = new Promise<void>((resolve, reject) => {
      // Done with a partition once the fetches reached its end listed above. Not the high watermark a
      // fetch reports: a newly elected leader's can lag behind records (and markers) it already holds.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const end = ends.get(payload.partition)
        if (end !== undefined && Number(payload.lastOffset) + 1 >= end) remaining.delete(payload.partition)
        if (remaining.size === 0) resolve()
      })
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        reject(payload.error)
      })
    })
    done.catch(() => undefined) // observed below, unless connecting failed first
    await consumer.connect()
    await consumer.subscribe({ topics: [this.#topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        const raw = (batch as unknown as { messagesWithinOffset?: RawRecord[] }).messagesWithinOffset
        if (!raw)
          throw new Error(
            'kafkajs Batch.messagesWithinOffset is missing; the offsets reader needs kafkajs 2.2.x',
          )
        for (const record of raw) {
          const { producerId, inTransaction } = record.batchContext
          const txKey = `${batch.partition}/${producerId}`
          if (record.isControlRecord) {
            const txRecords = open.get(txKey)
            open.delete(txKey)
            if (txRecords && isCommitMarker(record.key)) {
              for (const [key, value] of txRecords) {
                if (value) found.set(key, value)
                else found.delete(key)
              }
            }
            continue
          }
          const key = record.key?.toString('utf8')
          if (key?.startsWith(prefix) !== true) continue
          const value = record.value ? parseOffsetRecord(record.value) : undefined
          if (inTransaction) {
            let txRecords = open.get(txKey)
            if (!txRecords) open.set(txKey, (txRecords = new Map<string, OffsetRecord | undefined>()))
            txRecords.set(key, value)
          } else if (value) found.set(key, value)
          else found.delete(key)
        }
        return Promise.resolve()
      },
    })
    await done
    const unresolved = new Set<string>()
    for (const txRecords of open.values()) for (const key of txRecords.keys()) unresolved.add(key)
    return { records: found, unresolved }
  }
}
