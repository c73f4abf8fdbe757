// Ground truth as JSON lines: a `run` header, then every TruthRecord in time order per patient.
import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import type { TruthRecord } from '../signals/index.ts'
import type { ScenarioSpec } from './load.ts'

/** The first line of a truth file: what was run, so the file can be scored on its own. */
export interface TruthRunHeader {
  readonly type: 'run'
  readonly scenario: string
  readonly seed: number
  /** Unix ms of t = 0 (device clocks). */
  readonly startEpochMs: number
  readonly durationMs: number
  readonly patients: readonly string[]
}

/** Buffers lines and writes them in chunks, waiting for the stream to drain (bounded memory on long runs). */
export class TruthFile {
  readonly #stream: WriteStream
  #pending: string[] = []
  #records = 0
  #failure: Error | undefined

  private constructor(stream: WriteStream) {
    this.#stream = stream
    stream.on('error', (error) => (this.#failure = error))
  }

  /** Opens (truncating) `path`, writes the header. Rejects when the file cannot be created. */
  static async open(
    path: string,
    scenario: ScenarioSpec,
    seed: number,
    durationMs: number,
  ): Promise<TruthFile> {
    const stream = createWriteStream(path, { flags: 'w' })
    await Promise.race([
      once(stream, 'open'),
      once(stream, 'error').then(([error]) => Promise.reject(error as Error)),
    ])
    const file = new TruthFile(stream)
    const header: TruthRunHeader = {
      type: 'run',
      scenario: scenario.name,
      seed,
      startEpochMs: scenario.startEpochMs,
      durationMs,
      patients: scenario.patients.map((p) => p.id),
    }
    file.#pending.push(JSON.stringify(header))
    return file
  }

  get records(): number {
    return this.#records
  }

  add(records: readonly TruthRecord[]): void {
    for (const r of records) this.#pending.push(JSON.stringify(r))
    this.#records += records.length
  }

  /** Writes what is buffered; resolves when the stream can take more. */
  async flush(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#pending.length === 0) return
    const chunk = this.#pending.join('\n') + '\n'
    this.#pending = []
    if (!this.#stream.write(chunk)) await once(this.#stream, 'drain')
  }

  async close(): Promise<void> {
    await this.flush()
    this.#stream.end()
    await once(this.#stream, 'finish')
    if (this.#failure !== undefined) throw this.#failure
  }
}
