/**
 * Failures of the serial device simulator itself (not of the frames it sends on purpose):
 * - `SOCAT_NOT_FOUND`: the socat binary is not installed (Debian: `apt-get install socat`).
 * - `PTY_FAILED`: socat exited or did not create the pseudo-terminal in time.
 * - `INVALID_ARGUMENT`: a bad option (link path, baud rate, speed, fault).
 * - `SOURCE_FAILED`: the frame source threw or produced an item the protocol cannot carry.
 * - `CLOSED`: the device was used after close().
 */
export const serialSimErrorCodes = [
  'SOCAT_NOT_FOUND',
  'PTY_FAILED',
  'INVALID_ARGUMENT',
  'SOURCE_FAILED',
  'CLOSED',
] as const
export type SerialSimErrorCode = (typeof serialSimErrorCodes)[number]

export class SerialSimError extends Error {
  readonly code: SerialSimErrorCode
  readonly retriable: boolean
  constructor(
    code: SerialSimErrorCode,
    message: string,
    options: ErrorOptions & { retriable?: boolean } = {},
  ) {
    super(message, options)
    this.name = 'SerialSimError'
    this.code = code
    this.retriable = options.retriable ?? false
  }
}
