// The simulated serial device without a pty: sequence numbers, device clock, and fault accounting
// (every injected fault is detected by the shared decoder exactly as the device predicts).
import { describe, expect, it } from 'vitest'
import { SerialFrameDecoder, type SerialDecodeResult, type SerialFrame } from '@vigil/device/protocol'
import {
  SerialDeviceCore,
  SerialSimError,
  type SentFrame,
  type SerialSource,
  type SerialSourceItem,
} from '../src/serial/index.ts'

/** A deterministic source: a 250 Hz ECG ramp in 50-sample blocks (one per 200 ms) and a heart-rate vital per second. */
function rampSource(): SerialSource {
  let t = 0
  return {
    advanceTo(tMs: number): SerialSourceItem[] {
      const items: SerialSourceItem[] = []
      for (; t + 200 <= tMs; t += 200) {
        const samples = Int16Array.from({ length: 50 }, (_, i) => ((t / 4 + i) % 2000) - 1000)
        items.push({
          timeMs: t,
          sensorId: 1,
          payload: { type: 'samples', signal: 'ecg', channel: 0, sampleRateHz: 250, samples },
        })
        if (t % 1000 === 0)
          items.push({
            timeMs: t,
            sensorId: 2,
            payload: { type: 'vital', kind: 'heart-rate', value: 60 + t / 1000 },
          })
      }
      return items
    },
  }
}

function run(core: SerialDeviceCore, untilMs: number, stepMs: number, each?: (t: number) => void) {
  const sent: SentFrame[] = []
  const results: SerialDecodeResult[] = []
  const decoder = new SerialFrameDecoder()
  for (let t = stepMs; t <= untilMs; t += stepMs) {
    each?.(t)
    const step = core.advanceTo(t)
    sent.push(...step.frames)
    results.push(...decoder.push(step.bytes))
  }
  results.push(...decoder.end())
  const good = results.flatMap((r) => (r.ok ? [r.frame] : []))
  return { sent, good, decoder }
}

