// Runs a scenario's patients through time, paced against a clock, handing each tick's output to consumers.
import { setTimeout as sleep } from 'node:timers/promises'
import { createPatientSimulation, type PatientSimulation, type SimOutput } from '../signals/index.ts'
import type { ScenarioSpec } from './load.ts'

/** Simulated time per tick when paced (at speed 1: 10 deliveries per second). */
export const DEFAULT_PACED_TICK_MS = 100
/** Simulated time per tick as fast as possible: large enough to amortise per-tick costs. */
export const DEFAULT_FAST_TICK_MS = 1000

export interface RunOptions {
  readonly scenario: ScenarioSpec
  readonly seed: number
  /** Simulated time to run, ms. */
  readonly durationMs: number
  /** Simulated ms per wall ms (> 0), or Infinity for as fast as possible. */
  readonly speed: number
  readonly tickMs?: number
  /** Called with every patient's output for each tick, in patient order; awaited (backpressure). */
  readonly onTick?: (outputs: readonly SimOutput[], toMs: number) => void | Promise<void>
  readonly signal?: AbortSignal
  /** Monotonic wall clock, ms (default performance.now); injected by tests. */
  readonly now?: () => number
}

export interface RunSummary {
  readonly simulatedMs: number
  readonly wallMs: number
  readonly blocks: number
  readonly samples: number
  readonly vitals: number
  readonly truthRecords: number
  readonly aborted: boolean
}

/** One simulation per patient of the scenario (fresh; every call gives the same output for the same seed). */
export function createScenarioSimulations(
  scenario: ScenarioSpec,
  seed: number,
  options: { retainTruth?: boolean } = {},
): PatientSimulation[] {
  return scenario.patients.map((p) =>
    createPatientSimulation(p, {
      scenarioName: scenario.name,
      seed,
      retainTruth: options.retainTruth ?? false,
    }),
  )
}

export async function runScenario(options: RunOptions): Promise<RunSummary> {
  const now = options.now ?? (() => performance.now())
  const sims = createScenarioSimulations(options.scenario, options.seed)
  const fast = !Number.isFinite(options.speed)
  const tickMs = options.tickMs ?? (fast ? DEFAULT_FAST_TICK_MS : DEFAULT_PACED_TICK_MS)
  const started = now()
  let blocks = 0
  let samples = 0
  let vitals = 0
  let truthRecords = 0
  let t = 0
  while (t < options.durationMs && options.signal?.aborted !== true) {
    t = Math.min(options.durationMs, t + tickMs)
    const outputs = sims.map((sim) => sim.advanceTo(t))
    for (const out of outputs) {
      blocks += out.blocks.length
      for (const b of out.blocks) samples += b.samples.length
      vitals += out.vitals.length
      truthRecords += out.truth.length
    }
    await options.onTick?.(outputs, t)
    if (fast) {
      // Let I/O (truth file, transports) run between ticks.
      await new Promise((resolve) => setImmediate(resolve))
    } else {
      const dueMs = started + t / options.speed
      const waitMs = dueMs - now()
      if (waitMs > 0)
        await sleep(waitMs, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {})
    }
  }
  return {
    simulatedMs: t,
    wallMs: now() - started,
    blocks,
    samples,
    vitals,
    truthRecords,
    aborted: options.signal?.aborted === true,
  }
}
