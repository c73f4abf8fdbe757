import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { Log, LogError, partitionForKey, type LogRecord, type TrimEvent } from '../../src/log/index.ts'
import { useTempLogs } from './fixtures/temp-logs.ts'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b))
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

/**
 * A record with a null key, no headers and a value of `n` bytes is stored as
 * 14 (record header) + n + 16 (per-record overhead) bytes, so a 70-byte value counts 100 bytes.
 */
const VALUE_FOR_100_BYTES = 70

const { tempDir, openLog } = useTempLogs('vigil-log-')

/** A manual clock: tests move time; nothing waits for it. */
function manualClock(startMs: number): { now: number; clock: () => number } {
  const state = { now: startMs, clock: () => state.now }
  return state
}

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn()
  } catch (error) {
    return error instanceof LogError ? error.code : `not a LogError: ${String(error)}`
  }
  return 'no error'
}

function values(records: LogRecord[]): (string | null)[] {
  return records.map((r) => text(r.value))
}

function offsets(records: LogRecord[]): number[] {
  return records.map((r) => r.offset)
}

describe('topics', () => {
  it('creates a topic with defaults and lists it', async () => {
    const log = await openLog(tempDir())
    const info = await log.createTopic('ecg.raw', { partitions: 3, priorityClass: 'waveform' })
    expect(info).toEqual({
      name: 'ecg.raw',
      config: {
        partitions: 3,
        priorityClass: 'waveform',
        retentionMs: null,
        retentionBytes: null,
        timestampType: 'CreateTime',
      },
    })
    expect(log.topics()).toEqual([info])
    expect(log.endOffset('ecg.raw', 2)).toBe(0)
  })

  it('ensureTopic creates a missing topic and keeps an existing one as it is', async () => {
    const log = await openLog(tempDir())
    const created = await log.ensureTopic('vitals', { partitions: 2 })
    expect(created.config.partitions).toBe(2)
    const again = await log.ensureTopic('vitals', { partitions: 5, retentionMs: 1000 })
    expect(again.config.partitions).toBe(2)
    expect(again.config.retentionMs).toBeNull()
    expect(log.topics().map((t) => t.name)).toEqual(['vitals'])
  })

  it('refuses to create a topic twice', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('vitals')
    expect(await codeOf(() => log.createTopic('vitals'))).toBe('TOPIC_EXISTS')
  })

  it('keeps topics and their config across close and reopen', async () => {
    const dir = tempDir()
    const first = await openLog(dir)
    await first.createTopic('a', { partitions: 2, retentionMs: 60_000, timestampType: 'LogAppendTime' })
    await first.createTopic('b', { priorityClass: 'alarms', retentionBytes: 4096 })
    await first.close()
    const second = await openLog(dir)
    expect(second.topics()).toEqual([
      {
        name: 'a',
        config: {
          partitions: 2,
          priorityClass: 'vitals',
          retentionMs: 60_000,
          retentionBytes: null,
          timestampType: 'LogAppendTime',
        },
      },
      {
        name: 'b',
        config: {
          partitions: 1,
          priorityClass: 'alarms',
          retentionMs: null,
          retentionBytes: 4096,
          timestampType: 'CreateTime',
        },
      },
    ])
  })
})

