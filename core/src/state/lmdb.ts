import type { Database, RootDatabase } from 'lmdb'
import { StateError } from './errors.ts'
import { compareBytes, META_POSITION, readU32, writeU32 } from './keys.ts'
import type { Position } from './position.ts'
import type { OrderedTable, TableEntry } from './table.ts'

/*
 * Every store of an environment lives in ONE LMDB database named 'state', each under its own
 * u32 big-endian store id, so a task's stores, its output appends and its offset commits can share a
 * single write transaction, and "vigil reset" can drop a store with one range delete. Id 0 is the
 * registry:
 *
 * registry entry   => 0:u32 0x00 name:utf8    value => storeId:u32 kind:u8
 * registry next id => 0:u32 0x01              value => nextStoreId:u32
 * store key        => storeId:u32 tableKey    (tableKey as in keys.ts)
 */

export const STATE_DATABASE_NAME = 'state'

export const storeKinds = ['keyValue', 'window', 'session'] as const
export type StoreKind = (typeof storeKinds)[number]
const KIND_CODES: Record<StoreKind, number> = { keyValue: 1, window: 2, session: 3 }

const REGISTRY_ID = 0
const FIRST_STORE_ID = 1
const NEXT_ID_KEY = Buffer.from([0, 0, 0, 0, 0x01])

/** Write-transaction depth per environment, for transactions opened through stateTransaction. */
const depths = new WeakMap<RootDatabase, number>()

/**
 * Runs fn inside one synchronous, durable LMDB write transaction of env (`env.transactionSync`) and
 * marks it as one that state stores may write in. Nested calls join the enclosing transaction (as an
 * LMDB child transaction). fn must be synchronous: a returned promise is refused with INVALID_ARGUMENT
 * and the transaction is aborted, because writes after an await would escape it.
 *
 * If fn throws, nothing fn wrote is committed, and the error is rethrown.
 */
export function stateTransaction<T>(env: RootDatabase, fn: () => T): T {
  return env.transactionSync(() => {
    depths.set(env, (depths.get(env) ?? 0) + 1)
    try {
      const result = fn()
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        throw new StateError(
          'INVALID_ARGUMENT',
          'stateTransaction got a promise; store writes must be synchronous inside the transaction',
        )
      }
      return result
    } finally {
      depths.set(env, depths.get(env)! - 1)
    }
  })
}

/**
 * Whether a write transaction of env is open on this thread: one opened by stateTransaction, or by
 * lmdb-js itself (`transactionSync`, or an async `transaction` callback). lmdb-js 3.x marks its native
 * environment with the open write transaction (`env.writeTxn` in lmdb/write.js); that field is not in its
 * typings, so it is read defensively, and if a later lmdb-js drops it, only stateTransaction counts.
 */
export function inWriteTransaction(env: RootDatabase): boolean {
  if ((depths.get(env) ?? 0) > 0) return true
  const native = (env as unknown as { env?: { writeTxn?: unknown } }).env
  return native?.writeTxn !== undefined && native.writeTxn !== null
}

export interface RegisteredStore {
  readonly name: string
  readonly id: number
  readonly kind: StoreKind
}

const databases = new WeakMap<RootDatabase, StateDatabase>()

/** The 'state' database of one environment and its store registry; one instance per environment. */
export class StateDatabase {
  readonly env: RootDatabase
  readonly db: Database<Buffer, Buffer>
  readonly #open = new Set<string>()
  /** Highest id handed out in this process: a registration inside a transaction that later aborts must not let a second store reuse a live id. */
  #highestId = 0

  private constructor(env: RootDatabase) {
    this.env = env
    this.db = env.openDB<Buffer, Buffer>({
      name: STATE_DATABASE_NAME,
      keyEncoding: 'binary',
      encoding: 'binary',
    })
  }

