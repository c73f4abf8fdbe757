import { CodedError } from '../coded-error.ts'

export const logErrorCodes = [
  'LOG_CLOSED',
  'LOG_LOCKED',
  'INVALID_ARGUMENT',
  'INVALID_TOPIC_NAME',
  'UNKNOWN_TOPIC',
  'UNKNOWN_PARTITION',
  'TOPIC_EXISTS',
  'OFFSET_OUT_OF_RANGE',
  'RECORD_TOO_LARGE',
  'DISK_BUDGET_EXCEEDED',
  'FORMAT_VERSION_MISMATCH',
  'ENCRYPTION_KEY_MISMATCH',
  'CORRUPT_RECORD',
  'STORAGE_FAILURE',
] as const
export type LogErrorCode = (typeof logErrorCodes)[number]

/**
 * Every failure the log reports. `code` is stable and machine-readable; the message names
 * the bad value and what to do instead; `retriable` says whether the same call may succeed
 * later without the caller changing anything.
 */
export class LogError extends CodedError<LogErrorCode> {}

export function isLogError(error: unknown, code?: LogErrorCode): error is LogError {
  return error instanceof LogError && (code === undefined || error.code === code)
}
