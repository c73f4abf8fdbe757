// Benchmark of core/streams (issue 3 targets): the engine draining pre-filled input topics, against
// the log's own read throughput over the same input, measured in the same run.
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  decodeSampleBlock,
  encodeSampleBlock,
  JoinWindows,
  Log,
  Serdes,
  StreamsBuilder,
  StreamsEngine,
  StreamsError,
  TimeWindows,
  type RecordInput,
  type Serde,
  type Topology,
} from '@vigil/core'
import { median } from './report.ts'

const ROUNDS = 3
/**
 * Input sizes per workload, chosen so each timed run takes a few seconds at today's throughput and
 * the whole bench stays under ~3 minutes on the 2-vCPU CI machine. STREAMS_BENCH_SCALE scales them all.
 */
const SCALE = Number(process.env.STREAMS_BENCH_SCALE ?? 1)
const STATELESS_RECORDS = 100_000 * SCALE
const TUMBLING_RECORDS = 60_000 * SCALE
const HOPPING_RECORDS = 10_000 * SCALE
const JOIN_PAIRS = 10_000 * SCALE
const BLOCKS = 10_000 * SCALE
const KEYS = 10_000
/** Records per ms of event time: 10,000 records/s, i.e. each of the 10,000 keys once a second. */
const RECORDS_PER_MS = 10
/** 5 s windows: 5 records per key and window; hopping windows advance by 1 s (5 windows per record). */
const WINDOW_MS = 5_000
const HOP_MS = 1_000
const JOIN_WINDOW_MS = 100
const BLOCK_SAMPLES = 250
const BLOCK_CHANNELS = 8
const BLOCK_RATE_HZ = 500
const MAX_RECORDS_PER_COMMIT = 1000
const APPEND_BATCH = 1000
const BASE_MS = 1_700_000_000_000

type Guarantee = 'exactly_once' | 'at_least_once'
const GUARANTEES: readonly Guarantee[] = ['exactly_once', 'at_least_once']

const scratchRoot = mkdtempSync(join(tmpdir(), 'vigil-bench-streams-'))
const keyNames = Array.from({ length: KEYS }, (_, i) => `patient-${String(i).padStart(5, '0')}`)
const keyBytes = keyNames.map((k) => Serdes.String.serialize(k))
let appSeq = 0

// ---- serdes the workloads need that core does not ship -------------------------------------------

const sampleBlockSerde: Serde<ReturnType<typeof decodeSampleBlock>> = {
  serialize: (block) => encodeSampleBlock(block),
  deserialize: (bytes) => decodeSampleBlock(bytes),
}

interface BlockStats {
  max: number
  sum: number
  count: number
}

/* block stats => max:f64 sum:f64 count:f64 (little-endian), fixed 24 bytes */
const blockStatsSerde: Serde<BlockStats> = {
  serialize: ({ max, sum, count }) => new Uint8Array(new Float64Array([max, sum, count]).buffer),
  deserialize: (bytes) => {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return { max: v.getFloat64(0, true), sum: v.getFloat64(8, true), count: v.getFloat64(16, true) }
  },
}

// ---- input (outside the timed part) --------------------------------------------------------------

async function appendAll(log: Log, topic: string, count: number, make: (i: number) => RecordInput) {
  for (let i = 0; i < count; i += APPEND_BATCH) {
    const batch: RecordInput[] = []
    for (let j = i; j < Math.min(count, i + APPEND_BATCH); j++) batch.push(make(j))
    await log.appendBatch(topic, batch)
  }
}

const longBytes = (n: number): Uint8Array => Serdes.Long.serialize(n)

