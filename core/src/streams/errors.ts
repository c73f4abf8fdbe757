import { CodedError } from '../coded-error.ts'

export const streamsErrorCodes = [
  'INVALID_WINDOW',
  'INVALID_TOPOLOGY',
  'INVALID_ARGUMENT',
  'UNKNOWN_TOPIC',
  'UNKNOWN_STORE',
  'STATE_NOT_RESTORABLE',
  'SERDE_FAILURE',
  'TASK_FAILED',
  'STREAMS_CLOSED',
] as const
export type StreamsErrorCode = (typeof streamsErrorCodes)[number]

/** Failures of the streams engine: a stable `code`, a message naming the bad value and the fix. */
export class StreamsError extends CodedError<StreamsErrorCode> {}
