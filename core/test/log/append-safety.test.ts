// Regressions from the review of core/log: each test names the defect it guards against.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  encodeSampleBlock,
  Log,
  LogError,
  type LogOptionsInput,
  type RecordInput,
} from '../../src/log/index.ts'

const dirs: string[] = []
const logs: Log[] = []
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function openLog(options: Omit<LogOptionsInput, 'dataDir'> = {}, dir?: string): Promise<Log> {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'vigil-safety-'))
  if (!dirs.includes(dataDir)) dirs.push(dataDir)
  const log = await Log.open({ dataDir, ...options })
  logs.push(log)
  await log.ensureTopic('t')
  return log
}

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn()
  } catch (error) {
    return error instanceof LogError ? error.code : `not a LogError: ${String(error)}`
  }
  return undefined
}

describe('records are captured when appended, not when committed', () => {
  it('a producer reusing its value buffer does not change what was appended', async () => {
    const log = await openLog()
    const buffer = new Uint8Array(4)
    const acks: Promise<unknown>[] = []
    for (let fill = 0; fill < 3; fill++) {
      buffer.fill(fill)
      acks.push(log.append('t', { value: buffer }))
    }
    await Promise.all(acks)
    expect(log.read('t', 0, 0).map((r) => [...r.value])).toEqual([
      [0, 0, 0, 0],
      [1, 1, 1, 1],
      [2, 2, 2, 2],
    ])
  })

  it('headers changed after append neither corrupt the record nor fail the commit', async () => {
    const log = await openLog()
    const headers: Record<string, Uint8Array> = { a: new Uint8Array([1]) }
    const appended = log.append('t', { value: new Uint8Array([9]), headers })
    headers.added = new Uint8Array(1000)
    ;(headers as Record<string, unknown>).a = null
    const other = log.append('t', { value: new Uint8Array([8]) })
    await Promise.all([appended, other])
    const [first, second] = log.read('t', 0, 0)
    expect(Object.keys(first!.headers)).toEqual(['a'])
    expect([...first!.headers.a!]).toEqual([1])
    expect([...second!.value]).toEqual([8])
  })

  it('a bogus key is rejected before it is hashed', async () => {
    const log = await openLog()
    const started = performance.now()
    const bogus = { key: { length: 1e9 }, value: new Uint8Array(1) } as unknown as RecordInput
    expect(await codeOf(() => log.append('t', bogus))).toBe('INVALID_ARGUMENT')
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('a sample rate that does not fit a float32 is refused instead of writing an unreadable block', () => {
    const samples = new Int16Array(4)
    for (const sampleRateHz of [1e39, 1e-46]) {
      expect(() => encodeSampleBlock({ samples, sampleRateHz, firstSampleTimeMs: 0, sequence: 0 })).toThrow(
        LogError,
      )
    }
  })
})

describe('subscriptions release themselves', () => {
  it('a subscription whose read fails is closed: the next call ends it', async () => {
    const log = await openLog({ diskBudgetBytes: 0 })
    await log.ensureTopic('w', { priorityClass: 'waveform' })
    await log.appendBatch('w', [{ value: new Uint8Array(8) }, { value: new Uint8Array(8) }])
    const subscription = log.subscribe('w', 0, { fromOffset: 0, batchSize: 1 })
    await log.enforceRetention()
    expect(await codeOf(() => subscription.next())).toBe('OFFSET_OUT_OF_RANGE')
    expect(await subscription.next()).toEqual({ done: true, value: undefined })
  })

  it('a subscription given an already aborted signal ends at once', async () => {
    const log = await openLog()
    await log.append('t', { value: new Uint8Array(1) })
    const subscription = log.subscribe('t', 0, { signal: AbortSignal.abort() })
    expect(await subscription.next()).toEqual({ done: true, value: undefined })
  })

  it('concurrent next() calls all settle when the subscription closes', async () => {
    const log = await openLog()
    const subscription = log.subscribe('t', 0, { fromOffset: 'latest' })
    const first = subscription.next()
    const second = subscription.next()
    await subscription.close()
    expect(await Promise.all([first, second])).toEqual([
      { done: true, value: undefined },
      { done: true, value: undefined },
    ])
  })

  it('concurrent next() calls receive consecutive records', async () => {
    const log = await openLog()
    const subscription = log.subscribe('t', 0, { fromOffset: 'latest' })
    const first = subscription.next()
    const second = subscription.next()
    await log.appendBatch('t', [{ value: new Uint8Array([1]) }, { value: new Uint8Array([2]) }])
    const results = await Promise.all([first, second])
    expect(results.map((r) => (r.done ? null : r.value.offset))).toEqual([0, 1])
    await subscription.close()
  })

  it('rejects a bad batchSize when subscribing, not at the first read', async () => {
    const log = await openLog()
    expect(await codeOf(() => log.subscribe('t', 0, { batchSize: 0 }))).toBe('INVALID_ARGUMENT')
  })
})

describe('lifecycle', () => {
  it('every close() call waits for the close to finish', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-safety-'))
    const log = await openLog({}, dir)
    void log.append('t', { value: new Uint8Array(1) })
    const first = log.close()
    await log.close()
    const reopened = await openLog({}, dir)
    expect(reopened.endOffset('t', 0)).toBe(1)
    await first
  })
})

describe('disk hard limit', () => {
  it('refuses appends past the hard limit with a retriable DISK_BUDGET_EXCEEDED, and raises budget-exceeded once', async () => {
    const log = await openLog({ diskBudgetBytes: 100, diskHardLimitBytes: 300 })
    await log.holdFloor('replicator', 't', 0, 0) // nothing may be trimmed
    const exceeded: unknown[] = []
    log.on('budget-exceeded', (event) => exceeded.push(event))
    // each record: 14-byte header + 36-byte value + 16 overhead = 66 bytes
    for (let i = 0; i < 4; i++) {
      await log.append('t', { value: new Uint8Array(36) })
      await log.enforceRetention()
    }
    expect(log.metrics().logBytes).toBe(264)
    let error: unknown
    try {
      await log.append('t', { value: new Uint8Array(36) })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(LogError)
    expect((error as LogError).code).toBe('DISK_BUDGET_EXCEEDED')
    expect((error as LogError).retriable).toBe(true)
    expect(log.endOffset('t', 0)).toBe(4)
    expect(exceeded).toHaveLength(1)
    expect(log.metrics().rejectedAppends.DISK_BUDGET_EXCEEDED).toBe(1)
  })
})

describe('transact', () => {
  it('refuses an async work function and commits nothing of it', async () => {
    const log = await openLog()
    expect(
      await codeOf(() =>
        log.transact(async (tx) => {
          tx.append('t', [{ value: new Uint8Array(1) }])
          await Promise.resolve()
        }),
      ),
    ).toBe('INVALID_ARGUMENT')
    expect(log.endOffset('t', 0)).toBe(0)
    expect(log.metrics().appendedRecords).toBe(0)
  })

  it('does not count records of a rolled-back transaction as appended', async () => {
    const log = await openLog()
    expect(() =>
      log.transact((tx) => {
        tx.append('t', [{ value: new Uint8Array(1) }, { value: new Uint8Array(1) }])
        throw new Error('rollback')
      }),
    ).toThrow('rollback')
    expect(log.metrics().appendedRecords).toBe(0)
    expect(log.metrics().appendedBytes).toBe(0)
  })
})