describe('append', () => {
  it('assigns dense offsets per partition', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t', { partitions: 3 })
    const results = []
    for (const partition of [0, 1, 0, 2, 0, 1]) {
      results.push(await log.append('t', { value: utf8(`p${partition}`), partition }))
    }
    expect(results).toEqual([
      { partition: 0, offset: 0 },
      { partition: 1, offset: 0 },
      { partition: 0, offset: 1 },
      { partition: 2, offset: 0 },
      { partition: 0, offset: 2 },
      { partition: 1, offset: 1 },
    ])
    expect([0, 1, 2].map((p) => log.endOffset('t', p))).toEqual([3, 2, 1])
    expect(offsets(log.read('t', 0, 0))).toEqual([0, 1, 2])
  })

  it('appends a batch contiguously and resolves each record’s offset in order', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    await log.append('t', { value: utf8('first') })
    const results = await log.appendBatch('t', [
      { value: utf8('a') },
      { value: utf8('b') },
      { value: utf8('c') },
    ])
    expect(results).toEqual([
      { partition: 0, offset: 1 },
      { partition: 0, offset: 2 },
      { partition: 0, offset: 3 },
    ])
    expect(values(log.read('t', 0, 0))).toEqual(['first', 'a', 'b', 'c'])
    expect(await log.appendBatch('t', [])).toEqual([])
    expect(log.endOffset('t', 0)).toBe(4)
  })

  it('puts a keyed record in partitionForKey(key, partitions), as Kafka does', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t', { partitions: 4 })
    // murmur2("foobar") = -790332482 → toPositive 1357151166 → % 4 = 2
    expect(await log.append('t', { key: utf8('foobar'), value: utf8('v') })).toEqual({
      partition: 2,
      offset: 0,
    })
    for (const id of ['patient-1', 'patient-2', 'patient-3', 'bed-12', '21']) {
      const key = utf8(id)
      const { partition } = await log.append('t', { key, value: utf8(id) })
      expect(partition, id).toBe(partitionForKey(key, 4))
    }
    // The same key always lands in the same partition.
    expect((await log.append('t', { key: utf8('foobar'), value: utf8('w') })).partition).toBe(2)
    expect(values(log.read('t', 2, 0)).slice(0, 1)).toEqual(['v'])
    expect(text(log.read('t', 2, 0)[0]!.key)).toBe('foobar')
  })

  it('puts every keyed record of a one-partition topic in partition 0', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    for (const id of ['foobar', 'patient-2', '21']) {
      expect((await log.append('t', { key: utf8(id), value: utf8(id) })).partition).toBe(0)
    }
  })

  it('an explicit partition overrides the key', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t', { partitions: 4 })
    expect(await log.append('t', { key: utf8('foobar'), value: utf8('v'), partition: 1 })).toEqual({
      partition: 1,
      offset: 0,
    })
    expect(text(log.read('t', 1, 0)[0]!.key)).toBe('foobar')
  })

  it('spreads null-key records round-robin over all partitions', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t', { partitions: 3 })
    const results = await log.appendBatch(
      't',
      ['a', 'b', 'c', 'd', 'e', 'f'].map((v) => ({ value: utf8(v) })),
    )
    const partitions = results.map((r) => r.partition)
    expect(new Set(partitions.slice(0, 3))).toEqual(new Set([0, 1, 2]))
    expect(partitions.slice(3)).toEqual(partitions.slice(0, 3))
    const single = await log.append('t', { key: null, value: utf8('g') })
    expect(single.partition).toBe(partitions[0])
    expect([0, 1, 2].map((p) => log.endOffset('t', p)).sort()).toEqual([2, 2, 3])
  })

  it('keeps the producer’s timestamp (CreateTime) and defaults it to the clock', async () => {
    const time = manualClock(1_700_000_000_000)
    const log = await openLog(tempDir(), { clock: time.clock })
    await log.createTopic('t')
    await log.append('t', { value: utf8('a'), timestampMs: 1234 })
    time.now = 1_700_000_000_500
    await log.append('t', { value: utf8('b') })
    expect(log.read('t', 0, 0).map((r) => r.timestampMs)).toEqual([1234, 1_700_000_000_500])
  })

  it('stamps records with the injected clock on a LogAppendTime topic', async () => {
    const time = manualClock(5_000)
    const log = await openLog(tempDir(), { clock: time.clock })
    await log.createTopic('t', { timestampType: 'LogAppendTime' })
    await log.append('t', { value: utf8('a'), timestampMs: 1 })
    time.now = 6_000
    await log.appendBatch('t', [{ value: utf8('b'), timestampMs: 2 }, { value: utf8('c') }])
    expect(log.read('t', 0, 0).map((r) => r.timestampMs)).toEqual([5_000, 6_000, 6_000])
  })

  it('reads back key, value and headers as appended', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    await log.append('t', {
      key: utf8('patient-7'),
      value: bytes(1, 2, 3),
      timestampMs: 42,
      headers: { 'content-type': utf8('ecg/int16'), ü: bytes() },
    })
    await log.append('t', { key: null, value: bytes() })
    const [first, second] = log.read('t', 0, 0)
    expect(first).toMatchObject({ topic: 't', partition: 0, offset: 0, timestampMs: 42 })
    expect(text(first!.key)).toBe('patient-7')
    expect([...first!.value]).toEqual([1, 2, 3])
    expect(Object.keys(first!.headers)).toEqual(['content-type', 'ü'])
    expect(text(first!.headers['content-type']!)).toBe('ecg/int16')
    expect(first!.headers['ü']!.length).toBe(0)
    expect(second).toMatchObject({ offset: 1, key: null, headers: {} })
    expect(second!.value.length).toBe(0)
  })
})

describe('group commit', () => {
  it('commits appends fired in one tick together, with dense offsets', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t', { partitions: 2 })
    const before = log.metrics().commits
    const pending = []
    for (let i = 0; i < 50; i++) pending.push(log.append('t', { value: utf8(`r${i}`), partition: i % 2 }))
    const results = await Promise.all(pending)
    const commits = log.metrics().commits - before
    expect(commits).toBeGreaterThanOrEqual(1)
    expect(commits).toBeLessThan(50)
    expect(results.filter((r) => r.partition === 0).map((r) => r.offset)).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    )
    expect(values(log.read('t', 1, 0))).toEqual(Array.from({ length: 25 }, (_, i) => `r${2 * i + 1}`))
  })
})

