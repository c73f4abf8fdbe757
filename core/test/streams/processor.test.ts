import { describe, expect, it } from 'vitest'
import { Log } from '../../src/log/index.ts'
import { Serdes, type KeyValueStore, type WindowStore } from '../../src/state/index.ts'
import { StreamsBuilder, TopologyTestDriver, type Topology } from '../../src/streams/index.ts'
import type {
  KeyValueStoreSpec,
  Processor,
  ProcessorContext,
  Record,
  RecordMetadata,
} from '../../src/streams/processor.ts'
import { rejection, thrown } from './thrown.ts'
import { useDrivers } from './fixtures/drivers.ts'

const fx = useDrivers()

async function drive(topology: Topology, log?: Log) {
  const driver = await fx.create(topology, {
    initialWallClockTimeMs: 0,
    log,
  })
  return {
    driver,
    input: driver.createInputTopic('in', Serdes.String, Serdes.String),
    output: driver.createOutputTopic('out', Serdes.String, Serdes.Long),
  }
}

/** Counts records per key in a store (not in a field: fields are not durable) and forwards the count. */
class CountingProcessor implements Processor<string, string, string, number> {
  readonly #spec: KeyValueStoreSpec<string, number>
  #context: ProcessorContext<string, number> | undefined
  #store: KeyValueStore<string, number> | undefined
  static closed = 0

  constructor(spec: KeyValueStoreSpec<string, number>) {
    this.#spec = spec
  }

  init(context: ProcessorContext<string, number>): void {
    this.#context = context
    this.#store = context.getStateStore(this.#spec)
  }

