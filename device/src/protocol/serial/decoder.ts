import { cobsDecode, cobsMaxEncodedLength } from './cobs.ts'
import { SerialProtocolError, serialLineErrorCodes, type SerialLineErrorCode } from './errors.ts'
import {
  decodeSerialFrameBody,
  SERIAL_MAX_ENCODED_FRAME_BYTES,
  SERIAL_MAX_FRAME_BYTES,
  SERIAL_MIN_FRAME_BYTES,
  type SerialFrame,
} from './frame.ts'

/*
 * stream => { 0x00 | frameBytes 0x00 }        frameBytes = cobs(body), 1..maxEncodedFrameBytes bytes
 * The decoder splits the byte stream at every 0x00, so a bad frame costs only the bytes up to the
 * next delimiter. Empty frames (0x00 0x00) are idle fill, not errors.
 */

export interface SerialFrameDecoderOptions {
  /**
   * The largest body (header + payload + CRC, before COBS) accepted, in
   * [SERIAL_MIN_FRAME_BYTES, SERIAL_MAX_FRAME_BYTES]; default SERIAL_MAX_FRAME_BYTES. Lower it only
   * when every sender is known to send less; longer frames are rejected as OVERSIZE.
   */
  readonly maxFrameBytes?: number
}

export type SerialDecodeResult =
  | {
      readonly ok: true
      readonly frame: SerialFrame
      /** Stream offset of the frame's first encoded byte. */ readonly streamOffset: number
    }
  | { readonly ok: false; readonly error: SerialProtocolError & { readonly code: SerialLineErrorCode } }

export interface SerialDecoderStats {
  /** Bytes fed to push(). */
  bytes: number
  /** Frames decoded and returned. */
  frames: number
  /** Empty frames (consecutive delimiters): idle fill and leading delimiters. */
  idle: number
  /** Bad frames, all codes. Equals the sum of errorsByCode. */
  errors: number
  errorsByCode: Record<SerialLineErrorCode, number>
  /** Bytes that belonged to bad frames (delimiters excluded). */
  discardedBytes: number
}

/**
 * Incremental decoder of the serial frame stream. Feed it arbitrary chunks; it returns every frame
 * and every bad frame completed by that chunk, in stream order. Memory is bounded by
 * cobsMaxEncodedLength(maxFrameBytes) whatever the input. Never throws on input bytes.
 */
export class SerialFrameDecoder {
  readonly maxFrameBytes: number
  readonly maxEncodedFrameBytes: number
  readonly stats: SerialDecoderStats = {
    bytes: 0,
    frames: 0,
    idle: 0,
    errors: 0,
    errorsByCode: Object.fromEntries(serialLineErrorCodes.map((c) => [c, 0])) as Record<
      SerialLineErrorCode,
      number
    >,
    discardedBytes: 0,
  }
  readonly #buf: Uint8Array
  #len = 0
  /** Bytes of the current frame seen so far (keeps counting past the limit while discarding). */
  #frameBytes = 0
  #frameStart = 0
  #discarding = false

  constructor(options: SerialFrameDecoderOptions = {}) {
    const max = options.maxFrameBytes ?? SERIAL_MAX_FRAME_BYTES
    if (!Number.isInteger(max) || max < SERIAL_MIN_FRAME_BYTES || max > SERIAL_MAX_FRAME_BYTES) {
      throw new SerialProtocolError(
        'INVALID_ARGUMENT',
        `maxFrameBytes must be an integer in [${SERIAL_MIN_FRAME_BYTES}, ${SERIAL_MAX_FRAME_BYTES}], got ${max}; omit it for the protocol maximum`,
      )
    }
    this.maxFrameBytes = max
    this.maxEncodedFrameBytes =
      max === SERIAL_MAX_FRAME_BYTES ? SERIAL_MAX_ENCODED_FRAME_BYTES : cobsMaxEncodedLength(max)
    this.#buf = new Uint8Array(this.maxEncodedFrameBytes)
  }

  /** Bytes of the unfinished frame seen so far, waiting for its delimiter (discarded ones included). */
  get pendingBytes(): number {
    return this.#frameBytes
  }

  /** Bytes held in memory for the unfinished frame: never more than maxEncodedFrameBytes. */
  get bufferedBytes(): number {
    return this.#len
  }

