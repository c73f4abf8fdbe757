import type { RootDatabase } from 'lmdb'
import { KeyValueBytesStore, SessionBytesStore, WindowBytesStore } from './bytes-stores.ts'
import { CachingKeyValueStore, CachingSessionStore, CachingWindowStore } from './caching.ts'
import { StateError } from './errors.ts'
import { StateDatabase, type StoreKind } from './lmdb.ts'
import { MeteredKeyValueStore, MeteredSessionStore, MeteredWindowStore } from './metered.ts'
import {
  buildContextSchema,
  cachingOptionsSchema,
  parseOrThrow,
  sessionStoreOptionsSchema,
  validateStoreName,
  windowStoreOptionsSchema,
  type BuildContext,
  type CachingOptionsInput,
  type SessionStoreOptions,
  type WindowStoreOptions,
} from './options.ts'
import type { Serde } from './serdes.ts'
import { MemoryTable, type OrderedTable } from './table.ts'
import { TypedKeyValueStore, TypedSessionStore, TypedWindowStore } from './typed.ts'
import type { KeyValueStore, Metered, SessionStore, WindowStore } from './types.ts'

/*
 * Kafka Streams' builder shapes: a supplier says where the bytes live (LMDB or memory), a builder wraps
 * it in the stack typed (serdes) → metered → write buffer (optional) → bytes store, and build() opens it.
 *
 *   const counts = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('counts'), Serdes.String, Serdes.Long)
 *     .build({ env })
 *
 * The write buffer is ON by default (unlike Kafka Streams): without it every put to an LMDB store must
 * itself run inside a write transaction, which only a runtime that processes inside its commit
 * transaction can arrange. withCachingDisabled() gives the bare stack.
 */

export const storeBackends = ['lmdb', 'memory'] as const
export type StoreBackend = (typeof storeBackends)[number]

export interface KeyValueBytesStoreSupplier {
  readonly storeKind: 'keyValue'
  readonly backend: StoreBackend
  readonly name: string
}

export interface WindowBytesStoreSupplier extends WindowStoreOptions {
  readonly storeKind: 'window'
  readonly backend: StoreBackend
  readonly name: string
}

export interface SessionBytesStoreSupplier extends SessionStoreOptions {
  readonly storeKind: 'session'
  readonly backend: StoreBackend
  readonly name: string
}

type Supplier = KeyValueBytesStoreSupplier | WindowBytesStoreSupplier | SessionBytesStoreSupplier

/** Builds one kind of store; build() may be called once per store instance wanted (e.g. once per task). */
export class StoreBuilder<S> {
  readonly name: string
  readonly #open: (table: OrderedTable, caching: number | null) => S
  readonly #supplier: Supplier
  #maxBufferedBytes: number | null

  constructor(supplier: Supplier, open: (table: OrderedTable, maxBufferedBytes: number | null) => S) {
    this.#supplier = supplier
    this.name = supplier.name
    this.#open = open
    this.#maxBufferedBytes = cachingOptionsSchema.parse({}).maxBufferedBytes
  }

  /** Puts a bounded write buffer under the metered layer (the default). */
  withCachingEnabled(options: CachingOptionsInput = {}): this {
    this.#maxBufferedBytes = parseOrThrow(
      cachingOptionsSchema,
      options,
      `caching options of store ${this.name}`,
    ).maxBufferedBytes
    return this
  }

  /** Writes go straight to the bytes store; for LMDB each write then needs an open write transaction. */
  withCachingDisabled(): this {
    this.#maxBufferedBytes = null
    return this
  }

  /**
   * Opens the store. A persistent (LMDB) store needs `env`, the environment the task's commit
   * transactions run in; its data (registered under its name in the 'state' database) is loaded as of
   * the last committed flush.
   */
  build(context: BuildContext = {}): S {
    const { env } = parseOrThrow(buildContextSchema, context, `build context of store ${this.name}`)
    return this.#open(this.#table(env), this.#maxBufferedBytes)
  }

  #table(env: RootDatabase | undefined): OrderedTable {
    const supplier = this.#supplier
    switch (supplier.backend) {
      case 'memory':
        return new MemoryTable()
      case 'lmdb':
        if (env === undefined) {
          throw new StateError(
            'INVALID_ARGUMENT',
            `store ${supplier.name} is persistent: pass build({ env }) with the LMDB environment its task commits in, or use an in-memory supplier`,
          )
        }
        return StateDatabase.of(env).openTable(supplier.name, supplier.storeKind satisfies StoreKind)
      default:
        return supplier.backend satisfies never
    }
  }
}

