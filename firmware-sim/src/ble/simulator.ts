import dbus from 'dbus-next'
import {
  encodeBatteryLevel,
  encodeHeartRateMeasurement,
  encodePlxContinuousMeasurement,
  encodeTemperatureMeasurement,
  encodeVendorStreamConfig,
  encodeVendorStreamFrame,
  gattUuids,
  msToRr1024,
  nextVendorSeq,
  plxDeviceStatus,
  temperatureTypes,
  vendorSamplesPerNotification,
  vendorStreamUuids,
} from '@vigil/device/protocol'
import type { BleDateTime } from '@vigil/device/protocol'
import type {
  PatientSimulation,
  PatientSpec,
  SensorProfile,
  SimOutput,
  VitalReading,
} from '../signals/index.ts'
import { Adapter1, AgentManager1, Device1, GattCharacteristic1, GattService1, bluezError } from './bluez.ts'
import type { CharacteristicFlag } from './bluez.ts'
import { startPrivateBus } from './daemon.ts'
import type { PrivateBus } from './daemon.ts'
import { BleSimError } from './errors.ts'

/** ATT MTU the simulated links behave as if negotiated (BlueZ ↔ a modern phone-class peripheral). */
export const DEFAULT_ATT_MTU = 185
/** Real-time driver tick. */
export const DEFAULT_TICK_MS = 20
export const DEFAULT_RSSI_DBM = -60
export const ADAPTER_PATH = '/org/bluez/hci0'
export const ADAPTER_ADDRESS = '00:1A:7D:DA:71:13'

/** Every characteristic that carries data; the unit of the notification faults. */
export const bleStreams = ['heart-rate', 'plx', 'temperature', 'battery', 'ecg', 'acc'] as const
export type BleStream = (typeof bleStreams)[number]

/** One simulated peripheral: a sensor of a patient whose transport is BLE. */
export interface BleDeviceSpec {
  readonly patientId: string
  readonly sensorId: string
  /** "AA:BB:CC:DD:EE:FF". */
  readonly address: string
  readonly name: string
  readonly profile: SensorProfile
  /** Waveform rates, announced by the vendor stream config characteristic (Hz; absent → not streamed). */
  readonly ratesHz?: { readonly ecg?: number; readonly accel?: number }
  readonly rssiDbm?: number
}

/** The BLE devices of these patients (sensors with transport 'ble'). */
export function bleDevicesOf(patients: readonly PatientSpec[]): BleDeviceSpec[] {
  return patients.flatMap((p) =>
    p.sensors
      .filter((s) => s.transport === 'ble')
      .map((s) => ({
        patientId: p.id,
        sensorId: s.id,
        address: s.address,
        name: s.name,
        profile: s.profile,
        ratesHz: {
          ...(s.ratesHz.ecg === undefined ? {} : { ecg: s.ratesHz.ecg }),
          ...(s.ratesHz.accel === undefined ? {} : { accel: s.ratesHz.accel }),
        },
      })),
  )
}

/** What happened to one notification the device produced. */
export type NotificationFate =
  /** Sent as a PropertiesChanged{Value}. */
  | 'sent'
  /** Produced while nobody was subscribed (or the link was down): lost, as on a real device. */
  | 'unsubscribed'
  /** Fault: swallowed. */
  | 'dropped'
  /** Fault: sent twice. */
  | 'duplicated'
  /** Fault: replaced by `payload`, a malformed one, which was sent. */
  | 'malformed'

export interface SentNotification {
  readonly address: string
  readonly patientId: string
  readonly sensorId: string
  readonly stream: BleStream
  /** Simulated time of the reading (first sample for waveforms), ms since the scenario start. */
  readonly timeMs: number
  /** The bytes sent (for 'malformed', the malformed bytes). */
  readonly payload: Uint8Array
  readonly fate: NotificationFate
}

