import { describe, expect, it } from 'vitest'
import { Log } from '../../src/log/index.ts'
import { Serdes, type Serde } from '../../src/state/index.ts'
import { INTERNALS } from '../../src/streams/graph.ts'
import {
  JoinWindows,
  StreamsBuilder,
  TimeWindows,
  WindowedSerdes,
  type KStream,
  type StreamRecord,
  type Topology,
} from '../../src/streams/index.ts'
import { thrown } from './thrown.ts'
import { useDrivers } from './fixtures/drivers.ts'

/*
 * Expected outputs follow Kafka Streams' join semantics (see joins.ts for the one tightening of
 * stream–stream left/outer joins), worked out by hand per step in the comments.
 */

const fx = useDrivers()

const encoder = new TextEncoder()
const decoder = new TextDecoder()
/** Strings, with null as empty bytes: how these tests write and read tombstones. */
const Nullable: Serde<string | null> = {
  serialize: (v) => (v === null ? new Uint8Array(0) : encoder.encode(v)),
  deserialize: (b) => (b.byteLength === 0 ? null : decoder.decode(b)),
}

const joiner = (l: string | null, r: string | null): string => `${l}+${r}`

type Kind = 'inner' | 'left' | 'outer'

/** A record to pipe: [input ('L' left, 'R' right), key, value, timestamp]. */
type Row = ['L' | 'R', string | null, string | null, number]

/** One output record as `key:value@timestamp`. */
function show(r: { key: string | null; value: string | null; timestampMs: number }): string {
  return `${r.key}:${r.value}@${r.timestampMs}`
}

function streamJoin(
  kind: Kind,
  left: KStream<string, string>,
  right: KStream<string, string>,
  windows: JoinWindows,
  name?: string,
): KStream<string, string> {
  const options = name === undefined ? {} : { name }
  if (kind === 'inner') return left.join(right, joiner, windows, options)
  if (kind === 'left') return left.leftJoin(right, joiner, windows, options)
  return left.outerJoin(right, joiner, windows, options)
}

/** 'left' ⋈ 'right' → 'out', all String serdes. */
function streamStreamTopology(kind: Kind, windows: JoinWindows): Topology {
  const builder = new StreamsBuilder()
  const left = builder.stream<string, string>('left', { valueSerde: Nullable as Serde<string> })
  const right = builder.stream<string, string>('right', { valueSerde: Nullable as Serde<string> })
  streamJoin(kind, left, right, windows, 'j').to('out')
  return builder.build()
}

async function drive(topology: Topology, options: { log?: Log; partitions?: number } = {}) {
  const driver = await fx.create(topology, { initialWallClockTimeMs: 0, ...options })
  const inputs = {
    L: driver.createInputTopic('left', Serdes.String, Nullable),
    R: driver.createInputTopic('right', Serdes.String, Nullable),
  }
  const out = driver.createOutputTopic('out', Serdes.String, Nullable)
  /** Pipes `[side, key, value, timestamp]` rows and returns what came out. */
  const pipe = (rows: Row[]): string[] => {
    for (const [side, key, value, t] of rows) inputs[side].pipeInput(key, value, t)
    return out.readRecordsToList().map(show)
  }
  return { driver, pipe }
}

