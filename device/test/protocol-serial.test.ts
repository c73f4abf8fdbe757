import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  cobsDecode,
  cobsEncode,
  cobsMaxEncodedLength,
  crc32c,
  CRC32C_CHECK,
  decodeSerialFrameBody,
  decodeSerialFrames,
  encodeSerialFrame,
  encodeSerialFrameBody,
  SERIAL_MAX_ENCODED_FRAME_BYTES,
  SERIAL_MAX_FRAME_BYTES,
  SERIAL_MAX_SAMPLES_PER_BLOCK,
  SERIAL_MAX_TIMESTAMP_US,
  serialEventCodes,
  SerialFrameDecoder,
  serialLineErrorCodes,
  SerialProtocolError,
  serialResetReasonCodes,
  serialSignalCodes,
  serialVitalCodes,
  type SerialDecodeResult,
  type SerialEventCode,
  type SerialFrame,
  type SerialLineErrorCode,
  type SerialResetReason,
  type SerialSignal,
  type SerialVitalKind,
} from '@vigil/device/protocol'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(/\s+/).filter(Boolean), (b) => parseInt(b, 16))
const toHex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}
const frames = (rs: readonly SerialDecodeResult[]): SerialFrame[] =>
  rs.flatMap((r) => (r.ok ? [r.frame] : []))
const codes = (rs: readonly SerialDecodeResult[]): SerialLineErrorCode[] =>
  rs.flatMap((r) => (r.ok ? [] : [r.error.code]))

function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// The four examples of docs/reference/serial-protocol.md, as frames.
const EXAMPLES: readonly SerialFrame[] = [
  {
    type: 'samples',
    sensorId: 1,
    seq: 42,
    timestampUs: 0x0123456789ab,
    signal: 'ecg',
    channel: 0,
    sampleRateHz: 250,
    samples: Int16Array.from([0, 120, -250, 1000]),
  },
  { type: 'vital', sensorId: 2, seq: 7, timestampUs: 1_500_000, kind: 'heart-rate', value: 72 },
  { type: 'event', sensorId: 1, seq: 3, timestampUs: 2_000_000, event: 'lead-off', value: 1 },
  {
    type: 'status',
    sensorId: 0,
    seq: 0,
    timestampUs: 250,
    batteryPercent: 87,
    leadOff: 0,
    resetReason: 'watchdog',
    charging: false,
  },
]

/** The `body` and `wire` lines of each example in the reference document, in order. */
function documentExamples(): { body: Uint8Array; wire: Uint8Array }[] {
  const doc = readFileSync(new URL('../../docs/reference/serial-protocol.md', import.meta.url), 'utf8')
  const bodies = [...doc.matchAll(/^body {2}([0-9A-F ]+)$/gm)].map((m) => hex(m[1]!))
  const wires = [...doc.matchAll(/^wire {2}([0-9A-F ]+)$/gm)].map((m) => hex(m[1]!))
  return bodies.map((body, i) => ({ body, wire: wires[i]! }))
}

/** Re-frames a hand-made body (without CRC) with a correct CRC, as a sender bug or a future version would. */
function withCrc(bodyWithoutCrc: Uint8Array): Uint8Array {
  const body = new Uint8Array(bodyWithoutCrc.length + 4)
  body.set(bodyWithoutCrc)
  new DataView(body.buffer).setUint32(bodyWithoutCrc.length, crc32c(bodyWithoutCrc), true)
  return body
}
const wireOf = (body: Uint8Array): Uint8Array => concat(Uint8Array.of(0), cobsEncode(body), Uint8Array.of(0))

function decodeAll(bytes: Uint8Array, decoder = new SerialFrameDecoder()): SerialDecodeResult[] {
  return [...decoder.push(bytes), ...decoder.end()]
}

