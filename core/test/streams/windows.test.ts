import { describe, expect, it } from 'vitest'
import { StreamsError } from '../../src/streams/errors.ts'
import { JoinWindows, SessionWindows, SlidingWindows, TimeWindows } from '../../src/streams/windows.ts'

const starts = (windows: { startMs: number }[]): number[] => windows.map((w) => w.startMs)

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    return error instanceof StreamsError ? error.code : `not a StreamsError: ${String(error)}`
  }
  return undefined
}

describe('TimeWindows', () => {
  it('tumbling windows are epoch-aligned [start, end)', () => {
    const windows = TimeWindows.ofSizeWithNoGrace(10)
    expect(windows.windowsFor(0)).toEqual([{ startMs: 0, endMs: 10 }])
    expect(windows.windowsFor(9)).toEqual([{ startMs: 0, endMs: 10 }])
    expect(windows.windowsFor(10)).toEqual([{ startMs: 10, endMs: 20 }])
    expect(windows.windowsFor(1_700_000_000_123)).toEqual([
      { startMs: 1_700_000_000_120, endMs: 1_700_000_000_130 },
    ])
  })

  it('hopping windows: every window whose [start, start+size) holds the timestamp', () => {
    const windows = TimeWindows.ofSizeWithNoGrace(12).advanceBy(5)
    expect(starts(windows.windowsFor(21))).toEqual([10, 15, 20])
    expect(starts(windows.windowsFor(20))).toEqual([10, 15, 20])
    expect(starts(windows.windowsFor(22))).toEqual([15, 20])
  })

  it('never yields windows with a negative start (near the epoch)', () => {
    expect(starts(TimeWindows.ofSizeWithNoGrace(12).advanceBy(5).windowsFor(3))).toEqual([0])
  })

  it('alignment shifts the window grid (beyond Kafka Streams)', () => {
    const hourly = TimeWindows.ofSizeWithNoGrace(60).alignedTo(15)
    expect(hourly.windowsFor(14)).toEqual([])
    expect(hourly.windowsFor(15)).toEqual([{ startMs: 15, endMs: 75 }])
    expect(hourly.windowsFor(74)).toEqual([{ startMs: 15, endMs: 75 }])
    expect(hourly.windowsFor(75)).toEqual([{ startMs: 75, endMs: 135 }])
    expect(TimeWindows.ofSizeWithNoGrace(60).alignedTo(-45).alignmentMs).toBe(15)
  })

  it('sums the seed example readings into 27, 22, 8 (windows of four readings)', () => {
    const readings = [9, 6, 8, 4, 7, 3, 8, 4, 2, 1, 3, 2]
    const windows = TimeWindows.ofSizeWithNoGrace(4)
    const sums = new Map<number, number>()
    readings.forEach((value, t) => {
      for (const w of windows.windowsFor(t)) sums.set(w.startMs, (sums.get(w.startMs) ?? 0) + value)
    })
    expect([...sums.values()]).toEqual([27, 22, 8])
  })

  it('closes a window when stream time reaches end + grace', () => {
    const windows = TimeWindows.ofSizeAndGrace(10, 5)
    const window = { startMs: 0, endMs: 10 }
    expect(windows.isClosed(window, 14)).toBe(false)
    expect(windows.isClosed(window, 15)).toBe(true)
    expect(TimeWindows.ofSizeWithNoGrace(10).isClosed(window, 9)).toBe(false)
    expect(TimeWindows.ofSizeWithNoGrace(10).isClosed(window, 10)).toBe(true)
    expect(windows.retentionMs).toBe(15)
  })

  it('rejects misconfiguration with a message that says what to use', () => {
    expect(codeOf(() => TimeWindows.ofSizeWithNoGrace(0))).toBe('INVALID_WINDOW')
    expect(codeOf(() => TimeWindows.ofSizeAndGrace(10, -1))).toBe('INVALID_WINDOW')
    expect(codeOf(() => TimeWindows.ofSizeWithNoGrace(1.5))).toBe('INVALID_WINDOW')
    expect(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11)).toThrow(
      'window advanceMs must be in (0, sizeMs=10], got 11; use advanceMs = sizeMs for tumbling windows',
    )
    expect(codeOf(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(0))).toBe('INVALID_WINDOW')
  })
})

