import type { RecordHeaders } from '../log/index.ts'

/*
 * A null value (a table deletion, Kafka's tombstone) crossing a topic. The log's records always have
 * a value, so a null travels as an empty value marked by this header; sources read it back as null
 * without asking the serde, and the replicator maps it to a real Kafka null upstream.
 */
export const TOMBSTONE_HEADER = 'vigil.null-value'

export const TOMBSTONE_HEADERS: RecordHeaders = Object.freeze({ [TOMBSTONE_HEADER]: new Uint8Array(0) })

export function isTombstone(headers: RecordHeaders): boolean {
  return headers[TOMBSTONE_HEADER] !== undefined
}

export const EMPTY_VALUE = new Uint8Array(0)
