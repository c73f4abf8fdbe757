import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Log } from '../../src/log/index.ts'
import { Serdes, type KeyValueStore } from '../../src/state/index.ts'
import {
  StreamsBuilder,
  StreamsEngine,
  TopologyTestDriver,
  type KeyValueStoreSpec,
  type Processor,
  type Topology,
} from '../../src/streams/index.ts'
import { rejection, thrown } from './thrown.ts'

const dirs: string[] = []
const logs: Log[] = []
const engines: StreamsEngine[] = []
const drivers: TopologyTestDriver[] = []
afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close()
  for (const engine of engines.splice(0)) engine.close()
  for (const log of logs.splice(0)) await log.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function openLog(
  dir = mkdtempSync(join(tmpdir(), 'vigil-streams-engine-')),
): Promise<{ log: Log; dir: string }> {
  if (!dirs.includes(dir)) dirs.push(dir)
  const log = await Log.open({ dataDir: dir })
  logs.push(log)
  await log.ensureTopic('in')
  await log.ensureTopic('out')
  return { log, dir }
}

async function start(topology: Topology, log: Log, maxRecordsPerCommit = 1000): Promise<StreamsEngine> {
  const engine = await StreamsEngine.start(topology, log, { applicationId: 'app', maxRecordsPerCommit })
  engines.push(engine)
  return engine
}

const utf8 = (s: string): Uint8Array => Serdes.String.serialize(s)
const values = (log: Log, topic: string): string[] =>
  log.read(topic, 0, 0).map((r) => Serdes.String.deserialize(r.value))

function upperCase(): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('in')
    .mapValues((v) => {
      if (v === 'bad') throw new Error('cannot shout "bad"')
      return v.toUpperCase()
    })
    .to('out')
  return builder.build()
}

