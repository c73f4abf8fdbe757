import { StoreLayer, type WriteBuffered } from './layer.ts'
import { checkBound, checkKey, checkSession, checkTime, checkValue } from './bytes-stores.ts'
import { StateError } from './errors.ts'
import {
  compareBytes,
  MAX_TIME_MS,
  parseSessionKey,
  parseWindowKey,
  prefixEnd,
  sessionKey,
  sessionKeyPrefix,
  windowIndexKey,
  windowKey,
} from './keys.ts'
import { SortedBytesMap } from './table.ts'
import type { KeyValue, KeyValueStore, SessionStore, StateStore, WindowStore, Windowed } from './types.ts'

/*
 * The write-buffer ("caching") layer. Writes go to an in-memory sorted buffer, reads see the buffer
 * first (a deleted key is a buffered tombstone), and flush() writes the buffer down, in key order, then
 * flushes the store below. Nothing reaches the store below outside flush(), so an LMDB store under a
 * buffer is written only inside the task's commit transaction: puts need no transaction, flush does.
 *
 * The buffer is bounded by maxBufferedBytes (key + value + ENTRY_OVERHEAD_BYTES per entry). A write
 * that would pass the bound throws BUFFER_FULL (retriable) and changes nothing: the runtime must commit
 * (flush inside a transaction) and retry. It never evicts on its own, because an eviction would write to
 * LMDB outside the commit transaction and break exactly-once.
 */

type Bytes = Uint8Array

/** Bookkeeping per buffered entry, in bytes (array slots, key copy header, value reference). */
export const ENTRY_OVERHEAD_BYTES = 64

export { isWriteBuffered, type WriteBuffered } from './layer.ts'

class WriteBuffer {
  readonly entries = new SortedBytesMap<Bytes | null>()
  readonly #store: string
  readonly #max: number
  bytes = 0

  constructor(store: string, maxBufferedBytes: number) {
    this.#store = store
    this.#max = maxBufferedBytes
  }

  set(key: Bytes, value: Bytes | null): void {
    const had = this.entries.has(key)
    const oldBytes = had ? key.length + ENTRY_OVERHEAD_BYTES + (this.entries.get(key)?.length ?? 0) : 0
    const delta = key.length + ENTRY_OVERHEAD_BYTES + (value?.length ?? 0) - oldBytes
    if (this.bytes + delta > this.#max) {
      throw new StateError(
        'BUFFER_FULL',
        `store ${this.#store}: write buffer would hold ${this.bytes + delta} bytes, over maxBufferedBytes=${this.#max}; commit the task (flush inside a transaction) and retry, or raise maxBufferedBytes`,
        { retriable: true },
      )
    }
    this.entries.set(key, value)
    this.bytes += delta
  }

  clear(): void {
    this.entries.clear()
    this.bytes = 0
  }
}

/**
 * Merges a buffered and a stored stream, both ascending by their byte sort keys. On equal sort keys the
 * buffered item wins; a buffered null (tombstone) hides the stored item and yields nothing.
 */
function* merge<T>(buffered: Iterable<[Bytes, T | null]>, stored: Iterable<[Bytes, T]>): Generator<T> {
  const b = buffered[Symbol.iterator]()
  const s = stored[Symbol.iterator]()
  try {
    let nb = b.next()
    let ns = s.next()
    while (nb.done !== true || ns.done !== true) {
      if (nb.done !== true && (ns.done === true || compareBytes(nb.value[0], ns.value[0]) <= 0)) {
        if (ns.done !== true && compareBytes(nb.value[0], ns.value[0]) === 0) ns = s.next()
        const item = nb.value[1]
        nb = b.next()
        if (item !== null) yield item
      } else if (ns.done !== true) {
        yield ns.value[1]
        ns = s.next()
      }
    }
  } finally {
    // Early exit by the consumer: release the stored side's cursor.
    s.return?.()
    b.return?.()
  }
}

function* mapIterable<A, B>(items: Iterable<A>, fn: (a: A) => B): Generator<B> {
  for (const item of items) yield fn(item)
}

