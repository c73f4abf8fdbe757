import { StateError } from './errors.ts'
import {
  compareBytes,
  EMPTY,
  kvKey,
  MAX_KEY_BYTES,
  MAX_TIME_MS,
  META_POSITION,
  META_STREAM_TIME,
  parseSessionIndexKey,
  parseSessionKey,
  parseWindowIndexKey,
  parseWindowKey,
  prefixEnd,
  readU64,
  sessionIndexAt,
  sessionIndexKey,
  sessionKey,
  sessionKeyPrefix,
  TAG_KV,
  u64,
  windowIndexAt,
  windowIndexKey,
  windowKey,
} from './keys.ts'
import { Position } from './position.ts'
import type { OrderedTable } from './table.ts'
import type { KeyValue, KeyValueStore, SessionStore, StateStore, WindowStore, Windowed } from './types.ts'

/*
 * The bytes stores: the bottom of every store stack. Each runs over an OrderedTable (LMDB or memory)
 * with the layouts of keys.ts, so the LMDB and in-memory kinds share all of their semantics.
 */

type Bytes = Uint8Array

const KV_FROM = Uint8Array.of(TAG_KV)
const KV_TO = Uint8Array.of(TAG_KV + 1)
const decoder = new TextDecoder()
const encoder = new TextEncoder()

export function checkKey(store: string, key: unknown): Bytes {
  if (!(key instanceof Uint8Array)) {
    throw new StateError('INVALID_ARGUMENT', `store ${store}: a bytes key must be a Uint8Array`)
  }
  if (key.length > MAX_KEY_BYTES) {
    throw new StateError(
      'KEY_TOO_LARGE',
      `store ${store}: key of ${key.length} bytes exceeds ${MAX_KEY_BYTES}; key by an id, not by content`,
    )
  }
  return key
}

export function checkValue(store: string, value: unknown): Bytes {
  if (!(value instanceof Uint8Array)) {
    throw new StateError('INVALID_ARGUMENT', `store ${store}: a bytes value must be a Uint8Array`)
  }
  return value
}

/** A time stored in a key: epoch ms in [0, 2^53). */
export function checkTime(store: string, field: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) {
    throw new StateError(
      'INVALID_ARGUMENT',
      `store ${store}: ${field} must be an integer number of epoch ms ≥ 0, got ${String(ms)}`,
    )
  }
  return ms
}

/** Validates a session key: its key, and `[startMs, endMs]` with startMs ≤ endMs. */
export function checkSession(
  store: string,
  session: Windowed<Bytes>,
): { key: Bytes; startMs: number; endMs: number } {
  const key = checkKey(store, session.key)
  const startMs = checkTime(store, 'window.startMs', session.window.startMs)
  const endMs = checkTime(store, 'window.endMs', session.window.endMs)
  if (startMs > endMs) {
    throw new StateError(
      'INVALID_ARGUMENT',
      `store ${store}: session start ${startMs} is after its end ${endMs}; a session is [startMs, endMs] with startMs ≤ endMs`,
    )
  }
  return { key, startMs, endMs }
}

/** A time bound of a query: any safe integer (clamped into [0, 2^53) by the query). */
export function checkBound(store: string, field: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) {
    throw new StateError(
      'INVALID_ARGUMENT',
      `store ${store}: ${field} must be an integer (ms), got ${String(ms)}`,
    )
  }
  return ms
}

/** Name, lifecycle and position, persisted as META_POSITION by flush. */
abstract class TableStore implements StateStore {
  readonly name: string
  protected readonly table: OrderedTable
  #position: Position
  #positionDirty = false
  #open = true

  constructor(name: string, table: OrderedTable) {
    this.name = name
    this.table = table
    const stored = table.get(META_POSITION)
    this.#position = stored === undefined ? Position.empty() : readPosition(name, stored)
  }

  get persistent(): boolean {
    return this.table.persistent
  }

  get isOpen(): boolean {
    return this.#open
  }

  position(): Position {
    this.assertOpen()
    return this.#position
  }

  updatePosition(topic: string, partition: number, offset: number): void {
    this.assertOpen()
    const next = this.#position.with(topic, partition, offset)
    if (next !== this.#position) {
      this.#position = next
      this.#positionDirty = true
    }
  }