describe('stream–stream inner join', () => {
  it('joins records within ±10 ms both ways, out of order too, and drops late records', async () => {
    const { driver, pipe } = await drive(
      streamStreamTopology('inner', JoinWindows.ofTimeDifferenceWithNoGrace(10)),
    )
    expect(pipe([['L', 'A', 'a1', 0]])).toEqual([])
    // 5 − 0 ≤ 10: joined, at the larger timestamp.
    expect(pipe([['R', 'A', 'b1', 5]])).toEqual(['A:a1+b1@5'])
    // 20 − 0 > 10.
    expect(pipe([['R', 'A', 'b2', 20]])).toEqual([])
    // Out of order (stream time 20) but its window [5, 25] is open: joins b1@5 and b2@20, by time.
    expect(pipe([['L', 'A', 'a2', 15]])).toEqual(['A:a2+b1@15', 'A:a2+b2@20'])
    expect(pipe([['L', 'B', 'c1', 16]])).toEqual([])
    // Right at 12 looks at left in [2, 22]: a2@15, not a1@0.
    expect(pipe([['R', 'A', 'b3', 12]])).toEqual(['A:a2+b3@15'])
    // Late: stream time 20 > 1 + 10.
    expect(pipe([['L', 'A', 'a3', 1]])).toEqual([])
    // |26 − 16| = 10: the window's ends are inclusive; 27 is one past.
    expect(pipe([['R', 'B', 'd1', 26]])).toEqual(['B:c1+d1@26'])
    expect(pipe([['R', 'B', 'd2', 27]])).toEqual([])
    // Null keys and values never join.
    expect(pipe([['L', null, 'n', 27]])).toEqual([])
    expect(pipe([['R', 'B', null, 27]])).toEqual([])
    const metrics = driver.metrics()
    expect(metrics.lateRecords).toBe(1)
    expect(metrics.droppedRecords).toBe(3)
  })

  it('joins every record of a key and timestamp (several are kept per window start)', async () => {
    const { pipe } = await drive(streamStreamTopology('inner', JoinWindows.ofTimeDifferenceWithNoGrace(0)))
    expect(
      pipe([
        ['L', 'A', 'x', 5],
        ['L', 'A', 'y', 5],
        ['R', 'A', 'p', 5],
        ['R', 'A', 'q', 5],
      ]),
    ).toEqual(['A:x+p@5', 'A:y+p@5', 'A:x+q@5', 'A:y+q@5'])
    // A zero window joins equal timestamps only.
    expect(pipe([['L', 'A', 'z', 6]])).toEqual([])
  })

  it('asymmetric windows: left at t joins right in [t − before, t + after]', async () => {
    const windows = JoinWindows.ofTimeDifferenceWithNoGrace(0).after(10)
    const { driver, pipe } = await drive(streamStreamTopology('inner', windows))
    expect(pipe([['L', 'A', 'a1', 10]])).toEqual([])
    // Right at 15 joins left in [15 − after, 15 + before] = [5, 15].
    expect(pipe([['R', 'A', 'b1', 15]])).toEqual(['A:a1+b1@15'])
    expect(pipe([['R', 'A', 'b2', 25]])).toEqual([])
    // Left at 20 joins right in [20, 30]: b2, not the earlier b1.
    expect(pipe([['L', 'A', 'a2', 20]])).toEqual(['A:a2+b2@25'])
    // A right record's window ends at its own timestamp (before = 0): at stream time 25, 19 is late.
    expect(pipe([['R', 'A', 'b3', 19]])).toEqual([])
    // Left at 24 (window [24, 34], open) joins b2@25.
    expect(pipe([['L', 'A', 'a3', 24]])).toEqual(['A:a3+b2@25'])
    expect(driver.metrics().lateRecords).toBe(1)
  })
})

describe('stream–stream left join', () => {
  it('emits an unjoined left record with null only once its window has closed', async () => {
    const { driver, pipe } = await drive(
      streamStreamTopology('left', JoinWindows.ofTimeDifferenceWithNoGrace(10)),
    )
    expect(pipe([['L', 'A', 'a1', 0]])).toEqual([])
    expect(pipe([['L', 'B', 'c1', 2]])).toEqual([])
    // Joins a1, which is then never emitted with null.
    expect(pipe([['R', 'A', 'b1', 5]])).toEqual(['A:a1+b1@5'])
    // Right records without a partner are never emitted by a left join.
    expect(pipe([['R', 'C', 'd1', 6]])).toEqual([])
    expect(pipe([['L', 'A', 'a2', 11]])).toEqual(['A:a2+b1@11'])
    // Stream time 12: c1@2's window [−8, 12] is still open (closes once stream time > 12).
    expect(pipe([['L', 'D', 'e1', 12]])).toEqual([])
    // Stream time 13 closes it: c1 comes out first, at its own timestamp, then a3's join.
    expect(pipe([['L', 'A', 'a3', 13]])).toEqual(['B:c1+null@2', 'A:a3+b1@13'])
    // Stream time 23 > 12 + 10 closes e1@12; d2@23 is 11 away from it.
    expect(pipe([['R', 'D', 'd2', 23]])).toEqual(['D:e1+null@12'])
    // d3@22 is within 10 of e1@12, but e1 was already emitted with null: no second result for it.
    expect(pipe([['R', 'D', 'd3', 22]])).toEqual([])
    // Out of order but not late (23 ≤ 20 + 10): waits for its window like any other.
    expect(pipe([['L', 'E', 'f1', 20]])).toEqual([])
    expect(pipe([['R', 'Z', 'z1', 30]])).toEqual([])
    expect(pipe([['R', 'Z', 'z2', 31]])).toEqual(['E:f1+null@20'])
    // Late: 31 > 5 + 10.
    expect(pipe([['L', 'A', 'a4', 5]])).toEqual([])
    expect(driver.metrics().lateRecords).toBe(1)
  })
})