describe('metrics', () => {
  it('counts appended records, stored bytes and commits', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    expect(log.metrics()).toMatchObject({ appendedRecords: 0, appendedBytes: 0, commits: 0, logBytes: 0 })
    await log.append('t', { value: new Uint8Array(VALUE_FOR_100_BYTES) })
    await log.appendBatch('t', [
      { value: new Uint8Array(VALUE_FOR_100_BYTES) },
      { value: new Uint8Array(VALUE_FOR_100_BYTES) },
    ])
    // 14 + 1 ("k") + 5 + 2 + 1 ("h") + 4 + 2 = 29 bytes encoded, + 16
    await log.append('t', { key: utf8('k'), value: new Uint8Array(5), headers: { h: bytes(1, 2) } })
    const metrics = log.metrics()
    expect(metrics.appendedRecords).toBe(4)
    expect(metrics.appendedBytes).toBe(345)
    expect(metrics.logBytes).toBe(345)
    expect(metrics.commits).toBe(3)
    expect(metrics.flushLatency.count).toBe(3)
    expect(metrics.rejectedAppends).toEqual({})
    expect(metrics.trimmedRecords).toEqual({})
    expect(metrics.fileBytes).toBeGreaterThan(0)
  })

  it('keeps logBytes across reopen', async () => {
    const dir = tempDir()
    const first = await openLog(dir)
    await first.createTopic('t')
    await first.appendBatch('t', [
      { value: new Uint8Array(VALUE_FOR_100_BYTES) },
      { value: new Uint8Array(VALUE_FOR_100_BYTES) },
    ])
    await first.close()
    const second = await openLog(dir)
    expect(second.metrics().logBytes).toBe(200)
  })
})

describe('read', () => {
  async function logWith100ByteRecords(count: number): Promise<Log> {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    await log.appendBatch(
      't',
      Array.from({ length: count }, (_, i) => ({ value: new Uint8Array(VALUE_FOR_100_BYTES).fill(i) })),
    )
    return log
  }

  it('reads from an offset, at most maxRecords', async () => {
    const log = await logWith100ByteRecords(10)
    expect(offsets(log.read('t', 0, 0))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(offsets(log.read('t', 0, 4, { maxRecords: 3 }))).toEqual([4, 5, 6])
    expect(offsets(log.read('t', 0, 8, { maxRecords: 3 }))).toEqual([8, 9])
    expect(log.read('t', 0, 10)).toEqual([])
  })

  it('stops before maxBytes of stored bytes', async () => {
    const log = await logWith100ByteRecords(10)
    expect(offsets(log.read('t', 0, 0, { maxBytes: 250 }))).toEqual([0, 1])
    expect(offsets(log.read('t', 0, 0, { maxBytes: 300 }))).toEqual([0, 1, 2])
    expect(offsets(log.read('t', 0, 5, { maxBytes: 299 }))).toEqual([5, 6])
  })

  it('returns at least one record even if it is bigger than maxBytes', async () => {
    const log = await logWith100ByteRecords(3)
    expect(offsets(log.read('t', 0, 1, { maxBytes: 1 }))).toEqual([1])
    expect(offsets(log.read('t', 0, 0, { maxBytes: 0 }))).toEqual([0])
  })

  it('gives every record of one read its own bytes', async () => {
    const log = await logWith100ByteRecords(5)
    const records = log.read('t', 0, 0)
    expect(records.map((r) => [r.value.length, r.value[0], r.value[69]])).toEqual([
      [70, 0, 0],
      [70, 1, 1],
      [70, 2, 2],
      [70, 3, 3],
      [70, 4, 4],
    ])
  })
})

describe('offsetForTimestamp', () => {
  // 40 records with non-monotonic timestamps: a rising trend with dips.
  const TIMESTAMPS = Array.from(
    { length: 40 },
    (_, i) => 1000 + i * 100 + (i % 3 === 1 ? -250 : 0) + (i % 7 === 3 ? 400 : 0),
  )

  /** Kafka's offsetsForTimes: the first offset (in offset order) whose timestamp is ≥ the target. */
  function expected(target: number): number | null {
    const index = TIMESTAMPS.findIndex((ts) => ts >= target)
    return index === -1 ? null : index
  }

  it.each([0, 64, 4096])(
    'finds the earliest offset at or after a time (timeIndexIntervalBytes %i)',
    async (interval) => {
      const dir = tempDir()
      const log = await openLog(dir, { timeIndexIntervalBytes: interval })
      await log.createTopic('t')
      for (const timestampMs of TIMESTAMPS)
        await log.append('t', { value: utf8('x'.repeat(20)), timestampMs })
      expect(TIMESTAMPS.slice(0, 8)).toEqual([1000, 850, 1200, 1700, 1150, 1500, 1600, 1450])
      expect(TIMESTAMPS.slice(36)).toEqual([4600, 4450, 5200, 4900])
      expect(log.offsetForTimestamp('t', 0, 0)).toBe(0)
      expect(log.offsetForTimestamp('t', 0, 1000)).toBe(0)
      expect(log.offsetForTimestamp('t', 0, 1001)).toBe(2)
      expect(log.offsetForTimestamp('t', 0, 1650)).toBe(3)
      expect(log.offsetForTimestamp('t', 0, 1701)).toBe(8)
      expect(log.offsetForTimestamp('t', 0, 3050)).toBe(17)
      expect(log.offsetForTimestamp('t', 0, 4901)).toBe(38)
      expect(log.offsetForTimestamp('t', 0, 5200)).toBe(38)
      expect(log.offsetForTimestamp('t', 0, 5201)).toBeNull()
      for (let target = 800; target <= 5000; target += 25) {
        expect(log.offsetForTimestamp('t', 0, target), `target ${target}`).toBe(expected(target))
      }
      await log.close()
      const reopened = await openLog(dir, { timeIndexIntervalBytes: interval })
      for (let target = 800; target <= 5000; target += 25) {
        expect(reopened.offsetForTimestamp('t', 0, target), `after reopen, target ${target}`).toBe(
          expected(target),
        )
      }
    },
  )

  it('handles monotonic timestamps with a sparse index', async () => {
    const log = await openLog(tempDir(), { timeIndexIntervalBytes: 64 })
    await log.createTopic('t')
    await log.appendBatch(
      't',
      Array.from({ length: 30 }, (_, i) => ({ value: utf8('v'), timestampMs: 10_000 + i * 10 })),
    )
    expect(log.offsetForTimestamp('t', 0, 9_999)).toBe(0)
    expect(log.offsetForTimestamp('t', 0, 10_000)).toBe(0)
    expect(log.offsetForTimestamp('t', 0, 10_001)).toBe(1)
    expect(log.offsetForTimestamp('t', 0, 10_155)).toBe(16)
    expect(log.offsetForTimestamp('t', 0, 10_290)).toBe(29)
    expect(log.offsetForTimestamp('t', 0, 10_291)).toBeNull()
    expect(log.offsetForTimestamp('t', 0, -5)).toBe(0)
  })

  it('returns null on an empty partition', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    expect(log.offsetForTimestamp('t', 0, 0)).toBeNull()
  })

  it('returns null for a target beyond every timestamp, however large', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    await log.append('t', { value: utf8('v'), timestampMs: 1000 })
    expect(log.offsetForTimestamp('t', 0, Number.MAX_SAFE_INTEGER)).toBeNull()
    expect(log.offsetForTimestamp('t', 0, 1e20)).toBeNull()
    expect(log.offsetForTimestamp('t', 0, Number.MAX_VALUE)).toBeNull()
  })
})