function randomFrame(r: () => number, seq: number): SerialFrame {
  const int = (n: number): number => Math.floor(r() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!
  const header = { sensorId: int(0x10000), seq, timestampUs: int(2 ** 40) * 256 + int(256) }
  switch (int(4)) {
    case 0: {
      const n = 1 + int(r() < 0.1 ? SERIAL_MAX_SAMPLES_PER_BLOCK : 64)
      const samples = new Int16Array(n)
      for (let i = 0; i < n; i++) samples[i] = int(0x10000) - 0x8000
      return {
        type: 'samples',
        ...header,
        signal: pick(Object.keys(serialSignalCodes) as SerialSignal[]),
        channel: int(256),
        sampleRateHz: 1 + int(0xffff),
        samples,
      }
    }
    case 1:
      return {
        type: 'vital',
        ...header,
        kind: pick(Object.keys(serialVitalCodes) as SerialVitalKind[]),
        value: (int(2 ** 32) - 2 ** 31) / 1000,
      }
    case 2:
      return {
        type: 'event',
        ...header,
        event: pick(Object.keys(serialEventCodes) as SerialEventCode[]),
        value: int(2 ** 32) - 2 ** 31,
      }
    default:
      return {
        type: 'status',
        ...header,
        batteryPercent: r() < 0.1 ? null : int(101),
        leadOff: int(256),
        resetReason: pick(Object.keys(serialResetReasonCodes) as SerialResetReason[]),
        charging: r() < 0.5,
      }
  }
}

describe('CRC-32C', () => {
  it('has the catalogue check value 0xE3069283 for "123456789"', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283)
    expect(CRC32C_CHECK).toBe(0xe3069283)
  })
  it('is 0 for no bytes and covers the given range only', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0)
    const b = new TextEncoder().encode('xx123456789yy')
    expect(crc32c(b, 2, 11)).toBe(0xe3069283)
  })
})

describe('COBS', () => {
  // Cheshire & Baker's examples (also Wikipedia's), delimiters excluded.
  const vectors: [string, string][] = [
    ['', '01'],
    ['00', '01 01'],
    ['00 00', '01 01 01'],
    ['00 11 00', '01 02 11 01'],
    ['11 22 00 33', '03 11 22 02 33'],
    ['11 22 33 44', '05 11 22 33 44'],
    ['11 00 00 00', '02 11 01 01 01'],
  ]
  it.each(vectors)('encodes %s as %s and back', (plain, encoded) => {
    expect(toHex(cobsEncode(hex(plain)))).toBe(toHex(hex(encoded)))
    expect(cobsDecode(hex(encoded))).toEqual({ data: hex(plain), overran: false, hadZero: false })
  })
  it('handles 254-byte runs: 0xFF groups, and both final-group forms decode the same', () => {
    const run = Uint8Array.from({ length: 254 }, (_, i) => i + 1)
    const enc = cobsEncode(run)
    expect(enc.length).toBe(256)
    expect(enc[0]).toBe(0xff)
    expect(enc[255]).toBe(0x01)
    expect(cobsDecode(enc).data).toEqual(run)
    expect(cobsDecode(enc.subarray(0, 255)).data).toEqual(run)
    const withZero = concat(Uint8Array.of(0), run, Uint8Array.of(0), run)
    expect(cobsDecode(cobsEncode(withZero)).data).toEqual(withZero)
  })
  it('never emits 0x00 and stays within cobsMaxEncodedLength, for random data of every length to 1100', () => {
    const r = rng(1)
    for (let n = 0; n <= 1100; n++) {
      const data = Uint8Array.from({ length: n }, () => (r() < 0.2 ? 0 : Math.floor(r() * 256)))
      const enc = cobsEncode(data)
      expect(enc.includes(0)).toBe(false)
      expect(enc.length).toBeLessThanOrEqual(cobsMaxEncodedLength(n))
      expect(cobsDecode(enc).data).toEqual(data)
    }
  })
  it('reports a code pointing past the end as overran', () => {
    expect(cobsDecode(hex('05 11 22'))).toEqual({ data: hex('11 22'), overran: true, hadZero: false })
  })
})

