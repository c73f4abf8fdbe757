import { describe, expect, it } from 'vitest'
import { Log } from '../../src/log/index.ts'
import { Serdes, type Windowed } from '../../src/state/index.ts'
import { StreamsBuilder } from '../../src/streams/builder.ts'
import type { KGroupedStream } from '../../src/streams/grouped-stream.ts'
import type { Topology } from '../../src/streams/topology.ts'
import type { WindowedKTable } from '../../src/streams/windowed-common.ts'
import { WindowedSerdes } from '../../src/streams/windowed-serdes.ts'
import { SessionWindows, SlidingWindows, TimeWindows } from '../../src/streams/windows.ts'
import { useDrivers } from './fixtures/drivers.ts'

/*
 * wallClockCloseAfterMs: when no record has advanced stream time for that long on the engine's
 * clock, stream time advances by the wall-clock time elapsed since it last advanced, so quiet keys
 * still close. Checked on wall-clock punctuations every min(wallClockCloseAfterMs, 1000) ms.
 */

const fx = useDrivers()

function show(r: { key: Windowed<string> | null; value: number }): string {
  return `${r.key?.key}@${r.key?.window.startMs}..${r.key?.window.endMs}=${r.value}`
}

type Windowing = (grouped: KGroupedStream<string, number>) => WindowedKTable<string, number, number>

function topology(windowing: Windowing, keySerde = WindowedSerdes.timeWindowed(Serdes.String)): Topology {
  const builder = new StreamsBuilder()
  const table = windowing(
    builder.stream<string, number>('in', { keySerde: Serdes.String, valueSerde: Serdes.Long }).groupByKey(),
  )
  table.toStream().to('out', { keySerde, valueSerde: Serdes.Long })
  table.lateRecords().to('late', { valueSerde: Serdes.Long })
  return builder.build()
}

const closeAfter = { name: 'agg', emitStrategy: 'onWindowClose', wallClockCloseAfterMs: 1000 } as const

async function drive(t: Topology, keySerde = WindowedSerdes.timeWindowed(Serdes.String), log?: Log) {
  const driver = await fx.create(t, {
    initialWallClockTimeMs: 0,
    log,
  })
  return {
    driver,
    input: driver.createInputTopic('in', Serdes.String, Serdes.Long),
    output: driver.createOutputTopic('out', keySerde, Serdes.Long),
    late: driver.createOutputTopic('late', Serdes.String, Serdes.Long),
  }
}

describe('wall-clock close', () => {
  it('time windows: a quiet stream still closes its windows after the idle time', async () => {
    const { driver, input, output, late } = await drive(
      topology((g) => g.windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count(closeAfter)),
    )
    input.pipeInput('s', 1, 1)
    input.pipeInput('s', 1, 5)
    driver.advanceWallClockTime(999)
    expect(output.readRecordsToList()).toEqual([])
    driver.advanceWallClockTime(1)
    // Stream time 5 + 1000 closes [0,10).
    expect(output.readRecordsToList().map(show)).toEqual(['s@0..10=2'])
    // The window was emitted as final, so a record into it is now late.
    input.pipeInput('s', 1, 8)
    expect(late.readRecordsToList().map((r) => r.timestampMs)).toEqual([8])
    expect(output.readRecordsToList()).toEqual([])
  })

  it('a record that advances stream time restarts the idle time', async () => {
    const { driver, input, output } = await drive(
      topology((g) => g.windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count(closeAfter)),
    )
    input.pipeInput('s', 1, 5)
    driver.advanceWallClockTime(600)
    input.pipeInput('s', 1, 6)
    driver.advanceWallClockTime(400) // a check at 1000: idle only 400 since 6 arrived
    expect(output.readRecordsToList()).toEqual([])
    driver.advanceWallClockTime(1000) // a check at 2000: idle 1400
    expect(output.readRecordsToList().map(show)).toEqual(['s@0..10=2'])
  })

  it('without the option, wall-clock time closes nothing', async () => {
    const { driver, input, output } = await drive(
      topology((g) =>
        g.windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count({ emitStrategy: 'onWindowClose' }),
      ),
    )
    input.pipeInput('s', 1, 5)
    driver.advanceWallClockTime(60_000)
    expect(output.readRecordsToList()).toEqual([])
  })

  it('sliding windows', async () => {
    const { driver, input, output } = await drive(
      topology((g) => g.windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10)).count(closeAfter)),
    )
    input.pipeInput('s', 1, 15)
    input.pipeInput('s', 1, 20)
    driver.advanceWallClockTime(1000)
    expect(output.readRecordsToList().map(show)).toEqual(['s@5..15=1', 's@10..20=2', 's@16..26=1'])
  })

  it('session windows', async () => {
    const sessionKey = WindowedSerdes.sessionWindowed(Serdes.String)
    const { driver, input, output } = await drive(
      topology(
        (g) => g.windowedBy(SessionWindows.ofInactivityGapWithNoGrace(10)).count(closeAfter),
        sessionKey,
      ),
      sessionKey,
    )
    input.pipeInput('a', 1, 5)
    input.pipeInput('b', 1, 7)
    input.pipeInput('a', 1, 9)
    driver.advanceWallClockTime(1000)
    expect(output.readRecordsToList().map(show)).toEqual(['b@7..7=1', 'a@5..9=2'])
  })

  it('the advanced stream time survives a restart', async () => {
    const dir = fx.tempDir('vigil-wallclock-restart-')
    const t = topology((g) => g.windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count(closeAfter))
    const first = await fx.openLog(dir)
    const run1 = await drive(t, undefined, first)
    run1.input.pipeInput('s', 1, 5)
    run1.driver.advanceWallClockTime(1000)
    expect(run1.output.readRecordsToList().map(show)).toEqual(['s@0..10=1'])
    await fx.close(run1.driver, first)
    const second = await fx.openLog(dir)
    const run2 = await drive(t, undefined, second)
    try {
      run2.input.pipeInput('s', 1, 9)
      expect(run2.late.readRecordsToList().map((r) => r.timestampMs)).toEqual([9])
      expect(run2.output.readRecordsToList()).toEqual([])
    } finally {
      await fx.close(run2.driver, second)
    }
  })
})
