import { StreamsError } from './errors.ts'

/* eslint-disable @typescript-eslint/no-unused-vars -- contract in place; the implementation is being written */
import type { StreamInternals } from './graph.ts'

/*
 * The low-level Processor API: user processors with init/process/close, stores and punctuation.
 */

/** A record as a Processor sees it. */
export interface Record<K, V> {
  readonly key: K
  readonly value: V
  readonly timestampMs: number
}

/** A user processor; one instance per task. */
export interface Processor<KIn, VIn, KOut, VOut> {
  init?(context: unknown): void
  process(record: Record<KIn, VIn>): void
  close?(): void
  /** Type marker only. */
  readonly __out?: (record: Record<KOut, VOut>) => void
}

/** Makes a new Processor for each task. */
export type ProcessorSupplier<KIn, VIn, KOut, VOut> = () => Processor<KIn, VIn, KOut, VOut>

export interface ProcessOptions {
  /** Stores (added with StreamsBuilder.addStateStore) the processor reads and writes. */
  readonly stores?: readonly string[]
}

/** Adds a processor node under `parent`; returns the internals of the stream it forwards. */
export function addStreamProcessor(
  _parent: StreamInternals,
  _supplier: ProcessorSupplier<unknown, unknown, unknown, unknown>,
  _options: ProcessOptions,
): StreamInternals {
  throw new StreamsError('INVALID_TOPOLOGY', 'process() is not built yet')
}
