// Device-side numerics: what a sensor's firmware would compute and report once per interval.
import type { BeatScheduler } from './beats.ts'

/** A beat must have been seen this recently for a non-zero rate. */
const RATE_TIMEOUT_MS = 3000
/** Rate averaged over the last N RR intervals, like a typical strap. */
const RATE_AVERAGE_BEATS = 4

/** Follows the beat list up to successive reading times; reports the rate and the RR intervals in between. */
export class RateTracker {
  readonly #beats: BeatScheduler
  /** Next beat not yet seen. */
  #k = 1
  readonly #recent: number[] = []

  constructor(beats: BeatScheduler) {
    this.#beats = beats
    this.#recent.push(beats.beat(0).tMs)
  }

  get beatIndex(): number {
    return this.#k - 1
  }

  /** Consumes beats with R peak ≤ tMs; returns the new RR intervals (ms, oldest first) and the current rate (bpm). */
  read(tMs: number): { rrIntervalsMs: number[]; bpm: number } {
    const rrIntervalsMs: number[] = []
    for (;;) {
      const b = this.#beats.beat(this.#k)
      if (b.tMs > tMs) break
      const prev = this.#recent[this.#recent.length - 1]!
      // An interval is reported only between two beats of the run (a device has no beat before it
      // started), so every RR interval is the gap between two R peaks of the ground truth.
      if (b.tMs >= 0 && prev >= 0) rrIntervalsMs.push(b.tMs - prev)
      this.#recent.push(b.tMs)
      if (this.#recent.length > RATE_AVERAGE_BEATS + 1) this.#recent.shift()
      this.#k++
    }
    const last = this.#recent[this.#recent.length - 1]!
    const first = this.#recent[0]!
    const n = this.#recent.length - 1
    const bpm = n === 0 || tMs - last > RATE_TIMEOUT_MS ? 0 : (60000 * n) / (last - first)
    return { rrIntervalsMs, bpm }
  }
}

/** Battery percent at tMs: a linear drain, as an integer 0..100. */
export function batteryAt(startPct: number, drainPctPerHour: number, tMs: number): number {
  return Math.max(0, Math.min(100, Math.round(startPct - (drainPctPerHour * tMs) / 3_600_000)))
}
