import { describe, expect, it } from 'vitest'
import { Log } from '../../src/log/index.ts'
import { Serdes } from '../../src/state/index.ts'
import { StreamsBuilder, StreamsError, TopologyTestDriver, type Topology } from '../../src/streams/index.ts'
import type { Cancellable, PunctuationType } from '../../src/streams/processor.ts'
import { useDrivers } from './fixtures/drivers.ts'

const fx = useDrivers()

interface Probe {
  fired: number[]
  cancellable?: Cancellable
  /** Throws (after forwarding) on the punctuation at this time, once. */
  failAt?: number | undefined
}

/**
 * A processor that schedules one punctuator, records each call's argument in `probe`, and forwards
 * `tick@<time>` (plus a store write counting ticks) from it. Records are not forwarded.
 */
function tickTopology(type: PunctuationType, intervalMs: number, probe: Probe): Topology {
  const builder = new StreamsBuilder()
  const ticks = builder.addStateStore({
    kind: 'keyValue',
    name: 'ticks',
    keySerde: Serdes.String,
    valueSerde: Serdes.Long,
  })
  builder
    .stream<string, string>('in')
    .process<string, string>(
      () => ({
        init: (context) => {
          const store = context.getStateStore(ticks)
          probe.cancellable = context.schedule(intervalMs, type, (nowMs) => {
            probe.fired.push(nowMs)
            store.put('ticks', (store.get('ticks') ?? 0) + 1)
            context.forward({ key: 'tick', value: `tick@${nowMs}`, timestampMs: nowMs })
            expect(context.recordMetadata()).toBeUndefined()
            if (probe.failAt === nowMs) {
              probe.failAt = undefined
              throw new Error('punctuator crashed')
            }
          })
        },
        process: () => {},
      }),
      { stores: [ticks] },
    )
    .to('out')
  return builder.build()
}

async function drive(topology: Topology, log?: Log) {
  const driver = await fx.create(topology, {
    initialWallClockTimeMs: 1000,
    log,
  })
  return {
    driver,
    input: driver.createInputTopic('in', Serdes.String, Serdes.String),
    output: driver.createOutputTopic('out', Serdes.String, Serdes.String),
  }
}

describe('stream-time punctuation', () => {
  it('fires on the first record, then at most once each time stream time reaches the next multiple', async () => {
    const probe: Probe = { fired: [] }
    const { driver, input, output } = await drive(tickTopology('streamTime', 10, probe))
    for (const t of [3, 5, 12, 8, 45, 46, 50]) input.pipeInput('k', 'v', t)
    // 3: first record; 12 ≥ 10; 8 does not advance stream time; 45 ≥ 20 (once: 30 and 40 are skipped); 50.
    expect(probe.fired).toEqual([3, 12, 45, 50])
    expect(output.readValuesToList()).toEqual(['tick@3', 'tick@12', 'tick@45', 'tick@50'])
    expect(driver.getKeyValueStore<string, number>('ticks').get('ticks')).toBe(4)
    // Wall-clock time does not drive it.
    driver.advanceWallClockTime(1000)
    expect(probe.fired).toHaveLength(4)
  })

  it('stops after cancel()', async () => {
    const probe: Probe = { fired: [] }
    const { input } = await drive(tickTopology('streamTime', 10, probe))
    input.pipeInput('k', 'v', 0)
    probe.cancellable!.cancel()
    probe.cancellable!.cancel()
    input.pipeInput('k', 'v', 100)
    expect(probe.fired).toEqual([0])
  })

  it('continues the same series after a restart: nothing fires twice or is skipped', async () => {
    const dir = fx.tempDir('vigil-punctuation-restart-')
    const probe: Probe = { fired: [] }
    const topology = tickTopology('streamTime', 10, probe)

    const first = await fx.openLog(dir)
    const run1 = await drive(topology, first)
    for (const t of [3, 12, 15]) run1.input.pipeInput('k', 'v', t)
    await fx.close(run1.driver, first)

    const second = await fx.openLog(dir)
    const run2 = await drive(topology, second)
    // Stream time 15 was restored: 17 is not a new point, 20 is.
    for (const t of [17, 20]) run2.input.pipeInput('k', 'v', t)
    expect(probe.fired).toEqual([3, 12, 20])
    const all = second.read('out', 0, 0, { maxRecords: 100 }).map((r) => Serdes.String.deserialize(r.value))
    expect(all).toEqual(['tick@3', 'tick@12', 'tick@20'])
    expect(run2.driver.getKeyValueStore<string, number>('ticks').get('ticks')).toBe(3)
  })

  it('commits its output exactly once with the record: a crash after forwarding leaves nothing, the rerun writes it once', async () => {
    const dir = fx.tempDir('vigil-punctuation-crash-')
    const probe: Probe = { fired: [], failAt: 12 }
    const topology = tickTopology('streamTime', 10, probe)

    const first = await fx.openLog(dir)
    const run1 = await drive(topology, first)
    run1.input.pipeInput('k', 'v', 3)
    let error: unknown
    try {
      run1.input.pipeInput('k', 'v', 12)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StreamsError)
    expect((error as StreamsError).code).toBe('TASK_FAILED')
    expect((error as StreamsError).message).toContain('streamTime punctuation')
    // The crashed transaction's tick was not committed.
    expect(first.read('out', 0, 0, { maxRecords: 100 })).toHaveLength(1)
    await fx.close(run1.driver, first)

    const second = await fx.openLog(dir)
    const run2 = await drive(topology, second)
    // The record at 12 was not committed: the new engine reprocesses it (stream time 3 restored) and
    // ticks, when the next pipe makes it process; 13 is no new point.
    run2.input.pipeInput('k', 'v', 13)
    expect(run2.output.readValuesToList()).toEqual(['tick@12'])
    const all = second.read('out', 0, 0, { maxRecords: 100 }).map((r) => Serdes.String.deserialize(r.value))
    expect(all).toEqual(['tick@3', 'tick@12'])
    expect(run2.driver.getKeyValueStore<string, number>('ticks').get('ticks')).toBe(2)
  })
})

