/**
 * Every failure of a BLE payload codec. Decoders never throw anything else: a malformed payload from
 * the radio is data, not a bug, and the caller switches on `code` to count or report it.
 *
 * - `NOT_BYTES`: the payload is not a Uint8Array (a Buffer is one).
 * - `TRUNCATED`: shorter than its flags (or fixed layout) require.
 * - `TRAILING_BYTES`: longer than its flags declare (or an RR-interval list of odd length).
 * - `TOO_LONG`: longer than the largest ATT value a notification can carry.
 * - `RESERVED_VALUE`: a field holds a value the specification reserves (battery 101–255, a reserved
 *   IEEE-11073 special value, a reserved temperature type, an RFU stream kind).
 * - `OUT_OF_RANGE`: a field is outside its defined range (a month of 13, an hour of 24).
 * - `UNSUPPORTED_VERSION`: a vendor stream frame of a version this code does not know.
 * - `INVALID_ARGUMENT`: an encoder was asked to encode something the format cannot carry.
 */
export const bleCodecErrorCodes = [
  'NOT_BYTES',
  'TRUNCATED',
  'TRAILING_BYTES',
  'TOO_LONG',
  'RESERVED_VALUE',
  'OUT_OF_RANGE',
  'UNSUPPORTED_VERSION',
  'INVALID_ARGUMENT',
] as const
export type BleCodecErrorCode = (typeof bleCodecErrorCodes)[number]

/** Thrown by every encoder and decoder in this module; `characteristic` names the format (e.g. `0x2A37`). */
export class BleCodecError extends Error {
  readonly code: BleCodecErrorCode
  readonly characteristic: string
  /** Always false: the same bytes decode the same way next time. */
  readonly retriable = false
  constructor(code: BleCodecErrorCode, characteristic: string, message: string, options: ErrorOptions = {}) {
    super(`${characteristic}: ${message}`, options)
    this.name = 'BleCodecError'
    this.code = code
    this.characteristic = characteristic
  }
}

/** The largest ATT attribute value (Core spec Vol 3 Part F 3.2.9); no notification can be longer. */
export const MAX_ATT_VALUE_BYTES = 512

/** Checks the decoder input is bytes of at most MAX_ATT_VALUE_BYTES; returns a DataView over it. */
export function viewOf(payload: unknown, characteristic: string): DataView {
  if (!(payload instanceof Uint8Array)) {
    const kind = payload === null ? 'null' : typeof payload
    throw new BleCodecError('NOT_BYTES', characteristic, `payload must be a Uint8Array, got ${kind}`)
  }
  if (payload.byteLength > MAX_ATT_VALUE_BYTES) {
    throw new BleCodecError(
      'TOO_LONG',
      characteristic,
      `payload is ${payload.byteLength} bytes, more than an ATT value can hold (${MAX_ATT_VALUE_BYTES})`,
    )
  }
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
}

export function need(
  view: DataView,
  offset: number,
  bytes: number,
  what: string,
  characteristic: string,
): void {
  if (offset + bytes > view.byteLength) {
    throw new BleCodecError(
      'TRUNCATED',
      characteristic,
      `${what} needs bytes [${offset}, ${offset + bytes}) but the payload is ${view.byteLength} bytes`,
    )
  }
}

export function noTrailing(view: DataView, offset: number, characteristic: string): void {
  if (offset !== view.byteLength) {
    throw new BleCodecError(
      'TRAILING_BYTES',
      characteristic,
      `${view.byteLength - offset} byte(s) after the last field the flags declare (payload ${view.byteLength} bytes, fields end at ${offset})`,
    )
  }
}

export function checkInt(
  value: number,
  min: number,
  max: number,
  what: string,
  characteristic: string,
): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BleCodecError(
      'INVALID_ARGUMENT',
      characteristic,
      `${what} must be an integer in [${min}, ${max}], got ${value}`,
    )
  }
}
