import { describe, expect, it } from 'vitest'
import { Log } from '../../src/log/index.ts'
import { Serdes, type Serde, type Windowed } from '../../src/state/index.ts'
import { StreamsBuilder } from '../../src/streams/builder.ts'
import type { Topology } from '../../src/streams/topology.ts'
import type { EmitStrategy } from '../../src/streams/windowed-common.ts'
import { WindowedSerdes } from '../../src/streams/windowed-serdes.ts'
import { SessionWindows } from '../../src/streams/windows.ts'
import { type TestInputTopic } from '../../src/testing/index.ts'
import { useDrivers } from './fixtures/drivers.ts'

/*
 * Expected outputs are derived by hand from Kafka Streams' session semantics: a record at t joins
 * (and merges) every session of its key with end ≥ t − gap and start ≤ t + gap that is not final;
 * the merged session is [min start, max end]. It is late when that merged session is closed (stream
 * time > end + grace). A session is final once stream time > end + gap + grace: no record that is
 * not late can join it any more. (Kafka merges such a session only until its store expires it, at
 * about that point.) onUpdate emits a tombstone for each session merged away, then the merged session;
 * onWindowClose emits a session once stream time > its end + grace.
 */

const fx = useDrivers()

const sessionKey = WindowedSerdes.sessionWindowed(Serdes.String)

/** Serdes.Long that also carries tombstones (null as zero bytes). */
const NullableLong: Serde<number | null> = {
  serialize: (v) => (v === null ? new Uint8Array(0) : Serdes.Long.serialize(v)),
  deserialize: (bytes) => (bytes.byteLength === 0 ? null : Serdes.Long.deserialize(bytes)),
}

function show(r: { key: Windowed<string> | null; value: number | null }): string {
  return `${r.key?.key}@[${r.key?.window.startMs},${r.key?.window.endMs}]=${r.value}`
}

function countTopology(windows: SessionWindows, emitStrategy: EmitStrategy): Topology {
  const builder = new StreamsBuilder()
  const table = builder
    .stream<string, number>('in', { keySerde: Serdes.String, valueSerde: Serdes.Long })
    .groupByKey()
    .windowedBy(windows)
    .count({ name: 'sessions', emitStrategy })
  table.toStream().to('out', { keySerde: sessionKey, valueSerde: NullableLong as Serde<number> })
  table.lateRecords().to('late', { valueSerde: Serdes.Long })
  return builder.build()
}

async function drive(topology: Topology, options: { log?: Log; partitions?: number } = {}) {
  const driver = await fx.create(topology, { initialWallClockTimeMs: 0, ...options })
  return {
    driver,
    input: driver.createInputTopic('in', Serdes.String, Serdes.Long),
    output: driver.createOutputTopic('out', sessionKey, NullableLong),
    late: driver.createOutputTopic('late', Serdes.String, Serdes.Long),
  }
}

function pipeAll(input: TestInputTopic<string, number>, timestamps: number[], key = 's'): void {
  for (const t of timestamps) input.pipeInput(key, 1, t)
}

// gap 10, grace 5; key 's'
const records = [
  0, // [0,0]
  5, // merges [0,0] → [0,5]
  30, // new [30,30]; [0,5] is final at 30 (30 > 5 + 10 + 5)
  18, // would be [18,18] alone (joins nothing: 5 < 8, 30 > 28) — closed: late
  22, // merges [30,30] → [22,30]
  3, // within the gap of [0,5], final: alone, [3,3] is closed: late
  26, // inside [22,30]: updated in place
  50, // new [50,50]; [22,30] is final (50 > 45)
  41, // merges [50,50] → [41,50]
  35, // within the gap of the final [22,30] and of [41,50]: merges only that → [35,50]
  70, // new [70,70]; [35,50] is final (70 > 65)
]

