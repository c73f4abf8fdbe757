// Benchmark of core/log against raw lmdb-js on the same machine, in the same run (issue 2 targets),
// and against the upstream broker (issue 5): the same records, in the same batches, sent by a kafkajs
// idempotent producer with acks=all to the single local Kafka of test/kafka (skipped, with the reason
// in the table, when no broker is running and none can be started).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { open } from 'lmdb'
import { encodeSampleBlock, Log, type RecordInput } from '@vigil/core'
import { Kafka, logLevel, type Admin, type Message } from 'kafkajs'
import { startKafka, type LocalKafka } from '../test/kafka/harness.ts'
import { median, percentile, report, type Row } from './report.ts'

const ROUNDS = 3
const RECORDS = 1_000_000
const BATCH = 1000
const IN_FLIGHT = 4
const VALUE_BYTES = 100
const ACK_LOAD_RPS = 20_000
const ACK_SECONDS = 3
const BLOCK_SAMPLES = 250
const BLOCKS = 40_000
const RSS_RECORDS = 10_000_000
/**
 * Bounded, so a broker that goes away (or is restarted on fresh storage) fails the Kafka baseline
 * in seconds instead of the idempotent producer's default of retrying forever. No effect on a run
 * without errors.
 */
const KAFKA_SEND_RETRIES = 5

const scratchRoot = mkdtempSync(join(tmpdir(), 'vigil-bench-log-'))
const freshDir = (name: string): string => join(scratchRoot, `${name}-${Math.random().toString(36).slice(2)}`)
const value = Buffer.alloc(VALUE_BYTES, 0x61)
const timestampOf = (i: number): number => 1_700_000_000_000 + i
const batch: RecordInput[] = Array.from({ length: BATCH }, (_, i) => ({
  value,
  partition: 0,
  timestampMs: timestampOf(i),
}))
/** The log's batch as Kafka messages: no key, the same value, partition and timestamp, no headers. */
const kafkaBatch: Message[] = Array.from({ length: BATCH }, (_, i) => ({
  value,
  partition: 0,
  timestamp: String(timestampOf(i)),
}))

async function appendRound(records: number): Promise<{ rps: number; log: Log; dir: string }> {
  const dir = freshDir('append')
  const log = await Log.open({ dataDir: dir })
  await log.createTopic('bench', { partitions: 1 })
  const started = performance.now()
  const inFlight = new Set<Promise<unknown>>()
  for (let sent = 0; sent < records; sent += BATCH) {
    const p: Promise<unknown> = log.appendBatch('bench', batch).then(() => inFlight.delete(p))
    inFlight.add(p)
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight)
  }
  await Promise.all(inFlight)
  return { rps: records / ((performance.now() - started) / 1000), log, dir }
}

/** The storage engine's limit: the same keys and values, batched putSync in one transaction per batch. */
async function rawRound(records: number): Promise<number> {
  const dir = freshDir('raw')
  const env = open({
    path: join(dir, 'raw.mdb'),
    maxDbs: 16,
    overlappingSync: false, // the log's durability mode
    cache: false,
    compression: false,
  })
  const db = env.openDB<Buffer, Buffer>({ name: 'records', keyEncoding: 'binary', encoding: 'binary' })
  const key = Buffer.alloc(16)
  // Same stored bytes as the log's record (14-byte header + value), so the engine writes the same volume.
  const stored = Buffer.alloc(VALUE_BYTES + 14, 0x61)
  const started = performance.now()
  for (let offset = 0; offset < records;) {
    db.transactionSync(() => {
      for (let i = 0; i < BATCH; i++, offset++) {
        key.writeUInt32BE(Math.floor(offset / 2 ** 32), 8)
        key.writeUInt32BE(offset >>> 0, 12)
        db.putSync(key, stored)
      }
    })
  }
  const rps = records / ((performance.now() - started) / 1000)
  await env.close()
  rmSync(dir, { recursive: true, force: true })
  return rps
}

/**
 * The engine's limit for the log's own layout: the same bytes, put as one value per 1,000 records
 * (what the log's batch of them is), one transaction each.
 */
async function rawBatchedRound(records: number): Promise<number> {
  const dir = freshDir('raw-batched')
  const env = open({
    path: join(dir, 'raw.mdb'),
    maxDbs: 16,
    overlappingSync: false,
    cache: false,
    compression: false,
  })
  const db = env.openDB<Buffer, Buffer>({ name: 'records', keyEncoding: 'binary', encoding: 'binary' })
  const key = Buffer.alloc(16)
  const block = Buffer.alloc(BATCH * (VALUE_BYTES + 14 + 4) + 4, 0x61)
  const started = performance.now()
  for (let offset = 0; offset < records; offset += BATCH) {
    db.transactionSync(() => {
      key.writeUInt32BE(offset >>> 0, 12)
      db.putSync(key, block)
    })
  }
  const rps = records / ((performance.now() - started) / 1000)
  await env.close()
  rmSync(dir, { recursive: true, force: true })
  return rps
}

type KafkaBaseline =
  | { readonly state: 'up'; readonly local: LocalKafka; readonly client: Kafka; readonly admin: Admin }
  | { readonly state: 'skipped'; readonly reason: string }

