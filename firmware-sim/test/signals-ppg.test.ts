import { describe, expect, it } from 'vitest'
import { channel, mean, run, scenarioOf, std } from './signals-helpers.ts'

const finger = { id: 'finger', transport: 'ble', profile: 'pulse-oximeter' }

/** Indices of local maxima above the midpoint of the signal's range, at least `gap` samples apart. */
function peaks(xs: readonly number[], gap: number): number[] {
  const mid = (Math.max(...xs) + Math.min(...xs)) / 2
  const out: number[] = []
  for (let i = 1; i < xs.length - 1; i++) {
    if (
      xs[i]! > mid &&
      xs[i]! >= xs[i - 1]! &&
      xs[i]! > xs[i + 1]! &&
      (out.length === 0 || i - out.at(-1)! >= gap)
    )
      out.push(i)
  }
  return out
}

describe('PPG', () => {
  it('has one pulse per heart beat, a pulse transit time after the R peak', () => {
    const c = run(scenarioOf({ baseline: { hrBpm: 72 }, sensors: [finger] }), 60_000)
    const ppg = [...channel(c, 'finger', 'ppg')]
    const found = peaks(ppg, 40) // 128 Hz: pulses are > 0.3 s apart
    const beats = c.rPeaks.filter((p) => p.timeMs > 500 && p.timeMs < 59_000)
    expect(Math.abs(found.length - beats.length)).toBeLessThanOrEqual(2)
    // Systolic peak ≈ R + 200 ms transit + 22 % of the cycle.
    const delays = beats.slice(2, 30).map((b) => {
      const at = found.find((i) => (i * 1000) / 128 > b.timeMs)!
      return (at * 1000) / 128 - b.timeMs
    })
    expect(mean(delays)).toBeGreaterThan(300)
    expect(mean(delays)).toBeLessThan(450)
  })

  it('goes flat when the probe is off, and pulses again when it is back', () => {
    const c = run(
      scenarioOf({
        sensors: [finger],
        events: [{ type: 'sensor-off', sensor: 'finger', atS: 20, durationS: 10 }],
      }),
      40_000,
    )
    const ppg = [...channel(c, 'finger', 'ppg')]
    expect(std(ppg.slice(21 * 128, 29 * 128))).toBeLessThan(20)
    expect(std(ppg.slice(31 * 128, 39 * 128))).toBeGreaterThan(300)
  })

  it('has no pulses during asystole', () => {
    const c = run(
      scenarioOf({ sensors: [finger], events: [{ type: 'asystole', atS: 20, durationS: 10 }] }),
      40_000,
    )
    const ppg = [...channel(c, 'finger', 'ppg')]
    expect(std(ppg.slice(22 * 128, 29 * 128))).toBeLessThan(150) // respiration and noise only
    expect(std(ppg.slice(5 * 128, 15 * 128))).toBeGreaterThan(300)
  })
})
