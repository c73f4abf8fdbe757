import { BleCodecError, checkInt, need, noTrailing, viewOf } from './errors.ts'

const C = '0x2A19 Battery Level'

/* 0x2A19 => level:u8 (percent, 0..100; 101..255 reserved) */
export function decodeBatteryLevel(payload: Uint8Array): number {
  const v = viewOf(payload, C)
  need(v, 0, 1, 'battery level', C)
  noTrailing(v, 1, C)
  const level = v.getUint8(0)
  if (level > 100)
    throw new BleCodecError('RESERVED_VALUE', C, `battery level ${level} % is reserved (> 100)`)
  return level
}

/** Encodes a battery level in percent, an integer in [0, 100]. */
export function encodeBatteryLevel(percent: number): Uint8Array {
  checkInt(percent, 0, 100, 'battery level percent', C)
  return Uint8Array.of(percent)
}