/** The last line of a failed start.sh's stderr (its `[kafka] error: …`), else the error's message. */
function reasonOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown } | null)?.stderr
  const text =
    typeof stderr === 'string' && stderr.trim() !== ''
      ? stderr
      : error instanceof Error
        ? error.message
        : String(error)
  return (
    text
      .trim()
      .split('\n')
      .findLast((l) => l.trim() !== '')
      ?.trim() ?? 'unknown error'
  )
}

/** Uses the running single broker or starts one (test/kafka/start.sh); never throws. */
async function connectKafka(): Promise<KafkaBaseline> {
  let local: LocalKafka
  try {
    local = await startKafka(1)
  } catch (error) {
    return { state: 'skipped', reason: `no broker: ${reasonOf(error)}` }
  }
  const client = new Kafka({
    clientId: 'vigil-bench-log',
    brokers: local.bootstrap,
    logLevel: logLevel.NOTHING,
  })
  const admin = client.admin()
  try {
    await admin.connect()
  } catch (error) {
    await local.stop()
    return { state: 'skipped', reason: `broker at ${local.bootstrap.join(',')}: ${reasonOf(error)}` }
  }
  return { state: 'up', local, client, admin }
}

/**
 * The same loop as appendRound with kafkajs in place of the log: the same batch (BATCH records)
 * per `send`, at most IN_FLIGHT sends outstanding, into a fresh 1-partition topic. kafkajs's
 * idempotent producer serializes produce requests per broker, so on the wire one batch is in flight.
 */
async function kafkaRound(
  kafka: Extract<KafkaBaseline, { state: 'up' }>,
  topic: string,
  records: number,
): Promise<number> {
  await kafka.admin.createTopics({
    // The records' 2023 timestamps are older than the broker's 24 h retention: keep them for the round.
    topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] }],
    waitForLeaders: true,
  })
  const producer = kafka.client.producer({ idempotent: true, retry: { retries: KAFKA_SEND_RETRIES } })
  try {
    await producer.connect()
    const started = performance.now()
    const inFlight = new Set<Promise<unknown>>()
    for (let sent = 0; sent < records; sent += BATCH) {
      const p: Promise<unknown> = producer
        .send({ topic, acks: -1, messages: kafkaBatch })
        .then(() => inFlight.delete(p))
      inFlight.add(p)
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight)
    }
    await Promise.all(inFlight)
    return records / ((performance.now() - started) / 1000)
  } finally {
    await producer.disconnect()
    await kafka.admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
  }
}

function readRound(log: Log, records: number): number {
  const started = performance.now()
  let offset = 0
  while (offset < records) offset += log.read('bench', 0, offset, { maxRecords: BATCH }).length
  return records / ((performance.now() - started) / 1000)
}

/** Many small single-record appends at a fixed offered load: latency from the scheduled send to the durable ack. */
async function ackLatency(): Promise<{ p50: number; p99: number; achievedRps: number }> {
  const dir = freshDir('ack')
  const log = await Log.open({ dataDir: dir })
  await log.createTopic('vitals', { partitions: 4 })
  const total = ACK_LOAD_RPS * ACK_SECONDS
  const latencies: number[] = []
  const pending: Promise<void>[] = []
  const started = performance.now()
  let sent = 0
  const key = Buffer.from('patient-0000')
  while (sent < total) {
    const due = Math.floor(((performance.now() - started) / 1000) * ACK_LOAD_RPS)
    for (; sent < Math.min(due, total); sent++) {
      const scheduledAt = started + (sent / ACK_LOAD_RPS) * 1000
      key.write(String(sent % 32).padStart(4, '0'), 8)
      pending.push(
        log.append('vitals', { key: Buffer.from(key), value }).then(() => {
          latencies.push(performance.now() - scheduledAt)
        }),
      )
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all(pending)
  const achievedRps = total / ((performance.now() - started) / 1000)
  await log.close()
  rmSync(dir, { recursive: true, force: true })
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), achievedRps }
}

async function blockIngest(): Promise<number> {
  const dir = freshDir('blocks')
  const log = await Log.open({ dataDir: dir })
  await log.createTopic('raw.ecg', { partitions: 4, priorityClass: 'waveform' })
  const samples = new Int16Array(BLOCK_SAMPLES).map((_, i) => Math.round(1000 * Math.sin(i / 10)))
  const perBatch = 100
  const started = performance.now()
  const inFlight = new Set<Promise<unknown>>()
  for (let sequence = 0; sequence < BLOCKS; sequence += perBatch) {
    const records: RecordInput[] = []
    for (let i = 0; i < perBatch; i++) {
      const seq = sequence + i
      const firstSampleTimeMs = 1_700_000_000_000 + seq * 500
      records.push({
        partition: seq % 4,
        timestampMs: firstSampleTimeMs,
        value: encodeSampleBlock({ samples, sampleRateHz: 500, firstSampleTimeMs, sequence: seq }),
      })
    }
    const p: Promise<unknown> = log.appendBatch('raw.ecg', records).then(() => inFlight.delete(p))
    inFlight.add(p)
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight)
  }
  await Promise.all(inFlight)
  const samplesPerS = (BLOCKS * BLOCK_SAMPLES) / ((performance.now() - started) / 1000)
  await log.close()
  rmSync(dir, { recursive: true, force: true })
  return samplesPerS
}