describe('stream–stream outer join', () => {
  it('emits unjoined records of both sides after window + grace, and joins out-of-order ones within grace', async () => {
    const { driver, pipe } = await drive(
      streamStreamTopology('outer', JoinWindows.ofTimeDifferenceAndGrace(5, 3)),
    )
    expect(pipe([['L', 'A', 'a1', 10]])).toEqual([])
    expect(pipe([['R', 'B', 'b1', 12]])).toEqual([])
    // Stream time 20 > 10 + 5 + 3 closes a1; b1@12 stays open until stream time > 20.
    expect(pipe([['R', 'A', 'b2', 20]])).toEqual(['A:a1+null@10'])
    // Late: 20 > 9 + 5 + 3.
    expect(pipe([['L', 'B', 'c1', 9]])).toEqual([])
    // Out of order within grace: joins b1@12 (|16 − 12| ≤ 5, b1's window still open at 20).
    expect(pipe([['L', 'B', 'c2', 16]])).toEqual(['B:c2+b1@16'])
    expect(pipe([['L', 'A', 'a2', 17]])).toEqual(['A:a2+b2@20'])
    // Nothing is pending any more (b1 and b2 joined): stream time 21 emits nothing.
    expect(pipe([['R', 'C', 'd1', 21]])).toEqual([])
    expect(pipe([['L', 'C', 'e1', 21]])).toEqual(['C:e1+d1@21'])
    expect(pipe([['R', 'C', 'd2', 21]])).toEqual(['C:e1+d2@21'])
    expect(pipe([['L', 'D', 'f1', 30]])).toEqual([])
    // 40 > 30 + 8 emits f1 with null; g1@40 waits in turn…
    expect(pipe([['R', 'D', 'g1', 40]])).toEqual(['D:f1+null@30'])
    expect(pipe([['L', 'X', 'x1', 48]])).toEqual([])
    // …until stream time > 48.
    expect(pipe([['L', 'X', 'x2', 49]])).toEqual(['D:null+g1@40'])
    expect(driver.metrics().lateRecords).toBe(1)
  })

  it('emits each of several unjoined records of one key and timestamp, by timestamp then side', async () => {
    const { pipe } = await drive(streamStreamTopology('outer', JoinWindows.ofTimeDifferenceWithNoGrace(0)))
    expect(
      pipe([
        ['R', 'K', 'r1', 1],
        ['L', 'K', 'u', 2],
        ['L', 'K', 'v', 2],
        ['L', 'J', 'w', 1], // late: stream time 2 > 1 + 0
      ]),
    ).toEqual(['K:null+r1@1'])
    expect(pipe([['R', 'Z', 'z', 3]])).toEqual(['K:u+null@2', 'K:v+null@2'])
  })
})

