import { describe, expect, it } from 'vitest'
import { Serdes } from '../../src/state/index.ts'
import { KStream, StreamsBuilder, StreamsError } from '../../src/streams/index.ts'
import { thrown } from './thrown.ts'
import { useDrivers } from './fixtures/drivers.ts'

const fx = useDrivers()

/** Runs `build` between topic 'in' and topic 'out' (String serdes) and returns what comes out. */
async function run(
  build: (input: KStream<string, string>) => KStream<string, string>,
  records: [string | null, string][],
): Promise<{ key: string | null; value: string }[]> {
  const builder = new StreamsBuilder()
  build(builder.stream<string, string>('in')).to('out')
  const driver = await fx.create(builder.build(), { initialWallClockTimeMs: 0 })
  const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
  for (const [key, value] of records) input.pipeInput(key, value)
  return driver.createOutputTopic('out', Serdes.String, Serdes.String).readKeyValuesToList()
}

const abc: [string, string][] = [
  ['a', '1'],
  ['b', '22'],
  ['c', '333'],
]

describe('KStream stateless operations', () => {
  it('filter keeps the records the predicate accepts', async () => {
    expect(await run((s) => s.filter((_k, v) => v.length >= 2), abc)).toEqual([
      { key: 'b', value: '22' },
      { key: 'c', value: '333' },
    ])
  })

  it('filterNot drops the records the predicate accepts', async () => {
    expect(await run((s) => s.filterNot((_k, v) => v.length >= 2), abc)).toEqual([{ key: 'a', value: '1' }])
  })

  it('map replaces key and value', async () => {
    expect(await run((s) => s.map((k, v) => ({ key: v, value: k.toUpperCase() })), abc)).toEqual([
      { key: '1', value: 'A' },
      { key: '22', value: 'B' },
      { key: '333', value: 'C' },
    ])
  })

  it('mapValues replaces the value and keeps the key', async () => {
    expect(await run((s) => s.mapValues((v, k) => `${k}=${v}`), abc)).toEqual([
      { key: 'a', value: 'a=1' },
      { key: 'b', value: 'b=22' },
      { key: 'c', value: 'c=333' },
    ])
  })

  it('flatMap emits zero or more records per input, in order', async () => {
    const out = await run(
      (s) => s.flatMap((k, v) => Array.from(v.slice(0, 2)).map((ch, i) => ({ key: `${k}${i}`, value: ch }))),
      [
        ['a', 'xy'],
        ['b', ''],
        ['c', 'z'],
      ],
    )
    expect(out).toEqual([
      { key: 'a0', value: 'x' },
      { key: 'a1', value: 'y' },
      { key: 'c0', value: 'z' },
    ])
  })

  it('flatMapValues emits each value with the input key', async () => {
    expect(await run((s) => s.flatMapValues((v) => v.split(' ')), [['k', 'p q r']])).toEqual([
      { key: 'k', value: 'p' },
      { key: 'k', value: 'q' },
      { key: 'k', value: 'r' },
    ])
  })

  it('selectKey replaces the key and keeps the value', async () => {
    expect(await run((s) => s.selectKey((_k, v) => `len${v.length}`), abc)).toEqual([
      { key: 'len1', value: '1' },
      { key: 'len2', value: '22' },
      { key: 'len3', value: '333' },
    ])
  })

  it('peek sees every record and passes it on unchanged', async () => {
    const seen: string[] = []
    const out = await run((s) => s.peek((k, v) => seen.push(`${k}:${v}`)), abc)
    expect(seen).toEqual(['a:1', 'b:22', 'c:333'])
    expect(out).toEqual(abc.map(([key, value]) => ({ key, value })))
  })

  it('foreach sees every record and is terminal', async () => {
    const seen: string[] = []
    const builder = new StreamsBuilder()
    builder.stream<string, string>('in').foreach((k, v) => seen.push(`${k}:${v}`))
    const driver = await fx.create(builder.build())
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    input.pipeInput('a', '1')
    input.pipeInput(null, '2')
    expect(seen).toEqual(['a:1', 'null:2'])
  })

  it('branch routes each record to the first matching branch and drops the unmatched', async () => {
    const builder = new StreamsBuilder()
    const [short, medium] = builder.stream<string, string>('in').branch(
      (_k, v) => v.length === 1,
      (_k, v) => v.length <= 2,
    )
    short!.to('short')
    medium!.to('medium')
    const driver = await fx.create(builder.build())
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    for (const [k, v] of abc) input.pipeInput(k, v)
    input.pipeInput('d', '4')
    expect(driver.createOutputTopic('short', Serdes.String, Serdes.String).readKeyValuesToList()).toEqual([
      { key: 'a', value: '1' },
      { key: 'd', value: '4' },
    ])
    expect(driver.createOutputTopic('medium', Serdes.String, Serdes.String).readKeyValuesToList()).toEqual([
      { key: 'b', value: '22' },
    ])
  })

  it('split routes to the first matching branch, else the default branch, named by prefix', async () => {
    const builder = new StreamsBuilder()
    const branches = builder
      .stream<string, string>('in')
      .split({ name: 'len-' })
      .branch((_k, v) => v.length === 1, { name: 'one' })
      .branch((_k, v) => v.length <= 2)
      .defaultBranch()
    expect([...branches.keys()]).toEqual(['len-one', 'len-2', 'len-0'])
    branches.get('len-one')!.to('one')
    branches.get('len-2')!.to('two')
    branches.get('len-0')!.to('rest')
    const driver = await fx.create(builder.build())
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    for (const [k, v] of abc) input.pipeInput(k, v)
    const read = (topic: string) =>
      driver.createOutputTopic(topic, Serdes.String, Serdes.String).readValuesToList()
    expect([read('one'), read('two'), read('rest')]).toEqual([['1'], ['22'], ['333']])
  })

  it('split rejects duplicate branch names and branches after the end', () => {
    const split = new StreamsBuilder().stream<string, string>('in').split()
    split.branch(() => true, { name: 'a' })
    expect(thrown(() => split.branch(() => true, { name: 'a' })).code).toBe('INVALID_TOPOLOGY')
    split.noDefaultBranch()
    expect(thrown(() => split.branch(() => true)).code).toBe('INVALID_TOPOLOGY')
  })

  it('merge interleaves two topics in processing order', async () => {
    const builder = new StreamsBuilder()
    const left = builder.stream<string, string>('left')
    const right = builder.stream<string, string>('right').mapValues((v) => v.toUpperCase())
    left.merge(right).to('out')
    const driver = await fx.create(builder.build())
    const l = driver.createInputTopic('left', Serdes.String, Serdes.String)
    const r = driver.createInputTopic('right', Serdes.String, Serdes.String)
    l.pipeInput('1', 'a', 10)
    r.pipeInput('2', 'b', 20)
    l.pipeInput('3', 'c', 30)
    expect(driver.createOutputTopic('out', Serdes.String, Serdes.String).readRecordsToList()).toMatchObject([
      { key: '1', value: 'a', timestampMs: 10 },
      { key: '2', value: 'B', timestampMs: 20 },
      { key: '3', value: 'c', timestampMs: 30 },
    ])
  })

  it('to() writes with the given serdes and carries the input timestamp', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .mapValues((v) => Number(v) * 2)
      .to('out', { valueSerde: Serdes.Integer })
    const driver = await fx.create(builder.build())
    driver.createInputTopic('in', Serdes.String, Serdes.String).pipeInput('k', '21', 1234)
    expect(driver.createOutputTopic('out', Serdes.String, Serdes.Integer).readRecordsToList()).toMatchObject([
      { key: 'k', value: 42, timestampMs: 1234 },
    ])
  })

  it('rejects stream() twice on the same topic, and bad options, with StreamsError', () => {
    const builder = new StreamsBuilder()
    builder.stream('in')
    expect(thrown(() => builder.stream('in')).code).toBe('INVALID_TOPOLOGY')
    expect(() => builder.stream('bad topic')).toThrow(StreamsError)
    const bad = thrown(() => builder.stream('other', { keySerde: {} as never }))
    expect(bad.code).toBe('INVALID_ARGUMENT')
    expect(bad.message).toMatch(/keySerde: must be a Serde/)
  })
})
