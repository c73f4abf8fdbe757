/*
 * Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999), 0x00 as the delimiter:
 *   cobs(data) => { code:u8 (1..255) byte[code-1] }   no 0x00 in the output
 * A code c < 0xFF is followed by c-1 data bytes and an implied 0x00 (dropped after the last group);
 * c = 0xFF by 254 data bytes and no implied zero.
 */

/** The most bytes `cobsEncode` can produce for `length` input bytes (one code byte per 254 bytes, plus one). */
export function cobsMaxEncodedLength(length: number): number {
  return length + Math.floor(length / 254) + 1
}

/** COBS-encodes `data`; the result contains no 0x00 and is at most cobsMaxEncodedLength(data.length) bytes. */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(data.length))
  let codeAt = 0
  let code = 1
  let o = 1
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!
    if (b === 0) {
      out[codeAt] = code
      codeAt = o++
      code = 1
    } else {
      out[o++] = b
      code++
      if (code === 0xff) {
        out[codeAt] = code
        codeAt = o++
        code = 1
      }
    }
  }
  out[codeAt] = code
  return out.subarray(0, o)
}

export interface CobsDecodeResult {
  /** The decoded bytes; when `overran`, the bytes up to the end of the input (the partial last group). */
  readonly data: Uint8Array
  /** True when a code byte pointed past the end of the input: the frame was cut short or corrupted. */
  readonly overran: boolean
  /** True when the input held a 0x00, which COBS never produces (the caller should split on 0x00 first). */
  readonly hadZero: boolean
}

/** Decodes one COBS frame (delimiters removed). Never throws; reports structural damage in the result. */
export function cobsDecode(encoded: Uint8Array, start = 0, end = encoded.length): CobsDecodeResult {
  const out = new Uint8Array(Math.max(0, end - start))
  let o = 0
  let i = start
  let overran = false
  let hadZero = false
  while (i < end) {
    const code = encoded[i++]!
    if (code === 0) {
      hadZero = true
      break
    }
    const groupEnd = i + code - 1
    const copyEnd = Math.min(groupEnd, end)
    for (; i < copyEnd; i++) {
      const b = encoded[i]!
      if (b === 0) {
        hadZero = true
        break
      }
      out[o++] = b
    }
    if (hadZero) break
    if (groupEnd > end) {
      overran = true
      break
    }
    if (code < 0xff && i < end) out[o++] = 0
  }
  return { data: out.subarray(0, o), overran, hadZero }
}
