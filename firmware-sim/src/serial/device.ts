import {
  encodeSerialFrame,
  SERIAL_MAX_TIMESTAMP_US,
  SerialProtocolError,
  type SerialFrame,
  type SerialResetReason,
} from '@vigil/device/protocol'
import { SerialSimError } from './errors.ts'
import type { SerialSource, SerialSourceItem } from './source.ts'

/**
 * Faults a real serial link or device shows, injected on demand (`inject`) or at random:
 * - `flip-bits`: `bits` (default 1) bits of the next frame's encoded bytes are flipped (never into
 *   0x00 and never a delimiter, so exactly that frame is damaged).
 * - `truncate`: the next frame loses the tail of its encoded bytes (a UART overrun); its delimiter stays.
 * - `garbage`: `bytes` (default 1–32) printable bytes appear on the line before the next frame.
 * - `noise`: a burst of `bytes` (default 64–4096) random bytes, 0x00 included, before the next frame.
 * - `reset`: the device reboots at the start of the next step: every sequence number restarts at 0,
 *   the device clock restarts at 0, and the first frame after it is a device status (sensor 0) carrying
 *   `reason` (default 'watchdog'). Items that predate the reset and were not yet sent are lost (counted in
 *   `stats.lostInReset`), also those ready only in a later step, such as a block spanning the reset.
 * - `drift`: from the start of the next step the device clock runs `ppm` parts per million fast
 *   (negative: slow), continuing from its current reading.
 */
export type SerialFault =
  | { readonly kind: 'flip-bits'; readonly bits?: number }
  | { readonly kind: 'truncate' }
  | { readonly kind: 'garbage'; readonly bytes?: number }
  | { readonly kind: 'noise'; readonly bytes?: number }
  | { readonly kind: 'reset'; readonly reason?: SerialResetReason }
  | { readonly kind: 'drift'; readonly ppm: number }
export type SerialFaultKind = SerialFault['kind']
export const serialFaultKinds = ['flip-bits', 'truncate', 'garbage', 'noise', 'reset', 'drift'] as const

/** The most bits `flip-bits` may flip, and the most bytes `garbage` / `noise` may write. */
export const MAX_FLIP_BITS = 64
export const MAX_GARBAGE_BYTES = 64 * 1024

export interface RandomFaultOptions {
  /** Chance per frame, in [0, 1], that a fault is injected before it. */
  readonly probability: number
  /** Kinds to draw from, uniformly; default all six. */
  readonly kinds?: readonly SerialFaultKind[]
  /** Seed of the fault generator (uint32); the same seed and source give the same bytes. */
  readonly seed?: number
}

export interface SerialDeviceCoreOptions {
  /** Random faults; default none. */
  readonly randomFaults?: RandomFaultOptions
  /** Initial clock drift, ppm; default 0. */
  readonly driftPpm?: number
  /** Reason in the boot status frame; default 'power-on'. */
  readonly bootReason?: SerialResetReason
}

/** A frame the device put on the line, and what happened to it. */
export interface SentFrame {
  readonly frame: SerialFrame
  /** True (simulated) time of the item, ms. */
  readonly timeMs: number
  /** Offset of the frame's leading delimiter in the device's byte stream. */
  readonly wireOffset: number
  /** The fault that damaged this frame, or null: the receiver must decode exactly `frame` (vital values rounded to 0.001 as on the wire). */
  readonly damagedBy: 'flip-bits' | 'truncate' | null
}

/** A fault as applied, with the number of bad frames a decoder must report for it. */
export interface InjectedFault {
  readonly fault: SerialFault
  /** Simulated time it took effect, ms. */
  readonly timeMs: number
  readonly wireOffset: number
  /** Bad frames this fault makes the receiver report (garbage and noise: one per 0x00-separated run). */
  readonly expectedErrors: number
}

export interface SerialDeviceStep {
  /** Bytes to write, in order (may be empty). */
  readonly bytes: Uint8Array
  readonly frames: readonly SentFrame[]
  readonly faults: readonly InjectedFault[]
}

export interface SerialDeviceStats {
  framesSent: number
  framesDamaged: number
  faults: Record<SerialFaultKind, number>
  /** Bad frames a receiver must report, over all faults so far. */
  expectedErrors: number
  /** Items lost because a reset happened before they were sent. */
  lostInReset: number
  bytes: number
}

