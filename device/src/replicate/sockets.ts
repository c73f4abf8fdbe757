// Sockets for kafkajs that a broken response cannot turn into a crash.
//
// kafkajs 2.2.4 parses responses inside the socket's 'data' listener and keeps the partial bytes
// of a response on the connection object across reconnects. A connection reset in the middle of
// a response therefore leaves stale bytes that misframe the next socket's stream, and the parser
// throws (RangeError: out of buffer bounds) from the listener: an uncaught exception, which ends
// the process. Seen in the flapping-link test. Here a throwing 'data' listener destroys its socket
// with the error instead; kafkajs then fails the requests on it, and the replicator's recovery
// replaces the producer (and with it the connection and its stale bytes).
import { isIP, connect as connectTcp, type Socket } from 'node:net'
import { connect as connectTls, type ConnectionOptions } from 'node:tls'
import type { SocketFactory } from './options.ts'

/** kafkajs's own keep-alive delay. */
const KEEP_ALIVE_MS = 60_000

/** kafkajs's default factory (plain or TLS, SNI unless the host is an IP), with the guard. */
export const defaultSocketFactory: SocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? connectTls(
        { host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...(ssl as ConnectionOptions) },
        onConnect,
      )
    : connectTcp({ host, port }, onConnect)
  socket.setKeepAlive(true, KEEP_ALIVE_MS)
  return guardDataListeners(socket)
}

/** Wraps a factory so every socket it makes has the guard. */
export function guarded(factory: SocketFactory): SocketFactory {
  return (args) => guardDataListeners(factory(args))
}

/** 'data' listeners added to `socket` from now on destroy it with what they throw. */
export function guardDataListeners(socket: Socket): Socket {
  const on = socket.on.bind(socket)
  socket.on = ((event: string, listener: (...args: unknown[]) => void) => {
    if (event !== 'data') return on(event, listener)
    return on('data', (chunk: unknown) => {
      try {
        listener(chunk)
      } catch (error) {
        socket.destroy(
          new Error(`a broker response could not be parsed (${String(error)}); reconnecting`, {
            cause: error,
          }),
        )
      }
    })
  }) as Socket['on']
  return socket
}