describe('StreamsEngine', () => {
  it('commits outputs and input offsets together, and resumes after them on restart', async () => {
    const { log } = await openLog()
    await log.appendBatch(
      'in',
      ['a', 'b', 'c'].map((v) => ({ value: utf8(v) })),
    )
    const engine = await start(upperCase(), log, 2)
    expect(engine.processAvailable()).toEqual([
      { topic: 'out', partition: 0, offset: 0 },
      { topic: 'out', partition: 0, offset: 1 },
      { topic: 'out', partition: 0, offset: 2 },
    ])
    expect(engine.metrics()).toEqual({
      processedRecords: 3,
      droppedRecords: 0,
      lateRecords: 0,
      commits: 2,
      deadLetteredRecords: 0,
      invalidTimestampRecords: 0,
      trimmedInputRecords: 0,
    })
    expect(log.fetchOffset('app', 'in', 0)?.offset).toBe(3)
    engine.close()

    await log.append('in', { value: utf8('d') })
    const restarted = await start(upperCase(), log)
    restarted.processAvailable()
    expect(values(log, 'out')).toEqual(['A', 'B', 'C', 'D'])
  })

  it('a user function that throws fails the task with TASK_FAILED naming the node, and commits nothing of the batch', async () => {
    const { log } = await openLog()
    await log.appendBatch(
      'in',
      ['a', 'bad', 'c'].map((v) => ({ value: utf8(v) })),
    )
    const topology = upperCase()
    const engine = await start(topology, log)
    const failure = thrown(() => engine.processAvailable())
    expect(failure.code).toBe('TASK_FAILED')
    expect(failure.message).toMatch(
      /task 0_0 failed in node KSTREAM-MAPVALUES-0000000001 processing in\/0@1: cannot shout "bad"/,
    )
    expect((failure.cause as Error).message).toBe('cannot shout "bad"')
    // 'a' was processed before the failure but its output is in the aborted transaction.
    expect(log.endOffset('out', 0)).toBe(0)
    expect(log.fetchOffset('app', 'in', 0)).toBeUndefined()
    const after = thrown(() => engine.processAvailable())
    expect(after.code).toBe('STREAMS_CLOSED')
    expect(after.message).toMatch(/stopped after a failure: .*cannot shout/)
  })

  it('a value the sink serde cannot write fails with SERDE_FAILURE naming the sink', async () => {
    const { log } = await openLog()
    const builder = new StreamsBuilder()
    builder.stream<string, string>('in').to('out', { valueSerde: Serdes.Long as never })
    await log.append('in', { value: utf8('not a number') })
    const engine = await start(builder.build(), log)
    const failure = thrown(() => engine.processAvailable())
    expect(failure.code).toBe('SERDE_FAILURE')
    expect(failure.message).toMatch(/sink KSTREAM-SINK-0000000001 could not serialize a record for out/)
  })

  it('refuses missing topics, and a store whose state does not match the committed offsets', async () => {
    const { log } = await openLog()
    const missing = new StreamsBuilder()
    missing.stream('nope').to('out')
    const unknown = await rejection(StreamsEngine.start(missing.build(), log, { applicationId: 'app' }))
    expect(unknown.code).toBe('UNKNOWN_TOPIC')
    expect(unknown.message).toMatch(/topic nope does not exist/)

    const counting = (): Topology => {
      const builder = new StreamsBuilder()
      builder
        .stream<string, string>('in')
        .groupByKey()
        .count({ name: 'c' })
        .toStream()
        .to('out', { valueSerde: Serdes.Long })
      return builder.build()
    }
    await log.append('in', { key: utf8('k'), value: utf8('v') })
    // The application ran without a store, so its offsets are committed but no state was kept.
    const stateless = await start(upperCase(), log)
    stateless.processAvailable()
    stateless.close()
    const lost = await rejection(StreamsEngine.start(counting(), log, { applicationId: 'app' }))
    expect(lost.code).toBe('STATE_NOT_RESTORABLE')
    expect(lost.message).toMatch(
      /store app-c-0 reflects in\/0 up to offset none but application app committed 1/,
    )
    // the refused start released what it opened: a new application id starts from scratch
    const fresh = await StreamsEngine.start(counting(), log, { applicationId: 'app2' })
    engines.push(fresh)
    fresh.processAvailable()
    expect(fresh.metrics().processedRecords).toBe(1)
  })

  it('keeps state across restarts: a restarted engine resumes with the committed counts', async () => {
    const { log, dir } = await openLog()
    const counting = (): Topology => {
      const builder = new StreamsBuilder()
      builder
        .stream<string, string>('in')
        .groupByKey()
        .count({ name: 'c' })
        .toStream()
        .to('out', { valueSerde: Serdes.Long })
      return builder.build()
    }
    await log.appendBatch(
      'in',
      ['a', 'b', 'a'].map((k) => ({ key: utf8(k), value: utf8('') })),
    )
    const first = await start(counting(), log, 2)
    first.processAvailable()
    expect(first.keyValueStore<string, number>('c').position().toJSON()).toEqual({ 'in/0': 2 })
    first.close()
    await log.close()

    const { log: reopened } = await openLog(dir)
    await reopened.appendBatch(
      'in',
      ['b', 'a'].map((k) => ({ key: utf8(k), value: utf8('') })),
    )
    const second = await start(counting(), reopened, 2)
    expect(second.keyValueStore<string, number>('c').get('a')).toBe(2)
    second.processAvailable()
    const counts = second.keyValueStore<string, number>('c')
    expect(Array.from(counts.all())).toEqual([
      { key: 'a', value: 3 },
      { key: 'b', value: 2 },
    ])
    expect(counts.position().toJSON()).toEqual({ 'in/0': 4 })
    expect(reopened.read('out', 0, 0).map((r) => Serdes.Long.deserialize(r.value))).toEqual([1, 1, 2, 2, 3])
  })

  it('after a failed commit the stores are released, and a new engine continues from the committed state', async () => {
    const { log } = await openLog()
    let failOn: string | undefined = 'boom'
    const topology = (): Topology => {
      const builder = new StreamsBuilder()
      builder
        .stream<string, string>('in')
        .groupByKey()
        .aggregate(
          () => '',
          (_k, v, agg) => {
            if (v === failOn) throw new Error(`cannot take ${v}`)
            return agg + v
          },
          { name: 'joined', valueSerde: Serdes.String },
        )
        .toStream()
        .to('out')
      return builder.build()
    }
    await log.appendBatch(
      'in',
      ['x', 'y', 'boom', 'z'].map((v) => ({ key: utf8('k'), value: utf8(v) })),
    )
    const engine = await start(topology(), log, 2)
    expect(thrown(() => engine.processAvailable()).code).toBe('TASK_FAILED')
    // x and y committed in the first batch; boom's batch aborted, after its put went into the buffer.
    expect(log.fetchOffset('app', 'in', 0)?.offset).toBe(2)
    failOn = undefined
    const next = await start(topology(), log, 2)
    expect(next.keyValueStore<string, string>('joined').get('k')).toBe('xy')
    next.processAvailable()
    expect(next.keyValueStore<string, string>('joined').get('k')).toBe('xyboomz')
    expect(values(log, 'out')).toEqual(['x', 'xy', 'xyboom', 'xyboomz'])
  })

  it('a task with several inputs processes the lowest timestamp first, offset order within each', async () => {
    const { log } = await openLog()
    await log.ensureTopic('left')
    await log.ensureTopic('right')
    await log.appendBatch('left', [
      { value: utf8('l10'), timestampMs: 10 },
      { value: utf8('l30'), timestampMs: 30 },
      { value: utf8('l25'), timestampMs: 25 },
    ])
    await log.appendBatch('right', [
      { value: utf8('r20'), timestampMs: 20 },
      { value: utf8('r40'), timestampMs: 40 },
    ])
    const builder = new StreamsBuilder()
    builder.stream<string, string>('left').merge(builder.stream<string, string>('right')).to('out')
    const engine = await start(builder.build(), log)
    engine.processAvailable()
    expect(values(log, 'out')).toEqual(['l10', 'r20', 'l30', 'l25', 'r40'])
  })

  it('counts records dropped for a null key in an aggregation', async () => {
    const { log } = await openLog()
    const builder = new StreamsBuilder()
    builder.stream<string, string>('in').groupByKey().count({ name: 'c' })
    await log.appendBatch('in', [{ key: utf8('k'), value: utf8('v') }, { value: utf8('no key') }])
    const engine = await start(builder.build(), log)
    engine.processAvailable()
    expect(engine.metrics()).toMatchObject({ processedRecords: 2, droppedRecords: 1, lateRecords: 0 })
    expect(engine.keyValueStore<string, number>('c').approximateNumEntries()).toBe(1)
  })

  it('a TopologyTestDriver on an injected Log creates topics there and leaves the log open', async () => {
    const { log } = await openLog()
    const driver = await TopologyTestDriver.create(upperCase(), { log, applicationId: 'injected' })
    drivers.push(driver)
    driver.createInputTopic('in', Serdes.String, Serdes.String).pipeInput('k', 'hi')
    await driver.close()
    expect(log.closed).toBe(false)
    expect(values(log, 'out')).toEqual(['HI'])
    expect(log.fetchOffset('injected', 'in', 0)?.offset).toBe(1)
  })

  it('rejects bad options with INVALID_ARGUMENT naming the field', async () => {
    const { log } = await openLog()
    const bad = await rejection(StreamsEngine.start(upperCase(), log, { applicationId: 'has space' }))
    expect(bad.code).toBe('INVALID_ARGUMENT')
    expect(bad.message).toMatch(/applicationId: use 1–200 characters/)
  })
})

