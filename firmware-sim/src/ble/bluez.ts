// BlueZ's D-Bus objects, as far as node-ble walks them (../shared/reference/ble-sim.md). dbus-next's decorators
// cannot run under Node's type stripping, so every interface declares its members with configureMembers; property
// values are plain instance fields that dbus-next reads by name.
import dbus from 'dbus-next'

const { Interface } = dbus.interface
type Variant = InstanceType<typeof dbus.Variant>

/** org.bluez.Error.* as BlueZ raises them. */
export function bluezError(
  name: 'Failed' | 'NotConnected' | 'InProgress' | 'NotSupported' | 'NotPermitted',
  text: string,
): Error {
  return new dbus.DBusError(`org.bluez.Error.${name}`, text)
}

function changed(iface: InstanceType<typeof Interface>, props: Record<string, unknown>): void {
  Interface.emitPropertiesChanged(iface, props, [])
}

export class AgentManager1 extends Interface {
  constructor() {
    super('org.bluez.AgentManager1')
  }
  RegisterAgent(): void {}
  UnregisterAgent(): void {}
  RequestDefaultAgent(): void {}
}
AgentManager1.configureMembers({
  methods: {
    RegisterAgent: { inSignature: 'os' },
    UnregisterAgent: { inSignature: 'o' },
    RequestDefaultAgent: { inSignature: 'o' },
  },
})

export interface AdapterHooks {
  onStartDiscovery(): void
}

export class Adapter1 extends Interface {
  Address: string
  AddressType = 'public'
  Name = 'vigil-sim'
  Alias = 'vigil-sim'
  Class = 0
  Powered = true
  Discoverable = false
  Pairable = false
  Discovering = false
  UUIDs: string[] = []
  readonly #hooks: AdapterHooks
  constructor(address: string, hooks: AdapterHooks) {
    super('org.bluez.Adapter1')
    this.Address = address
    this.#hooks = hooks
  }
  // The filter (node-ble asks for Transport 'le') changes nothing: every simulated device is LE.
  SetDiscoveryFilter(): void {}
  StartDiscovery(): void {
    if (!this.Powered) throw bluezError('NotPermitted', 'Not Powered')
    if (!this.Discovering) {
      this.Discovering = true
      changed(this, { Discovering: true })
    }
    this.#hooks.onStartDiscovery()
  }
  StopDiscovery(): void {
    if (!this.Discovering) throw bluezError('Failed', 'No discovery started')
    this.Discovering = false
    changed(this, { Discovering: false })
  }
  RemoveDevice(): void {
    throw bluezError('NotSupported', 'the simulator keeps its devices')
  }
}
Adapter1.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    AddressType: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's', access: 'read' },
    Class: { signature: 'u', access: 'read' },
    Powered: { signature: 'b', access: 'read' },
    Discoverable: { signature: 'b', access: 'read' },
    Pairable: { signature: 'b', access: 'read' },
    Discovering: { signature: 'b', access: 'read' },
    UUIDs: { signature: 'as', access: 'read' },
  },
  methods: {
    SetDiscoveryFilter: { inSignature: 'a{sv}' },
    StartDiscovery: {},
    StopDiscovery: {},
    RemoveDevice: { inSignature: 'o' },
  },
})

export interface DeviceHooks {
  /** Throw a DBusError to refuse (out of range); called before Connected turns true. */
  onConnect(): void
  onDisconnect(): void
}

