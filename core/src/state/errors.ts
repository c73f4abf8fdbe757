import { CodedError } from '../coded-error.ts'

export const stateErrorCodes = [
  'STORE_CLOSED',
  'INVALID_ARGUMENT',
  'INVALID_STORE_NAME',
  'STORE_KIND_MISMATCH',
  'STORE_ALREADY_OPEN',
  'NOT_IN_TRANSACTION',
  'KEY_TOO_LARGE',
  'BUFFER_FULL',
  'SERDE_FAILURE',
  'NOT_UP_TO_BOUND',
  'CORRUPT_STATE',
  'STORAGE_FAILURE',
] as const
export type StateErrorCode = (typeof stateErrorCodes)[number]

/**
 * Every failure a state store reports. `code` is stable and machine-readable; the message names the
 * store, the bad value and what to do instead; `retriable` says whether the same call may succeed later
 * without the caller changing anything (BUFFER_FULL after a commit, NOT_UP_TO_BOUND once the store has
 * caught up).
 */
export class StateError extends CodedError<StateErrorCode> {}

export function isStateError(error: unknown, code?: StateErrorCode): error is StateError {
  return error instanceof StateError && (code === undefined || error.code === code)
}
