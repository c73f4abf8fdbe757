import { describe, expect, it } from 'vitest'
import { LogError, type TrimEvent } from '../../src/log/index.ts'
import { useTempLogs } from './fixtures/temp-logs.ts'

const { tempDir, openLog } = useTempLogs('vigil-log-admin-')
const value = (i: number): Uint8Array => Buffer.from(`record-${i}`)

describe('Log.deleteRecords', () => {
  it('moves the start offset, reports a trimmed event and survives a reopen', async () => {
    const dir = tempDir()
    const log = await openLog(dir)
    await log.createTopic('t', { partitions: 2 })
    await log.appendBatch(
      't',
      Array.from({ length: 10 }, (_, i) => ({ value: value(i), partition: 0 })),
    )
    const events: TrimEvent[] = []
    log.on('trimmed', (e: TrimEvent) => events.push(e))
    const event = await log.deleteRecords('t', 0, 4)
    expect(event).toMatchObject({
      topic: 't',
      partition: 0,
      fromOffset: 0,
      toOffset: 4,
      records: 4,
      reason: 'delete-records',
    })
    expect(events).toEqual([event])
    expect(log.startOffset('t', 0)).toBe(4)
    expect(log.read('t', 0, 4).map((r) => Buffer.from(r.value).toString())).toEqual(
      Array.from({ length: 6 }, (_, i) => `record-${i + 4}`),
    )
    expect(await log.deleteRecords('t', 0, 2)).toBeUndefined()
    expect(await log.deleteRecords('t', 1, 0)).toBeUndefined()
    await log.close()
    const reopened = await openLog(dir)
    expect(reopened.startOffset('t', 0)).toBe(4)
    expect(reopened.endOffset('t', 0)).toBe(10)
  })

  it('deletes up to the end, leaving an empty partition that keeps its offsets', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    await log.appendBatch('t', [{ value: value(0) }, { value: value(1) }])
    const before = log.metrics().logBytes
    await log.deleteRecords('t', 0, 2)
    expect(log.read('t', 0, 2)).toEqual([])
    expect(log.metrics().logBytes).toBeLessThan(before)
    const [appended] = await log.appendBatch('t', [{ value: value(2) }])
    expect(appended!.offset).toBe(2)
  })

  it('refuses an offset past the end and a range a floor holds', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    await log.appendBatch('t', [{ value: value(0) }, { value: value(1) }, { value: value(2) }])
    await expect(log.deleteRecords('t', 0, 4)).rejects.toThrow(LogError)
    await log.holdFloor('replicator', 't', 0, 1)
    let error: unknown
    try {
      await log.deleteRecords('t', 0, 3)
    } catch (e) {
      error = e
    }
    expect((error as LogError).code).toBe('INVALID_ARGUMENT')
    expect((error as LogError).message).toMatch(/floor.*releaseFloor/)
    expect(log.startOffset('t', 0)).toBe(0)
    await log.deleteRecords('t', 0, 1)
    expect(log.startOffset('t', 0)).toBe(1)
  })
})

describe('Log.waitForAppend', () => {
  it('resolves at once when records past the position exist, else on the next commit', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    await log.appendBatch('t', [{ value: value(0) }])
    await log.waitForAppend('t', 0, 0)
    let woke = false
    const waiting = log.waitForAppend('t', 0, 1).then(() => {
      woke = true
    })
    await new Promise((r) => setTimeout(r, 20))
    expect(woke).toBe(false)
    await log.appendBatch('t', [{ value: value(1) }])
    await waiting
    expect(woke).toBe(true)
  })

  it('resolves on abort and on close', async () => {
    const log = await openLog(tempDir())
    await log.createTopic('t')
    const controller = new AbortController()
    const aborted = log.waitForAppend('t', 0, 0, controller.signal)
    controller.abort()
    await aborted
    const closing = log.waitForAppend('t', 0, 0)
    await log.close()
    await closing
  })
})