function keyValueSupplier(name: string, backend: StoreBackend): KeyValueBytesStoreSupplier {
  return { storeKind: 'keyValue', backend, name: validateStoreName(name) }
}

function windowSupplier(
  name: string,
  backend: StoreBackend,
  options: WindowStoreOptions,
): WindowBytesStoreSupplier {
  validateStoreName(name)
  const parsed = parseOrThrow(windowStoreOptionsSchema, options, `options of window store ${name}`)
  return { storeKind: 'window', backend, name, ...parsed }
}

function sessionSupplier(
  name: string,
  backend: StoreBackend,
  options: SessionStoreOptions,
): SessionBytesStoreSupplier {
  validateStoreName(name)
  const parsed = parseOrThrow(sessionStoreOptionsSchema, options, `options of session store ${name}`)
  return { storeKind: 'session', backend, name, ...parsed }
}

export const Stores = {
  /** A key-value store in the LMDB environment given to build(). */
  persistentKeyValueStore: (name: string): KeyValueBytesStoreSupplier => keyValueSupplier(name, 'lmdb'),
  /** A key-value store in memory (sorted array): gone when closed. For tests and scratch state. */
  inMemoryKeyValueStore: (name: string): KeyValueBytesStoreSupplier => keyValueSupplier(name, 'memory'),
  persistentWindowStore: (name: string, options: WindowStoreOptions): WindowBytesStoreSupplier =>
    windowSupplier(name, 'lmdb', options),
  inMemoryWindowStore: (name: string, options: WindowStoreOptions): WindowBytesStoreSupplier =>
    windowSupplier(name, 'memory', options),
  persistentSessionStore: (name: string, options: SessionStoreOptions): SessionBytesStoreSupplier =>
    sessionSupplier(name, 'lmdb', options),
  inMemorySessionStore: (name: string, options: SessionStoreOptions): SessionBytesStoreSupplier =>
    sessionSupplier(name, 'memory', options),

  keyValueStoreBuilder<K, V>(
    supplier: KeyValueBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): StoreBuilder<KeyValueStore<K, V> & Metered> {
    return new StoreBuilder(supplier, (table, maxBufferedBytes) => {
      const bytes = new KeyValueBytesStore(supplier.name, table)
      const buffered = maxBufferedBytes === null ? bytes : new CachingKeyValueStore(bytes, maxBufferedBytes)
      return new TypedKeyValueStore(new MeteredKeyValueStore(buffered), keySerde, valueSerde)
    })
  },

  windowStoreBuilder<K, V>(
    supplier: WindowBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): StoreBuilder<WindowStore<K, V> & Metered> {
    return new StoreBuilder(supplier, (table, maxBufferedBytes) => {
      const bytes = new WindowBytesStore(supplier.name, table, supplier)
      const buffered = maxBufferedBytes === null ? bytes : new CachingWindowStore(bytes, maxBufferedBytes)
      return new TypedWindowStore(new MeteredWindowStore(buffered), keySerde, valueSerde)
    })
  },

  sessionStoreBuilder<K, V>(
    supplier: SessionBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): StoreBuilder<SessionStore<K, V> & Metered> {
    return new StoreBuilder(supplier, (table, maxBufferedBytes) => {
      const bytes = new SessionBytesStore(supplier.name, table, supplier)
      const buffered = maxBufferedBytes === null ? bytes : new CachingSessionStore(bytes, maxBufferedBytes)
      return new TypedSessionStore(new MeteredSessionStore(buffered), keySerde, valueSerde)
    })
  },
} as const
