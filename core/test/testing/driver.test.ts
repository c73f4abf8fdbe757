import { afterEach, describe, expect, it } from 'vitest'
import { partitionForKey } from '../../src/log/index.ts'
import { Serdes } from '../../src/state/index.ts'
import { StreamsBuilder, TopologyTestDriver, type Topology } from '../../src/streams/index.ts'
import { thrown } from '../streams/thrown.ts'

const drivers: TopologyTestDriver[] = []
afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close()
})

async function create(topology: Topology, options: Parameters<typeof TopologyTestDriver.create>[1] = {}) {
  const driver = await TopologyTestDriver.create(topology, options)
  drivers.push(driver)
  return driver
}

/** Counts values per value (rekeyed), so counting is only right if every value reaches one task. */
function countValues(): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('in')
    .groupBy((_k, v) => v)
    .count({ name: 'counts' })
    .toStream()
    .to('out', { valueSerde: Serdes.Long })
  return builder.build()
}

function passThrough(): Topology {
  const builder = new StreamsBuilder()
  builder.stream<string, string>('in').to('out')
  return builder.build()
}

describe('TopologyTestDriver', () => {
  it('with several partitions routes keys by murmur2 and repartitions so each key is counted in one task', async () => {
    const driver = await create(countValues(), { partitions: 4 })
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    const keys = Array.from({ length: 12 }, (_, i) => `sensor-${i}`)
    for (const key of keys) input.pipeInput(key, key.endsWith('1') ? 'odd-one' : 'x')

    const log = driver.log
    for (const key of keys) {
      const partition = partitionForKey(Serdes.String.serialize(key), 4)
      const inPartition = log.read('in', partition, 0).map((r) => Serdes.String.deserialize(r.key!))
      expect(inPartition).toContain(key)
    }
    // the inputs really were spread over partitions
    expect(new Set(keys.map((k) => partitionForKey(Serdes.String.serialize(k), 4))).size).toBeGreaterThan(1)

    const out = driver.createOutputTopic('out', Serdes.String, Serdes.Long).readRecordsToList()
    expect(out.filter((r) => r.key === 'x').map((r) => r.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(out.filter((r) => r.key === 'odd-one').map((r) => r.value)).toEqual([1, 2])
    for (const record of out) {
      expect(record.partition).toBe(partitionForKey(Serdes.String.serialize(record.key!), 4))
    }
    const store = driver.getKeyValueStore<string, number>('counts')
    expect(Array.from(store.all())).toEqual([
      { key: 'odd-one', value: 2 },
      { key: 'x', value: 10 },
    ])
    expect(store.approximateNumEntries()).toBe(2)
    expect(Array.from(store.range('a', 'w'))).toEqual([{ key: 'odd-one', value: 2 }])
    expect(
      log.topics().find((t) => t.name === 'topology-test-driver-counts-repartition')?.config.partitions,
    ).toBe(4)
  })

  it('stamps piped records with the wall clock unless given a timestamp; advanceWallClockTime moves it', async () => {
    const driver = await create(passThrough(), { initialWallClockTimeMs: 1_000 })
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    input.pipeInput('a', '1')
    driver.advanceWallClockTime(250)
    input.pipeInput('b', '2')
    input.pipeInput('c', '3', 42)
    expect(driver.wallClockTimeMs).toBe(1_250)
    expect(
      driver
        .createOutputTopic('out', Serdes.String, Serdes.String)
        .readRecordsToList()
        .map((r) => r.timestampMs),
    ).toEqual([1_000, 1_250, 42])
    expect(
      thrown(() => {
        driver.advanceWallClockTime(-1)
      }).code,
    ).toBe('INVALID_ARGUMENT')
  })

  it('reads outputs incrementally and reports an empty topic', async () => {
    const driver = await create(passThrough())
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    const output = driver.createOutputTopic('out', Serdes.String, Serdes.String)
    expect(output.isEmpty()).toBe(true)
    input.pipeKeyValueList([
      { key: 'a', value: '1' },
      { key: null, value: '2' },
    ])
    expect(output.queueSize).toBe(2)
    expect(output.readKeyValue()).toEqual({ key: 'a', value: '1' })
    expect(output.readValue()).toBe('2')
    expect(thrown(() => output.readRecord()).code).toBe('INVALID_ARGUMENT')
  })

  it('rejects topics and stores the topology does not have, and use after close', async () => {
    const driver = await create(passThrough())
    expect(thrown(() => driver.createInputTopic('out', Serdes.String, Serdes.String)).code).toBe(
      'UNKNOWN_TOPIC',
    )
    expect(thrown(() => driver.createOutputTopic('in', Serdes.String, Serdes.String)).code).toBe(
      'UNKNOWN_TOPIC',
    )
    expect(thrown(() => driver.getKeyValueStore('nope')).code).toBe('UNKNOWN_STORE')
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    await driver.close()
    expect(
      thrown(() => {
        input.pipeInput('a', '1')
      }).code,
    ).toBe('STREAMS_CLOSED')
  })
})
