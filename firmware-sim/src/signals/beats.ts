// The rhythm scheduler: when the heart beats and what kind of beat it is. ECG, PPG and heart-rate readings all
// follow this one beat list, so the R-peak ground truth is exact by construction.
import { Prng } from './prng.ts'
import { activeAt, eventsOf, sinusRateAt } from './timeline.ts'
import type { BaselineSpec, BeatLabel, EventSpec } from './types.ts'

/** ECGSYN morphology for one beat: angles (rad), amplitudes and widths of P, Q, R, S, T. */
export interface Morphology {
  readonly ti: Float64Array
  readonly ai: Float64Array
  readonly bi: Float64Array
  /** Precomputed for the hot loop: −1/(2bᵢ²), and the |Δθ| beyond which wave i is negligible (5 bᵢ; ∞ for aᵢ = 0 never). */
  readonly negHalfInvB2: Float64Array
  readonly cutoff: Float64Array
  /** The RR interval the morphology was scaled for, ms (60000 / rate). */
  readonly rrMs: number
}

/** Waves beyond this many widths contribute < 4e-6 of their peak drive. */
export const GAUSS_CUTOFF_WIDTHS = 5

export interface Beat {
  /** R-peak time, ms. */
  readonly tMs: number
  readonly label: BeatLabel
  /** Pulse strength for the PPG, 0..1 (a premature ventricular beat ejects little). */
  readonly perfusion: number
  readonly morphology: Morphology
  /** Duration of the half-cycle before the R peak (θ from −π to 0), ms. */
  readonly preHalfMs: number
  /** Duration of the half-cycle after the R peak (θ from 0 to π), ms; set when the next beat is scheduled. */
  postHalfMs: number
}

const DEG = Math.PI / 180
// reference/ecg.md: P, Q, R, S, T.
const NORMAL_TI = [-70 * DEG, -15 * DEG, 0, 15 * DEG, 100 * DEG]
const NORMAL_AI = [1.2, -5, 30, -7.5, 0.75]
const NORMAL_BI = [0.25, 0.1, 0.1, 0.1, 0.4]
// Ventricular beat: no P, a wide notched QRS and a discordant (inverted) T; amplitude ∝ a·b², R about 1.3× normal, S and T each about −0.5 mV (the compensatory pause slows θ and so deepens them).
const VENTRICULAR_TI = [-70 * DEG, -25 * DEG, 0, 30 * DEG, 110 * DEG]
const VENTRICULAR_AI = [0, -1.5, 8, -1.5, -0.4]
const VENTRICULAR_BI = [0.25, 0.15, 0.22, 0.18, 0.4]

/** ECGSYN's heart-rate scaling of widths and angles (hrfact, hrfact2), so morphology stays proportionate at any rate. */
export function morphologyFor(label: BeatLabel, hasP: boolean, hrBpm: number): Morphology {
  const hrfact = Math.sqrt(hrBpm / 60)
  const hrfact2 = Math.sqrt(hrfact)
  const angleScale = [hrfact2, hrfact, 1, hrfact, hrfact2]
  const v = label === 'V'
  const ti = new Float64Array(5)
  const ai = new Float64Array(5)
  const bi = new Float64Array(5)
  for (let i = 0; i < 5; i++) {
    ti[i] = (v ? VENTRICULAR_TI[i]! : NORMAL_TI[i]!) * angleScale[i]!
    ai[i] = v ? VENTRICULAR_AI[i]! : NORMAL_AI[i]!
    bi[i] = (v ? VENTRICULAR_BI[i]! : NORMAL_BI[i]!) * hrfact
  }
  if (!hasP) ai[0] = 0
  const negHalfInvB2 = bi.map((b) => -0.5 / (b * b))
  // A wave with zero amplitude gets a negative cutoff, so the hot loop skips it with the same comparison.
  const cutoff = bi.map((b, i) => (ai[i] === 0 ? -1 : GAUSS_CUTOFF_WIDTHS * b))
  return { ti, ai, bi, negHalfInvB2, cutoff, rrMs: 60000 / hrBpm }
}

const HRV_COMPONENTS_PER_BAND = 12
const MAYER_HZ = 0.1
const RSA_HZ = 0.25
const BAND_STD_HZ = 0.01
const MIN_RR_MS = 240
const PVC_COUPLING = 0.6
const PVC_COMPENSATION = 1.4
const PVC_PERFUSION = 0.35

