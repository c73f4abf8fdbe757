import type { environmentOf } from '../log/environment.ts'
import type { Log, LogTransaction } from '../log/index.ts'
import { Stores, type KeyValueStore, type SessionStore, type WindowStore } from '../state/index.ts'
import { StreamsError } from './errors.ts'
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
 * A task: one sub-topology instantiated for one input partition, with its own store instances. The
 * engine drives it: fetch (outside a transaction), process (inside the commit transaction), advance
 * (after the commit succeeded).
 */

/** One record the engine appended to an output or repartition topic, in production order. */
export interface ProducedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/** What the task counts into the engine's metrics. */
export interface TaskHost {
  countDropped(late: boolean): void
}

export interface Input {
  readonly source: SourceNode
  readonly topic: string
  readonly partition: number
  next: number
  readonly buffer: BufferedRecord[]
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
}

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
  readonly #processors = new Map<string, ProcessFn>()
  readonly #physical: (node: SourceNode | SinkNode) => string
  #current: { topic: string; partition: number; offset: number } | undefined
  #tx: LogTransaction | undefined
  #produced: ProducedRecord[] = []

  constructor(
    engine: TaskHost,
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
      sessionStore: (name: string) => {
        const store = this.sessionStores.get(name)
        if (store === undefined) {
          throw new StreamsError(
            'UNKNOWN_STORE',
            `task ${this.id} has no session store ${name}; declare it on the processor`,
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

  allStores(): (
    KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown> | SessionStore<unknown, unknown>
  )[] {
    return [...this.stores.values(), ...this.windowStores.values(), ...this.sessionStores.values()]
  }

  close(): void {
    for (const store of this.allStores()) store.close()
  }
}
