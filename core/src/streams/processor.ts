import type { KeyValueStore, Serde, SessionStore, WindowStore } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import type { StreamInternals } from './graph.ts'
import { parseOrThrow, processOptionsSchema } from './options.ts'
import type {
  Cancellable,
  PunctuationType,
  Punctuator,
  ProcessorContext as NodeContext,
  RecordMetadata,
  StoreDef,
} from './topology.ts'

/*
 * The low-level Processor API (Kafka Streams' `api.Processor`): a user processor with
 * init/process/close gets a context to forward records, reach its declared stores and schedule
 * punctuations. It runs as one ProcessorNode of the graph; the task provides the node context.
 *
 * In-memory fields of a processor are NOT durable: a restarted task builds a new instance (init
 * again) and continues from the committed offsets, so anything that must survive belongs in a store.
 */

/** A record as a Processor sees it. */
export interface Record<K, V> {
  readonly key: K
  readonly value: V
  readonly timestampMs: number
}

export type { Cancellable, PunctuationType, Punctuator, RecordMetadata } from './topology.ts'

/** A key-value store to register with StreamsBuilder.addStateStore; the returned spec is its typed handle. */
export interface KeyValueStoreSpec<K, V> {
  readonly kind: 'keyValue'
  readonly name: string
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
}

/** A window store: windows `[start, start + windowSizeMs)` kept `retentionMs` behind the latest start. */
export interface WindowStoreSpec<K, V> {
  readonly kind: 'window'
  readonly name: string
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  readonly windowSizeMs: number
  readonly retentionMs: number
}

/** A session store: sessions kept `retentionMs` after their end, behind the store's stream time. */
export interface SessionStoreSpec<K, V> {
  readonly kind: 'session'
  readonly name: string
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  readonly retentionMs: number
}

/* eslint-disable @typescript-eslint/no-explicit-any -- a spec of any key and value types */
export type StateStoreSpec =
  KeyValueStoreSpec<any, any> | WindowStoreSpec<any, any> | SessionStoreSpec<any, any>
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The store a spec stands for, as getStateStore returns it. */
export type StoreOf<S extends StateStoreSpec> =
  S extends KeyValueStoreSpec<infer K, infer V>
    ? KeyValueStore<K, V>
    : S extends WindowStoreSpec<infer K, infer V>
      ? WindowStore<K, V>
      : S extends SessionStoreSpec<infer K, infer V>
        ? SessionStore<K, V>
        : never

export type AnyStateStore =
  KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown> | SessionStore<unknown, unknown>

/** What a user Processor sees of its task. */
export interface ProcessorContext<KOut, VOut> {
  /** `<subTopologyId>_<partition>`. */
  readonly taskId: string
  /**
   * Sends a record to every child of this processor, or only to the child named `childName`. Valid
   * in process() and in punctuations (not in init or close).
   */
  forward(record: Record<KOut, VOut>, childName?: string): void
  /**
   * The task's instance of a store the processor declared in `process(supplier, { stores })`; pass
   * the spec addStateStore returned for a typed store, or its name (then name the type). Throws
   * UNKNOWN_STORE for a store the processor did not declare.
   */
  getStateStore<S extends StateStoreSpec>(store: S): StoreOf<S>
  /** By name: narrow the result yourself (e.g. `as KeyValueStore<string, number>`). */
  getStateStore(name: string): AnyStateStore
  /**
   * Calls `callback` every `intervalMs` (an integer ≥ 1) of stream time or wall-clock time, inside
   * the task's commit transaction, so what it forwards and writes commits exactly once with the
   * input offsets.
   * - 'streamTime': first when the task has processed a record (stream time known), then whenever
   *   stream time reaches the next multiple of `intervalMs`; at most once per advance, with the stream
   *   time as argument. Stream time survives restarts, so a restarted task continues the same series.
   * - 'wallClock': first at now + intervalMs by the engine's clock, then every intervalMs (missed
   *   points are skipped, not replayed); the argument is the clock's time. The engine runs these in
   *   processAvailable() and punctuate().
   */
  schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable
  /** The task's stream time: the largest timestamp it has processed; -1 before the first. */
  currentStreamTimeMs(): number
  /** The engine's wall clock, in ms. */
  currentSystemTimeMs(): number
  /** Topic, partition and offset of the record being processed; undefined in a punctuation. */
  recordMetadata(): RecordMetadata | undefined
}

/** A user processor; one instance per task, made by the supplier when the task starts. */
export interface Processor<KIn, VIn, KOut, VOut> {
  /** Binds stores and schedules punctuations. Called once, before the first record. */
  init?(context: ProcessorContext<KOut, VOut>): void
  process(record: Record<KIn, VIn>): void
  /** Called when the task closes (the engine closes or stops); stores are still open. */
  close?(): void
}

/** Makes a new Processor for each task (a fresh instance each call: tasks must not share state). */
export type ProcessorSupplier<KIn, VIn, KOut, VOut> = () => Processor<KIn, VIn, KOut, VOut>

export interface ProcessOptions {
  /** Stores (added with StreamsBuilder.addStateStore) the processor reads and writes: specs or names. */
  readonly stores?: readonly (string | StateStoreSpec)[]
}

