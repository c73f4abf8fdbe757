// Benchmark of firmware-sim's signal generators (issue 4 target: the 32-patient ward at ≥ 50× real time on one
// core; one patient's full sensor set at ≥ 100×). In-run baseline: a trivial sine generator producing the same
// blocks (same count, sizes and Int16Array allocations), so the ratio shows the models' cost over bare output.
//
// Time is CPU time of this (single-threaded) process, process.cpuUsage(): "on one core" even when the machine is
// shared and the wall clock includes waiting for a core. Wall-clock figures are reported alongside.
import { loadScenario, type ScenarioSpec } from '../firmware-sim/src/scenario/index.ts'
import { createPatientSimulation, type SampleBlock } from '../firmware-sim/src/signals/index.ts'
import { median, report } from './report.ts'

const ROUNDS = 5
const WARD_SIM_MS = 300_000
const SINGLE_SIM_MS = 1_800_000
const TICK_MS = 1000
const SEED = 1

interface Round {
  readonly samples: number
  readonly simMs: number
  readonly cpuMs: number
  readonly wallMs: number
}

function timed(simMs: number, body: () => number): Round {
  globalThis.gc?.()
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  const samples = body()
  const cpu = process.cpuUsage(cpu0)
  return { samples, simMs, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wall0 }
}

function simulate(scenario: ScenarioSpec, simMs: number): Round {
  return timed(simMs, () => {
    const sims = scenario.patients.map((p) =>
      createPatientSimulation(p, { scenarioName: scenario.name, seed: SEED, retainTruth: false }),
    )
    let samples = 0
    for (let t = TICK_MS; t <= simMs; t += TICK_MS)
      for (const sim of sims) for (const b of sim.advanceTo(t).blocks) samples += b.samples.length
    return samples
  })
}

/** The same block layout as the ward, each sample one Math.sin: the floor any generator pays. */
function sineBaseline(scenario: ScenarioSpec, simMs: number): Round {
  const channels = scenario.patients.flatMap((p) =>
    p.sensors.flatMap((s) =>
      (['ecg', 'ppg', 'accel'] as const).flatMap((kind) => {
        const rateHz = s.ratesHz[kind] ?? 0
        const frames = s.blockFrames[kind] ?? 0
        return rateHz > 0 ? [{ rateHz, frames, width: kind === 'accel' ? 3 : 1, sequence: 0 }] : []
      }),
    ),
  )
  return timed(simMs, () => {
    let samples = 0
    const sink: SampleBlock[] = []
    for (let t = TICK_MS; t <= simMs; t += TICK_MS) {
      for (const ch of channels) {
        const period = 1000 / ch.rateHz
        while (((ch.sequence + 1) * ch.frames - 1) * period < t) {
          const out = new Int16Array(ch.frames * ch.width)
          const first = ch.sequence * ch.frames
          for (let i = 0; i < out.length; i++) out[i] = Math.round(1000 * Math.sin((first + i) * 0.05))
          sink.push({
            patientId: '',
            sensorId: '',
            numericSensorId: 0,
            channel: 'ecg',
            sequence: ch.sequence,
            firstSampleTimeMs: first * period,
            sampleRateHz: ch.rateHz,
            channels: 1,
            samples: out,
          })
          samples += out.length
          ch.sequence++
        }
      }
      sink.length = 0
    }
    return samples
  })
}

const ward = loadScenario('ward-32')
// One patient's full sensor set: ECG patch (ECG + accelerometer), pulse oximeter, thermometer.
const single: ScenarioSpec = { ...ward, patients: ward.patients.slice(0, 1) }

simulate(ward, 30_000) // warm-up: JIT and morphology caches
sineBaseline(ward, 30_000)
const wardRounds: Round[] = []
const sineRounds: Round[] = []
const singleRounds: Round[] = []
for (let r = 0; r < ROUNDS; r++) {
  wardRounds.push(simulate(ward, WARD_SIM_MS))
  sineRounds.push(sineBaseline(ward, WARD_SIM_MS))
  singleRounds.push(simulate(single, SINGLE_SIM_MS))
}
const perCpuS = (rs: Round[]): number => median(rs.map((r) => r.samples / (r.cpuMs / 1000)))
const factor = (rs: Round[]): number => median(rs.map((r) => r.simMs / r.cpuMs))
const wallFactor = (rs: Round[]): number => median(rs.map((r) => r.simMs / r.wallMs))

const wardFactor = factor(wardRounds)
const singleFactor = factor(singleRounds)
report('sim', [
  { metric: 'ward32_samples_per_s', value: perCpuS(wardRounds), target: 'per CPU second' },
  { metric: 'ward32_realtime_factor', value: wardFactor, target: '>= 50 (CPU time)', ok: wardFactor >= 50 },
  { metric: 'ward32_wall_realtime_factor', value: wallFactor(wardRounds), target: 'shared machine' },
  { metric: 'sine_baseline_samples_per_s', value: perCpuS(sineRounds), target: 'baseline (same run)' },
  { metric: 'ward32_vs_sine', value: perCpuS(wardRounds) / perCpuS(sineRounds) },
  {
    metric: 'single_patient_realtime_factor',
    value: singleFactor,
    target: '>= 100 (CPU time)',
    ok: singleFactor >= 100,
  },
])
