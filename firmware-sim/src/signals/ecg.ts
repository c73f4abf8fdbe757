// ECGSYN (McSharry et al. 2003; reference/ecg.md) streamed: the limit cycle's phase θ is laid piecewise-linearly
// over the scheduler's beats (on the limit cycle |(x,y)| = 1, so θ is all that x,y carry), and z is integrated
// with fixed-step RK4 at twice the output rate, then decimated. Only Gaussians within 5 widths are evaluated.
import type { Beat, BeatScheduler, Morphology } from './beats.ts'
import { morphologyFor } from './beats.ts'
import type { Prng } from './prng.ts'
import { IntervalCursor, type Interval } from './timeline.ts'

const TWO_PI = 2 * Math.PI
/** ECGSYN: z0 = 0.005·sin(2π f_resp t). */
const RESP_Z_AMPLITUDE = 0.005
/** ECGSYN rescales z to [−0.4, 1.2] mV. */
const OUT_MIN_MV = -0.4
const OUT_MAX_MV = 1.2
const VF_AMPLITUDE_MV = 0.35
const AF_FWAVE_MV = 0.05
const WALKING_ARTEFACT_UV = 120
const ARTEFACT_CUTOFF_HZ = 3
const INT16_MAX = 32767

/** A source of beats by absolute index (the scheduler, or a regular train for calibration). */
export interface BeatSource {
  beat(i: number): Beat
}

export interface EcgOverlays {
  readonly vf: readonly Interval[]
  readonly af: readonly Interval[]
  readonly leadOff: readonly Interval[]
  readonly artefact: readonly (Interval & { amplitudeUv: number })[]
  readonly walking: readonly Interval[]
}

/** The z dynamics alone, in ECGSYN units; `sample()` returns z at successive output times. */
class EcgsynCore {
  readonly #beats: BeatSource
  readonly #hSec: number
  readonly #hMs: number
  readonly #respW: number
  #k: number
  #current: Beat
  #next: Beat
  #step = 0
  /** sin and cos of the respiratory phase at the current step, advanced by rotation (no Math.sin per step). */
  #respSin = 0
  #respCos = 1
  readonly #halfSin: number
  readonly #halfCos: number
  #z = 0.04 // ECGSYN's initial state [1, 0, 0.04]
  #gNow: number
  #z0Now: number

  constructor(beats: BeatSource, internalHz: number, respRateBpm: number, firstBeat: number) {
    this.#beats = beats
    this.#hSec = 1 / internalHz
    this.#hMs = 1000 / internalHz
    this.#respW = (TWO_PI * respRateBpm) / 60
    this.#k = firstBeat
    this.#current = beats.beat(firstBeat)
    this.#next = beats.beat(firstBeat + 1)
    this.#halfSin = Math.sin((this.#respW * this.#hSec) / 2)
    this.#halfCos = Math.cos((this.#respW * this.#hSec) / 2)
    this.#gNow = this.#drive(0)
    this.#z0Now = 0
  }

  get beatIndex(): number {
    return this.#k
  }

  /** −Σ aᵢ Δθᵢ exp(−Δθᵢ²/2bᵢ²) at tMs, with θ from the beat segment containing tMs. */
  #drive(tMs: number): number {
    // The segment [beat k, beat k+1) is cached: the scheduler is asked only when a beat is crossed.
    if (tMs >= this.#next.tMs) {
      do {
        this.#k++
        this.#current = this.#next
        this.#next = this.#beats.beat(this.#k + 1)
      } while (tMs >= this.#next.tMs)
    }
    const b = this.#current
    const sinceR = tMs - b.tMs
    let theta: number
    let m: Morphology
    let halfMs: number
    if (sinceR < b.postHalfMs) {
      halfMs = b.postHalfMs
      theta = (Math.PI * sinceR) / halfMs
      m = b.morphology
    } else {
      const n = this.#next
      const toR = n.tMs - tMs
      halfMs = n.preHalfMs
      if (toR >= halfMs) return 0 // parked between beats (pause): no wave is driven
      theta = (-Math.PI * toR) / halfMs
      m = n.morphology
    }
    // ECGSYN's θ runs at one ω per record; here the half-cycles around an R peak may differ (a premature beat,
    // a compensatory pause). Scaling the drive by ω/ω_nominal makes z a function of θ, so every wave still
    // returns to baseline; for regular beats the factor is 1 and this is ECGSYN unchanged.
    const speed = m.rrMs / (2 * halfMs)
    const ti = m.ti
    const ai = m.ai
    const k = m.negHalfInvB2
    const cut = m.cutoff
    let sum = 0
    for (let i = 0; i < 5; i++) {
      let d = theta - ti[i]!
      if (d > Math.PI) d -= TWO_PI
      else if (d < -Math.PI) d += TWO_PI
      const c = cut[i]!
      if (d > c || d < -c) continue
      sum -= ai[i]! * d * Math.exp(k[i]! * d * d)
    }
    return sum * speed
  }

