/**
 * Failures of the BLE simulator itself (not of what it sends):
 * - `DAEMON_FAILED`: the private dbus-daemon did not start or did not print its address in time.
 * - `NAME_TAKEN`: another connection already owns org.bluez on the bus.
 * - `INVALID_ARGUMENT`: a bad option (speed, device address, duplicate device).
 * - `UNKNOWN_DEVICE`: a fault was requested for an address the simulator does not have.
 * - `CLOSED`: the simulator was used after close().
 */
export const bleSimErrorCodes = [
  'DAEMON_FAILED',
  'NAME_TAKEN',
  'INVALID_ARGUMENT',
  'UNKNOWN_DEVICE',
  'CLOSED',
] as const
export type BleSimErrorCode = (typeof bleSimErrorCodes)[number]

export class BleSimError extends Error {
  readonly code: BleSimErrorCode
  readonly retriable: boolean
  constructor(code: BleSimErrorCode, message: string, options: ErrorOptions & { retriable?: boolean } = {}) {
    super(message, options)
    this.name = 'BleSimError'
    this.code = code
    this.retriable = options.retriable ?? false
  }
}