/** The topology's store definition for a user store spec (user window stores are not timestamped). */
export function storeDefOf(spec: StateStoreSpec): StoreDef {
  switch (spec.kind) {
    case 'keyValue':
      return { kind: 'keyValue', name: spec.name, keySerde: spec.keySerde, valueSerde: spec.valueSerde }
    case 'window':
      return {
        kind: 'window',
        name: spec.name,
        keySerde: spec.keySerde,
        valueSerde: spec.valueSerde,
        windowSizeMs: spec.windowSizeMs,
        retentionMs: spec.retentionMs,
        timestamped: false,
      }
    case 'session':
      return {
        kind: 'session',
        name: spec.name,
        keySerde: spec.keySerde,
        valueSerde: spec.valueSerde,
        retentionMs: spec.retentionMs,
      }
    default:
      return spec satisfies never
  }
}

/**
 * Adds a processor node under `parent`; returns the internals of the stream it forwards. Its key
 * and value types are the processor's choice, so serdes are forgotten and a later aggregation
 * repartitions (as Kafka Streams marks process() as key-changing).
 */
export function addStreamProcessor(
  parent: StreamInternals,
  supplier: ProcessorSupplier<unknown, unknown, unknown, unknown>,
  options: ProcessOptions,
): StreamInternals {
  const parsed = parseOrThrow(processOptionsSchema, options, 'options of process()')
  if (typeof supplier !== 'function') {
    throw new StreamsError(
      'INVALID_ARGUMENT',
      `process() needs a supplier function returning a new Processor, got ${typeof supplier}`,
    )
  }
  const { graph } = parent
  const kinds = new Map<string, StateStoreSpec['kind']>()
  for (const store of parsed.stores ?? []) {
    const storeName = typeof store === 'string' ? store : store.name
    const def = graph.stores.find((s) => s.name === storeName)
    if (def === undefined) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `process() names store ${storeName}, which is not in the topology; add it first with builder.addStateStore({ kind, name, keySerde, valueSerde })`,
      )
    }
    const kind = def.kind ?? 'keyValue'
    if (typeof store !== 'string' && store.kind !== kind) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `process() names store ${storeName} as a ${store.kind} store, but it was added as a ${kind} store; pass the spec addStateStore returned`,
      )
    }
    kinds.set(storeName, kind)
  }
  const stores = [...kinds.keys()]
  const name = graph.name('KSTREAM-PROCESSOR')
  graph.add({
    kind: 'processor',
    name,
    parents: [parent.node],
    stores,
    create: (node) => {
      const candidate: unknown = supplier()
      if (
        typeof (candidate as Partial<Processor<unknown, unknown, unknown, unknown>> | null)?.process !==
        'function'
      ) {
        throw new StreamsError(
          'INVALID_TOPOLOGY',
          `the supplier given to process() (node ${name}) must return an object with a process(record) method, got ${candidate === null ? 'null' : typeof candidate}`,
        )
      }
      const processor = candidate as Processor<unknown, unknown, unknown, unknown>
      const context = userContext(node, name, kinds)
      processor.init?.(context)
      return {
        process: (record) => {
          processor.process({ key: record.key, value: record.value, timestampMs: record.timestampMs })
        },
        ...(processor.close === undefined ? {} : { close: () => processor.close?.() }),
      }
    },
  })
  return {
    graph,
    node: name,
    keySerde: undefined,
    valueSerde: undefined,
    repartitionRequired: true,
  }
}

function userContext(
  node: NodeContext,
  processorName: string,
  declared: ReadonlyMap<string, StateStoreSpec['kind']>,
): ProcessorContext<unknown, unknown> {
  const getStateStore = (store: string | StateStoreSpec): AnyStateStore => {
    const storeName = typeof store === 'string' ? store : store.name
    const kind = declared.get(storeName)
    // The node context returns the subsets the DSL needs; the task's instances are the full stores.
    switch (kind) {
      case 'keyValue':
        return node.keyValueStore(storeName) as KeyValueStore<unknown, unknown>
      case 'window':
        return node.windowStore(storeName) as WindowStore<unknown, unknown>
      case 'session':
        return node.sessionStore(storeName) as SessionStore<unknown, unknown>
      case undefined:
        throw new StreamsError(
          'UNKNOWN_STORE',
          `processor ${processorName} did not declare store ${storeName}; pass it in process(supplier, { stores: [...] })`,
        )
      default:
        return kind satisfies never
    }
  }
  return {
    taskId: node.taskId,
    forward: (record, childName) => {
      node.forward({ key: record.key, value: record.value, timestampMs: record.timestampMs }, childName)
    },
    getStateStore: getStateStore as ProcessorContext<unknown, unknown>['getStateStore'],
    schedule: (intervalMs, type, callback) => node.schedule(intervalMs, type, callback),
    currentStreamTimeMs: () => node.currentStreamTimeMs(),
    currentSystemTimeMs: () => node.currentSystemTimeMs(),
    recordMetadata: () => node.recordMetadata(),
  }
}
