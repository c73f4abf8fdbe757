import type { LogRecord } from './record-codec.ts'

export interface SubscribeOptions {
  /** Where to start: 'earliest' (default), 'latest' (only new records) or an offset. */
  readonly fromOffset?: 'earliest' | 'latest' | number
  /** Ends the subscription when aborted. */
  readonly signal?: AbortSignal
  /** Records fetched per read. */
  readonly batchSize?: number
}

/** What a subscription needs from its log; kept narrow so the iterator has one job. */
export interface SubscriptionSource {
  read(offset: number, maxRecords: number): LogRecord[]
  /** Calls `wake` once records past `position` are readable (or the log closes); returns an unregister function. */
  waitForAppend(position: number, wake: () => void): () => void
  isClosed(): boolean
  onClose(subscription: Subscription): void
}

const DEFAULT_BATCH_SIZE = 500
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * An AsyncIterable over one partition's acknowledged records, in offset order. Waits for new
 * appends without polling; `close()`/`await using` ends it, also while it waits.
 */
export class Subscription implements AsyncIterableIterator<LogRecord, undefined>, AsyncDisposable {
  readonly #source: SubscriptionSource
  readonly #batchSize: number
  readonly #signal: AbortSignal | undefined
  #buffer: LogRecord[] = []
  #index = 0
  #position: number
  #closed = false
  #wake: (() => void) | undefined
  #queue: Promise<unknown> = Promise.resolve()
  readonly #onAbort = (): void => void this.close()

  constructor(source: SubscriptionSource, fromOffset: number, options: SubscribeOptions) {
    this.#source = source
    this.#position = fromOffset
    this.#batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
    this.#signal = options.signal
    if (this.#signal?.aborted) void this.close()
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** The offset of the next record this subscription will yield. */
  get position(): number {
    return this.#position
  }

  /** Calls are served one at a time, in order, so concurrent next() calls each settle. */
  next(): Promise<IteratorResult<LogRecord, undefined>> {
    const result = this.#queue.then(() => this.#next())
    this.#queue = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }

  async #next(): Promise<IteratorResult<LogRecord, undefined>> {
    for (;;) {
      if (this.#closed || this.#source.isClosed()) {
        return this.close()
      }
      if (this.#index < this.#buffer.length) {
        const record = this.#buffer[this.#index++]!
        this.#position = record.offset + 1
        return { done: false, value: record }
      }
      try {
        this.#buffer = this.#source.read(this.#position, this.#batchSize)
      } catch (error) {
        // for await does not call return() when next() rejects: release everything here.
        await this.close()
        throw error
      }
      this.#index = 0
      if (this.#buffer.length > 0) continue
      await new Promise<void>((resolve) => {
        const unregister = this.#source.waitForAppend(this.#position, () => {
          this.#wake = undefined
          resolve()
        })
        this.#wake = () => {
          unregister()
          this.#wake = undefined
          resolve()
        }
      })
    }
  }

  /** Re-checks the log now (after close or trimming). */
  wake(): void {
    this.#wake?.()
  }

  close(): Promise<IteratorReturnResult<undefined>> {
    if (!this.#closed) {
      this.#closed = true
      this.#signal?.removeEventListener('abort', this.#onAbort)
      this.#source.onClose(this)
      this.#buffer = []
      this.wake()
    }
    return Promise.resolve(DONE)
  }

  return(): Promise<IteratorReturnResult<undefined>> {
    return this.close()
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
