import { describe, expect, it } from 'vitest'
import type { Log } from '../../src/log/index.ts'
import { Serdes } from '../../src/state/index.ts'
import { resetApplication, StreamsBuilder, StreamsEngine, type Topology } from '../../src/streams/index.ts'
import { useTempLogs } from '../log/fixtures/temp-logs.ts'

const { tempDir, openLog } = useTempLogs('vigil-reset-')

/** Counts words; with `minLength`, only words at least that long (a "changed rule"). */
function wordCount(minLength = 1): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('lines')
    .flatMapValues((line) => line.split(' ').filter((w) => w.length >= minLength))
    .groupBy((_k, word) => word)
    .count({ name: 'counts' })
    .toStream()
    .to('counts-out', { valueSerde: Serdes.Long })
  return builder.build()
}

async function withLines(lines: [string, number][]): Promise<Log> {
  const log = await openLog(tempDir())
  await log.createTopic('lines', { partitions: 2 })
  await log.createTopic('counts-out')
  for (const [line, timestampMs] of lines) {
    await log.append('lines', { key: Buffer.from(line), value: Buffer.from(line), timestampMs })
  }
  return log
}

async function run(topology: Topology, log: Log): Promise<Map<string, number>> {
  const engine = await StreamsEngine.start(topology, log, { applicationId: 'wc' })
  try {
    engine.processAvailable()
    return new Map(Array.from(engine.keyValueStore<string, number>('counts').all(), (e) => [e.key, e.value]))
  } finally {
    engine.close()
  }
}

const history: [string, number][] = [
  ['a bb ccc', 1000],
  ['bb ccc', 2000],
  ['ccc dd', 3000],
]

describe('resetApplication', () => {
  it('re-applies a changed rule to the retained history, from empty state', async () => {
    const log = await withLines(history)
    expect(await run(wordCount(), log)).toEqual(
      new Map([
        ['a', 1],
        ['bb', 2],
        ['ccc', 3],
        ['dd', 1],
      ]),
    )
    const report = await resetApplication(wordCount(), log, { applicationId: 'wc' })
    expect(report.inputs).toEqual([
      { topic: 'lines', partition: 0, offset: 0 },
      { topic: 'lines', partition: 1, offset: 0 },
    ])
    expect(report.internalRecordsDeleted).toBe(7)
    expect(report.stores.map((s) => s.name).sort()).toEqual(['wc-counts-0', 'wc-counts-1'])
    expect(report.stores.reduce((n, s) => n + s.entries, 0)).toBeGreaterThanOrEqual(4)
    // Without the reset, running again would process nothing; with it, the new rule sees everything.
    expect(await run(wordCount(3), log)).toEqual(new Map([['ccc', 3]]))
  })

  it('rewinds to a time: only records at or after it are re-processed', async () => {
    const log = await withLines(history)
    await run(wordCount(), log)
    await resetApplication(wordCount(), log, { applicationId: 'wc', to: { timestampMs: 2000 } })
    expect(await run(wordCount(), log)).toEqual(
      new Map([
        ['bb', 1],
        ['ccc', 2],
        ['dd', 1],
      ]),
    )
  })

  it('is harmless to repeat, and refuses while the application runs', async () => {
    const log = await withLines(history)
    await run(wordCount(), log)
    await resetApplication(wordCount(), log, { applicationId: 'wc' })
    await resetApplication(wordCount(), log, { applicationId: 'wc' })
    expect((await run(wordCount(), log)).get('ccc')).toBe(3)
    const engine = await StreamsEngine.start(wordCount(), log, { applicationId: 'wc' })
    try {
      // Refused before anything changes: the repartition records stay.
      const before = log.startOffset('wc-counts-repartition', 0)
      await log.append('lines', { key: Buffer.from('x'), value: Buffer.from('zz yy') })
      engine.processAvailable()
      const error = await resetApplication(wordCount(), log, { applicationId: 'wc' }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' })
      expect((error as Error).message).toMatch(/running/)
      expect(log.startOffset('wc-counts-repartition', 0)).toBe(before)
    } finally {
      engine.close()
    }
    await expect(
      resetApplication(wordCount(), log, { applicationId: 'no spaces allowed' }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })
  it('resets a stateful task that reads an input topic directly (no repartition)', async () => {
    const builder = new StreamsBuilder()
    builder.stream<string, string>('lines').groupByKey().count({ name: 'counts' })
    const perKey = builder.build()
    const log = await withLines(history)
    expect((await run(perKey, log)).get('ccc dd')).toBe(1)
    await resetApplication(perKey, log, { applicationId: 'wc' })
    expect(await run(perKey, log)).toEqual(
      new Map([
        ['a bb ccc', 1],
        ['bb ccc', 1],
        ['ccc dd', 1],
      ]),
    )
    await resetApplication(perKey, log, { applicationId: 'wc', to: { timestampMs: 3000 } })
    expect(await run(perKey, log)).toEqual(new Map([['ccc dd', 1]]))
  })
})
