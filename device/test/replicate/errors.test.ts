// classify(): which upstream failures are the operator's to fix (not retried soon) and which are
// transient (retried with backoff), from the errors kafkajs and Node actually raise.
import { KafkaJSConnectionError, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { classify } from '../../src/index.ts'

function protocolError(type: string, message = type): KafkaJSProtocolError {
  // kafkajs builds these from its error table: the constructor reads type and code off the argument.
  return new KafkaJSProtocolError(Object.assign(new Error(message), { type, code: 0, retriable: false }))
}

/** kafkajs's typings declare no constructor arguments; its SASL authenticators pass the message. */
function saslError(message: string): Error {
  return new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(message)
}

function tlsError(code: string): KafkaJSConnectionError {
  // As kafkajs's connection reports a socket error: Node's code on the wrapper.
  return new KafkaJSConnectionError(`Connection error: ${code}`, { code })
}

describe('classify', () => {
  it('takes a refused SCRAM login as AUTHENTICATION_FAILED, not retried soon', () => {
    const e = classify(
      saslError(
        'SASL SCRAM SHA256 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256',
      ),
      'replicating vitals/0',
    )
    expect([e.code, e.retriable]).toEqual(['AUTHENTICATION_FAILED', false])
    expect(e.message).toMatch(/check sasl\.username\/password/)
  })

  it('takes a SASL exchange cut short (kafkajs wraps it the same way) as transient', () => {
    for (const cause of ['Request SaslAuthenticate(key: 36, version: 2) timed out', 'Closed connection']) {
      const e = classify(saslError(`SASL SCRAM SHA256 authentication failed: ${cause}`), 'x')
      expect([e.code, e.retriable]).toEqual(['UPSTREAM_UNAVAILABLE', true])
    }
  })

  it('takes an unsupported mechanism as AUTHENTICATION_FAILED', () => {
    const e = classify(saslError('SASL SCRAM-SHA-512 mechanism is not supported by the server'), 'x')
    expect([e.code, e.retriable]).toEqual(['AUTHENTICATION_FAILED', false])
  })

  it('names the grant a refused write needs', () => {
    const e = classify(protocolError('TOPIC_AUTHORIZATION_FAILED'), 'replicating vitals/0 to vigil.gw.vitals')
    expect([e.code, e.retriable]).toEqual(['AUTHORIZATION_FAILED', false])
    expect(e.message).toMatch(/vigil\.gw\.vitals/)
    expect(e.message).toMatch(/WRITE/)
  })

  it('blames the clock for a certificate outside its dates, the CA file for an untrusted one', () => {
    const expired = classify(tlsError('CERT_HAS_EXPIRED'), 'x')
    expect([expired.code, expired.retriable]).toEqual(['AUTHENTICATION_FAILED', false])
    expect(expired.message).toMatch(/clock/)
    const untrusted = classify(tlsError('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'x')
    expect(untrusted.code).toBe('AUTHENTICATION_FAILED')
    expect(untrusted.message).toMatch(/tls\.caFile/)
  })

  it('retries an unreachable broker and a broker-side hiccup', () => {
    const refused = classify(
      new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'),
      'x',
    )
    expect([refused.code, refused.retriable]).toEqual(['UPSTREAM_UNAVAILABLE', true])
    const busy = classify(protocolError('CONCURRENT_TRANSACTIONS'), 'x')
    expect([busy.code, busy.retriable]).toEqual(['UPSTREAM_ERROR', true])
  })

  it('takes a record the broker will never accept as RECORD_TOO_LARGE, not retried soon', () => {
    const e = classify(protocolError('MESSAGE_TOO_LARGE'), 'x')
    expect([e.code, e.retriable]).toEqual(['RECORD_TOO_LARGE', false])
  })
})
