import { CodedError } from '@vigil/core'

export const replicatorErrorCodes = [
  /** The options failed validation, or a TLS/SASL file or variable could not be read. */
  'INVALID_CONFIG',
  /** A topic to replicate does not exist in the local log. */
  'UNKNOWN_LOCAL_TOPIC',
  /** No broker answered (connection refused, timeout, DNS). */
  'UPSTREAM_UNAVAILABLE',
  /** The brokers rejected the credentials (SASL) or the TLS handshake failed. */
  'AUTHENTICATION_FAILED',
  /** The principal may not write a topic, use the transactional.id, or create topics. */
  'AUTHORIZATION_FAILED',
  /** An upstream topic exists with a partition count other than the local topic's. */
  'PARTITION_MISMATCH',
  /** Another producer with the same transactional.id took over (a second instance, or a timed-out transaction). */
  'FENCED',
  /** Reading the committed replication offsets did not finish in time. */
  'OFFSET_READ_TIMEOUT',
  /** The committed replication offset read on recovery was incomplete (its transaction's outcome not seen); retried. */
  'OFFSET_READ_INCONCLUSIVE',
  /** A batch (or one record) is over the brokers' message.max.bytes. */
  'RECORD_TOO_LARGE',
  /** Any other broker or client error. */
  'UPSTREAM_ERROR',
  'REPLICATOR_CLOSED',
] as const
export type ReplicatorErrorCode = (typeof replicatorErrorCodes)[number]

/** Every failure the replicator reports; `retriable` says whether retrying unchanged may succeed. */
export class ReplicatorError extends CodedError<ReplicatorErrorCode> {}

const FENCING = new Set([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED_FENCED',
])
const AUTHORIZATION = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
])
const AUTHENTICATION = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
])

const NETWORK_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
])

interface ErrorShape {
  name?: unknown
  type?: unknown
  message?: unknown
  cause?: unknown
  originalError?: unknown
}

/** The broker error type (e.g. TOPIC_AUTHORIZATION_FAILED) of a kafkajs error or of the error it wraps. */
function kafkaType(error: unknown, depth = 0): string | undefined {
  if (depth > 5 || error === null || typeof error !== 'object') return undefined
  const e = error as ErrorShape
  if (typeof e.type === 'string') return e.type
  return kafkaType(e.originalError, depth + 1) ?? kafkaType(e.cause, depth + 1)
}

function names(error: unknown, depth = 0): string[] {
  if (depth > 5 || error === null || typeof error !== 'object') return []
  const e = error as ErrorShape
  return [
    ...(typeof e.name === 'string' ? [e.name] : []),
    ...names(e.originalError, depth + 1),
    ...names(e.cause, depth + 1),
  ]
}

/** Maps a kafkajs (or any) error to a ReplicatorError with a code; ReplicatorErrors pass through. */
export function classify(error: unknown, context: string): ReplicatorError {
  if (error instanceof ReplicatorError) return error
  const message = error instanceof Error ? error.message : String(error)
  const type = kafkaType(error)
  const errorNames = names(error)
  const wrap = (code: ReplicatorErrorCode, retriable: boolean, hint: string): ReplicatorError =>
    new ReplicatorError(code, `${context}: ${message}${type ? ` (${type})` : ''}; ${hint}`, {
      cause: error,
      retriable,
    })
  if (type !== undefined && FENCING.has(type)) {
    return wrap(
      'FENCED',
      true,
      'another producer with this transactional.id took over; is a second gateway running with the same gatewayId?',
    )
  }
  if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') {
    return wrap(
      'RECORD_TOO_LARGE',
      false,
      "lower maxBatchBytes, or raise the topic's max.message.bytes above the largest local record (with headers)",
    )
  }
  if (type !== undefined && AUTHORIZATION.has(type)) {
    return wrap(
      'AUTHORIZATION_FAILED',
      false,
      'grant the gateway principal Write/Describe on the topics and the transactional.id (ACLs)',
    )
  }
  if (
    (type !== undefined && AUTHENTICATION.has(type)) ||
    errorNames.includes('KafkaJSSASLAuthenticationError')
  ) {
    return wrap(
      'AUTHENTICATION_FAILED',
      false,
      'check sasl.username/password and the mechanism the listener expects',
    )
  }
  // A broker's answer (e.g. NOT_LEADER, CONCURRENT_TRANSACTIONS) means it was reachable.
  if (
    type === undefined &&
    (errorNames.some((n) => NETWORK_ERRORS.has(n)) ||
      /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ECONNRESET|Connection timeout|Closed connection/i.test(
        message,
      ))
  ) {
    return wrap('UPSTREAM_UNAVAILABLE', true, 'check the network and `brokers`; retrying with backoff')
  }
  return wrap('UPSTREAM_ERROR', true, 'retrying with backoff')
}
