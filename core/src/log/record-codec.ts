import { LogError } from './errors.ts'

/** Header name → bytes. Names are UTF-8 strings; values are opaque bytes (as in Kafka). */
export type RecordHeaders = Readonly<Record<string, Uint8Array>>

export const EMPTY_HEADERS: RecordHeaders = Object.freeze({})

/** What a producer hands to `Log.append`. */
export interface RecordInput {
  /** Partitioning key (murmur2, as Kafka). `null`/absent: round-robin unless `partition` is given. */
  readonly key?: Uint8Array | null
  readonly value: Uint8Array
  /** Event time in ms since the epoch (integer ≥ 0). Defaults to the append time. */
  readonly timestampMs?: number
  readonly headers?: RecordHeaders
  /** Explicit partition; overrides the key's partition. */
  readonly partition?: number
}

/** A record as read back from the log. `key`, `value` and header values are views, valid until the next read. */
export interface LogRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array
  readonly timestampMs: number
  readonly headers: RecordHeaders
}

/*
 * record v1 => timestampMs:f64 keyLen:i32 key headerCount:u16 header* value      (little-endian)
 * header    => nameLen:u16 name:utf8 valueLen:u32 value
 * keyLen -1 means a null key; the value runs to the end of the record.
 */
const FIXED_BYTES = 8 + 4 + 2
/** headerCount is a u16. */
export const MAX_HEADERS = 0xffff
const NULL_KEY = -1

/** Bytes `encodeRecord` will write for this record (exact). */
export function encodedRecordSize(
  key: Uint8Array | null | undefined,
  value: Uint8Array,
  headers: RecordHeaders,
): number {
  let size = FIXED_BYTES + (key ? key.length : 0) + value.length
  for (const name in headers) size += 2 + Buffer.byteLength(name, 'utf8') + 4 + headers[name]!.length
  return size
}

/** Writes the record into `out` at `at` and returns the position after it; `out` must have `encodedRecordSize` bytes free there. */
export function encodeRecord(
  out: Buffer,
  at: number,
  key: Uint8Array | null | undefined,
  value: Uint8Array,
  timestampMs: number,
  headers: RecordHeaders,
): number {
  out.writeDoubleLE(timestampMs, at)
  let pos = at + 12
  if (key) {
    out.writeInt32LE(key.length, at + 8)
    out.set(key, pos)
    pos += key.length
  } else {
    out.writeInt32LE(NULL_KEY, at + 8)
  }
  const countAt = pos
  pos += 2
  let count = 0
  for (const name in headers) {
    const headerValue = headers[name]!
    const nameLength = out.write(name, pos + 2, 'utf8')
    out.writeUInt16LE(nameLength, pos)
    pos += 2 + nameLength
    out.writeUInt32LE(headerValue.length, pos)
    out.set(headerValue, pos + 4)
    pos += 4 + headerValue.length
    count++
  }
  out.writeUInt16LE(count, countAt)
  out.set(value, pos)
  return pos + value.length
}

function corrupt(topic: string, partition: number, offset: number, why: string): LogError {
  return new LogError(
    'CORRUPT_RECORD',
    `record ${topic}/${partition}@${offset} is corrupt (${why}); the data directory was damaged outside the log — restore it from a backup or trim past the offset`,
  )
}

/** Decodes a stored record; views share `stored`'s memory. Throws CORRUPT_RECORD on a record that does not parse. */
export function decodeRecord(stored: Buffer, topic: string, partition: number, offset: number): LogRecord {
  const length = stored.length
  if (length < FIXED_BYTES)
    throw corrupt(topic, partition, offset, `${length} bytes, shorter than the ${FIXED_BYTES}-byte header`)
  const timestampMs = stored.readDoubleLE(0)
  const keyLength = stored.readInt32LE(8)
  let pos = 12
  let key: Uint8Array | null = null
  if (keyLength !== NULL_KEY) {
    if (keyLength < 0 || pos + keyLength + 2 > length)
      throw corrupt(topic, partition, offset, `key length ${keyLength}`)
    key = stored.subarray(pos, pos + keyLength)
    pos += keyLength
  }
  const headerCount = stored.readUInt16LE(pos)
  pos += 2
  let headers: RecordHeaders = EMPTY_HEADERS
  if (headerCount > 0) {
    // No prototype: a header may be named "__proto__".
    const decoded = Object.create(null) as Record<string, Uint8Array>
    for (let i = 0; i < headerCount; i++) {
      if (pos + 2 > length) throw corrupt(topic, partition, offset, `header ${i} runs past the end`)
      const nameLength = stored.readUInt16LE(pos)
      if (pos + 2 + nameLength + 4 > length)
        throw corrupt(topic, partition, offset, `header ${i} name runs past the end`)
      const name = stored.toString('utf8', pos + 2, pos + 2 + nameLength)
      pos += 2 + nameLength
      const valueLength = stored.readUInt32LE(pos)
      if (pos + 4 + valueLength > length)
        throw corrupt(topic, partition, offset, `header ${name} value runs past the end`)
      decoded[name] = stored.subarray(pos + 4, pos + 4 + valueLength)
      pos += 4 + valueLength
    }
    headers = decoded
  }
  return { topic, partition, offset, key, value: stored.subarray(pos), timestampMs, headers }
}

/** The timestamp of a stored record without decoding the rest. */
export function storedTimestamp(stored: Buffer): number {
  return stored.readDoubleLE(0)
}
