export { LogError, isLogError, logErrorCodes, type LogErrorCode } from './errors.ts'
export {
  Log,
  LOG_FORMAT_VERSION,
  DEFAULT_HARD_LIMIT_FACTOR,
  DEFAULT_READ_MAX_BYTES,
  DEFAULT_READ_MAX_RECORDS,
  RECORD_OVERHEAD_BYTES,
  type AppendResult,
  type BudgetExceededEvent,
  type CommittedOffset,
  type LogEvents,
  type LogMetrics,
  type LogTransaction,
  type TopicInfo,
  type TrimEvent,
  type TrimReason,
} from './log.ts'
export { murmur2, partitionForKey, toPositive } from './murmur2.ts'
export {
  DEFAULT_MAX_RECORD_BYTES,
  DEFAULT_RETENTION_CHECK_INTERVAL_MS,
  DEFAULT_TIME_INDEX_INTERVAL_BYTES,
  MAX_PARTITIONS,
  priorityClasses,
  timestampTypes,
  validateTopicName,
  type LogOptionsInput,
  type PriorityClass,
  type TimestampType,
  type TopicConfig,
  type TopicConfigInput,
} from './options.ts'
export { EMPTY_HEADERS, type LogRecord, type RecordHeaders, type RecordInput } from './record-codec.ts'
export {
  decodeSampleBlock,
  encodeSampleBlock,
  sampleBlockSize,
  SAMPLE_BLOCK_HEADER_BYTES,
  type SampleBlock,
} from './sample-block.ts'
export { Subscription, type SubscribeOptions } from './subscription.ts'
export type { LatencySummary } from './latency.ts'
