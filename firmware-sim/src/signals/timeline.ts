// Read-only views of a patient's event timeline: what is active at a time, and the slow physiological levels
// (target heart rate, SpO2, temperature) that events shape. Events are few per patient, so scans are fine at
// per-beat and per-reading rates; per-sample users take an IntervalCursor instead.
import type { BaselineSpec, EventSpec } from './types.ts'

export interface Interval {
  readonly atMs: number
  readonly endMs: number
}

/** Walks sorted, non-overlapping-or-overlapping intervals with monotonically increasing query times. */
export class IntervalCursor<T extends Interval> {
  readonly #items: readonly T[]
  #index = 0
  constructor(items: readonly T[]) {
    this.#items = [...items].sort((a, b) => a.atMs - b.atMs)
  }
  /** The interval containing tMs, if any; tMs must not decrease between calls. */
  at(tMs: number): T | undefined {
    const items = this.#items
    while (this.#index < items.length && items[this.#index]!.endMs <= tMs) this.#index++
    // Overlapping intervals: look a little further for one that has started.
    for (let i = this.#index; i < items.length; i++) {
      const item = items[i]!
      if (item.atMs > tMs) return undefined
      if (item.endMs > tMs) return item
    }
    return undefined
  }
  /** True when any interval overlaps [fromMs, toMs); fromMs must not decrease between calls. */
  overlaps(fromMs: number, toMs: number): boolean {
    const items = this.#items
    while (this.#index < items.length && items[this.#index]!.endMs <= fromMs) this.#index++
    for (let i = this.#index; i < items.length; i++) {
      const item = this.#items[i]!
      if (item.atMs >= toMs) return false
      if (item.endMs > fromMs) return true
    }
    return false
  }
}

type Of<K extends EventSpec['type']> = Extract<EventSpec, { type: K }>

/** Events of one type, in onset order. */
export function eventsOf<K extends EventSpec['type']>(events: readonly EventSpec[], type: K): Of<K>[] {
  return events.filter((e): e is Of<K> => e.type === type)
}

/** The latest-starting active event among `events` at tMs. */
export function activeAt<E extends Interval>(events: readonly E[], tMs: number): E | undefined {
  let found: E | undefined
  for (const e of events) if (e.atMs <= tMs && tMs < e.endMs) found = e
  return found
}

/**
 * A level that ramps from `base` to `target` over rampMs after atMs, holds, and ramps back over rampMs ending
 * at endMs (ramps shortened to half the event when it is brief).
 */
export function trapezoid(
  base: number,
  target: number,
  e: Interval & { rampMs: number },
  tMs: number,
): number {
  if (tMs < e.atMs || tMs >= e.endMs) return base
  const ramp = Math.min(e.rampMs, (e.endMs - e.atMs) / 2)
  if (ramp <= 0) return target
  const up = (tMs - e.atMs) / ramp
  const down = (e.endMs - tMs) / ramp
  const f = Math.min(1, up, down)
  return base + (target - base) * f
}

/** Sinus target heart rate at tMs: baseline, or a tachy/bradycardia episode with its ramps. */
export function sinusRateAt(baseline: BaselineSpec, events: readonly EventSpec[], tMs: number): number {
  let hr = baseline.hrBpm
  for (const e of events)
    if ((e.type === 'sinus-tachycardia' || e.type === 'sinus-bradycardia') && e.atMs <= tMs && tMs < e.endMs)
      hr = trapezoid(baseline.hrBpm, e.hrBpm, e, tMs)
  return hr
}

/** Arterial oxygen saturation at tMs, percent (before measurement noise). */
export function spo2At(baseline: BaselineSpec, events: readonly EventSpec[], tMs: number): number {
  let spo2 = baseline.spo2Pct
  for (const e of events)
    if (e.type === 'desaturation' && e.atMs <= tMs && tMs < e.endMs)
      spo2 = Math.min(spo2, trapezoid(baseline.spo2Pct, e.spo2Pct, e, tMs))
  return spo2
}

/** Core body temperature at tMs, °C (before circadian swing and measurement noise). */
export function temperatureAt(baseline: BaselineSpec, events: readonly EventSpec[], tMs: number): number {
  let temp = baseline.temperatureC
  for (const e of events)
    if (e.type === 'fever' && e.atMs <= tMs && tMs < e.endMs)
      temp = Math.max(temp, trapezoid(baseline.temperatureC, e.temperatureC, e, tMs))
  return temp
}

/** Contact intervals lost for one sensor. */
export function offIntervals(events: readonly EventSpec[], sensorId: string): Interval[] {
  return events.filter((e) => e.type === 'sensor-off' && e.sensorId === sensorId)
}