describe('wall-clock punctuation', () => {
  it('fires when the clock passes each point, once per advance, with the clock time', async () => {
    const probe: Probe = { fired: [] }
    const { driver, input, output } = await drive(tickTopology('wallClock', 100, probe))
    driver.advanceWallClockTime(50)
    expect(probe.fired).toEqual([])
    driver.advanceWallClockTime(50)
    expect(probe.fired).toEqual([1100])
    // 1200 and 1300 were missed: one call at 1350, then the next multiple past it.
    driver.advanceWallClockTime(250)
    expect(probe.fired).toEqual([1100, 1350])
    driver.advanceWallClockTime(50)
    expect(probe.fired).toEqual([1100, 1350, 1400])
    // Records do not drive it.
    input.pipeInput('k', 'v', 999_999)
    expect(probe.fired).toHaveLength(3)
    expect(output.readValuesToList()).toEqual(['tick@1100', 'tick@1350', 'tick@1400'])
    expect(driver.getKeyValueStore<string, number>('ticks').get('ticks')).toBe(3)
    probe.cancellable!.cancel()
    driver.advanceWallClockTime(1000)
    expect(probe.fired).toHaveLength(3)
  })

  it('commits with the punctuation: after a restart the store and output agree', async () => {
    const dir = fx.tempDir('vigil-wallclock-restart-')
    const probe: Probe = { fired: [], failAt: 1200 }
    const topology = tickTopology('wallClock', 100, probe)
    const first = await fx.openLog(dir)
    const run1 = await drive(topology, first)
    run1.driver.advanceWallClockTime(100)
    expect(() => {
      run1.driver.advanceWallClockTime(100)
    }).toThrow(/wallClock punctuation/)
    await fx.close(run1.driver, first)

    const second = await fx.openLog(dir)
    const run2 = await drive(topology, second)
    run2.driver.advanceWallClockTime(100)
    const all = second.read('out', 0, 0, { maxRecords: 100 }).map((r) => Serdes.String.deserialize(r.value))
    // The crashed punctuation (1200) left neither output nor a store write.
    expect(all).toEqual(['tick@1100', 'tick@1100'])
    expect(run2.driver.getKeyValueStore<string, number>('ticks').get('ticks')).toBe(2)
  })

  it('lets the engine run due punctuations by its injected clock', async () => {
    const probe: Probe = { fired: [] }
    const builderTopology = tickTopology('wallClock', 10, probe)
    const { driver } = await drive(builderTopology)
    expect(driver.wallClockTimeMs).toBe(1000)
    driver.advanceWallClockTime(10)
    expect(probe.fired).toEqual([1010])
  })

  it('rejects a bad interval with the value', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in')
      .process<string, string>(() => ({
        init: (context) => {
          context.schedule(0, 'wallClock', () => {})
        },
        process: () => {},
      }))
      .to('out')
    await expect(TopologyTestDriver.create(builder.build())).rejects.toThrow(
      /interval of whole ms ≥ 1, got 0/,
    )
  })
})