  static of(env: RootDatabase): StateDatabase {
    let db = databases.get(env)
    if (db === undefined) {
      db = new StateDatabase(env)
      databases.set(env, db)
    }
    return db
  }

  /** Every store ever registered in this environment, by name. */
  stores(): RegisteredStore[] {
    const out: RegisteredStore[] = []
    const from = Buffer.from([0, 0, 0, 0, 0x00])
    const to = Buffer.from([0, 0, 0, 0, 0x01])
    for (const { key, value } of this.db.getRange({ start: from, end: to })) {
      out.push(decodeRegistryEntry(key.subarray(5).toString('utf8'), value))
    }
    return out
  }

  /**
   * The table of store `name`, registering it (durably, in its own transaction, or in the caller's if
   * one is open) on first use. Throws STORE_KIND_MISMATCH if name is registered as another kind, and
   * STORE_ALREADY_OPEN if this process has it open.
   */
  openTable(name: string, kind: StoreKind): OrderedTable {
    if (this.#open.has(name)) {
      throw new StateError(
        'STORE_ALREADY_OPEN',
        `store ${name} is already open in this environment; close it first, or give the second store another name`,
      )
    }
    const nameKey = registryKey(name)
    let entry = this.#lookup(name, nameKey)
    if (entry === undefined) {
      entry = this.env.transactionSync(() => {
        const again = this.#lookup(name, nameKey)
        if (again !== undefined) return again
        const stored = this.db.get(NEXT_ID_KEY)
        const id = Math.max(stored === undefined ? FIRST_STORE_ID : readU32(stored, 0), this.#highestId + 1)
        if (id > 0xffffffff) throw new StateError('STORAGE_FAILURE', 'no store ids left in this environment')
        const value = Buffer.alloc(5)
        writeU32(value, 0, id)
        value[4] = KIND_CODES[kind]
        this.db.putSync(nameKey, value)
        const next = Buffer.alloc(4)
        writeU32(next, 0, id + 1)
        this.db.putSync(NEXT_ID_KEY, next)
        return { name, id, kind }
      })
    }
    if (entry.kind !== kind) {
      throw new StateError(
        'STORE_KIND_MISMATCH',
        `store ${name} holds ${entry.kind} data, not ${kind}; open it as a ${entry.kind} store or choose another name`,
      )
    }
    this.#highestId = Math.max(this.#highestId, entry.id)
    this.#open.add(name)
    return new LmdbTable(this, entry.id, name, () => this.#open.delete(name))
  }

  /** Whether this process has store `name` open. */
  isOpen(name: string): boolean {
    return this.#open.has(name)
  }

  /**
   * Deletes every entry of store `name` (its data and position), keeping its registration; returns
   * the entries removed (0 for a store never registered). With `position`, the emptied store then
   * reflects that position (a reset that skips input records: their state is empty, not missing).
   * In the caller's write transaction if one is open, else in its own. Throws STORE_ALREADY_OPEN if
   * this process has the store open.
   */
  clearStore(name: string, position?: Position): number {
    if (this.#open.has(name)) {
      throw new StateError(
        'STORE_ALREADY_OPEN',
        `store ${name} is open; close it (stop its engine) before clearing it`,
      )
    }
    const entry = this.#lookup(name, registryKey(name))
    if (entry === undefined) return 0
    const start = Buffer.alloc(4)
    writeU32(start, 0, entry.id)
    const end = Buffer.alloc(4)
    writeU32(end, 0, entry.id + 1)
    return stateTransaction(this.env, () => {
      // Collected first: removing while an LMDB cursor walks the same range is not safe.
      const keys = [...this.db.getKeys({ start, end })]
      for (const key of keys) this.db.removeSync(key)
      if (position !== undefined && Object.keys(position.toJSON()).length > 0) {
        const positionKey = Buffer.concat([start, META_POSITION])
        this.db.putSync(positionKey, Buffer.from(JSON.stringify(position), 'utf8'))
      }
      return keys.length
    })
  }

  #lookup(name: string, nameKey: Buffer): RegisteredStore | undefined {
    const value = this.db.get(nameKey)
    return value === undefined ? undefined : decodeRegistryEntry(name, value)
  }
}

function registryKey(name: string): Buffer {
  const utf8 = Buffer.from(name, 'utf8')
  const key = Buffer.alloc(5 + utf8.length)
  writeU32(key, 0, REGISTRY_ID)
  key[4] = 0x00
  utf8.copy(key, 5)
  return key
}

function decodeRegistryEntry(name: string, value: Uint8Array): RegisteredStore {
  const code = value[4]
  const kind = storeKinds.find((k) => KIND_CODES[k] === code)
  if (value.length !== 5 || kind === undefined) {
    throw new StateError(
      'CORRUPT_STATE',
      `registry entry of store ${name} is unreadable (${value.length} bytes)`,
    )
  }
  return { name, id: readU32(value, 0), kind }
}

/** One store's slice of the 'state' database: keys are prefixed with storeId:u32. */
class LmdbTable implements OrderedTable {
  readonly persistent = true
  readonly #state: StateDatabase
  readonly #prefix: Buffer
  readonly #end: Buffer
  readonly #name: string
  readonly #release: () => void

