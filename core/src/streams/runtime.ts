import { availableParallelism } from 'node:os'
import { z } from 'zod'
import type { Log } from '../log/index.ts'
import {
  queryStore,
  type QueryOptions,
  type QueryResult,
  type ReadOnlyKeyValueStore,
  type ReadOnlySessionStore,
  type ReadOnlyStateStore,
  type ReadOnlyWindowStore,
} from '../state/index.ts'
import { StreamsEngine, type EngineMetrics } from './engine.ts'
import { StreamsError } from './errors.ts'
import { engineOptionsSchema, parseOrThrow, type EngineOptionsInput } from './options.ts'
import type { Topology } from './topology.ts'

/*
 * The KafkaStreams-like runtime: runs a topology's engine over a log in the background, waking on
 * appends to its input topics (no polling), and reports its state to listeners. Processing is
 * synchronous inside the engine, so the runtime hands the event loop back between rounds: other
 * work on the gateway (sensor input, WebSocket clients) keeps flowing while a backlog drains.
 */

/**
 * Kafka Streams' client states, minus rebalancing (tasks are assigned once, at start), plus
 * STARTING while the engine opens its stores.
 */
export const streamsStates = [
  'CREATED',
  'STARTING',
  'RUNNING',
  'PENDING_SHUTDOWN',
  'NOT_RUNNING',
  'PENDING_ERROR',
  'ERROR',
] as const
export type StreamsState = (typeof streamsStates)[number]

export type StateListener = (next: StreamsState, previous: StreamsState) => void

/** Wall-clock punctuations and idle-window closes are checked at least this often while idle. */
export const DEFAULT_WALL_CLOCK_TICK_MS = 100

const runtimeOptionsSchema = z
  .object({
    log: z.custom<Log>((v) => typeof v === 'object' && v !== null, { error: 'must be an open Log' }),
    /**
     * Threads to spread tasks over. Only 1 is supported today: every task runs on the calling
     * thread (LMDB admits one writer at a time, and the log's in-memory partition state lives on
     * this thread). Defaults to 1; asking for more is refused rather than silently ignored.
     */
    numThreads: z.number().int().min(1).default(1),
    wallClockTickMs: z.number().int().min(1).default(DEFAULT_WALL_CLOCK_TICK_MS),
  })
  .loose()
export type VigilStreamsOptions = {
  readonly log: Log
  readonly numThreads?: number
  readonly wallClockTickMs?: number
} & EngineOptionsInput

/**
 * `new VigilStreams(topology, { applicationId, log, ... })`, then `start()`; `close()` stops it.
 * Engine options (processing guarantee, commit size, handlers…) pass through to StreamsEngine.
 */
export class VigilStreams {
  readonly #topology: Topology
  readonly #log: Log
  readonly #engineOptions: EngineOptionsInput
  readonly #tickMs: number
  readonly #listeners = new Set<StateListener>()
  #state: StreamsState = 'CREATED'
  #engine: StreamsEngine | undefined
  #failure: Error | undefined
  readonly #stop = new AbortController()
  #starting: Promise<StreamsEngine> | undefined
  #loop: Promise<void> | undefined

  constructor(topology: Topology, options: VigilStreamsOptions) {
    const parsed = parseOrThrow(runtimeOptionsSchema, options, 'VigilStreams options')
    if (parsed.numThreads !== 1) {
      throw new StreamsError(
        'INVALID_ARGUMENT',
        `numThreads ${parsed.numThreads} is not supported yet: all tasks run on the calling thread (this machine has ${availableParallelism()} cores); use numThreads: 1 and run CPU-heavy models (the ONNX operator) off-thread`,
      )
    }
    const { log, numThreads, wallClockTickMs, ...engineOptions } = options
    this.#topology = topology
    this.#log = parsed.log
    // Validated now so a bad option fails at construction, not later in start().
    parseOrThrow(engineOptionsSchema, engineOptions, 'streams engine options')
    this.#engineOptions = engineOptions
    this.#tickMs = parsed.wallClockTickMs
  }

  get state(): StreamsState {
    return this.#state
  }

  /** Why the runtime went to ERROR (the task failure: TASK_FAILED, SERDE_FAILURE…), if it did. */
  get failure(): Error | undefined {
    return this.#failure
  }

