import { describe, expect, it } from 'vitest'
import type { VitalReading } from '../src/signals/index.ts'
import { mean, rrIntervals, run, scenarioOf } from './signals-helpers.ts'

const finger = { id: 'finger', transport: 'serial', profile: 'pulse-oximeter' }
const temp = { id: 'temp', transport: 'ble', profile: 'thermometer' }
type Of<K extends VitalReading['kind']> = Extract<VitalReading, { kind: K }>
const only = <K extends VitalReading['kind']>(vitals: readonly VitalReading[], kind: K): Of<K>[] =>
  vitals.filter((v): v is Of<K> => v.kind === kind)

describe('vitals', () => {
  it('SpO2 follows the desaturation timeline: baseline, ramp down, nadir, recovery', () => {
    const c = run(
      scenarioOf({
        baseline: { spo2Pct: 97, hrBpm: 75 },
        sensors: [finger],
        events: [{ type: 'desaturation', atS: 120, durationS: 180, spo2Pct: 82, rampS: 40 }],
      }),
      420_000,
    )
    const spo2 = only(c.vitals, 'spo2')
    expect(spo2.length).toBe(419) // one a second, from t = 1 s
    const at = (fromS: number, toS: number): number[] =>
      spo2.filter((v) => v.timeMs >= fromS * 1000 && v.timeMs < toS * 1000).map((v) => v.spo2Pct)
    expect(Math.abs(mean(at(10, 110)) - 97)).toBeLessThan(0.5)
    expect(Math.abs(mean(at(165, 255)) - 82)).toBeLessThan(0.5) // the hold between the ramps
    expect(Math.abs(mean(at(330, 420)) - 97)).toBeLessThan(0.5)
    // Monotone-ish ramp: the middle of the down-ramp is halfway.
    expect(Math.abs(mean(at(138, 142)) - 89.5)).toBeLessThan(1.5)
    expect(spo2.every((v) => Number.isInteger(v.spo2Pct) && v.spo2Pct <= 100)).toBe(true)
    // Pulse rate comes from the same beats.
    expect(Math.abs(mean(spo2.slice(10).map((v) => v.pulseRateBpm)) - 75)).toBeLessThan(1.5)
  })

  it('an oximeter off the finger reports no SpO2 (NaN) and no contact, then recovers', () => {
    const c = run(
      scenarioOf({
        sensors: [finger],
        events: [{ type: 'sensor-off', sensor: 'finger', atS: 30, durationS: 30 }],
      }),
      90_000,
    )
    const spo2 = only(c.vitals, 'spo2')
    const off = spo2.filter((v) => v.timeMs >= 30_000 && v.timeMs < 60_000)
    expect(off.every((v) => !v.contact && Number.isNaN(v.spo2Pct) && Number.isNaN(v.pulseRateBpm))).toBe(true)
    expect(spo2.filter((v) => v.timeMs >= 65_000).every((v) => v.contact && v.spo2Pct > 90)).toBe(true)
  })

  it('the oximeter reports a non-pulsatile signal in VF', () => {
    const c = run(scenarioOf({ sensors: [finger], events: [{ type: 'vf', atS: 30, durationS: 30 }] }), 60_000)
    const spo2 = only(c.vitals, 'spo2').filter((v) => v.timeMs >= 35_000)
    expect(spo2.every((v) => v.nonPulsatile && Number.isNaN(v.spo2Pct))).toBe(true)
  })

  it('temperature rises to the fever peak and returns to baseline', () => {
    const c = run(
      scenarioOf(
        {
          baseline: { temperatureC: 36.8 },
          sensors: [{ ...temp, vitalIntervalS: 30 }],
          events: [{ type: 'fever', atS: 1800, durationS: 7200, temperatureC: 39.5, rampS: 1800 }],
        },
        10_800,
      ),
      10_800_000,
    )
    const t = only(c.vitals, 'temperature')
    const at = (fromS: number, toS: number): number[] =>
      t.filter((v) => v.timeMs >= fromS * 1000 && v.timeMs < toS * 1000).map((v) => v.celsius)
    expect(Math.abs(mean(at(0, 1800)) - 36.8)).toBeLessThan(0.25) // circadian swing ±0.15
    expect(Math.abs(mean(at(3700, 7100)) - 39.5)).toBeLessThan(0.25)
    expect(Math.max(...at(0, 10_800))).toBeLessThan(39.8)
    expect(Math.abs(mean(at(9100, 10_800)) - 36.8)).toBeLessThan(0.25)
    expect(at(1800, 3600).every((v, i, all) => i === 0 || v > all[i - 1]! - 0.1)).toBe(true) // rising
  })

  it('battery drains linearly, reported every interval from t = 0', () => {
    const c = run(
      scenarioOf(
        { sensors: [{ ...temp, battery: { startPct: 80, drainPctPerHour: 10, intervalS: 600 } }] },
        7200,
      ),
      7_200_000,
      { stepMs: 60_000 },
    )
    const battery = only(c.vitals, 'battery')
    expect(battery.map((b) => b.timeMs)).toEqual(Array.from({ length: 12 }, (_, i) => i * 600_000))
    expect(battery[0]!.percent).toBe(80)
    expect(battery[6]!.percent).toBe(70)
    expect(battery[11]!.percent).toBe(62)
  })

  it('every RR interval, the first included, is the gap between two R peaks of the ground truth', () => {
    const chest = { id: 'chest', transport: 'ble', profile: 'ecg-patch' }
    for (const seed of [1, 2, 3, 4, 5]) {
      const c = run(scenarioOf({ sensors: [chest] }), 20_000, { seed })
      const reported = only(c.vitals, 'heart-rate').flatMap((v) => v.rrIntervalsMs)
      const truth = rrIntervals(c.rPeaks)
      expect(reported.length).toBeGreaterThan(10)
      expect(reported).toEqual(truth.slice(0, reported.length))
    }
  })
})