  /** Decodes `chunk` (any length, any split). Returns the frames and errors it completed. */
  push(chunk: Uint8Array): SerialDecodeResult[] {
    const out: SerialDecodeResult[] = []
    const base = this.stats.bytes
    this.stats.bytes += chunk.length
    let i = 0
    while (i < chunk.length) {
      const zero = chunk.indexOf(0, i)
      const end = zero === -1 ? chunk.length : zero
      if (end > i) {
        if (this.#frameBytes === 0) this.#frameStart = base + i
        this.#append(chunk, i, end, out)
      }
      if (zero === -1) break
      this.#delimiter(out)
      i = zero + 1
    }
    return out
  }

  /**
   * Declares the end of input. An unfinished frame is reported as STREAM_ENDED and dropped; the
   * decoder is then ready for a new stream.
   */
  end(): SerialDecodeResult[] {
    const out: SerialDecodeResult[] = []
    if (this.#discarding) {
      // As at a delimiter: the OVERSIZE error is already counted; count the rest of its bytes.
      this.stats.discardedBytes += this.#frameBytes - this.#len
    } else if (this.#frameBytes > 0) {
      this.#fail(
        out,
        'STREAM_ENDED',
        `input ended ${this.#frameBytes} byte(s) into a frame, before its 0x00 delimiter`,
      )
    }
    this.#reset()
    return out
  }

  #append(chunk: Uint8Array, from: number, to: number, out: SerialDecodeResult[]): void {
    const n = to - from
    this.#frameBytes += n
    if (this.#discarding) return
    if (this.#len + n > this.maxEncodedFrameBytes) {
      this.#discarding = true
      this.#fail(
        out,
        'OVERSIZE',
        `more than ${this.maxEncodedFrameBytes} encoded bytes without a 0x00 delimiter (maxFrameBytes ${this.maxFrameBytes}); discarding up to the next 0x00`,
      )
      return
    }
    this.#buf.set(chunk.subarray(from, to), this.#len)
    this.#len += n
  }

  #delimiter(out: SerialDecodeResult[]): void {
    if (this.#discarding) {
      // The OVERSIZE error was counted when the limit was passed; count the rest of its bytes now.
      this.stats.discardedBytes += this.#frameBytes - this.#len
      this.#reset()
      return
    }
    if (this.#len === 0) {
      this.stats.idle++
      return
    }
    const { data, overran } = cobsDecode(this.#buf, 0, this.#len)
    if (overran) {
      const declared =
        data.length >= 16 ? SERIAL_MIN_FRAME_BYTES + (data[14]! | (data[15]! << 8)) : SERIAL_MIN_FRAME_BYTES
      if (data.length < declared) {
        this.#fail(
          out,
          'TRUNCATED',
          `frame ends inside a COBS group after ${data.length} decoded bytes; its header declares ${declared}`,
        )
      } else {
        this.#fail(out, 'BAD_COBS', `a COBS code byte points past the end of the ${this.#len}-byte frame`)
      }
    } else if (data.length > this.maxFrameBytes) {
      this.#fail(
        out,
        'OVERSIZE',
        `frame is ${data.length} bytes, more than maxFrameBytes ${this.maxFrameBytes}`,
      )
    } else {
      const r = decodeSerialFrameBody(data)
      if (r.ok) {
        this.stats.frames++
        out.push({ ok: true, frame: r.frame, streamOffset: this.#frameStart })
      } else {
        this.#fail(out, r.code, r.message)
      }
    }
    this.#reset()
  }

  #fail(out: SerialDecodeResult[], code: SerialLineErrorCode, message: string): void {
    this.stats.errors++
    this.stats.errorsByCode[code]++
    this.stats.discardedBytes += this.#len
    const error = new SerialProtocolError(
      code,
      `serial frame at stream byte ${this.#frameStart}: ${message}`,
      {
        streamOffset: this.#frameStart,
        frameBytes: this.#frameBytes,
      },
    ) as SerialProtocolError & { readonly code: SerialLineErrorCode }
    out.push({ ok: false, error })
  }

  #reset(): void {
    this.#len = 0
    this.#frameBytes = 0
    this.#discarding = false
  }
}

/**
 * Decodes a byte stream (a SerialPort, a socket, any AsyncIterable of chunks) into frames and bad
 * frames, in order. An unfinished frame at the end of the stream yields STREAM_ENDED.
 */
export async function* decodeSerialFrames(
  source: AsyncIterable<Uint8Array>,
  decoder: SerialFrameDecoder = new SerialFrameDecoder(),
): AsyncGenerator<SerialDecodeResult, void, undefined> {
  for await (const chunk of source) yield* decoder.push(chunk)
  yield* decoder.end()
}