describe('aggregations', () => {
  async function driverFor(topology: Topology): Promise<TopologyTestDriver> {
    const driver = await TopologyTestDriver.create(topology)
    drivers.push(driver)
    return driver
  }

  it('groupByKey needs no repartition; reduce combines values; null keys are dropped', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .groupByKey()
      .reduce((a, b) => `${a}+${b}`, { name: 'joined' })
      .toStream()
      .to('out')
    const topology = builder.build()
    expect(topology.internalTopics).toEqual([])
    const driver = await driverFor(topology)
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    input.pipeInput('x', '1')
    input.pipeInput('y', '2')
    input.pipeInput(null, 'ignored')
    input.pipeInput('x', '3')
    expect(driver.createOutputTopic('out', Serdes.String, Serdes.String).readKeyValuesToList()).toEqual([
      { key: 'x', value: '1' },
      { key: 'y', value: '2' },
      { key: 'x', value: '1+3' },
    ])
    expect(driver.getKeyValueStore<string, string>('joined').get('x')).toBe('1+3')
  })

  it('aggregate folds from the initializer with the given value serde, after a selectKey repartition', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .selectKey((_k, v) => v.slice(0, 1))
      .groupByKey()
      .aggregate(
        () => 0,
        (_key, value, sum) => sum + value.length,
        { name: 'lengths', valueSerde: Serdes.Integer },
      )
      .toStream()
      .to('out', { valueSerde: Serdes.Integer })
    const topology = builder.build()
    expect(topology.internalTopics).toEqual(['lengths-repartition'])
    const driver = await driverFor(topology)
    const input = driver.createInputTopic('in', Serdes.String, Serdes.String)
    input.pipeInput('1', 'apple')
    input.pipeInput('2', 'banana')
    input.pipeInput('3', 'avocado')
    expect(driver.createOutputTopic('out', Serdes.String, Serdes.Integer).readKeyValuesToList()).toEqual([
      { key: 'a', value: 5 },
      { key: 'b', value: 6 },
      { key: 'a', value: 12 },
    ])
  })

  it('rejects two aggregations with the same store name', () => {
    const builder = new StreamsBuilder()
    const grouped = builder.stream<string, string>('in').groupByKey()
    grouped.count({ name: 'same' })
    expect(thrown(() => grouped.count({ name: 'same' })).code).toBe('INVALID_TOPOLOGY')
  })
})

