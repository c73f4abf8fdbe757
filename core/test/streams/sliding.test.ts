import { describe, expect, it } from 'vitest'
import { Log } from '../../src/log/index.ts'
import { Serdes, type Windowed } from '../../src/state/index.ts'
import { StreamsBuilder } from '../../src/streams/builder.ts'
import type { Topology } from '../../src/streams/topology.ts'
import type { EmitStrategy } from '../../src/streams/windowed-common.ts'
import { WindowedSerdes } from '../../src/streams/windowed-serdes.ts'
import { SlidingWindows } from '../../src/streams/windows.ts'
import { type TestInputTopic } from '../../src/testing/index.ts'
import { useDrivers } from './fixtures/drivers.ts'

/*
 * Expected outputs below are derived by hand from KIP-450's definition, not from the code: for a
 * key, the windows are [t − d, t] for every record t ≥ d, [0, d] for records before d, and
 * [t + 1, t + 1 + d] for every record t with a later record within it; each holds the records in
 * [start, end]. A window is updated (and, onUpdate, emitted) while stream time ≤ end + grace; a
 * record is late once stream time > t + d + grace. Per record, onUpdate emits by ascending start.
 */

const fx = useDrivers()

const windowedKey = WindowedSerdes.timeWindowed(Serdes.String)

/** `key@[start,end]=value` (sliding windows are inclusive at both ends). */
function show(r: { key: Windowed<string> | null; value: number }): string {
  return `${r.key?.key}@[${r.key?.window.startMs},${r.key?.window.endMs}]=${r.value}`
}

function countTopology(windows: SlidingWindows, emitStrategy: EmitStrategy): Topology {
  const builder = new StreamsBuilder()
  const table = builder
    .stream<string, number>('in', { keySerde: Serdes.String, valueSerde: Serdes.Long })
    .groupByKey()
    .windowedBy(windows)
    .count({ name: 'counts', emitStrategy })
  table.toStream().to('out', { keySerde: windowedKey, valueSerde: Serdes.Long })
  table.lateRecords().to('late', { valueSerde: Serdes.Long })
  return builder.build()
}

async function drive(topology: Topology, options: { log?: Log; partitions?: number } = {}) {
  const driver = await fx.create(topology, { initialWallClockTimeMs: 0, ...options })
  return {
    driver,
    input: driver.createInputTopic('in', Serdes.String, Serdes.Long),
    output: driver.createOutputTopic('out', windowedKey, Serdes.Long),
    late: driver.createOutputTopic('late', Serdes.String, Serdes.Long),
  }
}

function pipeAll(input: TestInputTopic<string, number>, timestamps: number[], key = 's'): void {
  for (const t of timestamps) input.pipeInput(key, 1, t)
}

// difference 10, grace 5; key 's'
const outOfOrder = [
  10, // [0,10]={10}
  15, // [5,15]={10,15}; 10's right window [11,21]={15}
  12, // out of order: [2,12]={10,12} new, [5,15] +1, [11,21] +1, 12's right [13,23]={15}
  30, // [20,30]={30}; 15's right [16,26] stays empty. Closes every window ending before 25
  14, // late: 30 > 14 + 10 + 5
  16, // not late (30 ≤ 31); its windows holding it are closed except 15's right [16,26]={16}
  40, // [30,40]={30,40}, 30's right [31,41]={40}
]

describe('sliding windows: semantics table (difference 10, grace 5)', () => {
  const cases: { emit: EmitStrategy; expected: string[] }[] = [
    {
      emit: 'onUpdate',
      expected: [
        's@[0,10]=1',
        's@[5,15]=2',
        's@[11,21]=1',
        's@[2,12]=2',
        's@[5,15]=3',
        's@[11,21]=2',
        's@[13,23]=1',
        's@[20,30]=1',
        's@[16,26]=1',
        's@[30,40]=2',
        's@[31,41]=1',
      ],
    },
    {
      emit: 'onWindowClose',
      // At 30: windows ending before 25; at 40: [16,26] and [20,30] (end < 35); by start.
      expected: [
        's@[0,10]=1',
        's@[2,12]=2',
        's@[5,15]=3',
        's@[11,21]=2',
        's@[13,23]=1',
        's@[16,26]=1',
        's@[20,30]=1',
      ],
    },
  ]
  for (const c of cases) {
    it(c.emit, async () => {
      const { driver, input, output, late } = await drive(
        countTopology(SlidingWindows.ofTimeDifferenceAndGrace(10, 5), c.emit),
      )
      pipeAll(input, outOfOrder)
      expect(output.readRecordsToList().map(show)).toEqual(c.expected)
      expect(late.readRecordsToList().map((r) => `${r.key}@${r.timestampMs}`)).toEqual(['s@14'])
      expect(driver.metrics()).toMatchObject({ lateRecords: 1, droppedRecords: 1 })
    })
  }

  it('an output record carries the largest timestamp in its window', async () => {
    const { input, output } = await drive(
      countTopology(SlidingWindows.ofTimeDifferenceAndGrace(10, 5), 'onUpdate'),
    )
    pipeAll(input, [10, 15, 12])
    const out = output.readRecordsToList()
    expect(out.map((r) => `${show(r)}@${r.timestampMs}`)).toEqual([
      's@[0,10]=1@10',
      's@[5,15]=2@15',
      's@[11,21]=1@15',
      's@[2,12]=2@12',
      's@[5,15]=3@15',
      's@[11,21]=2@15',
      's@[13,23]=1@15',
    ])
  })
})

