import type { Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'

/* eslint-disable @typescript-eslint/no-unused-vars -- contract in place; the implementation is being written */
import type { Materialized, StreamInternals, TableInternals } from './graph.ts'
import type { JoinWindows } from './windows.ts'

/*
 * Joins (stream–stream windowed, stream–table, table–table) as graph nodes. KStream and KTable call
 * these; each returns the internals of the joined stream or table.
 */

export type JoinKind = 'inner' | 'left' | 'outer'

/** Options of a stream–stream join: names its two window stores and serdes them. */
export interface StreamJoined<K, V, VO> {
  /** Prefix of the join's store names (generated when absent). */
  readonly name?: string
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly otherValueSerde?: Serde<VO>
}

/** Options of a stream–table join: serdes for repartitioning the stream if its key changed. */
export interface Joined<K, V> {
  readonly name?: string
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
}

export type ValueJoiner = (value: unknown, otherValue: unknown, key: unknown) => unknown

export function streamStreamJoin(
  _left: StreamInternals,
  _right: StreamInternals,
  _joiner: ValueJoiner,
  _windows: JoinWindows,
  kind: JoinKind,
  _options: StreamJoined<unknown, unknown, unknown>,
): StreamInternals {
  throw new StreamsError('INVALID_TOPOLOGY', `stream–stream ${kind} join is not built yet`)
}

export function streamTableJoin(
  _stream: StreamInternals,
  _table: TableInternals,
  _joiner: ValueJoiner,
  kind: 'inner' | 'left',
  _options: Joined<unknown, unknown>,
): StreamInternals {
  throw new StreamsError('INVALID_TOPOLOGY', `stream–table ${kind} join is not built yet`)
}

export function tableTableJoin(
  _left: TableInternals,
  _right: TableInternals,
  _joiner: ValueJoiner,
  kind: JoinKind,
  _materialized: Materialized<unknown, unknown>,
): TableInternals {
  throw new StreamsError('INVALID_TOPOLOGY', `table–table ${kind} join is not built yet`)
}
