// Replication throughput and latency against the single local broker (issue 5, "Benchmark"), in
// one run: (a) a plain kafkajs idempotent producer sending the same records (with the same
// headers), driven the way the replicator drives kafkajs, so the ratio is the cost of the
// transactions, offset records and log reads — and (b) the exactly-once replicator draining the
// same records from the local log. Then append-to-visible-upstream latency at 5,000 records/s,
// and the backlog drain rate against the live rate of a 32-patient ward.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Log } from '@vigil/core'
import { Kafka, logLevel } from 'kafkajs'
import {
  HEADER_GATEWAY_ID,
  HEADER_LOCAL_OFFSET,
  HEADER_LOCAL_TOPIC,
  HEADER_TIMESTAMP_MS,
  Replicator,
} from '../device/src/index.ts'
import { startKafka } from '../test/kafka/harness.ts'
import { median, percentile, report } from './report.ts'

const RECORDS = 100_000
const VALUE_BYTES = 100
const PARTITIONS = 4
const ROUNDS = 3
const LIVE_RPS = 5_000
const LIVE_SECONDS = 5
/** A ward of 32 patients, each ~10 records/s (ECG and PPG blocks of 200 ms, accelerometer, vitals). */
const WARD_LIVE_RPS = 32 * 10

const kafka = await startKafka(1)
const client = new Kafka({ clientId: 'vigil-bench', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING })
const admin = client.admin()
await admin.connect()
const run = Date.now().toString(36)
const value = Buffer.alloc(VALUE_BYTES, 0x61)
const keyOf = (i: number): Buffer => Buffer.from(`patient-${i % 32}`)

/**
 * The same records the replicator sends upstream: key, value, timestamp, partition and its four
 * provenance headers (kafkajs encodes each header per record, so leaving them out would flatter
 * the baseline), sent the way the replicator sends: one idempotent producer per partition, all
 * partitions at once, 1,000-record sends. (One producer with 5,000-record sendBatch calls over all
 * partitions measured the same here: 32,404 records/s.)
 */
async function plainProducerRps(round: number): Promise<number> {
  const topic = `bench.plain.${run}.${round}`
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true })
  const producers = Array.from({ length: PARTITIONS }, () =>
    client.producer({ idempotent: true, maxInFlightRequests: 1 }),
  )
  await Promise.all(producers.map((p) => p.connect()))
  const gatewayId = `bench-${run}-${round}`
  const perPartition = RECORDS / PARTITIONS
  const chunk = 1_000
  const started = performance.now()
  await Promise.all(
    producers.map(async (producer, partition) => {
      for (let from = 0; from < perPartition; from += chunk) {
        await producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: Math.min(chunk, perPartition - from) }, (_, j) => {
            const timestampMs = String(Date.now())
            return {
              key: keyOf(from + j),
              value,
              partition,
              timestamp: timestampMs,
              headers: {
                [HEADER_GATEWAY_ID]: gatewayId,
                [HEADER_LOCAL_TOPIC]: 'vitals',
                [HEADER_LOCAL_OFFSET]: String(from + j),
                [HEADER_TIMESTAMP_MS]: timestampMs,
              },
            }
          }),
        })
      }
    }),
  )
  const rps = RECORDS / ((performance.now() - started) / 1000)
  await Promise.all(producers.map((p) => p.disconnect()))
  return rps
}

async function withLog<T>(work: (log: Log) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-replicate-'))
  const log = await Log.open({ dataDir: dir })
  try {
    await log.createTopic('vitals', { partitions: PARTITIONS, priorityClass: 'vitals' })
    return await work(log)
  } finally {
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Resolves once every partition has committed up to the log's end. Polled (every 5 ms), not only
 * on commits: a partition that recovers at its end commits nothing. A stall fails the bench.
 */
function caughtUp(replicator: Replicator, log: Log, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const status = replicator.status()
      if (status.every((s) => (s.replicatedOffset ?? -1) >= log.endOffset(s.topic, s.partition))) resolve()
      else if (performance.now() > deadline)
        reject(new Error(`replicator not caught up within ${timeoutMs} ms: ${JSON.stringify(status)}`))
      else setTimeout(check, 5)
    }
    check()
  })
}

/**
 * Backlog drain: the replicator is started and caught up first (topics created, producers
 * initialised, offsets read), then 100,000 records are appended at once; the clock runs from the
 * first append until everything is upstream, so the appends count against the replicator.
 */