/** Delegation of the lifecycle and position to the store below. */
abstract class CachingBase<S extends StateStore> extends StoreLayer<S> implements WriteBuffered {
  protected readonly buffer: WriteBuffer
  readonly maxBufferedBytes: number

  constructor(inner: S, maxBufferedBytes: number) {
    super(inner)
    this.maxBufferedBytes = maxBufferedBytes
    this.buffer = new WriteBuffer(inner.name, maxBufferedBytes)
  }

  bufferedBytes(): number {
    return this.buffer.bytes
  }

  override flush(): void {
    this.assertOpen()
    // The buffer is cleared only after everything below succeeded: if the store below refuses (no
    // transaction) or fails, the buffered writes are still here and the transaction rolls back the rest.
    this.writeDown()
    this.inner.flush()
    this.buffer.clear()
  }

  protected abstract writeDown(): void

  override close(): void {
    this.buffer.clear()
    this.inner.close()
  }

  protected assertOpen(): void {
    if (!this.inner.isOpen) {
      throw new StateError(
        'STORE_CLOSED',
        `store ${this.name} is closed; open a new store to read or write it`,
      )
    }
  }
}

export class CachingKeyValueStore
  extends CachingBase<KeyValueStore<Bytes, Bytes>>
  implements KeyValueStore<Bytes, Bytes>
{
  get(key: Bytes): Bytes | undefined {
    this.assertOpen()
    checkKey(this.name, key)
    const buffered = this.buffer.entries.get(key)
    if (buffered !== undefined) return buffered ?? undefined
    return this.inner.get(key)
  }

  put(key: Bytes, value: Bytes): void {
    this.assertOpen()
    this.buffer.set(checkKey(this.name, key), checkValue(this.name, value))
  }

  putIfAbsent(key: Bytes, value: Bytes): Bytes | undefined {
    const existing = this.get(key)
    if (existing === undefined) this.put(key, value)
    return existing
  }

  delete(key: Bytes): Bytes | undefined {
    const existing = this.get(key)
    if (existing !== undefined) this.buffer.set(key, null)
    return existing
  }

  range(from: Bytes, to: Bytes): Iterable<KeyValue<Bytes, Bytes>> {
    this.assertOpen()
    checkKey(this.name, from)
    checkKey(this.name, to)
    if (compareBytes(from, to) >= 0) return []
    return this.#merged(from, to, this.inner.range(from, to))
  }

  all(): Iterable<KeyValue<Bytes, Bytes>> {
    this.assertOpen()
    return this.#merged(undefined, undefined, this.inner.all())
  }

  #merged(
    from: Bytes | undefined,
    to: Bytes | undefined,
    stored: Iterable<KeyValue<Bytes, Bytes>>,
  ): Iterable<KeyValue<Bytes, Bytes>> {
    const buffered = mapIterable(
      this.buffer.entries.range(from, to),
      ([key, value]): [Bytes, KeyValue<Bytes, Bytes> | null] => [
        key,
        value === null ? null : { key: key.slice(), value },
      ],
    )
    return merge(
      buffered,
      mapIterable(stored, (kv): [Bytes, KeyValue<Bytes, Bytes>] => [kv.key, kv]),
    )
  }

  approximateNumEntries(): number {
    this.assertOpen()
    let count = this.inner.approximateNumEntries()
    for (const [key, value] of this.buffer.entries.range(undefined, undefined)) {
      const stored = this.inner.get(key) !== undefined
      if (value !== null && !stored) count++
      if (value === null && stored) count--
    }
    return count
  }

  protected writeDown(): void {
    for (const [key, value] of this.buffer.entries.range(undefined, undefined)) {
      if (value === null) this.inner.delete(key)
      else this.inner.put(key, value)
    }
  }
}

/** Stream time of a buffered window/session store: the larger of the store below's and the buffered puts'. */
abstract class CachingTimedBase<
  S extends StateStore & { observedStreamTimeMs(): number; readonly retentionMs: number },
