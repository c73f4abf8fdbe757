import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  Log,
  type BudgetExceededEvent,
  type LogEvents,
  type LogOptionsInput,
  type TrimEvent,
} from '../../src/log/index.ts'

/*
 * Stored bytes of a record, as the budget counts them (metrics().logBytes):
 * record v1 header (timestampMs:f64 keyLen:i32 headerCount:u16 = 14 bytes) + key + headers + value,
 * plus the 16-byte LMDB key (topicId:u32 partition:u32 offset:u64). Every record here has a null
 * key, no headers and a fixed-size value per topic, so each topic's records have one known size.
 */
const RECORD_HEADER_BYTES = 14
const LMDB_KEY_BYTES = 16
const stored = (valueBytes: number): number => RECORD_HEADER_BYTES + valueBytes + LMDB_KEY_BYTES

const WAVE = { topic: 'ecg', valueBytes: 100, count: 40, partitions: 2 } as const
const VITALS = { topic: 'hr', valueBytes: 50, count: 10, floor: 4 } as const
const ALARMS = { topic: 'alarm', valueBytes: 20, count: 6, floor: 2 } as const
/** A replicator floor on the waveform class too: the budget trims the lowest class through it, counting what it passes. */
const WAVE_FLOOR = 2
const WAVE_BYTES = stored(WAVE.valueBytes) // 130
const VITAL_BYTES = stored(VITALS.valueBytes) // 80
const ALARM_BYTES = stored(ALARMS.valueBytes) // 50
const TOTAL_BYTES = WAVE.count * WAVE_BYTES + VITALS.count * VITAL_BYTES + ALARMS.count * ALARM_BYTES // 6300
const T0 = 1_750_000_000_000
const HOLDER = 'replicator'
/** Keep the background retention pass out of the tests: they run enforcement themselves. */
const RETENTION_CHECK_INTERVAL_MS = 3_600_000

/** Waveform record i: timestamps increase with i and interleave unevenly across the two partitions. */
interface WaveRecord {
  readonly i: number
  readonly partition: number
  readonly offset: number
  readonly timestampMs: number
}

function value(bytes: number, i: number): Buffer {
  const buffer = Buffer.alloc(bytes, i & 0xff)
  buffer.writeUInt32BE(i, 0)
  return buffer
}

function trimEvent(fields: Partial<TrimEvent> & Pick<TrimEvent, 'topic' | 'partition'>): TrimEvent {
  return {
    priorityClass: 'waveform',
    fromOffset: 0,
    toOffset: 0,
    records: 0,
    bytes: 0,
    reason: 'disk-budget',
    belowFloorRecords: 0,
    ...fields,
  }
}

const byTopicPartition = (a: TrimEvent, b: TrimEvent): number =>
  a.topic.localeCompare(b.topic) || a.partition - b.partition

/** Bounds waits for events a background pass should emit, so a pass that never runs fails with a reason. */
const EVENT_TIMEOUT_MS = 5_000

/** The next `name` event's arguments; rejects if none comes within EVENT_TIMEOUT_MS. */
function nextEvent<K extends keyof LogEvents>(log: Log, name: K): Promise<LogEvents[K]> {
  return once(log, name, { signal: AbortSignal.timeout(EVENT_TIMEOUT_MS) }).catch((cause: unknown) => {
    throw new Error(`no '${name}' event within ${EVENT_TIMEOUT_MS} ms`, { cause })
  }) as Promise<LogEvents[K]>
}