/**
 * The device without I/O: turns source items into wire bytes, assigning per-sensor sequence numbers
 * and device timestamps, and applies faults. Deterministic for a given source, options and injections.
 */
export class SerialDeviceCore {
  readonly stats: SerialDeviceStats = {
    framesSent: 0,
    framesDamaged: 0,
    faults: { 'flip-bits': 0, truncate: 0, garbage: 0, noise: 0, reset: 0, drift: 0 },
    expectedErrors: 0,
    lostInReset: 0,
    bytes: 0,
  }
  readonly #source: SerialSource
  readonly #random: { probability: number; kinds: readonly SerialFaultKind[] } | null
  readonly #rng: () => number
  #timeMs = 0
  #seq = new Map<number, number>()
  #resetReason: SerialResetReason
  #clockBaseUs = 0
  #clockRefMs = 0
  #driftPpm: number
  #pendingStep: SerialFault[] = []
  #pendingFrame: SerialFault[] = []
  #bootPending = true
  /** Simulated time of the last reset, ms: items from before it were lost with the device's buffers. */
  #resetAtMs = -Infinity

  constructor(source: SerialSource, options: SerialDeviceCoreOptions = {}) {
    this.#source = source
    this.#driftPpm = checkDrift(options.driftPpm ?? 0)
    this.#resetReason = options.bootReason ?? 'power-on'
    const r = options.randomFaults
    if (r === undefined) {
      this.#random = null
    } else {
      if (!(r.probability >= 0 && r.probability <= 1)) {
        throw new SerialSimError(
          'INVALID_ARGUMENT',
          `randomFaults.probability must be in [0, 1], got ${r.probability}`,
        )
      }
      const kinds = r.kinds ?? serialFaultKinds
      for (const k of kinds) checkKind(k)
      if (kinds.length === 0)
        throw new SerialSimError('INVALID_ARGUMENT', 'randomFaults.kinds is empty; omit it for all kinds')
      this.#random = { probability: r.probability, kinds }
    }
    this.#rng = mulberry32(r?.seed ?? 1)
  }

  /** Simulated time everything before which has been sent, ms. */
  get timeMs(): number {
    return this.#timeMs
  }

