// serialport itself on the simulator's pseudo-terminal (socat): the gateway side decodes exactly the
// frames the device sent, they equal the signal generator's output, and with faults on every good
// frame still arrives and every bad one is detected (the decoder's counters match the injected faults).
import { afterEach, describe, expect, it } from 'vitest'
import { SerialPort } from 'serialport'
import { SerialFrameDecoder, type SerialDecodeResult, type SerialFrame } from '@vigil/device/protocol'
import { loadScenario } from '../src/scenario/index.ts'
import { createPatientSimulation, type SampleBlock, type VitalReading } from '../src/signals/index.ts'
import {
  serialSourceFromSimulations,
  startSerialDevice,
  type InjectedFault,
  type SentFrame,
  type SerialDeviceHandle,
} from '../src/serial/index.ts'

const BAUD = 115_200
const SEED = 42
let n = 0
const linkPath = (): string => `/tmp/vigil-tty-test-${process.pid}-${++n}`

interface Gateway {
  readonly results: SerialDecodeResult[]
  readonly decoder: SerialFrameDecoder
  /** Resolves once the decoder has seen `bytes` bytes. */
  received(bytes: number): Promise<void>
  close(): Promise<void>
}

/** The gateway's side: serialport on the link at the configured baud rate, feeding the shared decoder. */
async function openGateway(link: string): Promise<Gateway> {
  const port = new SerialPort({ path: link, baudRate: BAUD, autoOpen: false })
  await new Promise<void>((resolve, reject) => {
    port.open((err) => {
      if (err) reject(err)
      else resolve()
    })
  })
  const decoder = new SerialFrameDecoder()
  const results: SerialDecodeResult[] = []
  let waiter: { bytes: number; resolve: () => void } | null = null
  port.on('data', (chunk: Buffer) => {
    results.push(...decoder.push(chunk))
    if (waiter !== null && decoder.stats.bytes >= waiter.bytes) waiter.resolve()
  })
  return {
    results,
    decoder,
    received(bytes: number): Promise<void> {
      if (decoder.stats.bytes >= bytes) return Promise.resolve()
      return new Promise((resolve) => {
        waiter = { bytes, resolve }
      })
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        port.close(() => {
          resolve()
        })
      })
    },
  }
}

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close()
})

function framesOf(rs: readonly SerialDecodeResult[]): SerialFrame[] {
  return rs.flatMap((r) => (r.ok ? [r.frame] : []))
}

async function runDevice(
  scenario: string,
  options: {
    speed: number
    durationMs: number
    faults?: (device: SerialDeviceHandle) => void
    randomFaults?: boolean
  },
) {
  const spec = loadScenario(scenario)
  const sims = spec.patients.map((p) => createPatientSimulation(p, { scenarioName: spec.name, seed: SEED }))
  const sent: SentFrame[] = []
  const injected: InjectedFault[] = []
  const link = linkPath()
  const device = await startSerialDevice({
    link,
    paused: true,
    baudRate: BAUD,
    source: serialSourceFromSimulations(sims),
    speed: options.speed,
    durationMs: options.durationMs,
    ...(options.randomFaults === true ? { randomFaults: { probability: 0.03, seed: 9 } } : {}),
    onStep: (step) => {
      sent.push(...step.frames)
      injected.push(...step.faults)
    },
  })
  open.push(device)
  const gateway = await openGateway(link)
  open.push(gateway)
  options.faults?.(device)
  // serialport flushes the pty on open; start sending only now so the gateway sees every byte.
  const started = performance.now()
  device.resume()
  await device.done
  const wallMs = performance.now() - started
  const stats = device.stats()
  await gateway.received(stats.bytes)
  return { spec, device, gateway, sent, injected, stats, wallMs }
}

