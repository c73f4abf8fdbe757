import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Backoff, TokenBucket } from '../../src/index.ts'

describe('TokenBucket', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('caps the rate and serves alarms, then vitals, then waveforms', async () => {
    const bucket = new TokenBucket(1_000, 1_000, () => Date.now())
    const order: string[] = []
    await bucket.take(1_000, 'waveform') // empties the bucket
    const waits = [
      bucket.take(500, 'waveform').then(() => order.push(`waveform@${Date.now()}`)),
      bucket.take(500, 'vitals').then(() => order.push(`vitals@${Date.now()}`)),
      bucket.take(500, 'alarms').then(() => order.push(`alarms@${Date.now()}`)),
    ]
    await vi.advanceTimersByTimeAsync(2_000)
    await Promise.all(waits)
    expect(order).toEqual(['alarms@500', 'vitals@1000', 'waveform@1500'])
  })

  it('lets a request larger than the bucket through with the whole bucket, and is unlimited without a rate', async () => {
    const capped = new TokenBucket(1_000, 100, () => Date.now())
    await capped.take(10_000, 'vitals')
    let done = false
    void capped.take(100, 'vitals').then(() => (done = true))
    await vi.advanceTimersByTimeAsync(99)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(done).toBe(true)
    await new TokenBucket(null, 1).take(1e12, 'waveform')
  })

  it('rejects a waiter whose signal aborts and serves the next', async () => {
    const bucket = new TokenBucket(1_000, 1_000, () => Date.now())
    await bucket.take(1_000, 'vitals')
    const ac = new AbortController()
    const aborted = bucket.take(1_000, 'alarms', ac.signal)
    const next = bucket.take(100, 'vitals')
    ac.abort(new Error('closing'))
    await expect(aborted).rejects.toThrow('closing')
    await vi.advanceTimersByTimeAsync(100)
    await next
  })
})

describe('Backoff', () => {
  it('grows exponentially with full jitter up to the cap, and resets', () => {
    const max = new Backoff(100, 1_000, () => 0.999_999)
    expect([0, 1, 2, 3, 4, 5].map(() => max.next())).toEqual([99, 199, 399, 799, 999, 999])
    max.reset()
    expect(max.next()).toBe(99)
    expect(max.next(true)).toBe(999) // not retriable soon: [cap/2, cap)
    const min = new Backoff(100, 1_000, () => 0)
    expect(min.next()).toBe(0) // full jitter: anywhere from 0, so reconnects do not synchronise
    expect(min.next(true)).toBe(500) // but an error that will not fix itself soon waits at least half the cap
  })
})
