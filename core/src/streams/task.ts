import { EMPTY_VALUE, isTombstone, TOMBSTONE_HEADERS } from './tombstone.ts'
import type { environmentOf } from '../log/environment.ts'
import {
  EMPTY_HEADERS,
  type Log,
  type LogTransaction,
  type RecordHeaders,
  type RecordInput,
} from '../log/index.ts'
import {
  Stores,
  writeBufferFill,
  type KeyValueStore,
  type SessionStore,
  type WindowStore,
} from '../state/index.ts'
import { StreamsError } from './errors.ts'
import type { DeserializationExceptionHandler, StreamsLogger } from './options.ts'
import type {
  Cancellable,
  ProcessorContext,
  ProcessorInstance,
  PunctuationType,
  Punctuator,
  SinkNode,
  SourceNode,
  StreamRecord,
  SubTopology,
  Topology,
} from './topology.ts'

/*
 * A task: one sub-topology instantiated for one input partition, with its own store instances. The
 * engine drives it: fetch (outside a transaction), process (inside the commit transaction), advance
 * (after the commit succeeded); and punctuateWallClock (inside a commit transaction of its own).
 *
 * Time. Each input keeps its partition time: the largest timestamp extracted from its records. The
 * task's stream time is the largest partition time. Partition times are persisted as the metadata of
 * the input's offset commit (as Kafka Streams does), so they commit atomically with the offsets and a
 * restarted task resumes with the same stream time.
 *
 * Punctuation. Schedules live in memory (processors schedule again when a restarted task creates
 * them). Stream-time punctuators run after each record that moves stream time to or past their next
 * point — inside the transaction that commits that record — at most once per record, with the stream
 * time as argument; their points are multiples of the interval (the first fires on the first record
 * when stream time was unknown), so a restarted task, whose schedule starts at the first multiple
 * after the restored stream time, continues the very same series: nothing fires twice, nothing is
 * skipped. Wall-clock punctuators run from the engine (punctuateWallClock) in a transaction of
 * their own.
 */

/** Headers the engine adds to a dead-lettered record (the names of Kafka's KIP-1034 DLQ headers). */
export const DEAD_LETTER_HEADERS = {
  topic: '__streams.errors.topic',
  partition: '__streams.errors.partition',
  offset: '__streams.errors.offset',
  exception: '__streams.errors.exception',
  message: '__streams.errors.message',
} as const

/** One record the engine appended to an output or repartition topic, in production order. */
export interface ProducedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/** What the task counts into the engine's metrics. */
export interface TaskHost {
  countDropped(late: boolean): void
  /**
   * Records skipped by the engine: dead-lettered, dropped for an invalid timestamp, or trimmed from
   * an input before they were read.
   */
  countSkipped(reason: 'deadLettered' | 'invalidTimestamp' | 'trimmed', count?: number): void
}

/** What the task needs of the engine's configuration. */
export interface TaskState {
  readonly env: Environment
  readonly applicationId: string
  readonly clock: () => number
  readonly logger: StreamsLogger
  readonly deserializationExceptionHandler: DeserializationExceptionHandler
}

export interface Input {
  readonly source: SourceNode
  readonly topic: string
  readonly partition: number
  next: number
  readonly buffer: BufferedRecord[]
  /** Largest timestamp extracted from this input's records; -1 before the first (see partitionTimeOf). */
  partitionTimeMs: number
  /**
   * The last offset processed whose commit is still due (at-least-once commits state and offsets
   * less often than outputs); undefined when everything processed is committed.
   */
  uncommittedThrough?: number | undefined
}

/** An input's partition time as committed in its offset's metadata; -1 if none was. */
export function partitionTimeOf(metadata: string | undefined): number {
  if (metadata === undefined || metadata === '') return -1
  try {
    const parsed = JSON.parse(metadata) as { partitionTimeMs?: unknown }
    const t = parsed.partitionTimeMs
    return typeof t === 'number' && Number.isSafeInteger(t) && t >= 0 ? t : -1
  } catch {
    return -1
  }
}

function partitionTimeMetadata(partitionTimeMs: number): string {
  return partitionTimeMs < 0 ? '' : JSON.stringify({ partitionTimeMs })
}

const PUNCTUATION_TYPES: readonly PunctuationType[] = ['streamTime', 'wallClock']

interface Schedule {
  readonly node: string
  readonly type: PunctuationType
  readonly intervalMs: number
  readonly callback: Punctuator
  nextMs: number
  cancelled: boolean
}