  process(record: Record<string, string>): void {
    const count = (this.#store!.get(record.key) ?? 0) + 1
    this.#store!.put(record.key, count)
    this.#context!.forward({ key: record.key, value: count, timestampMs: record.timestampMs })
  }

  close(): void {
    CountingProcessor.closed++
  }
}

function countingTopology(): Topology {
  const builder = new StreamsBuilder()
  const counts = builder.addStateStore({
    kind: 'keyValue',
    name: 'counts',
    keySerde: Serdes.String,
    valueSerde: Serdes.Long,
  })
  builder
    .stream<string, string>('in')
    .process<string, number>(() => new CountingProcessor(counts), { stores: [counts] })
    .to('out', { valueSerde: Serdes.Long })
  return builder.build()
}

describe('KStream.process with a store', () => {
  it('forwards what the processor forwards and keeps its state in the store', async () => {
    const { driver, input, output } = await drive(countingTopology())
    input.pipeInput('a', 'x', 5)
    input.pipeInput('b', 'y', 6)
    input.pipeInput('a', 'z', 7)
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestampMs])).toEqual([
      ['a', 1, 5],
      ['b', 1, 6],
      ['a', 2, 7],
    ])
    expect(driver.getKeyValueStore<string, number>('counts').get('a')).toBe(2)
  })

  it('closes the processor when the driver closes', async () => {
    const before = CountingProcessor.closed
    const { driver } = await drive(countingTopology())
    await driver.close()
    expect(CountingProcessor.closed).toBe(before + 1)
  })

  it('rebuilds from the store, not from memory, when restarted on the same log', async () => {
    const dir = fx.tempDir('vigil-processor-restart-')
    const topology = countingTopology()
    const first = await fx.openLog(dir)
    const run1 = await drive(topology, first)
    run1.input.pipeInput('a', 'x', 1)
    run1.input.pipeInput('a', 'x', 2)
    await fx.close(run1.driver, first)

    const second = await fx.openLog(dir)
    const run2 = await drive(topology, second)
    run2.input.pipeInput('a', 'x', 3)
    expect(run2.output.readValuesToList()).toEqual([3])
  })

  it('reports the record metadata of the record being processed', async () => {
    const seen: (RecordMetadata | undefined)[] = []
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .process<string, string>(() => {
        let context: ProcessorContext<string, string> | undefined
        return {
          init: (c) => {
            context = c
          },
          process: (record) => {
            seen.push(context!.recordMetadata())
            context!.forward(record)
          },
        }
      })
      .to('out')
    const driver = await fx.create(builder.build(), { initialWallClockTimeMs: 0 })
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    input.pipeInput('k', 'v1')
    input.pipeInput('k', 'v2')
    expect(seen).toEqual([
      { topic: 'in', partition: 0, offset: 0 },
      { topic: 'in', partition: 0, offset: 1 },
    ])
    expect(driver.createOutputTopic('out', Serdes.String, Serdes.String).readValuesToList()).toEqual([
      'v1',
      'v2',
    ])
  })

  it('gives a window store by spec, typed', async () => {
    const builder = new StreamsBuilder()
    const windows = builder.addStateStore({
      kind: 'window',
      name: 'recent',
      keySerde: Serdes.String,
      valueSerde: Serdes.String,
      windowSizeMs: 10,
      retentionMs: 100,
    })
    builder
      .stream<string, string>('in')
      .process<string, number>(
        () => {
          let store: WindowStore<string, string> | undefined
          return {
            init: (context) => {
              store = context.getStateStore(windows)
            },
            process: (record) => {
              store!.put(record.key, record.value, Math.floor(record.timestampMs / 10) * 10)
            },
          }
        },
        { stores: ['recent'] },
      )
      .to('out', { valueSerde: Serdes.Long })
    const { driver, input } = await drive(builder.build())
    input.pipeInput('k', 'v', 17)
    expect(driver.getWindowStore<string, string>('recent').fetch('k', 10)).toBe('v')
  })

  it('refuses a store the processor did not declare (UNKNOWN_STORE) and an unknown one (INVALID_TOPOLOGY)', async () => {
    const builder = new StreamsBuilder()
    builder.addStateStore({
      kind: 'keyValue',
      name: 'other',
      keySerde: Serdes.String,
      valueSerde: Serdes.String,
    })
    const stream = builder.stream<string, string>('in')
    const error = thrown(() => stream.process(() => ({ process: () => {} }), { stores: ['missing'] }))
    expect(error.code).toBe('INVALID_TOPOLOGY')
    expect(error.message).toContain('addStateStore')

    stream
      .process<string, string>(
        () => ({
          init: (context) => {
            context.getStateStore('undeclared')
          },
          process: () => {},
        }),
        { stores: [] },
      )
      .to('out')
    // 'other' is declared by nobody: it exists in no task. The processor asks for a name it did not declare.
    const rejected = await rejection(TopologyTestDriver.create(builder.build()))
    expect(rejected.code).toBe('UNKNOWN_STORE')
    expect(rejected.message).toContain('undeclared')
  })

  it('validates addStateStore specs with the field and the fix', () => {
    const builder = new StreamsBuilder()
    const bad = thrown(() =>
      builder.addStateStore({
        kind: 'window',
        name: 'w',
        keySerde: Serdes.String,
        valueSerde: Serdes.String,
        windowSizeMs: 10,
        retentionMs: 5,
      }),
    )
    expect(bad.code).toBe('INVALID_ARGUMENT')
    expect(bad.message).toContain('retentionMs')
    builder.addStateStore({ kind: 'keyValue', name: 's', keySerde: Serdes.String, valueSerde: Serdes.String })
    const twice = thrown(() =>
      builder.addStateStore({
        kind: 'keyValue',
        name: 's',
        keySerde: Serdes.String,
        valueSerde: Serdes.String,
      }),
    )
    expect(twice.code).toBe('INVALID_TOPOLOGY')
  })

  it('fails the task with TASK_FAILED when forward is called outside processing', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .process<string, string>(() => ({
        init: (context) => {
          context.forward({ key: 'k', value: 'v', timestampMs: 0 })
        },
        process: () => {},
      }))
      .to('out')
    const error = await rejection(TopologyTestDriver.create(builder.build()))
    expect(error.code).toBe('TASK_FAILED')
    expect(error.message).toContain('outside processing')
  })
})
