import type { PriorityClass } from '@vigil/core'

/** Higher serves first: alarms, then vitals, then waveforms. */
const RANK: Record<PriorityClass, number> = { alarms: 2, vitals: 1, waveform: 0 }

interface Waiter {
  readonly bytes: number
  readonly rank: number
  readonly seq: number
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/**
 * A token bucket shared by all partitions: `take(bytes)` waits until the bytes fit under the cap.
 * Waiters are served strictly by priority class (then arrival), so a waveform backlog never
 * delays an alarm by more than one batch. A request larger than the bucket takes the whole bucket.
 */
export class TokenBucket {
  readonly #ratePerMs: number | null
  readonly #capacity: number
  readonly #clock: () => number
  #tokens: number
  #updatedAt: number
  #seq = 0
  readonly #waiters: Waiter[] = []
  #timer: NodeJS.Timeout | undefined

  /** `bytesPerSecond` null: unlimited. */
  constructor(bytesPerSecond: number | null, capacityBytes: number, clock: () => number = Date.now) {
    this.#ratePerMs = bytesPerSecond === null ? null : bytesPerSecond / 1000
    this.#capacity = capacityBytes
    this.#clock = clock
    this.#tokens = capacityBytes
    this.#updatedAt = clock()
  }

  /** Resolves when `bytes` may be sent; rejects with the signal's reason if it aborts first. */
  take(bytes: number, priority: PriorityClass, signal?: AbortSignal): Promise<void> {
    if (this.#ratePerMs === null) return Promise.resolve()
    signal?.throwIfAborted()
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes: Math.min(bytes, this.#capacity),
        rank: RANK[priority],
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject,
      }
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(waiter)
        if (i >= 0) this.#waiters.splice(i, 1)
        reject(abortReason(signal))
        this.#pump()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(waiter)
      this.#waiters.sort((a, b) => b.rank - a.rank || a.seq - b.seq)
      this.#pump()
    })
  }

  #refill(): void {
    const now = this.#clock()
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#updatedAt) * this.#ratePerMs!)
    this.#updatedAt = now
  }

  #pump(): void {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    this.#refill()
    for (;;) {
      const head = this.#waiters[0]
      if (!head) return
      if (this.#tokens < head.bytes) {
        const waitMs = Math.ceil((head.bytes - this.#tokens) / this.#ratePerMs!)
        this.#timer = setTimeout(
          () => {
            this.#pump()
          },
          Math.max(1, waitMs),
        )
        return
      }
      this.#tokens -= head.bytes
      this.#waiters.shift()
      head.resolve()
    }
  }

  /** Rejects every waiter (on close). */
  close(reason: unknown): void {
    if (this.#timer) clearTimeout(this.#timer)
    for (const w of this.#waiters.splice(0)) w.reject(reason)
  }
}

/** Exponential backoff with full jitter: attempt n waits uniform [0, min(max, initial·2ⁿ)). */
export class Backoff {
  readonly #initialMs: number
  readonly #maxMs: number
  readonly #random: () => number
  #attempt = 0

  constructor(initialMs: number, maxMs: number, random: () => number = Math.random) {
    this.#initialMs = initialMs
    this.#maxMs = maxMs
    this.#random = random
  }

  get attempt(): number {
    return this.#attempt
  }

  /**
   * The next delay; `ceiling` (errors that retrying soon will not fix) waits uniform
   * [max/2, max), so such an error is never retried at once.
   */
  next(ceiling = false): number {
    this.#attempt++
    if (ceiling) return Math.floor(this.#maxMs / 2 + (this.#random() * this.#maxMs) / 2)
    const cap = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt - 1, 30))
    return Math.floor(this.#random() * cap)
  }

  reset(): void {
    this.#attempt = 0
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal))
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(abortReason(signal))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** The signal's reason as an Error (AbortSignal reasons may be anything). */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason
  return reason instanceof Error ? reason : new Error('aborted', { cause: reason })
}

/** Reads `signal.aborted` without TypeScript narrowing it (it changes across awaits). */
export function isAborted(signal: AbortSignal): boolean {
  return signal.aborted
}

/**
 * Settles like `promise`, or rejects with the signal's reason once it aborts (the promise keeps
 * running; its outcome is ignored). For waits that may take long and have no signal of their own.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined)
    return Promise.reject(abortReason(signal))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortReason(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}
