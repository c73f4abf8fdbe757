import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseScenario } from '../src/scenario/index.ts'
import {
  createPatientSimulation,
  SignalError,
  type PatientSpec,
  type SimOutput,
} from '../src/signals/index.ts'

// Every generator and event kind within two minutes, so the digests cover them all.
const scenario = parseScenario({
  name: 'repro',
  durationS: 120,
  patients: [
    {
      id: 'p1',
      sensors: [
        { id: 'chest', transport: 'ble', profile: 'ecg-patch' },
        { id: 'finger', transport: 'serial', profile: 'pulse-oximeter' },
        { id: 'temp', transport: 'serial', profile: 'thermometer', vitalIntervalS: 5 },
        { id: 'pendant', transport: 'ble', profile: 'accelerometer' },
      ],
      events: [
        { type: 'pvc', atS: 0, durationS: 30, ratePerMin: 20, pattern: 'couplet' },
        { type: 'af', atS: 30, durationS: 20 },
        { type: 'vt', atS: 50, durationS: 10 },
        { type: 'vf', atS: 60, durationS: 10 },
        { type: 'asystole', atS: 70, durationS: 5 },
        { type: 'desaturation', atS: 10, durationS: 60, rampS: 10 },
        { type: 'fever', atS: 10, durationS: 100, rampS: 20 },
        { type: 'walking', atS: 5, durationS: 20 },
        { type: 'fall', atS: 25, durationS: 30 },
        { type: 'motion-artefact', sensor: 'chest', atS: 80, durationS: 10 },
        { type: 'sensor-off', sensor: 'finger', atS: 90, durationS: 10 },
      ],
    },
  ],
})
const patient = scenario.patients[0]!

/** A digest of every byte and value a run emits. */
function digest(
  spec: PatientSpec,
  seed: number,
  steps: readonly number[],
  scenarioName = scenario.name,
): string {
  const sim = createPatientSimulation(spec, { scenarioName, seed })
  const hash = createHash('sha256')
  const outs: SimOutput[] = steps.map((t) => sim.advanceTo(t))
  const blocks = outs
    .flatMap((o) => o.blocks)
    .sort(
      (a, b) =>
        a.sensorId.localeCompare(b.sensorId) || a.channel.localeCompare(b.channel) || a.sequence - b.sequence,
    )
  for (const b of blocks) {
    hash.update(`${b.sensorId}/${b.channel}/${b.sequence}/${b.firstSampleTimeMs}`)
    hash.update(new Uint8Array(b.samples.buffer, b.samples.byteOffset, b.samples.byteLength))
  }
  const vitals = outs
    .flatMap((o) => o.vitals)
    .sort(
      (a, b) => a.sensorId.localeCompare(b.sensorId) || a.kind.localeCompare(b.kind) || a.timeMs - b.timeMs,
    )
  hash.update(JSON.stringify(vitals))
  hash.update(JSON.stringify(outs.flatMap((o) => o.truth)))
  return hash.digest('hex')
}

const range = (step: number, until: number): number[] =>
  Array.from({ length: Math.ceil(until / step) }, (_, i) => Math.min(until, (i + 1) * step))

describe('reproducibility', () => {
  const steps = range(1000, 120_000)

  it('the same seed gives identical bytes', () => {
    expect(digest(patient, 7, steps)).toBe(digest(patient, 7, steps))
  })

  it('a different seed or scenario name gives different bytes', () => {
    const base = digest(patient, 7, steps)
    expect(digest(patient, 8, steps)).not.toBe(base)
    expect(digest(patient, 7, steps, 'other')).not.toBe(base)
  })

  it('the step sizes of advanceTo do not change the output', () => {
    expect(digest(patient, 3, range(137, 120_000))).toBe(digest(patient, 3, range(5000, 120_000)))
  })

  it('rejects going back in time', () => {
    const sim = createPatientSimulation(patient, { scenarioName: 'x', seed: 1 })
    sim.advanceTo(1000)
    expect(() => sim.advanceTo(500)).toThrow(SignalError)
    expect(() => sim.advanceTo(500)).toThrow(/current time 1000 ms/)
    expect(() => sim.advanceTo(Number.NaN)).toThrow(/finite/)
  })

  it('a sensor added to a patient leaves the other sensors’ samples unchanged', () => {
    const one = {
      ...patient,
      sensors: patient.sensors.slice(0, 1),
      events: patient.events.filter((e) => e.type !== 'sensor-off'),
    }
    const sim1 = createPatientSimulation(one, { scenarioName: 's', seed: 2 })
    const sim2 = createPatientSimulation({ ...patient, events: one.events }, { scenarioName: 's', seed: 2 })
    const a = sim1.advanceTo(10_000).blocks.filter((b) => b.sensorId === 'chest')
    const b = sim2.advanceTo(10_000).blocks.filter((b) => b.sensorId === 'chest')
    expect(a.map((x) => [...x.samples])).toEqual(b.map((x) => [...x.samples]))
  })
})
