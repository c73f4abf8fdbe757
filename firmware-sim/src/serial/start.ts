import { once } from 'node:events'
import {
  SerialDeviceCore,
  type InjectedFault,
  type RandomFaultOptions,
  type SentFrame,
  type SerialFault,
  type SerialDeviceStats,
} from './device.ts'
import { SerialSimError } from './errors.ts'
import { openPty } from './pty.ts'
import type { SerialSource } from './source.ts'

/** Wall time between pacing steps at a finite speed. */
export const DEFAULT_TICK_MS = 20
/** Simulated time per step when running as fast as possible (speed Infinity). */
export const DEFAULT_FAST_STEP_MS = 1_000
/** The conventional rate of these devices; a pty has no line rate, so this only labels the link. */
export const DEFAULT_BAUD_RATE = 115_200

export interface SerialDeviceOptions {
  /** Where the gateway opens the device: a symlink to the pty, e.g. /tmp/vigil-tty. */
  readonly link: string
  readonly source: SerialSource
  /**
   * The baud rate the gateway is configured with (default 115200). A pty carries bytes at any rate,
   * so nothing is throttled: `stats().lineLoad` tells whether a real UART at this rate would keep up.
   */
  readonly baudRate?: number
  /** Simulated ms per wall ms: 1 real time, 10 ten times faster, Infinity as fast as the reader takes it. Default 1. */
  readonly speed?: number
  /** Stop after this much simulated time, ms (the handle's `done` then resolves). Default: run until close(). */
  readonly durationMs?: number
  readonly tickMs?: number
  readonly randomFaults?: RandomFaultOptions
  readonly driftPpm?: number
  /** Called after each step's bytes are handed to the pty, with what they contain. */
  readonly onStep?: (step: {
    readonly frames: readonly SentFrame[]
    readonly faults: readonly InjectedFault[]
  }) => void
  /**
   * Start paused: the pty exists but nothing is sent (and simulated time does not run) until resume().
   * A gateway that opens the port flushes whatever the pty buffered (serialport does tcflush on open),
   * so a test that must see every byte opens the port first and then resumes. Default false.
   */
  readonly paused?: boolean
  /** Monotonic wall clock, ms (default performance.now); injected by tests. */
  readonly now?: () => number
  readonly socatPath?: string
}

export interface SerialDeviceStatsSnapshot extends SerialDeviceStats {
  /** Simulated time sent so far, ms. */
  readonly timeMs: number
  /** Bits per simulated second (10 per byte, 8N1) over the baud rate: > 1 means a real UART would fall behind. */
  readonly lineLoad: number
}

export interface SerialDeviceHandle extends AsyncDisposable {
  readonly link: string
  /** The pty device the link points to. */
  readonly device: string
  readonly baudRate: number
  /** Starts sending (when started with `paused`); simulated time 0 is now. Idempotent. */
  resume(): void
  /** Queues a fault (see SerialFault); throws SerialSimError INVALID_ARGUMENT or CLOSED. */
  inject(fault: SerialFault): void
  stats(): SerialDeviceStatsSnapshot
  /** Resolves when `durationMs` of simulated time has been sent (never without it); rejects if the device fails. */
  readonly done: Promise<void>
  /** Stops sending, closes the pty and removes the link; idempotent. */
  close(): Promise<void>
}

/**
 * Starts a simulated serial device: a pty at `link` (via socat) carrying the serial frame protocol
 * v1 from `source`, paced by `speed`. Resolves once the link exists and the device is sending.
 * Throws SerialSimError SOCAT_NOT_FOUND, PTY_FAILED or INVALID_ARGUMENT.
 */