/** Peak RSS of a fresh process appending RSS_RECORDS records (this process's heap holds the other rounds' garbage). */
function rssWhileAppending(): number {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--rss-child'], {
    encoding: 'utf8',
  })
  if (child.status !== 0) throw new Error(`rss child failed: ${child.stderr}`)
  return Number(/RSS_MB (\S+)/.exec(child.stdout)?.[1])
}

if (process.argv.includes('--rss-child')) {
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20)
  const { log, dir } = await appendRound(RSS_RECORDS)
  peak = Math.max(peak, process.memoryUsage.rss())
  clearInterval(timer)
  await log.close()
  rmSync(dir, { recursive: true, force: true })
  rmSync(scratchRoot, { recursive: true, force: true })
  console.log(`RSS_MB ${peak / (1024 * 1024)}`)
  process.exit(0)
}

const kafka = await connectKafka()
let kafkaFailure = kafka.state === 'skipped' ? kafka.reason : undefined
let kafkaReleased = kafka.state === 'skipped'
/** Disconnects, and stops the broker if this run started it (harness.ts leaves a running one alone). */
async function releaseKafka(): Promise<void> {
  if (kafkaReleased || kafka.state !== 'up') return
  kafkaReleased = true
  await kafka.admin.disconnect()
  await kafka.local.stop()
}
try {
  const append: number[] = []
  const raw: number[] = []
  const rawBatched: number[] = []
  const read: number[] = []
  const producer: number[] = []
  const run = Date.now().toString(36)
  for (let round = 0; round < ROUNDS; round++) {
    raw.push(await rawRound(RECORDS))
    rawBatched.push(await rawBatchedRound(RECORDS))
    const { rps, log, dir } = await appendRound(RECORDS)
    append.push(rps)
    read.push(readRound(log, RECORDS))
    await log.close()
    rmSync(dir, { recursive: true, force: true })
    if (kafka.state === 'up' && kafkaFailure === undefined) {
      try {
        producer.push(await kafkaRound(kafka, `bench.log-baseline.${run}.${round}`, RECORDS))
      } catch (error) {
        // Some rounds only would not be the same run as the log's: report none.
        kafkaFailure = `failed in round ${round + 1}/${ROUNDS}: ${reasonOf(error)}`
      }
    }
  }
  await releaseKafka() // before the rounds below: a broker started here idles no longer than needed
  const acks: Awaited<ReturnType<typeof ackLatency>>[] = []
  for (let round = 0; round < 5; round++) acks.push(await ackLatency())
  const blocks = [await blockIngest(), await blockIngest(), await blockIngest()]
  const rss = rssWhileAppending()
  const appendRps = median(append)
  const rawRps = median(raw)
  const ackP99 = median(acks.map((a) => a.p99))
  // NaN (null in the BENCH line) when skipped or failed; the reason goes in the table.
  const kafkaRps = kafkaFailure === undefined ? median(producer) : Number.NaN
  const kafkaRows: Row[] = [
    {
      metric: 'kafka_producer_rps',
      value: kafkaRps,
      target: kafkaFailure === undefined ? 'baseline (same run)' : `skipped: ${kafkaFailure}`,
    },
    {
      metric: 'append_vs_kafka',
      value: appendRps / kafkaRps,
      target: kafkaFailure === undefined ? `same records, ${BATCH}/batch` : 'skipped (no baseline)',
    },
  ]
  report('log', [
    { metric: 'append_rps', value: appendRps, target: '>= 1,000,000', ok: appendRps >= 1_000_000 },
    { metric: 'raw_lmdb_rps', value: rawRps, target: 'baseline (same run)' },
    { metric: 'append_vs_raw', value: appendRps / rawRps, target: '>= 0.70', ok: appendRps / rawRps >= 0.7 },
    { metric: 'raw_lmdb_batched_rps', value: median(rawBatched), target: 'same bytes, 1 put/1000' },
    { metric: 'append_vs_raw_batched', value: appendRps / median(rawBatched) },
    ...kafkaRows,
    { metric: 'read_rps', value: median(read), target: '>= 2,000,000', ok: median(read) >= 2_000_000 },
    { metric: 'ack_p50_ms', value: median(acks.map((a) => a.p50)) },
    { metric: 'ack_p99_ms', value: ackP99, target: '<= 5 at 20k rec/s', ok: ackP99 <= 5 },
    { metric: 'ack_offered_rps', value: median(acks.map((a) => a.achievedRps)) },
    {
      metric: 'block_samples_per_s',
      value: median(blocks),
      target: '>= 20,000,000',
      ok: median(blocks) >= 20_000_000,
    },
    { metric: 'rss_mb', value: rss, target: '< 150 over 10M appends', ok: rss < 150 },
  ])
} finally {
  rmSync(scratchRoot, { recursive: true, force: true })
  await releaseKafka()
}