describe('StreamsEngine: co-partitioned joins', () => {
  function streamTableJoin(rekey: boolean): Topology {
    const builder = new StreamsBuilder()
    const table = builder.table<string, string>('names')
    const readings = builder.stream<string, string>('readings')
    const keyed = rekey ? readings.selectKey((_k, v) => v.split(':')[0]!) : readings
    keyed.join(table, (v, name) => `${name}=${v}`).to('joined')
    return builder.build()
  }

  it('refuses a join over topics with different partition counts, naming them', async () => {
    const { log } = await openLog()
    await log.createTopic('names', { partitions: 2 })
    await log.createTopic('readings', { partitions: 3 })
    await log.createTopic('joined')
    const error = await rejection(start(streamTableJoin(false), log))
    expect(error).toMatchObject({ code: 'INVALID_TOPOLOGY' })
    expect((error as Error).message).toMatch(
      /names \(2 partitions\).*readings \(3 partitions\)|readings \(3 partitions\).*names \(2 partitions\)/,
    )
  })

  it("gives a re-keyed join input's repartition topic the table's partition count", async () => {
    const { log } = await openLog()
    await log.createTopic('names', { partitions: 2 })
    await log.createTopic('readings', { partitions: 3 })
    await log.createTopic('joined')
    const engine = await start(streamTableJoin(true), log)
    const repartition = log.topics().find((t) => t.name.endsWith('-left-repartition'))
    expect(repartition?.config.partitions).toBe(2)
    await log.append('names', { key: utf8('p1'), value: utf8('Ann') })
    await log.append('readings', { key: utf8('x'), value: utf8('p1:72') })
    engine.processAvailable()
    expect(values(log, 'joined')).toEqual(['Ann=p1:72'])
  })
})

describe('StreamsEngine: at_least_once', () => {
  function counts(): Topology {
    const builder = new StreamsBuilder()
    builder.stream<string, string>('in').groupByKey().count({ name: 'counts' }).toStream().to('out', {
      valueSerde: Serdes.Long,
    })
    return builder.build()
  }

  it('commits outputs every batch but offsets and state only on the interval, and on close', async () => {
    const { log } = await openLog()
    let nowMs = 0
    const engine = await StreamsEngine.start(counts(), log, {
      applicationId: 'app',
      processingGuarantee: 'at_least_once',
      commitIntervalMs: 1000,
      maxRecordsPerCommit: 2,
      clock: () => nowMs,
    })
    engines.push(engine)
    await log.appendBatch('in', [
      { key: utf8('a'), value: utf8('1') },
      { key: utf8('a'), value: utf8('2') },
      { key: utf8('b'), value: utf8('3') },
    ])
    engine.processAvailable()
    expect(log.endOffset('out', 0)).toBe(3)
    expect(log.fetchOffset('app', 'in', 0)).toBeUndefined()
    nowMs = 1000
    await log.append('in', { key: utf8('b'), value: utf8('4') })
    engine.processAvailable()
    expect(log.fetchOffset('app', 'in', 0)?.offset).toBe(4)
    await log.append('in', { key: utf8('c'), value: utf8('5') })
    engine.processAvailable()
    expect(log.fetchOffset('app', 'in', 0)?.offset).toBe(4)
    engine.close()
    expect(log.fetchOffset('app', 'in', 0)?.offset).toBe(5)
    const reopened = await start(counts(), log)
    expect(reopened.keyValueStore<string, number>('counts').get('c')).toBe(1)
    expect(reopened.keyValueStore<string, number>('counts').get('b')).toBe(2)
  })

  it('rejects an unknown guarantee with the choices', async () => {
    const { log } = await openLog()
    const error = await rejection(
      StreamsEngine.start(counts(), log, {
        applicationId: 'app',
        processingGuarantee: 'exactly_twice' as never,
      }),
    )
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect((error as Error).message).toMatch(/exactly_once.*at_least_once/)
  })
})

