// A throwing 'data' listener (kafkajs's response parser on a misframed stream) destroys its socket
// with the error instead of becoming an uncaught exception.
import { once } from 'node:events'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { defaultSocketFactory } from '../../src/replicate/sockets.ts'

let server: Server | undefined
afterEach(() => {
  server?.close()
})

/** A loopback server that answers every connection with `reply`; its port. */
async function serve(reply: Buffer | string): Promise<number> {
  server = createServer((peer) => {
    peer.end(reply)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

describe('defaultSocketFactory', () => {
  it('turns an exception in a data listener into an error on that socket', async () => {
    const port = await serve(Buffer.from([0, 0, 0, 1, 0xff])) // too short to hold a correlation id
    const socket = defaultSocketFactory({
      host: '127.0.0.1',
      port,
      ssl: undefined,
      onConnect: () => undefined,
    })
    socket.on('data', (chunk: Buffer) => {
      chunk.readInt32BE(4) // what kafkajs does with such a response: RangeError
    })
    const [error] = (await once(socket, 'error')) as [Error]
    expect(error.message).toMatch(/a broker response could not be parsed \(RangeError.*\); reconnecting/)
    expect(socket.destroyed).toBe(true)
  })

  it('leaves well-behaved listeners and other events alone', async () => {
    const port = await serve('hello')
    const socket = defaultSocketFactory({
      host: '127.0.0.1',
      port,
      ssl: undefined,
      onConnect: () => undefined,
    })
    const chunks: string[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk.toString()))
    await once(socket, 'end')
    expect(chunks.join('')).toBe('hello')
  })
})