export interface BleSimulatorOptions {
  readonly devices: readonly BleDeviceSpec[]
  /** Export on this bus instead of starting a private dbus-daemon (then close() leaves the bus running). */
  readonly busAddress?: string
  readonly dbusDaemonPath?: string
  /** Default DEFAULT_ATT_MTU; decides how many samples a vendor stream notification carries. */
  readonly attMtu?: number
  /** Wall-clock epoch of scenario time 0; when set, temperature measurements carry a (UTC) time stamp. */
  readonly startEpochMs?: number
  /** Called for every notification produced, whatever its fate (ground truth of the air interface). */
  readonly onNotification?: (n: SentNotification) => void
  /**
   * Drive these simulations in real time × `speed` (> 0, finite), publishing their output every `tickMs`.
   * Without it, nothing advances by itself: call publish() with each SimOutput (the CLI or a test does).
   */
  readonly drive?: {
    readonly simulations: readonly PatientSimulation[]
    readonly speed: number
    readonly tickMs?: number
    /** Stop at this simulated time, ms (default: run until close()). */
    readonly untilMs?: number
  }
}

/** Faults and state of one simulated device. */
export interface BleDeviceHandle {
  readonly spec: BleDeviceSpec
  readonly connected: boolean
  readonly inRange: boolean
  /** The link drops (Connected false, notifications stop) and Connect fails until comeBackInRange(). */
  goOutOfRange(): void
  /** Connect works again; the central reconnects (BlueZ does not, for an unpaired device). */
  comeBackInRange(): void
  /** Replace the next `count` notifications of `stream` by malformed payloads that decoders must reject. */
  injectMalformed(stream: BleStream, count?: number): void
  /** Send each of the next `count` notifications of `stream` twice. */
  duplicateNext(stream: BleStream, count?: number): void
  /** Swallow the next `count` notifications of `stream`. */
  dropNext(stream: BleStream, count?: number): void
  /** Sets the RSSI the device reports, dBm. */
  setRssi(dbm: number): void
}

export interface BleSimulator extends AsyncDisposable {
  /** `unix:path=…`; clients use it as DBUS_SYSTEM_BUS_ADDRESS. */
  readonly busAddress: string
  /** The private dbus-daemon's pid, or null when running on a bus given by `busAddress`. */
  readonly daemonPid: number | null
  readonly devices: readonly BleDeviceHandle[]
  /** Throws BleSimError UNKNOWN_DEVICE. */
  device(address: string): BleDeviceHandle
  /** Route one SimOutput's vitals and blocks to the devices (by patientId, sensorId) as notifications. */
  publish(output: SimOutput): void
  /** Stops the driver, releases org.bluez and stops the private daemon (if this simulator started it). */
  close(): Promise<void>
}

const ADDRESS = /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 1) {
    throw new BleSimError('INVALID_ARGUMENT', `fault count must be a positive integer, got ${count}`)
  }
}

function utcDateTime(epochMs: number): BleDateTime {
  const d = new Date(epochMs)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hours: d.getUTCHours(),
    minutes: d.getUTCMinutes(),
    seconds: d.getUTCSeconds(),
  }
}

/** A payload the decoder must reject, built from the real one so it looks plausible. */
function malformed(stream: BleStream, good: Uint8Array): Uint8Array {
  switch (stream) {
    case 'heart-rate':
      return Uint8Array.of((good[0] ?? 0) | 0x01, good[1] ?? 0) // claims a uint16 HR, carries one byte
    case 'plx':
      return good.subarray(0, 3) // SpO2 present, pulse rate cut off
    case 'temperature': {
      const out = Uint8Array.from(good)
      out[0] = (out[0] ?? 0) | 0x02 // claims a time stamp that is not there
      return out.subarray(0, 5)
    }
    case 'battery':
      return Uint8Array.of(200) // reserved (> 100 %)
    case 'ecg':
    case 'acc':
      return good.subarray(0, 7) // header and half a sample
    default:
      return stream satisfies never
  }
}

interface Stream {
  readonly char: GattCharacteristic1
  seq: number
  malformed: number
  duplicate: number
  drop: number
}