describe('serial frame v1: the reference document examples', () => {
  const doc = documentExamples()
  it('the document has four examples', () => {
    expect(doc).toHaveLength(EXAMPLES.length)
  })
  it.each(EXAMPLES.map((f, i) => [f.type, i] as const))(
    '%s example: encoder output = document bytes',
    (_t, i) => {
      expect(toHex(encodeSerialFrameBody(EXAMPLES[i]!))).toBe(toHex(doc[i]!.body))
      expect(toHex(encodeSerialFrame(EXAMPLES[i]!))).toBe(toHex(doc[i]!.wire))
    },
  )
  it.each(EXAMPLES.map((f, i) => [f.type, i] as const))(
    '%s example: document bytes decode to the frame',
    (_t, i) => {
      const rs = decodeAll(doc[i]!.wire)
      expect(rs).toEqual([{ ok: true, frame: EXAMPLES[i], streamOffset: 1 }])
    },
  )
  it('example 1 is the literal fixture (not only what the encoder says)', () => {
    const wire = hex(
      '00 04 01 01 01 02 2A 01 01 08 AB 89 67 45 23 01 0E 02 01 02 FA 02 04 01 01 02 78 09 06 FF E8 03 7D EC F6 7D 00',
    )
    expect(frames(decodeAll(wire))).toEqual([EXAMPLES[0]])
    // The CRC field is CRC-32C of the 30 bytes before it, little-endian.
    const body = hex(
      '01 01 01 00 2A 00 00 00 AB 89 67 45 23 01 0E 00 01 00 FA 00 04 00 00 00 78 00 06 FF E8 03',
    )
    expect(crc32c(body)).toBe(0x7df6ec7d)
  })
})

