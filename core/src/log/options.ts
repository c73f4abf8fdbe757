import { z } from 'zod'
import { LogError } from './errors.ts'

/** Largest encoded record (key + value + headers + 14-byte header) accepted by default: 1 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024
/** 64 GiB of address space by default; on a 32-bit OS pass a smaller mapSizeBytes. */
export const DEFAULT_MAP_SIZE_BYTES = 64 * 1024 ** 3
/** How often time/bytes retention and the disk budget are checked in the background. */
export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 30_000
/** A time-index entry is written at most once per this many appended bytes per partition. */
export const DEFAULT_TIME_INDEX_INTERVAL_BYTES = 4096
/** Most partitions a topic may have. */
export const MAX_PARTITIONS = 1024

/**
 * Priority classes, lowest first. Under disk pressure the lowest class is trimmed first, oldest
 * record first, even below replication floors (and counted as such); the classes above it are
 * never trimmed below a floor.
 */
export const priorityClasses = ['waveform', 'vitals', 'alarms'] as const
export type PriorityClass = (typeof priorityClasses)[number]

export const timestampTypes = ['CreateTime', 'LogAppendTime'] as const
export type TimestampType = (typeof timestampTypes)[number]

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/

/** Kafka's topic-name rule: 1–249 of [a-zA-Z0-9._-], and not "." or "..". */
export function validateTopicName(name: unknown): string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new LogError(
      'INVALID_TOPIC_NAME',
      `topic name ${JSON.stringify(name)} is invalid; use 1–249 characters of [a-zA-Z0-9._-], not "." or ".."`,
    )
  }
  return name
}

const nonNegativeInt = z.number().int().nonnegative()

export const topicConfigSchema = z
  .object({
    /** Number of partitions, fixed at creation. */
    partitions: z.number().int().min(1).max(MAX_PARTITIONS).default(1),
    priorityClass: z.enum(priorityClasses).default('vitals'),
    /** Records older than this (by timestamp, vs the log's clock) are deleted; null keeps them forever. */
    retentionMs: nonNegativeInt.nullable().default(null),
    /** Per-partition byte limit; the oldest records go first; null means no limit. */
    retentionBytes: nonNegativeInt.nullable().default(null),
    /** CreateTime keeps the producer's timestamp; LogAppendTime stamps records with the log's clock. */
    timestampType: z.enum(timestampTypes).default('CreateTime'),
  })
  .strict()
export type TopicConfig = z.output<typeof topicConfigSchema>
export type TopicConfigInput = z.input<typeof topicConfigSchema>

export const logOptionsSchema = z
  .object({
    /** Directory of the LMDB environment; created if missing. */
    dataDir: z.string().min(1),
    /** At-rest encryption key (exactly 32 bytes); the same key must be given on every open. */
    encryptionKey: z
      .union([z.string(), z.instanceof(Uint8Array)])
      .refine(
        (k) => (typeof k === 'string' ? Buffer.byteLength(k) : k.length) === 32,
        'must be exactly 32 bytes',
      )
      .optional(),
    maxRecordBytes: z
      .number()
      .int()
      .min(64)
      .max(64 * 1024 * 1024)
      .default(DEFAULT_MAX_RECORD_BYTES),
    /** Budget for the whole log, in stored bytes (records + keys); null means unbounded. */
    diskBudgetBytes: nonNegativeInt.nullable().default(null),
    /**
     * Appends to classes above the lowest that would take those classes past this many stored
     * bytes are refused (DISK_BUDGET_EXCEEDED, retriable); the lowest class is never refused, the
     * budget trims it. Null: 2 × diskBudgetBytes when a budget is set, else unbounded.
     */
    diskHardLimitBytes: nonNegativeInt.nullable().default(null),
    /** Initial LMDB map size (address space reserved up front; lmdb-js grows it when full). Bound the disk with diskBudgetBytes/diskHardLimitBytes. */
    mapSizeBytes: z
      .number()
      .int()
      .min(1024 * 1024)
      .default(DEFAULT_MAP_SIZE_BYTES),
    retentionCheckIntervalMs: z.number().int().min(10).default(DEFAULT_RETENTION_CHECK_INTERVAL_MS),
    timeIndexIntervalBytes: z.number().int().min(0).default(DEFAULT_TIME_INDEX_INTERVAL_BYTES),
    /** Wall clock in ms; injected by tests. */
    clock: z.custom<() => number>((v) => typeof v === 'function').default(() => Date.now),
  })
  .strict()
export type LogOptions = z.output<typeof logOptionsSchema>
export type LogOptionsInput = z.input<typeof logOptionsSchema>

/** Parses options with zod, turning the first problem into an INVALID_ARGUMENT that names the field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  throw new LogError('INVALID_ARGUMENT', `invalid ${what}: ${problems}`)
}