/** Kafka's PunctuationSchedule.next: one interval on, skipping points `nowMs` already passed. */
function nextPoint(schedule: Schedule, nowMs: number): number {
  let next = schedule.nextMs + schedule.intervalMs
  if (nowMs >= next) next += schedule.intervalMs * (Math.floor((nowMs - next) / schedule.intervalMs) + 1)
  return next
}

export interface Batch {
  readonly records: number
  readonly produced: ProducedRecord[]
  readonly consumed: ReadonlyMap<Input, number>
}

interface BufferedRecord {
  readonly offset: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array
  readonly timestampMs: number
  readonly headers: RecordHeaders
}

function copyHeaders(headers: RecordHeaders): RecordHeaders {
  let copy: Record<string, Uint8Array> | undefined
  for (const name in headers) {
    // No prototype: a header may be named "__proto__".
    copy ??= Object.create(null) as Record<string, Uint8Array>
    copy[name] = headers[name]!.slice()
  }
  return copy ?? EMPTY_HEADERS
}

const utf8 = new TextEncoder()

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The log's LMDB environment, opaque here: streams code must not name lmdb types. */
export type Environment = ReturnType<typeof environmentOf>

/** The name of a task's instance of a store in the log's environment: unique per application, store and partition. */
function physicalStoreName(applicationId: string, store: string, partition: number): string {
  return `${applicationId}-${store}-${partition}`
}

export class Task {
  readonly id: string
  readonly stores = new Map<string, KeyValueStore<unknown, unknown>>()
  readonly windowStores = new Map<string, WindowStore<unknown, unknown>>()
  readonly sessionStores = new Map<string, SessionStore<unknown, unknown>>()
  readonly #topology: Topology
  readonly #inputs: Input[]
  readonly #processors = new Map<string, ProcessorInstance>()
  readonly #physical: (node: SourceNode | SinkNode) => string
  readonly #host: TaskHost
  readonly #state: TaskState
  readonly #deadLetterTopic: string
  #current: { topic: string; partition: number; offset: number } | undefined
  /** The punctuation running, for error messages. */
  #punctuation: { node: string; type: PunctuationType } | undefined
  #tx: LogTransaction | undefined
  #produced: ProducedRecord[] = []
  /** Sink records of the current transaction, by topic, appended together at its end. */
  readonly #outputs = new Map<string, RecordInput[]>()
  #streamTimeMs: number
  #schedules: Schedule[] = []
  #closed = false