describe('serial frame v1: encoder', () => {
  it('round-trips 2000 random frames of every type, including full-size sample blocks', () => {
    const r = rng(7)
    for (let i = 0; i < 2000; i++) {
      const f = randomFrame(r, i)
      const rs = decodeAll(encodeSerialFrame(f))
      expect(rs).toEqual([{ ok: true, frame: f, streamOffset: 1 }])
    }
  })
  it('rounds vital values to thousandths', () => {
    const f: SerialFrame = {
      type: 'vital',
      sensorId: 1,
      seq: 0,
      timestampUs: 0,
      kind: 'temperature',
      value: 36.6004,
    }
    expect(frames(decodeAll(encodeSerialFrame(f)))).toEqual([{ ...f, value: 36.6 }])
  })
  it('encodes the extremes of every header field', () => {
    const f: SerialFrame = {
      type: 'event',
      sensorId: 0xffff,
      seq: 0xffffffff,
      timestampUs: SERIAL_MAX_TIMESTAMP_US,
      event: 'samples-dropped',
      value: -(2 ** 31),
    }
    expect(frames(decodeAll(encodeSerialFrame(f)))).toEqual([f])
  })
  it('a full sample block is the largest frame and fits the encoded limit', () => {
    const f: SerialFrame = {
      type: 'samples',
      sensorId: 1,
      seq: 0,
      timestampUs: 0,
      signal: 'ecg',
      channel: 0,
      sampleRateHz: 500,
      samples: new Int16Array(SERIAL_MAX_SAMPLES_PER_BLOCK).fill(-1),
    }
    // The limits the reference document states.
    expect([SERIAL_MAX_FRAME_BYTES, SERIAL_MAX_SAMPLES_PER_BLOCK, SERIAL_MAX_ENCODED_FRAME_BYTES]).toEqual([
      1024, 499, 1029,
    ])
    expect(encodeSerialFrameBody(f).length).toBeLessThanOrEqual(SERIAL_MAX_FRAME_BYTES)
    expect(encodeSerialFrame(f).length - 2).toBeLessThanOrEqual(SERIAL_MAX_ENCODED_FRAME_BYTES)
  })
  const bad: [string, SerialFrame, RegExp][] = [
    [
      'sensorId',
      { ...EXAMPLES[1]!, sensorId: 70000 },
      /sensorId must be an integer in \[0, 65535\], got 70000/,
    ],
    ['seq', { ...EXAMPLES[1]!, seq: -1 }, /seq must be .* got -1; wrap the sequence number modulo 2\^32/],
    ['timestampUs', { ...EXAMPLES[1]!, timestampUs: 1.5 }, /timestampUs must be an integer .* got 1.5/],
    ['vital NaN', { ...EXAMPLES[1]!, value: NaN } as SerialFrame, /the value NaN must be finite/],
    [
      'vital kind',
      { ...EXAMPLES[1]!, kind: 'bp' } as unknown as SerialFrame,
      /vital kind must be one of heart-rate, .*; got "bp"/,
    ],
    [
      'battery',
      { ...EXAMPLES[3]!, batteryPercent: 101 } as SerialFrame,
      /batteryPercent .* got 101; use null when unknown/,
    ],
    [
      'rate',
      { ...EXAMPLES[0]!, sampleRateHz: 0 } as SerialFrame,
      /sampleRateHz must be an integer in \[1, 65535\], got 0/,
    ],
    [
      'too many samples',
      { ...EXAMPLES[0]!, samples: new Int16Array(SERIAL_MAX_SAMPLES_PER_BLOCK + 1) } as SerialFrame,
      /samples.length .* got 500; split longer blocks/,
    ],
    ['no samples', { ...EXAMPLES[0]!, samples: new Int16Array(0) } as SerialFrame, /samples.length .* got 0/],
    [
      'type',
      { ...EXAMPLES[1]!, type: 'ping' } as unknown as SerialFrame,
      /frame.type must be one of samples, vital, event, status/,
    ],
  ]
  it.each(bad)('rejects a bad %s with INVALID_FRAME naming the value', (_what, f, message) => {
    let caught: unknown
    try {
      encodeSerialFrame(f)
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(SerialProtocolError)
    expect((caught as SerialProtocolError).code).toBe('INVALID_FRAME')
    expect((caught as SerialProtocolError).message).toMatch(message)
  })
})

describe('serial frame v1: decoder errors', () => {
  const good = encodeSerialFrame(EXAMPLES[1]!)
  const body = encodeSerialFrameBody(EXAMPLES[1]!)
  const patched = (at: number, value: number, recomputeCrc: boolean): Uint8Array => {
    const b = body.slice()
    b[at] = value
    return recomputeCrc ? withCrc(b.subarray(0, b.length - 4)) : b
  }
  const cases: [SerialLineErrorCode, string, Uint8Array][] = [
    [
      'OVERSIZE',
      'a run longer than 1029 bytes',
      concat(Uint8Array.of(0), new Uint8Array(2000).fill(0x41), Uint8Array.of(0)),
    ],
    [
      'BAD_COBS',
      'a code past the end of a full-length frame',
      concat(Uint8Array.of(0), cobsEncode(body), hex('05 00')),
    ],
    ['TRUNCATED', 'a frame cut inside a COBS group', good.subarray(0, 12)],
    ['TRUNCATED', 'fewer than 20 bytes', hex('00 01 01 01 00')],
    ['TRUNCATED', 'CRC mismatch and shorter than declared', wireOf(body.subarray(0, body.length - 2))],
    ['CRC_MISMATCH', 'one payload byte changed', wireOf(patched(17, 0x41, false))],
    ['CRC_MISMATCH', 'CRC byte changed', wireOf(patched(body.length - 1, 0x07, false))],
    ['UNKNOWN_VERSION', 'version 2 with a valid CRC', wireOf(patched(0, 2, true))],
    ['BAD_PAYLOAD_LENGTH', 'header length disagrees', wireOf(patched(14, 4, true))],
    ['UNKNOWN_TYPE', 'type 9', wireOf(patched(1, 9, true))],
    ['BAD_FIELD', 'vital kind 99', wireOf(patched(16, 99, true))],
    [
      'BAD_PAYLOAD_LENGTH',
      'a 6-byte vital payload',
      wireOf(
        withCrc(concat(hex('01 02 02 00 07 00 00 00 60 E3 16 00 00 00 06 00'), hex('01 40 19 01 00 00'))),
      ),
    ],
    [
      'BAD_PAYLOAD_LENGTH',
      'a sample count that disagrees with the length',
      wireOf(
        withCrc(
          concat(
            hex('01 01 01 00 00 00 00 00 00 00 00 00 00 00 0A 00'),
            hex('01 00 FA 00 03 00 01 00 02 00'),
          ),
        ),
      ),
    ],
    [
      'BAD_FIELD',
      'sample rate 0',
      wireOf(
        withCrc(
          concat(hex('01 01 01 00 00 00 00 00 00 00 00 00 00 00 08 00'), hex('01 00 00 00 01 00 01 00')),
        ),
      ),
    ],
    [
      'BAD_FIELD',
      'signal 9',
      wireOf(
        withCrc(
          concat(hex('01 01 01 00 00 00 00 00 00 00 00 00 00 00 08 00'), hex('09 00 FA 00 01 00 01 00')),
        ),
      ),
    ],
    [
      'BAD_FIELD',
      'battery 150',
      wireOf(withCrc(concat(hex('01 04 00 00 00 00 00 00 00 00 00 00 00 00 04 00'), hex('96 00 01 00')))),
    ],
    [
      'BAD_FIELD',
      'reset reason 9',
      wireOf(withCrc(concat(hex('01 04 00 00 00 00 00 00 00 00 00 00 00 00 04 00'), hex('50 00 09 00')))),
    ],
    [
      'BAD_FIELD',
      'event code 0',
      wireOf(withCrc(concat(hex('01 03 00 00 00 00 00 00 00 00 00 00 00 00 05 00'), hex('00 00 00 00 00')))),
    ],
  ]
  it.each(cases)('%s: %s — one error, and the good frames around it survive', (code, _what, bad) => {
    const d = new SerialFrameDecoder()
    const rs = decodeAll(concat(good, bad, good), d)
    expect(codes(rs)).toEqual([code])
    expect(frames(rs)).toEqual([EXAMPLES[1], EXAMPLES[1]])
    expect(d.stats.errors).toBe(1)
    expect(d.stats.errorsByCode[code]).toBe(1)
    expect(d.stats.frames).toBe(2)
    const err = rs.find((r) => !r.ok)
    expect(err?.ok === false && err.error.streamOffset).toBe(
      good.length + (code === 'TRUNCATED' && _what.includes('COBS group') ? 1 : 1),
    )
  })
  it('a corrupted delimiter costs only the frame it belongs to', () => {
    const a = encodeSerialFrame(EXAMPLES[0]!)
    const b = encodeSerialFrame(EXAMPLES[1]!)
    const c = encodeSerialFrame(EXAMPLES[2]!)
    const trailing = concat(a, b, c)
    trailing[a.length + b.length - 1] = 0x5a // b's trailing 0x00
    expect(frames(decodeAll(trailing))).toEqual([EXAMPLES[0], EXAMPLES[2]])
    const leading = concat(a, b, c)
    leading[a.length] = 0x5a // b's leading 0x00
    expect(frames(decodeAll(leading))).toEqual([EXAMPLES[0], EXAMPLES[2]])
  })
  it('ignores reserved status flag bits (forward compatible) but reads bit 0', () => {
    const rs = decodeAll(
      wireOf(withCrc(concat(hex('01 04 00 00 00 00 00 00 00 00 00 00 00 00 04 00'), hex('FF 01 01 FF')))),
    )
    expect(frames(rs)).toEqual([
      {
        type: 'status',
        sensorId: 0,
        seq: 0,
        timestampUs: 0,
        batteryPercent: null,
        leadOff: 1,
        resetReason: 'power-on',
        charging: true,
      },
    ])
  })
  it('reports an unfinished frame at the end of input as STREAM_ENDED', () => {
    const d = new SerialFrameDecoder()
    expect(d.push(good.subarray(0, 10))).toEqual([])
    expect(d.pendingBytes).toBe(9)
    expect(codes(d.end())).toEqual(['STREAM_ENDED'])
    expect(frames(decodeAll(good, d))).toEqual([EXAMPLES[1]])
  })
  it('error messages name the problem and where it was', () => {
    const rs = decodeAll(concat(good, wireOf(patched(0, 2, true))))
    const errors = rs.flatMap((r) => (r.ok ? [] : [r.error]))
    expect(errors).toHaveLength(1)
    expect(errors[0]?.message).toMatch(
      /stream byte 29: protocol version 2; this decoder speaks version 1 only/,
    )
    expect(errors[0]?.retriable).toBe(false)
  })
  it('treats empty frames as idle, not errors', () => {
    const d = new SerialFrameDecoder()
    const rs = decodeAll(concat(new Uint8Array(5), good, new Uint8Array(3)), d)
    expect(rs.every((r) => r.ok)).toBe(true)
    // 5 zeros, the frame's leading delimiter, then 3 zeros after its trailing one.
    expect(d.stats.idle).toBe(5 + 1 + 3)
  })
})

describe('serial frame v1: decoder bounds', () => {
  it('validates maxFrameBytes', () => {
    expect(() => new SerialFrameDecoder({ maxFrameBytes: 19 })).toThrow(
      /maxFrameBytes must be an integer in \[20, 1024\], got 19/,
    )
    expect(() => new SerialFrameDecoder({ maxFrameBytes: 4096 })).toThrow(SerialProtocolError)
  })
  it('a lower maxFrameBytes rejects bigger frames as OVERSIZE and keeps the small ones', () => {
    const big = encodeSerialFrame({ ...EXAMPLES[0]!, samples: new Int16Array(100).fill(7) } as SerialFrame)
    const small = encodeSerialFrame(EXAMPLES[1]!)
    const d = new SerialFrameDecoder({ maxFrameBytes: 64 })
    const rs = decodeAll(concat(small, big, small), d)
    expect(codes(rs)).toEqual(['OVERSIZE'])
    expect(frames(rs)).toHaveLength(2)
  })
  it('holds at most maxEncodedFrameBytes of an endless run, fed in small chunks, and counts what it discarded', () => {
    const d = new SerialFrameDecoder()
    const chunk = new Uint8Array(97).fill(0x55)
    const rs: SerialDecodeResult[] = []
    for (let i = 0; i < 1000; i++) {
      rs.push(...d.push(chunk))
      expect(d.bufferedBytes).toBeLessThanOrEqual(d.maxEncodedFrameBytes)
    }
    rs.push(...d.push(encodeSerialFrame(EXAMPLES[2]!)))
    expect(codes(rs)).toEqual(['OVERSIZE'])
    expect(frames(rs)).toEqual([EXAMPLES[2]])
    expect(d.pendingBytes).toBe(0)
    expect(d.stats.discardedBytes).toBe(97_000)
    expect(d.stats.bytes).toBe(97_000 + encodeSerialFrame(EXAMPLES[2]!).length)
  })
  it('end() during an oversize run counts the whole run as discarded, once', () => {
    const d = new SerialFrameDecoder()
    const rs: SerialDecodeResult[] = []
    for (let i = 0; i < 50; i++) rs.push(...d.push(new Uint8Array(97).fill(0x55)))
    rs.push(...d.end())
    expect(codes(rs)).toEqual(['OVERSIZE'])
    expect(d.pendingBytes).toBe(0)
    expect(d.stats.discardedBytes).toBe(4850)
    expect(d.stats.errors).toBe(1)
    // The decoder is ready for a new stream: a frame after it decodes, nothing more is discarded.
    const next = decodeAll(encodeSerialFrame(EXAMPLES[2]!), d)
    expect(frames(next)).toEqual([EXAMPLES[2]])
    expect(d.stats.discardedBytes).toBe(4850)
  })
})

describe('serial frame v1: streaming', () => {
  const stream = concat(
    ...EXAMPLES.map((f) => encodeSerialFrame(f)),
    hex('00 13 37 42'),
    encodeSerialFrame(EXAMPLES[0]!).subarray(0, 20),
    ...EXAMPLES.map((f) => encodeSerialFrame(f)),
  )
  const expected = decodeAll(stream)

  it('the reference stream decodes to 8 frames and 2 errors', () => {
    expect(frames(expected)).toEqual([...EXAMPLES, ...EXAMPLES])
    expect(codes(expected)).toEqual(['TRUNCATED', 'TRUNCATED'])
  })
  it('gives the same results split at every single boundary', () => {
    for (let i = 0; i <= stream.length; i++) {
      const d = new SerialFrameDecoder()
      const rs = [...d.push(stream.subarray(0, i)), ...d.push(stream.subarray(i)), ...d.end()]
      expect(rs).toEqual(expected)
    }
  })
  it('gives the same results split at every pair of boundaries (a shorter stream)', () => {
    const short = concat(encodeSerialFrame(EXAMPLES[1]!), hex('00 13 37'), encodeSerialFrame(EXAMPLES[3]!))
    const want = decodeAll(short)
    expect(want.map((r) => r.ok)).toEqual([true, false, true])
    const n = short.length
    for (let i = 0; i <= n; i++) {
      for (let j = i; j <= n; j++) {
        const d = new SerialFrameDecoder()
        const rs = [
          ...d.push(short.subarray(0, i)),
          ...d.push(short.subarray(i, j)),
          ...d.push(short.subarray(j)),
          ...d.end(),
        ]
        expect(rs).toEqual(want)
      }
    }
  })
  it('gives the same results one byte at a time', () => {
    const d = new SerialFrameDecoder()
    const rs: SerialDecodeResult[] = []
    for (const b of stream) rs.push(...d.push(Uint8Array.of(b)))
    rs.push(...d.end())
    expect(rs).toEqual(expected)
  })
  it('decodeSerialFrames decodes an async iterable of chunks', async () => {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < stream.length; i += 7) {
        await Promise.resolve()
        yield stream.subarray(i, i + 7)
      }
    }
    const rs: SerialDecodeResult[] = []
    for await (const r of decodeSerialFrames(chunks())) rs.push(r)
    expect(rs).toEqual(expected)
  })
})

