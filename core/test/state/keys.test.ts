import { describe, expect, it } from 'vitest'
import {
  kvKey,
  parseSessionIndexKey,
  parseSessionKey,
  parseWindowIndexKey,
  parseWindowKey,
  prefixEnd,
  sessionIndexKey,
  sessionKey,
  windowIndexKey,
  windowKey,
} from '../../src/state/keys.ts'

// The on-disk layouts (keys.ts grammar), pinned with literal bytes: a change here is a format change.
const hex = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString('hex')
const key = Uint8Array.of(0x70, 0x31) // "p1"

describe('table key layouts', () => {
  it('kv entry => 0x01 key', () => {
    expect(hex(kvKey(key))).toBe('017031')
  })

  it('window entry => 0x02 keyLen:u32 key startMs:u64, and its time index => 0x03 startMs:u64 keyLen:u32 key', () => {
    const startMs = 2 ** 32 + 5
    expect(hex(windowKey(key, startMs))).toBe('02' + '00000002' + '7031' + '0000000100000005')
    expect(hex(windowIndexKey(startMs, key))).toBe('03' + '0000000100000005' + '00000002' + '7031')
    expect(parseWindowKey(windowKey(key, startMs))).toEqual({ key, startMs })
    expect(parseWindowIndexKey(windowIndexKey(startMs, key))).toEqual({ key, startMs })
  })

  it('session entry => 0x04 keyLen:u32 key endMs:u64 startMs:u64, index => 0x05 endMs:u64 keyLen:u32 key startMs:u64', () => {
    expect(hex(sessionKey(key, 9, 3))).toBe(
      '04' + '00000002' + '7031' + '0000000000000009' + '0000000000000003',
    )
    expect(hex(sessionIndexKey(9, key, 3))).toBe(
      '05' + '0000000000000009' + '00000002' + '7031' + '0000000000000003',
    )
    const parsed = { key, startMs: 3, endMs: 9 }
    expect(parseSessionKey(sessionKey(key, 9, 3))).toEqual(parsed)
    expect(parseSessionIndexKey(sessionIndexKey(9, key, 3))).toEqual(parsed)
  })

  it('the largest time (2^53 - 1) survives a round trip', () => {
    expect(parseWindowKey(windowKey(key, Number.MAX_SAFE_INTEGER)).startMs).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('prefixEnd is the first key after every key with the prefix', () => {
    expect(hex(prefixEnd(Uint8Array.of(0x01, 0x02)))).toBe('0103')
    expect(hex(prefixEnd(Uint8Array.of(0x01, 0xff)))).toBe('02')
    expect(prefixEnd(Uint8Array.of(0xff, 0xff))).toBeUndefined()
  })
})
