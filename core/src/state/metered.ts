import { StoreLayer } from './layer.ts'
import { isWriteBuffered } from './caching.ts'
import type {
  KeyValue,
  KeyValueStore,
  Metered,
  OperationMetrics,
  SessionStore,
  StateStore,
  StoreMetrics,
  WindowStore,
  Windowed,
} from './types.ts'

/*
 * The metered layer: counts and times put/get/range/delete/flush of the bytes layer below it (so the
 * figures include the write buffer's hits, as Kafka Streams' metered stores do), and counts window and
 * session puts dropped as expired. Counts are exact; latencies are percentiles over a ring of recent
 * samples, and point operations (put/get/delete) are timed one in SAMPLE_EVERY (the first always), since
 * two clock reads cost more than a buffered put. Flushes and ranges are always timed.
 */

type Bytes = Uint8Array

/** Latency samples kept per operation kind. */
export const LATENCY_SAMPLES = 1024
/** One point operation in this many is timed (a power of two). */
export const SAMPLE_EVERY = 64

class OperationMeter {
  readonly #samples = new Float64Array(LATENCY_SAMPLES)
  #count = 0
  #max = 0

  #sampled = 0

  /** Counts an operation; true when this one should be timed (then call sample()). */
  tick(): boolean {
    return (this.#count++ & (SAMPLE_EVERY - 1)) === 0
  }

  /** A timed operation that was not counted by tick(). */
  record(ms: number): void {
    this.#count++
    this.sample(ms)
  }

  sample(ms: number): void {
    this.#samples[this.#sampled % LATENCY_SAMPLES] = ms
    this.#sampled++
    if (ms > this.#max) this.#max = ms
  }

  snapshot(): OperationMetrics {
    const kept = Math.min(this.#sampled, LATENCY_SAMPLES)
    if (kept === 0) return { count: this.#count, p50Ms: 0, p99Ms: 0, maxMs: 0 }
    const sorted = this.#samples.slice(0, kept).sort()
    const at = (q: number): number => sorted[Math.min(kept - 1, Math.floor(q * kept))]!
    return { count: this.#count, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: this.#max }
  }
}

type Operation = 'put' | 'get' | 'range' | 'delete' | 'flush'

abstract class MeteredBase<S extends StateStore> extends StoreLayer<S> implements Metered {
  readonly #meters: Record<Operation, OperationMeter> = {
    put: new OperationMeter(),
    get: new OperationMeter(),
    range: new OperationMeter(),
    delete: new OperationMeter(),
    flush: new OperationMeter(),
  }
  #expiredDrops = 0

  override flush(): void {
    this.time('flush', () => {
      this.inner.flush()
    })
  }

  metrics(): StoreMetrics {
    return {
      store: this.name,
      put: this.#meters.put.snapshot(),
      get: this.#meters.get.snapshot(),
      range: this.#meters.range.snapshot(),
      delete: this.#meters.delete.snapshot(),
      flush: this.#meters.flush.snapshot(),
      expiredDrops: this.#expiredDrops,
      bufferedBytes: isWriteBuffered(this.inner) ? this.inner.bufferedBytes() : 0,
    }
  }

  protected readonly putMeter = this.#meters.put
  protected readonly getMeter = this.#meters.get
  protected readonly deleteMeter = this.#meters.delete

  /** Starts a sampled point operation: its start time if this one is timed, else -1 (counted either way). */
  protected begin(meter: OperationMeter): number {
    return meter.tick() ? performance.now() : -1
  }

  /** Ends a point operation begun with begin(); call it in a finally so failures are timed too. */
  protected end(meter: OperationMeter, started: number): void {
    if (started >= 0) meter.sample(performance.now() - started)
  }

  protected time<T>(operation: Operation, fn: () => T): T {
    const started = performance.now()
    try {
      return fn()
    } finally {
      this.#meters[operation].record(performance.now() - started)
    }
  }

  /** Times a lazy range from its creation to the end (or abandonment) of its iteration. */
  protected *timeRange<T>(open: () => Iterable<T>): Generator<T> {
    const started = performance.now()
    try {
      yield* open()
    } finally {
      this.#meters.range.record(performance.now() - started)
    }
  }

  /** A range that validates its arguments now (so bad input throws at the call) and is timed as iterated. */
  protected timedRange<T>(open: () => Iterable<T>): Iterable<T> {
    const items = open()
    return this.timeRange(() => items)
  }

  protected countPut(stored: boolean): boolean {
    if (!stored) this.#expiredDrops++
    return stored
  }
}

export class MeteredKeyValueStore
  extends MeteredBase<KeyValueStore<Bytes, Bytes>>
  implements KeyValueStore<Bytes, Bytes>
{
  get(key: Bytes): Bytes | undefined {
    const started = this.begin(this.getMeter)
    try {
      return this.inner.get(key)
    } finally {
      this.end(this.getMeter, started)
    }
  }

  put(key: Bytes, value: Bytes): void {
    const started = this.begin(this.putMeter)
    try {
      this.inner.put(key, value)
    } finally {
      this.end(this.putMeter, started)
    }
  }

  putIfAbsent(key: Bytes, value: Bytes): Bytes | undefined {
    const started = this.begin(this.putMeter)
    try {
      return this.inner.putIfAbsent(key, value)
    } finally {
      this.end(this.putMeter, started)
    }
  }

  delete(key: Bytes): Bytes | undefined {
    const started = this.begin(this.deleteMeter)
    try {
      return this.inner.delete(key)
    } finally {
      this.end(this.deleteMeter, started)
    }
  }

  range(from: Bytes, to: Bytes): Iterable<KeyValue<Bytes, Bytes>> {
    return this.timedRange(() => this.inner.range(from, to))
  }

  all(): Iterable<KeyValue<Bytes, Bytes>> {
    return this.timedRange(() => this.inner.all())
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }
}

export class MeteredWindowStore
  extends MeteredBase<WindowStore<Bytes, Bytes>>
  implements WindowStore<Bytes, Bytes>
{
  get windowSizeMs(): number {
    return this.inner.windowSizeMs
  }

  get retentionMs(): number {
    return this.inner.retentionMs
  }

  observedStreamTimeMs(): number {
    return this.inner.observedStreamTimeMs()
  }

  put(key: Bytes, value: Bytes | null, windowStartMs: number): boolean {
    const started = this.begin(this.putMeter)
    try {
      return this.countPut(this.inner.put(key, value, windowStartMs))
    } finally {
      this.end(this.putMeter, started)
    }
  }

  fetch(key: Bytes, windowStartMs: number): Bytes | undefined {
    const started = this.begin(this.getMeter)
    try {
      return this.inner.fetch(key, windowStartMs)
    } finally {
      this.end(this.getMeter, started)
    }
  }

  fetchRange(key: Bytes, timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    return this.timedRange(() => this.inner.fetchRange(key, timeFromMs, timeToMs))
  }

  fetchAll(timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    return this.timedRange(() => this.inner.fetchAll(timeFromMs, timeToMs))
  }
}

export class MeteredSessionStore
  extends MeteredBase<SessionStore<Bytes, Bytes>>
  implements SessionStore<Bytes, Bytes>
{
  get retentionMs(): number {
    return this.inner.retentionMs
  }

  observedStreamTimeMs(): number {
    return this.inner.observedStreamTimeMs()
  }

  put(session: Windowed<Bytes>, value: Bytes): boolean {
    const started = this.begin(this.putMeter)
    try {
      return this.countPut(this.inner.put(session, value))
    } finally {
      this.end(this.putMeter, started)
    }
  }

  remove(session: Windowed<Bytes>): void {
    const started = this.begin(this.deleteMeter)
    try {
      this.inner.remove(session)
    } finally {
      this.end(this.deleteMeter, started)
    }
  }

  findSessions(
    key: Bytes,
    earliestSessionEndMs: number,
    latestSessionStartMs: number,
  ): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    return this.timedRange(() => this.inner.findSessions(key, earliestSessionEndMs, latestSessionStartMs))
  }

  fetchSession(key: Bytes, startMs: number, endMs: number): Bytes | undefined {
    const started = this.begin(this.getMeter)
    try {
      return this.inner.fetchSession(key, startMs, endMs)
    } finally {
      this.end(this.getMeter, started)
    }
  }

  fetch(key: Bytes): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    return this.timedRange(() => this.inner.fetch(key))
  }
}
