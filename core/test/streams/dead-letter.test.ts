import { describe, expect, it } from 'vitest'
import { Serdes } from '../../src/state/index.ts'
import { StreamsBuilder, StreamsEngine, type TopologyTestDriverOptions } from '../../src/streams/index.ts'
import { DEAD_LETTER_HEADERS } from '../../src/streams/task.ts'
import { thrown } from './thrown.ts'
import { useDrivers } from './fixtures/drivers.ts'

const fx = useDrivers()

const text = new TextDecoder()

/** Long values 'in' → doubled → 'out'; piping a String that is not 8 bytes long fails Serdes.Long. */
async function doubling(options: TopologyTestDriverOptions = {}) {
  const builder = new StreamsBuilder()
  builder
    .stream<string, number>('in', { valueSerde: Serdes.Long })
    .mapValues((v) => v * 2)
    .to('out', { valueSerde: Serdes.Long })
  const driver = await fx.create(builder.build(), { initialWallClockTimeMs: 0, ...options })
  return {
    driver,
    good: driver.createInputTopic('in', Serdes.String, Serdes.Long),
    bad: driver.createInputTopic('in', Serdes.String, Serdes.String),
    output: driver.createOutputTopic('out', Serdes.String, Serdes.Long),
  }
}

describe("deserializationExceptionHandler 'logAndContinue' (the default)", () => {
  it('writes the raw record with headers to <applicationId>-dlq, counts and logs it, and continues', async () => {
    const lines: string[] = []
    const { driver, good, bad, output } = await doubling({ logger: { warn: (line) => lines.push(line) } })
    good.pipeInput('a', 1, 10)
    bad.pipeInput('b', 'oops', 20)
    good.pipeInput('c', 3, 30)
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'a', value: 2 },
      { key: 'c', value: 6 },
    ])
    const [dead, ...rest] = driver.getDeadLetterRecords()
    expect(rest).toEqual([])
    expect(text.decode(dead!.key)).toBe('b')
    expect(text.decode(dead!.value)).toBe('oops')
    expect(dead!.timestampMs).toBe(20)
    expect(dead!.source).toMatchObject({ topic: 'in', partition: 0, offset: 1 })
    expect(dead!.source.message).toContain('Serdes.Long')
    expect(dead!.source.exception).not.toBe('')
    expect(text.decode(dead!.headers[DEAD_LETTER_HEADERS.offset])).toBe('1')
    expect(driver.log.topics().map((t) => t.name)).toContain('topology-test-driver-dlq')
    expect(driver.metrics()).toMatchObject({ processedRecords: 2, deadLetteredRecords: 1 })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('in/0@1')
    expect(lines[0]).toContain('topology-test-driver-dlq')
    // Its offset commits: a restart does not see it again.
    expect(driver.log.fetchOffset('topology-test-driver', 'in', 0)?.offset).toBe(3)
  })

  it('keeps the original headers on the dead-letter record', async () => {
    const { driver } = await doubling({ logger: { warn: () => {} } })
    driver.log.transact((tx) =>
      tx.append('in', [
        { key: null, value: new Uint8Array([1]), timestampMs: 5, headers: { trace: new Uint8Array([7]) } },
      ]),
    )
    driver.advanceWallClockTime(0)
    const [dead] = driver.getDeadLetterRecords()
    expect(dead!.key).toBeNull()
    expect([...dead!.headers['trace']!]).toEqual([7])
    expect(dead!.source.topic).toBe('in')
  })

  it('writes to stderr by default', async () => {
    const builder = new StreamsBuilder()
    builder.stream('in', { valueSerde: Serdes.Long }).to('out', { valueSerde: Serdes.Long })
    const driver = await fx.create(builder.build())
    const writes: string[] = []
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = (chunk: string) => {
      writes.push(chunk)
      return true
    }
    try {
      driver.createInputTopic('in', Serdes.String, Serdes.String).pipeInput('k', 'x')
    } finally {
      process.stderr.write = write
    }
    expect(writes).toHaveLength(1)
    expect(writes[0]).toMatch(/WARN .*could not deserialize in\/0@0.*\n$/)
  })
})

describe("deserializationExceptionHandler 'logAndFail'", () => {
  it('stops with SERDE_FAILURE naming the record, writing nothing to a dead-letter topic', async () => {
    const { driver, good, bad, output } = await doubling({ deserializationExceptionHandler: 'logAndFail' })
    good.pipeInput('a', 1)
    const error = thrown(() => {
      bad.pipeInput('b', 'oops')
    })
    expect(error.code).toBe('SERDE_FAILURE')
    expect(error.message).toContain('in/0@1')
    expect(error.message).toContain('logAndContinue')
    expect(output.readValuesToList()).toEqual([2])
    expect(driver.getDeadLetterRecords()).toEqual([])
    expect(
      thrown(() => {
        good.pipeInput('c', 3)
      }).code,
    ).toBe('STREAMS_CLOSED')
  })

  it('is validated as an engine option', async () => {
    const builder = new StreamsBuilder()
    builder.stream('in').to('out')
    const driver = await fx.create(builder.build())
    await expect(
      StreamsEngine.start(builder.build(), driver.log, {
        applicationId: 'x',
        deserializationExceptionHandler: 'skip' as 'logAndFail',
      }),
    ).rejects.toThrow(/deserializationExceptionHandler/)
  })
})