describe('session windows: semantics table (gap 10, grace 5)', () => {
  const cases: { emit: EmitStrategy; expected: string[] }[] = [
    {
      emit: 'onUpdate',
      expected: [
        's@[0,0]=1',
        's@[0,0]=null',
        's@[0,5]=2',
        's@[30,30]=1',
        's@[30,30]=null',
        's@[22,30]=2',
        's@[22,30]=3',
        's@[50,50]=1',
        's@[50,50]=null',
        's@[41,50]=2',
        's@[41,50]=null',
        's@[35,50]=3',
        's@[70,70]=1',
      ],
    },
    {
      emit: 'onWindowClose',
      // [0,5] at 30, [22,30] at 50, [35,50] at 70: each once, final.
      expected: ['s@[0,5]=2', 's@[22,30]=3', 's@[35,50]=3'],
    },
  ]
  for (const c of cases) {
    it(c.emit, async () => {
      const { driver, input, output, late } = await drive(
        countTopology(SessionWindows.ofInactivityGapAndGrace(10, 5), c.emit),
      )
      pipeAll(input, records)
      expect(output.readRecordsToList().map(show)).toEqual(c.expected)
      expect(late.readRecordsToList().map((r) => r.timestampMs)).toEqual([18, 3])
      expect(driver.metrics()).toMatchObject({ lateRecords: 2, droppedRecords: 2 })
      // Retention gap + grace behind the latest end (70): only [70,70] is still kept.
      const store = driver.getSessionStore<string, number>('sessions')
      expect(Array.from(store.fetch('s'), (e) => show(e))).toEqual(['s@[70,70]=1'])
    })
  }

  it('output timestamps are the session end (tombstones: the removed session end)', async () => {
    const { input, output } = await drive(
      countTopology(SessionWindows.ofInactivityGapWithNoGrace(10), 'onUpdate'),
    )
    pipeAll(input, [4, 9])
    expect(output.readRecordsToList().map((r) => `${show(r)}@${r.timestampMs}`)).toEqual([
      's@[4,4]=1@4',
      's@[4,4]=null@4',
      's@[4,9]=2@9',
    ])
  })

  it('keys have separate sessions; final sessions go out by end, then key', async () => {
    const { input, output } = await drive(
      countTopology(SessionWindows.ofInactivityGapWithNoGrace(5), 'onWindowClose'),
    )
    input.pipeInput('b', 1, 1)
    input.pipeInput('a', 1, 1)
    input.pipeInput('a', 1, 3)
    input.pipeInput('b', 1, 3)
    input.pipeInput('c', 1, 4)
    expect(output.readRecordsToList()).toEqual([])
    // Stream time 20 makes every session ending before 15 final.
    input.pipeInput('c', 1, 20)
    expect(output.readRecordsToList().map(show)).toEqual(['a@[1,3]=2', 'b@[1,3]=2', 'c@[4,4]=1'])
  })

  it('reduce and aggregate merge with the reducer and the merger', async () => {
    const builder = new StreamsBuilder()
    const grouped = builder
      .stream<string, number>('in', { valueSerde: Serdes.Long })
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 20))
    grouped
      .reduce((a, b) => a + b, { name: 'sum', emitStrategy: 'onWindowClose' })
      .toStream()
      .to('sums', { keySerde: sessionKey, valueSerde: Serdes.Long })
    grouped
      .aggregate(
        () => '',
        (_k, v, agg) => `${agg}${v}`,
        (_k, left, right) => `${left}|${right}`,
        { name: 'concat', emitStrategy: 'onWindowClose' },
      )
      .toStream()
      .to('joined', { keySerde: sessionKey })
    const driver = await fx.create(builder.build(), { initialWallClockTimeMs: 0 })
    const input = driver.createInputTopic('in', Serdes.String, Serdes.Long)
    input.pipeInput('k', 1, 0)
    input.pipeInput('k', 2, 10)
    input.pipeInput('k', 3, 5) // bridges [0,0] and [10,10], neither final (grace 20)
    input.pipeInput('k', 4, 100)
    const sums = driver.createOutputTopic('sums', sessionKey, Serdes.Long).readRecordsToList()
    expect(sums.map(show)).toEqual(['k@[0,10]=6'])
    // Kafka's order: initializer, then merger over the sessions by end, then the aggregator.
    const joined = driver.createOutputTopic('joined', sessionKey, Serdes.String).readRecordsToList()
    expect(joined.map((r) => `${r.key?.window.startMs}-${r.key?.window.endMs}:${r.value}`)).toEqual([
      '0-10:|1|23',
    ])
  })
})

