import { z } from 'zod'
import { Serdes, type Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import { parseOrThrow, windowedMaterializedSchema } from './options.ts'
import {
  aggregateFold,
  countFold,
  DEFAULT_SERDE,
  passThrough,
  reduceFold,
  aggregationInput,
  type Fold,
  type GroupedSource,
  type Graph,
  type Materialized,
} from './graph.ts'
import { WindowedKTable } from './ktable.ts'

export { WindowedKTable }
import { stampedSerde, WindowedSerdes } from './windowed-serdes.ts'
import type {
  Forward,
  ProcessorContext,
  StreamRecord,
  TaskKeyValueStore,
  TaskWindowStore,
} from './topology.ts'

/*
 * What the time, sliding and session windowed aggregations share: their options, stream time and
 * its persistence, emit-on-close bookkeeping, wall-clock close, late-record routing, and the table
 * they return. Each kind only says how a record updates its windows and which windows a stream
 * time closes.
 */

/**
 * When a windowed aggregation emits: `'onUpdate'` (the default) emits the new aggregate of every
 * window a record updates; `'onWindowClose'` emits each window's final aggregate exactly once, when
 * stream time closes it (stream time ≥ window end + grace) — also across restarts.
 */
export type EmitStrategy = 'onUpdate' | 'onWindowClose'

/** Materialized options of a windowed aggregation, plus when it emits. */
export interface WindowedMaterialized<K, V> extends Materialized<K, V> {
  readonly emitStrategy?: EmitStrategy
  /**
   * Beyond Kafka Streams, onWindowClose only: when no record has advanced stream time for this many
   * ms of wall-clock time (the engine's clock), stream time advances by the wall-clock time elapsed
   * since the last advance, closing (and emitting) windows of keys that went quiet — e.g. a sensor
   * that fell off. Records that arrive afterwards are late against the advanced stream time.
   */
  readonly wallClockCloseAfterMs?: number
}

/** Checked every this many ms of wall-clock time at most (sooner when wallClockCloseAfterMs is smaller). */
export const WALL_CLOCK_CHECK_INTERVAL_MS = 1000

const windowedOptionsSchema = windowedMaterializedSchema
  .extend({ wallClockCloseAfterMs: z.number().int().min(1).optional() })
  .strict()
  .refine((o) => o.wallClockCloseAfterMs === undefined || o.emitStrategy === 'onWindowClose', {
    error:
      "wallClockCloseAfterMs only applies to emitStrategy: 'onWindowClose' (under onUpdate it would only drop records as late); add emitStrategy: 'onWindowClose' or remove it",
    path: ['wallClockCloseAfterMs'],
  })

export type WindowedOptions = z.output<typeof windowedOptionsSchema>

export function parseWindowedOptions(materialized: unknown, operation: string): WindowedOptions {
  return parseOrThrow(windowedOptionsSchema, materialized, `materialized options of windowed ${operation}()`)
}

/*
 * The windowed streams (TimeWindowedKStream, SlidingWindowedKStream, SessionWindowedKStream) extend
 * WindowedKStreamBase, which adds an aggregation given how its kind stores and binds its windows;
 * the time and sliding ones share their count/reduce/aggregate (FoldWindowedKStream).
 */

/** A windowed aggregation's main store, as the shared part chose it. */
export interface WindowedStore {
  readonly graph: Graph
  readonly name: string
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
  readonly options: WindowedOptions
}

/** How one kind of windowed aggregation stores its windows and binds them in a task. */
export interface WindowedStoreSpec {
  /** The output (`Windowed<K>`) key serde, for the store's key serde. */
  readonly windowedKeySerde: (keySerde: Serde<unknown>) => Serde<unknown>
  /** Adds the window or session store named `store.name`. */
  readonly addStore: (store: WindowedStore) => void
  /** Adds any further stores, after `<name>-meta`; returns their names. */
  readonly addMoreStores?: (store: WindowedStore) => string[]
  /** The kind, bound to a task's stores. */
  readonly bind: (context: ProcessorContext, store: WindowedStore) => WindowedKind
}

/** What the windowed streams share: the grouped stream they aggregate, and adding an aggregation. */
export class WindowedKStreamBase<K, V> {
  readonly #source: GroupedSource

  constructor(source: GroupedSource) {
    this.#source = source
  }

  /** The grouped stream's value serde (reduce's default for the aggregate). */
  protected get inputValueSerde(): Serde<unknown> {
    return this.#source.valueSerde
  }

  /**
   * Adds an aggregation: its options (checked for `operation`), store name and serdes, the
   * repartition if required, its stores (`spec`'s, then `<name>-meta`, then `spec`'s further ones),
   * its node, and the table it returns.
   */
  protected addAggregation<VA>(
    operation: string,
    materialized: WindowedMaterialized<K, VA>,
    defaultValueSerde: Serde<unknown>,
    spec: WindowedStoreSpec,
  ): WindowedKTable<K, V, VA> {
    const options = parseWindowedOptions(materialized, operation)
    const source = this.#source
    const { graph } = source
    const { storeName, keySerde, valueSerde, parent } = aggregationInput(source, options, defaultValueSerde)
    const store: WindowedStore = { graph, name: storeName, keySerde, valueSerde, options }
    const metaName = `${storeName}-meta`
    spec.addStore(store)
    addMetaStore(graph, metaName)
    const more = spec.addMoreStores?.(store) ?? []
    const node = addWindowedNode({
      graph,
      parent,
      stores: [storeName, ...more],
      metaName,
      options,
      bind: (context) => spec.bind(context, store),
    })
    return new WindowedKTable<K, V, VA>(graph, node, spec.windowedKeySerde(keySerde), valueSerde, storeName, {
      keySerde: source.keySerde,
      valueSerde: source.valueSerde,
    })
  }
}

/** How a time or sliding windowed stream keeps its windows: a timestamped window store. */
export interface FoldWindows {
  readonly windowSizeMs: number
  readonly retentionMs: number
  /** The kind over the task's window store, folding records with `fold`. */
  readonly kind: (store: TaskWindowStore, fold: Fold) => WindowedKind
}

/**
 * The time and sliding windowed streams: their aggregations fold records into `Stamped` values of a
 * timestamped window store, keyed by `WindowedSerdes.timeWindowed`.
 */
export class FoldWindowedKStream<K, V> extends WindowedKStreamBase<K, V> {
  readonly #windows: FoldWindows

  constructor(source: GroupedSource, windows: FoldWindows) {
    super(source)
    this.#windows = windows
  }

  /** The number of records per key and window (Serdes.Long in the store). */
  count(materialized: WindowedMaterialized<K, number> = {}): WindowedKTable<K, V, number> {
    return this.#aggregate('count', materialized, Serdes.Long as Serde<unknown>, countFold)
  }

  /** Combines each key's values per window with `reducer(aggregate, value)`; the first value is the start. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: WindowedMaterialized<K, V> = {},
  ): WindowedKTable<K, V, V> {
    return this.#aggregate('reduce', materialized, this.inputValueSerde, reduceFold(reducer))
  }

  /**
   * Folds each key's values per window into `aggregator(key, value, aggregate)`, starting from
   * `initializer()` in every window. `valueSerde` (default Serdes.String) serializes the aggregate.
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    materialized: WindowedMaterialized<K, VA> = {},
  ): WindowedKTable<K, V, VA> {
    return this.#aggregate('aggregate', materialized, DEFAULT_SERDE, aggregateFold(initializer, aggregator))
  }

  #aggregate<VA>(
    operation: string,
    materialized: WindowedMaterialized<K, VA>,
    defaultValueSerde: Serde<unknown>,
    fold: Fold,
  ): WindowedKTable<K, V, VA> {
    const { windowSizeMs, retentionMs, kind } = this.#windows
    return this.addAggregation(operation, materialized, defaultValueSerde, {
      windowedKeySerde: (keySerde) => WindowedSerdes.timeWindowed(keySerde) as Serde<unknown>,
      addStore: ({ graph, name, keySerde, valueSerde }) => {
        graph.addStore({
          kind: 'window',
          name,
          keySerde,
          valueSerde: stampedSerde(valueSerde) as Serde<unknown>,
          windowSizeMs,
          retentionMs,
          timestamped: true,
        })
      },
      bind: (context, { name }) => kind(context.windowStore(name), fold),
    })
  }
}

/** The `<name>-meta` store: stream time and emit progress (numbers under string keys). */
function addMetaStore(graph: Graph, metaName: string): void {
  graph.addStore({
    name: metaName,
    keySerde: Serdes.String as Serde<unknown>,
    valueSerde: Serdes.Long as Serde<unknown>,
  })
}

/** Persisted in `<name>-meta`: the aggregation's stream time. */
const STREAM_TIME_KEY = 'streamTimeMs'

/** How one kind of windowed aggregation updates and closes its windows, bound to a task's stores. */
export interface WindowedKind {
  /** The meta key under which onWindowClose persists how far it has emitted. */
  readonly emittedKey: string
  /**
   * The largest emission position (a window start, or a session end) closed at this stream time;
   * emitClosed is called for positions in (emitted, lastClosed(streamTime)].
   */
  lastClosed(streamTimeMs: number): number
  /** Forwards, in order, the final aggregates of the windows at positions in (afterMs, throughMs]. */
  emitClosed(afterMs: number, throughMs: number, emit: (record: StreamRecord) => void): void
  /**
   * Aggregates one record (key not null) at this stream time, emitting results with `emit`.
   * `emittedThroughMs` is how far onWindowClose has emitted (−1: nothing yet), undefined under
   * onUpdate. Returns false when the record is late (nothing changed).
   */
  process(
    record: StreamRecord,
    streamTimeMs: number,
    emit: (record: StreamRecord) => void,
    emittedThroughMs: number | undefined,
  ): boolean
}

export interface WindowedNodeSpec {
  readonly graph: Graph
  readonly parent: string
  readonly stores: readonly string[]
  readonly metaName: string
  readonly options: WindowedOptions
  readonly bind: (context: ProcessorContext) => WindowedKind
}

/** Where a windowed aggregation's node sends results and late records (so the two never mix). */
export interface WindowedNode {
  readonly name: string
  readonly result: string
  /** Adds a child receiving the late records; returns its name. */
  addLateChild(): string
}

/**
 * Adds the aggregation's processor node: null keys dropped, stream time advanced and persisted,
 * onWindowClose emission before each record's updates (so a window the record updates is open and
 * not yet emitted), late records counted and routed, and the optional wall-clock close.
 */
export function addWindowedNode(spec: WindowedNodeSpec): WindowedNode {
  const { graph, options } = spec
  const emitOnClose = options.emitStrategy === 'onWindowClose'
  const name = graph.name('KSTREAM-WINDOWED-AGGREGATE')
  // Children by role: results go to `result`, late records to each node in `late`.
  let result = ''
  const late: string[] = []
  graph.add({
    kind: 'processor',
    name,
    parents: [spec.parent],
    stores: [...spec.stores, spec.metaName],
    create: (context: ProcessorContext) => {
      const kind = spec.bind(context)
      const meta = context.keyValueStore(spec.metaName)
      const clock = new StreamClock(meta, kind.emittedKey)
      const emitClosed = (forward: Forward): void => {
        const through = kind.lastClosed(clock.streamTimeMs)
        if (through <= clock.emittedThroughMs) return
        kind.emitClosed(clock.emittedThroughMs, through, (r) => {
          forward(r, result)
        })
        clock.emitted(through)
      }
      const wall = options.wallClockCloseAfterMs
      const idle = wall === undefined ? undefined : new IdleCloser(context, clock, wall)
      if (idle !== undefined) {
        idle.schedule(() => {
          emitClosed((r, child) => {
            context.forward(r, child)
          })
        })
      }
      return (r: StreamRecord, forward: Forward) => {
        if (r.key === null || r.key === undefined) {
          context.dropped('null key in windowed aggregation')
          return
        }
        if (clock.observe(r.timestampMs)) idle?.advanced()
        if (emitOnClose) emitClosed(forward)
        const emit = (out: StreamRecord): void => {
          forward(out, result)
        }
        const emitted = emitOnClose ? clock.emittedThroughMs : undefined
        if (kind.process(r, clock.streamTimeMs, emit, emitted)) return
        context.dropped(`late record at ${r.timestampMs}, stream time ${clock.streamTimeMs}`, { late: true })
        for (const child of late) forward(r, child)
      }
    },
  })
  result = graph.processor('KTABLE-WINDOWED', [name], passThrough)
  return {
    name,
    result,
    addLateChild: () => {
      const child = graph.processor('KSTREAM-LATE', [name], passThrough)
      late.push(child)
      return child
    },
  }
}

/** A task's stream time for one aggregation, and how far onWindowClose has emitted; both persisted. */
class StreamClock {
  readonly #meta: TaskKeyValueStore
  readonly #emittedKey: string
  /** Largest timestamp seen (or reached by wall-clock close); −1 before the first record. */
  streamTimeMs: number
  /** onWindowClose: every position at or before this was emitted (−1: none yet). */
  emittedThroughMs: number

  constructor(meta: TaskKeyValueStore, emittedKey: string) {
    this.#meta = meta
    this.#emittedKey = emittedKey
    this.streamTimeMs = (meta.get(STREAM_TIME_KEY) as number | undefined) ?? -1
    this.emittedThroughMs = (meta.get(emittedKey) as number | undefined) ?? -1
  }

  /** Advances to timestampMs if later; true if it did. */
  observe(timestampMs: number): boolean {
    if (timestampMs <= this.streamTimeMs) return false
    this.streamTimeMs = timestampMs
    this.#meta.put(STREAM_TIME_KEY, timestampMs)
    return true
  }

  emitted(throughMs: number): void {
    this.emittedThroughMs = throughMs
    this.#meta.put(this.#emittedKey, throughMs)
  }
}

/**
 * Wall-clock close: remembers the wall-clock time at which stream time last advanced (or the task
 * started), and on a wall-clock punctuation after `afterMs` of that, advances stream time by the
 * elapsed wall-clock time. Not persisted: after a restart the idle time counts from the start.
 */
class IdleCloser {
  readonly #context: ProcessorContext
  readonly #clock: StreamClock
  readonly #afterMs: number
  #anchorWallMs: number
  #anchorStreamMs: number

  constructor(context: ProcessorContext, clock: StreamClock, afterMs: number) {
    this.#context = context
    this.#clock = clock
    this.#afterMs = afterMs
    this.#anchorWallMs = context.currentSystemTimeMs()
    this.#anchorStreamMs = clock.streamTimeMs
  }

  /** A record advanced stream time: idle time counts from now. */
  advanced(): void {
    this.#anchorWallMs = this.#context.currentSystemTimeMs()
    this.#anchorStreamMs = this.#clock.streamTimeMs
  }

  schedule(onAdvance: () => void): void {
    const interval = Math.min(this.#afterMs, WALL_CLOCK_CHECK_INTERVAL_MS)
    this.#context.schedule(interval, 'wallClock', (nowMs) => {
      // Nothing to close before the first record: stream time is unknown.
      if (this.#anchorStreamMs < 0) return
      const idleMs = nowMs - this.#anchorWallMs
      if (idleMs < this.#afterMs) return
      if (this.#clock.observe(this.#anchorStreamMs + idleMs)) onAdvance()
    })
  }
}

/** key's windows with fromMs ≤ start ≤ toMs, ascending by start. */
export function fetchKeyRange(
  store: TaskWindowStore,
  key: unknown,
  fromMs: number,
  toMs: number,
): { startMs: number; value: unknown }[] {
  return Array.from(store.fetchRange(key, fromMs, toMs), (e) => ({
    startMs: e.key.window.startMs,
    value: e.value,
  }))
}

/** Throws INVALID_ARGUMENT for a windowedBy() argument of the wrong kind. */
export function wrongWindows(): StreamsError {
  return new StreamsError(
    'INVALID_ARGUMENT',
    'windowedBy() takes TimeWindows (tumbling or hopping), SlidingWindows or SessionWindows; build one with e.g. TimeWindows.ofSizeAndGrace(sizeMs, graceMs)',
  )
}