describe('stream–stream outer join across restarts', () => {
  it('emits records pending at a restart exactly once, and keeps stream time', async () => {
    const dir = fx.tempDir('vigil-join-restart-')
    const topology = streamStreamTopology('outer', JoinWindows.ofTimeDifferenceWithNoGrace(10))
    const run = async (rows: Row[]): Promise<string[]> => {
      const log = await fx.openLog(dir)
      const { driver, pipe } = await drive(topology, { log })
      const out = pipe(rows)
      await fx.close(driver, log)
      return out
    }

    expect(
      await run([
        ['L', 'A', 'a1', 0],
        ['R', 'B', 'b1', 5],
        ['L', 'C', 'c1', 8],
        ['R', 'C', 'd1', 9],
      ]),
    ).toEqual(['C:c1+d1@9'])
    // a1@0 and b1@5 were pending at the restart. 11 closes a1 only; 16 closes b1.
    expect(await run([['L', 'Z', 'z', 11]])).toEqual(['A:a1+null@0'])
    expect(
      await run([
        ['R', 'Y', 'y', 16],
        ['L', 'A', 'late', 3], // stream time 16 survived the restart: 16 > 3 + 10
      ]),
    ).toEqual(['B:null+b1@5'])
    expect(await run([['R', 'W', 'w', 30]])).toEqual(['Z:z+null@11', 'Y:null+y@16'])

    const log = await fx.openLog(dir)
    const all = log
      .read('out', 0, 0, { maxRecords: 100 })
      .map((r) => `${Serdes.String.deserialize(r.key!)}:${Nullable.deserialize(r.value)}@${r.timestampMs}`)
    expect(all).toEqual(['C:c1+d1@9', 'A:a1+null@0', 'B:null+b1@5', 'Z:z+null@11', 'Y:null+y@16'])
  })
})

describe('stream–stream join: topology and partitions', () => {
  it('is one node with two parents, with window stores named after the join', () => {
    const description = streamStreamTopology('outer', JoinWindows.ofTimeDifferenceWithNoGrace(10)).describe()
    expect(description).toContain('j-this-join-store')
    expect(description).toContain('j-other-join-store')
    expect(description).toContain('j-outer-shared-join-store')
    expect(description.match(/Sub-topology/g)).toHaveLength(1)
    const join = description.split('\n').findIndex((l) => l.includes('Processor: KSTREAM-OUTERJOIN'))
    expect(description.split('\n')[join + 2]).toMatch(/<-- KSTREAM-JOINTHIS-\d+, KSTREAM-JOINOTHER-\d+/)
  })

  it('repartitions a re-keyed side, so every key meets its partner on 2 partitions', async () => {
    const builder = new StreamsBuilder()
    // Left values are "key:payload", keyed by something else.
    const left = builder.stream<string, string>('left').selectKey((_k, v) => v.split(':')[0]!)
    const right = builder.stream<string, string>('right')
    streamJoin('inner', left, right, JoinWindows.ofTimeDifferenceWithNoGrace(5), 'rekeyed').to('out')
    const topology = builder.build()
    expect(topology.internalTopics).toEqual(['rekeyed-left-repartition'])
    const { pipe } = await drive(topology, { partitions: 2 })
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']
    const out = pipe([
      ...keys.map((k, i): ['R', string, string, number] => ['R', k, `r${i}`, i]),
      ...keys.map((k, i): ['L', string, string, number] => ['L', `other${i}`, `${k}:l${i}`, i + 3]),
    ])
    expect(out.sort()).toEqual(keys.map((k, i) => `${k}:${k}:l${i}+r${i}@${i + 3}`).sort())
  })

  it('keeps each key in its partition: outer results on 2 partitions', async () => {
    const { pipe } = await drive(streamStreamTopology('outer', JoinWindows.ofTimeDifferenceWithNoGrace(10)), {
      partitions: 2,
    })
    const keys = ['a', 'b', 'c', 'd', 'e', 'f']
    expect(pipe(keys.map((k): Row => ['L', k, `l${k}`, 0]))).toEqual([])
    const joined = pipe(keys.slice(0, 3).map((k): Row => ['R', k, `r${k}`, 1]))
    expect(joined.sort()).toEqual(['a:la+ra@1', 'b:lb+rb@1', 'c:lc+rc@1'])
    // Stream time is per task: a record at 20 of every key moves both partitions' stream time past 10.
    const closed = pipe(keys.map((k): Row => ['R', k, 'late-partner', 20]))
    expect(closed.sort()).toEqual(['d:ld+null@0', 'e:le+null@0', 'f:lf+null@0'])
  })
})

// ---------------------------------------------------------------------------------------------

/** 'left' (stream) ⋈ 'table' (table, store 'tbl') → 'out'. */
function streamTableTopology(kind: 'inner' | 'left'): Topology {
  const builder = new StreamsBuilder()
  const stream = builder.stream<string, string>('left')
  const table = builder.table<string, string | null>('right', { name: 'tbl', valueSerde: Nullable })
  const joined =
    kind === 'inner'
      ? stream.join(table, (v, t) => joiner(v, t))
      : stream.leftJoin(table, (v, t) => joiner(v, t))
  joined.to('out')
  return builder.build()
}