describe('session windows over partitions and restarts', () => {
  it('repartitions by a new key; each task keeps its keys’ sessions, queryable across tasks', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .groupBy((_k, v) => v)
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 30))
      .count({ name: 'sessions' })
      .toStream()
      .to('out', { keySerde: sessionKey, valueSerde: NullableLong as Serde<number> })
    const driver = await fx.create(builder.build(), {
      initialWallClockTimeMs: 0,
      partitions: 2,
    })
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    for (const [key, value, t] of [
      ['x', 'a', 1],
      ['y', 'b', 2],
      ['z', 'a', 8],
      ['x', 'b', 30],
    ] as const) {
      input.pipeInput(key, value, t)
    }
    const out = driver.createOutputTopic('out', sessionKey, NullableLong).readRecordsToList()
    expect(out.map(show).sort()).toEqual([
      'a@[1,1]=1',
      'a@[1,1]=null',
      'a@[1,8]=2',
      'b@[2,2]=1',
      'b@[30,30]=1',
    ])
    const store = driver.getSessionStore<string, number>('sessions')
    expect(Array.from(store.fetch('a'), show)).toEqual(['a@[1,8]=2'])
    expect(Array.from(store.fetch('b'), show)).toEqual(['b@[2,2]=1', 'b@[30,30]=1'])
  })

  async function restart(topology: Topology, before: number[], after: number[]) {
    const dir = fx.tempDir('vigil-session-restart-')
    const first = await fx.openLog(dir)
    const run1 = await drive(topology, { log: first })
    pipeAll(run1.input, before)
    const out1 = run1.output.readRecordsToList().map(show)
    await fx.close(run1.driver, first)
    const second = await fx.openLog(dir)
    const run2 = await drive(topology, { log: second })
    pipeAll(run2.input, after)
    return { out1, out2: run2.output.readRecordsToList().map(show), run2 }
  }

  it('a session from before a restart merges with a record after it (onUpdate)', async () => {
    const topology = countTopology(SessionWindows.ofInactivityGapAndGrace(10, 5), 'onUpdate')
    const { out1, out2 } = await restart(topology, [0, 5], [12])
    expect(out1).toEqual(['s@[0,0]=1', 's@[0,0]=null', 's@[0,5]=2'])
    expect(out2).toEqual(['s@[0,5]=null', 's@[0,12]=3'])
  })

  it('onWindowClose emits each session once across a restart, and late stays late', async () => {
    const topology = countTopology(SessionWindows.ofInactivityGapAndGrace(10, 5), 'onWindowClose')
    const { out1, out2, run2 } = await restart(topology, [0, 5, 30], [33, 3, 60])
    expect(out1).toEqual(['s@[0,5]=2'])
    // 3 is within the gap of [0,5] only, final and emitted: alone it is late. 60: [30,33] is final.
    expect(out2).toEqual(['s@[30,33]=2'])
    expect(run2.late.readRecordsToList().map((r) => r.timestampMs)).toEqual([3])
  })
})

describe('WindowedSerdes.sessionWindowed', () => {
  it('round-trips key, end and start as key bytes + two u64 big-endian (Kafka’s order)', () => {
    const bytes = sessionKey.serialize({ key: 'ab', window: { startMs: 1, endMs: 258 } })
    expect([...bytes]).toEqual([97, 98, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1])
    expect(sessionKey.deserialize(bytes)).toEqual({ key: 'ab', window: { startMs: 1, endMs: 258 } })
  })

  it('refuses fewer than 16 bytes and a session that ends before it starts', () => {
    expect(() => sessionKey.deserialize(new Uint8Array(15))).toThrow(
      expect.objectContaining({ code: 'SERDE_FAILURE' }),
    )
    expect(() => sessionKey.serialize({ key: 'a', window: { startMs: 5, endMs: 4 } })).toThrow(
      'a session is [startMs, endMs] with startMs ≤ endMs, got [5, 4]',
    )
  })
})