export class Device1 extends Interface {
  Address: string
  AddressType = 'public'
  Name: string
  Alias: string
  Adapter: string
  Paired = false
  Trusted = false
  Blocked = false
  LegacyPairing = false
  Connected = false
  ServicesResolved = false
  RSSI: number
  UUIDs: string[]
  readonly #hooks: DeviceHooks
  constructor(o: {
    address: string
    name: string
    adapterPath: string
    rssi: number
    uuids: string[]
    hooks: DeviceHooks
  }) {
    super('org.bluez.Device1')
    this.Address = o.address
    this.Name = o.name
    this.Alias = o.name
    this.Adapter = o.adapterPath
    this.RSSI = o.rssi
    this.UUIDs = o.uuids
    this.#hooks = o.hooks
  }
  Connect(): void {
    if (this.Connected) return
    this.#hooks.onConnect()
    this.Connected = true
    changed(this, { Connected: true })
    // BlueZ resolves services after the link is up, as a separate change that node-ble's gatt() waits for.
    setImmediate(() => {
      if (this.Connected && !this.ServicesResolved) {
        this.ServicesResolved = true
        changed(this, { ServicesResolved: true })
      }
    })
  }
  Disconnect(): void {
    this.dropLink()
  }
  /** The link is gone (the central disconnected or the device left range). */
  dropLink(): void {
    if (!this.Connected && !this.ServicesResolved) return
    this.#hooks.onDisconnect()
    this.Connected = false
    this.ServicesResolved = false
    changed(this, { ServicesResolved: false, Connected: false })
  }
  Pair(): void {
    throw bluezError('NotSupported', 'the simulator needs no pairing')
  }
  CancelPair(): void {}
  setRssi(rssi: number): void {
    this.RSSI = rssi
    changed(this, { RSSI: rssi })
  }
}
Device1.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    AddressType: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's', access: 'read' },
    Adapter: { signature: 'o', access: 'read' },
    Paired: { signature: 'b', access: 'read' },
    Trusted: { signature: 'b', access: 'read' },
    Blocked: { signature: 'b', access: 'read' },
    LegacyPairing: { signature: 'b', access: 'read' },
    Connected: { signature: 'b', access: 'read' },
    ServicesResolved: { signature: 'b', access: 'read' },
    RSSI: { signature: 'n', access: 'read' },
    UUIDs: { signature: 'as', access: 'read' },
  },
  methods: { Connect: {}, Disconnect: {}, Pair: {}, CancelPair: {} },
})

export class GattService1 extends Interface {
  UUID: string
  Primary = true
  Device: string
  constructor(uuid: string, devicePath: string) {
    super('org.bluez.GattService1')
    this.UUID = uuid
    this.Device = devicePath
  }
}
GattService1.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Primary: { signature: 'b', access: 'read' },
    Device: { signature: 'o', access: 'read' },
  },
})

export type CharacteristicFlag = 'read' | 'write' | 'notify' | 'indicate'

export class GattCharacteristic1 extends Interface {
  UUID: string
  Service: string
  Value: Buffer
  Notifying = false
  Flags: CharacteristicFlag[]
  readonly #isConnected: () => boolean
  constructor(o: {
    uuid: string
    servicePath: string
    flags: CharacteristicFlag[]
    value: Uint8Array
    isConnected: () => boolean
  }) {
    super('org.bluez.GattCharacteristic1')
    this.UUID = o.uuid
    this.Service = o.servicePath
    this.Flags = o.flags
    this.Value = Buffer.from(o.value)
    this.#isConnected = o.isConnected
  }
  ReadValue(options: Record<string, Variant>): Buffer {
    if (!this.Flags.includes('read')) throw bluezError('NotPermitted', 'Read not permitted')
    if (!this.#isConnected()) throw bluezError('Failed', 'Not connected')
    const offset = options.offset?.value
    const start = typeof offset === 'number' ? offset : 0
    if (start > this.Value.length) throw bluezError('Failed', 'Invalid offset')
    return this.Value.subarray(start)
  }
  WriteValue(): void {
    throw bluezError('NotPermitted', 'Write not permitted')
  }
  StartNotify(): void {
    if (!this.Flags.includes('notify') && !this.Flags.includes('indicate')) {
      throw bluezError('NotSupported', 'Operation is not supported')
    }
    if (!this.#isConnected()) throw bluezError('Failed', 'Not connected')
    if (this.Notifying) return
    this.Notifying = true
    changed(this, { Notifying: true })
  }
  StopNotify(): void {
    if (!this.Notifying) return
    this.Notifying = false
    changed(this, { Notifying: false })
  }
  /** Sets Value; when a client is subscribed, the change is the notification (or indication). */
  notify(value: Uint8Array): boolean {
    this.Value = Buffer.from(value)
    if (!this.Notifying || !this.#isConnected()) return false
    changed(this, { Value: this.Value })
    return true
  }
  /** Updates a readable value without notifying. */
  setValue(value: Uint8Array): void {
    this.Value = Buffer.from(value)
  }
  /** The link dropped: BlueZ ends every notification session. */
  linkLost(): void {
    if (!this.Notifying) return
    this.Notifying = false
    changed(this, { Notifying: false })
  }
}
GattCharacteristic1.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Service: { signature: 'o', access: 'read' },
    Value: { signature: 'ay', access: 'read' },
    Notifying: { signature: 'b', access: 'read' },
    Flags: { signature: 'as', access: 'read' },
  },
  methods: {
    ReadValue: { inSignature: 'a{sv}', outSignature: 'ay' },
    WriteValue: { inSignature: 'aya{sv}' },
    StartNotify: {},
    StopNotify: {},
  },
})
