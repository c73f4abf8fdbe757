// Three-axis accelerometer in mg (x lateral, y vertical/head-ward, z anterior): lying at rest with breathing,
// walking upright, and a fall (free fall, impact, then lying still on the side).
import type { Prng } from './prng.ts'
import { IntervalCursor, type Interval } from './timeline.ts'

const G_MG = 1000
const REST_NOISE_MG = 4
const WALK_NOISE_MG = 40
const BREATH_MG = 8
const FREE_FALL_MS = 400
const FREE_FALL_G = 0.15
const IMPACT_MS = 100
const SETTLE_MS = 500

export class AccelGenerator {
  readonly rateHz: number
  readonly #rng: Prng
  readonly #walking: IntervalCursor<Interval & { cadenceSpm: number }>
  /** Falls as [atMs − free fall, endMs), so the cursor sees the free fall before the impact. */
  readonly #falls: IntervalCursor<Interval & { impactAtMs: number; impactG: number }>
  readonly #respW: number
  #frame = 0

  constructor(options: {
    rateHz: number
    respRateBpm: number
    rng: Prng
    walking: readonly (Interval & { cadenceSpm: number })[]
    falls: readonly (Interval & { impactG: number })[]
  }) {
    this.rateHz = options.rateHz
    this.#rng = options.rng
    this.#walking = new IntervalCursor(options.walking)
    this.#falls = new IntervalCursor(
      options.falls.map((f) => ({
        atMs: f.atMs - FREE_FALL_MS,
        endMs: f.endMs,
        impactAtMs: f.atMs,
        impactG: f.impactG,
      })),
    )
    this.#respW = (2 * Math.PI * options.respRateBpm) / 60
  }

  /** Fills x,y,z interleaved frames. */
  fill(out: Int16Array): void {
    for (let i = 0; i < out.length; i += 3) {
      const tMs = (this.#frame * 1000) / this.rateHz
      const t = tMs / 1000
      this.#frame++
      let x: number
      let y: number
      let z: number
      let noise = REST_NOISE_MG
      const fall = this.#falls.at(tMs)
      const walk = fall === undefined ? this.#walking.at(tMs) : undefined
      if (fall !== undefined) {
        const since = tMs - fall.impactAtMs
        if (since < 0) {
          // Free fall: the sensor reads near zero g.
          x = 0
          y = FREE_FALL_G * G_MG
          z = 0
          noise = WALK_NOISE_MG
        } else if (since < IMPACT_MS) {
          // Impact: a half-sine pulse, mostly lateral and vertical.
          const p = fall.impactG * G_MG * Math.sin((Math.PI * since) / IMPACT_MS)
          x = 0.8 * p
          y = 0.5 * p
          z = 0.33 * p
          noise = WALK_NOISE_MG
        } else if (since < SETTLE_MS) {
          // Bounce settling onto the side.
          const decay = Math.exp(-(since - IMPACT_MS) / 80)
          x = G_MG + 600 * decay * Math.sin((2 * Math.PI * since) / 90)
          y = 300 * decay
          z = 0
          noise = WALK_NOISE_MG
        } else {
          // Lying still on the side: gravity on x, shallow breathing only.
          x = G_MG
          y = 0
          z = 0.5 * BREATH_MG * Math.sin(this.#respW * t)
        }
      } else if (walk !== undefined) {
        const stepHz = walk.cadenceSpm / 60
        const w = 2 * Math.PI * stepHz * t
        x = 100 * Math.sin(w / 2)
        y = G_MG + 350 * Math.sin(w)
        z = 150 * Math.sin(w + 0.5)
        noise = WALK_NOISE_MG
      } else {
        // Lying supine at rest: gravity through the chest, breathing movement.
        x = 0
        y = 0
        z = G_MG + BREATH_MG * Math.sin(this.#respW * t)
      }
      out[i] = Math.round(x + noise * this.#rng.symmetric())
      out[i + 1] = Math.round(y + noise * this.#rng.symmetric())
      out[i + 2] = Math.round(z + noise * this.#rng.symmetric())
    }
  }
}
