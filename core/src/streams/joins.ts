import { Serdes, type Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import {
  DEFAULT_SERDE,
  repartitionIfRequired,
  type Graph,
  type Materialized,
  type StreamInternals,
  type TableInternals,
} from './graph.ts'
import { materializedSchema, parseOrThrow } from './options.ts'
import type {
  Forward,
  ProcessFn,
  ProcessorContext,
  StreamRecord,
  TaskKeyValueStore,
  TaskWindowStore,
} from './topology.ts'
import { JoinWindows } from './windows.ts'

/*
 * Joins (stream–stream windowed, stream–table, table–table) as graph nodes. KStream and KTable call
 * these; each returns the internals of the joined stream or table.
 *
 * Every join is ONE processor node whose parents lead from both inputs, so both inputs are processed
 * by the same task (sub-topology) and see each other's stores. Where the join must know which input
 * a record came from, a stateless tag node per side wraps the record (see Sided) on its way in.
 *
 * Inputs must be co-partitioned: same key, same partitioner, same partition count. A stream whose
 * key may have changed is repartitioned first (a table is: toTable() repartitions a re-keyed
 * stream). Partition counts are only known when the engine starts, which checks them.
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

type Side = 'left' | 'right'

const OTHER: Readonly<Record<Side, Side>> = { left: 'right', right: 'left' }

const streamJoinedSchema = materializedSchema.extend({
  otherValueSerde: materializedSchema.shape.valueSerde,
})

/** A record on its way into a join, marked with the input it came from. */
class Sided {
  readonly side: Side
  readonly record: StreamRecord
  constructor(side: Side, record: StreamRecord) {
    this.side = side
    this.record = record
  }
}

/** Adds a tag node per side under `parents` (left, right); returns them, the join node's parents. */
function tagSides(graph: Graph, prefix: string, parents: Readonly<Record<Side, string>>): string[] {
  return (['left', 'right'] as const).map((side) =>
    graph.processor(`${prefix}${side === 'left' ? 'THIS' : 'OTHER'}`, [parents[side]], () => (r, forward) => {
      forward({ key: r.key, value: new Sided(side, r), timestampMs: r.timestampMs })
    }),
  )
}

function unwrap(record: StreamRecord): Sided {
  if (record.value instanceof Sided) return record.value
  throw new StreamsError(
    'INVALID_TOPOLOGY',
    'a join node received a record that did not come through its tag nodes; do not attach other parents to a join node',
  )
}

/** What a bad argument is, for messages: its class name, else its type. */
function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return (value as { constructor?: { name?: string } }).constructor?.name ?? 'object'
}

function isNull(value: unknown): value is null | undefined {
  return value === null || value === undefined
}

function checkJoiner(joiner: unknown, what: string): asserts joiner is ValueJoiner {
  if (typeof joiner !== 'function') {
    throw new StreamsError(
      'INVALID_ARGUMENT',
      `${what} needs a joiner function (value, otherValue, key) => result, got ${typeof joiner}`,
    )
  }
}

function checkSameGraph(a: StreamInternals, b: StreamInternals, what: string): void {
  if (a.graph !== b.graph) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `${what} needs both inputs from the same StreamsBuilder; build both with one builder`,
    )
  }
}

// ---------------------------------------------------------------------------------------------
// Serdes of the join stores.

