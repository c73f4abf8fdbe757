// The DSL modules reference each other (streams ↔ tables ↔ windowed streams); import them through
// this index (the package's export), which loads them in an order that works.
export { StreamsError, streamsErrorCodes, type StreamsErrorCode } from './errors.ts'
export { JoinWindows, SessionWindows, SlidingWindows, TimeWindows, type Window } from './windows.ts'
export { StreamsBuilder } from './builder.ts'
export { BranchedKStream, KStream } from './kstream.ts'
export { KGroupedStream } from './grouped-stream.ts'
export { KTable } from './ktable.ts'
export {
  TimeWindowedKStream,
  TimeWindowedKTable,
  type EmitStrategy,
  type WindowedMaterialized,
} from './time-windowed.ts'
export { SlidingWindowedKStream } from './sliding-windowed.ts'
export { SessionWindowedKStream } from './session-windowed.ts'
export { WALL_CLOCK_CHECK_INTERVAL_MS, WindowedKTable } from './windowed-common.ts'
export type { Materialized, SerdeOptions } from './graph.ts'
export { WindowedSerdes } from './windowed-serdes.ts'
export type { Windowed } from '../state/index.ts'
export { StreamsEngine, type EngineMetrics, type ProducedRecord } from './engine.ts'
export { DEFAULT_MAX_RECORDS_PER_COMMIT, type EngineOptions, type EngineOptionsInput } from './options.ts'
export {
  Topology,
  type ProcessorContext,
  type StreamRecord,
  type SubTopology,
  type TopologyNode,
} from './topology.ts'
export * from '../testing/index.ts'
export {
  DEFAULT_WALL_CLOCK_TICK_MS,
  streamsStates,
  VigilStreams,
  type StateListener,
  type StreamsState,
  type VigilStreamsOptions,
} from './runtime.ts'
export { resetApplication, type ResetOptionsInput, type ResetReport } from './reset.ts'
export { KGroupedTable } from './ktable.ts'
export type {
  AnyStateStore,
  KeyValueStoreSpec,
  ProcessOptions,
  Processor,
  ProcessorContext as UserProcessorContext,
  ProcessorSupplier,
  Record as ProcessorRecord,
  SessionStoreSpec,
  StateStoreSpec,
  StoreOf,
  WindowStoreSpec,
} from './processor.ts'
export type {
  Cancellable,
  ConsumedRecord,
  PunctuationType,
  Punctuator,
  RecordMetadata,
  TimestampExtractor,
  TimestampExtractorFn,
} from './topology.ts'
export type { StreamOptions } from './builder.ts'
export {
  DEFAULT_ALOS_COMMIT_INTERVAL_MS,
  processingGuarantees,
  type ProcessingGuarantee,
  deadLetterTopicOf,
  DEFAULT_DESERIALIZATION_EXCEPTION_HANDLER,
  deserializationExceptionHandlers,
  STDERR_LOGGER,
  type DeserializationExceptionHandler,
  type StreamsLogger,
} from './options.ts'
export { DEAD_LETTER_HEADERS } from './task.ts'