/** What the generator produced for the serial sensors, regenerated independently with the same seed. */
function groundTruth(
  scenario: string,
  durationMs: number,
): { blocks: SampleBlock[]; vitals: VitalReading[] } {
  const spec = loadScenario(scenario)
  const blocks: SampleBlock[] = []
  const vitals: VitalReading[] = []
  for (const p of spec.patients) {
    const serial = new Set(p.sensors.filter((s) => s.transport === 'serial').map((s) => s.id))
    const out = createPatientSimulation(p, { scenarioName: spec.name, seed: SEED }).advanceTo(durationMs)
    blocks.push(...out.blocks.filter((b) => serial.has(b.sensorId)))
    vitals.push(...out.vitals.filter((v) => serial.has(v.sensorId)))
  }
  return { blocks, vitals }
}

describe('serial device on a pty, read with serialport', () => {
  it('delivers exactly the generated ECG, heart rate and battery of the desaturation scenario, paced by speed', async () => {
    const durationMs = 30_000
    const speed = 60
    const { gateway, sent, stats, wallMs } = await runDevice('desaturation', { speed, durationMs })
    const got = framesOf(gateway.results)

    // The wire: every frame the device sent arrived, in order, and nothing else.
    expect(gateway.decoder.stats.errors).toBe(0)
    expect(got).toEqual(sent.map((s) => s.frame))
    expect(gateway.decoder.stats.bytes).toBe(stats.bytes)
    // Paced: 30 s of device time at 60× takes about half a second of wall time, not "as fast as possible".
    expect(wallMs).toBeGreaterThan((durationMs / speed) * 0.9)
    expect(stats.lineLoad).toBeLessThan(1)

    // Ground truth: the ECG samples, their times and the heart rates equal the generator's output.
    const truth = groundTruth('desaturation', durationMs)
    const ecgTruth = truth.blocks.filter((b) => b.channel === 'ecg')
    const ecgGot = got.filter((f) => f.type === 'samples' && f.signal === 'ecg')
    expect(ecgTruth.length).toBeGreaterThan(100)
    expect(ecgGot).toHaveLength(ecgTruth.length)
    ecgGot.forEach((f, i) => {
      const b = ecgTruth[i]!
      expect(f).toMatchObject({
        sampleRateHz: b.sampleRateHz,
        timestampUs: Math.round(b.firstSampleTimeMs * 1000),
      })
      if (f.type === 'samples') expect(f.samples).toEqual(b.samples)
    })
    // Sequence numbers count every frame of a sensor id, without gaps.
    for (const id of new Set(got.map((f) => f.sensorId))) {
      const seqs = got.filter((f) => f.sensorId === id).map((f) => f.seq)
      expect(seqs).toEqual(seqs.map((_, i) => i))
    }
    const hrTruth = truth.vitals.flatMap((v) => (v.kind === 'heart-rate' ? [v] : []))
    const hrGot = got.flatMap((f) => (f.type === 'vital' && f.kind === 'heart-rate' ? [f] : []))
    expect(hrGot.map((f) => [f.timestampUs, f.value])).toEqual(
      hrTruth.map((v) => [Math.round(v.timeMs * 1000), v.bpm]),
    )
    const rrGot = got.flatMap((f) => (f.type === 'vital' && f.kind === 'rr-interval' ? [f.value] : []))
    expect(rrGot).toEqual(hrTruth.flatMap((v) => v.rrIntervalsMs.map((ms) => Math.round(ms * 1000) / 1000)))
    const battery = truth.vitals.flatMap((v) => (v.kind === 'battery' ? [v.percent] : []))
    expect(got.flatMap((f) => (f.type === 'status' && f.sensorId !== 0 ? [f.batteryPercent] : []))).toEqual(
      battery,
    )
    expect(got[0]).toMatchObject({ type: 'status', sensorId: 0, seq: 0, resetReason: 'power-on' })
  })

  it('with faults on: every good frame arrives, every bad one is detected and counted', async () => {
    const durationMs = 240_000
    const { gateway, sent, injected, stats } = await runDevice('sensor-off-and-back', {
      speed: Infinity,
      durationMs,
      randomFaults: true,
      faults: (device) => {
        // On-demand faults as well as the random ones (all six kinds).
        device.inject({ kind: 'noise', bytes: 3000 })
        device.inject({ kind: 'garbage', bytes: 20 })
        device.inject({ kind: 'flip-bits', bits: 3 })
        device.inject({ kind: 'truncate' })
        device.inject({ kind: 'drift', ppm: 150 })
      },
    })
    const d = gateway.decoder.stats
    for (const kind of ['flip-bits', 'truncate', 'garbage', 'noise', 'reset', 'drift'] as const) {
      expect(stats.faults[kind], kind).toBeGreaterThan(0)
    }
    const good = sent.filter((s) => s.damagedBy === null)
    // Every good frame arrived, exactly and in order; nothing damaged slipped through.
    expect(framesOf(gateway.results)).toEqual(good.map((s) => s.frame))
    // Every bad frame was detected: the decoder's error count is what the injected faults predict.
    expect(d.errors).toBe(stats.expectedErrors)
    expect(d.errors).toBe(injected.reduce((sum, f) => sum + f.expectedErrors, 0))
    expect(d.errors).toBeGreaterThanOrEqual(stats.framesDamaged)
    expect(d.errorsByCode.CRC_MISMATCH + d.errorsByCode.TRUNCATED + d.errorsByCode.BAD_COBS).toBeGreaterThan(
      0,
    )
    // Resets restart every sequence at 0 behind a status frame with the reason.
    const bootsSent = sent.filter((s) => s.frame.type === 'status' && s.frame.sensorId === 0)
    expect(bootsSent).toHaveLength(1 + stats.faults.reset)
    const boots = framesOf(gateway.results).filter((f) => f.type === 'status' && f.sensorId === 0)
    expect(boots).toHaveLength(bootsSent.filter((s) => s.damagedBy === null).length)
    expect(boots.every((f) => f.seq === 0 && f.timestampUs === 0)).toBe(true)
    expect(boots.slice(1).every((f) => f.type === 'status' && f.resetReason !== 'power-on')).toBe(true)
  })

  it('survives the gateway closing and reopening the port', async () => {
    const link = linkPath()
    let t = 0
    const device = await startSerialDevice({
      link,
      baudRate: BAUD,
      speed: 20,
      source: {
        advanceTo(tMs: number) {
          const items = []
          for (; t + 100 <= tMs; t += 100) {
            items.push({
              timeMs: t,
              sensorId: 1,
              payload: { type: 'vital' as const, kind: 'spo2' as const, value: 97 },
            })
          }
          return items
        },
      },
    })
    open.push(device)
    const first = await openGateway(link)
    await first.received(200)
    await first.close()
    const second = await openGateway(link)
    open.push(second)
    const before = second.decoder.stats.frames
    await second.received(second.decoder.stats.bytes + 500)
    expect(second.decoder.stats.frames).toBeGreaterThan(before)
    expect(device.stats().framesSent).toBeGreaterThan(5)
  })

  it('close() returns promptly while the device is blocked on a pty nobody reads', async () => {
    const { lstat } = await import('node:fs/promises')
    const link = linkPath()
    const device = await startSerialDevice({
      link,
      speed: Infinity,
      source: {
        advanceTo: (tMs: number) => [
          {
            timeMs: tMs - 1,
            sensorId: 1,
            payload: { type: 'event' as const, event: 'button' as const, value: 0 },
          },
        ],
      },
      randomFaults: { probability: 1, kinds: ['noise'], seed: 1 },
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const started = performance.now()
    await device.close()
    expect(performance.now() - started).toBeLessThan(10_000)
    await expect(lstat(link)).rejects.toThrow(/ENOENT/)
    expect(() => {
      device.inject({ kind: 'truncate' })
    }).toThrow(/is closed/)
  })

  it('fails clearly when the link path is taken by a regular file', async () => {
    const { writeFile, rm } = await import('node:fs/promises')
    const link = linkPath()
    await writeFile(link, 'x')
    await expect(startSerialDevice({ link, source: { advanceTo: () => [] } })).rejects.toThrow(
      /exists and is not a link to a pseudo-terminal/,
    )
    await rm(link)
  })
})
