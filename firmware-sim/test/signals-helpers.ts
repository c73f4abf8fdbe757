// Test helpers: build patients through the scenario schema (so defaults match the shipped files) and run them.
import { parseScenario, type ScenarioSpec } from '../src/scenario/index.ts'
import {
  createPatientSimulation,
  type SampleBlock,
  type SimOutput,
  type VitalReading,
} from '../src/signals/index.ts'

export function scenarioOf(patient: Record<string, unknown>, durationS = 600): ScenarioSpec {
  return parseScenario({ name: 'test', durationS, patients: [{ id: 'p1', ...patient }] }, 'test')
}

export interface Collected {
  readonly blocks: SampleBlock[]
  readonly vitals: VitalReading[]
  readonly out: SimOutput[]
  readonly rPeaks: { timeMs: number; beat: string }[]
}

/** Runs the first patient of `scenario` to `untilMs` in steps of `stepMs`. */
export function run(
  scenario: ScenarioSpec,
  untilMs: number,
  options: { seed?: number; stepMs?: number } = {},
): Collected {
  const sim = createPatientSimulation(scenario.patients[0]!, {
    scenarioName: scenario.name,
    seed: options.seed ?? 1,
  })
  const out: SimOutput[] = []
  const step = options.stepMs ?? 1000
  for (let t = step; t < untilMs + step; t += step) out.push(sim.advanceTo(Math.min(t, untilMs)))
  const rPeaks = sim.truth().flatMap((r) => (r.type === 'r-peak' ? [{ timeMs: r.timeMs, beat: r.beat }] : []))
  return { blocks: out.flatMap((o) => o.blocks), vitals: out.flatMap((o) => o.vitals), out, rPeaks }
}

/** Samples of one channel of one sensor, concatenated, with the time of sample i = i / rate. */
export function channel(c: Collected, sensorId: string, kind: SampleBlock['channel']): Int16Array {
  const blocks = c.blocks.filter((b) => b.sensorId === sensorId && b.channel === kind)
  const all = new Int16Array(blocks.reduce((n, b) => n + b.samples.length, 0))
  let at = 0
  for (const b of blocks) {
    all.set(b.samples, at)
    at += b.samples.length
  }
  return all
}

export function rrIntervals(
  peaks: readonly { timeMs: number }[],
  fromMs = -Infinity,
  toMs = Infinity,
): number[] {
  const inside = peaks.filter((p) => p.timeMs >= fromMs && p.timeMs < toMs)
  return inside.slice(1).map((p, i) => p.timeMs - inside[i]!.timeMs)
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
export const std = (xs: readonly number[]): number => {
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length)
}
