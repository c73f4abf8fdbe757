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
/** What to grant for each authorization error, by resource. */
const AUTHORIZATION = new Map([
  [
    'TOPIC_AUTHORIZATION_FAILED',
    'the principal may not use an upstream topic: grant it WRITE and DESCRIBE on the upstream topics (CREATE too with createTopics), and READ on the offsets topic (ACLs)',
  ],
  [
    'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
    'the principal may not use its transactional.id: grant it WRITE and DESCRIBE on the transactional ids "<gatewayId>." (prefixed ACL)',
  ],
  [
    'CLUSTER_AUTHORIZATION_FAILED',
    'the principal may not act on the cluster: grant it IDEMPOTENT_WRITE on the cluster (ACL)',
  ],
  [
    'GROUP_AUTHORIZATION_FAILED',
    'the principal may not use the offset reader\'s consumer group: grant it READ and DESCRIBE on the groups "<clientId>.<gatewayId>." (prefixed ACL)',
  ],
])
const AUTHENTICATION = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
])

/**
 * Node's certificate verification errors (tls.TLSSocket#authorizationError codes, and
 * ERR_TLS_CERT_ALTNAME_INVALID): the broker's certificate is not one the client trusts.
 */
const TLS_VERIFY_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])
/**
 * TLS alerts a broker sends when it refuses the client's certificate (or the lack of one). The
 * prefix depends on Node's OpenSSL: ERR_SSL_SSLV3_ALERT_… (3.0), ERR_SSL_SSL/TLS_ALERT_… (3.5).
 */
const TLS_PEER_REFUSED =
  /^ERR_SSL_(SSLV3|TLSV1|TLSV13|SSL\/TLS)_ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|HANDSHAKE_FAILURE)$/

/**
 * What a broker or kafkajs says when the SASL credentials or mechanism are wrong (as opposed to
 * an exchange cut short): Kafka's SCRAM and PLAIN refusals, kafkajs's own checks.
 */
const SASL_REFUSED =
  /invalid credentials|Invalid username or password|not supported by the server|Invalid server (nonce|signature)|iterations/i

const NETWORK_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
])

interface ErrorShape {
  name?: unknown
  type?: unknown
  code?: unknown
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

/** Node's string error codes (e.g. a socket's UNABLE_TO_VERIFY_LEAF_SIGNATURE) of an error and the errors it wraps. */
function socketCodes(error: unknown, depth = 0): string[] {
  if (depth > 5 || error === null || typeof error !== 'object') return []
  const e = error as ErrorShape
  return [
    ...(typeof e.code === 'string' ? [e.code] : []),
    ...socketCodes(e.originalError, depth + 1),
    ...socketCodes(e.cause, depth + 1),
  ]
}

/** The fix for a failed TLS handshake, or undefined if the error is not one. */
function tlsHint(codes: readonly string[]): string | undefined {
  if (codes.includes('ERR_TLS_CERT_ALTNAME_INVALID') || codes.includes('HOSTNAME_MISMATCH'))
    return "the broker's TLS certificate does not name the host in `brokers`: connect by a name the certificate lists, or set tls.servername to it"
  if (codes.includes('CERT_NOT_YET_VALID') || codes.includes('CERT_HAS_EXPIRED'))
    return "the broker's TLS certificate is outside its validity dates by this gateway's clock: check the clock (NTP synced?), then the certificate's dates"
  if (codes.some((c) => TLS_VERIFY_ERRORS.has(c)))
    return "the broker's TLS certificate is not trusted (or not valid now): set tls.caFile to the CA that signed it"
  if (codes.some((c) => TLS_PEER_REFUSED.test(c)))
    return 'the broker refused the TLS handshake: it wants a client certificate signed by a CA it trusts; set tls.certFile and tls.keyFile'
  if (codes.includes('ERR_SSL_WRONG_VERSION_NUMBER'))
    return 'the broker did not answer in TLS: point `brokers` at its TLS listener, or turn tls off for a plaintext or SASL_PLAINTEXT one'
  return undefined
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
  const grant = type === undefined ? undefined : AUTHORIZATION.get(type)
  if (grant !== undefined) return wrap('AUTHORIZATION_FAILED', false, grant)
  const saslError = errorNames.includes('KafkaJSSASLAuthenticationError')
  if ((type !== undefined && AUTHENTICATION.has(type)) || (saslError && SASL_REFUSED.test(message))) {
    return wrap(
      'AUTHENTICATION_FAILED',
      false,
      'check sasl.username/password and the mechanism the listener expects',
    )
  }
  // kafkajs reports ANY failure during the SASL exchange (a timeout, a reset, a restarting
  // broker) as a SASL error without its cause: only the refusals above are the credentials' fault.
  if (saslError)
    return wrap('UPSTREAM_UNAVAILABLE', true, 'the SASL exchange was cut off; retrying with backoff')
  // A TLS handshake the client or the broker refused fails the same way on every retry.
  const tls = type === undefined ? tlsHint(socketCodes(error)) : undefined
  if (tls !== undefined) return wrap('AUTHENTICATION_FAILED', false, tls)
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
