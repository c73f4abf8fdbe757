// A flapping link: every connection the replicator has to the broker (producers, offset reader,
// admin) is cut every few hundred milliseconds while the gateway keeps appending, mid-request and
// mid-transaction. Once the link holds, upstream has every local record exactly once, in order,
// and nothing local was trimmed before it was replicated.
import { connect, type Socket } from 'node:net'
import { Log } from '@vigil/core'
import { describe, expect, it } from 'vitest'
import {
  HEADER_LOCAL_OFFSET,
  Replicator,
  type ReplicatorErrorCode,
  type SocketFactory,
} from '../../src/index.ts'
import { byPartition, readCommitted, tempDir, uniqueName } from './fixtures/upstream.ts'
import { caughtUp } from './fixtures/wait.ts'
import { useKafka } from './fixtures/kafka.ts'

const kafka = useKafka(1)

const PARTITIONS = 2
const BATCHES = 60
const PER_BATCH = 250
const FLAP_MS = 8_000

type Cut = 'reset' | 'silent'

/** Plain sockets the test can cut at will. */
function flappingSockets(how: Cut): { factory: SocketFactory; cutAll: () => number } {
  const live = new Set<Socket>()
  const factory: SocketFactory = ({ host, port, onConnect }) => {
    const socket = connect({ host, port }, onConnect)
    live.add(socket)
    socket.once('close', () => live.delete(socket))
    return socket
  }
  const cutAll = (): number => {
    const n = live.size
    for (const socket of live) {
      // 'reset': what a reset link looks like to the client (RST, an error on the socket).
      // 'silent': a peer that vanished (no RST, no FIN): only a request timeout notices.
      if (how === 'reset') socket.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
      else socket.destroy()
    }
    return n
  }
  return { factory, cutAll }
}

describe('Replicator on a flapping link (real Kafka)', () => {
  it.each(['reset', 'silent'] as const)(
    'replicates exactly once while its connections are cut (%s) every few hundred ms',
    async (how) => {
      const dir = await tempDir('vigil-replicate-flapping')
      const log = await Log.open({ dataDir: dir.path })
      const gatewayId = uniqueName('gw-flap')
      const { factory, cutAll } = flappingSockets(how)
      const errors: { code: ReplicatorErrorCode; retriable: boolean }[] = []
      let replicator: Replicator | undefined
      let flapping: NodeJS.Timeout | undefined
      try {
        await log.createTopic('vitals', { partitions: PARTITIONS, priorityClass: 'vitals', retentionMs: 1 })
        replicator = await Replicator.start(log, {
          brokers: kafka.bootstrap,
          gatewayId,
          socketFactory: factory,
          maxBatchRecords: 400, // many transactions, so cuts land inside them
          backoff: { initialMs: 20, maxMs: 300 },
          // Silent drops cost a request timeout each (30 s by default); keep the test short.
          requestTimeoutMs: 3_000,
          offsetReadTimeoutMs: 5_000,
        })
        replicator.on('error', ({ error }) => errors.push({ code: error.code, retriable: error.retriable }))

        // Cut every connection at jittered intervals (seeded, so a failure can be replayed).
        let seed = 42
        const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
        let cuts = 0
        const flapUntil = Date.now() + FLAP_MS
        const flap = (): void => {
          if (Date.now() > flapUntil) return
          cuts += cutAll()
          flapping = setTimeout(flap, 150 + random() * 350)
        }
        flapping = setTimeout(flap, 300)

        // The gateway keeps recording meanwhile; retention (1 ms) would trim anything not held.
        for (let b = 0; b < BATCHES; b++) {
          await log.appendBatch(
            'vitals',
            Array.from({ length: PER_BATCH }, (_, j) => ({
              key: Buffer.from(`patient-${(b * PER_BATCH + j) % 11}`),
              value: Buffer.from(`b${b}:${j}`),
            })),
          )
          await log.enforceRetention()
          await new Promise((resolve) => setTimeout(resolve, FLAP_MS / BATCHES))
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, flapUntil - Date.now())))
        clearTimeout(flapping)

        await caughtUp(replicator, log, 90_000)
        // Silently cut connections are not replaced until a request on them times out (3 s here), so
        // later rounds may find nothing to cut; the first round always finds the replicator's.
        expect(cuts).toBeGreaterThanOrEqual(how === 'reset' ? 10 : 1)
        // kafkajs's own retries absorb some resets; whatever reached the replicator was transient.
        expect(errors.filter((e) => !e.retriable)).toEqual([])

        const total = BATCHES * PER_BATCH
        const upstream = byPartition(
          await readCommitted(kafka.bootstrap, [`vigil.${gatewayId}.vitals`], { minRecords: total }),
        )
        let seen = 0
        for (let p = 0; p < PARTITIONS; p++) {
          const offsets = (upstream.get(p) ?? []).map((r) => Number(r.headers[HEADER_LOCAL_OFFSET]))
          // Every local offset of the partition, once, in order.
          expect(offsets).toEqual(Array.from({ length: log.endOffset('vitals', p) }, (_, i) => i))
          seen += offsets.length
        }
        expect(seen).toBe(total)
        for (const s of replicator.status()) expect(s).toMatchObject({ state: 'replicating', lagRecords: 0 })
      } finally {
        clearTimeout(flapping)
        await replicator?.close()
        await log.close()
        await dir.remove()
      }
    },
    180_000,
  )
})
