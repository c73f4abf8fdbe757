// node-ble itself against the BlueZ look-alike on a private dbus-daemon: discovery, connect, read, notifications
// whose decoded values equal what the simulator was given, and the faults (malformed, drop/duplicate, out of range).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import NodeBle from 'node-ble'
import {
  BleCodecError,
  decodeBatteryLevel,
  decodeHeartRateMeasurement,
  decodePlxContinuousMeasurement,
  decodeTemperatureMeasurement,
  decodeVendorStreamConfig,
  decodeVendorStreamFrame,
  gattUuids,
  msToRr1024,
  plxDeviceStatus,
  vendorSeqGap,
  vendorStreamUuids,
} from '@vigil/device/protocol'
import { startBleSimulator } from '../src/ble/index.ts'
import type { BleDeviceSpec, BleSimulator, SentNotification } from '../src/ble/index.ts'
import type { SampleBlock, SimOutput, VitalReading } from '../src/signals/index.ts'

const ECG = 'AA:BB:CC:DD:EE:01'
const OXI = 'AA:BB:CC:DD:EE:02'
const TEMP = 'AA:BB:CC:DD:EE:03'
const devices: BleDeviceSpec[] = [
  {
    patientId: 'bed-01',
    sensorId: 'chest',
    address: ECG,
    name: 'Vigil ECG bed-01',
    profile: 'ecg-patch',
    ratesHz: { ecg: 250, accel: 50 },
  },
  {
    patientId: 'bed-01',
    sensorId: 'finger',
    address: OXI,
    name: 'Vigil SpO2 bed-01',
    profile: 'pulse-oximeter',
  },
  { patientId: 'bed-01', sensorId: 'skin', address: TEMP, name: 'Vigil Temp bed-01', profile: 'thermometer' },
]

/**
 * A deterministic one-second slice of a patient, in the signal generators' SimOutput shape
 * (the same type createPatientSimulation returns), so the BLE path is checked value by value.
 */
function second(k: number): SimOutput {
  const t = k * 1000
  const base = { patientId: 'bed-01' }
  const vitals: VitalReading[] = [
    {
      ...base,
      kind: 'heart-rate',
      sensorId: 'chest',
      timeMs: t,
      bpm: 70 + k,
      rrIntervalsMs: [857.1 - k, 850 + k * 3.3],
      contact: true,
    },
    {
      ...base,
      kind: 'spo2',
      sensorId: 'finger',
      timeMs: t,
      spo2Pct: 97.4 - k * 0.3,
      pulseRateBpm: 71.2 + k,
      contact: k !== 3,
      nonPulsatile: false,
    },
    { ...base, kind: 'temperature', sensorId: 'skin', timeMs: t, celsius: 36.85 + k * 0.25, contact: true },
    { ...base, kind: 'battery', sensorId: 'chest', timeMs: t, percent: 90 - k },
  ]
  const block = (channel: 'ecg' | 'accel', rate: number, frames: number, seq: number): SampleBlock => {
    const channels = channel === 'ecg' ? 1 : 3
    const samples = new Int16Array(frames * channels)
    for (let i = 0; i < samples.length; i++)
      samples[i] = Math.round(1200 * Math.sin((seq * 1000 + i) / 7)) - 17 * k
    return {
      ...base,
      sensorId: 'chest',
      numericSensorId: 1,
      channel,
      sequence: seq,
      firstSampleTimeMs: t,
      sampleRateHz: rate,
      channels,
      samples,
    }
  }
  return {
    fromMs: t,
    toMs: t + 1000,
    vitals,
    statuses: [],
    truth: [],
    blocks: [block('ecg', 250, 250, k), block('accel', 50, 50, k)],
  }
}

type Ble = ReturnType<typeof NodeBle.createBluetooth>
type Characteristic = NodeBle.GattCharacteristic

/** Resolves with the next `n` notification payloads of `char`, or rejects after `timeoutMs`. */
function next(char: Characteristic, n: number, timeoutMs = 5000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = []
    const timer = setTimeout(() => {
      char.off('valuechanged', on)
      reject(new Error(`got ${got.length} of ${n} notifications within ${timeoutMs} ms`))
    }, timeoutMs)
    const on = (b: Buffer): void => {
      got.push(b)
      if (got.length === n) {
        clearTimeout(timer)
        char.off('valuechanged', on)
        resolve(got)
      }
    }
    char.on('valuechanged', on)
  })
}

