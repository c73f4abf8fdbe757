import { StoreLayer } from './layer.ts'
import { StateError } from './errors.ts'
import type { Serde } from './serdes.ts'
import type {
  KeyValue,
  KeyValueStore,
  Metered,
  SessionStore,
  StateStore,
  StoreMetrics,
  WindowStore,
  Windowed,
} from './types.ts'

/*
 * The typed layer: the top of a store stack. Serializes keys and values with the store's serdes on the
 * way down and deserializes on the way up; any serde failure becomes a StateError SERDE_FAILURE naming
 * the store, the operation and which serde, with the serde's error as the cause.
 */

type Bytes = Uint8Array

class Codec<K, V> {
  readonly #store: string
  readonly #keySerde: Serde<K>
  readonly #valueSerde: Serde<V>

  constructor(store: string, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.#store = store
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
  }

  // No closure per call: each method calls its serde in its own try (free unless it throws).
  key(key: K, operation: string): Bytes {
    let bytes: unknown
    try {
      bytes = this.#keySerde.serialize(key)
    } catch (cause) {
      throw this.#failed(cause, operation, 'serialize the key', 'keySerde')
    }
    return this.#bytes(bytes, operation, 'keySerde')
  }

  value(value: V, operation: string): Bytes {
    let bytes: unknown
    try {
      bytes = this.#valueSerde.serialize(value)
    } catch (cause) {
      throw this.#failed(cause, operation, 'serialize the value', 'valueSerde')
    }
    return this.#bytes(bytes, operation, 'valueSerde')
  }

  readKey(bytes: Bytes, operation: string): K {
    try {
      return this.#keySerde.deserialize(bytes)
    } catch (cause) {
      throw this.#failed(cause, operation, 'deserialize a key', 'keySerde')
    }
  }

  readValue(bytes: Bytes | undefined, operation: string): V | undefined {
    if (bytes === undefined) return undefined
    try {
      return this.#valueSerde.deserialize(bytes)
    } catch (cause) {
      throw this.#failed(cause, operation, 'deserialize a value', 'valueSerde')
    }
  }

  kv(entry: KeyValue<Bytes, Bytes>, operation: string): KeyValue<K, V> {
    return { key: this.readKey(entry.key, operation), value: this.readValue(entry.value, operation)! }
  }

  windowed(entry: KeyValue<Windowed<Bytes>, Bytes>, operation: string): KeyValue<Windowed<K>, V> {
    return {
      key: { key: this.readKey(entry.key.key, operation), window: entry.key.window },
      value: this.readValue(entry.value, operation)!,
    }
  }

  #failed(cause: unknown, operation: string, what: string, serde: string): StateError {
    return new StateError(
      'SERDE_FAILURE',
      `store ${this.#store}: ${operation} could not ${what} (${cause instanceof Error ? cause.message : String(cause)}); check the store's ${serde}`,
      { cause },
    )
  }

  #bytes(result: unknown, operation: string, serde: string): Bytes {
    if (!(result instanceof Uint8Array)) {
      throw new StateError(
        'SERDE_FAILURE',
        `store ${this.#store}: ${operation}: the ${serde} returned ${typeof result}, not a Uint8Array`,
      )
    }
    return result
  }
}

function* mapEach<A, B>(items: Iterable<A>, fn: (a: A) => B): Generator<B> {
  for (const item of items) yield fn(item)
}

abstract class TypedBase<S extends StateStore & Metered, K, V> extends StoreLayer<S> implements Metered {
  protected readonly codec: Codec<K, V>

  constructor(inner: S, keySerde: Serde<K>, valueSerde: Serde<V>) {
    super(inner)
    this.codec = new Codec(inner.name, keySerde, valueSerde)
  }

  metrics(): StoreMetrics {
    return this.inner.metrics()
  }
}