  /** z at the current output time, then advances `decimation` internal RK4 steps. */
  sample(decimation: number): number {
    const out = this.#z
    const h = this.#hSec
    const hs = this.#halfSin
    const hc = this.#halfCos
    for (let s = 0; s < decimation; s++) {
      const tMs = this.#step * this.#hMs
      const gMid = this.#drive(tMs + this.#hMs / 2)
      const gEnd = this.#drive(tMs + this.#hMs)
      // Rotate the respiratory phasor by half a step, twice; renormalise now and then against rounding drift.
      const sMid = this.#respSin * hc + this.#respCos * hs
      const cMid = this.#respCos * hc - this.#respSin * hs
      let sEnd = sMid * hc + cMid * hs
      let cEnd = cMid * hc - sMid * hs
      if ((this.#step & 1023) === 1023) {
        const r = 1 / Math.sqrt(sEnd * sEnd + cEnd * cEnd)
        sEnd *= r
        cEnd *= r
      }
      const z0Mid = RESP_Z_AMPLITUDE * sMid
      const z0End = RESP_Z_AMPLITUDE * sEnd
      const z = this.#z
      const k1 = this.#gNow - (z - this.#z0Now)
      const k2 = gMid - (z + (h / 2) * k1 - z0Mid)
      const k3 = gMid - (z + (h / 2) * k2 - z0Mid)
      const k4 = gEnd - (z + h * k3 - z0End)
      this.#z = z + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
      this.#gNow = gEnd
      this.#z0Now = z0End
      this.#respSin = sEnd
      this.#respCos = cEnd
      this.#step++
    }
    return out
  }
}

/** z range of a normal beat at hrBpm, to map z to [−0.4, 1.2] mV as ECGSYN does (streaming cannot see the whole record). */
function calibrate(hrBpm: number, internalHz: number): { zMin: number; zMax: number } {
  const rr = 60000 / hrBpm
  const morphology = morphologyFor('N', true, hrBpm)
  const train: BeatSource = {
    beat: (i) => ({
      tMs: i * rr - rr / 2,
      label: 'N',
      perfusion: 1,
      morphology,
      preHalfMs: rr / 2,
      postHalfMs: rr / 2,
    }),
  }
  const core = new EcgsynCore(train, internalHz, 0, 0)
  let zMin = Infinity
  let zMax = -Infinity
  const samples = Math.ceil((4 * rr * internalHz) / 1000)
  for (let i = 0; i < samples; i++) {
    const z = core.sample(1)
    if (i * 1000 >= 2 * rr * internalHz) {
      zMin = Math.min(zMin, z)
      zMax = Math.max(zMax, z)
    }
  }
  return { zMin, zMax }
}

/** One ECG channel: int16 µV samples at `rateHz`, with noise, artefacts, VF/AF overlays and lead-off. */
export class EcgGenerator {
  readonly rateHz: number
  readonly #core: EcgsynCore
  readonly #rng: Prng
  readonly #noiseUv: number
  readonly #offset: number
  readonly #scaleUv: number
  readonly #vf: IntervalCursor<Interval>
  readonly #af: IntervalCursor<Interval>
  readonly #leadOff: IntervalCursor<Interval>
  readonly #artefact: IntervalCursor<Interval & { amplitudeUv: number }>
  readonly #walking: IntervalCursor<Interval>
  readonly #alpha: number
  readonly #artefactNorm: number
  readonly #vfPhase: Float64Array
  #artefactState = 0
  #vfTheta = 0
  #afTheta = 0
  #frame = 0

