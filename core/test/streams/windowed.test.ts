import { describe, expect, it } from 'vitest'
import { Log } from '../../src/log/index.ts'
import { Serdes } from '../../src/state/index.ts'
import {
  SessionWindows,
  SlidingWindows,
  StreamsBuilder,
  StreamsError,
  TimeWindows,
  WindowedSerdes,
  type EmitStrategy,
  type TestInputTopic,
  type Topology,
  type Windowed,
} from '../../src/streams/index.ts'
import { thrown } from './thrown.ts'
import { useDrivers } from './fixtures/drivers.ts'

const fx = useDrivers()

const windowedKey = WindowedSerdes.timeWindowed(Serdes.String)

/** One output record as `key@[start,end)=value`, readable in a failing diff. */
function show(r: { key: Windowed<string> | null; value: number }): string {
  return `${r.key?.key}@[${r.key?.window.startMs},${r.key?.window.endMs})=${r.value}`
}

/** Sum of Long values per key and window, 'in' → 'out' (windowed keys), late records → 'late'. */
function sumTopology(windows: TimeWindows, emitStrategy: EmitStrategy, reduce = true): Topology {
  const builder = new StreamsBuilder()
  const grouped = builder
    .stream<string, number>('in', { keySerde: Serdes.String, valueSerde: Serdes.Long })
    .groupByKey()
    .windowedBy(windows)
  const table = reduce
    ? grouped.reduce((a, b) => a + b, { name: 'sums', emitStrategy })
    : grouped.count({ name: 'sums', emitStrategy })
  table.toStream().to('out', { keySerde: windowedKey, valueSerde: Serdes.Long })
  table.lateRecords().to('late', { valueSerde: Serdes.Long })
  return builder.build()
}

async function drive(topology: Topology, log?: Log) {
  const driver = await fx.create(topology, {
    initialWallClockTimeMs: 0,
    log,
  })
  return {
    driver,
    input: driver.createInputTopic('in', Serdes.String, Serdes.Long),
    output: driver.createOutputTopic('out', windowedKey, Serdes.Long),
    late: driver.createOutputTopic('late', Serdes.String, Serdes.Long),
  }
}

function pipeAll(input: TestInputTopic<string, number>, records: [number, number][], key = 's'): void {
  for (const [timestampMs, value] of records) input.pipeInput(key, value, timestampMs)
}

const readings = [9, 6, 8, 4, 7, 3, 8, 4, 2, 1, 3, 2]

describe('windowed reduce: the seed example (tumbling 4 ms, no grace, onWindowClose)', () => {
  it('emits 27 then 22, and 8 only once stream time reaches 12', async () => {
    const { driver, input, output } = await drive(
      sumTopology(TimeWindows.ofSizeWithNoGrace(4), 'onWindowClose'),
    )
    pipeAll(
      input,
      readings.map((v, t) => [t, v]),
    )
    const out = output.readRecordsToList()
    expect(out.map(show)).toEqual(['s@[0,4)=27', 's@[4,8)=22'])
    // Each final result carries the largest timestamp aggregated into its window.
    expect(out.map((r) => r.timestampMs)).toEqual([3, 7])
    input.pipeInput('s', 5, 12)
    expect(output.readRecordsToList().map(show)).toEqual(['s@[8,12)=8'])
    expect(driver.log.topics().length).toBeGreaterThan(0)
  })

  it('onUpdate (the default) emits every running sum', async () => {
    const { output, input } = await drive(sumTopology(TimeWindows.ofSizeWithNoGrace(4), 'onUpdate'))
    pipeAll(
      input,
      readings.map((v, t) => [t, v]),
    )
    expect(output.readValuesToList()).toEqual([9, 15, 23, 27, 7, 10, 18, 22, 2, 3, 6, 8])
  })
})

