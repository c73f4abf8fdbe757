import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Log, LogError, type LogTransaction } from '../../src/log/index.ts'

const dirs: string[] = []
const logs: Log[] = []
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function openLog(
  dir = mkdtempSync(join(tmpdir(), 'vigil-transact-')),
): Promise<{ log: Log; dir: string }> {
  if (!dirs.includes(dir)) dirs.push(dir)
  const log = await Log.open({ dataDir: dir })
  logs.push(log)
  await log.ensureTopic('in', { partitions: 2 })
  await log.ensureTopic('out', { partitions: 2 })
  return { log, dir }
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (value: Uint8Array): string => new TextDecoder().decode(value)

describe('Log.transact', () => {
  it('commits appends to several topics and an offset commit together, durably', async () => {
    const { log, dir } = await openLog()
    const result = log.transact((tx) => {
      const out = tx.append('out', [
        { partition: 1, value: bytes('a') },
        { partition: 1, value: bytes('b') },
      ])
      tx.append('in', [{ partition: 0, value: bytes('c') }])
      tx.commitOffset('app', 'in', 0, 1, 'meta')
      return out
    })
    expect(result).toEqual([
      { partition: 1, offset: 0 },
      { partition: 1, offset: 1 },
    ])
    // readable as soon as transact returns
    expect(log.read('out', 1, 0).map((r) => text(r.value))).toEqual(['a', 'b'])
    await log.close()
    const { log: reopened } = await openLog(dir)
    expect(reopened.read('out', 1, 0).map((r) => text(r.value))).toEqual(['a', 'b'])
    expect(reopened.read('in', 0, 0).map((r) => text(r.value))).toEqual(['c'])
    expect(reopened.fetchOffset('app', 'in', 0)).toMatchObject({ offset: 1, metadata: 'meta' })
  })

  it('writes nothing when the work throws, and offsets stay dense afterwards', async () => {
    const { log } = await openLog()
    await log.append('out', { partition: 0, value: bytes('before') })
    const failure = new Error('operator failed')
    expect(() =>
      log.transact((tx) => {
        tx.append('out', [{ partition: 0, value: bytes('lost') }])
        tx.commitOffset('app', 'in', 0, 0)
        throw failure
      }),
    ).toThrow(failure)
    expect(log.endOffset('out', 0)).toBe(1)
    expect(log.fetchOffset('app', 'in', 0)).toBeUndefined()
    const next = await log.append('out', { partition: 0, value: bytes('after') })
    expect(next.offset).toBe(1)
    expect(log.read('out', 0, 0).map((r) => text(r.value))).toEqual(['before', 'after'])
  })

  it('rolls back when one append inside is invalid, with the append error', async () => {
    const { log } = await openLog()
    let thrown: unknown
    try {
      log.transact((tx) => {
        tx.append('out', [{ partition: 0, value: bytes('ok') }])
        tx.append('missing-topic', [{ value: bytes('x') }])
      })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(LogError)
    expect((thrown as LogError).code).toBe('UNKNOWN_TOPIC')
    expect(log.endOffset('out', 0)).toBe(0)
  })

  it('commits appends issued before it first, so offsets follow call order', async () => {
    const { log } = await openLog()
    const earlier = log.append('out', { partition: 0, value: bytes('first') })
    const [inside] = log.transact((tx) => tx.append('out', [{ partition: 0, value: bytes('second') }]))
    expect((await earlier).offset).toBe(0)
    expect(inside).toEqual({ partition: 0, offset: 1 })
  })

  it('wakes subscribers with the records it committed', async () => {
    const { log } = await openLog()
    const subscription = log.subscribe('out', 0, { fromOffset: 'latest' })
    const next = subscription.next()
    log.transact((tx) => tx.append('out', [{ partition: 0, value: bytes('live') }]))
    const result = await next
    expect(result.done).toBe(false)
    expect(text((result.value as { value: Uint8Array }).value)).toBe('live')
    await subscription.close()
  })

  it('refuses nesting and use of the transaction after it ended', async () => {
    const { log } = await openLog()
    let escaped: LogTransaction | undefined
    expect(() => {
      log.transact((tx) => {
        escaped = tx
        log.transact(() => undefined)
      })
    }).toThrow(/cannot be nested/)
    expect(() => escaped?.append('out', [{ value: bytes('late') }])).toThrow(/has ended/)
    expect(log.endOffset('out', 0) + log.endOffset('out', 1)).toBe(0)
  })
})