class SimDevice implements BleDeviceHandle {
  readonly spec: BleDeviceSpec
  readonly path: string
  readonly device: Device1
  readonly services: { path: string; iface: GattService1 }[] = []
  readonly chars: { path: string; iface: GattCharacteristic1 }[] = []
  readonly streams = new Map<BleStream, Stream>()
  inRange = true
  exported = false
  readonly #sim: Simulator

  constructor(spec: BleDeviceSpec, sim: Simulator) {
    this.spec = spec
    this.#sim = sim
    this.path = `${ADAPTER_PATH}/dev_${spec.address.replace(/:/g, '_')}`
    const uuids: string[] = []
    const profile = spec.profile
    const hasEcg = profile === 'ecg-patch' && (spec.ratesHz?.ecg ?? 0) > 0
    const hasAcc = (profile === 'ecg-patch' || profile === 'accelerometer') && (spec.ratesHz?.accel ?? 0) > 0
    let handle = 0x000a
    const isConnected = (): boolean => this.device.Connected
    const service = (uuid: string): string => {
      const path = `${this.path}/service${handle.toString(16).padStart(4, '0')}`
      this.services.push({ path, iface: new GattService1(uuid, this.path) })
      uuids.push(uuid)
      handle += 1
      return path
    }
    const char = (
      servicePath: string,
      uuid: string,
      flags: CharacteristicFlag[],
      value: Uint8Array,
      stream?: BleStream,
    ): void => {
      const path = `${servicePath}/char${handle.toString(16).padStart(4, '0')}`
      const iface = new GattCharacteristic1({ uuid, servicePath, flags, value, isConnected })
      this.chars.push({ path, iface })
      if (stream !== undefined)
        this.streams.set(stream, { char: iface, seq: 0, malformed: 0, duplicate: 0, drop: 0 })
      handle += 3 // declaration, value, client characteristic configuration descriptor
    }
    if (profile === 'ecg-patch') {
      const s = service(gattUuids.heartRateService)
      char(s, gattUuids.heartRateMeasurement, ['notify'], new Uint8Array(0), 'heart-rate')
      char(s, gattUuids.bodySensorLocation, ['read'], Uint8Array.of(1)) // chest
    }
    if (profile === 'pulse-oximeter') {
      const s = service(gattUuids.pulseOximeterService)
      char(s, gattUuids.plxContinuousMeasurement, ['notify'], new Uint8Array(0), 'plx')
      char(s, gattUuids.plxFeatures, ['read'], Uint8Array.of(0x08, 0x00)) // Device and Sensor Status supported
    }
    if (profile === 'thermometer') {
      const s = service(gattUuids.healthThermometerService)
      char(s, gattUuids.temperatureMeasurement, ['indicate'], new Uint8Array(0), 'temperature')
    }
    if (hasEcg || hasAcc) {
      const s = service(vendorStreamUuids.service)
      if (hasEcg) char(s, vendorStreamUuids.ecgData, ['notify'], new Uint8Array(0), 'ecg')
      if (hasAcc) char(s, vendorStreamUuids.accData, ['notify'], new Uint8Array(0), 'acc')
      const config = encodeVendorStreamConfig({
        ecgSampleRateHz: hasEcg ? spec.ratesHz!.ecg! : 1,
        accSampleRateHz: hasAcc ? spec.ratesHz!.accel! : 1,
      })
      char(s, vendorStreamUuids.config, ['read'], config)
    }
    const battery = service(gattUuids.batteryService)
    char(battery, gattUuids.batteryLevel, ['read', 'notify'], Uint8Array.of(100), 'battery')

    this.device = new Device1({
      address: spec.address,
      name: spec.name,
      adapterPath: ADAPTER_PATH,
      rssi: spec.rssiDbm ?? DEFAULT_RSSI_DBM,
      uuids,
      hooks: {
        onConnect: () => {
          if (!this.inRange) throw bluezError('Failed', 'le-connection-abort-by-local')
        },
        onDisconnect: () => {
          for (const c of this.chars) c.iface.linkLost()
        },
      },
    })
  }

