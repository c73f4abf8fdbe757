/**
 * Every failure of the serial frame codec. The streaming decoder never throws for bad input: a
 * corrupt frame on the line is data, not a bug, so it is returned as a SerialProtocolError value with
 * a code, counted, and decoding continues at the next delimiter. Encoders and constructors throw it.
 *
 * Line errors (one per rejected frame, in the order the decoder checks them; see
 * docs/reference/serial-protocol.md, "Receiving"):
 * - `OVERSIZE`: more encoded bytes between two delimiters than the largest frame can take; the rest
 *   up to the next 0x00 is discarded.
 * - `BAD_COBS`: a COBS code byte points past the end of the frame (and the frame is not merely short).
 * - `TRUNCATED`: the frame is shorter than the 20-byte minimum, or shorter than its header declares.
 * - `CRC_MISMATCH`: the CRC-32C in the last four bytes does not match the bytes before it.
 * - `UNKNOWN_VERSION`: an intact frame of a protocol version this code does not speak.
 * - `BAD_PAYLOAD_LENGTH`: an intact frame whose payload length disagrees with its header or its type.
 * - `UNKNOWN_TYPE`: an intact frame of a frame type this version does not define.
 * - `BAD_FIELD`: an intact frame with a field outside its defined values (zero sample rate, battery 101–254, …).
 * - `STREAM_ENDED`: the input ended inside a frame (reported by `end()`).
 *
 * Caller errors (thrown):
 * - `INVALID_FRAME`: an encoder was asked to encode something the format cannot carry.
 * - `INVALID_ARGUMENT`: a bad option (e.g. a decoder size limit outside the protocol's range).
 */
export const serialLineErrorCodes = [
  'OVERSIZE',
  'BAD_COBS',
  'TRUNCATED',
  'CRC_MISMATCH',
  'UNKNOWN_VERSION',
  'BAD_PAYLOAD_LENGTH',
  'UNKNOWN_TYPE',
  'BAD_FIELD',
  'STREAM_ENDED',
] as const
export type SerialLineErrorCode = (typeof serialLineErrorCodes)[number]

export const serialProtocolErrorCodes = [
  ...serialLineErrorCodes,
  'INVALID_FRAME',
  'INVALID_ARGUMENT',
] as const
export type SerialProtocolErrorCode = (typeof serialProtocolErrorCodes)[number]

export interface SerialProtocolErrorOptions extends ErrorOptions {
  /** Byte offset in the decoded stream of the first byte of the bad frame (after its leading delimiter). */
  readonly streamOffset?: number
  /** Encoded bytes the bad frame occupied on the line, delimiter excluded. */
  readonly frameBytes?: number
}

export class SerialProtocolError extends Error {
  readonly code: SerialProtocolErrorCode
  /** Always false: the same bytes decode the same way next time; the next frame is unaffected. */
  readonly retriable = false
  /** Stream offset of the bad frame's first byte; -1 for caller errors. */
  readonly streamOffset: number
  /** Encoded length of the bad frame on the line; 0 for caller errors. */
  readonly frameBytes: number
  constructor(code: SerialProtocolErrorCode, message: string, options: SerialProtocolErrorOptions = {}) {
    super(message, options)
    this.name = 'SerialProtocolError'
    this.code = code
    this.streamOffset = options.streamOffset ?? -1
    this.frameBytes = options.frameBytes ?? 0
  }
}
