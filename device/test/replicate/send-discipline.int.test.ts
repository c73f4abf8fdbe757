// The replicator's transactions never give kafkajs a request that spans partitions: kafkajs 2.2.4
// retries such a request per broker, not per partition, and after a leader move it loses or
// duplicates a partition (test/kafka/README.md, "Fail-over findings"). This pins the rule on the
// real client and broker, deterministically: every send of every transaction is watched.
import { Log } from '@vigil/core'
import type { Producer, ProducerRecord, Transaction } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { DEFAULT_OFFSETS_TOPIC, Replicator } from '../../src/index.ts'
import { readCommitted, tempDir, uniqueName } from './fixtures/upstream.ts'
import { caughtUp } from './fixtures/wait.ts'
import { useKafka } from './fixtures/kafka.ts'

const kafka = useKafka(1)

type Call =
  { kind: 'send'; topic: string; partitions: number[]; records: number } | { kind: 'sendBatch' | 'commit' }

/** Wraps every transaction the replicator's producers open, recording its calls in order (one list per transaction). */
function watchTransactions(replicator: Replicator, transactions: Call[][]): void {
  const kafkaClient = replicator.kafka
  const makeProducer = kafkaClient.producer.bind(kafkaClient)
  kafkaClient.producer = (config): Producer => {
    const producer = makeProducer(config)
    const open = producer.transaction.bind(producer)
    producer.transaction = async (): Promise<Transaction> => {
      const tx = await open()
      const calls: Call[] = []
      transactions.push(calls)
      const send = tx.send.bind(tx)
      const sendBatch = tx.sendBatch.bind(tx)
      const commit = tx.commit.bind(tx)
      tx.send = (record: ProducerRecord) => {
        const partitions = [...new Set(record.messages.map((m) => m.partition ?? -1))]
        calls.push({ kind: 'send', topic: record.topic, partitions, records: record.messages.length })
        return send(record)
      }
      tx.sendBatch = (batch) => {
        calls.push({ kind: 'sendBatch' })
        return sendBatch(batch)
      }
      tx.commit = () => {
        calls.push({ kind: 'commit' })
        return commit()
      }
      return tx
    }
    return producer
  }
}

describe('Replicator send discipline (real Kafka)', () => {
  it('sends one partition per request, data in chunks of ≤ 1,000 records, the offset record last', async () => {
    const dir = await tempDir('vigil-replicate-sends')
    const log = await Log.open({ dataDir: dir.path })
    const gatewayId = uniqueName('gw-sends')
    const transactions: Call[][] = []
    let replicator: Replicator | undefined
    try {
      await log.createTopic('vitals', { partitions: 2, priorityClass: 'vitals' })
      const value = Buffer.alloc(100, 0x61)
      for (let i = 0; i < 5_000; i += 500)
        await log.appendBatch(
          'vitals',
          Array.from({ length: 500 }, (_, j) => ({ key: Buffer.from(`patient-${(i + j) % 9}`), value })),
        )
      // Producers are made after the replicator's first network round trips: this wraps them all.
      replicator = await Replicator.start(log, { brokers: kafka.bootstrap, gatewayId })
      watchTransactions(replicator, transactions)
      await caughtUp(replicator, log)

      const calls = transactions.flat()
      expect(calls.filter((c) => c.kind === 'sendBatch')).toEqual([])
      const sends = calls.filter((c) => c.kind === 'send')
      expect(sends.length).toBeGreaterThan(0)
      for (const s of sends) {
        expect(s.partitions).toHaveLength(1)
        expect(s.partitions[0]).toBeGreaterThanOrEqual(0)
        expect(s.records).toBeLessThanOrEqual(1_000)
      }
      // ~2,500 records a partition in one transaction: several data chunks, then its offset record.
      const dataSends = sends.filter((s) => s.topic === `vigil.${gatewayId}.vitals`)
      expect(dataSends.length).toBeGreaterThanOrEqual(6)
      expect(dataSends.reduce((n, s) => n + s.records, 0)).toBe(5_000)
      for (const tx of transactions.filter((t) => t.some((c) => c.kind === 'commit'))) {
        expect(tx.at(-1)).toEqual({ kind: 'commit' })
        expect(tx.at(-2)).toMatchObject({ kind: 'send', topic: DEFAULT_OFFSETS_TOPIC, records: 1 })
        expect(tx.slice(0, -2).every((c) => c.kind === 'send' && c.topic !== DEFAULT_OFFSETS_TOPIC)).toBe(
          true,
        )
      }
      const upstream = await readCommitted(kafka.bootstrap, [`vigil.${gatewayId}.vitals`], {
        minRecords: 5_000,
      })
      expect(upstream).toHaveLength(5_000)
    } finally {
      await replicator?.close()
      await log.close()
      await dir.remove()
    }
  })
})