> extends CachingBase<S> {
  #streamTimeMs = Number.NEGATIVE_INFINITY

  get retentionMs(): number {
    return this.inner.retentionMs
  }

  observedStreamTimeMs(): number {
    this.assertOpen()
    return Math.max(this.#streamTimeMs, this.inner.observedStreamTimeMs())
  }

  protected advance(timeMs: number): void {
    if (timeMs > this.#streamTimeMs) this.#streamTimeMs = timeMs
  }

  protected isExpired(timeMs: number): boolean {
    return timeMs < this.observedStreamTimeMs() - this.retentionMs
  }

  protected liveFromMs(): number {
    return Math.max(0, this.observedStreamTimeMs() - this.retentionMs)
  }
}

export class CachingWindowStore
  extends CachingTimedBase<WindowStore<Bytes, Bytes>>
  implements WindowStore<Bytes, Bytes>
{
  get windowSizeMs(): number {
    return this.inner.windowSizeMs
  }

  put(key: Bytes, value: Bytes | null, windowStartMs: number): boolean {
    this.assertOpen()
    checkKey(this.name, key)
    checkTime(this.name, 'windowStartMs', windowStartMs)
    if (value !== null) checkValue(this.name, value)
    if (this.isExpired(windowStartMs)) return false
    this.buffer.set(windowKey(key, windowStartMs), value)
    this.advance(windowStartMs)
    return true
  }

  fetch(key: Bytes, windowStartMs: number): Bytes | undefined {
    this.assertOpen()
    checkKey(this.name, key)
    checkTime(this.name, 'windowStartMs', windowStartMs)
    if (this.isExpired(windowStartMs)) return undefined
    const bufferKey = windowKey(key, windowStartMs)
    if (this.buffer.entries.has(bufferKey)) return this.buffer.entries.get(bufferKey) ?? undefined
    return this.inner.fetch(key, windowStartMs)
  }

  fetchRange(key: Bytes, timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    this.assertOpen()
    checkKey(this.name, key)
    const from = Math.max(checkBound(this.name, 'timeFromMs', timeFromMs), this.liveFromMs())
    const to = Math.min(checkBound(this.name, 'timeToMs', timeToMs), MAX_TIME_MS - 1)
    if (from > to) return []
    const buffered = mapIterable(
      this.buffer.entries.range(windowKey(key, from), windowKey(key, to + 1)),
      ([bufferKey, value]): [Bytes, KeyValue<Windowed<Bytes>, Bytes> | null] => [
        bufferKey,
        value === null ? null : { key: this.#windowed(bufferKey), value },
      ],
    )
    const stored = mapIterable(
      this.inner.fetchRange(key, from, to),
      (kv): [Bytes, KeyValue<Windowed<Bytes>, Bytes>] => [windowKey(kv.key.key, kv.key.window.startMs), kv],
    )
    return merge(buffered, stored)
  }

  fetchAll(timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    this.assertOpen()
    const from = Math.max(checkBound(this.name, 'timeFromMs', timeFromMs), this.liveFromMs())
    const to = Math.min(checkBound(this.name, 'timeToMs', timeToMs), MAX_TIME_MS - 1)
    if (from > to) return []
    // The buffer is key-first; re-sort its (bounded) matching part into the store's time-first order.
    const buffered: [Bytes, KeyValue<Windowed<Bytes>, Bytes> | null][] = []
    for (const [bufferKey, value] of this.buffer.entries.range(undefined, undefined)) {
      const { key, startMs } = parseWindowKey(bufferKey)
      if (startMs < from || startMs > to) continue
      buffered.push([
        windowIndexKey(startMs, key),
        value === null ? null : { key: this.#windowed(bufferKey), value },
      ])
    }
    buffered.sort((a, b) => compareBytes(a[0], b[0]))
    const stored = mapIterable(
      this.inner.fetchAll(from, to),
      (kv): [Bytes, KeyValue<Windowed<Bytes>, Bytes>] => [
        windowIndexKey(kv.key.window.startMs, kv.key.key),
        kv,
      ],
    )
    return merge(buffered, stored)
  }

  #windowed(bufferKey: Bytes): Windowed<Bytes> {
    const { key, startMs } = parseWindowKey(bufferKey)
    return { key, window: { startMs, endMs: startMs + this.windowSizeMs } }
  }

  protected writeDown(): void {
    for (const [bufferKey, value] of this.buffer.entries.range(undefined, undefined)) {
      const { key, startMs } = parseWindowKey(bufferKey)
      if (!this.isExpired(startMs)) this.inner.put(key, value, startMs)
    }
  }
}

export class CachingSessionStore
  extends CachingTimedBase<SessionStore<Bytes, Bytes>>
  implements SessionStore<Bytes, Bytes>
{
  put(session: Windowed<Bytes>, value: Bytes): boolean {
    this.assertOpen()
    const { key, startMs, endMs } = checkSession(this.name, session)
    checkValue(this.name, value)
    if (this.isExpired(endMs)) return false
    this.buffer.set(sessionKey(key, endMs, startMs), value)
    this.advance(endMs)
    return true
  }

  remove(session: Windowed<Bytes>): void {
    this.assertOpen()
    const { key, startMs, endMs } = checkSession(this.name, session)
    this.buffer.set(sessionKey(key, endMs, startMs), null)
  }

  findSessions(
    key: Bytes,
    earliestSessionEndMs: number,
    latestSessionStartMs: number,
  ): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    this.assertOpen()
    checkKey(this.name, key)
    const earliestEnd = Math.max(
      checkBound(this.name, 'earliestSessionEndMs', earliestSessionEndMs),
      this.liveFromMs(),
    )
    const latestStart = checkBound(this.name, 'latestSessionStartMs', latestSessionStartMs)
    if (earliestEnd > MAX_TIME_MS || latestStart < 0) return []
    const buffered = this.#bufferedSessions(key, earliestEnd, latestStart)
    const stored = mapIterable(
      this.inner.findSessions(key, earliestEnd, latestStart),
      (kv): [Bytes, KeyValue<Windowed<Bytes>, Bytes>] => [
        sessionKey(kv.key.key, kv.key.window.endMs, kv.key.window.startMs),
        kv,
      ],
    )
    return merge(buffered, stored)
  }

  *#bufferedSessions(
    key: Bytes,
    earliestEndMs: number,
    latestStartMs: number,
  ): Generator<[Bytes, KeyValue<Windowed<Bytes>, Bytes> | null]> {
    const range = this.buffer.entries.range(
      sessionKey(key, earliestEndMs, 0),
      prefixEnd(sessionKeyPrefix(key)),
    )
    for (const [bufferKey, value] of range) {
      const session = parseSessionKey(bufferKey)
      if (session.startMs > latestStartMs) continue
      yield [
        bufferKey,
        value === null
          ? null
          : { key: { key: session.key, window: { startMs: session.startMs, endMs: session.endMs } }, value },
      ]
    }
  }

  fetchSession(key: Bytes, startMs: number, endMs: number): Bytes | undefined {
    this.assertOpen()
    const session = checkSession(this.name, { key, window: { startMs, endMs } })
    if (this.isExpired(session.endMs)) return undefined
    const bufferKey = sessionKey(session.key, session.endMs, session.startMs)
    if (this.buffer.entries.has(bufferKey)) return this.buffer.entries.get(bufferKey) ?? undefined
    return this.inner.fetchSession(key, startMs, endMs)
  }

  fetch(key: Bytes): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    return this.findSessions(key, 0, MAX_TIME_MS)
  }

  protected writeDown(): void {
    for (const [bufferKey, value] of this.buffer.entries.range(undefined, undefined)) {
      const { key, startMs, endMs } = parseSessionKey(bufferKey)
      const session = { key, window: { startMs, endMs } }
      if (value === null) this.inner.remove(session)
      else if (!this.isExpired(endMs)) this.inner.put(session, value)
    }
  }
}
