/*
 * LMDB keys of the log's databases, big-endian so LMDB's byte order is (topic, partition, offset) order:
 * record key     => topicId:u32 partition:u32 offset:u64
 * time-index key => topicId:u32 partition:u32 maxTimestampMs:u64
 */

export const RECORD_KEY_BYTES = 16
const TWO_32 = 2 ** 32
/** Largest offset or timestamp a key holds (offsets are JS safe integers). */
export const MAX_KEY_VALUE = Number.MAX_SAFE_INTEGER

export function writeKey(out: Buffer, topicId: number, partition: number, value: number): Buffer {
  out.writeUInt32BE(topicId, 0)
  out.writeUInt32BE(partition, 4)
  out.writeUInt32BE(Math.floor(value / TWO_32), 8)
  out.writeUInt32BE(value >>> 0, 12)
  return out
}

export function makeKey(topicId: number, partition: number, value: number): Buffer {
  return writeKey(Buffer.allocUnsafe(RECORD_KEY_BYTES), topicId, partition, value)
}

/** The u64 part (offset or timestamp) of a key. */
export function keyValue(key: Buffer): number {
  return key.readUInt32BE(8) * TWO_32 + key.readUInt32BE(12)
}