/**
 * The RR variability of ECGSYN as a sum of random-phase sinusoids whose frequencies are drawn from its bimodal
 * spectrum (Mayer 0.1 Hz, RSA 0.25 Hz, LF/HF power ratio) and normalised to unit variance: the same spectrum as
 * the reference's random-phase IFFT, but evaluable at any time, so generation streams.
 */
class HrvProcess {
  readonly #freq = new Float64Array(2 * HRV_COMPONENTS_PER_BAND)
  readonly #amp = new Float64Array(2 * HRV_COMPONENTS_PER_BAND)
  readonly #phase = new Float64Array(2 * HRV_COMPONENTS_PER_BAND)
  constructor(rng: Prng, lfHfRatio: number) {
    let power = 0
    for (let i = 0; i < this.#freq.length; i++) {
      const lf = i < HRV_COMPONENTS_PER_BAND
      this.#freq[i] = Math.max(0.01, (lf ? MAYER_HZ : RSA_HZ) + BAND_STD_HZ * rng.gaussian())
      this.#amp[i] = Math.sqrt(lf ? lfHfRatio : 1)
      this.#phase[i] = 2 * Math.PI * rng.next()
      power += (this.#amp[i]! * this.#amp[i]!) / 2
    }
    const norm = 1 / Math.sqrt(power)
    for (let i = 0; i < this.#amp.length; i++) this.#amp[i]! *= norm
  }
  /** Unit-variance value at time tMs. */
  at(tMs: number): number {
    const t = tMs / 1000
    let sum = 0
    for (let i = 0; i < this.#freq.length; i++)
      sum += this.#amp[i]! * Math.sin(2 * Math.PI * this.#freq[i]! * t + this.#phase[i]!)
    return sum
  }
}

type Rhythm =
  | { kind: 'sinus'; hrBpm: number }
  | { kind: 'vt'; hrBpm: number }
  | { kind: 'af'; hrBpm: number; rrCv: number }

/** Generates beats in order on demand and keeps those consumers still need. */
export class BeatScheduler {
  readonly #baseline: BaselineSpec
  readonly #events: readonly EventSpec[]
  readonly #rng: Prng
  readonly #hrv: HrvProcess
  readonly #pauses: Extract<EventSpec, { type: 'vf' | 'asystole' }>[]
  readonly #vt: Extract<EventSpec, { type: 'vt' }>[]
  readonly #af: Extract<EventSpec, { type: 'af' }>[]
  readonly #pvc: Extract<EventSpec, { type: 'pvc' }>[]
  readonly #morphCache = new Map<string, Morphology>()
  #beats: Beat[] = []
  /** Absolute index of #beats[0]. */
  #base = 0
  /** Premature ventricular beats still to come in the current run (couplets). */
  #pvcRemaining = 0

  constructor(baseline: BaselineSpec, events: readonly EventSpec[], rng: Prng) {
    this.#baseline = baseline
    this.#events = events
    this.#rng = rng
    this.#hrv = new HrvProcess(rng, baseline.lfHfRatio)
    this.#pauses = events.filter((e) => e.type === 'vf' || e.type === 'asystole')
    this.#vt = eventsOf(events, 'vt')
    this.#af = eventsOf(events, 'af')
    this.#pvc = eventsOf(events, 'pvc')
    // A virtual beat before t = 0 at a random phase, so t = 0 falls anywhere in a cycle.
    const rr = 60000 / baseline.hrBpm
    const t0 = -rr * (0.2 + 0.8 * rng.next())
    this.#beats.push({
      tMs: t0,
      label: 'N',
      perfusion: 1,
      morphology: this.#morph('N', true, baseline.hrBpm),
      preHalfMs: rr / 2,
      postHalfMs: rr / 2,
    })
  }

  /** The beat with absolute index i (generating as needed); i must be ≥ the first retained index. */
  beat(i: number): Beat {
    while (i - this.#base >= this.#beats.length) this.#scheduleNext()
    const b = this.#beats[i - this.#base]
    if (b === undefined) throw new RangeError(`beat ${i} was released (first kept ${this.#base})`)
    return b
  }

  /** Absolute index of the first beat at or after tMs. */
  firstIndexAtOrAfter(tMs: number, from: number): number {
    let i = Math.max(from, this.#base)
    while (this.beat(i).tMs < tMs) i++
    return i
  }

  /** Drops beats before absolute index i (consumers are past them). */
  release(i: number): void {
    const drop = i - this.#base
    if (drop > 256) {
      this.#beats = this.#beats.slice(drop)
      this.#base = i
    }
  }

  #morph(label: BeatLabel, hasP: boolean, hrBpm: number): Morphology {
    const rate = Math.round(hrBpm)
    const key = `${label}${hasP ? 1 : 0}${rate}`
    let m = this.#morphCache.get(key)
    if (m === undefined) {
      m = morphologyFor(label, hasP, rate)
      this.#morphCache.set(key, m)
    }
    return m
  }

  #rhythmAt(tMs: number): Rhythm {
    const vt = activeAt(this.#vt, tMs)
    if (vt !== undefined) return { kind: 'vt', hrBpm: vt.hrBpm }
    const af = activeAt(this.#af, tMs)
    if (af !== undefined) return { kind: 'af', hrBpm: af.hrBpm, rrCv: af.rrCv }
    return { kind: 'sinus', hrBpm: sinusRateAt(this.#baseline, this.#events, tMs) }
  }

  /** A normal-conduction RR interval for the rhythm, ms. */
  #rr(r: Rhythm, tMs: number): number {
    switch (r.kind) {
      case 'sinus': {
        const mean = 60000 / r.hrBpm
        return mean + ((60000 * this.#baseline.hrStdBpm) / (r.hrBpm * r.hrBpm)) * this.#hrv.at(tMs)
      }
      case 'vt':
        return (60000 / r.hrBpm) * (1 + 0.01 * this.#rng.gaussian())
      case 'af': {
        const g = Math.max(-2.5, Math.min(2.5, this.#rng.gaussian()))
        return (60000 / r.hrBpm) * (1 + r.rrCv * g)
      }
      default:
        return r satisfies never
    }
  }

  #scheduleNext(): void {
    const last = this.#beats[this.#beats.length - 1]!
    const tB = last.tMs
    let rhythm = this.#rhythmAt(tB)
    let label: BeatLabel = rhythm.kind === 'vt' ? 'V' : 'N'
    let rr = Math.max(MIN_RR_MS, this.#rr(rhythm, tB))
    const nominalRr = rr
    // Premature ventricular beats interrupt sinus or AF conduction.
    if (rhythm.kind !== 'vt') {
      const pvc = activeAt(this.#pvc, tB)
      if (last.label === 'V' && this.#pvcRemaining > 0) {
        this.#pvcRemaining--
        label = 'V'
        rr = nominalRr * PVC_COUPLING
      } else if (last.label === 'V') {
        rr = nominalRr * PVC_COMPENSATION
      } else if (pvc !== undefined && this.#rng.next() < pvc.ratePerMin / rhythm.hrBpm) {
        label = 'V'
        rr = nominalRr * PVC_COUPLING
        this.#pvcRemaining = pvc.pattern === 'couplet' ? 1 : 0
      }
    }
    let tN = tB + rr
    // VT starts with a ventricular beat at its onset, so the truth's onset and the first V beat agree.
    const vtStart = this.#vt.find((e) => e.atMs > tB && e.atMs < tN)
    if (vtStart !== undefined) {
      rhythm = { kind: 'vt', hrBpm: vtStart.hrBpm }
      label = 'V'
      tN = Math.max(vtStart.atMs, tB + MIN_RR_MS)
      rr = tN - tB
    }
    let postHalf = rr / 2
    let preHalf = rr / 2
    // No beats during VF or asystole: the T wave completes, the cycle parks, and the next beat comes after it.
    let pausedUntil = tB
    for (;;) {
      const after = pausedUntil
      const pause = this.#pauses.find((e) => e.endMs > after && e.atMs < tN)
      if (pause === undefined) break
      pausedUntil = pause.endMs
      postHalf = Math.min(postHalf, Math.max(1, pause.atMs - tB), nominalRr / 2)
      rhythm = this.#rhythmAt(pause.endMs)
      label = rhythm.kind === 'vt' ? 'V' : 'N'
      const next = Math.max(MIN_RR_MS, this.#rr(rhythm, pause.endMs))
      preHalf = next / 2
      tN = pause.endMs + preHalf
    }
    last.postHalfMs = Math.min(postHalf, tN - tB - preHalf)
    const hasP = rhythm.kind === 'sinus' && label === 'N'
    const rate = label === 'V' && rhythm.kind !== 'vt' ? 60000 / nominalRr : rhythm.hrBpm
    this.#beats.push({
      tMs: tN,
      label,
      perfusion: label === 'V' && rhythm.kind !== 'vt' ? PVC_PERFUSION : label === 'V' ? 0.5 : 1,
      morphology: this.#morph(label, hasP, rate),
      preHalfMs: preHalf,
      postHalfMs: preHalf,
    })
  }
}