describe('window semantics: out-of-order records inside and after grace', () => {
  // [timestampMs, value] in piping order; keys all 's'; count aggregates.
  const tumblingInput: [number, number][] = [
    [1, 1],
    [12, 1],
    [8, 1], // out of order, [0,10) open until stream time 15: accepted
    [16, 1], // stream time 16 closes [0,10)
    [9, 1], // late: its only window [0,10) is closed
    [14, 1], // out of order into the open [10,20)
    [24, 1],
    [25, 1], // closes [10,20)
  ]
  const hoppingInput: [number, number][] = [
    [3, 1], // [0,10) only (no negative windows)
    [7, 1], // [0,10), [5,15)
    [12, 1], // [5,15), [10,20); stream time 12 closes [0,10) (10 + 2)
    [6, 1], // [0,10) closed, [5,15) open: counted there, not late
    [18, 1], // [10,20), [15,25); closes [5,15) (15 + 2)
    [9, 1], // [0,10) and [5,15) both closed: late
    [30, 1], // [25,35), [30,40); closes [10,20) and [15,25)
  ]

  const cases: {
    name: string
    windows: TimeWindows
    input: [number, number][]
    emit: EmitStrategy
    expected: string[]
    late: number[]
  }[] = [
    {
      name: 'tumbling 10 ms, grace 5, onUpdate',
      windows: TimeWindows.ofSizeAndGrace(10, 5),
      input: tumblingInput,
      emit: 'onUpdate',
      expected: [
        's@[0,10)=1',
        's@[10,20)=1',
        's@[0,10)=2',
        's@[10,20)=2',
        's@[10,20)=3',
        's@[20,30)=1',
        's@[20,30)=2',
      ],
      late: [9],
    },
    {
      name: 'tumbling 10 ms, grace 5, onWindowClose',
      windows: TimeWindows.ofSizeAndGrace(10, 5),
      input: tumblingInput,
      emit: 'onWindowClose',
      expected: ['s@[0,10)=2', 's@[10,20)=3'],
      late: [9],
    },
    {
      name: 'hopping 10 ms by 5, grace 2, onUpdate',
      windows: TimeWindows.ofSizeAndGrace(10, 2).advanceBy(5),
      input: hoppingInput,
      emit: 'onUpdate',
      expected: [
        's@[0,10)=1',
        's@[0,10)=2',
        's@[5,15)=1',
        's@[5,15)=2',
        's@[10,20)=1',
        's@[5,15)=3',
        's@[10,20)=2',
        's@[15,25)=1',
        's@[25,35)=1',
        's@[30,40)=1',
      ],
      late: [9],
    },
    {
      name: 'hopping 10 ms by 5, grace 2, onWindowClose',
      windows: TimeWindows.ofSizeAndGrace(10, 2).advanceBy(5),
      input: hoppingInput,
      emit: 'onWindowClose',
      expected: ['s@[0,10)=2', 's@[5,15)=3', 's@[10,20)=2', 's@[15,25)=1'],
      late: [9],
    },
  ]

  for (const c of cases) {
    it(c.name, async () => {
      const { driver, input, output, late } = await drive(sumTopology(c.windows, c.emit, false))
      pipeAll(input, c.input)
      expect(output.readRecordsToList().map(show)).toEqual(c.expected)
      const dropped = late.readRecordsToList()
      expect(dropped.map((r) => r.timestampMs)).toEqual(c.late)
      expect(dropped.map((r) => r.key)).toEqual(c.late.map(() => 's'))
      const metrics = driver.metrics()
      expect(metrics.lateRecords).toBe(c.late.length)
      expect(metrics.droppedRecords).toBe(c.late.length)
    })
  }

  it('keys are windowed independently, and closed windows are emitted by start, then key', async () => {
    const { input, output } = await drive(sumTopology(TimeWindows.ofSizeWithNoGrace(10), 'onWindowClose'))
    input.pipeInput('b', 1, 1)
    input.pipeInput('a', 2, 2)
    input.pipeInput('b', 3, 11)
    input.pipeInput('a', 4, 25)
    expect(output.readRecordsToList().map(show)).toEqual(['a@[0,10)=2', 'b@[0,10)=1', 'b@[10,20)=3'])
  })

  it('aggregate folds from the initializer in every window, with its own value serde', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, number>('in', { valueSerde: Serdes.Long })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(5))
      .aggregate(
        () => ({ min: Infinity, max: -Infinity }),
        (_k, v, agg) => ({ min: Math.min(agg.min, v), max: Math.max(agg.max, v) }),
        {
          name: 'range',
          valueSerde: Serdes.JSON<{ min: number; max: number }>(),
          emitStrategy: 'onWindowClose',
        },
      )
      .toStream()
      .mapValues((r) => `${r.min}..${r.max}`)
      .to('out')
    const driver = await fx.create(builder.build(), { initialWallClockTimeMs: 0 })
    const input = driver.createInputTopic('in', Serdes.String, Serdes.Long)
    pipeAll(input, [
      [0, 5],
      [1, 3],
      [4, 9],
      [5, 1],
      [10, 0],
    ])
    const out = driver.createOutputTopic('out', windowedKey, Serdes.String).readRecordsToList()
    expect(out.map((r) => `${r.key?.window.startMs}:${r.value}`)).toEqual(['0:3..9', '5:1..1'])
  })
})

