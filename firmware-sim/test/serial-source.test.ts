// The serial source built from patient simulations: what a device sends while a sensor is off.
import { describe, expect, it } from 'vitest'
import { createScenarioSimulations, loadScenario } from '../src/scenario/index.ts'
import { serialSourceFromSimulations, type SerialSourceItem } from '../src/serial/index.ts'

const OFF_MS = 300_000
const ON_MS = 420_000

/** sensor-off-and-back: the chest ECG patch's leads are off from 300 s to 420 s. */
function chestItems(untilMs: number, stepMs: number): SerialSourceItem[] {
  const scenario = loadScenario('sensor-off-and-back')
  const sims = createScenarioSimulations(scenario, 7)
  const chest = sims[0]!.patient.sensors.find((s) => s.id === 'chest')!
  const source = serialSourceFromSimulations(sims, { sensors: 'all' })
  const items: SerialSourceItem[] = []
  for (let t = Math.min(stepMs, untilMs); ; t = Math.min(t + stepMs, untilMs)) {
    items.push(...source.advanceTo(t))
    if (t === untilMs) break
  }
  return items.filter((i) => i.sensorId === chest.numericId)
}

const leadsOff = (t: number): boolean => t >= OFF_MS && t < ON_MS

describe('serialSourceFromSimulations', () => {
  it('sends no heart rate (and no RR interval) while the leads are off', () => {
    const items = chestItems(480_000, 1000)
    const hr = items.flatMap((i) =>
      i.payload.type === 'vital' && (i.payload.kind === 'heart-rate' || i.payload.kind === 'rr-interval')
        ? [{ timeMs: i.timeMs, kind: i.payload.kind, value: i.payload.value }]
        : [],
    )
    expect(hr.filter((v) => leadsOff(v.timeMs))).toEqual([])
    expect(hr.filter((v) => v.kind === 'heart-rate' && v.value <= 0)).toEqual([])
    // Measured before the leads come off and again once they are back.
    expect(hr.some((v) => v.kind === 'heart-rate' && v.timeMs < OFF_MS)).toBe(true)
    expect(hr.some((v) => v.kind === 'heart-rate' && v.timeMs >= ON_MS)).toBe(true)
    // The lead-off itself is still reported.
    expect(
      items.flatMap((i) =>
        i.payload.type === 'event' ? [[i.timeMs, i.payload.event, i.payload.value]] : [],
      ),
    ).toEqual([
      [OFF_MS, 'lead-off', 1],
      [ON_MS, 'lead-on', 0],
    ])
  })

  it.each([1000, 60_000, 480_000])(
    'status frames carry the lead-off state at their own time, whatever the step (%i ms)',
    (stepMs) => {
      const statuses = chestItems(480_000, stepMs).flatMap((i) =>
        i.payload.type === 'status' ? [[i.timeMs, i.payload.leadOff]] : [],
      )
      expect(statuses.length).toBeGreaterThan(4)
      expect(statuses.some(([t]) => leadsOff(t!))).toBe(true)
      expect(statuses).toEqual(statuses.map(([t]) => [t, leadsOff(t!) ? 1 : 0]))
    },
  )
})