describe('persistence', () => {
  it('keeps records across close and reopen and continues offsets densely', async () => {
    const dir = tempDir()
    const first = await openLog(dir)
    await first.createTopic('t', { partitions: 2 })
    await first.appendBatch('t', [
      { value: utf8('a'), partition: 0 },
      { value: utf8('b'), partition: 0 },
      { value: utf8('c'), partition: 1 },
    ])
    await first.close()
    expect(first.closed).toBe(true)
    const second = await openLog(dir)
    expect(values(second.read('t', 0, 0))).toEqual(['a', 'b'])
    expect(values(second.read('t', 1, 0))).toEqual(['c'])
    expect(await second.append('t', { value: utf8('d'), partition: 0 })).toEqual({ partition: 0, offset: 2 })
    expect(await second.append('t', { value: utf8('e'), partition: 1 })).toEqual({ partition: 1, offset: 1 })
    await second.close()
    const third = await openLog(dir)
    expect(values(third.read('t', 0, 0))).toEqual(['a', 'b', 'd'])
    expect(values(third.read('t', 1, 0))).toEqual(['c', 'e'])
    expect(third.startOffset('t', 0)).toBe(0)
    expect(third.endOffset('t', 0)).toBe(3)
  })

  it('makes appends made just before close durable', async () => {
    const dir = tempDir()
    const first = await openLog(dir)
    await first.createTopic('t')
    const pending = [first.append('t', { value: utf8('a') }), first.append('t', { value: utf8('b') })]
    await first.close()
    expect(await Promise.all(pending)).toEqual([
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
    ])
    const second = await openLog(dir)
    expect(values(second.read('t', 0, 0))).toEqual(['a', 'b'])
  })

  it('commits and fetches consumer offsets, across reopen', async () => {
    const dir = tempDir()
    const time = manualClock(1_000)
    const first = await openLog(dir, { clock: time.clock })
    await first.createTopic('t', { partitions: 2 })
    await first.appendBatch('t', [
      { value: utf8('a'), partition: 0 },
      { value: utf8('b'), partition: 0 },
      { value: utf8('c'), partition: 1 },
    ])
    expect(first.fetchOffset('uploader', 't', 0)).toBeUndefined()
    await first.commitOffset('uploader', 't', 0, 1, 'batch-17')
    time.now = 2_000
    await first.commitOffset('uploader', 't', 0, 2)
    await first.commitOffset('uploader', 't', 1, 1, 'm')
    await first.commitOffset('alarms', 't', 0, 0)
    expect(first.fetchOffset('uploader', 't', 0)).toEqual({ offset: 2, metadata: '', committedAtMs: 2_000 })
    await first.close()
    const second = await openLog(dir)
    expect(second.fetchOffset('uploader', 't', 0)).toEqual({ offset: 2, metadata: '', committedAtMs: 2_000 })
    expect(second.fetchOffset('uploader', 't', 1)).toEqual({ offset: 1, metadata: 'm', committedAtMs: 2_000 })
    expect(second.fetchOffset('alarms', 't', 0)).toEqual({ offset: 0, metadata: '', committedAtMs: 2_000 })
    expect(second.fetchOffset('alarms', 't', 1)).toBeUndefined()
  })

  it('holds and releases floors (the lowest holder wins), across reopen', async () => {
    const dir = tempDir()
    const first = await openLog(dir)
    await first.createTopic('t', { partitions: 2 })
    expect(first.floor('t', 0)).toBeUndefined()
    await first.holdFloor('replicator', 't', 0, 5)
    await first.holdFloor('exporter', 't', 0, 3)
    await first.holdFloor('replicator', 't', 1, 7)
    expect(first.floor('t', 0)).toBe(3)
    expect(first.floor('t', 1)).toBe(7)
    await first.close()
    const second = await openLog(dir)
    expect(second.floor('t', 0)).toBe(3)
    expect(second.floor('t', 1)).toBe(7)
    await second.releaseFloor('exporter', 't', 0)
    expect(second.floor('t', 0)).toBe(5)
    await second.holdFloor('replicator', 't', 1, 9)
    await second.close()
    const third = await openLog(dir)
    expect(third.floor('t', 0)).toBe(5)
    expect(third.floor('t', 1)).toBe(9)
    await third.releaseFloor('replicator', 't', 0)
    expect(third.floor('t', 0)).toBeUndefined()
  })
})

