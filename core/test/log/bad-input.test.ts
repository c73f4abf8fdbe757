import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { open } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { Log, LogError, type LogOptionsInput, type RecordInput } from '../../src/log/index.ts'
import { useTempLogs } from './fixtures/temp-logs.ts'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

const { tempDir, openLog } = useTempLogs('vigil-bad-input-')

/** The LogError code `fn` throws or rejects with; anything else is reported as such. */
async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn()
  } catch (error) {
    return error instanceof LogError ? error.code : `not a LogError: ${String(error)}`
  }
  return 'no error'
}

async function messageOf(fn: () => unknown): Promise<string> {
  try {
    await fn()
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  return 'no error'
}

/** A log with topic "t" (2 partitions) holding a, b in partition 0 and c in partition 1, committed offset and floor. */
async function seededLog(options: Omit<LogOptionsInput, 'dataDir'> = {}): Promise<{ log: Log; dir: string }> {
  const dir = tempDir()
  const log = await openLog(dir, options)
  await log.createTopic('t', { partitions: 2 })
  await log.appendBatch('t', [
    { key: null, value: utf8('a'), partition: 0, timestampMs: 100 },
    { key: null, value: utf8('b'), partition: 0, timestampMs: 200 },
    { key: null, value: utf8('c'), partition: 1, timestampMs: 300 },
  ])
  await log.commitOffset('g', 't', 0, 1)
  await log.holdFloor('replicator', 't', 0, 1)
  return { log, dir }
}

/** What a user would look at to see whether anything was touched. */
function contents(log: Log): unknown {
  return {
    topics: log.topics().map((t) => [t.name, t.config.partitions]),
    partitions: [0, 1].map((p) => ({
      start: log.startOffset('t', p),
      end: log.endOffset('t', p),
      records: log.read('t', p, log.startOffset('t', p)).map((r) => [r.offset, text(r.value), r.timestampMs]),
    })),
    committed: log.fetchOffset('g', 't', 0)?.offset,
    floor: log.floor('t', 0),
  }
}

const SEEDED_CONTENTS = {
  topics: [['t', 2]],
  partitions: [
    {
      start: 0,
      end: 2,
      records: [
        [0, 'a', 100],
        [1, 'b', 200],
      ],
    },
    { start: 0, end: 1, records: [[0, 'c', 300]] },
  ],
  committed: 1,
  floor: 1,
}

describe('invalid topic names → INVALID_TOPIC_NAME', () => {
  const names: [string, unknown][] = [
    ['empty', ''],
    ['"."', '.'],
    ['".."', '..'],
    ['"a/b"', 'a/b'],
    ['a space', 'a b'],
    ['non-ASCII', 'ecg-ü'],
    ['250 characters', 'x'.repeat(250)],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
  ]

  it.each(names)('%s', async (_, name) => {
    const { log } = await seededLog()
    const topic = name as string
    expect(await codeOf(() => log.createTopic(topic))).toBe('INVALID_TOPIC_NAME')
    expect(await codeOf(() => log.ensureTopic(topic))).toBe('INVALID_TOPIC_NAME')
    expect(await codeOf(() => log.append(topic, { value: utf8('x') }))).toBe('INVALID_TOPIC_NAME')
    expect(await codeOf(() => log.read(topic, 0, 0))).toBe('INVALID_TOPIC_NAME')
    expect(await codeOf(() => log.subscribe(topic, 0))).toBe('INVALID_TOPIC_NAME')
    expect(await codeOf(() => log.endOffset(topic, 0))).toBe('INVALID_TOPIC_NAME')
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
  })

  it('accepts the longest valid name (249 characters) and "..." and "a.b_c-D9"', async () => {
    const { log } = await seededLog()
    for (const name of ['x'.repeat(249), '...', 'a.b_c-D9']) {
      expect((await log.createTopic(name)).name).toBe(name)
    }
  })
})

describe('unknown topic → UNKNOWN_TOPIC', () => {
  it('for every call that names a topic', async () => {
    const { log } = await seededLog()
    const calls: [string, () => unknown][] = [
      ['append', () => log.append('nope', { value: utf8('x') })],
      ['appendBatch', () => log.appendBatch('nope', [{ value: utf8('x') }])],
      ['appendBatch []', () => log.appendBatch('nope', [])],
      ['read', () => log.read('nope', 0, 0)],
      ['subscribe', () => log.subscribe('nope', 0)],
      ['offsetForTimestamp', () => log.offsetForTimestamp('nope', 0, 0)],
      ['startOffset', () => log.startOffset('nope', 0)],
      ['endOffset', () => log.endOffset('nope', 0)],
      ['commitOffset', () => log.commitOffset('g', 'nope', 0, 0)],
      ['fetchOffset', () => log.fetchOffset('g', 'nope', 0)],
      ['holdFloor', () => log.holdFloor('r', 'nope', 0, 0)],
      ['releaseFloor', () => log.releaseFloor('r', 'nope', 0)],
      ['floor', () => log.floor('nope', 0)],
    ]
    for (const [what, call] of calls) expect(await codeOf(call), what).toBe('UNKNOWN_TOPIC')
    expect(log.topics().map((t) => t.name)).toEqual(['t'])
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
  })
})

describe('bad partition → UNKNOWN_PARTITION', () => {
  it.each([
    ['-1', -1],
    ['2 (of 2)', 2],
    ['1.5', 1.5],
    ['NaN', NaN],
    ['the string "0"', '0'],
  ])('%s', async (_, value) => {
    const { log } = await seededLog()
    const partition = value as number
    const calls: [string, () => unknown][] = [
      ['append', () => log.append('t', { value: utf8('x'), partition })],
      ['read', () => log.read('t', partition, 0)],
      ['subscribe', () => log.subscribe('t', partition)],
      ['offsetForTimestamp', () => log.offsetForTimestamp('t', partition, 0)],
      ['startOffset', () => log.startOffset('t', partition)],
      ['endOffset', () => log.endOffset('t', partition)],
      ['commitOffset', () => log.commitOffset('g', 't', partition, 0)],
      ['fetchOffset', () => log.fetchOffset('g', 't', partition)],
      ['holdFloor', () => log.holdFloor('r', 't', partition, 0)],
      ['releaseFloor', () => log.releaseFloor('r', 't', partition)],
      ['floor', () => log.floor('t', partition)],
    ]
    for (const [what, call] of calls) expect(await codeOf(call), what).toBe('UNKNOWN_PARTITION')
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
  })
})

describe('bad offsets → OFFSET_OUT_OF_RANGE', () => {
  it.each([
    ['negative', -1],
    ['non-integer', 0.5],
    ['NaN', NaN],
    ['past the end', 3],
    ['Infinity', Infinity],
  ])('%s', async (_, offset) => {
    const { log } = await seededLog()
    expect(await codeOf(() => log.read('t', 0, offset))).toBe('OFFSET_OUT_OF_RANGE')
    expect(await codeOf(() => log.subscribe('t', 0, { fromOffset: offset }))).toBe('OFFSET_OUT_OF_RANGE')
    expect(await codeOf(() => log.commitOffset('g', 't', 0, offset))).toBe('OFFSET_OUT_OF_RANGE')
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
  })

  it('reading at the end is not out of range (it returns nothing)', async () => {
    const { log } = await seededLog()
    expect(log.read('t', 0, 2)).toEqual([])
  })

  it('says where the valid range is', async () => {
    const { log } = await seededLog()
    expect(await messageOf(() => log.read('t', 0, 7))).toContain('[0, 2]')
  })
})

describe('oversized records → RECORD_TOO_LARGE', () => {
  // maxRecordBytes 64: a null-key record without headers holds at most 64 - 14 = 50 value bytes.
  it('rejects a record one byte over maxRecordBytes and accepts one exactly at it', async () => {
    const { log } = await seededLog({ maxRecordBytes: 64 })
    expect(await codeOf(() => log.append('t', { value: new Uint8Array(51), partition: 0 }))).toBe(
      'RECORD_TOO_LARGE',
    )
    expect(
      await codeOf(() => log.append('t', { key: utf8('k'), value: new Uint8Array(50), partition: 0 })),
    ).toBe('RECORD_TOO_LARGE')
    expect(
      await codeOf(() =>
        log.append('t', { value: new Uint8Array(40), headers: { big: new Uint8Array(5) }, partition: 0 }),
      ),
    ).toBe('RECORD_TOO_LARGE')
    expect(await messageOf(() => log.append('t', { value: new Uint8Array(51) }))).toContain(
      'maxRecordBytes=64',
    )
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
    expect(await log.append('t', { value: new Uint8Array(50), partition: 0 })).toEqual({
      partition: 0,
      offset: 2,
    })
  })

  it('a batch with one bad record writes nothing of it, while a concurrent good append succeeds', async () => {
    const { log } = await seededLog({ maxRecordBytes: 64 })
    const [batch, good] = await Promise.allSettled([
      log.appendBatch('t', [
        { value: utf8('d'), partition: 0 },
        { value: utf8('e'), partition: 1 },
        { value: new Uint8Array(51), partition: 0 },
        { value: utf8('f'), partition: 0 },
      ]),
      log.append('t', { value: utf8('g'), partition: 0 }),
    ])
    expect(await codeOf(() => batch.status === 'rejected' && Promise.reject(batch.reason as Error))).toBe(
      'RECORD_TOO_LARGE',
    )
    expect(good).toEqual({ status: 'fulfilled', value: { partition: 0, offset: 2 } })
    expect(log.read('t', 0, 0).map((r) => text(r.value))).toEqual(['a', 'b', 'g'])
    expect(log.read('t', 1, 0).map((r) => text(r.value))).toEqual(['c'])
  })
})

describe('bad record fields → INVALID_ARGUMENT', () => {
  const cases: [string, unknown][] = [
    ['a string value', { value: 'hello' }],
    ['a null value', { value: null }],
    ['a number[] value', { value: [1, 2] }],
    ['an ArrayBuffer value', { value: new ArrayBuffer(2) }],
    ['a missing value', {}],
    ['a string key', { key: 'k', value: utf8('x') }],
    ['a negative timestamp', { value: utf8('x'), timestampMs: -1 }],
    ['a NaN timestamp', { value: utf8('x'), timestampMs: NaN }],
    ['a fractional timestamp', { value: utf8('x'), timestampMs: 1.5 }],
    ['an infinite timestamp', { value: utf8('x'), timestampMs: Infinity }],
    ['a timestamp past 2^53', { value: utf8('x'), timestampMs: 2 ** 53 }],
    ['a string header value', { value: utf8('x'), headers: { h: 'v' } }],
  ]

  it.each(cases)('%s', async (_, record) => {
    const { log } = await seededLog()
    expect(await codeOf(() => log.append('t', record as RecordInput))).toBe('INVALID_ARGUMENT')
    // one bad record anywhere in a batch rejects all of it
    const batch = [{ value: utf8('ok'), partition: 0 }, record as RecordInput]
    expect(await codeOf(() => log.appendBatch('t', batch))).toBe('INVALID_ARGUMENT')
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
  })

  it('a batch that is not an array', async () => {
    const { log } = await seededLog()
    const batches: [string, unknown][] = [
      ['a single record', { value: utf8('x') }],
      ['null', null],
      ['undefined', undefined],
      ['a string', 'abc'],
    ]
    for (const [what, batch] of batches) {
      expect(await codeOf(() => log.appendBatch('t', batch as RecordInput[])), what).toBe('INVALID_ARGUMENT')
    }
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
  })

  it('a batch holding null or a non-object', async () => {
    const { log } = await seededLog()
    for (const record of [null, undefined, 42]) {
      const batch = [{ value: utf8('ok') }, record] as unknown as RecordInput[]
      expect(await codeOf(() => log.appendBatch('t', batch)), String(record)).toBe('INVALID_ARGUMENT')
    }
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
  })

  it('a record with more headers than the format holds (65,536) fails alone and skips no offset', async () => {
    const { log } = await seededLog()
    const headers: Record<string, Uint8Array> = {}
    for (let i = 0; i < 65_536; i++) headers[`h${i}`] = new Uint8Array(0)
    // fired in one tick: the good append shares the bad one's commit
    const [bad, good] = await Promise.allSettled([
      log.append('t', { value: utf8('x'), headers, partition: 1 }),
      log.append('t', { value: utf8('d'), partition: 0 }),
    ])
    expect(
      bad.status === 'rejected' && bad.reason instanceof LogError ? bad.reason.code : bad.status,
    ).toBeOneOf(['INVALID_ARGUMENT', 'RECORD_TOO_LARGE'])
    expect(good).toEqual({ status: 'fulfilled', value: { partition: 0, offset: 2 } })
    expect(await log.append('t', { value: utf8('e'), partition: 1 })).toEqual({ partition: 1, offset: 1 })
    expect(log.read('t', 1, 0).map((r) => text(r.value))).toEqual(['c', 'e'])
  })

  it('other bad arguments', async () => {
    const { log } = await seededLog()
    expect(await codeOf(() => log.read('t', 0, 0, { maxRecords: 0 }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(() => log.read('t', 0, 0, { maxRecords: 1.5 }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(() => log.offsetForTimestamp('t', 0, NaN))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(() => log.commitOffset('', 't', 0, 0))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(() => log.commitOffset('g'.repeat(256), 't', 0, 0))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(() => log.holdFloor('r', 't', 0, -1))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(() => log.holdFloor('r', 't', 0, 0.5))).toBe('INVALID_ARGUMENT')
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
  })
})

describe('bad topic config → INVALID_ARGUMENT naming the field', () => {
  it.each([
    ['partitions', { partitions: 0 }],
    ['partitions', { partitions: 1025 }],
    ['partitions', { partitions: 1.5 }],
    ['priorityClass', { priorityClass: 'urgent' }],
    ['retentionMs', { retentionMs: -1 }],
    ['retentionBytes', { retentionBytes: 0.5 }],
    ['timestampType', { timestampType: 'WallClock' }],
    ['retention', { retention: 1000 }],
  ])('%s: %j', async (field, config) => {
    const { log } = await seededLog()
    expect(await codeOf(() => log.createTopic('new', config as never))).toBe('INVALID_ARGUMENT')
    expect(await messageOf(() => log.createTopic('new', config as never))).toContain(field)
    expect(log.topics().map((t) => t.name)).toEqual(['t'])
  })
})

describe('bad log options → INVALID_ARGUMENT naming the field', () => {
  it.each([
    ['encryptionKey', { encryptionKey: 'k'.repeat(31) }],
    ['encryptionKey', { encryptionKey: new Uint8Array(31) }],
    ['encryptionKey', { encryptionKey: 'k'.repeat(33) }],
    ['encryptionKey', { encryptionKey: 42 }],
    ['maxRecordBytes', { maxRecordBytes: 63 }],
    ['diskBudgetBytes', { diskBudgetBytes: -1 }],
    ['retentionCheckIntervalMs', { retentionCheckIntervalMs: 5 }],
    ['timeIndexIntervalBytes', { timeIndexIntervalBytes: -1 }],
    ['clock', { clock: 1000 }],
    ['dataDirectory', { dataDirectory: '/tmp/x' }],
  ])('%s: %j', async (field, options) => {
    const dir = tempDir()
    const input = { dataDir: dir, ...options } as LogOptionsInput
    expect(await codeOf(() => Log.open(input))).toBe('INVALID_ARGUMENT')
    expect(await messageOf(() => Log.open(input))).toContain(field)
    // the directory is not left locked
    const log = await openLog(dir)
    expect(log.topics()).toEqual([])
  })

  it('a missing or empty dataDir', async () => {
    expect(await codeOf(() => Log.open({} as LogOptionsInput))).toBe('INVALID_ARGUMENT')
    expect(await messageOf(() => Log.open({ dataDir: '' }))).toContain('dataDir')
    expect(await codeOf(() => Log.open(null as unknown as LogOptionsInput))).toBe('INVALID_ARGUMENT')
  })
})

describe('use after close → LOG_CLOSED', () => {
  it.each<[string, (log: Log) => unknown]>([
    ['append', (log) => log.append('t', { value: utf8('x') })],
    ['appendBatch', (log) => log.appendBatch('t', [{ value: utf8('x') }])],
    ['read', (log) => log.read('t', 0, 0)],
    ['subscribe', (log) => log.subscribe('t', 0)],
    ['createTopic', (log) => log.createTopic('new')],
    ['ensureTopic of a new topic', (log) => log.ensureTopic('new')],
    ['ensureTopic of an existing topic', (log) => log.ensureTopic('t')],
    ['offsetForTimestamp', (log) => log.offsetForTimestamp('t', 0, 0)],
    ['startOffset', (log) => log.startOffset('t', 0)],
    ['endOffset', (log) => log.endOffset('t', 0)],
    ['commitOffset', (log) => log.commitOffset('g', 't', 0, 0)],
    ['fetchOffset', (log) => log.fetchOffset('g', 't', 0)],
    ['holdFloor', (log) => log.holdFloor('r', 't', 0, 0)],
    ['releaseFloor', (log) => log.releaseFloor('replicator', 't', 0)],
    ['floor', (log) => log.floor('t', 0)],
  ])('%s', async (_, call) => {
    const { log, dir } = await seededLog()
    await log.close()
    expect(await codeOf(() => call(log))).toBe('LOG_CLOSED')
    const reopened = await openLog(dir)
    expect(contents(reopened)).toEqual(SEEDED_CONTENTS)
  })

  it('close twice is harmless', async () => {
    const { log } = await seededLog()
    await log.close()
    await log.close()
    expect(log.closed).toBe(true)
  })
})

describe('a data directory of another format → FORMAT_VERSION_MISMATCH', () => {
  it('meta says format version 99; the directory is left as it was', async () => {
    const dir = tempDir()
    const env = open({ path: join(dir, 'log.mdb'), maxDbs: 16 })
    env.openDB({ name: 'meta' }).putSync('format', { version: 99 })
    await env.close()
    // as a later Vigil would leave it: the manifest beside the data file names its format
    writeFileSync(join(dir, 'vigil-log.json'), JSON.stringify({ format: 99, createdAtMs: 0 }))
    expect(await codeOf(() => Log.open({ dataDir: dir }))).toBe('FORMAT_VERSION_MISMATCH')
    // the lock is released, so a second attempt gives the same answer
    expect(await messageOf(() => Log.open({ dataDir: dir }))).toContain('99')
    const check = open({ path: join(dir, 'log.mdb'), maxDbs: 16 })
    expect(check.openDB({ name: 'meta' }).get('format')).toEqual({ version: 99 })
    await check.close()
  })

  it('LMDB data without a Vigil format marker', async () => {
    const dir = tempDir()
    const env = open({ path: join(dir, 'log.mdb'), maxDbs: 16 })
    env.openDB({ name: 'topics' }).putSync('someone-else', { id: 0 })
    await env.close()
    expect(await codeOf(() => Log.open({ dataDir: dir }))).toBe('FORMAT_VERSION_MISMATCH')
    const check = open({ path: join(dir, 'log.mdb'), maxDbs: 16 })
    expect(check.openDB({ name: 'meta' }).get('format')).toBeUndefined()
    await check.close()
  })

  /*
   * Runs in a child process: lmdb-js crashes the process (SIGSEGV) on some files that are not
   * LMDB, and that must fail this test, not kill the test runner.
   */
  it('a file named log.mdb that is not LMDB; the file is left as it was', async () => {
    const dir = tempDir()
    const junk = 'this is not an LMDB environment\n'.repeat(512)
    writeFileSync(join(dir, 'log.mdb'), junk)
    const indexUrl = new URL('../../src/log/index.ts', import.meta.url).href
    const script = `
      const { Log } = await import(${JSON.stringify(indexUrl)})
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const log = await Log.open({ dataDir: process.argv[1] })
          await log.close()
          console.log('opened')
        } catch (error) {
          console.log(error?.name === 'LogError' ? error.code : 'not a LogError: ' + String(error))
        }
      }
    `
    let outcome: string
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--input-type=module', '-e', script, dir],
        {
          timeout: 30_000,
        },
      )
      outcome = stdout.trim().split('\n').join(', ')
    } catch (error) {
      outcome = `the process died (signal ${String((error as { signal?: string }).signal)})`
    }
    expect(outcome).toBe('FORMAT_VERSION_MISMATCH, FORMAT_VERSION_MISMATCH')
    expect(readFileSync(join(dir, 'log.mdb'), 'utf8')).toBe(junk)
  }, 30_000)
})

describe('the same directory opened twice in one process → LOG_LOCKED', () => {
  it('refuses the second open and leaves the first working', async () => {
    const { log, dir } = await seededLog()
    expect(await codeOf(() => Log.open({ dataDir: dir }))).toBe('LOG_LOCKED')
    expect(await log.append('t', { value: utf8('d'), partition: 0 })).toEqual({ partition: 0, offset: 2 })
    await log.close()
    const reopened = await openLog(dir)
    expect(reopened.endOffset('t', 0)).toBe(3)
  })

  it('also when the path is spelled differently (relative)', async () => {
    const { log, dir } = await seededLog()
    const spelled = relative(process.cwd(), dir)
    expect(spelled).not.toBe(dir)
    const opened: Log[] = []
    const code = await codeOf(async () => opened.push(await Log.open({ dataDir: spelled })))
    await opened[0]?.close()
    expect(code).toBe('LOG_LOCKED')
    expect(contents(log)).toEqual(SEEDED_CONTENTS)
  })
})

describe('rejectedAppends', () => {
  it('counts rejected appends by code', async () => {
    const { log } = await seededLog({ maxRecordBytes: 64 })
    const rejects: (() => unknown)[] = [
      () => log.append('nope', { value: utf8('x') }),
      () => log.append('t', { value: utf8('x'), partition: 9 }),
      () => log.append('t', { value: 'x' as unknown as Uint8Array }),
      () => log.append('t', { value: utf8('x'), timestampMs: -1 }),
      () => log.appendBatch('t', [{ value: utf8('x') }, { value: new Uint8Array(100) }]),
      () => log.append('bad/name', { value: utf8('x') }),
    ]
    for (const reject of rejects) expect(await codeOf(reject)).not.toBe('no error')
    expect(log.metrics().rejectedAppends).toEqual({
      UNKNOWN_TOPIC: 1,
      UNKNOWN_PARTITION: 1,
      INVALID_ARGUMENT: 2,
      RECORD_TOO_LARGE: 1,
      INVALID_TOPIC_NAME: 1,
    })
    expect(log.metrics().appendedRecords).toBe(3)
    await log.close()
    expect(await codeOf(() => log.append('t', { value: utf8('x') }))).toBe('LOG_CLOSED')
    expect(log.metrics().rejectedAppends.LOG_CLOSED).toBe(1)
  })
})