  /** The device clock at simulated time `tMs`, µs (what a frame stamped at that time carries). */
  deviceTimeUs(tMs: number): number {
    const us = Math.round(this.#clockBaseUs + (tMs - this.#clockRefMs) * 1000 * (1 + this.#driftPpm / 1e6))
    return Math.min(SERIAL_MAX_TIMESTAMP_US, Math.max(0, us))
  }

  /** Queues a fault; it applies to the next frame (reset, drift: the next step). Throws INVALID_ARGUMENT. */
  inject(fault: SerialFault): void {
    checkFault(fault)
    if (fault.kind === 'reset' || fault.kind === 'drift') this.#pendingStep.push(fault)
    else this.#pendingFrame.push(fault)
  }

  /** Sends everything the source has in [timeMs, tMs). */
  advanceTo(tMs: number): SerialDeviceStep {
    if (!(tMs >= this.#timeMs) || !Number.isFinite(tMs)) {
      throw new SerialSimError(
        'INVALID_ARGUMENT',
        `advanceTo(${tMs}) must be finite and ≥ the current time ${this.#timeMs}`,
      )
    }
    const from = this.#timeMs
    const out = new Writer(this.stats.bytes)
    const frames: SentFrame[] = []
    const faults: InjectedFault[] = []
    for (const f of this.#pendingStep.splice(0)) faults.push(this.#applyStepFault(f, from, out))
    if (this.#bootPending) {
      this.#bootPending = false
      frames.push(
        this.#send(out, faults, { timeMs: from, sensorId: 0, payload: bootStatus(this.#resetReason) }),
      )
    }
    let items: SerialSourceItem[]
    try {
      items = [...this.#source.advanceTo(tMs)]
    } catch (cause) {
      throw new SerialSimError('SOURCE_FAILED', `the frame source failed at advanceTo(${tMs})`, { cause })
    }
    items.sort((a, b) => a.timeMs - b.timeMs)
    for (const item of items) {
      // Also in later steps: a block that began before the reset and completes after it is lost.
      if (item.timeMs < this.#resetAtMs) {
        this.stats.lostInReset++
        continue
      }
      frames.push(this.#send(out, faults, item))
    }
    this.#timeMs = tMs
    const bytes = out.bytes()
    this.stats.bytes += bytes.length
    return { bytes, frames, faults }
  }

  #applyStepFault(f: SerialFault, t: number, out: Writer): InjectedFault {
    this.stats.faults[f.kind]++
    if (f.kind === 'reset') {
      this.#seq.clear()
      this.#clockBaseUs = 0
      this.#clockRefMs = t
      this.#resetAtMs = t
      this.#resetReason = f.reason ?? 'watchdog'
      this.#bootPending = true
    } else if (f.kind === 'drift') {
      this.#clockBaseUs = this.deviceTimeUs(t)
      this.#clockRefMs = t
      this.#driftPpm = f.ppm
    }
    return { fault: f, timeMs: t, wireOffset: out.offset, expectedErrors: 0 }
  }

  #send(out: Writer, faults: InjectedFault[], item: SerialSourceItem): SentFrame {
    if (this.#random !== null && this.#rng() < this.#random.probability) {
      const kind = this.#random.kinds[Math.floor(this.#rng() * this.#random.kinds.length)]!
      const fault: SerialFault =
        kind === 'drift' ? { kind, ppm: Math.round((this.#rng() * 2 - 1) * 200) } : { kind }
      if (kind === 'reset' || kind === 'drift') this.#pendingStep.push(fault)
      else this.#pendingFrame.push(fault)
    }
    const seq = this.#seq.get(item.sensorId) ?? 0
    const payload =
      item.payload.type === 'status' ? { ...item.payload, resetReason: this.#resetReason } : item.payload
    const header = { sensorId: item.sensorId, seq, timestampUs: this.deviceTimeUs(item.timeMs) }
    // Record what the receiver will decode: vital values travel in thousandths.
    const frame = (
      payload.type === 'vital' && Number.isFinite(payload.value)
        ? { ...payload, value: Math.round(payload.value * 1000) / 1000, ...header }
        : { ...payload, ...header }
    ) as SerialFrame
    let wire: Uint8Array
    try {
      wire = encodeSerialFrame(frame)
    } catch (cause) {
      const why = cause instanceof SerialProtocolError ? cause.message : String(cause)
      throw new SerialSimError(
        'SOURCE_FAILED',
        `source item at ${item.timeMs} ms for sensor ${item.sensorId}: ${why}`,
        {
          cause,
        },
      )
    }
    this.#seq.set(item.sensorId, (seq + 1) % 2 ** 32)
    let damagedBy: SentFrame['damagedBy'] = null
    // All queued junk goes before this frame; only one damaging fault per frame, the rest wait.
    const queued = this.#pendingFrame.splice(0)
    // Junk written back to back is one run on the line until a 0x00 separates it.
    let inRun = false
    for (const f of queued) {
      if (f.kind !== 'garbage' && f.kind !== 'noise' && f.kind !== 'flip-bits' && f.kind !== 'truncate')
        continue
      if ((f.kind === 'flip-bits' || f.kind === 'truncate') && damagedBy !== null) {
        this.#pendingFrame.push(f)
        continue
      }
      this.stats.faults[f.kind]++
      const at = out.offset
      let expectedErrors: number
      if (f.kind === 'garbage' || f.kind === 'noise') {
        const junk = f.kind === 'garbage' ? this.#garbage(f.bytes) : this.#noise(f.bytes)
        out.push(junk)
        expectedErrors = runs(junk, inRun)
        inRun = junk.length > 0 ? junk[junk.length - 1] !== 0 : inRun
      } else {
        wire = f.kind === 'flip-bits' ? this.#flip(wire, f.bits ?? 1) : this.#truncate(wire)
        damagedBy = f.kind
        expectedErrors = 1
      }
      this.stats.expectedErrors += expectedErrors
      faults.push({ fault: f, timeMs: item.timeMs, wireOffset: at, expectedErrors })
    }
    const sent: SentFrame = { frame, timeMs: item.timeMs, wireOffset: out.offset, damagedBy }
    out.push(wire)
    this.stats.framesSent++
    if (damagedBy !== null) this.stats.framesDamaged++
    return sent
  }

  #int(below: number): number {
    return Math.floor(this.#rng() * below)
  }

  #flip(wire: Uint8Array, bits: number): Uint8Array {
    const w = wire.slice()
    const inner = w.length - 2
    const positions = new Set<number>()
    while (positions.size < Math.min(bits, inner * 8)) positions.add(this.#int(inner * 8))
    for (const p of positions) {
      const i = 1 + (p >> 3)
      let flipped = w[i]! ^ (1 << (p & 7))
      // A byte with only this bit set would become 0x00, a delimiter: flip its neighbour bit instead.
      if (flipped === 0) flipped = w[i]! ^ (1 << ((p + 1) & 7))
      w[i] = flipped
    }
    // Flips in one byte can cancel out (via the fallback above); a frame marked damaged must differ.
    if (w.every((b, i) => b === wire[i])) return this.#flip(wire, 1)
    return w
  }

  #truncate(wire: Uint8Array): Uint8Array {
    const inner = wire.length - 2
    const keep = 1 + this.#int(inner - 1)
    const w = new Uint8Array(keep + 2)
    w.set(wire.subarray(0, 1 + keep))
    return w
  }

  #garbage(bytes: number | undefined): Uint8Array {
    const n = bytes ?? 1 + this.#int(32)
    const g = new Uint8Array(n)
    for (let i = 0; i < n; i++) g[i] = 0x20 + this.#int(0x5f)
    return g
  }

  #noise(bytes: number | undefined): Uint8Array {
    const n = bytes ?? 64 + this.#int(4096 - 64 + 1)
    const g = new Uint8Array(n)
    for (let i = 0; i < n; i++) g[i] = this.#int(256)
    return g
  }
}

function bootStatus(reason: SerialResetReason): SerialSourceItem['payload'] {
  return { type: 'status', batteryPercent: null, leadOff: 0, resetReason: reason, charging: false }
}

/**
 * New non-empty runs of bytes between 0x00s (each is one bad frame for the receiver); `continuing`:
 * the bytes just before `junk` were a run that it may extend.
 */
function runs(junk: Uint8Array, continuing: boolean): number {
  let n = 0
  let inRun = continuing
  for (const b of junk) {
    if (b !== 0 && !inRun) n++
    inRun = b !== 0
  }
  return n
}

class Writer {
  readonly #parts: Uint8Array[] = []
  #length = 0
  readonly #base: number
  constructor(base: number) {
    this.#base = base
  }
  get offset(): number {
    return this.#base + this.#length
  }
  push(b: Uint8Array): void {
    this.#parts.push(b)
    this.#length += b.length
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length)
    let o = 0
    for (const p of this.#parts) {
      out.set(p, o)
      o += p.length
    }
    return out
  }
}

function checkKind(k: unknown): asserts k is SerialFaultKind {
  if (!(serialFaultKinds as readonly unknown[]).includes(k)) {
    throw new SerialSimError(
      'INVALID_ARGUMENT',
      `fault kind must be one of ${serialFaultKinds.join(', ')}; got ${JSON.stringify(k)}`,
    )
  }
}

function checkDrift(ppm: number): number {
  if (!Number.isFinite(ppm) || Math.abs(ppm) > 100_000) {
    throw new SerialSimError(
      'INVALID_ARGUMENT',
      `clock drift must be a finite ppm in [-100000, 100000], got ${ppm}`,
    )
  }
  return ppm
}

function checkFault(f: SerialFault): void {
  checkKind(f.kind)
  const range = (v: number | undefined, min: number, max: number, what: string): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
      throw new SerialSimError(
        'INVALID_ARGUMENT',
        `${f.kind} ${what} must be an integer in [${min}, ${max}], got ${v}`,
      )
    }
  }
  switch (f.kind) {
    case 'flip-bits':
      range(f.bits, 1, MAX_FLIP_BITS, 'bits')
      break
    case 'garbage':
    case 'noise':
      range(f.bytes, 1, MAX_GARBAGE_BYTES, 'bytes')
      break
    case 'drift':
      checkDrift(f.ppm)
      break
    case 'truncate':
    case 'reset':
      break
    default:
      f satisfies never
  }
}

/** A small seeded PRNG (mulberry32): fault bytes must be reproducible, not secure. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