/** One log holding every workload's input, each topic with one partition (one task, one thread). */
async function prefill(): Promise<{ log: Log; dir: string }> {
  const dir = join(scratchRoot, `log-${Math.random().toString(36).slice(2)}`)
  const log = await Log.open({ dataDir: dir })
  const topics = ['stateless-in', 'tumbling-in', 'hopping-in', 'left', 'right', 'blocks']
  for (const topic of topics) await log.createTopic(topic, { partitions: 1 })
  // Key i % KEYS, value i % 1000 as a Long, RECORDS_PER_MS records per ms of event time.
  const event = (i: number): RecordInput => ({
    key: keyBytes[i % KEYS]!,
    value: longBytes(i % 1000),
    timestampMs: BASE_MS + Math.floor(i / RECORDS_PER_MS),
  })
  await appendAll(log, 'stateless-in', STATELESS_RECORDS, event)
  await appendAll(log, 'tumbling-in', TUMBLING_RECORDS, event)
  await appendAll(log, 'hopping-in', HOPPING_RECORDS, event)
  // Pair i: the same key on both sides, the right record 1 ms after the left one; a key comes back
  // every KEYS / RECORDS_PER_MS = 1,000 ms, beyond the join window, so each left record joins one right record.
  const side = (offsetMs: number) => (i: number) => ({
    key: keyBytes[i % KEYS]!,
    value: longBytes(i),
    timestampMs: BASE_MS + Math.floor(i / RECORDS_PER_MS) + offsetMs,
  })
  await appendAll(log, 'left', JOIN_PAIRS, side(0))
  await appendAll(log, 'right', JOIN_PAIRS, side(1))
  const samples = new Int16Array(BLOCK_SAMPLES).map((_, i) => Math.round(1000 * Math.sin(i / 10)))
  const blockMs = (BLOCK_SAMPLES / BLOCK_RATE_HZ) * 1000
  await appendAll(log, 'blocks', BLOCKS, (i) => {
    const sequence = Math.floor(i / BLOCK_CHANNELS)
    const firstSampleTimeMs = BASE_MS + sequence * blockMs
    return {
      key: keyBytes[i % BLOCK_CHANNELS]!,
      value: encodeSampleBlock({ samples, sampleRateHz: BLOCK_RATE_HZ, firstSampleTimeMs, sequence }),
      timestampMs: firstSampleTimeMs,
    }
  })
  return { log, dir }
}

// ---- topologies ------------------------------------------------------------------------------------

const stringLong = { keySerde: Serdes.String, valueSerde: Serdes.Long }

function statelessTopology(out: string): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('stateless-in', stringLong)
    .filter((_k, v) => v % 4 !== 0)
    .mapValues((v) => v * 2)
    .filter((k) => k.length > 0)
    .to(out, stringLong)
  return b.build()
}

function tumblingCountTopology(out: string): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('tumbling-in', stringLong)
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(WINDOW_MS))
    .count({ name: 'counts' })
    .toStream()
    .to(out, { valueSerde: Serdes.Long })
  return b.build()
}

function hoppingAggTopology(out: string): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('hopping-in', stringLong)
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(WINDOW_MS).advanceBy(HOP_MS))
    .aggregate(
      () => 0,
      (_k, v, sum: number) => sum + v,
      { name: 'sums', valueSerde: Serdes.Long },
    )
    .toStream()
    .to(out, { valueSerde: Serdes.Long })
  return b.build()
}

function joinTopology(out: string): Topology {
  const b = new StreamsBuilder()
  const left = b.stream<string, number>('left', stringLong)
  const right = b.stream<string, number>('right', stringLong)
  left
    .join(right, (l, r) => l + r, JoinWindows.ofTimeDifferenceWithNoGrace(JOIN_WINDOW_MS))
    .to(out, stringLong)
  return b.build()
}

function blockAggTopology(out: string): Topology {
  const b = new StreamsBuilder()
  b.stream<string, ReturnType<typeof decodeSampleBlock>>('blocks', {
    keySerde: Serdes.String,
    valueSerde: sampleBlockSerde,
  })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(WINDOW_MS))
    .aggregate(
      (): BlockStats => ({ max: -Infinity, sum: 0, count: 0 }),
      (_k, block, agg) => {
        const { samples } = block
        let { max, sum } = agg
        for (let i = 0; i < samples.length; i++) {
          const s = samples[i]!
          if (s > max) max = s
          sum += s
        }
        return { max, sum, count: agg.count + samples.length }
      },
      { name: 'stats', valueSerde: blockStatsSerde },
    )
    .toStream()
    .mapValues((s) => s.sum / s.count)
    .to(out, { valueSerde: Serdes.Double })
  return b.build()
}

// ---- running -------------------------------------------------------------------------------------

interface Run {
  readonly rps: number | null
  readonly note?: string
}

const unsupported = (note: string): Run => ({ rps: null, note })

