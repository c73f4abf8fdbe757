import { describe, expect, it } from 'vitest'
import { Serdes } from '../../src/state/index.ts'
import { StreamsBuilder, type TopologyTestDriverOptions } from '../../src/streams/index.ts'
import type { StreamOptions } from '../../src/streams/builder.ts'
import { thrown } from './thrown.ts'
import { useDrivers } from './fixtures/drivers.ts'

const fx = useDrivers()

/** 'in' → 'out' unchanged, with the given source options; returns the output timestamps and values. */
async function passThrough(
  options: StreamOptions<string, string>,
  driverOptions: TopologyTestDriverOptions = {},
) {
  const builder = new StreamsBuilder()
  builder.stream<string, string>('in', options).to('out')
  const driver = await fx.create(builder.build(), {
    initialWallClockTimeMs: 5000,
    ...driverOptions,
  })
  const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
  const output = driver.createOutputTopic('out', Serdes.String, Serdes.String)
  const read = () => output.readRecordsToList().map((r) => [r.value, r.timestampMs])
  return { driver, input, read }
}

describe('timestamp extractors', () => {
  it("'event' (the default) and 'ingestion' use the log record's timestamp", async () => {
    for (const timestampExtractor of [undefined, 'event', 'ingestion'] as const) {
      const { input, read } = await passThrough(
        timestampExtractor === undefined ? {} : { timestampExtractor },
      )
      input.pipeInput('k', 'a', 42)
      input.pipeInput('k', 'b')
      expect(read()).toEqual([
        ['a', 42],
        ['b', 5000],
      ])
    }
  })

  it("'processing' uses the engine's wall clock", async () => {
    const { driver, input, read } = await passThrough({ timestampExtractor: 'processing' })
    input.pipeInput('k', 'a', 42)
    driver.advanceWallClockTime(7)
    input.pipeInput('k', 'b', 1)
    expect(read()).toEqual([
      ['a', 5000],
      ['b', 5007],
    ])
  })

  it('a function gets the record and the partition time (-1 before the first)', async () => {
    const calls: unknown[] = []
    const { input, read } = await passThrough({
      timestampExtractor: (record, partitionTimeMs) => {
        calls.push({ ...record, partitionTimeMs })
        return Number(record.value.split('@')[1])
      },
    })
    input.pipeInput('k', 'a@300', 1)
    input.pipeInput('k', 'b@200', 2)
    input.pipeInput(null, 'c@400', 3)
    expect(read()).toEqual([
      ['a@300', 300],
      ['b@200', 200],
      ['c@400', 400],
    ])
    expect(calls).toEqual([
      { key: 'k', value: 'a@300', timestampMs: 1, topic: 'in', partition: 0, offset: 0, partitionTimeMs: -1 },
      {
        key: 'k',
        value: 'b@200',
        timestampMs: 2,
        topic: 'in',
        partition: 0,
        offset: 1,
        partitionTimeMs: 300,
      },
      {
        key: null,
        value: 'c@400',
        timestampMs: 3,
        topic: 'in',
        partition: 0,
        offset: 2,
        partitionTimeMs: 300,
      },
    ])
  })

  it('drops, counts and logs a record whose extracted timestamp is invalid, and goes on', async () => {
    const lines: string[] = []
    const { driver, input, read } = await passThrough(
      { timestampExtractor: (record) => Number(record.value) },
      { logger: { warn: (line) => lines.push(line) } },
    )
    input.pipeInput('k', '-1')
    input.pipeInput('k', 'not a number')
    input.pipeInput('k', '1.5')
    input.pipeInput('k', '10')
    expect(read()).toEqual([['10', 10]])
    expect(driver.metrics()).toMatchObject({
      processedRecords: 1,
      droppedRecords: 3,
      invalidTimestampRecords: 3,
    })
    expect(lines).toHaveLength(3)
    expect(lines[0]).toContain('returned -1')
    expect(lines[0]).toContain('in/0@0')
    // The skipped records are consumed: their offsets are committed.
    expect(driver.log.fetchOffset('topology-test-driver', 'in', 0)?.offset).toBe(4)
  })

  it('fails the task with TASK_FAILED when the extractor throws', async () => {
    const { input } = await passThrough({
      timestampExtractor: () => {
        throw new Error('no time in this record')
      },
    })
    const error = thrown(() => {
      input.pipeInput('k', 'v')
    })
    expect(error.code).toBe('TASK_FAILED')
    expect(error.message).toContain('no time in this record')
  })

  it('rejects an unknown extractor name, naming the choices', () => {
    const error = thrown(() =>
      new StreamsBuilder().stream('in', { timestampExtractor: 'wall' as unknown as 'event' }),
    )
    expect(error.code).toBe('INVALID_ARGUMENT')
    expect(error.message).toContain("'processing'")
  })
})
