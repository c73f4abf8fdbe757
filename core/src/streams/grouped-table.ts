import { Serdes, type Serde } from '../state/index.ts'
import { materializedSchema, parseOrThrow } from './options.ts'
import { DEFAULT_SERDE, type Graph, type Materialized, type TableInternals } from './graph.ts'
import type { ProcessorContext, StreamRecord } from './topology.ts'

/*
 * KTable.groupBy → KGroupedTable → count/reduce/aggregate, with Kafka Streams' subtractor
 * semantics: a change of a table row (old value → new value) moves the row between groups, so the
 * old value is subtracted from its old group's aggregate and the new value added to its new group's.
 * Changes travel through the repartition topic `<applicationId>-<name>-repartition` so each group's
 * state lives in exactly one task. As in Kafka Streams since KIP-904, a change that stays in its group
 * is ONE record carrying both values — subtracted then added, emitting once, so an aggregate never
 * shows a transient value (a count dipping to 0) — and a move is two: old group first, then new.
 */

/** A row change as its group sees it: the value leaving (`old`) and/or entering (`new`). */
interface GroupChange {
  readonly old?: unknown
  readonly new?: unknown
}

/* change => flags:u8 (1 old present, 2 new present) [oldLength:u32be old] [new]   (new runs to the end) */
function groupChangeSerde(inner: Serde<unknown>): Serde<GroupChange> {
  return {
    serialize(change) {
      const old = 'old' in change ? inner.serialize(change.old) : undefined
      const added = 'new' in change ? inner.serialize(change.new) : undefined
      const out = new Uint8Array(1 + (old === undefined ? 0 : 4 + old.byteLength) + (added?.byteLength ?? 0))
      out[0] = (old === undefined ? 0 : 1) | (added === undefined ? 0 : 2)
      let at = 1
      if (old !== undefined) {
        new DataView(out.buffer).setUint32(at, old.byteLength)
        out.set(old, at + 4)
        at += 4 + old.byteLength
      }
      if (added !== undefined) out.set(added, at)
      return out
    },
    deserialize(bytes) {
      const flags = bytes[0]
      if (flags === undefined || flags < 1 || flags > 3) {
        throw new Error(`a grouped-table repartition record starts with flags 1–3, got ${flags ?? 'nothing'}`)
      }
      let at = 1
      const change: { old?: unknown; new?: unknown } = {}
      if ((flags & 1) !== 0) {
        if (bytes.byteLength < 5) throw new Error('a grouped-table repartition record is truncated')
        const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1)
        if (5 + length > bytes.byteLength) throw new Error('a grouped-table repartition record is truncated')
        change.old = inner.deserialize(bytes.subarray(5, 5 + length))
        at = 5 + length
      }
      if ((flags & 2) !== 0) change.new = inner.deserialize(bytes.subarray(at))
      return change
    },
  }
}

/** How one value entering (add) or leaving a group changes its aggregate (`undefined`: none yet). */
type TableFold = (key: unknown, value: unknown, add: boolean, current: unknown) => unknown

/** The aggregations behind KGroupedTable (which wraps their results into KTables). */
export class GroupedTableAggregations<K, V> {
  readonly #graph: Graph
  readonly #node: string
  readonly #keySerde: Serde<unknown>
  readonly #valueSerde: Serde<unknown>

  /** Internal: from KTable.groupBy(). `node` forwards `Signed` values keyed by group. */
  constructor(graph: Graph, node: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>) {
    this.#graph = graph
    this.#node = node
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
  }

