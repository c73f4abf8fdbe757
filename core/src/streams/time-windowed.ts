import type { Fold } from './graph.ts'
import type { GroupedSource } from './graph.ts'
import type { Stamped } from './windowed-serdes.ts'
import { FoldWindowedKStream, type WindowedKind } from './windowed-common.ts'
import type { TimeWindows } from './windows.ts'
import type { ProcessorContext } from './topology.ts'

export {
  WindowedKTable as TimeWindowedKTable,
  type EmitStrategy,
  type WindowedMaterialized,
} from './windowed-common.ts'

/**
 * A grouped stream aggregated per key and time window, with Kafka Streams' semantics:
 *
 * - Stream time is the largest record timestamp the aggregation has seen (in its task), persisted
 *   with its state, so it survives restarts.
 * - A record at t goes to every window `[start, end)` containing t (`windows.windowsFor(t)`) that is
 *   not closed at stream time (closed: stream time ≥ end + grace). A record whose windows are all
 *   closed is late: dropped, counted in the engine's `droppedRecords` and `lateRecords` metrics, and
 *   forwarded to the table's `lateRecords()` stream.
 * - State lives in a persistent window store named by `{ name }` (retention: size + grace) and a
 *   key-value store `<name>-meta` holding the stream time and what onWindowClose has emitted.
 * - Output keys are `Windowed<K>` (key + window); their serde defaults to
 *   `WindowedSerdes.timeWindowed(keySerde)`. An output record's timestamp is the largest timestamp
 *   among the records aggregated into its window.
 */
export class TimeWindowedKStream<K, V> extends FoldWindowedKStream<K, V> {
  /** Internal: from KGroupedStream.windowedBy(). */
  constructor(source: GroupedSource, windows: TimeWindows) {
    super(source, {
      windowSizeMs: windows.sizeMs,
      retentionMs: windows.retentionMs,
      kind: (store, fold) => timeWindowsKind(store, windows, fold),
    })
  }
}

/**
 * Emits a window store's closed windows by ascending start, then key: every window starting in
 * (afterMs, throughMs], with its end as `endOf(start)`.
 */
export function emitClosedWindows(
  store: ReturnType<ProcessorContext['windowStore']>,
  endOf: (startMs: number) => number,
  afterMs: number,
  throughMs: number,
  emit: (record: { key: unknown; value: unknown; timestampMs: number }) => void,
): void {
  // Collected first: emitting may write to stores, and a lazy scan must not see writes.
  for (const entry of Array.from(store.fetchAll(afterMs + 1, throughMs))) {
    const { startMs } = entry.key.window
    const stamped = entry.value as Stamped<unknown>
    emit({
      key: { key: entry.key.key, window: { startMs, endMs: endOf(startMs) } },
      value: stamped.value,
      timestampMs: stamped.timestampMs,
    })
  }
}

function timeWindowsKind(
  store: ReturnType<ProcessorContext['windowStore']>,
  windows: TimeWindows,
  fold: Fold,
): WindowedKind {
  return {
    emittedKey: 'emittedThroughStartMs',
    // A window [s, s + size) is closed once streamTime ≥ s + size + grace.
    lastClosed: (streamTimeMs) => streamTimeMs - windows.sizeMs - windows.graceMs,
    emitClosed: (afterMs, throughMs, emit) => {
      emitClosedWindows(store, (startMs) => startMs + windows.sizeMs, afterMs, throughMs, emit)
    },
    process: (r, streamTimeMs, emit, emittedThroughMs) => {
      const open = windows.windowsFor(r.timestampMs).filter((w) => !windows.isClosed(w, streamTimeMs))
      if (open.length === 0) return false
      for (const window of open) {
        const current = store.fetch(r.key, window.startMs) as Stamped<unknown> | undefined
        const stamped: Stamped<unknown> = {
          timestampMs: Math.max(current?.timestampMs ?? r.timestampMs, r.timestampMs),
          value: fold(r.key, r.value, current?.value),
        }
        store.put(r.key, stamped, window.startMs)
        if (emittedThroughMs === undefined) {
          emit({
            key: { key: r.key, window },
            value: stamped.value,
            oldValue: current?.value ?? null,
            timestampMs: stamped.timestampMs,
          })
        }
      }
      return true
    },
  }
}