describe('subscribe', () => {
  /** Resolves the next record or 'done'. */
  async function nextOf(iterator: AsyncIterator<LogRecord>): Promise<string | null> {
    const result = await iterator.next()
    return result.done === true ? 'done' : text(result.value.value)
  }

  async function logWith(...records: string[]): Promise<Log> {
    const log = await openLog(tempDir())
    await log.createTopic('t', { partitions: 2 })
    for (const value of records) await log.append('t', { value: utf8(value), partition: 0 })
    return log
  }

  it('yields existing records, then waits for new appends', async () => {
    const log = await logWith('a', 'b')
    const subscription = log.subscribe('t', 0)
    expect(await nextOf(subscription)).toBe('a')
    expect(await nextOf(subscription)).toBe('b')
    let settled = false
    const pending = nextOf(subscription).finally(() => (settled = true))
    // An append to another partition does not wake it.
    await log.append('t', { value: utf8('other'), partition: 1 })
    expect(settled).toBe(false)
    await log.append('t', { value: utf8('c'), partition: 0 })
    expect(await pending).toBe('c')
    expect(subscription.position).toBe(3)
    await subscription.close()
  })

  it('yields appends of one commit in order', async () => {
    const log = await logWith()
    const subscription = log.subscribe('t', 0)
    const first = subscription.next()
    await log.appendBatch('t', [
      { value: utf8('x'), partition: 0 },
      { value: utf8('y'), partition: 0 },
      { value: utf8('z'), partition: 0 },
    ])
    const seen: (string | null)[] = []
    const head = await first
    if (head.done !== true) seen.push(text(head.value.value))
    for await (const record of subscription) {
      seen.push(text(record.value))
      if (seen.length === 3) break
    }
    expect(seen).toEqual(['x', 'y', 'z'])
  })

  it("starts after the existing records with fromOffset 'latest'", async () => {
    const log = await logWith('a', 'b')
    const subscription = log.subscribe('t', 0, { fromOffset: 'latest' })
    expect(subscription.position).toBe(2)
    const pending = nextOf(subscription)
    await log.append('t', { value: utf8('c'), partition: 0 })
    expect(await pending).toBe('c')
    await subscription.close()
  })

  it('starts at a given offset', async () => {
    const log = await logWith('a', 'b', 'c')
    const subscription = log.subscribe('t', 0, { fromOffset: 1 })
    expect(await nextOf(subscription)).toBe('b')
    expect(await nextOf(subscription)).toBe('c')
    await subscription.close()
  })

  it('ends on close(), also while it waits', async () => {
    const log = await logWith('a')
    const subscription = log.subscribe('t', 0)
    expect(await nextOf(subscription)).toBe('a')
    const pending = nextOf(subscription)
    await subscription.close()
    expect(await pending).toBe('done')
    expect(await nextOf(subscription)).toBe('done')
    // appends after close are not delivered
    await log.append('t', { value: utf8('b'), partition: 0 })
    expect(await nextOf(subscription)).toBe('done')
  })

  it('ends when its AbortSignal aborts, also while it waits', async () => {
    const log = await logWith('a')
    const controller = new AbortController()
    const subscription = log.subscribe('t', 0, { signal: controller.signal })
    expect(await nextOf(subscription)).toBe('a')
    const pending = nextOf(subscription)
    controller.abort()
    expect(await pending).toBe('done')
  })

  it('yields nothing when its AbortSignal is already aborted', async () => {
    const log = await logWith('a')
    const subscription = log.subscribe('t', 0, { signal: AbortSignal.abort() })
    expect(await nextOf(subscription)).toBe('done')
  })

  it('ends when an `await using` block exits', async () => {
    const log = await logWith('a')
    const escaped: AsyncIterator<LogRecord>[] = []
    const pending: Promise<string | null>[] = []
    {
      await using subscription = log.subscribe('t', 0)
      escaped.push(subscription)
      expect(await nextOf(subscription)).toBe('a')
      pending.push(nextOf(subscription))
    }
    expect(await pending[0]).toBe('done')
    expect(await nextOf(escaped[0]!)).toBe('done')
  })

  it('ends when the log closes, also while it waits', async () => {
    const log = await logWith('a')
    const subscription = log.subscribe('t', 0)
    expect(await nextOf(subscription)).toBe('a')
    const pending = nextOf(subscription)
    await log.close()
    expect(await pending).toBe('done')
    expect(await nextOf(subscription)).toBe('done')
  })

  it('ends a for-await loop on break', async () => {
    const log = await logWith('a', 'b', 'c')
    const subscription = log.subscribe('t', 0)
    const seen: (string | null)[] = []
    for await (const record of subscription) {
      seen.push(text(record.value))
      if (record.offset === 1) break
    }
    expect(seen).toEqual(['a', 'b'])
    expect(await nextOf(subscription)).toBe('done')
  })
})