describe('stream–table join', () => {
  const steps: Row[] = [
    ['R', 'A', 't1', 0],
    ['L', 'A', 's1', 1],
    ['L', 'B', 's2', 2], // no table row for B
    ['R', 'A', 't2', 3],
    ['L', 'A', 's3', 4],
    ['R', 'A', null, 5], // tombstone
    ['L', 'A', 's4', 6],
    ['L', null, 's5', 7], // null key: dropped
    ['R', 'C', 'u1', 10],
    ['L', 'C', 's6', 3], // the table's current value, whatever the timestamp (no versioned lookup)
  ]
  const cases: { kind: 'inner' | 'left'; expected: string[][] }[] = [
    {
      kind: 'inner',
      expected: [[], ['A:s1+t1@1'], [], [], ['A:s3+t2@4'], [], [], [], [], ['C:s6+u1@3']],
    },
    {
      kind: 'left',
      expected: [
        [],
        ['A:s1+t1@1'],
        ['B:s2+null@2'],
        [],
        ['A:s3+t2@4'],
        [],
        ['A:s4+null@6'],
        [],
        [],
        ['C:s6+u1@3'],
      ],
    },
  ]
  for (const { kind, expected } of cases) {
    it(`${kind}: stream records look the table up; table updates and tombstones emit nothing`, async () => {
      const { driver, pipe } = await drive(streamTableTopology(kind))
      expect(steps.map((step) => pipe([step]))).toEqual(expected)
      expect(driver.metrics().droppedRecords).toBe(1)
      expect(driver.getKeyValueStore<string, string>('tbl').get('C')).toBe('u1')
      expect(driver.getKeyValueStore<string, string>('tbl').get('A')).toBeUndefined()
    })
  }

  it('repartitions a re-keyed stream and finds table rows on 2 partitions', async () => {
    const builder = new StreamsBuilder()
    const table = builder.table<string, string>('right', { name: 'tbl' })
    builder
      .stream<string, string>('left')
      .selectKey((_k, v) => v.split(':')[0]!)
      .join(table, (v, t) => joiner(v, t), { name: 'lookup' })
      .to('out')
    const topology = builder.build()
    expect(topology.internalTopics).toEqual(['lookup-left-repartition'])
    const { pipe } = await drive(topology, { partitions: 2 })
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']
    pipe(keys.map((k, i): ['R', string, string, number] => ['R', k, `t${i}`, i]))
    const out = pipe(keys.map((k, i): ['L', string, string, number] => ['L', `x${i}`, `${k}:s`, 10 + i]))
    expect(out.sort()).toEqual(keys.map((k, i) => `${k}:${k}:s+t${i}@${10 + i}`).sort())
  })

  it('materializes a table that has no key-value store (a windowed table) to join it', async () => {
    const builder = new StreamsBuilder()
    const windowed = builder
      .stream<string, string>('right')
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
      .count({ name: 'counts' })
    const description = builder.build().describe()
    expect(description).not.toContain('KTABLE-MATERIALIZE')
    builder
      .stream<string, string>('left')
      .map((k, v) => ({
        key: { key: k, window: { startMs: Number(v), endMs: Number(v) + 10 } },
        value: v,
      }))
      .join(windowed, (v, count) => `${v}:${count}`, {
        name: 'wj',
        keySerde: WindowedSerdes.timeWindowed(Serdes.String),
        valueSerde: Serdes.String,
      })
      .map((k, v) => ({ key: k.key, value: v }))
      .to('out')
    const topology = builder.build()
    expect(topology.describe()).toContain('wj-table-store')
    const { pipe } = await drive(topology)
    pipe([
      ['R', 'A', 'x', 1],
      ['R', 'A', 'x', 2],
      ['R', 'A', 'x', 12],
    ])
    expect(
      pipe([
        ['L', 'A', '0', 13],
        ['L', 'A', '10', 14],
        ['L', 'A', '20', 15],
      ]),
    ).toEqual(['A:0:2@13', 'A:10:1@14'])
  })
})

