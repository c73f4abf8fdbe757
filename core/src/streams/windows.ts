import { StreamsError } from './errors.ts'

/**
 * Window definitions with Kafka Streams' semantics (all times in ms, event time):
 *
 * - TimeWindows (tumbling, or hopping with `advanceBy`): `[startMs, endMs)`, starts at
 *   `alignmentMs + k·advanceMs` (epoch-aligned when alignmentMs = 0), never negative.
 * - SlidingWindows: `[startMs, endMs]`, both inclusive, `endMs − startMs = timeDifferenceMs`.
 * - SessionWindows: `[startMs, endMs]`, both inclusive; a record within `inactivityGapMs` of a
 *   session of the same key joins (and may merge) it.
 * - JoinWindows: a record at t joins other-side records with timestamps in
 *   `[t − beforeMs, t + afterMs]`.
 *
 * Grace is always explicit (`...WithNoGrace` or `...AndGrace`). A window is closed once stream
 * time reaches its exclusive end plus grace: `streamTime ≥ endMs + graceMs` for time windows,
 * `streamTime > endMs + graceMs` for the inclusive-end kinds. A record is late, dropped and
 * counted, when every window it belongs to is closed.
 */

export interface Window {
  readonly startMs: number
  readonly endMs: number
}

function invalid(message: string): StreamsError {
  return new StreamsError('INVALID_WINDOW', message)
}

function checkDuration(name: string, value: number, { positive }: { positive: boolean }): number {
  if (!Number.isSafeInteger(value) || value < 0 || (positive && value === 0)) {
    throw invalid(`${name} must be an integer number of ms ${positive ? '> 0' : '≥ 0'}, got ${value}`)
  }
  return value
}

export class TimeWindows {
  readonly sizeMs: number
  readonly advanceMs: number
  readonly graceMs: number
  readonly alignmentMs: number

  private constructor(sizeMs: number, advanceMs: number, graceMs: number, alignmentMs: number) {
    this.sizeMs = sizeMs
    this.advanceMs = advanceMs
    this.graceMs = graceMs
    this.alignmentMs = alignmentMs
  }

  /** Tumbling windows of `sizeMs` that close as soon as stream time passes their end. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    const size = checkDuration('window sizeMs', sizeMs, { positive: true })
    return new TimeWindows(size, size, 0, 0)
  }

  /** Tumbling windows of `sizeMs` that accept out-of-order records for `graceMs` after their end. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    const size = checkDuration('window sizeMs', sizeMs, { positive: true })
    return new TimeWindows(size, size, checkDuration('graceMs', graceMs, { positive: false }), 0)
  }

  /** Hopping windows: a new window every `advanceMs`, in (0, sizeMs]. */
  advanceBy(advanceMs: number): TimeWindows {
    if (!Number.isSafeInteger(advanceMs) || advanceMs <= 0 || advanceMs > this.sizeMs) {
      throw invalid(
        `window advanceMs must be in (0, sizeMs=${this.sizeMs}], got ${advanceMs}; use advanceMs = sizeMs for tumbling windows`,
      )
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs, this.alignmentMs % advanceMs)
  }

  /**
   * Shifts window starts to `alignmentMs + k·advanceMs` (beyond Kafka Streams: e.g. day windows
   * that start at local midnight). Taken modulo advanceMs.
   */
  alignedTo(alignmentMs: number): TimeWindows {
    if (!Number.isSafeInteger(alignmentMs))
      throw invalid(`alignmentMs must be an integer number of ms, got ${alignmentMs}`)
    const alignment = ((alignmentMs % this.advanceMs) + this.advanceMs) % this.advanceMs
    return new TimeWindows(this.sizeMs, this.advanceMs, this.graceMs, alignment)
  }

  /** The windows containing `timestampMs`, by ascending start. */
  windowsFor(timestampMs: number): Window[] {
    const { sizeMs, advanceMs, alignmentMs } = this
    const windows: Window[] = []
    // Smallest k with start + size > t, i.e. start > t − size.
    let start = alignmentMs + (Math.floor((timestampMs - sizeMs - alignmentMs) / advanceMs) + 1) * advanceMs
    for (; start <= timestampMs; start += advanceMs) {
      if (start >= 0) windows.push({ startMs: start, endMs: start + sizeMs })
    }
    return windows
  }

  /** Whether the window is closed at this stream time. */
  isClosed(window: Window, streamTimeMs: number): boolean {
    return streamTimeMs >= window.endMs + this.graceMs
  }