describe('retention', () => {
  function collectTrimmed(log: Log): TrimEvent[] {
    const seen: TrimEvent[] = []
    log.on('trimmed', (event) => seen.push(event))
    return seen
  }

  it('trims records older than retentionMs by the injected clock', async () => {
    const time = manualClock(10_000)
    const log = await openLog(tempDir(), { clock: time.clock, timeIndexIntervalBytes: 0 })
    await log.createTopic('t', { retentionMs: 1_000 })
    for (const timestampMs of [8_000, 8_500, 9_000, 9_500, 10_000]) {
      await log.append('t', { value: new Uint8Array(VALUE_FOR_100_BYTES), timestampMs })
    }
    const emitted = collectTrimmed(log)
    const events = await log.enforceRetention()
    const expected: TrimEvent = {
      topic: 't',
      partition: 0,
      priorityClass: 'vitals',
      fromOffset: 0,
      toOffset: 2,
      records: 2,
      bytes: 200,
      reason: 'retention-time',
      belowFloorRecords: 0,
    }
    expect(events).toEqual([expected])
    expect(emitted).toEqual([expected])
    expect(log.startOffset('t', 0)).toBe(2)
    expect(log.endOffset('t', 0)).toBe(5)
    expect(offsets(log.read('t', 0, 2))).toEqual([2, 3, 4])
    expect(await codeOf(() => log.read('t', 0, 0))).toBe('OFFSET_OUT_OF_RANGE')
    expect(await codeOf(() => log.read('t', 0, 1))).toBe('OFFSET_OUT_OF_RANGE')
    expect(log.metrics()).toMatchObject({ logBytes: 300, trimmedRecords: { t: 2 }, trimmedBytes: { t: 200 } })
    // time lookups never point below the new start
    expect(log.offsetForTimestamp('t', 0, 0)).toBe(2)
    expect(log.offsetForTimestamp('t', 0, 9_400)).toBe(3)
    expect(await log.enforceRetention()).toEqual([])

    time.now = 20_000
    const rest = await log.enforceRetention()
    expect(rest.map((e) => [e.fromOffset, e.toOffset, e.records])).toEqual([[2, 5, 3]])
    expect(log.startOffset('t', 0)).toBe(5)
    expect(log.read('t', 0, 5)).toEqual([])
    expect(await log.append('t', { value: utf8('new'), timestampMs: 20_000 })).toEqual({
      partition: 0,
      offset: 5,
    })
  })

  it('trims the oldest records until a partition is within retentionBytes', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t', { partitions: 2, retentionBytes: 250 })
    await log.appendBatch(
      't',
      Array.from({ length: 5 }, () => ({ value: new Uint8Array(VALUE_FOR_100_BYTES), partition: 0 })),
    )
    await log.appendBatch('t', [
      { value: new Uint8Array(VALUE_FOR_100_BYTES), partition: 1 },
      { value: new Uint8Array(VALUE_FOR_100_BYTES), partition: 1 },
    ])
    const emitted = collectTrimmed(log)
    const events = await log.enforceRetention()
    const expected: TrimEvent = {
      topic: 't',
      partition: 0,
      priorityClass: 'vitals',
      fromOffset: 0,
      toOffset: 3,
      records: 3,
      bytes: 300,
      reason: 'retention-bytes',
      belowFloorRecords: 0,
    }
    expect(events).toEqual([expected])
    expect(emitted).toEqual([expected])
    expect(log.startOffset('t', 0)).toBe(3)
    expect(log.startOffset('t', 1)).toBe(0)
    expect(log.metrics().logBytes).toBe(400)
    expect(await codeOf(() => log.read('t', 0, 2))).toBe('OFFSET_OUT_OF_RANGE')
    expect(offsets(log.read('t', 0, 3))).toEqual([3, 4])
  })

  it('never trims at or above a floor, and trims on once the floor is released', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t', { retentionBytes: 250 })
    await log.appendBatch(
      't',
      Array.from({ length: 5 }, () => ({ value: new Uint8Array(VALUE_FOR_100_BYTES) })),
    )
    await log.holdFloor('replicator', 't', 0, 1)
    expect((await log.enforceRetention()).map((e) => [e.fromOffset, e.toOffset, e.records])).toEqual([
      [0, 1, 1],
    ])
    expect(log.startOffset('t', 0)).toBe(1)
    expect(await log.enforceRetention()).toEqual([])
    await log.holdFloor('replicator', 't', 0, 2)
    expect((await log.enforceRetention()).map((e) => [e.fromOffset, e.toOffset, e.records])).toEqual([
      [1, 2, 1],
    ])
    await log.releaseFloor('replicator', 't', 0)
    expect((await log.enforceRetention()).map((e) => [e.fromOffset, e.toOffset, e.records])).toEqual([
      [2, 3, 1],
    ])
    expect(log.startOffset('t', 0)).toBe(3)
    expect(log.metrics().logBytes).toBe(200)
  })

  it('respects a floor for time retention too', async () => {
    const time = manualClock(100_000)
    const log = await openLog(tempDir(), { clock: time.clock })
    await log.createTopic('t', { retentionMs: 10 })
    await log.appendBatch(
      't',
      [1, 2, 3, 4].map((timestampMs) => ({ value: utf8('v'), timestampMs })),
    )
    await log.holdFloor('replicator', 't', 0, 2)
    const events = await log.enforceRetention()
    expect(events.map((e) => [e.reason, e.fromOffset, e.toOffset, e.records])).toEqual([
      ['retention-time', 0, 2, 2],
    ])
    expect(log.startOffset('t', 0)).toBe(2)
  })

  it('keeps the trimmed start across reopen and appends on densely', async () => {
    const dir = tempDir()
    const first = await openLog(dir)
    await first.createTopic('t', { retentionBytes: 100 })
    await first.appendBatch(
      't',
      Array.from({ length: 4 }, () => ({ value: new Uint8Array(VALUE_FOR_100_BYTES) })),
    )
    expect((await first.enforceRetention()).map((e) => e.records)).toEqual([3])
    await first.close()
    const second = await openLog(dir)
    expect(second.startOffset('t', 0)).toBe(3)
    expect(second.endOffset('t', 0)).toBe(4)
    expect(second.metrics().logBytes).toBe(100)
    expect(await codeOf(() => second.read('t', 0, 2))).toBe('OFFSET_OUT_OF_RANGE')
    expect(await second.append('t', { value: utf8('x') })).toEqual({ partition: 0, offset: 4 })
    expect(offsets(second.read('t', 0, 3))).toEqual([3, 4])
  })

  it('ends a subscription whose position was trimmed with OFFSET_OUT_OF_RANGE', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t', { retentionBytes: 100 })
    await log.appendBatch('t', [
      { value: new Uint8Array(VALUE_FOR_100_BYTES) },
      { value: new Uint8Array(VALUE_FOR_100_BYTES) },
      { value: new Uint8Array(VALUE_FOR_100_BYTES) },
    ])
    const subscription = log.subscribe('t', 0, { fromOffset: 0, batchSize: 1 })
    await subscription.next()
    await log.enforceRetention()
    expect(await codeOf(() => subscription.next())).toBe('OFFSET_OUT_OF_RANGE')
    await subscription.close()
  })
})