async function replicatorRps(round: number): Promise<number> {
  return withLog(async (log) => {
    for (let p = 0; p < PARTITIONS; p++) await log.append('vitals', { partition: p, key: null, value })
    const replicator = await Replicator.start(log, {
      brokers: kafka.bootstrap,
      gatewayId: `bench-${run}-${round}`,
    })
    await caughtUp(replicator, log)
    const started = performance.now()
    const appended: Promise<unknown>[] = []
    for (let i = 0; i < RECORDS; i += 5_000) {
      appended.push(
        log.appendBatch(
          'vitals',
          Array.from({ length: 5_000 }, (_, j) => ({ key: keyOf(i + j), value })),
        ),
      )
    }
    await Promise.all(appended)
    await caughtUp(replicator, log)
    const rps = RECORDS / ((performance.now() - started) / 1000)
    await replicator.close()
    return rps
  })
}

/** Appends at LIVE_RPS for LIVE_SECONDS; a read_committed consumer measures append → visible upstream. */
async function upstreamLatencies(): Promise<number[]> {
  return withLog(async (log) => {
    const gatewayId = `bench-live-${run}`
    const replicator = await Replicator.start(log, { brokers: kafka.bootstrap, gatewayId })
    await log.append('vitals', { key: keyOf(0), value })
    await caughtUp(replicator, log) // topics created, producers recovered
    const latencies: number[] = []
    const consumer = client.consumer({ groupId: `bench-live-${run}`, maxWaitTimeInMs: 10 })
    await consumer.connect()
    await consumer.subscribe({ topics: [`vigil.${gatewayId}.vitals`], fromBeginning: false })
    const total = LIVE_RPS * LIVE_SECONDS
    let all: () => void = () => undefined
    const received = new Promise<void>((resolve) => {
      all = resolve
    })
    // Batches, all partitions at once: the measuring consumer should add as little as it can.
    await consumer.run({
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: ({ batch }) => {
        const seenAt = performance.timeOrigin + performance.now()
        for (const message of batch.messages) {
          const sentAt = Number(message.headers?.['bench.sent-at']?.toString())
          if (Number.isFinite(sentAt)) latencies.push(seenAt - sentAt)
        }
        if (latencies.length >= total) all()
        return Promise.resolve()
      },
    })
    await new Promise((resolve) => setTimeout(resolve, 2_000)) // the consumer's first fetch position is 'latest'
    const perTick = LIVE_RPS / 100
    const started = performance.now()
    for (let tick = 0; tick < LIVE_SECONDS * 100; tick++) {
      const now = performance.timeOrigin + performance.now()
      await log.appendBatch(
        'vitals',
        Array.from({ length: perTick }, (_, j) => ({
          key: keyOf(tick * perTick + j),
          value,
          headers: { 'bench.sent-at': Buffer.from(String(now)) },
        })),
      )
      const next = started + (tick + 1) * 10
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())))
    }
    await Promise.race([received, new Promise((resolve) => setTimeout(resolve, 30_000))])
    await consumer.disconnect()
    await replicator.close()
    return latencies
  })
}

const producer: number[] = []
const replicator: number[] = []
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved, so both see the same machine load.
  producer.push(await plainProducerRps(round))
  replicator.push(await replicatorRps(round))
}
const latencies = await upstreamLatencies()
await admin.disconnect()
await kafka.stop()

const producerRps = median(producer)
const replicatorRpsMedian = median(replicator)
const p99 = percentile(latencies, 0.99)
report('replicate', [
  { metric: 'producer_rps', value: producerRps },
  {
    metric: 'replicator_rps',
    value: replicatorRpsMedian,
    target: '≥ 100,000',
    ok: replicatorRpsMedian >= 100_000,
  },
  {
    metric: 'replicator_vs_producer',
    value: replicatorRpsMedian / producerRps,
    target: '≥ 0.8',
    ok: replicatorRpsMedian / producerRps >= 0.8,
  },
  { metric: 'upstream_p50_ms', value: percentile(latencies, 0.5) },
  { metric: 'upstream_p99_ms', value: p99, target: `≤ 100 at ${LIVE_RPS} rec/s`, ok: p99 <= 100 },
  { metric: 'upstream_received_ratio', value: latencies.length / (LIVE_RPS * LIVE_SECONDS) },
  {
    metric: 'drain_vs_live',
    value: replicatorRpsMedian / WARD_LIVE_RPS,
    target: `≥ 20 (ward ${WARD_LIVE_RPS} rec/s)`,
    ok: replicatorRpsMedian / WARD_LIVE_RPS >= 20,
  },
])