describe('SerialDeviceCore', () => {
  it('boots with a status frame, numbers frames per sensor and stamps device µs', () => {
    const core = new SerialDeviceCore(rampSource())
    const { sent, good, decoder } = run(core, 2000, 100)
    expect(decoder.stats.errors).toBe(0)
    expect(good).toEqual(sent.map((s) => s.frame))
    expect(good[0]).toMatchObject({
      type: 'status',
      sensorId: 0,
      seq: 0,
      timestampUs: 0,
      resetReason: 'power-on',
    })
    const ecg = good.filter((f) => f.sensorId === 1)
    expect(ecg.map((f) => f.seq)).toEqual(ecg.map((_, i) => i))
    expect(ecg.map((f) => f.timestampUs)).toEqual(ecg.map((_, i) => i * 200_000))
    expect(good.filter((f) => f.type === 'vital').map((f) => f.value)).toEqual([60, 61])
  })

  it('gives the same bytes whatever the step size', () => {
    const bytes = (step: number): number[] => {
      const core = new SerialDeviceCore(rampSource(), { randomFaults: { probability: 0.2, seed: 5 } })
      const out: number[] = []
      for (let t = step; t <= 4000; t += step) out.push(...core.advanceTo(t).bytes)
      return out
    }
    // Faults drawn per frame, not per step, so only reset/drift timing (applied per step) may differ: compare without them.
    const clean = (step: number): number[] => {
      const core = new SerialDeviceCore(rampSource())
      const out: number[] = []
      for (let t = step; t <= 4000; t += step) out.push(...core.advanceTo(t).bytes)
      return out
    }
    expect(clean(100)).toEqual(clean(1000))
    expect(bytes(200)).toEqual(bytes(200))
  })

  it.each(['flip-bits', 'truncate', 'garbage', 'noise'] as const)(
    '%s: detected exactly as predicted, no good frame lost',
    (kind) => {
      const core = new SerialDeviceCore(rampSource(), {
        randomFaults: { probability: 0.3, kinds: [kind], seed: 11 },
      })
      const { sent, good, decoder } = run(core, 60_000, 250)
      expect(core.stats.faults[kind]).toBeGreaterThan(20)
      expect(decoder.stats.errors).toBe(core.stats.expectedErrors)
      expect(good).toEqual(sent.filter((s) => s.damagedBy === null).map((s) => s.frame))
      if (kind === 'flip-bits' || kind === 'truncate')
        expect(core.stats.framesDamaged).toBe(core.stats.faults[kind])
    },
  )

  it('multi-bit flips and long noise bursts are detected too', () => {
    const core = new SerialDeviceCore(rampSource(), {
      randomFaults: { probability: 0.1, kinds: ['truncate'], seed: 3 },
    })
    const { sent, good, decoder } = run(core, 30_000, 500, (t) => {
      if (t % 2000 === 0) core.inject({ kind: 'flip-bits', bits: 1 + ((t / 2000) % 16) })
      if (t % 3000 === 0) core.inject({ kind: 'noise', bytes: 5000 })
    })
    expect(decoder.stats.errorsByCode.OVERSIZE).toBeGreaterThan(0)
    expect(decoder.stats.errors).toBe(core.stats.expectedErrors)
    expect(good).toEqual(sent.filter((s) => s.damagedBy === null).map((s) => s.frame))
  })

  it('reset: sequence numbers and the device clock restart, the first frame says why', () => {
    const core = new SerialDeviceCore(rampSource())
    const { good } = run(core, 5000, 500, (t) => {
      if (t === 3000) core.inject({ kind: 'reset', reason: 'brown-out' })
    })
    const statuses = good.filter((f) => f.type === 'status')
    expect(statuses.map((s) => [s.seq, s.timestampUs, s.resetReason])).toEqual([
      [0, 0, 'power-on'],
      [0, 0, 'brown-out'],
    ])
    const ecg = good.filter((f): f is Extract<SerialFrame, { type: 'samples' }> => f.type === 'samples')
    const after = ecg.findIndex((f, i) => i > 0 && f.seq === 0)
    expect(after).toBeGreaterThan(0)
    // The reset takes effect at the start of the step, 2500 ms. The block 2400–2600 ms was not complete
    // then and is lost with the device's buffers; the next one starts at 2600 ms = 100 ms after boot.
    expect(core.stats.lostInReset).toBe(1)
    expect(ecg[after - 1]!.timestampUs).toBe(2_200_000)
    expect(ecg[after]!.timestampUs).toBe(100_000)
    expect(ecg.slice(after).map((f) => f.seq)).toEqual(ecg.slice(after).map((_, i) => i))
  })

  it('reset: an item predating the reset that becomes ready in a later step is lost too, not sent at device time 0', () => {
    // 250 ms blocks at 1000 Hz, each ready only once its last sample is past: with 100 ms steps the
    // block 1000–1250 ms comes out of the source two steps after a reset at 1100 ms.
    let next = 0
    const source: SerialSource = {
      advanceTo(tMs: number): SerialSourceItem[] {
        const items: SerialSourceItem[] = []
        for (; next + 250 <= tMs; next += 250) {
          items.push({
            timeMs: next,
            sensorId: 1,
            payload: {
              type: 'samples',
              signal: 'ecg',
              channel: 0,
              sampleRateHz: 1000,
              samples: new Int16Array(250).fill(next / 250),
            },
          })
        }
        return items
      },
    }
    const core = new SerialDeviceCore(source)
    const { sent, good, decoder } = run(core, 3000, 100, (t) => {
      if (t === 1200) core.inject({ kind: 'reset' })
    })
    expect(decoder.stats.errors).toBe(0)
    expect(good).toEqual(sent.map((s) => s.frame))
    expect(core.stats.lostInReset).toBe(1)
    // Nothing from before the reset (1100 ms) is sent after it.
    const reboot = sent.findIndex((s, i) => i > 0 && s.frame.type === 'status')
    expect(reboot).toBeGreaterThan(0)
    expect(sent.slice(reboot).filter((s) => s.timeMs < 1100)).toEqual([])
    const after = sent.slice(reboot + 1)
    expect(after.map((s) => [s.timeMs, s.frame.seq, s.frame.timestampUs])).toEqual(
      [1250, 1500, 1750, 2000, 2250, 2500, 2750].map((t, i) => [t, i, (t - 1100) * 1000]),
    )
  })

  it('drift: the device clock runs fast by the given ppm from the step it is injected', () => {
    const core = new SerialDeviceCore(rampSource())
    const { good } = run(core, 20_000, 1000, (t) => {
      if (t === 2000) core.inject({ kind: 'drift', ppm: 500 })
    })
    const ecg = good.filter((f) => f.type === 'samples')
    const at = (trueMs: number): number => ecg[trueMs / 200]!.timestampUs
    expect(at(1000)).toBe(1_000_000)
    expect(at(19_800)).toBe(Math.round(1_000_000 + 18_800_000 * 1.0005))
  })

  it('rejects bad faults and options with INVALID_ARGUMENT naming the value', () => {
    const core = new SerialDeviceCore(rampSource())
    expect(() => {
      core.inject({ kind: 'flip-bits', bits: 0 })
    }).toThrow(/flip-bits bits must be an integer in \[1, 64\], got 0/)
    expect(() => {
      core.inject({ kind: 'zap' } as never)
    }).toThrow(SerialSimError)
    expect(() => new SerialDeviceCore(rampSource(), { randomFaults: { probability: 2 } })).toThrow(
      /probability must be in \[0, 1\], got 2/,
    )
    expect(() => core.advanceTo(-1)).toThrow(/advanceTo\(-1\) must be finite/)
  })
})
