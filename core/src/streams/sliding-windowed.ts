import type { Fold } from './graph.ts'
import type { GroupedSource } from './graph.ts'
import { emitClosedWindows } from './time-windowed.ts'
import type { Stamped } from './windowed-serdes.ts'
import { fetchKeyRange, FoldWindowedKStream, type WindowedKind } from './windowed-common.ts'
import type { TaskWindowStore } from './topology.ts'
import type { SlidingWindows } from './windows.ts'
import type { StreamRecord } from './topology.ts'

/**
 * A grouped stream aggregated per key over sliding windows, with Kafka Streams' semantics (KIP-450):
 *
 * - Windows are `[start, end]`, both inclusive, `end − start = timeDifferenceMs`, and exist only
 *   where records are: each record at t has its left window `[t − difference, t]` and, when a later
 *   record falls in it, its right window `[t + 1, t + 1 + difference]`. Records before
 *   `difference` share the window `[0, difference]` (no negative starts). A window's aggregate
 *   folds the records in it in processing order; its timestamp is the largest among them.
 * - A window is closed once stream time > end + grace; a record is late (dropped, counted, sent to
 *   `lateRecords()`) once `[t, t + difference]` is closed, i.e. every window containing it is.
 * - Per record, onUpdate emits the windows it updated or created by ascending start.
 * - State: a window store named by `{ name }` (retention 2·difference + grace + 1) and `<name>-meta`.
 */
export class SlidingWindowedKStream<K, V> extends FoldWindowedKStream<K, V> {
  /** Internal: from KGroupedStream.windowedBy(). */
  constructor(source: GroupedSource, windows: SlidingWindows) {
    super(source, {
      windowSizeMs: windows.timeDifferenceMs,
      retentionMs: windows.retentionMs,
      kind: (store, fold) => slidingKind(store, windows, fold),
    })
  }
}

/**
 * Kafka's KStreamSlidingWindowAggregate, reorganised: from the key's windows starting in
 * [t − 2·difference, t + 1] it updates the windows containing t and creates the missing ones:
 *
 * - the left window of t (`[t − d, t]`, or `[0, d]` for t < d), from the latest window ending
 *   before t when the previous record p lies within d of t (that window then holds exactly the
 *   records in [t − d, t)), else from nothing;
 * - the right window of the previous record p (`[p + 1, p + 1 + d]`) if t falls in it: it was
 *   empty until now, so it holds t alone;
 * - the right window of t (`[t + 1, t + 1 + d]`) if a later record exists: a copy of the
 *   latest-starting window holding t (all of whose other records are then after t).
 *
 * Only open windows are written and emitted (closed: stream time > end + grace).
 */
function slidingKind(store: TaskWindowStore, windows: SlidingWindows, fold: Fold): WindowedKind {
  const d = windows.timeDifferenceMs
  return {
    emittedKey: 'emittedThroughStartMs',
    // [s, s + d] is closed once streamTime > s + d + grace.
    lastClosed: (streamTimeMs) => streamTimeMs - d - windows.graceMs - 1,
    emitClosed: (afterMs, throughMs, emit) => {
      emitClosedWindows(store, (startMs) => startMs + d, afterMs, throughMs, emit)
    },
    process: (r, streamTimeMs, emit, emittedThroughMs) => {
      const t = r.timestampMs
      if (windows.isLate(t, streamTimeMs)) return false
      const early = t < d
      const leftStart = early ? 0 : t - d
      const found = fetchKeyRange(store, r.key, Math.max(0, t - 2 * d), t + 1)
      const starts = new Set(found.map((w) => w.startMs))
      const writes = new Map<number, Stamped<unknown>>()
      const add = (startMs: number, current: Stamped<unknown> | undefined): void => {
        writes.set(startMs, {
          timestampMs: Math.max(current?.timestampMs ?? t, t),
          value: fold(r.key, r.value, current?.value),
        })
      }
      let before: Stamped<unknown> | undefined // the latest-starting window ending before t
      let previousMs: number | undefined // the latest record timestamp before t, if known
      let after: Stamped<unknown> | undefined // the latest-starting window holding t, not t's left
      let left: Stamped<unknown> | undefined
      for (const { startMs, value } of found) {
        const stamped = value as Stamped<unknown>
        const endMs = startMs + d
        if (endMs < t) {
          before = stamped
          previousMs = stamped.timestampMs
        } else if (startMs === leftStart) {
          left = stamped
          if (stamped.timestampMs < t) previousMs = stamped.timestampMs
          add(startMs, stamped)
        } else if (startMs <= t) {
          after = stamped
          add(startMs, stamped)
        }
        // startMs === t + 1: t's right window exists (it does not hold t).
      }
      // For t < d, [0, d] may hold records after t; with no other window holding t, they are all
      // of t's right window's records in [t + 1, d] — and none lie in (d, t + 1 + d], or their left
      // windows would hold t.
      if (early && after === undefined && left !== undefined && left.timestampMs > t) after = left
      if (previousMs !== undefined && !starts.has(previousMs + 1) && previousMs + 1 + d >= t) {
        add(previousMs + 1, undefined)
      }
      if (left === undefined) {
        // Holds exactly the records in [t − d, t) when the previous record is within d of t.
        const from = previousMs !== undefined && t - d <= previousMs ? before : undefined
        if (from === undefined) add(leftStart, undefined)
        else writes.set(leftStart, { timestampMs: t, value: fold(r.key, r.value, from.value) })
      }
      if (after !== undefined && after.timestampMs > t && !starts.has(t + 1)) writes.set(t + 1, after)
      const emitted: StreamRecord[] = []
      for (const startMs of [...writes.keys()].sort((a, b) => a - b)) {
        const window = { startMs, endMs: startMs + d }
        if (windows.isClosed(window, streamTimeMs)) continue
        const stamped = writes.get(startMs)!
        store.put(r.key, stamped, startMs)
        emitted.push({ key: { key: r.key, window }, value: stamped.value, timestampMs: stamped.timestampMs })
      }
      if (emittedThroughMs === undefined) for (const out of emitted) emit(out)
      return true
    },
  }
}
