// Happy path against the real broker: what is appended locally appears upstream exactly once, in
// order, on the same partition, with key, timestamp and headers; a tombstone becomes a null value;
// a restart resumes at the committed offset without resending.
import { Log, partitionForKey, type RecordInput } from '@vigil/core'
import { describe, expect, it } from 'vitest'
import {
  HEADER_GATEWAY_ID,
  HEADER_LOCAL_OFFSET,
  HEADER_LOCAL_TOPIC,
  HEADER_TIMESTAMP_MS,
  Replicator,
  TOMBSTONE_HEADER,
  type LogEntry,
} from '../../src/index.ts'
import { byPartition, readCommitted, tempDir, uniqueName } from './fixtures/upstream.ts'
import { caughtUp } from './fixtures/wait.ts'
import { useKafka } from './fixtures/kafka.ts'

const kafka = useKafka(1)

const T0 = 1_700_000_000_000
const enc = (s: string): Uint8Array => Buffer.from(s)

function vitals(from: number, count: number): RecordInput[] {
  return Array.from({ length: count }, (_, j) => {
    const i = from + j
    const tombstone = i % 17 === 5
    return {
      key: enc(`patient-${i % 7}`),
      value: tombstone ? new Uint8Array(0) : enc(`hr=${60 + (i % 40)};i=${i}`),
      timestampMs: T0 + i,
      headers: tombstone ? { [TOMBSTONE_HEADER]: new Uint8Array(0) } : { 'x-sensor': enc(`s${i % 3}`) },
    }
  })
}

describe('Replicator happy path (real Kafka)', () => {
  it('replicates exactly once, in order, with keys, partitions, headers, timestamps and tombstones; resumes after restart', async () => {
    const dir = await tempDir('vigil-replicate-happy')
    const log = await Log.open({ dataDir: dir.path })
    const gatewayId = uniqueName('gw')
    const logs: LogEntry[] = []
    const options = { brokers: kafka.bootstrap, gatewayId, backoff: { initialMs: 50, maxMs: 1_000 } }
    let replicator: Replicator | undefined
    try {
      await log.createTopic('vitals', { partitions: 3, priorityClass: 'vitals' })
      await log.createTopic('alerts', { partitions: 2, priorityClass: 'alarms' })
      await log.appendBatch('vitals', vitals(0, 200))
      await log.appendBatch('alerts', [
        { key: enc('patient-1'), value: enc('asystole'), timestampMs: T0 + 5 },
      ])

      replicator = await Replicator.start(log, options, { logger: (e) => logs.push(e) })
      await log.appendBatch('vitals', vitals(200, 100)) // live, while it recovers or runs
      await caughtUp(replicator, log)
      for (const s of replicator.status()) {
        // A fresh broker may answer GROUP_LOAD_IN_PROGRESS at first: lastError keeps it, consecutiveFailures is back to 0.
        expect(s).toMatchObject({
          state: 'replicating',
          lagRecords: 0,
          lagSeconds: 0,
          consecutiveFailures: 0,
        })
        if (s.endOffset > 0) expect(s.lastSuccessMs).not.toBeNull()
      }

      // A restart resumes at the committed offsets: nothing is sent twice.
      await replicator.close()
      await log.appendBatch('vitals', vitals(300, 50))
      replicator = await Replicator.start(log, options, { logger: (e) => logs.push(e) })
      await caughtUp(replicator, log)

      const upstream = await readCommitted(
        kafka.bootstrap,
        [`vigil.${gatewayId}.vitals`, `vigil.${gatewayId}.alerts`],
        { minRecords: 351 },
      )
      for (const topic of ['vitals', 'alerts']) {
        const partitions = byPartition(upstream.filter((r) => r.topic === `vigil.${gatewayId}.${topic}`))
        const count = topic === 'vitals' ? 3 : 2
        let total = 0
        for (let p = 0; p < count; p++) {
          const local = log.read(topic, p, 0, { maxRecords: 10_000 })
          const remote = partitions.get(p) ?? []
          total += remote.length
          expect(remote.map((r) => Number(r.headers[HEADER_LOCAL_OFFSET]))).toEqual(
            local.map((r) => r.offset),
          )
          for (const [i, l] of local.entries()) {
            const r = remote[i]!
            const key = Buffer.from(l.key!).toString()
            expect(r.key).toBe(key)
            expect(partitionForKey(l.key!, count)).toBe(p) // Kafka's murmur2 placement, same partition number
            expect(r.timestamp).toBe(l.timestampMs)
            expect(r.headers[HEADER_TIMESTAMP_MS]).toBe(String(l.timestampMs))
            expect(r.headers[HEADER_GATEWAY_ID]).toBe(gatewayId)
            expect(r.headers[HEADER_LOCAL_TOPIC]).toBe(topic)
            if (l.headers[TOMBSTONE_HEADER]) {
              expect(r.value).toBeNull()
              expect(r.headers[TOMBSTONE_HEADER]).toBeUndefined()
            } else {
              expect(r.value?.toString()).toBe(Buffer.from(l.value).toString())
              if (topic === 'vitals')
                expect(r.headers['x-sensor']).toBe(Buffer.from(l.headers['x-sensor']!).toString())
            }
          }
        }
        expect(total).toBe(topic === 'vitals' ? 350 : 1)
      }
      // The offset records say where each partition stands; the floors follow them.
      const offsets = await readCommitted(kafka.bootstrap, ['vigil.replication-offsets'])
      const mine = new Map(
        offsets
          .filter((r) => r.key?.startsWith(`${gatewayId}/`))
          .map((r) => [r.key, (JSON.parse(r.value!.toString()) as { nextOffset: number }).nextOffset]),
      )
      await replicator.close() // waits for the last floor write
      for (const s of replicator.status()) {
        expect(mine.get(`${gatewayId}/${s.topic}/${s.partition}`) ?? 0).toBe(
          log.endOffset(s.topic, s.partition),
        )
        expect(log.floor(s.topic, s.partition)).toBe(log.endOffset(s.topic, s.partition))
      }
      expect(logs.filter((e) => e.level === 'error')).toEqual([])
    } finally {
      await replicator?.close()
      await log.close()
      await dir.remove()
    }
  })
})