  constructor(
    engine: TaskHost,
    topology: Topology,
    sub: SubTopology,
    partition: number,
    inputs: Input[],
    physical: (node: SourceNode | SinkNode) => string,
    state: TaskState,
    deadLetterTopic: string,
  ) {
    this.id = `${sub.id}_${partition}`
    this.#topology = topology
    this.#inputs = inputs
    this.#physical = physical
    this.#host = engine
    this.#state = state
    this.#deadLetterTopic = deadLetterTopic
    this.#streamTimeMs = Math.max(-1, ...inputs.map((i) => i.partitionTimeMs))
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
        if (def.kind === 'session') {
          const sessionBuilder = Stores.sessionStoreBuilder(
            Stores.persistentSessionStore(physicalName, { retentionMs: def.retentionMs }),
            def.keySerde,
            def.valueSerde,
          )
          this.sessionStores.set(def.name, sessionBuilder.build({ env: state.env }))
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
    try {
      for (const name of sub.nodes) {
        const node = topology.node(name)
        if (node.kind !== 'processor') continue
        let created: ReturnType<typeof node.create>
        try {
          created = node.create(this.#context(name))
        } catch (cause) {
          if (cause instanceof StreamsError) throw cause
          throw new StreamsError(
            'TASK_FAILED',
            `task ${this.id} could not create node ${name}: ${message(cause)}`,
            {
              cause,
            },
          )
        }
        this.#processors.set(name, typeof created === 'function' ? { process: created } : created)
      }
    } catch (error) {
      this.close()
      throw error
    }
  }

  /** The context of processor node `name`: forwards from that node. */
  #context(name: string): ProcessorContext {
    const missing = (kind: string, store: string) =>
      new StreamsError(
        'UNKNOWN_STORE',
        `task ${this.id} has no ${kind}store ${store}; declare it on the processor`,
      )
    return {
      taskId: this.id,
      keyValueStore: (store) => {
        const found = this.stores.get(store)
        if (found === undefined) throw missing('', store)
        return found
      },
      windowStore: (store) => {
        const found = this.windowStores.get(store)
        if (found === undefined) throw missing('window ', store)
        return found
      },
      sessionStore: (store) => {
        const found = this.sessionStores.get(store)
        if (found === undefined) throw missing('session ', store)
        return found
      },
      dropped: (_reason, options = {}) => {
        this.#host.countDropped(options.late === true)
      },
      forward: (record, child) => {
        if (this.#tx === undefined) {
          throw new StreamsError(
            'TASK_FAILED',
            `task ${this.id}: node ${name} forwarded a record outside processing; forward only from process() or a scheduled callback (not from init, close or a timer of your own)`,
          )
        }
        this.#forwardFrom(name, record, child)
      },
      currentStreamTimeMs: () => this.#streamTimeMs,
      currentSystemTimeMs: () => this.#state.clock(),
      recordMetadata: () => (this.#current === undefined ? undefined : { ...this.#current }),
      schedule: (intervalMs, type, callback) => this.#schedule(name, intervalMs, type, callback),
    }
  }

  #schedule(node: string, intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
      throw new StreamsError(
        'INVALID_ARGUMENT',
        `node ${node}: schedule() needs an interval of whole ms ≥ 1, got ${intervalMs}`,
      )
    }
    if (!(PUNCTUATION_TYPES as readonly string[]).includes(type)) {
      throw new StreamsError(
        'INVALID_ARGUMENT',
        `node ${node}: schedule() type must be 'streamTime' or 'wallClock', got ${type}`,
      )
    }
    if (typeof callback !== 'function') {
      throw new StreamsError('INVALID_ARGUMENT', `node ${node}: schedule() needs a callback function`)
    }
    let nextMs: number
    if (type === 'wallClock') nextMs = this.#state.clock() + intervalMs
    // Unknown stream time: fire on the first record (Kafka schedules stream time at 0). Known (e.g.
    // restored after a restart): the next multiple, which the series before the restart would reach.
    else if (this.#streamTimeMs < 0) nextMs = 0
    else nextMs = Math.floor(this.#streamTimeMs / intervalMs) * intervalMs + intervalMs
    const schedule: Schedule = { node, type, intervalMs, callback, nextMs, cancelled: false }
    this.#schedules.push(schedule)
    return {
      cancel: () => {
        schedule.cancelled = true
        this.#schedules = this.#schedules.filter((s) => s !== schedule)
      },
    }
  }

  /** Runs the due punctuators of `type` (each at most once), earliest point first. */
  #punctuate(type: PunctuationType, nowMs: number): void {
    const due = this.#schedules
      .filter((s) => s.type === type && s.nextMs <= nowMs)
      .sort((a, b) => a.nextMs - b.nextMs)
    const current = this.#current
    this.#current = undefined
    try {
      for (const schedule of due) {
        if (schedule.cancelled) continue
        schedule.nextMs = nextPoint(schedule, nowMs)
        this.#punctuation = { node: schedule.node, type }
        try {
          schedule.callback(nowMs)
        } catch (cause) {
          if (cause instanceof StreamsError) throw cause
          throw new StreamsError(
            'TASK_FAILED',
            `task ${this.id} failed in a ${type} punctuation of node ${schedule.node} at ${nowMs}: ${message(cause)}`,
            { cause },
          )
        }
      }
    } finally {
      this.#punctuation = undefined
      this.#current = current
    }
  }

  /** True if a wall-clock punctuator is due at `nowMs`. */
  wallClockDue(nowMs: number): boolean {
    return this.#schedules.some((s) => s.type === 'wallClock' && s.nextMs <= nowMs)
  }

  /**
   * Inside a commit transaction: runs the wall-clock punctuators due at `nowMs`, appends what they
   * forwarded and commits the task's state (with any offsets processed but not yet committed).
   */
  punctuateWallClock(tx: LogTransaction, nowMs: number, group: string): Batch {
    this.#tx = tx
    this.#produced = []
    try {
      this.#punctuate('wallClock', nowMs)
      this.#appendOutputs()
      // The flush that makes the punctuation's state durable also commits any offsets at-least-once
      // processing left pending, so state never gets ahead of its offsets.
      this.#commitState(group)
    } finally {
      this.#tx = undefined
    }
    return { records: 0, produced: this.#produced, consumed: new Map() }
  }

  /**
   * Inside the commit transaction: commits the inputs' processed offsets (with their partition
   * times), moves the stores' positions to them, and flushes the stores — last, so the state written
   * is exactly that of the records whose offsets commit with it.
   */
  #commitState(group: string): void {
    const tx = this.#tx!
    for (const input of this.#inputs) {
      const last = input.uncommittedThrough
      if (last === undefined) continue
      tx.commitOffset(
        group,
        input.topic,
        input.partition,
        last + 1,
        partitionTimeMetadata(input.partitionTimeMs),
      )
      for (const store of this.allStores()) store.updatePosition(input.topic, input.partition, last)
    }
    for (const store of this.allStores()) store.flush()
    for (const input of this.#inputs) input.uncommittedThrough = undefined
  }

  /** True when processed offsets (and their state) are not yet committed. */
  get hasUncommittedState(): boolean {
    return this.#inputs.some((i) => i.uncommittedThrough !== undefined)
  }

  /** True when a store's write buffer is over half full: commit state before it overflows. */
  get stateBufferFilling(): boolean {
    return this.allStores().some((store) => {
      const fill = writeBufferFill(store)
      return fill !== undefined && fill.bytes > fill.maxBytes / 2
    })
  }

  /**
   * Inside a commit transaction with nothing else to do: commits what at-least-once processing left
   * uncommitted (offsets, positions, state).
   */
  commitPendingState(tx: LogTransaction, group: string): Batch {
    this.#tx = tx
    this.#produced = []
    try {
      this.#commitState(group)
    } finally {
      this.#tx = undefined
    }
    return { records: 0, produced: [], consumed: new Map() }
  }

  /** The batch's sink records, one append per topic (in production order within each topic). */
  #appendOutputs(): void {
    const tx = this.#tx!
    for (const [topic, records] of this.#outputs) {
      for (const result of tx.append(topic, records)) {
        this.#produced.push({ topic, partition: result.partition, offset: result.offset })
      }
    }
    this.#outputs.clear()
  }

  /** Where each input will be read from next (in memory: at-least-once may not have committed it). */
  inputPositions(): { topic: string; partition: number; next: number; internal: boolean }[] {
    return this.#inputs.map((i) => ({
      topic: i.topic,
      partition: i.partition,
      next: i.next,
      internal: i.source.internal,
    }))
  }

  /** Reads what the log has for this task's inputs (outside the commit transaction); true if any is pending. */
  fetch(log: Log, maxRecords: number): boolean {
    let pending = false
    for (const input of this.#inputs) {
      const start = log.startOffset(input.topic, input.partition)
      if (input.buffer.length === 0 && input.next < start) {
        // Retention or the disk budget trimmed records this task had not read (Kafka's
        // auto.offset.reset=earliest): go on from the first retained one, and say what was lost.
        this.#state.logger.warn(
          `task ${this.id}: ${input.topic}/${input.partition} was trimmed to offset ${start} before offsets ${input.next}..${start - 1} were processed; skipping ${start - input.next} records`,
        )
        this.#host.countSkipped('trimmed', start - input.next)
        input.next = start
      }
      if (input.buffer.length === 0 && input.next < log.endOffset(input.topic, input.partition)) {
        for (const r of log.read(input.topic, input.partition, input.next, { maxRecords })) {
          // Log records are views valid until the next read: copy (Buffer#slice would not).
          input.buffer.push({
            offset: r.offset,
            key: r.key === null ? null : new Uint8Array(r.key),
            value: new Uint8Array(r.value),
            timestampMs: r.timestampMs,
            headers: copyHeaders(r.headers),
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
  process(tx: LogTransaction, maxRecords: number, group: string, commitState = true): Batch {
    this.#tx = tx
    this.#produced = []
    const consumed = new Map<Input, number>()
    let records = 0
    try {
      for (let taken = 0; taken < maxRecords; taken++) {
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
        if (this.#processRecord(input, input.buffer[index]!)) records++
        // End the batch (and so commit) before a store's write buffer can overflow mid-batch.
        if ((taken & 63) === 63 && this.stateBufferFilling) break
      }
      for (const [input, count] of consumed) input.uncommittedThrough = input.buffer[count - 1]!.offset
      this.#appendOutputs()
      if (commitState) this.#commitState(group)
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

  /** Returns false if the record was skipped (dead-lettered, or an invalid timestamp). */
  #processRecord(input: Input, record: BufferedRecord): boolean {
    const { source } = input
    this.#current = { topic: input.topic, partition: input.partition, offset: record.offset }
    let key: unknown
    let value: unknown
    try {
      key = record.key === null ? null : source.keySerde.deserialize(record.key)
      value = isTombstone(record.headers) ? null : source.valueSerde.deserialize(record.value)
    } catch (cause) {
      if (this.#state.deserializationExceptionHandler === 'logAndContinue') {
        this.#deadLetter(input, record, cause)
        return false
      }
      throw new StreamsError(
        'SERDE_FAILURE',
        `task ${this.id}: source ${source.name} could not deserialize ${this.#where()}: ${message(cause)}; check the serdes given to stream(), or run with deserializationExceptionHandler 'logAndContinue' to dead-letter such records`,
        { cause },
      )
    }
    const timestampMs = this.#extractTimestamp(input, record, key, value)
    if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
      this.#host.countDropped(false)
      this.#host.countSkipped('invalidTimestamp')
      this.#state.logger.warn(
        `task ${this.id}: skipped ${this.#where()}: the timestamp extractor of source ${source.name} returned ${timestampMs}, not a whole number of ms ≥ 0`,
      )
      return false
    }
    if (timestampMs > input.partitionTimeMs) input.partitionTimeMs = timestampMs
    this.#forwardFrom(source.name, { key, value, timestampMs })
    if (timestampMs > this.#streamTimeMs) {
      this.#streamTimeMs = timestampMs
      this.#punctuate('streamTime', timestampMs)
    }
    return true
  }

  #extractTimestamp(input: Input, record: BufferedRecord, key: unknown, value: unknown): number {
    const extractor = input.source.timestampExtractor
    switch (extractor) {
      case undefined:
      case 'event':
      case 'ingestion':
        return record.timestampMs
      case 'processing':
        return this.#state.clock()
      default:
        try {
          return extractor(
            {
              key,
              value,
              timestampMs: record.timestampMs,
              topic: input.topic,
              partition: input.partition,
              offset: record.offset,
            },
            input.partitionTimeMs,
          )
        } catch (cause) {
          throw new StreamsError(
            'TASK_FAILED',
            `task ${this.id}: the timestamp extractor of source ${input.source.name} threw on ${this.#where()}: ${message(cause)}`,
            { cause },
          )
        }
    }
  }

  /** The raw record to the dead-letter topic, in this commit, with headers naming where it came from and why. */
  #deadLetter(input: Input, record: BufferedRecord, cause: unknown): void {
    const headers: Record<string, Uint8Array> = Object.create(null) as Record<string, Uint8Array>
    Object.assign(headers, record.headers)
    headers[DEAD_LETTER_HEADERS.topic] = utf8.encode(input.topic)
    headers[DEAD_LETTER_HEADERS.partition] = utf8.encode(String(input.partition))
    headers[DEAD_LETTER_HEADERS.offset] = utf8.encode(String(record.offset))
    headers[DEAD_LETTER_HEADERS.exception] = utf8.encode(cause instanceof Error ? cause.name : typeof cause)
    headers[DEAD_LETTER_HEADERS.message] = utf8.encode(message(cause))
    this.#tx!.append(this.#deadLetterTopic, [
      { key: record.key, value: record.value, timestampMs: record.timestampMs, headers },
    ])
    this.#host.countSkipped('deadLettered')
    this.#state.logger.warn(
      `task ${this.id}: source ${input.source.name} could not deserialize ${this.#where()} (${message(cause)}); wrote it to ${this.#deadLetterTopic} and continued`,
    )
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
        // Committed offset 0 (e.g. after a reset to an empty start) means nothing consumed, like none.
        const expected = committed === undefined || committed === 0 ? undefined : committed - 1
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
    if (c !== undefined) return `${c.topic}/${c.partition}@${c.offset}`
    const p = this.#punctuation
    return p === undefined ? 'no record' : `a ${p.type} punctuation of node ${p.node}`
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
          this.#processors.get(name)!.process(record, (out, child) => {
            this.#forwardFrom(name, out, child)
          })
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
    const tombstone = record.value === null || record.value === undefined
    try {
      key = record.key === null || record.key === undefined ? null : node.keySerde.serialize(record.key)
      value = tombstone ? EMPTY_VALUE : node.valueSerde.serialize(record.value)
    } catch (cause) {
      throw new StreamsError(
        'SERDE_FAILURE',
        `task ${this.id}: sink ${node.name} could not serialize a record for ${topic} (from ${this.#where()}): ${message(cause)}; pass matching serdes to to()/groupBy()`,
        { cause },
      )
    }
    const { timestampMs } = record
    let records = this.#outputs.get(topic)
    if (records === undefined) this.#outputs.set(topic, (records = []))
    records.push(
      tombstone ? { key, value, timestampMs, headers: TOMBSTONE_HEADERS } : { key, value, timestampMs },
    )
  }

  allStores(): (
    KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown> | SessionStore<unknown, unknown>
  )[] {
    return [...this.stores.values(), ...this.windowStores.values(), ...this.sessionStores.values()]
  }

  /** Closes the processors (a throwing close is logged), then the stores. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#schedules = []
    for (const [name, processor] of this.#processors) {
      try {
        processor.close?.()
      } catch (cause) {
        this.#state.logger.warn(`task ${this.id}: node ${name} threw in close(): ${message(cause)}`)
      }
    }
    for (const store of this.allStores()) store.close()
  }
}