describe('Log disk budget', () => {
  let dataDir: string
  const opened: Log[] = []

  async function openLog(options: Omit<LogOptionsInput, 'dataDir'> = {}): Promise<Log> {
    const log = await Log.open({ dataDir, retentionCheckIntervalMs: RETENTION_CHECK_INTERVAL_MS, ...options })
    opened.push(log)
    return log
  }

  /** Records the log's 'trimmed' and 'budget-exceeded' events. */
  function watch(log: Log): { trimmed: TrimEvent[]; exceeded: BudgetExceededEvent[] } {
    const seen = { trimmed: [] as TrimEvent[], exceeded: [] as BudgetExceededEvent[] }
    log.on('trimmed', (event) => seen.trimmed.push(event))
    log.on('budget-exceeded', (event) => seen.exceeded.push(event))
    return seen
  }

  /**
   * Writes TOTAL_BYTES of mixed classes with no budget, closes, and reopens with `diskBudgetBytes`,
   * so that enforcement starts from a known state when the test calls it.
   */
  async function fillThenReopen(diskBudgetBytes: number): Promise<{ log: Log; wave: WaveRecord[] }> {
    const writer = await openLog()
    await writer.createTopic(WAVE.topic, { partitions: WAVE.partitions, priorityClass: 'waveform' })
    await writer.createTopic(VITALS.topic, { priorityClass: 'vitals' })
    await writer.createTopic(ALARMS.topic, { priorityClass: 'alarms' })

    const first = await writer.append(WAVE.topic, {
      partition: 0,
      value: value(WAVE.valueBytes, 0),
      timestampMs: T0,
    })
    expect(first.offset).toBe(0)
    expect(writer.metrics().logBytes).toBe(WAVE_BYTES)
    const wave: WaveRecord[] = [{ i: 0, partition: 0, offset: 0, timestampMs: T0 }]
    const next = [1, 0]
    for (let i = 1; i < WAVE.count; i++) {
      const partition = i % 3 === 2 ? 1 : 0
      wave.push({ i, partition, offset: next[partition]!++, timestampMs: T0 + i * 10 })
    }
    const appended = await writer.appendBatch(
      WAVE.topic,
      wave.slice(1).map((r) => ({
        partition: r.partition,
        value: value(WAVE.valueBytes, r.i),
        timestampMs: r.timestampMs,
      })),
    )
    expect(appended).toEqual(wave.slice(1).map((r) => ({ partition: r.partition, offset: r.offset })))

    await writer.appendBatch(
      VITALS.topic,
      Array.from({ length: VITALS.count }, (_, i) => ({
        value: value(VITALS.valueBytes, i),
        timestampMs: T0 + i * 10 + 5,
      })),
    )
    await writer.appendBatch(
      ALARMS.topic,
      Array.from({ length: ALARMS.count }, (_, i) => ({
        value: value(ALARMS.valueBytes, i),
        timestampMs: T0 + i * 10 + 7,
      })),
    )
    await writer.holdFloor(HOLDER, WAVE.topic, 0, WAVE_FLOOR)
    await writer.holdFloor(HOLDER, VITALS.topic, 0, VITALS.floor)
    await writer.holdFloor(HOLDER, ALARMS.topic, 0, ALARMS.floor)
    expect(writer.metrics().logBytes).toBe(TOTAL_BYTES)
    await writer.close()

    const log = await openLog({ diskBudgetBytes })
    expect(log.metrics().logBytes).toBe(TOTAL_BYTES)
    expect(log.floor(VITALS.topic, 0)).toBe(VITALS.floor)
    return { log, wave }
  }

  /** Every retained record of a partition; checks the values are the ones written at those positions. */
  function readAll(log: Log, topic: string, partition: number) {
    const start = log.startOffset(topic, partition)
    const records = log.read(topic, partition, start, { maxRecords: 10_000 })
    expect(records.map((r) => r.offset)).toEqual(
      Array.from({ length: log.endOffset(topic, partition) - start }, (_, k) => start + k),
    )
    return records.map((r) => ({
      offset: r.offset,
      timestampMs: r.timestampMs,
      i: Buffer.from(r.value).readUInt32BE(0),
    }))
  }

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-budget-'))
  })

  afterEach(async () => {
    for (const log of opened.splice(0)) await log.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it('trims the oldest waveform records across both partitions first, counting exactly what it trimmed', async () => {
    const budget = TOTAL_BYTES - 1000 // 1000 bytes over: 8 waveform records of 130 bytes free 1040
    const { log, wave } = await fillThenReopen(budget)
    const seen = watch(log)
    const startsBefore = [0, 1].map((p) => log.startOffset(WAVE.topic, p))

    const result = await log.enforceRetention()

    // The 8 oldest by timestamp are i = 0..7: partition 0 holds i = 0,1,3,4,6,7 and partition 1 holds i = 2,5.
    const expected = [
      trimEvent({
        topic: WAVE.topic,
        partition: 0,
        toOffset: 6,
        records: 6,
        bytes: 6 * WAVE_BYTES,
        belowFloorRecords: 6 - WAVE_FLOOR,
      }),
      trimEvent({ topic: WAVE.topic, partition: 1, toOffset: 2, records: 2, bytes: 2 * WAVE_BYTES }),
    ]
    expect([...result].sort(byTopicPartition)).toEqual(expected)
    expect([...seen.trimmed].sort(byTopicPartition)).toEqual(expected)
    expect(seen.exceeded).toEqual([])

    const startsAfter = [0, 1].map((p) => log.startOffset(WAVE.topic, p))
    expect(startsAfter.map((s, p) => s - startsBefore[p]!)).toEqual([6, 2])
    const metrics = log.metrics()
    expect(metrics.trimmedRecords).toEqual({ [WAVE.topic]: 8 })
    expect(metrics.trimmedBytes).toEqual({ [WAVE.topic]: 8 * WAVE_BYTES })
    expect(metrics.logBytes).toBe(TOTAL_BYTES - 8 * WAVE_BYTES)
    expect(metrics.logBytes).toBeLessThanOrEqual(budget)

    // What is left of the waveform class is exactly its 32 newest records.
    const remaining = [0, 1].flatMap((p) => readAll(log, WAVE.topic, p))
    const newest = wave.slice(-32)
    expect(remaining.map((r) => r.timestampMs).sort((a, b) => a - b)).toEqual(
      newest.map((r) => r.timestampMs),
    )
    expect(remaining.map((r) => r.i).sort((a, b) => a - b)).toEqual(newest.map((r) => r.i))
    expect(() => log.read(WAVE.topic, 0, 0)).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }))

    // The higher classes were not needed and are whole.
    expect(readAll(log, VITALS.topic, 0).map((r) => r.i)).toEqual([...Array(VITALS.count).keys()])
    expect(readAll(log, ALARMS.topic, 0).map((r) => r.i)).toEqual([...Array(ALARMS.count).keys()])

    // Under budget now: another pass trims nothing.
    expect(await log.enforceRetention()).toEqual([])

    // The trim is durable: a reopened log starts at the same offsets and counts the same bytes.
    await log.close()
    const reopened = await openLog({ diskBudgetBytes: budget })
    expect([0, 1].map((p) => reopened.startOffset(WAVE.topic, p))).toEqual([6, 2])
    expect(reopened.metrics().logBytes).toBe(TOTAL_BYTES - 8 * WAVE_BYTES)
  })

  it('trims vitals below their floor only once the waveform class is gone, and never above it', async () => {
    // Over by all waveform bytes (5200) + 200: the 3 oldest vitals (240 bytes) go, though the floor (4) would allow one more; alarms stay.
    const budget = TOTAL_BYTES - WAVE.count * WAVE_BYTES - 200
    const { log } = await fillThenReopen(budget)
    const seen = watch(log)

    const result = await log.enforceRetention()

    const waveCounts = [27, 13] // partition 1 holds i ≡ 2 (mod 3): 13 of the 40
    const expected = [
      ...waveCounts.map((n, partition) =>
        trimEvent({
          topic: WAVE.topic,
          partition,
          toOffset: n,
          records: n,
          bytes: n * WAVE_BYTES,
          belowFloorRecords: partition === 0 ? n - WAVE_FLOOR : 0,
        }),
      ),
      trimEvent({
        topic: VITALS.topic,
        partition: 0,
        priorityClass: 'vitals',
        toOffset: 3,
        records: 3,
        bytes: 3 * VITAL_BYTES,
      }),
    ]
    expect([...result].sort(byTopicPartition)).toEqual(expected)
    expect([...seen.trimmed].sort(byTopicPartition)).toEqual(expected)
    expect(seen.exceeded).toEqual([])

    expect([0, 1].map((p) => log.startOffset(WAVE.topic, p))).toEqual(waveCounts)
    expect([0, 1].map((p) => log.read(WAVE.topic, p, log.startOffset(WAVE.topic, p)))).toEqual([[], []])
    expect(readAll(log, VITALS.topic, 0).map((r) => r.i)).toEqual([3, 4, 5, 6, 7, 8, 9])
    expect(readAll(log, ALARMS.topic, 0).map((r) => r.i)).toEqual([0, 1, 2, 3, 4, 5])
    const metrics = log.metrics()
    expect(metrics.trimmedRecords).toEqual({ [WAVE.topic]: 40, [VITALS.topic]: 3 })
    expect(metrics.trimmedBytes).toEqual({ [WAVE.topic]: 40 * WAVE_BYTES, [VITALS.topic]: 3 * VITAL_BYTES })
    expect(metrics.logBytes).toBe(TOTAL_BYTES - 40 * WAVE_BYTES - 3 * VITAL_BYTES)
    expect(metrics.logBytes).toBeLessThanOrEqual(budget)
  })

  it('stops at the floors and reports budget-exceeded, yet still accepts appends', async () => {
    const budget = 600
    const { log } = await fillThenReopen(budget)
    const seen = watch(log)

    const result = await log.enforceRetention()

    // Everything trimmable goes: all waveform, vitals up to their floor (4), alarms up to theirs (2).
    expect(result.filter((e) => e.topic !== WAVE.topic).sort(byTopicPartition)).toEqual([
      trimEvent({
        topic: ALARMS.topic,
        partition: 0,
        priorityClass: 'alarms',
        toOffset: ALARMS.floor,
        records: ALARMS.floor,
        bytes: ALARMS.floor * ALARM_BYTES,
      }),
      trimEvent({
        topic: VITALS.topic,
        partition: 0,
        priorityClass: 'vitals',
        toOffset: VITALS.floor,
        records: VITALS.floor,
        bytes: VITALS.floor * VITAL_BYTES,
      }),
    ])
    expect(result.filter((e) => e.topic === WAVE.topic).reduce((n, e) => n + e.records, 0)).toBe(WAVE.count)
    expect(seen.trimmed).toEqual(result)
    const held = (VITALS.count - VITALS.floor) * VITAL_BYTES + (ALARMS.count - ALARMS.floor) * ALARM_BYTES // 680
    expect(log.metrics().logBytes).toBe(held)
    expect(seen.exceeded).toEqual([{ logBytes: held, budgetBytes: budget }])
    expect(log.startOffset(VITALS.topic, 0)).toBe(VITALS.floor)
    expect(log.startOffset(ALARMS.topic, 0)).toBe(ALARMS.floor)

    // Good data is never refused below the hard limit: an alarm appended over budget is
    // acknowledged and readable. The log is already in the exceeded state, so the pass its commit
    // triggers does not raise the alarm again (one technical alarm, not one per commit).
    const alarm = await log.append(ALARMS.topic, {
      value: value(ALARMS.valueBytes, 100),
      timestampMs: T0 + 1000,
    })
    expect(alarm).toEqual({ partition: 0, offset: ALARMS.count })
    await log.enforceRetention() // runs after the pass the append queued
    expect(seen.exceeded).toEqual([{ logBytes: held, budgetBytes: budget }])
    expect(log.metrics().overBudget).toBe(true)
    expect(log.metrics().logBytes).toBe(held + ALARM_BYTES)
    expect(readAll(log, ALARMS.topic, 0).map((r) => r.i)).toEqual([2, 3, 4, 5, 100])

    // A waveform record is accepted too; being the lowest class it is the one the budget then takes.
    const waveTrimmed = nextEvent(log, 'trimmed')
    const sample = await log.append(WAVE.topic, {
      partition: 1,
      value: value(WAVE.valueBytes, 100),
      timestampMs: T0 + 1000,
    })
    expect(sample).toEqual({ partition: 1, offset: 13 })
    expect(await waveTrimmed).toEqual([
      trimEvent({
        topic: WAVE.topic,
        partition: 1,
        fromOffset: 13,
        toOffset: 14,
        records: 1,
        bytes: WAVE_BYTES,
      }),
    ])
    await log.enforceRetention()
    expect(seen.exceeded).toHaveLength(1)

    // Once the replicator releases the vitals, the budget can be met again, oldest vitals first.
    await log.releaseFloor(HOLDER, VITALS.topic, 0)
    const recovered = nextEvent(log, 'budget-recovered')
    const afterRelease = await log.enforceRetention()
    const over = held + ALARM_BYTES - budget // 130: two vitals records
    expect(afterRelease).toEqual([
      trimEvent({
        topic: VITALS.topic,
        partition: 0,
        priorityClass: 'vitals',
        fromOffset: VITALS.floor,
        toOffset: VITALS.floor + 2,
        records: 2,
        bytes: 2 * VITAL_BYTES,
      }),
    ])
    expect(2 * VITAL_BYTES).toBeGreaterThanOrEqual(over)
    expect(log.metrics().logBytes).toBe(held + ALARM_BYTES - 2 * VITAL_BYTES)
    expect(log.metrics().logBytes).toBeLessThanOrEqual(budget)
    expect(await recovered).toEqual([{ logBytes: log.metrics().logBytes, budgetBytes: budget }])
    expect(log.metrics().overBudget).toBe(false)
  })

  it('enforces the budget on its own after an append takes the log over it', async () => {
    const vitals = 5
    const budget = vitals * VITAL_BYTES + 10 * WAVE_BYTES
    const log = await openLog({ diskBudgetBytes: budget })
    const seen = watch(log)
    await log.createTopic(WAVE.topic, { priorityClass: 'waveform' })
    await log.createTopic(VITALS.topic, { priorityClass: 'vitals' })
    for (let i = 0; i < vitals; i++) {
      await log.append(VITALS.topic, { value: value(VITALS.valueBytes, i), timestampMs: T0 + i })
    }
    for (let i = 0; i < 10; i++) {
      await log.append(WAVE.topic, { value: value(WAVE.valueBytes, i), timestampMs: T0 + 100 + i })
    }
    // Exactly at the budget is within it: nothing was trimmed (enforceRetention queues behind any background pass).
    expect(log.metrics().logBytes).toBe(budget)
    expect(await log.enforceRetention()).toEqual([])
    expect(seen.trimmed).toEqual([])

    const trimmed = nextEvent(log, 'trimmed')
    const appended = await log.appendBatch(
      WAVE.topic,
      [10, 11, 12].map((i) => ({ value: value(WAVE.valueBytes, i), timestampMs: T0 + 100 + i })),
    )
    expect(appended.map((r) => r.offset)).toEqual([10, 11, 12])
    expect(await trimmed).toEqual([
      trimEvent({ topic: WAVE.topic, partition: 0, toOffset: 3, records: 3, bytes: 3 * WAVE_BYTES }),
    ])
    await log.enforceRetention() // waits for the background pass to finish
    expect(seen.trimmed).toHaveLength(1)
    expect(seen.exceeded).toEqual([])
    expect(log.startOffset(WAVE.topic, 0)).toBe(3)
    expect(log.startOffset(VITALS.topic, 0)).toBe(0)
    expect(log.metrics()).toMatchObject({
      logBytes: budget,
      trimmedRecords: { [WAVE.topic]: 3 },
      trimmedBytes: { [WAVE.topic]: 3 * WAVE_BYTES },
    })
    expect(readAll(log, WAVE.topic, 0).map((r) => r.i)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
  })

  it('keeps a steadily appended waveform log within budget, never reporting it exceeded', async () => {
    // A sensor loop awaiting each append: every commit past the 20th takes the log over budget, and
    // everything in it is trimmable (lowest class, no floors), so budget-exceeded has no reason to fire.
    const budget = 20 * WAVE_BYTES
    const log = await openLog({ diskBudgetBytes: budget })
    const seen = watch(log)
    await log.createTopic(WAVE.topic, { priorityClass: 'waveform' })
    for (let i = 0; i < 40; i++) {
      await log.append(WAVE.topic, { value: value(WAVE.valueBytes, i), timestampMs: T0 + i })
    }
    await log.close() // waits for the background pass of the last commit

    expect.soft(seen.exceeded, 'budget-exceeded while waveform records were trimmable').toEqual([])
    const trimmedRecords = seen.trimmed.reduce((n, e) => n + e.records, 0)
    const reopened = await openLog({ diskBudgetBytes: budget })
    expect(reopened.startOffset(WAVE.topic, 0)).toBe(trimmedRecords)
    expect(reopened.metrics().logBytes).toBe((40 - trimmedRecords) * WAVE_BYTES)
    expect(reopened.metrics().logBytes).toBeLessThanOrEqual(budget)
  })
})