  constructor(options: {
    scheduler: BeatScheduler
    rateHz: number
    baselineHrBpm: number
    respRateBpm: number
    noiseUv: number
    rng: Prng
    overlays: EcgOverlays
  }) {
    this.rateHz = options.rateHz
    const internalHz = 2 * options.rateHz // reference: sfint an integer multiple of sfecg
    this.#core = new EcgsynCore(options.scheduler, internalHz, options.respRateBpm, 0)
    const { zMin, zMax } = calibrate(options.baselineHrBpm, internalHz)
    this.#scaleUv = ((OUT_MAX_MV - OUT_MIN_MV) * 1000) / (zMax - zMin)
    this.#offset = OUT_MIN_MV * 1000 - zMin * this.#scaleUv
    this.#rng = options.rng
    this.#noiseUv = options.noiseUv
    this.#vf = new IntervalCursor(options.overlays.vf)
    this.#af = new IntervalCursor(options.overlays.af)
    this.#leadOff = new IntervalCursor(options.overlays.leadOff)
    this.#artefact = new IntervalCursor(options.overlays.artefact)
    this.#walking = new IntervalCursor(options.overlays.walking)
    this.#alpha = Math.min(1, (TWO_PI * ARTEFACT_CUTOFF_HZ) / options.rateHz)
    // A one-pole low-pass of U(−1,1) has std sqrt(α/(2−α))/√3; this makes the artefact's std its amplitude.
    this.#artefactNorm = 1 / (Math.sqrt(this.#alpha / (2 - this.#alpha)) / Math.sqrt(3))
    this.#vfPhase = new Float64Array([options.rng.next() * TWO_PI, options.rng.next() * TWO_PI])
  }

  /** The beat index the integrator has reached (beats before it may be released). */
  get beatIndex(): number {
    return this.#core.beatIndex
  }

  /** Fills `out` with the next out.length samples. */
  fill(out: Int16Array): void {
    const fromMs = (this.#frame * 1000) / this.rateHz
    const toMs = ((this.#frame + out.length) * 1000) / this.rateHz
    const overlaid =
      this.#vf.overlaps(fromMs, toMs) ||
      this.#af.overlaps(fromMs, toMs) ||
      this.#leadOff.overlaps(fromMs, toMs) ||
      this.#artefact.overlaps(fromMs, toMs) ||
      this.#walking.overlaps(fromMs, toMs)
    if (overlaid) {
      this.#fillOverlaid(out)
      return
    }
    // Most blocks: the model plus noise only.
    const scale = this.#scaleUv
    const offset = this.#offset
    const noise = this.#noiseUv
    const rng = this.#rng
    for (let i = 0; i < out.length; i++) {
      const uv = this.#core.sample(2) * scale + offset + noise * rng.symmetric()
      out[i] = uv > INT16_MAX ? INT16_MAX : uv < -INT16_MAX ? -INT16_MAX : Math.round(uv)
    }
    this.#frame += out.length
  }

  #fillOverlaid(out: Int16Array): void {
    const dtSec = 1 / this.rateHz
    for (let i = 0; i < out.length; i++) {
      const tMs = (this.#frame * 1000) / this.rateHz
      const tSec = tMs / 1000
      this.#frame++
      const z = this.#core.sample(2)
      let uv = z * this.#scaleUv + this.#offset
      if (this.#vf.at(tMs) !== undefined) {
        // Coarse-to-fine VF: 4–6 Hz with wandering frequency and amplitude, no organised complexes.
        const f = 5 + 0.8 * Math.sin(TWO_PI * 0.23 * tSec + this.#vfPhase[0]!)
        this.#vfTheta += TWO_PI * f * dtSec
        const amp =
          VF_AMPLITUDE_MV * 1000 * (0.65 + 0.35 * Math.sin(TWO_PI * 0.17 * tSec + this.#vfPhase[1]!))
        uv += amp * Math.sin(this.#vfTheta)
      }
      if (this.#af.at(tMs) !== undefined) {
        this.#afTheta += TWO_PI * (6 + 0.5 * Math.sin(TWO_PI * 0.3 * tSec)) * dtSec
        uv += AF_FWAVE_MV * 1000 * Math.sin(this.#afTheta)
      }
      const artefact = this.#artefact.at(tMs)
      const walking = this.#walking.at(tMs) !== undefined
      if (artefact !== undefined || walking) {
        this.#artefactState += this.#alpha * (this.#rng.symmetric() - this.#artefactState)
        const amplitude = (artefact?.amplitudeUv ?? 0) + (walking ? WALKING_ARTEFACT_UV : 0)
        uv += amplitude * this.#artefactNorm * this.#artefactState
      }
      uv += this.#noiseUv * this.#rng.symmetric()
      if (this.#leadOff.at(tMs) !== undefined) uv = 0
      out[i] = uv > INT16_MAX ? INT16_MAX : uv < -INT16_MAX ? -INT16_MAX : Math.round(uv)
    }
  }
}
