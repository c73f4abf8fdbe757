import { BleCodecError } from './errors.ts'

/**
 * IEEE 11073-20601 SFLOAT (16 bit) and FLOAT (32 bit): value = mantissa · 10^exponent.
 *
 *   SFLOAT => exponent:s4 mantissa:s12   (one little-endian uint16 on the wire)
 *   FLOAT  => exponent:s8 mantissa:s24   (one little-endian uint32 on the wire)
 *
 * Special mantissas, matched before sign extension: NaN 0x7FF / 0x7FFFFF, NRes 0x800 / 0x800000,
 * +INF 0x7FE / 0x7FFFFE, −INF 0x802 / 0x800002, reserved 0x801 / 0x800001.
 */
export type Ieee11073Kind = 'finite' | 'NaN' | 'NRes' | '+INF' | '-INF' | 'reserved'

/** A decoded SFLOAT/FLOAT. `value` is NaN for NaN/NRes, ±Infinity for ±INF; `reserved` is never returned by decoders. */
export interface Ieee11073Number {
  readonly kind: Ieee11073Kind
  readonly value: number
  /** Decimal exponent; it carries the precision (2 vs 2.0). 0 for special values. */
  readonly exponent: number
  readonly mantissa: number
}

interface Layout {
  readonly name: 'SFLOAT' | 'FLOAT'
  readonly mantissaBits: number
  readonly exponentBits: number
}
const SFLOAT: Layout = { name: 'SFLOAT', mantissaBits: 12, exponentBits: 4 }
const FLOAT: Layout = { name: 'FLOAT', mantissaBits: 24, exponentBits: 8 }

/** Raw SFLOAT words of the special values. */
export const SFLOAT_NAN = 0x07ff
export const SFLOAT_NRES = 0x0800
export const SFLOAT_POSITIVE_INFINITY = 0x07fe
export const SFLOAT_NEGATIVE_INFINITY = 0x0802
/** Raw FLOAT words of the special values. */
export const FLOAT_NAN = 0x007fffff
export const FLOAT_NRES = 0x00800000
export const FLOAT_POSITIVE_INFINITY = 0x007ffffe
export const FLOAT_NEGATIVE_INFINITY = 0x00800002

function specials(l: Layout): { nan: number; nres: number; pinf: number; ninf: number; reserved: number } {
  const top = 1 << (l.mantissaBits - 1) // 0x800 or 0x800000
  return { nan: top - 1, nres: top, pinf: top - 2, ninf: top + 2, reserved: top + 1 }
}

function decode(raw: number, l: Layout, characteristic: string): Ieee11073Number {
  const mantissaMask = (1 << l.mantissaBits) - 1
  const m = raw & mantissaMask
  const s = specials(l)
  switch (m) {
    case s.nan:
      return { kind: 'NaN', value: Number.NaN, exponent: 0, mantissa: m }
    case s.nres:
      return { kind: 'NRes', value: Number.NaN, exponent: 0, mantissa: m }
    case s.pinf:
      return { kind: '+INF', value: Number.POSITIVE_INFINITY, exponent: 0, mantissa: m }
    case s.ninf:
      return { kind: '-INF', value: Number.NEGATIVE_INFINITY, exponent: 0, mantissa: m }
    case s.reserved:
      throw new BleCodecError(
        'RESERVED_VALUE',
        characteristic,
        `${l.name} 0x${raw.toString(16)} uses the reserved mantissa 0x${m.toString(16)}`,
      )
  }
  const mantissa = m >= 1 << (l.mantissaBits - 1) ? m - (1 << l.mantissaBits) : m
  const e = (raw >>> l.mantissaBits) & ((1 << l.exponentBits) - 1)
  const exponent = e >= 1 << (l.exponentBits - 1) ? e - (1 << l.exponentBits) : e
  // Dividing by an exact power of ten rounds once (370 / 10 === 37); multiplying by 0.1 would not.
  const value = exponent < 0 ? mantissa / 10 ** -exponent : mantissa * 10 ** exponent
  return { kind: 'finite', value, exponent, mantissa }
}

/**
 * Encodes `value` with at most `fractionDigits` decimals (exponent −fractionDigits), dropping
 * decimals (raising the exponent) until the mantissa fits; NaN and ±Infinity become the special
 * values. Throws INVALID_ARGUMENT when the value cannot be represented at any exponent.
 */
function encode(value: number, fractionDigits: number, l: Layout, characteristic: string): number {
  const s = specials(l)
  const mantissaMask = (1 << l.mantissaBits) - 1
  if (Number.isNaN(value)) return s.nan
  if (value === Number.POSITIVE_INFINITY) return s.pinf
  if (value === Number.NEGATIVE_INFINITY) return s.ninf
  const maxMantissa = s.pinf - 1 // 2045 / 8388605: the largest mantissa that is not a special value
  const maxExponent = (1 << (l.exponentBits - 1)) - 1
  const minExponent = -(1 << (l.exponentBits - 1))
  if (!Number.isInteger(fractionDigits) || -fractionDigits < minExponent || -fractionDigits > maxExponent) {
    throw new BleCodecError(
      'INVALID_ARGUMENT',
      characteristic,
      `${l.name} fractionDigits must be an integer in [${-maxExponent}, ${-minExponent}], got ${fractionDigits}`,
    )
  }
  for (let exponent = -fractionDigits; exponent <= maxExponent; exponent++) {
    const mantissa = Math.round(exponent < 0 ? value * 10 ** -exponent : value / 10 ** exponent)
    if (Math.abs(mantissa) <= maxMantissa) {
      const e = exponent & ((1 << l.exponentBits) - 1)
      return ((e << l.mantissaBits) | (mantissa & mantissaMask)) >>> 0
    }
  }
  throw new BleCodecError('INVALID_ARGUMENT', characteristic, `${value} is too large for ${l.name}`)
}

/** Decodes a raw SFLOAT word (0..0xFFFF). Throws BleCodecError RESERVED_VALUE for the reserved mantissa. */
export function decodeSfloat(raw: number, characteristic = 'SFLOAT'): Ieee11073Number {
  return decode(raw & 0xffff, SFLOAT, characteristic)
}

/** Decodes a raw FLOAT word (0..0xFFFFFFFF). Throws BleCodecError RESERVED_VALUE for the reserved mantissa. */
export function decodeFloat(raw: number, characteristic = 'FLOAT'): Ieee11073Number {
  return decode(raw >>> 0, FLOAT, characteristic)
}

/** Encodes to a raw SFLOAT word; see `encode` above for `fractionDigits` (default 0). */
export function encodeSfloat(value: number, fractionDigits = 0, characteristic = 'SFLOAT'): number {
  return encode(value, fractionDigits, SFLOAT, characteristic)
}

/** Encodes to a raw FLOAT word; see `encode` above for `fractionDigits` (default 0). */
export function encodeFloat(value: number, fractionDigits = 0, characteristic = 'FLOAT'): number {
  return encode(value, fractionDigits, FLOAT, characteristic)
}