describe('directory lock', () => {
  it('takes over a stale lock left by a dead process', async () => {
    const dir = tempDir()
    const first = await openLog(dir)
    await first.createTopic('t')
    await first.close()
    // pid 2^22 + 1 is above Linux's pid_max limit, so no process has it.
    writeFileSync(join(dir, 'LOCK'), String(4194305))
    const second = await openLog(dir)
    expect(second.topics().map((t) => t.name)).toEqual(['t'])
  })

  /** A lock file as a running process would have written it: pid, boot id and its start time. */
  function lockOf(pid: number, overrides: { startTime?: string; bootId?: string } = {}): string {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return JSON.stringify({
      pid,
      bootId: overrides.bootId ?? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
      startTime: overrides.startTime ?? stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19],
    })
  }

  it('takes over a lock whose pid now belongs to another process (pid reuse after a crash)', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'LOCK'), lockOf(process.ppid, { startTime: '1' }))
    const log = await openLog(dir)
    expect(log.closed).toBe(false)
  })

  it('takes over a lock written before a reboot', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'LOCK'), lockOf(process.ppid, { bootId: '00000000-0000-0000-0000-000000000000' }))
    const log = await openLog(dir)
    expect(log.closed).toBe(false)
  })

  it('refuses a directory locked by another live process (LOG_LOCKED, retriable)', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'LOCK'), lockOf(process.ppid))
    try {
      await openLog(dir)
      expect.unreachable('opened a directory locked by a live process')
    } catch (error) {
      expect(error).toBeInstanceOf(LogError)
      expect((error as LogError).code).toBe('LOG_LOCKED')
      expect((error as LogError).retriable).toBe(true)
    }
  })
})