export class TypedKeyValueStore<K, V>
  extends TypedBase<KeyValueStore<Bytes, Bytes> & Metered, K, V>
  implements KeyValueStore<K, V>
{
  get(key: K): V | undefined {
    return this.codec.readValue(this.inner.get(this.codec.key(key, 'get')), 'get')
  }

  put(key: K, value: V): void {
    this.inner.put(this.codec.key(key, 'put'), this.codec.value(value, 'put'))
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const old = this.inner.putIfAbsent(
      this.codec.key(key, 'putIfAbsent'),
      this.codec.value(value, 'putIfAbsent'),
    )
    return this.codec.readValue(old, 'putIfAbsent')
  }

  delete(key: K): V | undefined {
    return this.codec.readValue(this.inner.delete(this.codec.key(key, 'delete')), 'delete')
  }

  range(from: K, to: K): Iterable<KeyValue<K, V>> {
    const entries = this.inner.range(this.codec.key(from, 'range'), this.codec.key(to, 'range'))
    return mapEach(entries, (e) => this.codec.kv(e, 'range'))
  }

  all(): Iterable<KeyValue<K, V>> {
    return mapEach(this.inner.all(), (e) => this.codec.kv(e, 'all'))
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }
}

export class TypedWindowStore<K, V>
  extends TypedBase<WindowStore<Bytes, Bytes> & Metered, K, V>
  implements WindowStore<K, V>
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

  put(key: K, value: V | null, windowStartMs: number): boolean {
    const bytes = value === null ? null : this.codec.value(value, 'put')
    return this.inner.put(this.codec.key(key, 'put'), bytes, windowStartMs)
  }

  fetch(key: K, windowStartMs: number): V | undefined {
    return this.codec.readValue(this.inner.fetch(this.codec.key(key, 'fetch'), windowStartMs), 'fetch')
  }

  fetchRange(key: K, timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<K>, V>> {
    const entries = this.inner.fetchRange(this.codec.key(key, 'fetchRange'), timeFromMs, timeToMs)
    return mapEach(entries, (e) => this.codec.windowed(e, 'fetchRange'))
  }

  fetchAll(timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<K>, V>> {
    return mapEach(this.inner.fetchAll(timeFromMs, timeToMs), (e) => this.codec.windowed(e, 'fetchAll'))
  }
}

export class TypedSessionStore<K, V>
  extends TypedBase<SessionStore<Bytes, Bytes> & Metered, K, V>
  implements SessionStore<K, V>
{
  get retentionMs(): number {
    return this.inner.retentionMs
  }

  observedStreamTimeMs(): number {
    return this.inner.observedStreamTimeMs()
  }

  #session(session: Windowed<K>, operation: string): Windowed<Bytes> {
    return { key: this.codec.key(session.key, operation), window: session.window }
  }

  put(session: Windowed<K>, value: V): boolean {
    return this.inner.put(this.#session(session, 'put'), this.codec.value(value, 'put'))
  }

  remove(session: Windowed<K>): void {
    this.inner.remove(this.#session(session, 'remove'))
  }

  findSessions(
    key: K,
    earliestSessionEndMs: number,
    latestSessionStartMs: number,
  ): Iterable<KeyValue<Windowed<K>, V>> {
    const entries = this.inner.findSessions(
      this.codec.key(key, 'findSessions'),
      earliestSessionEndMs,
      latestSessionStartMs,
    )
    return mapEach(entries, (e) => this.codec.windowed(e, 'findSessions'))
  }

  fetchSession(key: K, startMs: number, endMs: number): V | undefined {
    return this.codec.readValue(
      this.inner.fetchSession(this.codec.key(key, 'fetchSession'), startMs, endMs),
      'fetchSession',
    )
  }

  fetch(key: K): Iterable<KeyValue<Windowed<K>, V>> {
    return mapEach(this.inner.fetch(this.codec.key(key, 'fetch')), (e) => this.codec.windowed(e, 'fetch'))
  }
}