// ---------------------------------------------------------------------------------------------

/** 'left' (table) ⋈ 'right' (table) → 'out' as a stream; every change the join node emits is spied. */
function tableTableTopology(kind: Kind, name?: string): { topology: Topology; changes: StreamRecord[] } {
  const builder = new StreamsBuilder()
  // Typed as non-null strings, as the DSL types tables; deletions arrive as tombstones all the same.
  const left = builder.table<string, string>('left', { valueSerde: Nullable as Serde<string> })
  const right = builder.table<string, string>('right', { valueSerde: Nullable as Serde<string> })
  const materialized = name === undefined ? {} : { name, valueSerde: Nullable as Serde<string> }
  const joined =
    kind === 'inner'
      ? left.join(right, joiner, materialized)
      : kind === 'left'
        ? left.leftJoin(right, joiner, materialized)
        : left.outerJoin(right, joiner, materialized)
  joined.toStream().to('out', { valueSerde: Nullable as Serde<string> })
  const changes: StreamRecord[] = []
  const internals = joined[INTERNALS]()
  internals.graph.processor('SPY', [internals.node], () => (r) => {
    changes.push(r)
  })
  return { topology: builder.build(), changes }
}

/** Table changes: [side, key, value (null: delete), timestamp]. */
const tableSteps: ['L' | 'R', string, string | null, number][] = [
  ['L', 'A', 'a1', 1],
  ['R', 'A', 'b1', 2],
  ['L', 'A', 'a2', 3],
  ['R', 'A', null, 4],
  ['L', 'A', null, 5],
  ['R', 'B', 'b2', 6],
  ['L', 'B', 'c1', 7],
  ['L', 'C', null, 8], // delete of an absent key: the table emits no change
  ['R', 'D', 'd1', 20],
  ['L', 'D', 'e1', 15], // the other side's row is newer: the result takes its timestamp
]

describe('table–table join', () => {
  // Per step: the change emitted, as `key:value/oldValue@timestamp`, or '-' for none.
  const cases: { kind: Kind; expected: string[] }[] = [
    {
      kind: 'inner',
      expected: [
        '-',
        'A:a1+b1/null@2',
        'A:a2+b1/a1+b1@3',
        'A:null/a2+b1@4', // the row disappears: tombstone
        '-', // no right row: there was and is no joined row
        '-',
        'B:c1+b2/null@7',
        '-',
        '-',
        'D:e1+d1/null@20',
      ],
    },
    {
      kind: 'left',
      expected: [
        'A:a1+null/null@1',
        'A:a1+b1/a1+null@2',
        'A:a2+b1/a1+b1@3',
        'A:a2+null/a2+b1@4',
        'A:null/a2+null@5',
        '-', // no left row
        'B:c1+b2/null@7',
        '-',
        '-',
        'D:e1+d1/null@20',
      ],
    },
    {
      kind: 'outer',
      expected: [
        'A:a1+null/null@1',
        'A:a1+b1/a1+null@2',
        'A:a2+b1/a1+b1@3',
        'A:a2+null/a2+b1@4',
        'A:null/a2+null@5',
        'B:null+b2/null@6',
        'B:c1+b2/null+b2@7',
        '-',
        'D:null+d1/null@20',
        'D:e1+d1/null+d1@20',
      ],
    },
  ]
  for (const { kind, expected } of cases) {
    it(`${kind}: emits each change of the joined row with its old value`, async () => {
      const { topology, changes } = tableTableTopology(kind)
      const { pipe } = await drive(topology)
      const seen = tableSteps.map((step) => {
        const before = changes.length
        const out = pipe([step])
        const emitted = changes.slice(before)
        expect(out).toEqual(emitted.map((c) => show(c as Parameters<typeof show>[0])))
        const change = (c: StreamRecord): string =>
          `${String(c.key)}:${String(c.value)}/${String(c.oldValue)}@${c.timestampMs}`
        return emitted.map(change).join(' ') || '-'
      })
      expect(seen).toEqual(expected)
    })
  }

  it('materializes the result under materialized.name, queryable, and survives 2 partitions', async () => {
    const { topology } = tableTableTopology('outer', 'joined')
    const { driver, pipe } = await drive(topology, { partitions: 2 })
    for (const step of tableSteps) pipe([step])
    const store = driver.getKeyValueStore<string, string>('joined')
    expect(store.get('A')).toBeUndefined()
    expect(store.get('B')).toBe('c1+b2')
    expect(store.get('D')).toBe('e1+d1')
    expect(store.get('C')).toBeUndefined()
  })

  it('is unmaterialized without a name', () => {
    const builder = new StreamsBuilder()
    const joined = builder.table<string, string>('left').join(builder.table<string, string>('right'), joiner)
    expect(joined.queryableStoreName).toBeUndefined()
    const named = builder.table<string, string>('third').join(joined, joiner, { name: 'named' })
    expect(named.queryableStoreName).toBe('named')
  })
})

