import { describe, expect, it } from 'vitest'
import { channel, mean, run, scenarioOf, std } from './signals-helpers.ts'

const pendant = { id: 'pendant', transport: 'serial', profile: 'accelerometer', accelHz: 100 }

describe('accelerometer', () => {
  const c = run(
    scenarioOf({
      sensors: [pendant],
      events: [
        { type: 'walking', atS: 20, durationS: 20, cadenceSpm: 110 },
        { type: 'fall', atS: 40, durationS: 60, impactG: 5 },
      ],
    }),
    120_000,
  )
  const xyz = channel(c, 'pendant', 'accel')
  const magnitude = Array.from({ length: xyz.length / 3 }, (_, i) =>
    Math.hypot(xyz[3 * i]!, xyz[3 * i + 1]!, xyz[3 * i + 2]!),
  )
  const between = (fromS: number, toS: number): number[] => magnitude.slice(fromS * 100, toS * 100)

  it('reads 1 g at rest, in mg', () => {
    expect(Math.abs(mean(between(2, 18)) - 1000)).toBeLessThan(20)
    expect(std(between(2, 18))).toBeLessThan(15)
  })

  it('oscillates at the step frequency while walking', () => {
    const walk = between(22, 38)
    expect(std(walk)).toBeGreaterThan(150)
    // Count upward crossings of the mean: one per step.
    const m = mean(walk)
    let crossings = 0
    for (let i = 1; i < walk.length; i++) if (walk[i - 1]! < m && walk[i]! >= m) crossings++
    expect(crossings / 16).toBeGreaterThan(1.5) // 110 steps/min = 1.83 Hz
    expect(crossings / 16).toBeLessThan(2.3)
  })

  it('a fall is free fall, an impact near the configured g, then stillness', () => {
    const freeFall = between(39.65, 39.95)
    expect(Math.max(...freeFall)).toBeLessThan(400)
    const impact = Math.max(...between(39.9, 40.3))
    expect(impact).toBeGreaterThan(4500)
    expect(impact).toBeLessThan(5500)
    const still = between(42, 99)
    expect(std(still)).toBeLessThan(10)
    expect(Math.abs(mean(still) - 1000)).toBeLessThan(20)
    // The posture changed: gravity is now on x (lying on the side), not z.
    expect(xyz[3 * 5000]!).toBeGreaterThan(900)
  })

  it('labels the fall in the ground truth at the impact', () => {
    const truth = c.out.flatMap((o) => o.truth).filter((r) => r.type !== 'r-peak')
    expect(truth.map((r) => [r.type, r.timeMs])).toEqual([
      ['event-start', 20_000],
      ['event-end', 40_000],
      ['event-start', 40_000],
      ['event-end', 100_000],
    ])
  })
})