  flush(): void {
    this.assertOpen()
    this.table.assertWritable(this.name, 'flush')
    if (this.#positionDirty) {
      this.table.put(META_POSITION, encoder.encode(JSON.stringify(this.#position)))
      this.#positionDirty = false
    }
  }

  close(): void {
    if (!this.#open) return
    this.#open = false
    this.table.release()
  }

  protected assertOpen(): void {
    if (!this.#open) {
      throw new StateError(
        'STORE_CLOSED',
        `store ${this.name} is closed; open a new store to read or write it`,
      )
    }
  }

  protected write(operation: string): void {
    this.assertOpen()
    this.table.assertWritable(this.name, operation)
  }
}

function readPosition(store: string, bytes: Bytes): Position {
  try {
    return Position.fromJSON(JSON.parse(decoder.decode(bytes)))
  } catch (cause) {
    throw new StateError('CORRUPT_STATE', `store ${store}: stored position is unreadable`, { cause })
  }
}

export class KeyValueBytesStore extends TableStore implements KeyValueStore<Bytes, Bytes> {
  get(key: Bytes): Bytes | undefined {
    this.assertOpen()
    return this.table.get(kvKey(checkKey(this.name, key)))
  }

  put(key: Bytes, value: Bytes): void {
    this.write('put')
    this.table.put(kvKey(checkKey(this.name, key)), checkValue(this.name, value))
  }

  putIfAbsent(key: Bytes, value: Bytes): Bytes | undefined {
    this.write('putIfAbsent')
    const existing = this.get(key)
    if (existing === undefined) this.put(key, value)
    return existing
  }

  delete(key: Bytes): Bytes | undefined {
    this.write('delete')
    const existing = this.get(key)
    if (existing !== undefined) this.table.remove(kvKey(key))
    return existing
  }

  range(from: Bytes, to: Bytes): Iterable<KeyValue<Bytes, Bytes>> {
    this.assertOpen()
    checkKey(this.name, from)
    checkKey(this.name, to)
    if (compareBytes(from, to) >= 0) return []
    return this.#scan(kvKey(from), kvKey(to))
  }

  all(): Iterable<KeyValue<Bytes, Bytes>> {
    this.assertOpen()
    return this.#scan(KV_FROM, KV_TO)
  }

  *#scan(from: Bytes, to: Bytes): Generator<KeyValue<Bytes, Bytes>> {
    for (const { key, value } of this.table.range(from, to)) yield { key: key.subarray(1), value }
  }

  approximateNumEntries(): number {
    this.assertOpen()
    return this.table.count(KV_FROM, KV_TO)
  }
}

/** Stream time and expiry shared by window and session stores (time = window start / session end). */
abstract class TimedTableStore extends TableStore {
  readonly retentionMs: number
  #streamTimeMs: number

  constructor(name: string, table: OrderedTable, retentionMs: number) {
    super(name, table)
    this.retentionMs = retentionMs
    const stored = table.get(META_STREAM_TIME)
    this.#streamTimeMs = stored === undefined ? Number.NEGATIVE_INFINITY : readU64(stored, 0)
  }

  observedStreamTimeMs(): number {
    this.assertOpen()
    return this.#streamTimeMs
  }

  /** The smallest live time: anything before it is expired. 0 while nothing is. */
  protected liveFromMs(): number {
    return Math.max(0, this.#streamTimeMs - this.retentionMs)
  }

  protected isExpired(timeMs: number): boolean {
    return timeMs < this.#streamTimeMs - this.retentionMs
  }

  /** Advances stream time (persisted at once: the caller is inside a write) and deletes what it expires. */
  protected advance(timeMs: number): void {
    if (timeMs <= this.#streamTimeMs) return
    this.#streamTimeMs = timeMs
    this.table.put(META_STREAM_TIME, u64(timeMs))
    const cutoff = this.#streamTimeMs - this.retentionMs
    if (cutoff > 0) this.expireBefore(cutoff)
  }

  protected abstract expireBefore(cutoffMs: number): void
}

export interface WindowBytesStoreOptions {
  readonly retentionMs: number
  readonly windowSizeMs: number
}

export class WindowBytesStore extends TimedTableStore implements WindowStore<Bytes, Bytes> {
  readonly windowSizeMs: number

  constructor(name: string, table: OrderedTable, options: WindowBytesStoreOptions) {
    super(name, table, options.retentionMs)
    this.windowSizeMs = options.windowSizeMs
  }

  put(key: Bytes, value: Bytes | null, windowStartMs: number): boolean {
    this.write('put')
    checkKey(this.name, key)
    checkTime(this.name, 'windowStartMs', windowStartMs)
    if (value !== null) checkValue(this.name, value)
    if (this.isExpired(windowStartMs)) return false
    if (value === null) {
      this.table.remove(windowKey(key, windowStartMs))
      this.table.remove(windowIndexKey(windowStartMs, key))
    } else {
      this.table.put(windowKey(key, windowStartMs), value)
      this.table.put(windowIndexKey(windowStartMs, key), EMPTY)
    }
    this.advance(windowStartMs)
    return true
  }

  protected expireBefore(cutoffMs: number): void {
    // Collected first: deleting under a live cursor is not something every table allows.
    const expired = [...this.table.range(windowIndexAt(0), windowIndexAt(cutoffMs))].map((e) => e.key)
    for (const indexKey of expired) {
      const { key, startMs } = parseWindowIndexKey(indexKey)
      this.table.remove(windowKey(key, startMs))
      this.table.remove(indexKey)
    }
  }

  fetch(key: Bytes, windowStartMs: number): Bytes | undefined {
    this.assertOpen()
    checkKey(this.name, key)
    checkTime(this.name, 'windowStartMs', windowStartMs)
    if (this.isExpired(windowStartMs)) return undefined
    return this.table.get(windowKey(key, windowStartMs))
  }

  fetchRange(key: Bytes, timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    this.assertOpen()
    checkKey(this.name, key)
    const from = Math.max(checkBound(this.name, 'timeFromMs', timeFromMs), this.liveFromMs())
    const to = Math.min(checkBound(this.name, 'timeToMs', timeToMs), MAX_TIME_MS - 1)
    if (from > to) return []
    return this.#scanKey(windowKey(key, from), windowKey(key, to + 1))
  }

  *#scanKey(from: Bytes, to: Bytes): Generator<KeyValue<Windowed<Bytes>, Bytes>> {
    for (const { key, value } of this.table.range(from, to)) {
      yield { key: this.#windowed(parseWindowKey(key)), value }
    }
  }

  fetchAll(timeFromMs: number, timeToMs: number): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    this.assertOpen()
    const from = Math.max(checkBound(this.name, 'timeFromMs', timeFromMs), this.liveFromMs())
    const to = Math.min(checkBound(this.name, 'timeToMs', timeToMs), MAX_TIME_MS - 1)
    if (from > to) return []
    return this.#scanIndex(windowIndexAt(from), windowIndexAt(to + 1))
  }

  *#scanIndex(from: Bytes, to: Bytes): Generator<KeyValue<Windowed<Bytes>, Bytes>> {
    for (const { key: indexKey } of this.table.range(from, to)) {
      const parsed = parseWindowIndexKey(indexKey)
      const value = this.table.get(windowKey(parsed.key, parsed.startMs))
      if (value === undefined) {
        throw new StateError('CORRUPT_STATE', `store ${this.name}: window index entry without its window`)
      }
      yield { key: this.#windowed(parsed), value }
    }
  }

  #windowed({ key, startMs }: { key: Bytes; startMs: number }): Windowed<Bytes> {
    return { key, window: { startMs, endMs: startMs + this.windowSizeMs } }
  }
}

export interface SessionBytesStoreOptions {
  readonly retentionMs: number
}

export class SessionBytesStore extends TimedTableStore implements SessionStore<Bytes, Bytes> {
  constructor(name: string, table: OrderedTable, options: SessionBytesStoreOptions) {
    super(name, table, options.retentionMs)
  }

  put(session: Windowed<Bytes>, value: Bytes): boolean {
    this.write('put')
    const { key, startMs, endMs } = checkSession(this.name, session)
    checkValue(this.name, value)
    if (this.isExpired(endMs)) return false
    this.table.put(sessionKey(key, endMs, startMs), value)
    this.table.put(sessionIndexKey(endMs, key, startMs), EMPTY)
    this.advance(endMs)
    return true
  }

  remove(session: Windowed<Bytes>): void {
    this.write('remove')
    const { key, startMs, endMs } = checkSession(this.name, session)
    this.table.remove(sessionKey(key, endMs, startMs))
    this.table.remove(sessionIndexKey(endMs, key, startMs))
  }

  protected expireBefore(cutoffMs: number): void {
    const expired = [...this.table.range(sessionIndexAt(0), sessionIndexAt(cutoffMs))].map((e) => e.key)
    for (const indexKey of expired) {
      const { key, startMs, endMs } = parseSessionIndexKey(indexKey)
      this.table.remove(sessionKey(key, endMs, startMs))
      this.table.remove(indexKey)
    }
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
    return this.#scan(sessionKey(key, earliestEnd, 0), prefixEnd(sessionKeyPrefix(key)), latestStart)
  }

  *#scan(
    from: Bytes,
    to: Bytes | undefined,
    latestStartMs: number,
  ): Generator<KeyValue<Windowed<Bytes>, Bytes>> {
    // Ordered by end, so starts are not monotonic: every session of the key from `from` on is checked.
    for (const { key: stored, value } of this.table.range(from, to)) {
      const { key, startMs, endMs } = parseSessionKey(stored)
      if (startMs <= latestStartMs) yield { key: { key, window: { startMs, endMs } }, value }
    }
  }

  fetchSession(key: Bytes, startMs: number, endMs: number): Bytes | undefined {
    this.assertOpen()
    const session = checkSession(this.name, { key, window: { startMs, endMs } })
    if (this.isExpired(session.endMs)) return undefined
    return this.table.get(sessionKey(session.key, session.endMs, session.startMs))
  }

  fetch(key: Bytes): Iterable<KeyValue<Windowed<Bytes>, Bytes>> {
    return this.findSessions(key, 0, MAX_TIME_MS)
  }
}