  /** Calls `listener(next, previous)` on every state change; returns a function that removes it. */
  onStateChange(listener: StateListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Opens the engine (its stores, as of the last commit) and starts processing in the background.
   * Rejects if the engine cannot start (UNKNOWN_TOPIC, STATE_NOT_RESTORABLE, …) and goes to ERROR.
   * Throws STREAMS_CLOSED unless the runtime is new (start is once per instance). A close() while
   * starting waits for the start and then stops.
   */
  async start(): Promise<void> {
    if (this.#state !== 'CREATED') {
      throw new StreamsError(
        'STREAMS_CLOSED',
        `start() was already called (state ${this.#state}); create a new VigilStreams`,
      )
    }
    this.#setState('STARTING')
    this.#starting = StreamsEngine.start(this.#topology, this.#log, this.#engineOptions)
    let engine: StreamsEngine
    try {
      engine = await this.#starting
    } catch (error) {
      this.#fail(error)
      throw error
    } finally {
      this.#starting = undefined
    }
    this.#engine = engine
    if (this.#stop.signal.aborted) {
      // close() was called while starting: it is waiting for us to finish and release the engine.
      return
    }
    this.#setState('RUNNING')
    this.#loop = this.#run(engine)
  }

  /** Stops processing after the current batch and releases the stores. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'CREATED') {
      this.#setState('NOT_RUNNING')
      return
    }
    if (this.#state === 'RUNNING' || this.#state === 'STARTING') this.#setState('PENDING_SHUTDOWN')
    this.#stop.abort()
    await this.#starting?.catch(() => undefined)
    await this.#loop
    try {
      this.#engine?.close()
    } catch (error) {
      // A final commit (at_least_once) failed: nothing more can be done but report it.
      this.#failure ??= error instanceof Error ? error : new Error(String(error))
      if (this.#state === 'PENDING_SHUTDOWN') this.#setState('PENDING_ERROR')
    } finally {
      this.#engine = undefined
      if (this.#state === 'PENDING_SHUTDOWN') this.#setState('NOT_RUNNING')
      if (this.#state === 'PENDING_ERROR') this.#setState('ERROR')
    }
  }

  /** Read-only view of key-value store `name` over every task. Throws UNKNOWN_STORE, STREAMS_CLOSED. */
  keyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    return this.#running().keyValueStore<K, V>(name)
  }

  /** Read-only view of window store `name` over every task. */
  windowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    return this.#running().windowStore<K, V>(name)
  }

  /** Read-only view of session store `name` over every task. */
  sessionStore<K, V>(name: string): ReadOnlySessionStore<K, V> {
    return this.#running().sessionStore<K, V>(name)
  }

  /**
   * An interactive query with its freshness: `run` against the store, answered with the position
   * (input offsets) it reflects; with `{ atLeast }`, refused (NOT_UP_TO_BOUND, retriable) until the
   * store has processed up to those offsets.
   */
  query<S extends ReadOnlyStateStore, T>(
    store: S,
    run: (store: S) => T,
    options: QueryOptions = {},
  ): QueryResult<T> {
    return queryStore(store, run, options)
  }

  metrics(): EngineMetrics {
    return this.#running().metrics()
  }

  async #run(engine: StreamsEngine): Promise<void> {
    const stop = this.#stop.signal
    try {
      const stopped = (): boolean => stop.aborted
      while (!stopped()) {
        engine.processAvailable()
        // Hand the event loop back before waiting, so a long drain does not starve other work.
        await new Promise<void>((resolve) => setImmediate(resolve))
        if (stopped()) break
        await this.#waitForInput(engine, stop)
      }
    } catch (error) {
      this.#fail(error)
    }
  }

  /** Until any input partition has a record past its end now, the tick passes, or stop. */
  async #waitForInput(engine: StreamsEngine, stop: AbortSignal): Promise<void> {
    const wake = new AbortController()
    const onStop = (): void => {
      wake.abort()
    }
    stop.addEventListener('abort', onStop, { once: true })
    const timer = setTimeout(() => {
      wake.abort()
    }, this.#tickMs)
    try {
      // From where the engine has read (not the log's end now): a record appended while the
      // event loop was handed back is found at once.
      const waits = engine
        .inputPositions()
        .map(({ topic, partition, next }) => this.#log.waitForAppend(topic, partition, next, wake.signal))
      await Promise.race([
        ...waits,
        new Promise<void>((resolve) => {
          wake.signal.addEventListener(
            'abort',
            () => {
              resolve()
            },
            { once: true },
          )
        }),
      ])
    } finally {
      clearTimeout(timer)
      wake.abort()
      stop.removeEventListener('abort', onStop)
    }
  }

  #running(): StreamsEngine {
    if (this.#engine === undefined || this.#state === 'NOT_RUNNING' || this.#state === 'ERROR') {
      throw new StreamsError(
        'STREAMS_CLOSED',
        `the streams runtime is ${this.#state}${this.#failure === undefined ? '' : `: ${this.#failure.message}`}`,
        this.#failure === undefined ? {} : { cause: this.#failure },
      )
    }
    return this.#engine
  }

  /** Never throws: the loop and start() call it on their way out. */
  #fail(error: unknown): void {
    this.#failure = error instanceof Error ? error : new Error(String(error))
    this.#setState('PENDING_ERROR')
    try {
      this.#engine?.close()
    } catch {
      // The engine already failed; a failing final commit adds nothing to report.
    } finally {
      this.#engine = undefined
      this.#setState('ERROR')
    }
  }

  #setState(next: StreamsState): void {
    const previous = this.#state
    if (previous === next) return
    this.#state = next
    for (const listener of this.#listeners) {
      try {
        listener(next, previous)
      } catch {
        // A listener's failure must not stop the runtime or the other listeners.
      }
    }
  }
}
