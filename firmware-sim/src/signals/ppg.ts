// Photoplethysmogram: one pulse per perfusing beat, a pulse transit time after its R peak, shaped by a
// two-Gaussian template (systolic peak and dicrotic wave) stretched over the beat's cycle.
import type { Beat, BeatScheduler } from './beats.ts'
import type { Prng } from './prng.ts'
import { IntervalCursor, type Interval } from './timeline.ts'

const PULSE_TRANSIT_MS = 200
const TEMPLATE_SIZE = 512
const DC_AU = 16000
const AC_AU = 2500
const OFF_AU = 600
const NOISE_AU = 15
const RESP_AU = 120
/** A pulse lasts at most this long when no next beat comes (pause). */
const MAX_PULSE_MS = 1200

const TEMPLATE = ((): Float64Array => {
  const t = new Float64Array(TEMPLATE_SIZE + 1)
  const g = (x: number, mu: number, s: number): number => Math.exp(-((x - mu) ** 2) / (2 * s * s))
  for (let i = 0; i <= TEMPLATE_SIZE; i++) {
    const x = i / TEMPLATE_SIZE
    t[i] = g(x, 0.22, 0.09) + 0.45 * g(x, 0.5, 0.11)
  }
  // Subtract the line between the ends so a pulse starts and ends at zero (no step between pulses).
  const a = t[0]!
  const b = t[TEMPLATE_SIZE]!
  for (let i = 0; i <= TEMPLATE_SIZE; i++) t[i] = t[i]! - (a + ((b - a) * i) / TEMPLATE_SIZE)
  return t
})()

export class PpgGenerator {
  readonly rateHz: number
  readonly #beats: BeatScheduler
  readonly #rng: Prng
  readonly #off: IntervalCursor<Interval>
  readonly #respW: number
  #frame = 0
  #k: number
  #current: Beat
  #next: Beat

  constructor(options: {
    scheduler: BeatScheduler
    rateHz: number
    respRateBpm: number
    rng: Prng
    off: readonly Interval[]
  }) {
    this.rateHz = options.rateHz
    this.#beats = options.scheduler
    this.#rng = options.rng
    this.#off = new IntervalCursor(options.off)
    this.#respW = (2 * Math.PI * options.respRateBpm) / 60
    this.#k = 0
    this.#current = this.#beats.beat(0)
    this.#next = this.#beats.beat(1)
  }

  get beatIndex(): number {
    return this.#k
  }

  fill(out: Int16Array): void {
    const fromMs = (this.#frame * 1000) / this.rateHz
    const off = this.#off.overlaps(fromMs, ((this.#frame + out.length) * 1000) / this.rateHz)
    for (let i = 0; i < out.length; i++) {
      const tMs = (this.#frame * 1000) / this.rateHz
      this.#frame++
      // The pulse in progress is the latest beat whose pulse has arrived; cached until the next one arrives.
      if (this.#next.tMs + PULSE_TRANSIT_MS <= tMs) {
        do {
          this.#k++
          this.#current = this.#next
          this.#next = this.#beats.beat(this.#k + 1)
        } while (this.#next.tMs + PULSE_TRANSIT_MS <= tMs)
      }
      const beat = this.#current
      const period = Math.min(this.#next.tMs - beat.tMs, MAX_PULSE_MS)
      const phase = (tMs - beat.tMs - PULSE_TRANSIT_MS) / period
      let pulse = 0
      if (phase >= 0 && phase < 1) pulse = beat.perfusion * TEMPLATE[Math.floor(phase * TEMPLATE_SIZE)]!
      let v = DC_AU + AC_AU * pulse + RESP_AU * Math.sin(this.#respW * (tMs / 1000))
      if (off && this.#off.at(tMs) !== undefined) v = OFF_AU
      out[i] = Math.round(v + NOISE_AU * this.#rng.symmetric())
    }
  }
}
