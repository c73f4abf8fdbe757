/** Percentiles of the most recent `capacity` latency samples (a ring; old samples fall out). */
export class LatencyWindow {
  readonly #samples: Float64Array
  #count = 0
  #next = 0
  #max = 0

  constructor(capacity = 8192) {
    this.#samples = new Float64Array(capacity)
  }

  record(ms: number): void {
    this.#samples[this.#next] = ms
    this.#next = (this.#next + 1) % this.#samples.length
    if (this.#count < this.#samples.length) this.#count++
    if (ms > this.#max) this.#max = ms
  }

  snapshot(): LatencySummary {
    if (this.#count === 0) return { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 }
    const sorted = this.#samples.slice(0, this.#count).sort()
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
    return { count: this.#count, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: this.#max }
  }
}

export interface LatencySummary {
  readonly count: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Largest since the log opened. */
  readonly maxMs: number
}