describe('SlidingWindows', () => {
  it('closes when stream time passes the inclusive end plus grace', () => {
    const windows = SlidingWindows.ofTimeDifferenceAndGrace(10, 5)
    expect(windows.isClosed({ startMs: 0, endMs: 10 }, 15)).toBe(false)
    expect(windows.isClosed({ startMs: 0, endMs: 10 }, 16)).toBe(true)
  })

  it("drops a record only when its latest window [t, t + difference] is closed (Kafka's rule)", () => {
    const windows = SlidingWindows.ofTimeDifferenceAndGrace(10, 5)
    // Kafka: dropped iff t + 1 + difference <= streamTime − grace
    expect(windows.isLate(100, 115)).toBe(false)
    expect(windows.isLate(100, 116)).toBe(true)
    expect(codeOf(() => SlidingWindows.ofTimeDifferenceWithNoGrace(0))).toBe('INVALID_WINDOW')
  })
})

describe('SessionWindows', () => {
  it('a record within the inactivity gap of a session joins it, on either side', () => {
    const sessions = SessionWindows.ofInactivityGapWithNoGrace(5)
    const session = { startMs: 10, endMs: 20 }
    expect(sessions.joins(session, 5)).toBe(true)
    expect(sessions.joins(session, 4)).toBe(false)
    expect(sessions.joins(session, 25)).toBe(true)
    expect(sessions.joins(session, 26)).toBe(false)
  })

  it('closes when stream time passes end + grace (Kafka drops when end < streamTime − grace)', () => {
    const sessions = SessionWindows.ofInactivityGapAndGrace(5, 3)
    expect(sessions.isClosed({ startMs: 10, endMs: 20 }, 23)).toBe(false)
    expect(sessions.isClosed({ startMs: 10, endMs: 20 }, 24)).toBe(true)
    expect(codeOf(() => SessionWindows.ofInactivityGapAndGrace(5, -3))).toBe('INVALID_WINDOW')
  })
})

describe('bad window configuration is rejected when the windows are built', () => {
  const cases: [string, () => unknown, string][] = [
    [
      'tumbling size 0',
      () => TimeWindows.ofSizeWithNoGrace(0),
      'window sizeMs must be an integer number of ms > 0, got 0',
    ],
    [
      'negative grace',
      () => TimeWindows.ofSizeAndGrace(10, -5),
      'graceMs must be an integer number of ms ≥ 0, got -5',
    ],
    [
      'advance > size',
      () => TimeWindows.ofSizeAndGrace(10, 2).advanceBy(20),
      'window advanceMs must be in (0, sizeMs=10], got 20; use advanceMs = sizeMs for tumbling windows',
    ],
    [
      'sliding difference 0',
      () => SlidingWindows.ofTimeDifferenceAndGrace(0, 5),
      'timeDifferenceMs must be an integer number of ms > 0, got 0',
    ],
    [
      'sliding negative grace',
      () => SlidingWindows.ofTimeDifferenceAndGrace(10, -1),
      'graceMs must be an integer number of ms ≥ 0, got -1',
    ],
    [
      'session gap 0',
      () => SessionWindows.ofInactivityGapWithNoGrace(0),
      'inactivityGapMs must be an integer number of ms > 0, got 0',
    ],
    [
      'session fractional gap',
      () => SessionWindows.ofInactivityGapAndGrace(2.5, 0),
      'inactivityGapMs must be an integer number of ms > 0, got 2.5',
    ],
    [
      'session negative grace',
      () => SessionWindows.ofInactivityGapAndGrace(10, -1),
      'graceMs must be an integer number of ms ≥ 0, got -1',
    ],
  ]
  for (const [name, build, message] of cases) {
    it(name, () => {
      expect(codeOf(build)).toBe('INVALID_WINDOW')
      expect(build).toThrow(message)
    })
  }
})

describe('SessionWindows.isFinal', () => {
  it('a session is final once no record that is not late can join it: stream time > end + gap + grace', () => {
    const sessions = SessionWindows.ofInactivityGapAndGrace(10, 5)
    expect(sessions.isClosed({ startMs: 0, endMs: 20 }, 26)).toBe(true)
    expect(sessions.isFinal({ startMs: 0, endMs: 20 }, 35)).toBe(false)
    expect(sessions.isFinal({ startMs: 0, endMs: 20 }, 36)).toBe(true)
  })
})

describe('JoinWindows', () => {
  it('matches other-side records within [t − before, t + after], inclusive', () => {
    const join = JoinWindows.ofTimeDifferenceWithNoGrace(10)
    expect(join.matches(100, 90)).toBe(true)
    expect(join.matches(100, 89)).toBe(false)
    expect(join.matches(100, 110)).toBe(true)
    expect(join.matches(100, 111)).toBe(false)
    const asymmetric = join.before(0).after(20)
    expect(asymmetric.matches(100, 99)).toBe(false)
    expect(asymmetric.matches(100, 120)).toBe(true)
    expect(codeOf(() => join.after(-1))).toBe('INVALID_WINDOW')
  })
})