  get connected(): boolean {
    return this.device.Connected
  }

  export(bus: dbus.MessageBus): void {
    if (this.exported) return
    this.exported = true
    bus.export(this.path, this.device)
    for (const s of this.services) bus.export(s.path, s.iface)
    for (const c of this.chars) bus.export(c.path, c.iface)
  }

  goOutOfRange(): void {
    this.inRange = false
    this.device.dropLink()
  }

  comeBackInRange(): void {
    this.inRange = true
    this.#sim.discoverable(this)
  }

  #stream(stream: BleStream): Stream {
    const s = this.streams.get(stream)
    if (s === undefined) {
      throw new BleSimError(
        'INVALID_ARGUMENT',
        `${this.spec.address} (${this.spec.profile}) has no ${stream} stream; it has ${[...this.streams.keys()].join(', ')}`,
      )
    }
    return s
  }

  injectMalformed(stream: BleStream, count = 1): void {
    checkCount(count)
    this.#stream(stream).malformed += count
  }

  duplicateNext(stream: BleStream, count = 1): void {
    checkCount(count)
    this.#stream(stream).duplicate += count
  }

  dropNext(stream: BleStream, count = 1): void {
    checkCount(count)
    this.#stream(stream).drop += count
  }

  setRssi(dbm: number): void {
    if (!Number.isInteger(dbm) || dbm < -127 || dbm > 20) {
      throw new BleSimError('INVALID_ARGUMENT', `RSSI must be an integer dBm in [-127, 20], got ${dbm}`)
    }
    this.device.setRssi(dbm)
  }

  /** Produces one notification on `stream`, applying pending faults. */
  emit(stream: BleStream, timeMs: number, payload: Uint8Array): void {
    const s = this.streams.get(stream)
    if (s === undefined) return
    let fate: NotificationFate
    let bytes = payload
    if (!s.char.Notifying || !this.device.Connected) {
      s.char.setValue(payload)
      fate = 'unsubscribed'
    } else if (s.drop > 0) {
      s.drop -= 1
      s.char.setValue(payload)
      fate = 'dropped'
    } else if (s.malformed > 0) {
      s.malformed -= 1
      bytes = malformed(stream, payload)
      s.char.notify(bytes)
      // A later read returns the last good value, as a device that corrupted only the air packet would.
      s.char.setValue(payload)
      fate = 'malformed'
    } else if (s.duplicate > 0) {
      s.duplicate -= 1
      s.char.notify(payload)
      s.char.notify(payload)
      fate = 'duplicated'
    } else {
      s.char.notify(payload)
      fate = 'sent'
    }
    this.#sim.report({
      address: this.spec.address,
      patientId: this.spec.patientId,
      sensorId: this.spec.sensorId,
      stream,
      timeMs,
      payload: bytes,
      fate,
    })
  }

  nextSeq(stream: BleStream): number {
    const s = this.streams.get(stream)
    if (s === undefined) return 0
    const seq = s.seq
    s.seq = nextVendorSeq(seq)
    return seq
  }
}

class Simulator implements BleSimulator {
  readonly busAddress: string
  readonly daemonPid: number | null
  readonly devices: SimDevice[]
  readonly #bus: dbus.MessageBus
  readonly #daemon: PrivateBus | null
  readonly #adapter: Adapter1
  readonly #byAddress = new Map<string, SimDevice>()
  readonly #bySensor = new Map<string, SimDevice>()
  readonly #options: BleSimulatorOptions
  readonly #attMtu: number
  #timer: NodeJS.Timeout | null = null
  #closing: Promise<void> | null = null

