import { StateError } from './errors.ts'

/**
 * How far into its input topics a store's contents reach: for each "topic/partition", the offset of
 * the last input record whose effect is in the store. Immutable; a store hands out snapshots.
 *
 * A query answer carries the store's Position, and a caller asks for "at least as fresh as" with
 * `position.dominates(bound)`: true when, for every topic/partition in `bound`, this position has
 * an offset ≥ the bound's. A topic/partition the bound does not name is not constrained.
 */
export class Position {
  readonly #offsets: ReadonlyMap<string, number>

  private constructor(offsets: ReadonlyMap<string, number>) {
    this.#offsets = offsets
  }

  static empty(): Position {
    return EMPTY
  }

  /** From `{ "topic/partition": offset }`, the shape `toJSON` returns. Throws INVALID_ARGUMENT on bad entries. */
  static fromJSON(json: unknown): Position {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new StateError(
        'INVALID_ARGUMENT',
        `a position is an object of "topic/partition": offset, got ${String(json)}`,
      )
    }
    const offsets = new Map<string, number>()
    for (const [tp, offset] of Object.entries(json as Record<string, unknown>)) {
      const slash = tp.lastIndexOf('/')
      const partition = Number(tp.slice(slash + 1))
      if (slash <= 0 || !Number.isSafeInteger(partition) || partition < 0) {
        throw new StateError(
          'INVALID_ARGUMENT',
          `position key ${JSON.stringify(tp)} is not "topic/partition"`,
        )
      }
      offsets.set(tp, checkOffset(offset, tp))
    }
    return new Position(offsets)
  }

  /** The offset recorded for topic/partition, or undefined if the store has seen none from it. */
  offset(topic: string, partition: number): number | undefined {
    return this.#offsets.get(`${topic}/${partition}`)
  }

  /**
   * A position that also covers `offset` of topic/partition. Offsets only move forward: a lower offset
   * than the one recorded leaves the position as it is (a reprocessed record does not make a store staler).
   */
  with(topic: string, partition: number, offset: number): Position {
    const tp = `${topic}/${partition}`
    if (topic.length === 0 || topic.includes('/') || !Number.isSafeInteger(partition) || partition < 0) {
      throw new StateError(
        'INVALID_ARGUMENT',
        `position needs a topic without "/" and a partition ≥ 0, got ${tp}`,
      )
    }
    checkOffset(offset, tp)
    const current = this.#offsets.get(tp)
    if (current !== undefined && current >= offset) return this
    const next = new Map(this.#offsets)
    next.set(tp, offset)
    return new Position(next)
  }

  /** Whether this position is at least as fresh as `bound` on every topic/partition the bound names. */
  dominates(bound: Position): boolean {
    for (const [tp, offset] of bound.#offsets) {
      const mine = this.#offsets.get(tp)
      if (mine === undefined || mine < offset) return false
    }
    return true
  }

  get size(): number {
    return this.#offsets.size
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.#offsets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }

  toString(): string {
    return JSON.stringify(this.toJSON())
  }
}

const EMPTY = Position.fromJSON({})

function checkOffset(offset: unknown, tp: string): number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new StateError('INVALID_ARGUMENT', `offset for ${tp} must be an integer ≥ 0, got ${String(offset)}`)
  }
  return offset
}
