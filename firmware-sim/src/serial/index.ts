// A simulated serial wearable on a pseudo-terminal, speaking the serial frame protocol v1 from @vigil/device/protocol.
export {
  MAX_FLIP_BITS,
  MAX_GARBAGE_BYTES,
  SerialDeviceCore,
  serialFaultKinds,
  type InjectedFault,
  type RandomFaultOptions,
  type SentFrame,
  type SerialDeviceCoreOptions,
  type SerialDeviceStats,
  type SerialDeviceStep,
  type SerialFault,
  type SerialFaultKind,
} from './device.ts'
export { SerialSimError, serialSimErrorCodes, type SerialSimErrorCode } from './errors.ts'
export {
  DEFAULT_PTY_START_TIMEOUT_MS,
  DEFAULT_PTY_STOP_TIMEOUT_MS,
  openPty,
  type Pty,
  type PtyOptions,
} from './pty.ts'
export {
  serialSourceFromSimulations,
  type SerialPayload,
  type SerialSource,
  type SerialSourceItem,
  type SimulationSourceOptions,
} from './source.ts'
export {
  DEFAULT_BAUD_RATE,
  DEFAULT_FAST_STEP_MS,
  DEFAULT_TICK_MS,
  startSerialDevice,
  type SerialDeviceHandle,
  type SerialDeviceOptions,
  type SerialDeviceStatsSnapshot,
} from './start.ts'