export async function startSerialDevice(options: SerialDeviceOptions): Promise<SerialDeviceHandle> {
  const speed = options.speed ?? 1
  if (!(speed > 0)) {
    throw new SerialSimError(
      'INVALID_ARGUMENT',
      `speed must be > 0 (Infinity for as fast as possible), got ${speed}`,
    )
  }
  const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE
  if (!Number.isInteger(baudRate) || baudRate < 50 || baudRate > 16_000_000) {
    throw new SerialSimError(
      'INVALID_ARGUMENT',
      `baudRate must be an integer in [50, 16000000], got ${baudRate}`,
    )
  }
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS
  if (!(tickMs >= 1 && tickMs <= 10_000)) {
    throw new SerialSimError('INVALID_ARGUMENT', `tickMs must be in [1, 10000], got ${tickMs}`)
  }
  const durationMs = options.durationMs ?? Infinity
  if (!(durationMs > 0))
    throw new SerialSimError('INVALID_ARGUMENT', `durationMs must be > 0, got ${durationMs}`)
  const core = new SerialDeviceCore(options.source, {
    ...(options.randomFaults === undefined ? {} : { randomFaults: options.randomFaults }),
    ...(options.driftPpm === undefined ? {} : { driftPpm: options.driftPpm }),
  })
  const pty = await openPty({
    link: options.link,
    ...(options.socatPath === undefined ? {} : { socatPath: options.socatPath }),
  })
  const now = options.now ?? (() => performance.now())
  // An object, not lets: the loop re-reads these after every await, which flow analysis cannot see.
  const state: { closed: boolean; wake: (() => void) | null } = { closed: false, wake: null }
  const isClosed = (): boolean => state.closed

  let resume = (): void => {}
  const resumed =
    options.paused === true
      ? new Promise<void>((resolve) => {
          resume = resolve
        })
      : Promise.resolve()
  const run = async (): Promise<void> => {
    await resumed
    const startWall = now()
    while (!state.closed && core.timeMs < durationMs) {
      const target = Math.min(
        durationMs,
        speed === Infinity ? core.timeMs + DEFAULT_FAST_STEP_MS : (now() - startWall) * speed,
      )
      if (target > core.timeMs) {
        const step = core.advanceTo(target)
        if (step.bytes.length > 0 && !pty.input.write(step.bytes)) {
          await Promise.race([once(pty.input, 'drain'), pty.exited])
        }
        options.onStep?.({ frames: step.frames, faults: step.faults })
      }
      if (isClosed() || core.timeMs >= durationMs) break
      await new Promise<void>((resolve) => {
        state.wake = resolve
        if (speed === Infinity) setImmediate(resolve)
        else setTimeout(resolve, tickMs)
      })
      state.wake = null
    }
  }
  const exitedEarly = pty.exited.then((code) => {
    if (!state.closed)
      throw new SerialSimError('PTY_FAILED', `socat exited (code ${code}) while the device was running`)
  })
  const done = Promise.race([run(), exitedEarly])
  // The handle's owner observes failures through `done`; keep an unobserved rejection from crashing the process.
  done.catch(() => {})

  const handle: SerialDeviceHandle = {
    link: pty.link,
    device: pty.device,
    baudRate,
    resume(): void {
      resume()
    },
    inject(fault: SerialFault): void {
      if (state.closed) throw new SerialSimError('CLOSED', `the serial device at ${pty.link} is closed`)
      core.inject(fault)
    },
    stats(): SerialDeviceStatsSnapshot {
      const s = core.stats
      return {
        ...s,
        faults: { ...s.faults },
        timeMs: core.timeMs,
        lineLoad: core.timeMs > 0 ? (s.bytes * 10) / ((core.timeMs / 1000) * baudRate) : 0,
      }
    },
    done,
    async close(): Promise<void> {
      if (!state.closed) {
        state.closed = true
        resume()
        state.wake?.()
      }
      // Close the pty first: a loop blocked on a full pty (nobody reading) only wakes when socat exits.
      await pty.close()
      await done.catch(() => {})
    },
    [Symbol.asyncDispose](): Promise<void> {
      return handle.close()
    },
  }
  return handle
}