function decodeError(f: () => unknown): BleCodecError {
  try {
    f()
  } catch (e) {
    if (e instanceof BleCodecError) return e
    throw e
  }
  throw new Error('decoder accepted a malformed payload')
}

describe('BLE simulator through node-ble', () => {
  let sim: BleSimulator
  let ble: Ble
  const air: SentNotification[] = []
  let adapter: NodeBle.Adapter
  /** The node-ble Device that connected: its connect()/disconnect events only fire on this object. */
  let ecg: NodeBle.Device

  beforeAll(async () => {
    sim = await startBleSimulator({
      devices,
      onNotification: (n) => air.push(n),
      startEpochMs: Date.UTC(2025, 0, 2, 3, 4, 5),
    })
    // node-ble has no way to choose a bus but this variable (ble-sim.md).
    process.env.DBUS_SYSTEM_BUS_ADDRESS = sim.busAddress
    ble = NodeBle.createBluetooth()
    adapter = await ble.bluetooth.defaultAdapter()
    await adapter.startDiscovery()
  })

  afterAll(async () => {
    ble.destroy()
    const pid = sim.daemonPid
    await sim.close()
    delete process.env.DBUS_SYSTEM_BUS_ADDRESS
    expect(pid).not.toBeNull()
    expect(() => process.kill(pid!, 0)).toThrow() // the daemon is gone
  })

  it('discovers every simulated device with its name and RSSI', async () => {
    expect(await adapter.isDiscovering()).toBe(true)
    for (const d of devices) {
      const device = await adapter.waitDevice(d.address, 5000, 50)
      expect(await device.getName()).toBe(d.name)
      expect(await device.getAddress()).toBe(d.address)
      expect(await device.getRSSI()).toBe(-60)
    }
    expect((await adapter.devices()).sort()).toEqual(devices.map((d) => d.address).sort())
    await adapter.stopDiscovery()
    expect(await adapter.isDiscovering()).toBe(false)
  })

  it('connects, reads, and notifies values equal to the source on every profile', async () => {
    ecg = await adapter.getDevice(ECG)
    const oxi = await adapter.getDevice(OXI)
    const temp = await adapter.getDevice(TEMP)
    for (const d of [ecg, oxi, temp]) {
      await d.connect()
      expect(await d.isConnected()).toBe(true)
    }
    const ecgGatt = await ecg.gatt()
    expect((await ecgGatt.services()).sort()).toEqual(
      [gattUuids.heartRateService, vendorStreamUuids.service, gattUuids.batteryService].sort(),
    )
    const battery = await (
      await ecgGatt.getPrimaryService(gattUuids.batteryService)
    ).getCharacteristic(gattUuids.batteryLevel)
    expect(decodeBatteryLevel(await battery.readValue())).toBe(100)
    const stream = await ecgGatt.getPrimaryService(vendorStreamUuids.service)
    expect(
      decodeVendorStreamConfig(await (await stream.getCharacteristic(vendorStreamUuids.config)).readValue()),
    ).toEqual({
      ecgSampleRateHz: 250,
      accSampleRateHz: 50,
    })
    const hr = await (
      await ecgGatt.getPrimaryService(gattUuids.heartRateService)
    ).getCharacteristic(gattUuids.heartRateMeasurement)
    const ecgData = await stream.getCharacteristic(vendorStreamUuids.ecgData)
    const accData = await stream.getCharacteristic(vendorStreamUuids.accData)
    const plx = await (
      await (await oxi.gatt()).getPrimaryService(gattUuids.pulseOximeterService)
    ).getCharacteristic(gattUuids.plxContinuousMeasurement)
    const thermo = await (
      await (await temp.gatt()).getPrimaryService(gattUuids.healthThermometerService)
    ).getCharacteristic(gattUuids.temperatureMeasurement)
    expect(await thermo.getFlags()).toEqual(['indicate'])
    for (const c of [hr, ecgData, accData, plx, thermo, battery]) await c.startNotifications()

    const outputs = [0, 1, 2, 3].map(second)
    // 250 ECG samples per second at MTU 185 → 88 + 88 + 74: three notifications; 50 xyz frames → 150 values → 2.
    const waits = {
      hr: next(hr, 4),
      ecg: next(ecgData, 12),
      acc: next(accData, 8),
      plx: next(plx, 4),
      temp: next(thermo, 4),
      battery: next(battery, 4),
    }
    for (const o of outputs) sim.publish(o)
    const got = {
      hr: await waits.hr,
      ecg: await waits.ecg,
      acc: await waits.acc,
      plx: await waits.plx,
      temp: await waits.temp,
      battery: await waits.battery,
    }
    // What node-ble received is byte for byte what the simulator sent.
    const sent = (stream: string): Buffer[] =>
      air.filter((n) => n.stream === stream && n.fate === 'sent').map((n) => Buffer.from(n.payload))
    expect(got.hr).toEqual(sent('heart-rate'))
    expect(got.ecg).toEqual(sent('ecg'))
    expect(air.every((n) => n.fate === 'sent')).toBe(true)

    const vitals = outputs.flatMap((o) => o.vitals)
    const of = <K extends VitalReading['kind']>(kind: K): Extract<VitalReading, { kind: K }>[] =>
      vitals.filter((v): v is Extract<VitalReading, { kind: K }> => v.kind === kind)
    expect(got.hr.map((b) => decodeHeartRateMeasurement(b))).toEqual(
      of('heart-rate').map((v) => ({
        heartRateBpm: Math.round(v.bpm),
        sensorContact: 'detected',
        energyExpendedKj: null,
        rrIntervals1024: v.rrIntervalsMs.map(msToRr1024),
      })),
    )
    got.plx
      .map((b) => decodePlxContinuousMeasurement(b))
      .forEach((m, i) => {
        const v = of('spo2')[i]!
        expect(m.spo2Pct).toBeCloseTo(v.spo2Pct, 1)
        expect(m.pulseRateBpm).toBeCloseTo(v.pulseRateBpm, 1)
        expect((m.deviceAndSensorStatus! & plxDeviceStatus.SENSOR_UNCONNECTED_TO_USER) !== 0).toBe(!v.contact)
      })
    got.temp
      .map((b) => decodeTemperatureMeasurement(b))
      .forEach((m, i) => {
        const v = of('temperature')[i]!
        expect(m.celsius).toBe(v.celsius)
        expect(m.timestamp).toEqual({ year: 2025, month: 1, day: 2, hours: 3, minutes: 4, seconds: 5 + i })
      })
    expect(got.battery.map((b) => decodeBatteryLevel(b))).toEqual(of('battery').map((v) => v.percent))
    expect(decodeBatteryLevel(await battery.readValue())).toBe(87)

    // Reassembled waveform samples equal the source blocks, with consecutive sequence numbers.
    const ecgFrames = got.ecg.map((b) => decodeVendorStreamFrame(b))
    expect(ecgFrames.map((f) => f.seq)).toEqual([...Array(12).keys()])
    expect(ecgFrames.every((f) => f.kind === 'ecg')).toBe(true)
    const joined = (blocks: Int16Array[]): number[] => blocks.flatMap((s) => [...s])
    expect(joined(ecgFrames.map((f) => f.samples))).toEqual(
      joined(outputs.flatMap((o) => o.blocks.filter((b) => b.channel === 'ecg').map((b) => b.samples))),
    )
    const accFrames = got.acc.map((b) => decodeVendorStreamFrame(b))
    expect(accFrames.every((f) => f.kind === 'acc' && f.samples.length % 3 === 0)).toBe(true)
    expect(joined(accFrames.map((f) => f.samples))).toEqual(
      joined(outputs.flatMap((o) => o.blocks.filter((b) => b.channel === 'accel').map((b) => b.samples))),
    )
  })

  it('delivers a malformed payload that the decoder rejects with a typed error, then recovers', async () => {
    const gatt = await ecg.gatt()
    const hr = await (
      await gatt.getPrimaryService(gattUuids.heartRateService)
    ).getCharacteristic(gattUuids.heartRateMeasurement)
    const battery = await (
      await gatt.getPrimaryService(gattUuids.batteryService)
    ).getCharacteristic(gattUuids.batteryLevel)
    await hr.startNotifications()
    await battery.startNotifications()
    sim.device(ECG).injectMalformed('heart-rate')
    sim.device(ECG).injectMalformed('battery')
    const gotHr = next(hr, 2)
    const gotBattery = next(battery, 2)
    sim.publish(second(4))
    sim.publish(second(5))
    const [badHr, goodHr] = await gotHr
    expect(decodeError(() => decodeHeartRateMeasurement(badHr!)).code).toBe('TRUNCATED')
    expect(decodeHeartRateMeasurement(goodHr!).heartRateBpm).toBe(75)
    const [badBattery, goodBattery] = await gotBattery
    expect(decodeError(() => decodeBatteryLevel(badBattery!)).code).toBe('RESERVED_VALUE')
    expect(decodeBatteryLevel(goodBattery!)).toBe(85)
  })

  it('drops and duplicates notifications; the vendor sequence number reveals both', async () => {
    const gatt = await ecg.gatt()
    const ecgData = await (
      await gatt.getPrimaryService(vendorStreamUuids.service)
    ).getCharacteristic(vendorStreamUuids.ecgData)
    await ecgData.startNotifications()
    const seqOf = (b: Buffer): number => decodeVendorStreamFrame(b).seq
    const clean = next(ecgData, 3)
    sim.publish(second(6))
    const lastClean = seqOf((await clean)[2]!)

    sim.device(ECG).dropNext('ecg', 1)
    const afterDrop = next(ecgData, 2)
    sim.publish(second(7)) // three frames: the first swallowed
    const [a, b] = (await afterDrop).map(seqOf)
    expect(vendorSeqGap(lastClean, a!)).toBe(1) // the receiver sees exactly one frame missing
    expect(vendorSeqGap(a!, b!)).toBe(0)
    expect(
      air.filter((n) => n.stream === 'ecg' && n.fate === 'dropped').map((n) => seqOf(Buffer.from(n.payload))),
    ).toEqual([lastClean + 1])

    sim.device(ECG).duplicateNext('ecg', 1)
    const afterDuplicate = next(ecgData, 4)
    sim.publish(second(8)) // three frames: the first twice
    const seqs = (await afterDuplicate).map(seqOf)
    expect(seqs).toEqual([b! + 1, b! + 1, b! + 2, b! + 3])
  })

  it('goes out of range (disconnect seen, notifications stop) and reconnects', async () => {
    const disconnected = new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('no disconnect event within 5 s'))
      }, 5000)
      ecg.once('disconnect', (s: NodeBle.ConnectionState) => {
        clearTimeout(timer)
        resolve(s.connected)
      })
    })
    const gatt = await ecg.gatt()
    const hr = await (
      await gatt.getPrimaryService(gattUuids.heartRateService)
    ).getCharacteristic(gattUuids.heartRateMeasurement)
    sim.device(ECG).goOutOfRange()
    expect(await disconnected).toBe(false)
    expect(await ecg.isConnected()).toBe(false)
    expect(await hr.isNotifying()).toBe(false)
    const before = air.length
    sim.publish(second(9))
    expect(
      air
        .slice(before)
        .filter((n) => n.address === ECG)
        .every((n) => n.fate === 'unsubscribed'),
    ).toBe(true)
    await expect(ecg.connect()).rejects.toThrow(/abort/)

    sim.device(ECG).comeBackInRange()
    await ecg.connect()
    expect(await ecg.isConnected()).toBe(true)
    const again = await (
      await (await ecg.gatt()).getPrimaryService(gattUuids.heartRateService)
    ).getCharacteristic(gattUuids.heartRateMeasurement)
    await again.startNotifications()
    const got = next(again, 1)
    sim.publish(second(10))
    expect(decodeHeartRateMeasurement((await got)[0]!).heartRateBpm).toBe(80)
    await ecg.disconnect()
    expect(await ecg.isConnected()).toBe(false)
  })
})