function serdeError(message: string): StreamsError {
  return new StreamsError('SERDE_FAILURE', message)
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * Several values in one store value (records of one key and timestamp: a window store keeps one
 * value per key and window start). Bytes: u32 count, then per value u32 length + its bytes.
 */
function listSerde(inner: Serde<unknown>): Serde<unknown[]> {
  return {
    serialize(values) {
      const parts = values.map((v) => inner.serialize(v))
      const out = new Uint8Array(4 + parts.reduce((n, p) => n + 4 + p.byteLength, 0))
      const view = dataView(out)
      view.setUint32(0, parts.length)
      let at = 4
      for (const part of parts) {
        view.setUint32(at, part.byteLength)
        out.set(part, at + 4)
        at += 4 + part.byteLength
      }
      return out
    },
    deserialize(bytes) {
      const view = dataView(bytes)
      if (bytes.byteLength < 4) throw serdeError(`join value list needs ≥ 4 bytes, got ${bytes.byteLength}`)
      const count = view.getUint32(0)
      const values: unknown[] = []
      let at = 4
      for (let i = 0; i < count; i++) {
        const length = at + 4 <= bytes.byteLength ? view.getUint32(at) : -1
        if (length < 0 || at + 4 + length > bytes.byteLength) {
          throw serdeError(
            `join value list is truncated at value ${i} of ${count} (${bytes.byteLength} bytes)`,
          )
        }
        values.push(inner.deserialize(bytes.slice(at + 4, at + 4 + length)))
        at += 4 + length
      }
      if (at !== bytes.byteLength) {
        throw serdeError(`join value list has ${bytes.byteLength - at} bytes after its ${count} values`)
      }
      return values
    },
  }
}

const SIDE_BYTE: Readonly<Record<Side, number>> = { left: 0, right: 1 }

function sideOf(byte: number | undefined): Side {
  if (byte === 0) return 'left'
  if (byte === 1) return 'right'
  throw serdeError(`join side byte must be 0 (left) or 1 (right), got ${byte}`)
}

/** A key of one join side. Bytes: the side (0 left, 1 right), then the key's bytes. */
interface SidedKey {
  readonly side: Side
  readonly key: unknown
}

function sidedKeySerde(keySerde: Serde<unknown>): Serde<SidedKey> {
  return {
    serialize({ side, key }) {
      const keyBytes = keySerde.serialize(key)
      const out = new Uint8Array(1 + keyBytes.byteLength)
      out[0] = SIDE_BYTE[side]
      out.set(keyBytes, 1)
      return out
    },
    deserialize(bytes) {
      return { side: sideOf(bytes[0]), key: keySerde.deserialize(bytes.slice(1)) }
    },
  }
}

/** Values of one side not joined yet. Bytes: the side, then listSerde of that side's value serde. */
interface Pending {
  readonly side: Side
  readonly values: readonly unknown[]
}

function pendingSerde(lists: Readonly<Record<Side, Serde<unknown[]>>>): Serde<Pending> {
  return {
    serialize({ side, values }) {
      const list = lists[side].serialize([...values])
      const out = new Uint8Array(1 + list.byteLength)
      out[0] = SIDE_BYTE[side]
      out.set(list, 1)
      return out
    },
    deserialize(bytes) {
      const side = sideOf(bytes[0])
      return { side, values: lists[side].deserialize(bytes.slice(1)) }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Stream–stream.

/**
 * Windowed join of two streams, with Kafka Streams' (≥ 3.1) semantics and one deliberate tightening:
 *
 * - A record of a side "looks" `back` and `ahead` of its timestamp t for other-side records: a left
 *   record back = beforeMs, ahead = afterMs; a right record the reverse. So left at t joins right in
 *   [t − before, t + after], right at t joins left in [t − after, t + before], each pair once, with
 *   `joiner(leftValue, rightValue, key)` at the larger of the two timestamps.
 * - Stream time is the largest timestamp either side has seen (this task), kept in `<name>-meta`.
 *   A record's window closes once stream time > t + ahead + grace (its end is inclusive, as for all
 *   inclusive-end windows in windows.ts; `≥` would close a zero-width window on its own record).
 *   A record whose window is already closed when it arrives is late: dropped and counted.
 * - left/outer: a record that joined nothing is kept in `<name>-outer-shared-join-store` and
 *   emitted with null for the other side once its window closes, in order of timestamp (left before
 *   right at equal timestamps) — before the record that advanced stream time is joined. It is
 *   deleted there when something joins it, so it is emitted exactly once, across restarts too.
 * - The tightening: a side whose unjoined records are emitted with null (left in left/outer, right
 *   in outer) is joined only while a stored record's own window is still open. Kafka also joins it
 *   later if it is still retained, which can emit a record both with null and joined.
 * - Several records with the same key and timestamp are kept together (a window store holds one
 *   value per key and start): each joins, each is emitted.
 * - Records with a null key or value are dropped and counted (Kafka < 3.7; KIP-962 later emits
 *   null-key records of left/outer joins at once).
 */
export function streamStreamJoin(
  left: StreamInternals,
  right: StreamInternals,
  joiner: ValueJoiner,
  windows: JoinWindows,
  kind: JoinKind,
  options: StreamJoined<unknown, unknown, unknown>,
): StreamInternals {
  const what = `stream–stream ${kind} join`
  checkJoiner(joiner, what)
  if (!((windows as unknown) instanceof JoinWindows)) {
    throw new StreamsError(
      'INVALID_ARGUMENT',
      `${what} needs JoinWindows, e.g. JoinWindows.ofTimeDifferenceWithNoGrace(5_000), got ${describe(windows)}; for a KTable pass no windows`,
    )
  }
  checkSameGraph(left, right, what)
  const parsed = parseOrThrow(streamJoinedSchema, options, `options of ${what}`)
  const graph = left.graph
  const prefix =
    kind === 'inner' ? 'KSTREAM-JOIN' : kind === 'left' ? 'KSTREAM-LEFTJOIN' : 'KSTREAM-OUTERJOIN'
  const base = parsed.name ?? graph.name(prefix)
  const keySerde = parsed.keySerde ?? left.keySerde ?? right.keySerde ?? DEFAULT_SERDE
  const valueSerdes: Record<Side, Serde<unknown>> = {
    left: parsed.valueSerde ?? left.valueSerde ?? DEFAULT_SERDE,
    right: parsed.otherValueSerde ?? right.valueSerde ?? DEFAULT_SERDE,
  }
  const parents: Record<Side, string> = {
    left: repartitionIfRequired(graph, left.node, `${base}-left`, left.repartitionRequired, {
      keySerde,
      valueSerde: valueSerdes.left,
    }),
    right: repartitionIfRequired(graph, right.node, `${base}-right`, right.repartitionRequired, {
      keySerde,
      valueSerde: valueSerdes.right,
    }),
  }
  const names = {
    left: `${base}-this-join-store`,
    right: `${base}-other-join-store`,
    pending: `${base}-outer-shared-join-store`,
    meta: `${base}-meta`,
  }
  const emitsUnjoined: Record<Side, boolean> = { left: kind !== 'inner', right: kind === 'outer' }
  const lists: Record<Side, Serde<unknown[]>> = {
    left: listSerde(valueSerdes.left),
    right: listSerde(valueSerdes.right),
  }
  // Windows [t, t + size): only the start matters here; retention covers the widest pair plus grace.
  const windowSizeMs = windows.beforeMs + windows.afterMs + 1
  const { retentionMs } = windows
  for (const side of ['left', 'right'] as const) {
    graph.addStore({
      kind: 'window',
      name: names[side],
      keySerde,
      valueSerde: lists[side] as Serde<unknown>,
      windowSizeMs,
      retentionMs,
      timestamped: false,
    })
  }
  const stores = [names.left, names.right, names.meta]
  if (kind !== 'inner') {
    graph.addStore({
      kind: 'window',
      name: names.pending,
      keySerde: sidedKeySerde(keySerde) as Serde<unknown>,
      valueSerde: pendingSerde(lists) as Serde<unknown>,
      windowSizeMs,
      retentionMs,
      timestamped: false,
    })
    stores.push(names.pending)
  }
  graph.addStore({
    name: names.meta,
    keySerde: Serdes.String as Serde<unknown>,
    valueSerde: Serdes.Long as Serde<unknown>,
  })
  const node = graph.name(prefix)
  graph.add({
    kind: 'processor',
    name: node,
    parents: tagSides(graph, 'KSTREAM-JOIN', parents),
    copartitioned: true,
    stores,
    create: (context) =>
      createStreamStreamJoin(context, { names, windows, joiner, emitsUnjoined, pending: kind !== 'inner' }),
  })
  return {
    graph,
    node,
    keySerde: parsed.keySerde ?? left.keySerde,
    valueSerde: undefined,
    repartitionRequired: false,
  }
}

const STREAM_TIME_KEY = 'streamTimeMs'

function createStreamStreamJoin(
  context: ProcessorContext,
  config: {
    readonly names: { left: string; right: string; pending: string; meta: string }
    readonly windows: JoinWindows
    readonly joiner: ValueJoiner
    readonly emitsUnjoined: Readonly<Record<Side, boolean>>
    readonly pending: boolean
  },
): ProcessFn {
  const { names, windows, joiner, emitsUnjoined } = config
  const graceMs = windows.graceMs
  const reach: Record<Side, { back: number; ahead: number }> = {
    left: { back: windows.beforeMs, ahead: windows.afterMs },
    right: { back: windows.afterMs, ahead: windows.beforeMs },
  }
  const own: Record<Side, TaskWindowStore> = {
    left: context.windowStore(names.left),
    right: context.windowStore(names.right),
  }
  const pending = config.pending ? context.windowStore(names.pending) : undefined
  const meta = context.keyValueStore(names.meta)
  // Largest timestamp seen by either side; −1 before the first record (timestamps are ≥ 0).
  let streamTimeMs = (meta.get(STREAM_TIME_KEY) as number | undefined) ?? -1
  const closed = (side: Side, timestampMs: number): boolean =>
    streamTimeMs > timestampMs + reach[side].ahead + graceMs
  const join = (side: Side, value: unknown, other: unknown, key: unknown): unknown =>
    side === 'left' ? joiner(value, other, key) : joiner(other, value, key)

  const emitClosed = (forward: Forward): void => {
    if (pending === undefined) return
    // The earliest-closing side closes records up to here; the other side is checked per record.
    const lastClosableMs = streamTimeMs - Math.min(windows.beforeMs, windows.afterMs) - graceMs - 1
    if (lastClosableMs < 0) return
    for (const entry of Array.from(pending.fetchAll(0, lastClosableMs))) {
      const { side, key } = entry.key.key as SidedKey
      const timestampMs = entry.key.window.startMs
      if (!closed(side, timestampMs)) continue
      for (const value of (entry.value as Pending).values) {
        forward({ key, value: join(side, value, null, key), timestampMs })
      }
      pending.put({ side, key }, null, timestampMs)
    }
  }

  return (tagged, forward) => {
    const { side, record } = unwrap(tagged)
    const { key, value, timestampMs } = record
    if (isNull(key) || isNull(value)) {
      context.dropped(`null ${isNull(key) ? 'key' : 'value'} in a stream–stream join (${side} side)`)
      return
    }
    if (closed(side, timestampMs)) {
      context.dropped(
        `late ${side} record at ${timestampMs} in a stream–stream join, stream time ${streamTimeMs}`,
        { late: true },
      )
      return
    }
    if (timestampMs > streamTimeMs) {
      streamTimeMs = timestampMs
      meta.put(STREAM_TIME_KEY, streamTimeMs)
      emitClosed(forward)
    }
    const other = OTHER[side]
    const { back, ahead } = reach[side]
    let fromMs = timestampMs - back
    // An other-side record that may have been emitted with null must not be joined after that.
    if (emitsUnjoined[other]) fromMs = Math.max(fromMs, streamTimeMs - reach[other].ahead - graceMs)
    let joined = false
    for (const entry of Array.from(own[other].fetchRange(key, Math.max(0, fromMs), timestampMs + ahead))) {
      const otherMs = entry.key.window.startMs
      for (const otherValue of entry.value as unknown[]) {
        joined = true
        forward({
          key,
          value: join(side, value, otherValue, key),
          timestampMs: Math.max(timestampMs, otherMs),
        })
      }
      if (emitsUnjoined[other]) pending!.put({ side: other, key }, null, otherMs)
    }
    const values = (own[side].fetch(key, timestampMs) as unknown[] | undefined) ?? []
    own[side].put(key, [...values, value], timestampMs)
    if (!joined && emitsUnjoined[side]) {
      const sidedKey: SidedKey = { side, key }
      const waiting = (pending!.fetch(sidedKey, timestampMs) as Pending | undefined)?.values ?? []
      pending!.put(sidedKey, { side, values: [...waiting, value] } satisfies Pending, timestampMs)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tables: materializing, co-partitioning.

/** The table's key-value store, or undefined if it has none (not materialized, or in a window store). */
function keyValueStoreOf(table: TableInternals): string | undefined {
  const name = table.queryableStoreName
  if (name === undefined) return undefined
  const def = table.graph.stores.find((s) => s.name === name)
  return def !== undefined && (def.kind ?? 'keyValue') === 'keyValue' ? name : undefined
}

/**
 * The table's key-value store and the node to read its changes from: its own, or a store this join
 * adds (`storeName`) with a node that keeps it (and gives the changes their `oldValue`).
 */
function materialize(table: TableInternals, storeName: string): { node: string; store: string } {
  const existing = keyValueStoreOf(table)
  if (existing !== undefined) return { node: table.node, store: existing }
  const graph = table.graph
  graph.addStore({
    name: storeName,
    keySerde: table.keySerde ?? DEFAULT_SERDE,
    valueSerde: table.valueSerde ?? DEFAULT_SERDE,
  })
  const node = graph.name('KTABLE-MATERIALIZE')
  graph.add({
    kind: 'processor',
    name: node,
    parents: [table.node],
    stores: [storeName],
    create: (context) => {
      const store = context.keyValueStore(storeName)
      return (r, forward) => {
        if (isNull(r.key)) {
          context.dropped('null key in a table materialized for a join')
          return
        }
        const deleted = isNull(r.value)
        const oldValue = (deleted ? store.delete(r.key) : store.get(r.key)) ?? null
        if (!deleted) store.put(r.key, r.value)
        forward({ key: r.key, value: deleted ? null : r.value, oldValue, timestampMs: r.timestampMs })
      }
    },
  })
  return { node, store: storeName }
}

// ---------------------------------------------------------------------------------------------
// Stream–table.

/**
 * Each stream record joins the table's current value for its key (no window, no versioning): inner
 * drops a record whose key the table lacks, left joins it with null. Table updates emit nothing.
 * Output timestamp: the stream record's. Records with a null key or value are dropped and counted
 * (Kafka < 3.7). The table's changes reach the join node only to put both in one task.
 */
export function streamTableJoin(
  stream: StreamInternals,
  table: TableInternals,
  joiner: ValueJoiner,
  kind: 'inner' | 'left',
  options: Joined<unknown, unknown>,
): StreamInternals {
  const what = `stream–table ${kind} join`
  checkJoiner(joiner, what)
  if ((kind as string) !== 'inner' && (kind as string) !== 'left') {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `a stream–table join is inner or left, got ${kind as string}; outer needs two streams or two tables`,
    )
  }
  checkSameGraph(stream, table, what)
  const parsed = parseOrThrow(materializedSchema, options, `options of ${what}`)
  const graph = stream.graph
  const prefix = kind === 'inner' ? 'KSTREAM-JOIN' : 'KSTREAM-LEFTJOIN'
  const base = parsed.name ?? graph.name(prefix)
  const keySerde = parsed.keySerde ?? stream.keySerde ?? table.keySerde ?? DEFAULT_SERDE
  const streamParent = repartitionIfRequired(graph, stream.node, `${base}-left`, stream.repartitionRequired, {
    keySerde,
    valueSerde: parsed.valueSerde ?? stream.valueSerde ?? DEFAULT_SERDE,
  })
  const { node: tableNode, store } = materialize(table, `${base}-table-store`)
  // Forwards nothing: only connects the table to the join's sub-topology.
  const tableParent = graph.processor('KTABLE-JOINSTORE', [tableNode], () => () => {})
  const node = graph.name(prefix)
  graph.add({
    kind: 'processor',
    name: node,
    parents: [streamParent, tableParent],
    copartitioned: true,
    stores: [store],
    create: (context) => {
      const values = context.keyValueStore(store)
      return (r, forward) => {
        if (isNull(r.key) || isNull(r.value)) {
          context.dropped(`null ${isNull(r.key) ? 'key' : 'value'} in a stream–table join`)
          return
        }
        const tableValue = values.get(r.key) ?? null
        if (tableValue === null && kind === 'inner') return
        forward({ key: r.key, value: joiner(r.value, tableValue, r.key), timestampMs: r.timestampMs })
      }
    },
  })
  return {
    graph,
    node,
    keySerde: parsed.keySerde ?? stream.keySerde,
    valueSerde: undefined,
    repartitionRequired: false,
  }
}

// ---------------------------------------------------------------------------------------------
// Table–table.

/**
 * Joins two tables on equal keys, with Kafka Streams' semantics: a change on either side looks up
 * the other side's current value and emits the join's change for that key — `value` the new joined
 * row (null: there is none now), `oldValue` the previous one (null: there was none) — or nothing when
 * there was and is no row. A row exists: inner, where both sides have the key; left, where the left
 * side has it (right null if absent); outer, where either has it (null for the absent one).
 * Output timestamp: the larger of the change's and the other side's row's (kept in
 * `<name>-row-timestamps`, as Kafka's timestamped stores keep it).
 * With `materialized.name`, the result is kept (and queryable) in a store of that name, and
 * `oldValue` comes from it.
 */
export function tableTableJoin(
  left: TableInternals,
  right: TableInternals,
  joiner: ValueJoiner,
  kind: JoinKind,
  materialized: Materialized<unknown, unknown>,
): TableInternals {
  const what = `table–table ${kind} join`
  checkJoiner(joiner, what)
  checkSameGraph(left, right, what)
  const parsed = parseOrThrow(materializedSchema, materialized, `materialized options of ${what}`)
  const graph = left.graph
  const prefix = kind === 'inner' ? 'KTABLE-JOIN' : kind === 'left' ? 'KTABLE-LEFTJOIN' : 'KTABLE-OUTERJOIN'
  const base = parsed.name ?? graph.name(prefix)
  const keySerde = parsed.keySerde ?? left.keySerde ?? right.keySerde ?? DEFAULT_SERDE
  const leftTable = materialize(left, `${base}-left-table-store`)
  const rightTable = materialize(right, `${base}-right-table-store`)
  const timestampsName = `${base}-row-timestamps`
  graph.addStore({
    name: timestampsName,
    keySerde: sidedKeySerde(keySerde) as Serde<unknown>,
    valueSerde: Serdes.Long as Serde<unknown>,
  })
  const resultName = parsed.name
  const valueSerde = parsed.valueSerde ?? DEFAULT_SERDE
  if (resultName !== undefined) graph.addStore({ name: resultName, keySerde, valueSerde })
  const stores = [leftTable.store, rightTable.store, timestampsName]
  if (resultName !== undefined) stores.push(resultName)
  const node = graph.name(prefix)
  graph.add({
    kind: 'processor',
    name: node,
    parents: tagSides(graph, 'KTABLE-JOIN', { left: leftTable.node, right: rightTable.node }),
    copartitioned: true,
    stores,
    create: (context) =>
      createTableTableJoin(context, {
        kind,
        joiner,
        tables: {
          left: context.keyValueStore(leftTable.store),
          right: context.keyValueStore(rightTable.store),
        },
        timestamps: context.keyValueStore(timestampsName),
        result: resultName === undefined ? undefined : context.keyValueStore(resultName),
      }),
  })
  return {
    graph,
    node,
    keySerde: parsed.keySerde ?? left.keySerde,
    valueSerde: parsed.valueSerde,
    repartitionRequired: false,
    queryableStoreName: resultName,
  }
}

/** Whether the join has a row for a key, given the changed side's value and the other side's. */
function rowExists(kind: JoinKind, side: Side, mine: unknown, theirs: unknown): boolean {
  switch (kind) {
    case 'inner':
      return mine !== null && theirs !== null
    case 'left':
      return (side === 'left' ? mine : theirs) !== null
    case 'outer':
      return mine !== null || theirs !== null
    default:
      return kind satisfies never
  }
}

function createTableTableJoin(
  context: ProcessorContext,
  config: {
    readonly kind: JoinKind
    readonly joiner: ValueJoiner
    readonly tables: Readonly<Record<Side, TaskKeyValueStore>>
    readonly timestamps: TaskKeyValueStore
    readonly result: TaskKeyValueStore | undefined
  },
): ProcessFn {
  const { kind, joiner, tables, timestamps, result } = config
  return (tagged, forward) => {
    const { side, record } = unwrap(tagged)
    const { key, timestampMs } = record
    if (isNull(key)) {
      context.dropped(`null key in a table–table join (${side} side)`)
      return
    }
    const newValue = record.value ?? null
    const oldValue = record.oldValue ?? null
    if (newValue === null) timestamps.delete({ side, key })
    else timestamps.put({ side, key }, timestampMs)
    const other = OTHER[side]
    const otherValue = tables[other].get(key) ?? null
    const otherMs =
      otherValue === null ? undefined : (timestamps.get({ side: other, key }) as number | undefined)
    const joined = (mine: unknown): unknown => {
      if (!rowExists(kind, side, mine, otherValue)) return null
      return side === 'left' ? joiner(mine, otherValue, key) : joiner(otherValue, mine, key)
    }
    const value = joined(newValue)
    let previous = joined(oldValue)
    if (result !== undefined) {
      previous = (value === null ? result.delete(key) : result.get(key)) ?? null
      if (value !== null) result.put(key, value)
    }
    if (value === null && previous === null) return
    forward({ key, value, oldValue: previous, timestampMs: Math.max(timestampMs, otherMs ?? timestampMs) })
  }
}