describe('StreamsEngine: what the review found', () => {
  it('ends a batch before a store write buffer overflows, instead of failing for good', async () => {
    const { log } = await openLog()
    const builder = new StreamsBuilder()
    const fan: KeyValueStoreSpec<string, Uint8Array> = builder.addStateStore({
      kind: 'keyValue',
      name: 'fan',
      keySerde: Serdes.String,
      valueSerde: Serdes.Bytes,
    })
    const payload = new Uint8Array(1024)
    builder.stream<string, string>('in').process(
      (): Processor<string, string, never, never> => {
        let store: KeyValueStore<string, Uint8Array> | undefined
        return {
          init(context) {
            store = context.getStateStore(fan)
          },
          process(r) {
            // 20 KB of state per record: 1,000 records would be 20 MB in one batch.
            for (let w = 0; w < 20; w++) store!.put(`${r.key}/${w}`, payload)
          },
        }
      },
      { stores: [fan] },
    )
    const engine = await start(builder.build(), log)
    await log.appendBatch(
      'in',
      Array.from({ length: 1000 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8('v') })),
    )
    engine.processAvailable()
    expect(engine.metrics().processedRecords).toBe(1000)
    expect(engine.metrics().commits).toBeGreaterThan(1)
  })

  it('goes on from the first retained record when its input was trimmed past the committed offset', async () => {
    const { log } = await openLog()
    const engine = await start(
      (() => {
        const builder = new StreamsBuilder()
        builder.stream<string, string>('in').to('out')
        return builder.build()
      })(),
      log,
    )
    await log.appendBatch('in', [{ value: utf8('a') }, { value: utf8('b') }])
    engine.processAvailable()
    await log.appendBatch('in', [{ value: utf8('c') }, { value: utf8('d') }, { value: utf8('e') }])
    await log.deleteRecords('in', 0, 4) // c and d trimmed before the engine read them
    engine.processAvailable()
    expect(values(log, 'out')).toEqual(['a', 'b', 'e'])
    expect(engine.metrics().trimmedInputRecords).toBe(2)
  })

  it('purges repartition records once they are committed', async () => {
    const { log } = await openLog()
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .groupBy((_k, v) => v)
      .count({ name: 'counts' })
    const engine = await start(builder.build(), log)
    await log.appendBatch(
      'in',
      Array.from({ length: 2500 }, (_, i) => ({ value: utf8(`w${i % 7}`) })),
    )
    engine.processAvailable()
    const topic = 'app-counts-repartition'
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(log.endOffset(topic, 0)).toBe(2500)
    expect(log.startOffset(topic, 0)).toBe(2500)
    expect(engine.keyValueStore<string, number>('counts').get('w0')).toBe(358)
  })

  it('runs processors that share a store in one task', async () => {
    const { log } = await openLog()
    await log.ensureTopic('other')
    const builder = new StreamsBuilder()
    const seen: KeyValueStoreSpec<string, number> = builder.addStateStore({
      kind: 'keyValue',
      name: 'seen',
      keySerde: Serdes.String,
      valueSerde: Serdes.Long,
    })
    const counter = (): Processor<string, string, never, never> => {
      let store: KeyValueStore<string, number> | undefined
      return {
        init(context) {
          store = context.getStateStore(seen)
        },
        process(r) {
          store!.put(r.key, (store!.get(r.key) ?? 0) + 1)
        },
      }
    }
    builder.stream<string, string>('in').process(counter, { stores: [seen] })
    builder.stream<string, string>('other').process(counter, { stores: [seen] })
    const topology = builder.build()
    expect(topology.subTopologies).toHaveLength(1)
    const engine = await start(topology, log)
    await log.append('in', { key: utf8('x'), value: utf8('1') })
    await log.append('other', { key: utf8('x'), value: utf8('2') })
    engine.processAvailable()
    expect(engine.keyValueStore<string, number>('seen').get('x')).toBe(2)
  })
})
