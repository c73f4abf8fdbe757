// The BlueZ look-alike: simulated BLE wearables on a private D-Bus, for node-ble to find, connect and subscribe to.
export {
  startBleSimulator,
  bleDevicesOf,
  bleStreams,
  DEFAULT_ATT_MTU,
  DEFAULT_TICK_MS,
  DEFAULT_RSSI_DBM,
  ADAPTER_PATH,
  ADAPTER_ADDRESS,
} from './simulator.ts'
export type {
  BleSimulator,
  BleSimulatorOptions,
  BleDeviceSpec,
  BleDeviceHandle,
  BleStream,
  NotificationFate,
  SentNotification,
} from './simulator.ts'
export { startPrivateBus, DEFAULT_DAEMON_START_TIMEOUT_MS, DEFAULT_DAEMON_STOP_TIMEOUT_MS } from './daemon.ts'
export type { PrivateBus, PrivateBusOptions } from './daemon.ts'
export { BleSimError, bleSimErrorCodes } from './errors.ts'
export type { BleSimErrorCode } from './errors.ts'