  constructor(
    options: BleSimulatorOptions,
    bus: dbus.MessageBus,
    busAddress: string,
    daemon: PrivateBus | null,
  ) {
    this.#options = options
    this.#attMtu = options.attMtu ?? DEFAULT_ATT_MTU
    this.#bus = bus
    this.busAddress = busAddress
    this.#daemon = daemon
    this.daemonPid = daemon?.pid ?? null
    this.devices = options.devices.map((spec) => new SimDevice(spec, this))
    for (const d of this.devices) {
      this.#byAddress.set(d.spec.address, d)
      this.#bySensor.set(`${d.spec.patientId}\u0000${d.spec.sensorId}`, d)
    }
    this.#adapter = new Adapter1(ADAPTER_ADDRESS, {
      onStartDiscovery: () => {
        for (const d of this.devices) this.discoverable(d)
      },
    })
    bus.export('/org/bluez', new AgentManager1())
    bus.export(ADAPTER_PATH, this.#adapter)
  }

  discoverable(d: SimDevice): void {
    if (d.inRange && this.#adapter.Discovering && this.#closing === null) d.export(this.#bus)
  }

  report(n: SentNotification): void {
    this.#options.onNotification?.(n)
  }

  device(address: string): BleDeviceHandle {
    const d = this.#byAddress.get(address.toUpperCase())
    if (d === undefined) {
      throw new BleSimError(
        'UNKNOWN_DEVICE',
        `no simulated device ${address}; known: ${[...this.#byAddress.keys()].join(', ')}`,
      )
    }
    return d
  }

  publish(output: SimOutput): void {
    if (this.#closing !== null) throw new BleSimError('CLOSED', 'publish() after close()')
    for (const v of output.vitals) this.#vital(v)
    for (const b of output.blocks) {
      const d = this.#bySensor.get(`${b.patientId}\u0000${b.sensorId}`)
      if (d === undefined) continue
      const stream: BleStream | null = b.channel === 'ecg' ? 'ecg' : b.channel === 'accel' ? 'acc' : null
      if (stream === null || !d.streams.has(stream)) continue // PPG has no BLE stream
      const per = vendorSamplesPerNotification(stream, this.#attMtu)
      const frameMs = 1000 / b.sampleRateHz
      for (let i = 0; i < b.samples.length; i += per) {
        const samples = b.samples.subarray(i, Math.min(b.samples.length, i + per))
        const payload = encodeVendorStreamFrame({ kind: stream, seq: d.nextSeq(stream), samples })
        d.emit(stream, b.firstSampleTimeMs + (i / b.channels) * frameMs, payload)
      }
    }
  }

  #vital(v: VitalReading): void {
    const d = this.#bySensor.get(`${v.patientId}\u0000${v.sensorId}`)
    if (d === undefined) return
    switch (v.kind) {
      case 'heart-rate': {
        // As many RR intervals as the MTU holds (newest kept), each clamped to the uint16 field.
        const maxRr = Math.floor((this.#attMtu - 3 - 2) / 2)
        const rr = v.rrIntervalsMs.slice(-maxRr).map((ms) => Math.min(0xffff, Math.max(0, msToRr1024(ms))))
        const payload = encodeHeartRateMeasurement({
          heartRateBpm: Math.min(0xffff, Math.max(0, Math.round(v.bpm))),
          sensorContact: v.contact ? 'detected' : 'not-detected',
          rrIntervals1024: rr,
        })
        d.emit('heart-rate', v.timeMs, payload)
        return
      }
      case 'spo2': {
        const status =
          (v.contact ? 0 : plxDeviceStatus.SENSOR_UNCONNECTED_TO_USER) |
          (v.nonPulsatile ? plxDeviceStatus.NONPULSATILE_SIGNAL : 0)
        const payload = encodePlxContinuousMeasurement({
          spo2Pct: v.spo2Pct,
          pulseRateBpm: v.pulseRateBpm,
          deviceAndSensorStatus: status,
          fractionDigits: 1,
        })
        d.emit('plx', v.timeMs, payload)
        return
      }
      case 'temperature': {
        const start = this.#options.startEpochMs
        const payload = encodeTemperatureMeasurement({
          temperature: v.celsius,
          unit: 'celsius',
          fractionDigits: 2,
          temperatureType: temperatureTypes.BODY,
          timestamp: start === undefined ? null : utcDateTime(start + v.timeMs),
        })
        d.emit('temperature', v.timeMs, payload)
        return
      }
      case 'battery':
        d.emit('battery', v.timeMs, encodeBatteryLevel(Math.min(100, Math.max(0, Math.round(v.percent)))))
        return
      default:
        v satisfies never
    }
  }

  startDriver(): void {
    const drive = this.#options.drive
    if (drive === undefined) return
    const tickMs = drive.tickMs ?? DEFAULT_TICK_MS
    const startedAt = performance.now()
    const until = drive.untilMs ?? Number.POSITIVE_INFINITY
    this.#timer = setInterval(() => {
      const t = Math.min(until, Math.floor((performance.now() - startedAt) * drive.speed))
      for (const sim of drive.simulations) {
        if (t > sim.timeMs) this.publish(sim.advanceTo(t))
      }
      if (t >= until && this.#timer !== null) {
        clearInterval(this.#timer)
        this.#timer = null
      }
    }, tickMs)
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer !== null) clearInterval(this.#timer)
      this.#timer = null
      try {
        await this.#bus.releaseName('org.bluez')
      } catch {
        // The bus may already be gone (daemon killed); closing must still finish.
      }
      this.#bus.disconnect()
      await this.#daemon?.close()
    })()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/**
 * Starts the BlueZ look-alike: a private dbus-daemon (unless `busAddress` is given), org.bluez owned on it,
 * /org/bluez (AgentManager1) and /org/bluez/hci0 (Adapter1) exported; each device appears under hci0 when a
 * client starts discovery. Throws BleSimError INVALID_ARGUMENT (bad options), DAEMON_FAILED, NAME_TAKEN.
 */
export async function startBleSimulator(options: BleSimulatorOptions): Promise<BleSimulator> {
  const seen = new Set<string>()
  for (const d of options.devices) {
    if (!ADDRESS.test(d.address)) {
      throw new BleSimError(
        'INVALID_ARGUMENT',
        `device address must look like AA:BB:CC:DD:EE:FF (upper case), got "${d.address}"`,
      )
    }
    if (seen.has(d.address))
      throw new BleSimError('INVALID_ARGUMENT', `device address ${d.address} is used twice`)
    seen.add(d.address)
  }
  const mtu = options.attMtu ?? DEFAULT_ATT_MTU
  if (!Number.isInteger(mtu) || mtu < 23 || mtu > 517) {
    throw new BleSimError('INVALID_ARGUMENT', `attMtu must be an integer in [23, 517], got ${mtu}`)
  }
  const drive = options.drive
  if (drive !== undefined && !(Number.isFinite(drive.speed) && drive.speed > 0)) {
    throw new BleSimError('INVALID_ARGUMENT', `drive.speed must be a finite number > 0, got ${drive.speed}`)
  }
  const daemon =
    options.busAddress === undefined
      ? await startPrivateBus(
          options.dbusDaemonPath === undefined ? {} : { dbusDaemonPath: options.dbusDaemonPath },
        )
      : null
  const busAddress = options.busAddress ?? daemon!.address
  const bus = dbus.sessionBus({ busAddress })
  try {
    bus.on('error', () => {
      // A dropped connection surfaces on the next call; an unhandled 'error' event would crash the process.
    })
    const reply = await bus.requestName('org.bluez', dbus.NameFlag.DO_NOT_QUEUE)
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) {
      throw new BleSimError('NAME_TAKEN', `org.bluez is already owned on ${busAddress} (reply ${reply})`)
    }
    const sim = new Simulator(options, bus, busAddress, daemon)
    sim.startDriver()
    return sim
  } catch (e) {
    bus.disconnect()
    await daemon?.close()
    throw e
  }
}