describe('serial frame v1: random corruption (property)', () => {
  it('never throws, never invents a frame, and never loses a frame whose bytes were not touched', () => {
    for (let round = 0; round < 200; round++) {
      const r = rng(1000 + round)
      const int = (n: number): number => Math.floor(r() * n)
      const sent = Array.from({ length: 5 + int(20) }, (_, i) => randomFrame(r, i))
      const parts: Uint8Array[] = []
      const untouched: SerialFrame[] = []
      for (const f of sent) {
        const w = encodeSerialFrame(f).slice()
        const roll = r()
        if (roll < 0.15) {
          // Flip 1–8 random bits anywhere in the frame, its delimiters included.
          for (let k = 1 + int(8); k > 0; k--) {
            const i = int(w.length)
            w[i] = w[i]! ^ (1 << int(8))
          }
        } else if (roll < 0.25) {
          // Overwrite random bytes with random values (0x00 included).
          for (let k = 1 + int(4); k > 0; k--) w[int(w.length)] = int(256)
        }
        const touched = roll < 0.25 && !w.every((b, i) => b === encodeSerialFrame(f)[i])
        if (!touched) untouched.push(f)
        parts.push(w)
        // Garbage between frames (after one's trailing 0x00, before the next one's leading 0x00).
        if (r() < 0.2) parts.push(Uint8Array.from({ length: int(r() < 0.2 ? 3000 : 40) }, () => int(256)))
      }
      const stream = concat(...parts)
      const d = new SerialFrameDecoder()
      const rs: SerialDecodeResult[] = []
      let i = 0
      while (i < stream.length) {
        const n = 1 + int(300)
        rs.push(...d.push(stream.subarray(i, i + n)))
        i += n
      }
      rs.push(...d.end())
      const got = frames(rs)
      // Every decoded frame is one that was sent (no phantom frames), in order.
      let k = 0
      for (const g of got) {
        while (k < sent.length && !sameFrame(sent[k]!, g)) k++
        expect(k).toBeLessThan(sent.length)
        k++
      }
      // Every untouched frame arrived.
      let j = 0
      for (const u of untouched) {
        while (j < got.length && !sameFrame(got[j]!, u)) j++
        expect(j, `round ${round}: frame seq ${u.seq} lost`).toBeLessThan(got.length)
        j++
      }
      expect(d.stats.errors).toBe(serialLineErrorCodes.reduce((n, c) => n + d.stats.errorsByCode[c], 0))
      expect(d.stats.errors).toBe(rs.length - got.length)
    }
  })
  it('pure random bytes in random chunks never throw and keep memory bounded', () => {
    const r = rng(99)
    const d = new SerialFrameDecoder()
    for (let i = 0; i < 2000; i++) {
      const chunk = Uint8Array.from({ length: Math.floor(r() * 600) }, () =>
        r() < 0.002 ? 0 : Math.floor(r() * 256),
      )
      expect(() => d.push(chunk)).not.toThrow()
      expect(d.bufferedBytes).toBeLessThanOrEqual(SERIAL_MAX_ENCODED_FRAME_BYTES)
    }
    expect(d.stats.frames).toBe(0)
    expect(d.stats.errors).toBeGreaterThan(0)
  })
})

function sameFrame(a: SerialFrame, b: SerialFrame): boolean {
  return JSON.stringify(normal(a)) === JSON.stringify(normal(b))
}
function normal(f: SerialFrame): unknown {
  return f.type === 'samples' ? { ...f, samples: Array.from(f.samples) } : f
}

describe('decodeSerialFrameBody', () => {
  it('decodes a body without COBS', () => {
    expect(decodeSerialFrameBody(encodeSerialFrameBody(EXAMPLES[3]!))).toEqual({
      ok: true,
      frame: EXAMPLES[3],
    })
  })
})
