// The real signal generator behind the BLE simulator, paced in (accelerated) real time: what node-ble decodes
// equals what a second, identically seeded generator produces, and the RR intervals equal the R-peak ground truth.
import { afterAll, describe, expect, it } from 'vitest'
import NodeBle from 'node-ble'
import {
  decodeHeartRateMeasurement,
  decodePlxContinuousMeasurement,
  decodeTemperatureMeasurement,
  decodeVendorStreamFrame,
  gattUuids,
  msToRr1024,
  rr1024ToMs,
  vendorStreamUuids,
} from '@vigil/device/protocol'
import { bleDevicesOf, startBleSimulator } from '../src/ble/index.ts'
import type { BleSimulator, SentNotification } from '../src/ble/index.ts'
import { loadScenario } from '../src/scenario/index.ts'
import { createPatientSimulation } from '../src/signals/index.ts'
import type { SimOutput } from '../src/signals/index.ts'

const SEED = 7
const UNTIL_MS = 20_000
const SPEED = 10

function collect(char: NodeBle.GattCharacteristic): {
  got: Buffer[]
  until(n: number, timeoutMs?: number): Promise<void>
} {
  const got: Buffer[] = []
  const waiters: (() => void)[] = []
  char.on('valuechanged', (b: Buffer) => {
    got.push(b)
    for (const w of waiters) w()
  })
  return {
    got,
    until: (n, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`got ${got.length} of ${n} notifications within ${timeoutMs} ms`))
        }, timeoutMs)
        const check = (): void => {
          if (got.length >= n) {
            clearTimeout(timer)
            resolve()
          }
        }
        waiters.push(check)
        check()
      }),
  }
}

describe('calm-night over BLE, generated and paced by the simulator', () => {
  let sim: BleSimulator | null = null
  let ble: ReturnType<typeof NodeBle.createBluetooth> | null = null

  afterAll(async () => {
    ble?.destroy()
    await sim?.close()
    delete process.env.DBUS_SYSTEM_BUS_ADDRESS
  })

  it('node-ble receives exactly what the generator produced', async () => {
    const scenario = loadScenario('calm-night')
    const patient = scenario.patients[0]!
    const air: SentNotification[] = []
    const { promise: doneAt, resolve: done } = Promise.withResolvers<undefined>()
    const started = await startBleSimulator({
      devices: bleDevicesOf(scenario.patients),
      drive: {
        simulations: [createPatientSimulation(patient, { scenarioName: scenario.name, seed: SEED })],
        speed: SPEED,
        untilMs: UNTIL_MS,
      },
      onNotification: (n) => {
        air.push(n)
        if (n.stream === 'heart-rate' && n.timeMs >= UNTIL_MS - 1000) done(undefined)
      },
    })
    sim = started
    process.env.DBUS_SYSTEM_BUS_ADDRESS = started.busAddress
    ble = NodeBle.createBluetooth()
    const adapter = await ble.bluetooth.defaultAdapter()
    await adapter.startDiscovery()
    const [chest, finger, temp] = bleDevicesOf(scenario.patients)
    const subscribe = async (address: string, service: string, characteristic: string) => {
      const device = await adapter.waitDevice(address, 5000, 50)
      await device.connect()
      const c = await (
        await (await device.gatt()).getPrimaryService(service)
      ).getCharacteristic(characteristic)
      const col = collect(c)
      await c.startNotifications()
      return col
    }
    const hr = await subscribe(chest!.address, gattUuids.heartRateService, gattUuids.heartRateMeasurement)
    const ecg = await subscribe(chest!.address, vendorStreamUuids.service, vendorStreamUuids.ecgData)
    const plx = await subscribe(
      finger!.address,
      gattUuids.pulseOximeterService,
      gattUuids.plxContinuousMeasurement,
    )
    const thermo = await subscribe(
      temp!.address,
      gattUuids.healthThermometerService,
      gattUuids.temperatureMeasurement,
    )
    await doneAt
    const sent = (stream: string) => air.filter((n) => n.stream === stream && n.fate === 'sent')
    await hr.until(sent('heart-rate').length)
    await ecg.until(sent('ecg').length)
    await plx.until(sent('plx').length)
    await thermo.until(sent('temperature').length)
    expect(sent('heart-rate').length).toBeGreaterThan(5)

    // Regenerate the same patient from (scenario, seed): the ground truth.
    const truthSim = createPatientSimulation(patient, { scenarioName: scenario.name, seed: SEED })
    const out: SimOutput = truthSim.advanceTo(UNTIL_MS)
    const at = (kind: string, sensorId: string, timeMs: number) =>
      out.vitals.find((v) => v.kind === kind && v.sensorId === sensorId && v.timeMs === timeMs)

    const firstHr = sent('heart-rate')[0]!.timeMs
    hr.got.forEach((b, i) => {
      const m = decodeHeartRateMeasurement(b)
      const v = at('heart-rate', 'chest', firstHr + i * 1000)
      if (v?.kind !== 'heart-rate') throw new Error(`no heart-rate vital at ${firstHr + i * 1000} ms`)
      expect(m.heartRateBpm).toBe(Math.round(v.bpm))
      expect(m.rrIntervals1024).toEqual(v.rrIntervalsMs.map(msToRr1024))
    })
    // Every received RR interval is the time between two consecutive true R peaks (to the 1/1024 s quantum).
    const peaks = out.truth.filter((t) => t.type === 'r-peak').map((t) => t.timeMs)
    const diffs = peaks.slice(1).map((t, i) => t - peaks[i]!)
    const rrMs = hr.got.flatMap((b) => decodeHeartRateMeasurement(b).rrIntervals1024.map(rr1024ToMs))
    expect(rrMs.length).toBeGreaterThan(3)
    const k = diffs.findIndex((d) => Math.abs(d - rrMs[0]!) <= 0.5)
    expect(k).toBeGreaterThanOrEqual(0)
    rrMs.forEach((rr, i) => {
      expect(Math.abs(rr - diffs[k + i]!)).toBeLessThanOrEqual(0.5)
    })

    // ECG: the received frames, in order and without gaps, equal the generated samples from the first one received.
    const frames = ecg.got.map((b) => decodeVendorStreamFrame(b))
    expect(frames.map((f) => f.seq - frames[0]!.seq)).toEqual([...frames.keys()])
    const all = out.blocks
      .filter((b) => b.sensorId === 'chest' && b.channel === 'ecg')
      .flatMap((b) => [...b.samples])
    const per = frames[0]!.samples.length
    const received = frames.flatMap((f) => [...f.samples])
    expect(received).toEqual(all.slice(frames[0]!.seq * per, frames[0]!.seq * per + received.length))

    const firstPlx = sent('plx')[0]!.timeMs
    plx.got.forEach((b, i) => {
      const v = at('spo2', 'finger', firstPlx + i * (sent('plx')[1]!.timeMs - firstPlx))
      if (v?.kind !== 'spo2') throw new Error('no spo2 vital')
      const m = decodePlxContinuousMeasurement(b)
      expect(m.spo2Pct).toBeCloseTo(v.spo2Pct, 1)
      expect(m.pulseRateBpm).toBeCloseTo(v.pulseRateBpm, 1)
    })
    thermo.got.forEach((b, i) => {
      const v = at('temperature', 'temp', sent('temperature')[i]!.timeMs)
      if (v?.kind !== 'temperature') throw new Error('no temperature vital')
      expect(decodeTemperatureMeasurement(b).celsius).toBe(v.celsius)
    })
  })
})