  /** Rows per group (Serdes.Long); a row leaving a group decrements it. */
  count(materialized: Materialized<K, number> = {}): TableInternals {
    return this.#aggregate(
      'count',
      materialized,
      Serdes.Long as Serde<unknown>,
      (_key, _value, add, current) => {
        const count = (current as number | undefined) ?? 0
        return add ? count + 1 : count - 1
      },
    )
  }

  /**
   * Combines each group's rows: `adder(aggregate, value)` for a row entering the group (the first
   * row is the start), `subtractor(aggregate, value)` for a row leaving it.
   */
  reduce(
    adder: (aggregate: V, value: V) => V,
    subtractor: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
  ): TableInternals {
    return this.#aggregate('reduce', materialized, this.#valueSerde, (_key, value, add, current) => {
      if (add) return current === undefined ? value : adder(current as V, value as V)
      // Kafka Streams' KTableReduce: subtracting from a group with no aggregate leaves it absent.
      return current === undefined ? undefined : subtractor(current as V, value as V)
    })
  }

  /**
   * Folds each group's rows: `adder(key, value, aggregate)` for a row entering the group,
   * `subtractor(key, value, aggregate)` for a row leaving it, from `initializer()`. `valueSerde`
   * (default Serdes.String) serializes the aggregate.
   */
  aggregate<VA>(
    initializer: () => VA,
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> = {},
  ): TableInternals {
    return this.#aggregate('aggregate', materialized, DEFAULT_SERDE, (key, value, add, current) => {
      const aggregate = current === undefined ? initializer() : (current as VA)
      return add ? adder(key as K, value as V, aggregate) : subtractor(key as K, value as V, aggregate)
    })
  }

  #aggregate<VA>(
    operation: string,
    materialized: Materialized<K, VA>,
    defaultValueSerde: Serde<unknown>,
    fold: TableFold,
  ): TableInternals {
    const parsed = parseOrThrow(
      materializedSchema,
      materialized,
      `materialized options of table ${operation}()`,
    )
    const graph = this.#graph
    const storeName = parsed.name ?? graph.name('KTABLE-AGGREGATE-STATE-STORE')
    const keySerde = parsed.keySerde ?? this.#keySerde
    const valueSerde = parsed.valueSerde ?? defaultValueSerde
    // Always repartitioned: the group key is new by definition.
    const topic = `${storeName}-repartition`
    const serdes = { keySerde, valueSerde: groupChangeSerde(this.#valueSerde) as Serde<unknown> }
    graph.add({
      kind: 'sink',
      name: `${topic}-sink`,
      parents: [this.#node],
      topic,
      internal: true,
      ...serdes,
    })
    const source = `${topic}-source`
    graph.add({ kind: 'source', name: source, topic, internal: true, ...serdes })
    graph.addStore({ name: storeName, keySerde, valueSerde })
    const name = graph.name('KTABLE-AGGREGATE')
    graph.add({
      kind: 'processor',
      name,
      parents: [source],
      stores: [storeName],
      create: (context: ProcessorContext) => {
        const store = context.keyValueStore(storeName)
        return (r: StreamRecord, forward) => {
          const current = store.get(r.key)
          const change = r.value as GroupChange
          let next = current
          if ('old' in change) next = fold(r.key, change.old, false, next)
          if ('new' in change) next = fold(r.key, change.new, true, next)
          if (next === undefined || next === null) {
            if (current === undefined) return
            store.delete(r.key)
          } else {
            store.put(r.key, next)
          }
          forward({ key: r.key, value: next ?? null, oldValue: current ?? null, timestampMs: r.timestampMs })
        }
      },
    })
    return {
      graph,
      node: name,
      keySerde,
      valueSerde,
      repartitionRequired: false,
      queryableStoreName: storeName,
    }
  }
}

/**
 * The processor under KTable.groupBy: turns each row change into GroupChange records — one if the
 * row stays in its group, else one for the old group and one for the new (null group keys are
 * dropped and counted).
 */
export function groupTableBy(
  table: TableInternals,
  selector: (key: unknown, value: unknown) => { readonly key: unknown; readonly value: unknown },
): string {
  const name = table.graph.name('KTABLE-SELECT')
  table.graph.add({
    kind: 'processor',
    name,
    parents: [table.node],
    stores: [],
    create: (context: ProcessorContext) => (r: StreamRecord, forward) => {
      const select = (value: unknown): { key: unknown; value: unknown } | undefined => {
        if (value === null || value === undefined) return undefined
        const selected = selector(r.key, value)
        if (selected.key !== null && selected.key !== undefined) return selected
        context.dropped('null group key in KTable.groupBy')
        return undefined
      }
      const old = select(r.oldValue)
      const added = select(r.value)
      const { timestampMs } = r
      if (old !== undefined && added !== undefined && sameKey(old.key, added.key)) {
        forward({ key: added.key, value: { old: old.value, new: added.value }, timestampMs })
        return
      }
      if (old !== undefined) forward({ key: old.key, value: { old: old.value }, timestampMs })
      if (added !== undefined) forward({ key: added.key, value: { new: added.value }, timestampMs })
    },
  })
  return name
}

/** Group keys are compared by value for primitives; objects only by identity (then two records: still correct). */
function sameKey(a: unknown, b: unknown): boolean {
  return Object.is(a, b)
}
