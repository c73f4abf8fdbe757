export { StateError, isStateError, stateErrorCodes, type StateErrorCode } from './errors.ts'
export {
  DEFAULT_MAX_BUFFERED_BYTES,
  MIN_MAX_BUFFERED_BYTES,
  validateStoreName,
  type BuildContext,
  type CachingOptionsInput,
  type SessionStoreOptions,
  type WindowStoreOptions,
} from './options.ts'
export { writeBufferFill } from './layer.ts'
export { Position } from './position.ts'
export { queryStore, type QueryOptions, type QueryResult } from './query.ts'
export { Serdes, type Serde } from './serdes.ts'
export {
  inWriteTransaction,
  stateTransaction,
  StateDatabase,
  STATE_DATABASE_NAME,
  storeKinds,
  type RegisteredStore,
  type StoreKind,
} from './lmdb.ts'
export {
  Stores,
  StoreBuilder,
  storeBackends,
  type KeyValueBytesStoreSupplier,
  type SessionBytesStoreSupplier,
  type StoreBackend,
  type WindowBytesStoreSupplier,
} from './stores.ts'
export { MAX_KEY_BYTES } from './keys.ts'
export { ENTRY_OVERHEAD_BYTES } from './caching.ts'
export type {
  KeyValue,
  KeyValueStore,
  Metered,
  OperationMetrics,
  ReadOnlyKeyValueStore,
  ReadOnlySessionStore,
  ReadOnlyStateStore,
  ReadOnlyWindowStore,
  SessionStore,
  StateStore,
  StoreMetrics,
  TimeWindow,
  WindowStore,
  Windowed,
} from './types.ts'
