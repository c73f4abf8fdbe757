import { describe, expect, it } from 'vitest'
import { Log } from '../../src/log/index.ts'
import { Serdes } from '../../src/state/index.ts'
import { StreamsBuilder, StreamsEngine, type Topology } from '../../src/streams/index.ts'
import { useDrivers } from './fixtures/drivers.ts'

const fx = useDrivers()

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
    const driver = await fx.create(wordCount())
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
    const driver = await fx.create(topology, { applicationId: 'wc' })
    expect(driver.log.topics().map((t) => t.name)).toContain('wc-counts-store-repartition')
  })
})

describe('word count across a restart', () => {
  const INPUT = 'streams-plaintext-input'
  const OUTPUT = 'streams-wordcount-output'
  const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'kafka', 'streams', 'lmdb', 'vigil', 'ecg', 'spo2']
  const lines = Array.from({ length: 240 }, (_, i) =>
    Array.from({ length: 1 + (i % 4) }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' '),
  )
  const split = 130

  async function openLog(dir: string): Promise<Log> {
    const log = await Log.open({ dataDir: dir })
    await log.ensureTopic(INPUT, { partitions: 2 })
    await log.ensureTopic(OUTPUT, { partitions: 2 })
    return log
  }

  async function append(log: Log, from: number, to: number): Promise<void> {
    await log.appendBatch(
      INPUT,
      lines.slice(from, to).map((line, i) => ({
        key: Serdes.String.serialize(`line-${from + i}`),
        value: Serdes.String.serialize(line),
      })),
    )
  }

  const start = (log: Log): Promise<StreamsEngine> =>
    StreamsEngine.start(wordCount(), log, { applicationId: 'wc', maxRecordsPerCommit: 17 })

  /** Every output record per partition, and the final counts, as one engine or the restarted one left them. */
  function outcome(log: Log, engine: StreamsEngine) {
    const partitions = [0, 1].map((p) =>
      log
        .read(OUTPUT, p, 0, { maxRecords: 10_000 })
        .map((r) => `${Serdes.String.deserialize(r.key!)}=${Serdes.Long.deserialize(r.value)}`),
    )
    return { partitions, counts: Array.from(engine.keyValueStore<string, number>('counts-store').all()) }
  }

  it('a restarted engine (engine and log closed and reopened) ends exactly where an uninterrupted one does', async () => {
    const referenceDir = fx.tempDir('vigil-wc-reference-')
    const restartedDir = fx.tempDir('vigil-wc-restarted-')

    const referenceLog = await openLog(referenceDir)
    const reference = await start(referenceLog)
    await append(referenceLog, 0, split)
    reference.processAvailable()
    await append(referenceLog, split, lines.length)
    reference.processAvailable()
    const expected = outcome(referenceLog, reference)
    reference.close()
    await referenceLog.close()

    const firstLog = await openLog(restartedDir)
    const first = await start(firstLog)
    await append(firstLog, 0, split)
    first.processAvailable()
    first.close()
    await firstLog.close()
    const log = await openLog(restartedDir)
    const restarted = await start(log)
    await append(log, split, lines.length)
    restarted.processAvailable()
    const actual = outcome(log, restarted)
    restarted.close()
    await log.close()

    expect(actual).toEqual(expected)
    // One update per word, no duplicates; the final counts are the true counts.
    const words = lines.flatMap((line) => line.split(' '))
    expect(actual.partitions.flat()).toHaveLength(words.length)
    const truth = new Map<string, number>()
    for (const word of words) truth.set(word, (truth.get(word) ?? 0) + 1)
    expect(actual.counts).toEqual(
      [...truth].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ key, value })),
    )
  })
})