/*
 * Encryption runs in a child process: lmdb-js aborts the whole process (a native
 * napi_throw) on some bad encryption inputs, and that must fail these tests, not kill the runner.
 */
describe('encryption', () => {
  const indexUrl = new URL('../../src/log/index.ts', import.meta.url).href
  const script = `
    const { Log } = await import(${JSON.stringify(indexUrl)})
    const [dataDir, keyKind] = process.argv.slice(1)
    const key = (fill) => keyKind === 'bytes' ? new Uint8Array(32).fill(fill) : String.fromCharCode(fill).repeat(32)
    const report = (step, result) => console.log(JSON.stringify({ step, ...result }))
    const attempt = async (step, options, read) => {
      try {
        const log = await Log.open({ dataDir, ...options })
        const result = read ? { values: log.read('t', 0, 0).map((r) => [...r.value]) } : { opened: true }
        await log.close()
        report(step, result)
      } catch (error) {
        report(step, { code: error?.name === 'LogError' ? error.code : 'not a LogError: ' + String(error) })
      }
    }
    const log = await Log.open({ dataDir, encryptionKey: key(107) })
    await log.createTopic('t')
    await log.append('t', { value: Uint8Array.from([1, 2, 3]) })
    await log.close()
    report('created', {})
    await attempt('same key', { encryptionKey: key(107) }, true)
    await attempt('wrong key', { encryptionKey: key(120) }, true)
    await attempt('no key', {}, true)
    await attempt('same key afterwards', { encryptionKey: key(107) }, true)
  `
  const execFileAsync = promisify(execFile)

  async function run(keyKind: 'string' | 'bytes'): Promise<Map<string, Record<string, unknown>>> {
    const dir = tempDir()
    const steps = new Map<string, Record<string, unknown>>()
    let stdout: string
    let failure = ''
    try {
      const result = await execFileAsync(
        process.execPath,
        ['--input-type=module', '-e', script, dir, keyKind],
        {
          cwd: fileURLToPath(new URL('.', import.meta.url)),
          timeout: 30_000,
        },
      )
      stdout = result.stdout
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; signal?: string; code?: number }
      stdout = e.stdout ?? ''
      failure = `child died (signal ${e.signal}, code ${e.code}): ${(e.stderr ?? '').split('\n').slice(0, 3).join(' | ')}`
    }
    for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
      const { step, ...result } = JSON.parse(line) as { step: string } & Record<string, unknown>
      steps.set(step, result)
    }
    if (failure !== '') steps.set('failure', { failure })
    return steps
  }

  it.each(['string', 'bytes'] as const)(
    'a %s key: same key reads, wrong or missing key is refused, data intact',
    async (keyKind) => {
      const steps = await run(keyKind)
      expect(steps.get('failure')).toBeUndefined()
      expect(steps.get('created')).toEqual({})
      expect(steps.get('same key')).toEqual({ values: [[1, 2, 3]] })
      expect(['ENCRYPTION_KEY_MISMATCH', 'FORMAT_VERSION_MISMATCH']).toContain(steps.get('wrong key')?.code)
      expect(['ENCRYPTION_KEY_MISMATCH', 'FORMAT_VERSION_MISMATCH']).toContain(steps.get('no key')?.code)
      expect(steps.get('same key afterwards')).toEqual({ values: [[1, 2, 3]] })
    },
    30_000,
  )
})
