import { afterEach, describe, expect, it } from 'vitest'
import { Serdes } from '../../src/state/index.ts'
import { StreamsBuilder, TopologyTestDriver, type Topology } from '../../src/streams/index.ts'

const drivers: TopologyTestDriver[] = []
afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close()
})

/** DESIGN.md's seed example, verbatim. */
function wordCount(): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('streams-plaintext-input')
    .flatMapValues((v) => v.toLowerCase().split(/\W+/))
    .groupBy((_k, word) => word)
    .count({ name: 'counts-store' })
    .toStream()
    .to('streams-wordcount-output', { keySerde: Serdes.String, valueSerde: Serdes.Long })
  return builder.build()
}

describe('word count (the seed example)', () => {
  it('emits a running count per word occurrence and keeps the final counts queryable', async () => {
    const driver = await TopologyTestDriver.create(wordCount())
    drivers.push(driver)
    const input = driver.createInputTopic('streams-plaintext-input', Serdes.String, Serdes.String)
    const output = driver.createOutputTopic('streams-wordcount-output', Serdes.String, Serdes.Long)

    input.pipeInput(null, 'all streams lead to Kafka')
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'all', value: 1 },
      { key: 'streams', value: 1 },
      { key: 'lead', value: 1 },
      { key: 'to', value: 1 },
      { key: 'kafka', value: 1 },
    ])
    input.pipeInput(null, 'hello kafka streams')
    input.pipeInput(null, 'join kafka summit')
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'hello', value: 1 },
      { key: 'kafka', value: 2 },
      { key: 'streams', value: 2 },
      { key: 'join', value: 1 },
      { key: 'kafka', value: 3 },
      { key: 'summit', value: 1 },
    ])

    const store = driver.getKeyValueStore<string, number>('counts-store')
    expect(store.get('kafka')).toBe(3)
    expect(store.get('missing')).toBeUndefined()
    expect(Array.from(store.all())).toEqual([
      { key: 'all', value: 1 },
      { key: 'hello', value: 1 },
      { key: 'join', value: 1 },
      { key: 'kafka', value: 3 },
      { key: 'lead', value: 1 },
      { key: 'streams', value: 2 },
      { key: 'summit', value: 1 },
      { key: 'to', value: 1 },
    ])
    expect('put' in store).toBe(false)
    // 11 words went through the repartition topic, offsets 0..10.
    expect(store.position().toJSON()).toEqual({ 'topology-test-driver-counts-store-repartition/0': 10 })
  })

  it('repartitions through <applicationId>-counts-store-repartition, as describe() shows', async () => {
    const topology = wordCount()
    expect(topology.internalTopics).toEqual(['counts-store-repartition'])
    expect(topology.describe()).toBe(
      [
        'Topologies:',
        '   Sub-topology: 0',
        '    Source: KSTREAM-SOURCE-0000000000 (topics: [streams-plaintext-input])',
        '      --> KSTREAM-FLATMAPVALUES-0000000001',
        '    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])',
        '      --> KSTREAM-KEY-SELECT-0000000002',
        '      <-- KSTREAM-SOURCE-0000000000',
        '    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])',
        '      --> counts-store-repartition-sink',
        '      <-- KSTREAM-FLATMAPVALUES-0000000001',
        '    Sink: counts-store-repartition-sink (topic: counts-store-repartition)',
        '      <-- KSTREAM-KEY-SELECT-0000000002',
        '   Sub-topology: 1',
        '    Source: counts-store-repartition-source (topics: [counts-store-repartition])',
        '      --> KSTREAM-AGGREGATE-0000000003',
        '    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])',
        '      --> KTABLE-TOSTREAM-0000000004',
        '      <-- counts-store-repartition-source',
        '    Processor: KTABLE-TOSTREAM-0000000004 (stores: [])',
        '      --> KSTREAM-SINK-0000000005',
        '      <-- KSTREAM-AGGREGATE-0000000003',
        '    Sink: KSTREAM-SINK-0000000005 (topic: streams-wordcount-output)',
        '      <-- KTABLE-TOSTREAM-0000000004',
        '',
      ].join('\n'),
    )
    const driver = await TopologyTestDriver.create(topology, { applicationId: 'wc' })
    drivers.push(driver)
    expect(driver.log.topics().map((t) => t.name)).toContain('wc-counts-store-repartition')
  })
})
