/*
 * Upstream replication (DESIGN.md, "Upstream replication"; issue 5).
 *
 * - Exactly-once per local partition (KIP-618's source pattern): one transactional producer per
 *   partition, transactional.id `<gatewayId>.<topic>.<partition>`; each transaction carries a batch
 *   and an offset record (`vigil.replication-offsets`, compacted, key `<gatewayId>/<topic>/<p>`).
 *   Any failure drops the producer; the next round re-initialises it (fencing a zombie, aborting
 *   its open transaction) and re-reads the committed offset before sending again.
 * - Naming: `<topicPrefix><topic>` with topicPrefix `vigil.<gatewayId>.` by default (one topic per
 *   gateway); `topicPrefix: 'vigil.'` gives topics shared by all gateways, keyed by patient (the
 *   gateway id travels in a header either way); `topicNames` overrides single topics. Partition
 *   counts must match the local topic (created so when missing); records keep their partition.
 * - Flow: a token bucket over all partitions (bytes/s) served alarms → vitals → waveforms;
 *   backoff with full jitter per partition; floors held at the replicated offset; gap records for
 *   waveform ranges trimmed before they were replicated.
 */
export { classify, ReplicatorError, replicatorErrorCodes, type ReplicatorErrorCode } from './errors.ts'
export { Backoff, TokenBucket } from './flow.ts'
export { offsetKey, type OffsetRecord } from './offset-reader.ts'
export {
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_FLOOR_HOLDER,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_BATCH_RECORDS,
  DEFAULT_OFFSET_READ_TIMEOUT_MS,
  DEFAULT_OFFSETS_TOPIC,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_TRANSACTION_TIMEOUT_MS,
  describeOptions,
  parseReplicatorOptions,
  replicatorOptionsSchema,
  type ReplicatorOptions,
  type ReplicatorOptionsInput,
  type SecretSource,
  type SocketFactory,
} from './options.ts'
export {
  HEADER_GATEWAY_ID,
  HEADER_LOCAL_OFFSET,
  HEADER_LOCAL_TOPIC,
  HEADER_TIMESTAMP_MS,
  partitionStates,
  Replicator,
  TOMBSTONE_HEADER,
  type CommitEvent,
  type GapRecord,
  type LogEntry,
  type PartitionState,
  type PartitionStatus,
  type ReplicatorErrorInfo,
  type ReplicatorEvents,
  type ReplicatorLogger,
} from './replicator.ts'