// ---------------------------------------------------------------------------------------------

describe('join validation', () => {
  it('refuses missing windows, foreign builders and bad names with what to do', () => {
    const builder = new StreamsBuilder()
    const left = builder.stream<string, string>('left')
    const right = builder.stream<string, string>('right')
    const noWindows = thrown(() => left.join(right, joiner, { beforeMs: 1 } as unknown as JoinWindows))
    expect(noWindows).toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect((noWindows as Error).message).toContain('JoinWindows.ofTimeDifferenceWithNoGrace')

    const foreign = new StreamsBuilder().stream<string, string>('x')
    const windows = JoinWindows.ofTimeDifferenceWithNoGrace(1)
    expect(thrown(() => left.join(foreign, joiner, windows))).toMatchObject({ code: 'INVALID_TOPOLOGY' })
    expect(thrown(() => left.join(right, joiner, windows, { name: 'bad name' }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    left.join(right, joiner, windows, { name: 'twice' })
    expect(thrown(() => left.join(right, joiner, windows, { name: 'twice' }))).toMatchObject({
      code: 'INVALID_TOPOLOGY',
    })
  })
})

describe('a table from a re-keyed stream', () => {
  it('is repartitioned by its new key, tombstones included, so joins find its rows on 2 partitions', async () => {
    const builder = new StreamsBuilder()
    // 'devices': device → patient; re-keyed to patient → device, as a table.
    const byPatient = builder
      .stream<string, string>('devices')
      // A device id starting with "x" is unplugged: a null value, deleting the patient's row.
      .map((device, patient) => ({ key: patient, value: device.startsWith('x') ? null : device }))
      .toTable({ name: 'device-of-patient' })
    builder
      .stream<string, string>('vitals')
      .leftJoin(byPatient, (vital, device) => `${vital}@${device ?? 'none'}`)
      .to('out')
    const topology = builder.build()
    expect(topology.internalTopics).toEqual(['device-of-patient-repartition'])
    const driver = await fx.create(topology, { initialWallClockTimeMs: 0, partitions: 2 })
    const devices = driver.createInputTopic('devices', Serdes.String, Serdes.String)
    const vitals = driver.createInputTopic('vitals', Serdes.String, Serdes.String)
    const out = driver.createOutputTopic('out', Serdes.String, Serdes.String)
    for (const [device, patient] of [['d1', 'p1'] as const, ['d2', 'p2'], ['d3', 'p3'], ['d4', 'p4']]) {
      devices.pipeInput(device, patient, 1)
    }
    for (const patient of ['p1', 'p2', 'p3', 'p4', 'p5']) vitals.pipeInput(patient, 'hr', 2)
    expect(
      out
        .readKeyValuesToList()
        .map((r) => `${r.key}:${r.value}`)
        .sort(),
    ).toEqual(['p1:hr@d1', 'p2:hr@d2', 'p3:hr@d3', 'p4:hr@d4', 'p5:hr@none'])
    // A null value deletes the row: the tombstone crosses the repartition topic.
    devices.pipeInput('x2', 'p2', 3)
    const store = driver.getKeyValueStore<string, string>('device-of-patient')
    expect(store.get('p2')).toBeUndefined()
    expect(store.get('p3')).toBe('d3')
    vitals.pipeInput('p2', 'hr', 4)
    expect(out.readKeyValuesToList()).toEqual([{ key: 'p2', value: 'hr@none' }])
  })
})
