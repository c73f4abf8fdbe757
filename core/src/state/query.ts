import { StateError } from './errors.ts'
import type { Position } from './position.ts'
import type { ReadOnlyStateStore } from './types.ts'

export interface QueryResult<T> {
  readonly result: T
  /** The store's position when the query ran: the answer reflects at least these input offsets. */
  readonly position: Position
}

export interface QueryOptions {
  /** Refuse to answer (NOT_UP_TO_BOUND, retriable) unless the store's position dominates this one. */
  readonly atLeast?: Position
}

/**
 * An interactive query: runs `run` against the store and returns its result with the store's position.
 * With `atLeast`, a store that has not yet processed up to those offsets throws NOT_UP_TO_BOUND
 * (retriable: ask again later, or ask another replica) instead of answering with older data.
 *
 * Stores are read and written on one thread, so the position read before `run` is the one its answer
 * reflects, provided `run` returns plain data: materialize lazy ranges inside it
 * (`s => Array.from(s.range(a, b))`), since iterating after return could see later writes.
 */
export function queryStore<S extends ReadOnlyStateStore, T>(
  store: S,
  run: (store: S) => T,
  options: QueryOptions = {},
): QueryResult<T> {
  const position = store.position()
  if (options.atLeast !== undefined && !position.dominates(options.atLeast)) {
    throw new StateError(
      'NOT_UP_TO_BOUND',
      `store ${store.name} is at ${position.toString()}, behind the requested ${options.atLeast.toString()}; retry once it has caught up`,
      { retriable: true },
    )
  }
  return { result: run(store), position }
}
