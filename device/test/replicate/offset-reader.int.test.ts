// The offsets reader against a real broker, with fetches split so that a transaction's COMMIT marker
// arrives in a fetch of its own: kafkajs 2.2.4 does not pass such a fetch (control records only)
// to eachBatch, so the reader never sees that marker. It must then say the key is unresolved
// rather than report it absent or stale (the replicator would resume from an older offset and
// re-send committed records).
import { Kafka, logLevel } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { OffsetReader, offsetKey, type OffsetSnapshot } from '../../src/replicate/offset-reader.ts'
import { uniqueName } from './fixtures/upstream.ts'
import { useKafka } from './fixtures/kafka.ts'

const kafka = useKafka(1)

/** A fresh broker's group coordinator may still be loading: the replicator retries such reads, so does this. */
async function read(reader: OffsetReader): Promise<OffsetSnapshot> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await reader.read()
    } catch (error) {
      if (attempt >= 20) throw error
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
}

describe('OffsetReader', () => {
  it('reports a key whose commit marker it did not see as unresolved, not as absent', async () => {
    const client = new Kafka({ clientId: 'vigil-test', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING })
    const admin = client.admin()
    const topic = uniqueName('vigil-test-offsets')
    const gatewayId = uniqueName('gw')
    const key = offsetKey(gatewayId, 'vitals', 0)
    const producer = client.producer({
      transactionalId: uniqueName('vigil-test-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    })
    await admin.connect()
    await producer.connect()
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
      for (const nextOffset of [500, 1000]) {
        const tx = await producer.transaction()
        await tx.send({
          topic,
          acks: -1,
          messages: [
            {
              key,
              value: JSON.stringify({
                v: 1,
                gatewayId,
                topic: 'vitals',
                partition: 0,
                nextOffset,
                upstreamTopic: 'x',
                committedAtMs: 0,
              }),
            },
          ],
        })
        await tx.commit()
      }
      // Whole fetches: both commits seen.
      const whole = await read(new OffsetReader(client, topic, gatewayId, uniqueName('g'), 30_000))
      expect(whole.records.get(key)?.nextOffset).toBe(1000)
      expect([...whole.unresolved]).toEqual([])
      // One record batch per fetch: each marker comes alone and kafkajs skips it.
      const split = await read(new OffsetReader(client, topic, gatewayId, uniqueName('g'), 30_000, 1))
      // kafkajs skipped both markers: the key has no committed record at all. Before `unresolved`, the
      // replicator took that as "nothing replicated" and re-sent from its floor (offset 0).
      expect(split.records.get(key)).toBeUndefined()
      expect(split.unresolved.has(key)).toBe(true)
    } finally {
      await producer.disconnect()
      await admin.disconnect()
    }
  }, 120_000)
})
