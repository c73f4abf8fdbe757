export { StreamsError, streamsErrorCodes, type StreamsErrorCode } from './errors.ts'
export { JoinWindows, SessionWindows, SlidingWindows, TimeWindows, type Window } from './windows.ts'
export {
  BranchedKStream,
  KGroupedStream,
  KStream,
  KTable,
  StreamsBuilder,
  TimeWindowedKStream,
  TimeWindowedKTable,
  type EmitStrategy,
  type Materialized,
  type WindowedMaterialized,
  type SerdeOptions,
} from './dsl.ts'
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