  /** How long a window store must keep windows: size + grace. */
  get retentionMs(): number {
    return this.sizeMs + this.graceMs
  }
}

export class SlidingWindows {
  readonly timeDifferenceMs: number
  readonly graceMs: number

  private constructor(timeDifferenceMs: number, graceMs: number) {
    this.timeDifferenceMs = timeDifferenceMs
    this.graceMs = graceMs
  }

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return new SlidingWindows(checkDuration('timeDifferenceMs', timeDifferenceMs, { positive: true }), 0)
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    return new SlidingWindows(
      checkDuration('timeDifferenceMs', timeDifferenceMs, { positive: true }),
      checkDuration('graceMs', graceMs, { positive: false }),
    )
  }

  /** Closed once stream time passes the (inclusive) end plus grace. */
  isClosed(window: Window, streamTimeMs: number): boolean {
    return streamTimeMs > window.endMs + this.graceMs
  }

  /** A record at `timestampMs` is late when its own latest window `[t, t + difference]` is closed. */
  isLate(timestampMs: number, streamTimeMs: number): boolean {
    return streamTimeMs > timestampMs + this.timeDifferenceMs + this.graceMs
  }

  get retentionMs(): number {
    return 2 * this.timeDifferenceMs + this.graceMs + 1
  }
}

export class SessionWindows {
  readonly inactivityGapMs: number
  readonly graceMs: number

  private constructor(inactivityGapMs: number, graceMs: number) {
    this.inactivityGapMs = inactivityGapMs
    this.graceMs = graceMs
  }

  static ofInactivityGapWithNoGrace(inactivityGapMs: number): SessionWindows {
    return new SessionWindows(checkDuration('inactivityGapMs', inactivityGapMs, { positive: true }), 0)
  }

  static ofInactivityGapAndGrace(inactivityGapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(
      checkDuration('inactivityGapMs', inactivityGapMs, { positive: true }),
      checkDuration('graceMs', graceMs, { positive: false }),
    )
  }

  /** Whether a record at `timestampMs` belongs to (and so merges with) `session`. */
  joins(session: Window, timestampMs: number): boolean {
    return (
      timestampMs >= session.startMs - this.inactivityGapMs &&
      timestampMs <= session.endMs + this.inactivityGapMs
    )
  }

  /** Closed once stream time passes the (inclusive) end plus grace. */
  isClosed(session: Window, streamTimeMs: number): boolean {
    return streamTimeMs > session.endMs + this.graceMs
  }

  /**
   * Final once no record that is not late can join it any more: a record within the gap after its
   * end is late once stream time passes end + gap + grace. Until then a closed session still grows
   * (in order: a record at end + gap when stream time is there). Closed sessions of Kafka Streams
   * merge until its store expires them, which (retention gap + grace) is about this point.
   */
  isFinal(session: Window, streamTimeMs: number): boolean {
    return streamTimeMs > session.endMs + this.inactivityGapMs + this.graceMs
  }

  get retentionMs(): number {
    return this.inactivityGapMs + this.graceMs
  }
}

export class JoinWindows {
  readonly beforeMs: number
  readonly afterMs: number
  readonly graceMs: number

  private constructor(beforeMs: number, afterMs: number, graceMs: number) {
    this.beforeMs = beforeMs
    this.afterMs = afterMs
    this.graceMs = graceMs
  }

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    const difference = checkDuration('timeDifferenceMs', timeDifferenceMs, { positive: false })
    return new JoinWindows(difference, difference, 0)
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    const difference = checkDuration('timeDifferenceMs', timeDifferenceMs, { positive: false })
    return new JoinWindows(difference, difference, checkDuration('graceMs', graceMs, { positive: false }))
  }

  /** Other-side records up to `beforeMs` earlier join. */
  before(beforeMs: number): JoinWindows {
    return new JoinWindows(
      checkDuration('beforeMs', beforeMs, { positive: false }),
      this.afterMs,
      this.graceMs,
    )
  }

  /** Other-side records up to `afterMs` later join. */
  after(afterMs: number): JoinWindows {
    return new JoinWindows(
      this.beforeMs,
      checkDuration('afterMs', afterMs, { positive: false }),
      this.graceMs,
    )
  }

  /** Whether an other-side record at `otherMs` joins a record at `timestampMs`. */
  matches(timestampMs: number, otherMs: number): boolean {
    return otherMs >= timestampMs - this.beforeMs && otherMs <= timestampMs + this.afterMs
  }

  get retentionMs(): number {
    return this.beforeMs + this.afterMs + this.graceMs + 1
  }
}