describe('windowed aggregation over partitions', () => {
  it('repartitions by a new key, keeps each key in one task, and is queryable across tasks', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .groupBy((_k, v) => v)
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
      .count({ name: 'counts' })
      .toStream()
      .to('out', { valueSerde: Serdes.Long })
    const driver = await fx.create(builder.build(), {
      initialWallClockTimeMs: 0,
      partitions: 2,
    })
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    const records: [string, string, number][] = [
      ['x', 'a', 1],
      ['y', 'b', 2],
      ['z', 'a', 3],
      ['x', 'c', 12],
      ['y', 'a', 15],
    ]
    for (const [key, value, t] of records) input.pipeInput(key, value, t)
    const out = driver.createOutputTopic('out', windowedKey, Serdes.Long).readRecordsToList()
    expect(out.map(show).sort()).toEqual([
      'a@[0,10)=1',
      'a@[0,10)=2',
      'a@[10,20)=1',
      'b@[0,10)=1',
      'c@[10,20)=1',
    ])
    const store = driver.getWindowStore<string, number>('counts')
    expect(store.fetch('a', 0)).toBe(2)
    expect(store.fetch('a', 5)).toBeUndefined()
    expect(Array.from(store.fetchRange('a', 0, 20), (e) => show({ key: e.key, value: e.value }))).toEqual([
      'a@[0,10)=2',
      'a@[10,20)=1',
    ])
    expect(Array.from(store.fetchAll(0, 100), (e) => show({ key: e.key, value: e.value }))).toEqual([
      'a@[0,10)=2',
      'b@[0,10)=1',
      'a@[10,20)=1',
      'c@[10,20)=1',
    ])
    expect(thrown(() => driver.getWindowStore('nope'))).toMatchObject({ code: 'UNKNOWN_STORE' })
  })
})

describe('windowed aggregation across a restart', () => {
  it('onWindowClose neither re-emits nor misses a window when the engine and log reopen', async () => {
    const dir = fx.tempDir('vigil-windowed-restart-')
    const topology = sumTopology(TimeWindows.ofSizeWithNoGrace(4), 'onWindowClose')

    const first = await fx.openLog(dir)
    const run1 = await drive(topology, first)
    pipeAll(
      run1.input,
      readings.slice(0, 7).map((v, t) => [t, v]),
    )
    expect(run1.output.readRecordsToList().map(show)).toEqual(['s@[0,4)=27'])
    await fx.close(run1.driver, first)

    const second = await fx.openLog(dir)
    const run2 = await drive(topology, second)
    // Timestamps 7..11: stream time 8 closes [4,8), whose first three records came before the restart.
    pipeAll(
      run2.input,
      readings.slice(7).map((v, i) => [7 + i, v]),
    )
    expect(run2.output.readRecordsToList().map(show)).toEqual(['s@[4,8)=22'])
    // A late record after the restart: stream time (11) was restored, so [0,4) stays closed.
    run2.input.pipeInput('s', 100, 2)
    expect(run2.late.readValuesToList()).toEqual([100])
    run2.input.pipeInput('s', 5, 12)
    expect(run2.output.readRecordsToList().map(show)).toEqual(['s@[8,12)=8'])
    // Everything the application ever wrote to 'out': each window exactly once.
    const all = second
      .read('out', 0, 0, { maxRecords: 100 })
      .map((r) => show({ key: windowedKey.deserialize(r.key!), value: Serdes.Long.deserialize(r.value) }))
    expect(all).toEqual(['s@[0,4)=27', 's@[4,8)=22', 's@[8,12)=8'])
  })
})

describe('WindowedSerdes.timeWindowed', () => {
  it('round-trips key, start and end as key bytes + two u64 big-endian', () => {
    const bytes = windowedKey.serialize({ key: 'ab', window: { startMs: 258, endMs: 1 } })
    expect([...bytes]).toEqual([97, 98, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1])
    expect(windowedKey.deserialize(bytes)).toEqual({ key: 'ab', window: { startMs: 258, endMs: 1 } })
  })

  it('refuses fewer than 16 bytes', () => {
    expect(() => windowedKey.deserialize(new Uint8Array(15))).toThrow(
      expect.objectContaining({ code: 'SERDE_FAILURE' }),
    )
  })

  it('the windowed options are validated', () => {
    const grouped = new StreamsBuilder()
      .stream('in')
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(4))
    const error = thrown(() => grouped.count({ emitStrategy: 'onClose' as EmitStrategy }))
    expect(error).toBeInstanceOf(StreamsError)
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' })
    const notWindows = { sizeMs: 5 } as unknown as TimeWindows
    const error2 = thrown(() => new StreamsBuilder().stream('in').groupByKey().windowedBy(notWindows))
    expect(error2).toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(error2.message).toContain('SlidingWindows or SessionWindows')
    // Wall-clock close only makes sense when windows emit on close.
    const onUpdate = thrown(() => grouped.count({ wallClockCloseAfterMs: 1000 }))
    expect(onUpdate).toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(onUpdate.message).toContain("add emitStrategy: 'onWindowClose'")
    expect(
      thrown(() => grouped.count({ emitStrategy: 'onWindowClose', wallClockCloseAfterMs: 0 })),
    ).toMatchObject({ code: 'INVALID_ARGUMENT' })
    // The same options for sliding and session windowed aggregations.
    const sliding = new StreamsBuilder()
      .stream('in')
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(4))
    expect(thrown(() => sliding.count({ emitStrategy: 'onClose' as EmitStrategy }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    const session = new StreamsBuilder()
      .stream('in')
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(4))
    expect(thrown(() => session.count({ wallClockCloseAfterMs: 5 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })
})