function isMissingGuaranteeOption(error: unknown): boolean {
  return (
    error instanceof StreamsError &&
    error.code === 'INVALID_ARGUMENT' &&
    /processingGuarantee|unrecognized|unknown/i.test(error.message)
  )
}

/**
 * Starts a fresh application (own consumer group and stores, from offset 0) on `log`, times
 * processAvailable() draining `expected` input records, and closes it. Null with a note when the
 * engine or the DSL does not support the workload yet.
 */
async function runOnce(log: Log, workload: Workload, guarantee: Guarantee): Promise<Run> {
  const { build, input: expected, outputs } = workload
  const applicationId = `bench-${appSeq++}`
  const out = `${applicationId}-out`
  let topology: Topology
  try {
    topology = build(out)
  } catch (error) {
    if (error instanceof StreamsError && /not built yet/.test(error.message))
      return unsupported(error.message)
    throw error
  }
  await log.createTopic(out, { partitions: 1 })
  // exactly_once is the default: only ALOS names the option, so an engine without it still runs EOS.
  const options =
    guarantee === 'exactly_once'
      ? { applicationId, maxRecordsPerCommit: MAX_RECORDS_PER_COMMIT }
      : { applicationId, maxRecordsPerCommit: MAX_RECORDS_PER_COMMIT, processingGuarantee: guarantee }
  let engine: StreamsEngine
  try {
    engine = await StreamsEngine.start(topology, log, options)
  } catch (error) {
    if (isMissingGuaranteeOption(error)) {
      return unsupported(`engine rejects processingGuarantee '${guarantee}': ${(error as Error).message}`)
    }
    throw error
  }
  try {
    globalThis.gc?.()
    const started = performance.now()
    engine.processAvailable()
    const seconds = (performance.now() - started) / 1000
    const { processedRecords } = engine.metrics()
    const produced = log.endOffset(out, 0)
    if (processedRecords !== expected || produced !== outputs) {
      throw new Error(
        `${workload.name}/${guarantee}: processed ${processedRecords} records and produced ${produced}, expected ${expected} and ${outputs}`,
      )
    }
    return { rps: expected / seconds }
  } finally {
    engine.close()
  }
}

/** The log's plain read throughput over the same input, as the engine's fetch reads it. */
function logReadRps(log: Log, topic: string, records: number): number {
  globalThis.gc?.()
  const started = performance.now()
  let offset = 0
  while (offset < records) offset += log.read(topic, 0, offset, { maxRecords: MAX_RECORDS_PER_COMMIT }).length
  return records / ((performance.now() - started) / 1000)
}

interface Workload {
  readonly name: string
  readonly build: (out: string) => Topology
  /** Input records the run must process. */
  readonly input: number
  /** Records the run must write to its output topic (a check that the workload did its work). */
  readonly outputs: number
}

const workloads: readonly Workload[] = [
  // Values i % 1000: the filter drops a quarter.
  {
    name: 'stateless',
    build: statelessTopology,
    input: STATELESS_RECORDS,
    outputs: STATELESS_RECORDS * 0.75,
  },
  // Emit on update: one result per record and window.
  {
    name: 'tumbling_count',
    build: tumblingCountTopology,
    input: TUMBLING_RECORDS,
    outputs: TUMBLING_RECORDS,
  },
  {
    name: 'hopping_agg',
    build: hoppingAggTopology,
    input: HOPPING_RECORDS,
    outputs: HOPPING_RECORDS * (WINDOW_MS / HOP_MS),
  },
  { name: 'join', build: joinTopology, input: 2 * JOIN_PAIRS, outputs: JOIN_PAIRS },
  { name: 'block_agg', build: blockAggTopology, input: BLOCKS, outputs: BLOCKS },
]

/** Median of the measured runs; null (with the first note) if any run was unsupported. */
function summarize(runs: readonly Run[]): Run {
  const missing = runs.find((r) => r.rps === null)
  if (missing !== undefined) return missing
  return { rps: median(runs.map((r) => r.rps!)) }
}

// ---- report (report.ts's format, plus null metrics and their notes) --------------------------------

interface NullableRow {
  readonly metric: string
  readonly value: number | null
  readonly target?: string
  readonly ok?: boolean
  readonly note?: string
}