  constructor(state: StateDatabase, id: number, name: string, release: () => void) {
    this.#state = state
    this.#name = name
    this.#prefix = Buffer.alloc(4)
    writeU32(this.#prefix, 0, id)
    this.#end = Buffer.alloc(4)
    // id ≤ 0xffffffff - 1 by construction (next id is checked), so id + 1 fits.
    writeU32(this.#end, 0, id + 1)
    this.#release = release
  }

  #key(key: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(4 + key.length)
    this.#prefix.copy(out, 0)
    out.set(key, 4)
    return out
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const value = this.#state.db.get(this.#key(key))
    return value === undefined ? undefined : plain(value)
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.#write('put', () => {
      this.#state.db.putSync(this.#key(key), Buffer.from(value.buffer, value.byteOffset, value.length))
    })
  }

  remove(key: Uint8Array): void {
    this.#write('delete', () => this.#state.db.removeSync(this.#key(key)))
  }

  #write(operation: string, fn: () => unknown): void {
    if (!inWriteTransaction(this.#state.env)) throw notInTransaction(this.#name, operation)
    try {
      fn()
    } catch (cause) {
      throw new StateError('STORAGE_FAILURE', `state write failed: ${String(cause)}`, {
        cause,
        retriable: true,
      })
    }
  }

  *range(from: Uint8Array, to: Uint8Array | undefined): Generator<TableEntry> {
    const start = this.#key(from)
    const end = to === undefined ? this.#end : this.#key(to)
    if (compareBytes(start, end) >= 0) return
    for (const { key, value } of this.#state.db.getRange({ start, end })) {
      yield { key: plain(key.subarray(4)), value: plain(value) }
    }
  }

  count(from: Uint8Array, to: Uint8Array | undefined): number {
    const start = this.#key(from)
    const end = to === undefined ? this.#end : this.#key(to)
    if (compareBytes(start, end) >= 0) return 0
    return this.#state.db.getKeysCount({ start, end })
  }

  assertWritable(store: string, operation: string): void {
    if (!inWriteTransaction(this.#state.env)) throw notInTransaction(store, operation)
  }

  release(): void {
    this.#release()
  }
}

function notInTransaction(store: string, operation: string): StateError {
  return new StateError(
    'NOT_IN_TRANSACTION',
    `${operation} of LMDB store ${store} must run inside a write transaction; wrap it in stateTransaction(env, () => ...) (or env.transactionSync) together with the task's appends and offset commits`,
  )
}

/** lmdb-js hands out Buffers (fresh copies for the 'binary' encoding); stores hand out plain Uint8Arrays. */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length)
}
