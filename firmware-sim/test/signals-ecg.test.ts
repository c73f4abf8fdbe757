import { describe, expect, it } from 'vitest'
import { channel, mean, rrIntervals, run, scenarioOf, std } from './signals-helpers.ts'

const chest = { id: 'chest', transport: 'ble', profile: 'ecg-patch' }

describe('ECG rhythm and R peaks', () => {
  it.each([45, 72, 130])('heart rate from the R peaks equals the configured %i bpm within 1 bpm', (hrBpm) => {
    const c = run(scenarioOf({ baseline: { hrBpm }, sensors: [chest] }), 300_000)
    const hr = 60000 / mean(rrIntervals(c.rPeaks))
    expect(Math.abs(hr - hrBpm)).toBeLessThan(1)
    // And the device's own heart-rate readings agree once settled.
    const readings = c.vitals.flatMap((v) => (v.kind === 'heart-rate' && v.timeMs > 10_000 ? [v.bpm] : []))
    expect(Math.abs(mean(readings) - hrBpm)).toBeLessThan(1.5)
  })

  it('sinus rhythm varies a little (HRV), atrial fibrillation is irregular', () => {
    const c = run(
      scenarioOf({
        baseline: { hrBpm: 80, hrStdBpm: 2 },
        sensors: [chest],
        events: [{ type: 'af', atS: 300, durationS: 300, hrBpm: 110 }],
      }),
      600_000,
    )
    const sinus = rrIntervals(c.rPeaks, 0, 300_000)
    const af = rrIntervals(c.rPeaks, 300_000, 600_000)
    const cv = (xs: number[]): number => std(xs) / mean(xs)
    expect(cv(sinus)).toBeGreaterThan(0.005)
    expect(cv(sinus)).toBeLessThan(0.05)
    expect(cv(af)).toBeGreaterThan(0.12)
    expect(60000 / mean(af)).toBeGreaterThan(100)
    // Successive-difference irregularity (RMSSD) separates them too, as AF detectors use it.
    const rmssd = (xs: number[]): number => Math.sqrt(mean(xs.slice(1).map((x, i) => (x - xs[i]!) ** 2)))
    expect(rmssd(af)).toBeGreaterThan(5 * rmssd(sinus))
  })

  it('labels PVCs as V beats only inside the PVC window, early and followed by a compensatory pause', () => {
    const c = run(
      scenarioOf({
        baseline: { hrBpm: 70 },
        sensors: [chest],
        events: [{ type: 'pvc', atS: 60, durationS: 240, ratePerMin: 6, pattern: 'single' }],
      }),
      360_000,
    )
    const v = c.rPeaks.filter((p) => p.beat === 'V')
    expect(v.length).toBeGreaterThan(10)
    expect(v.every((p) => p.timeMs >= 60_000 && p.timeMs < 300_000 + 2000)).toBe(true)
    const nominal = 60000 / 70
    for (const pvc of v) {
      const i = c.rPeaks.indexOf(pvc)
      const before = pvc.timeMs - c.rPeaks[i - 1]!.timeMs
      const after = c.rPeaks[i + 1]!.timeMs - pvc.timeMs
      expect(before).toBeLessThan(0.75 * nominal)
      expect(after).toBeGreaterThan(1.2 * nominal)
    }
  })

  it('emits couplets as two consecutive V beats', () => {
    const c = run(
      scenarioOf({
        sensors: [chest],
        events: [{ type: 'pvc', atS: 10, durationS: 280, ratePerMin: 8, pattern: 'couplet' }],
      }),
      300_000,
    )
    const labels = c.rPeaks.map((p) => p.beat).join('')
    expect(labels).toMatch(/NVVN/)
    expect(labels).not.toMatch(/VVV/)
  })

  it('VT beats are ventricular at the configured rate, starting at the onset', () => {
    const c = run(
      scenarioOf({ sensors: [chest], events: [{ type: 'vt', atS: 60, durationS: 30, hrBpm: 180 }] }),
      120_000,
    )
    const vt = c.rPeaks.filter((p) => p.timeMs >= 60_000 && p.timeMs < 90_000)
    expect(vt.every((p) => p.beat === 'V')).toBe(true)
    expect(vt[0]!.timeMs).toBeCloseTo(60_000, 0)
    expect(60000 / mean(rrIntervals(vt))).toBeCloseTo(180, -1)
    expect(c.rPeaks.filter((p) => p.timeMs < 60_000 || p.timeMs > 92_000).every((p) => p.beat === 'N')).toBe(
      true,
    )
  })

  it('VF and asystole have no R peaks; VF oscillates, asystole is flat, and the rhythm returns after', () => {
    const c = run(
      scenarioOf({
        sensors: [{ ...chest, ecgNoiseUv: 5 }],
        events: [
          { type: 'vf', atS: 30, durationS: 20 },
          { type: 'asystole', atS: 50, durationS: 10 },
        ],
      }),
      90_000,
    )
    expect(c.rPeaks.filter((p) => p.timeMs > 31_000 && p.timeMs < 60_000)).toEqual([])
    expect(c.rPeaks.filter((p) => p.timeMs > 60_000).length).toBeGreaterThan(20)
    const ecg = channel(c, 'chest', 'ecg')
    const window = (fromS: number, toS: number): number[] => [...ecg.subarray(fromS * 256, toS * 256)]
    const vf = window(35, 45)
    const asystole = window(53, 59)
    expect(std(vf)).toBeGreaterThan(150)
    // Flat but for the respiratory baseline (ECGSYN's z0) and noise: far below one QRS.
    expect(Math.max(...asystole) - Math.min(...asystole)).toBeLessThan(300)
    const sinus = window(5, 15)
    expect(Math.max(...sinus) - Math.min(...sinus)).toBeGreaterThan(1200)
    // Heart-rate readings drop to 0 when no beat is seen.
    const hr = c.vitals.flatMap((v) =>
      v.kind === 'heart-rate' && v.timeMs >= 40_000 && v.timeMs < 60_000 ? [v.bpm] : [],
    )
    expect(hr.every((b) => b === 0)).toBe(true)
  })

  it('puts the R wave at the R-peak truth, scaled to ECGSYN millivolts', () => {
    const c = run(scenarioOf({ baseline: { hrBpm: 60 }, sensors: [{ ...chest, ecgNoiseUv: 0 }] }), 30_000)
    const ecg = channel(c, 'chest', 'ecg')
    for (const p of c.rPeaks.slice(2, 20)) {
      const i = Math.round((p.timeMs * 256) / 1000)
      let best = i
      for (let j = i - 12; j <= i + 12; j++) if (ecg[j]! > ecg[best]!) best = j
      expect(Math.abs(best - i)).toBeLessThanOrEqual(2) // within 8 ms
      expect(ecg[best]!).toBeGreaterThan(900) // R ≈ 1.2 mV at 1 µV/LSB
      expect(ecg[best]!).toBeLessThan(1400)
    }
  })

  it('lead-off flattens the ECG, reports no contact, and reports contact again after', () => {
    const c = run(
      scenarioOf({
        sensors: [chest],
        events: [{ type: 'sensor-off', sensor: 'chest', atS: 20, durationS: 10 }],
      }),
      40_000,
    )
    const ecg = channel(c, 'chest', 'ecg')
    expect([...ecg.subarray(21 * 256, 29 * 256)].every((s) => s === 0)).toBe(true)
    expect(std([...ecg.subarray(31 * 256, 39 * 256)])).toBeGreaterThan(50)
    const statuses = c.out.flatMap((o) => o.statuses)
    expect(statuses).toEqual([
      { patientId: 'p1', sensorId: 'chest', timeMs: 20_000, contact: false },
      { patientId: 'p1', sensorId: 'chest', timeMs: 30_000, contact: true },
    ])
    const hr = c.vitals.filter((v) => v.kind === 'heart-rate')
    expect(
      hr.filter((v) => v.timeMs >= 20_000 && v.timeMs < 30_000).every((v) => !v.contact && v.bpm === 0),
    ).toBe(true)
    expect(hr.filter((v) => v.timeMs >= 32_000).every((v) => v.contact && v.bpm > 0)).toBe(true)
  })

  it('electrode-motion artefact adds large low-frequency noise only while active', () => {
    const c = run(
      scenarioOf({
        sensors: [chest],
        events: [{ type: 'motion-artefact', sensor: 'chest', atS: 20, durationS: 10, amplitudeUv: 2000 }],
      }),
      40_000,
    )
    const ecg = channel(c, 'chest', 'ecg')
    const quiet = std([...ecg.subarray(5 * 256, 15 * 256)])
    const noisy = std([...ecg.subarray(20 * 256, 30 * 256)])
    expect(noisy).toBeGreaterThan(3 * quiet)
  })

  it('numbers blocks 0, 1, 2, … with first-sample times at the sample rate', () => {
    const c = run(scenarioOf({ sensors: [chest] }), 10_000)
    const ecg = c.blocks.filter((b) => b.channel === 'ecg')
    expect(ecg.map((b) => b.sequence)).toEqual(ecg.map((_, i) => i))
    expect(ecg.length).toBe(40) // 250 ms blocks
    expect(ecg[3]!.firstSampleTimeMs).toBe(750)
    expect(ecg[0]!.samples.length).toBe(64)
    const acc = c.blocks.filter((b) => b.channel === 'accel')
    expect(acc[0]!.samples.length).toBe(16 * 3)
    expect(acc[0]!.channels).toBe(3)
  })
})
