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
 * session puts dropped as expired. Latencies are percentiles over a ring of recent samples.
 */

type Bytes = Uint8Array

/** Latency samples kept per operation kind. */
export const LATENCY_SAMPLES = 1024

class OperationMeter {
  readonly #samples = new Float64Array(LATENCY_SAMPLES)
  #count = 0
  #max = 0

  record(ms: number): void {
    this.#samples[this.#count % LATENCY_SAMPLES] = ms
    this.#count++
    if (ms > this.#max) this.#max = ms
  }

  snapshot(): OperationMetrics {
    const kept = Math.min(this.#count, LATENCY_SAMPLES)
    if (kept === 0) return { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 }
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
    return this.time('get', () => this.inner.get(key))
  }

  put(key: Bytes, value: Bytes): void {
    this.time('put', () => {
      this.inner.put(key, value)
    })
  }

  putIfAbsent(key: Bytes, value: Bytes): Bytes | undefined {
    return this.time('put', () => this.inner.putIfAbsent(key, value))
  }

  delete(key: Bytes): Bytes | undefined {
    return this.time('delete', () => this.inner.delete(key))
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
    return this.countPut(this.time('put', () => this.inner.put(key, value, windowStartMs)))
  }

  fetch(key: Bytes, windowStartMs: number): Bytes | undefined {
    return this.time('get', () => this.inner.fetch(key, windowStartMs))
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
    return this.countPut(this.time('put', () => this.inner.put(session, value)))
  }

  remove(session: Windowed<Bytes>): void {
    this.time('delete', () => {
      this.inner.remove(session)
    })
  }

  findSessions(
    key: Bytes,
    earliestSessionEndMs: number,
    latestSessionStartMs: number,
  ): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    return this.timedRange(() => this.inner.findSessions(key, earliestSessionEndMs, latestSessionStartMs))
  }

  fetchSession(key: Bytes, startMs: number, endMs: number): Bytes | undefined {
    return this.time('get', () => this.inner.fetchSession(key, startMs, endMs))
  }

  fetch(key: Bytes): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    return this.timedRange(() => this.inner.fetch(key))
  }
}
