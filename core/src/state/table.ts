import { compareBytes } from './keys.ts'

export interface TableEntry {
  readonly key: Uint8Array
  readonly value: Uint8Array
}

/**
 * An ordered byte table: the storage a bytes store runs on. Two implementations: one store's slice of
 * the shared LMDB 'state' database (lmdb.ts), and a sorted in-memory array (MemoryTable).
 */
export interface OrderedTable {
  readonly persistent: boolean
  get(key: Uint8Array): Uint8Array | undefined
  put(key: Uint8Array, value: Uint8Array): void
  remove(key: Uint8Array): void
  /** Entries with from ≤ key < to, ascending; `to` undefined means to the end of the table. */
  range(from: Uint8Array, to: Uint8Array | undefined): Iterable<TableEntry>
  /** How many keys are in [from, to). */
  count(from: Uint8Array, to: Uint8Array | undefined): number
  /** Throws NOT_IN_TRANSACTION if writes cannot be made now (LMDB outside a write transaction). */
  assertWritable(store: string, operation: string): void
  /** Releases the table (the LMDB one frees its store name for reuse in this process). */
  release(): void
}

/**
 * A sorted map of byte keys: binary search for lookups and range starts, so a range costs
 * O(log n + returned), not a sort. Inserts shift the array (O(n)); fine for tests and bounded buffers.
 */
export class SortedBytesMap<V> {
  #keys: Uint8Array[] = []
  #values: V[] = []

  get size(): number {
    return this.#keys.length
  }

  /** Index of the first key ≥ key. */
  #lowerBound(key: Uint8Array): number {
    let lo = 0
    let hi = this.#keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareBytes(this.#keys[mid]!, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  get(key: Uint8Array): V | undefined {
    const i = this.#lowerBound(key)
    return i < this.#keys.length && compareBytes(this.#keys[i]!, key) === 0 ? this.#values[i] : undefined
  }

  has(key: Uint8Array): boolean {
    const i = this.#lowerBound(key)
    return i < this.#keys.length && compareBytes(this.#keys[i]!, key) === 0
  }

  /** Sets key; returns the value it replaced. The key is copied, so callers may reuse their buffer. */
  set(key: Uint8Array, value: V): V | undefined {
    const i = this.#lowerBound(key)
    if (i < this.#keys.length && compareBytes(this.#keys[i]!, key) === 0) {
      const old = this.#values[i]
      this.#values[i] = value
      return old
    }
    this.#keys.splice(i, 0, key.slice())
    this.#values.splice(i, 0, value)
    return undefined
  }

  delete(key: Uint8Array): V | undefined {
    const i = this.#lowerBound(key)
    if (i < this.#keys.length && compareBytes(this.#keys[i]!, key) === 0) {
      const old = this.#values[i]
      this.#keys.splice(i, 1)
      this.#values.splice(i, 1)
      return old
    }
    return undefined
  }

  clear(): void {
    this.#keys = []
    this.#values = []
  }

  /**
   * Entries in [from, to), ascending. Iterates over a snapshot of the index bounds taken at the first
   * step, so it must not be interleaved with writes (the stores document the same rule).
   */
  *range(from: Uint8Array | undefined, to: Uint8Array | undefined): Generator<[Uint8Array, V]> {
    const start = from === undefined ? 0 : this.#lowerBound(from)
    const end = to === undefined ? this.#keys.length : this.#lowerBound(to)
    const keys = this.#keys
    const values = this.#values
    for (let i = start; i < end; i++) yield [keys[i]!, values[i]!]
  }

  count(from: Uint8Array | undefined, to: Uint8Array | undefined): number {
    const start = from === undefined ? 0 : this.#lowerBound(from)
    const end = to === undefined ? this.#keys.length : this.#lowerBound(to)
    return Math.max(0, end - start)
  }
}

/** The in-memory table: a SortedBytesMap that copies what it returns, so callers cannot alias its contents. */
export class MemoryTable implements OrderedTable {
  readonly persistent = false
  readonly #map = new SortedBytesMap<Uint8Array>()

  get(key: Uint8Array): Uint8Array | undefined {
    return this.#map.get(key)?.slice()
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.#map.set(key, value.slice())
  }

  remove(key: Uint8Array): void {
    this.#map.delete(key)
  }

  *range(from: Uint8Array, to: Uint8Array | undefined): Generator<TableEntry> {
    for (const [key, value] of this.#map.range(from, to)) yield { key: key.slice(), value: value.slice() }
  }

  count(from: Uint8Array, to: Uint8Array | undefined): number {
    return this.#map.count(from, to)
  }

  assertWritable(): void {
    // Memory needs no transaction.
  }

  release(): void {
    this.#map.clear()
  }
}