function reportNullable(bench: string, rows: readonly NullableRow[], info: Record<string, unknown>): void {
  const fmt = (n: number | null): string =>
    n === null ? 'null' : Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(3)
  const widths = [Math.max(6, ...rows.map((r) => r.metric.length)), 16, 24, 4]
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 6)).join('  ')
  console.log(`\n${bench} — node ${process.version}, ${cpus().length} cpus`)
  console.log(line(['metric', 'value', 'target', 'met']))
  for (const r of rows) {
    const met = r.ok === undefined ? '' : r.ok ? 'yes' : 'NO'
    console.log(
      line([r.metric, fmt(r.value), r.target ?? '', met]) + (r.note === undefined ? '' : `  (${r.note})`),
    )
  }
  const metrics = Object.fromEntries(
    rows.map((r) => [r.metric, r.value === null ? null : Number(r.value.toPrecision(6))]),
  )
  const notes = Object.fromEntries(rows.flatMap((r) => (r.note === undefined ? [] : [[r.metric, r.note]])))
  console.log(
    `BENCH ${JSON.stringify({ bench, node: process.version, cpus: cpus().length, metrics, notes, ...info })}`,
  )
}

try {
  const runs = new Map<string, Run[]>()
  const reads: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const { log, dir } = await prefill()
    reads.push(logReadRps(log, 'tumbling-in', TUMBLING_RECORDS))
    for (const w of workloads) {
      // Alternate which guarantee runs first, so neither always gets the warmer (or the fuller) log.
      const order = round % 2 === 0 ? GUARANTEES : [...GUARANTEES].reverse()
      for (const guarantee of order) {
        const key = `${w.name}/${guarantee}`
        runs.set(key, [...(runs.get(key) ?? []), await runOnce(log, w, guarantee)])
      }
    }
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const get = (name: string, guarantee: Guarantee): Run => summarize(runs.get(`${name}/${guarantee}`)!)
  const row = (metric: string, run: Run, scale = 1, target?: { text: string; min: number }): NullableRow => ({
    metric,
    value: run.rps === null ? null : run.rps * scale,
    ...(target === undefined ? {} : { target: target.text }),
    ...(target === undefined || run.rps === null ? {} : { ok: run.rps * scale >= target.min }),
    ...(run.note === undefined ? {} : { note: run.note }),
  })
  const readRps = median(reads)
  const tumblingEos = get('tumbling_count', 'exactly_once')
  const tumblingAlos = get('tumbling_count', 'at_least_once')
  const eosVsAlos =
    tumblingEos.rps === null || tumblingAlos.rps === null ? null : tumblingEos.rps / tumblingAlos.rps
  reportNullable(
    'streams',
    [
      { metric: 'log_read_rps', value: readRps, target: 'baseline (same run)' },
      row('stateless_rps', get('stateless', 'exactly_once')),
      row('stateless_alos_rps', get('stateless', 'at_least_once')),
      row('tumbling_count_eos_rps', tumblingEos, 1, { text: '>= 500,000', min: 500_000 }),
      row('tumbling_count_alos_rps', tumblingAlos),
      {
        metric: 'eos_vs_alos',
        value: eosVsAlos,
        target: '>= 0.80',
        ...(eosVsAlos === null ? { note: 'needs both guarantees' } : { ok: eosVsAlos >= 0.8 }),
      },
      {
        metric: 'tumbling_eos_vs_log_read',
        value: tumblingEos.rps === null ? null : tumblingEos.rps / readRps,
      },
      row('hopping_agg_rps', get('hopping_agg', 'exactly_once')),
      row('hopping_agg_alos_rps', get('hopping_agg', 'at_least_once')),
      row('join_rps', get('join', 'exactly_once')),
      row('join_alos_rps', get('join', 'at_least_once')),
      row('block_agg_samples_per_s', get('block_agg', 'exactly_once'), BLOCK_SAMPLES, {
        text: '>= 5,000,000',
        min: 5_000_000,
      }),
      row('block_agg_alos_samples_per_s', get('block_agg', 'at_least_once'), BLOCK_SAMPLES),
    ],
    { rounds: ROUNDS, scale: SCALE },
  )
} finally {
  rmSync(scratchRoot, { recursive: true, force: true })
}