describe('sliding windows: records within the first difference share [0, d]', () => {
  // difference 10, no grace: 5, 3 (out of order), 8, 12, then 100 to close everything
  it('onUpdate', async () => {
    const { input, output } = await drive(
      countTopology(SlidingWindows.ofTimeDifferenceWithNoGrace(10), 'onUpdate'),
    )
    pipeAll(input, [5, 3, 8, 12])
    expect(output.readRecordsToList().map(show)).toEqual([
      's@[0,10]=1',
      // 3: into [0,10]; its right window [4,14] holds 5
      's@[0,10]=2',
      's@[4,14]=1',
      // 8: into [0,10] and [4,14]; 5's right window [6,16] appears; 8's right window is empty
      's@[0,10]=3',
      's@[4,14]=2',
      's@[6,16]=1',
      // 12: its left window [2,12] holds 3, 5, 8, 12; 8's right window [9,19] appears
      's@[2,12]=4',
      's@[4,14]=3',
      's@[6,16]=2',
      's@[9,19]=1',
    ])
  })

  it('onWindowClose', async () => {
    const { input, output, late } = await drive(
      countTopology(SlidingWindows.ofTimeDifferenceWithNoGrace(10), 'onWindowClose'),
    )
    pipeAll(input, [5, 3, 8])
    expect(output.readRecordsToList()).toEqual([])
    // Stream time 12 closes [0,10] (12 > 10 + 0), before 12 is aggregated.
    pipeAll(input, [12])
    expect(output.readRecordsToList().map(show)).toEqual(['s@[0,10]=3'])
    pipeAll(input, [100])
    expect(output.readRecordsToList().map(show)).toEqual([
      's@[2,12]=4',
      's@[4,14]=3',
      's@[6,16]=2',
      's@[9,19]=1',
    ])
    // 89 is late at stream time 100 (100 > 89 + 10); 90 is not: it joins [90,100].
    pipeAll(input, [89, 90])
    expect(late.readValuesToList()).toEqual([1])
  })
})

describe('sliding windows: keys, partitions and queries', () => {
  it('repartitions by a new key and each task aggregates its keys; the store is queryable', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .groupBy((_k, v) => v)
      .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10))
      .count({ name: 'counts' })
      .toStream()
      .to('out', { keySerde: windowedKey, valueSerde: Serdes.Long })
    const driver = await fx.create(builder.build(), {
      initialWallClockTimeMs: 0,
      partitions: 2,
    })
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    for (const [key, value, t] of [
      ['x', 'a', 20],
      ['y', 'b', 22],
      ['z', 'a', 25],
      ['x', 'b', 40],
    ] as const) {
      input.pipeInput(key, value, t)
    }
    const out = driver.createOutputTopic('out', windowedKey, Serdes.Long).readRecordsToList()
    expect(out.map(show).sort()).toEqual([
      'a@[10,20]=1',
      'a@[15,25]=2',
      'a@[21,31]=1',
      'b@[12,22]=1',
      'b@[30,40]=1',
    ])
    const store = driver.getWindowStore<string, number>('counts')
    expect(store.fetch('a', 15)).toBe(2)
    expect(store.fetch('a', 21)).toBe(1)
    expect(store.fetch('b', 23)).toBeUndefined()
  })

  it('reduce and aggregate fold the same windows', async () => {
    const builder = new StreamsBuilder()
    const grouped = builder
      .stream<string, number>('in', { valueSerde: Serdes.Long })
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(5))
    grouped
      .reduce((a, b) => a + b, { name: 'sum' })
      .toStream()
      .to('out', { keySerde: windowedKey, valueSerde: Serdes.Long })
    grouped
      .aggregate(
        () => '',
        (_k, v, agg) => `${agg}${v}`,
        { name: 'concat' },
      )
      .toStream()
      .to('joined', { keySerde: windowedKey })
    const driver = await fx.create(builder.build(), { initialWallClockTimeMs: 0 })
    const input = driver.createInputTopic('in', Serdes.String, Serdes.Long)
    input.pipeInput('k', 1, 10)
    input.pipeInput('k', 2, 13)
    const sums = driver.createOutputTopic('out', windowedKey, Serdes.Long).readRecordsToList().map(show)
    expect(sums).toEqual(['k@[5,10]=1', 'k@[8,13]=3', 'k@[11,16]=2'])
    const joined = driver.createOutputTopic('joined', windowedKey, Serdes.String).readRecordsToList()
    expect(joined.map((r) => `${r.key?.window.startMs}:${r.value}`)).toEqual(['5:1', '8:12', '11:2'])
  })
})

describe('sliding windows across a restart', () => {
  it('onWindowClose neither re-emits nor misses a window, and stream time is restored', async () => {
    const dir = fx.tempDir('vigil-sliding-restart-')
    const topology = countTopology(SlidingWindows.ofTimeDifferenceAndGrace(10, 5), 'onWindowClose')
    const first = await fx.openLog(dir)
    const run1 = await drive(topology, { log: first })
    pipeAll(run1.input, outOfOrder.slice(0, 4))
    expect(run1.output.readRecordsToList().map(show)).toEqual([
      's@[0,10]=1',
      's@[2,12]=2',
      's@[5,15]=3',
      's@[11,21]=2',
      's@[13,23]=1',
    ])
    await fx.close(run1.driver, first)

    const second = await fx.openLog(dir)
    const run2 = await drive(topology, { log: second })
    pipeAll(run2.input, outOfOrder.slice(4))
    expect(run2.late.readRecordsToList().map((r) => r.timestampMs)).toEqual([14])
    expect(run2.output.readRecordsToList().map(show)).toEqual(['s@[16,26]=1', 's@[20,30]=1'])
  })
})
