import type { RootDatabase } from 'lmdb'
import { z } from 'zod'
import { StateError } from './errors.ts'

/** Write buffer per store by default: 10 MiB, Kafka Streams' default cache size. */
export const DEFAULT_MAX_BUFFERED_BYTES = 10 * 1024 * 1024
/** Smallest write buffer accepted: a few entries. */
export const MIN_MAX_BUFFERED_BYTES = 1024

const STORE_NAME = /^[a-zA-Z0-9._-]{1,249}$/

/** A positive whole number of milliseconds; zod prefixes each message with the field's path. */
const ms = (example: string) =>
  z
    .number({ error: `must be a number of milliseconds, e.g. ${example}` })
    .int({ error: `must be a whole number of milliseconds, e.g. ${example}` })
    .positive({ error: `must be > 0, e.g. ${example}` })
    .max(Number.MAX_SAFE_INTEGER, { error: 'must be at most 2^53 - 1' })

export const storeNameSchema = z
  .string()
  .regex(STORE_NAME, { error: 'use 1–249 characters of [a-zA-Z0-9._-] (store names become topic-like ids)' })

export const windowStoreOptionsSchema = z
  .object({
    /** How long windows are kept after stream time passes their start; ≥ windowSizeMs (add the grace period). */
    retentionMs: ms('3_600_000 for one hour'),
    /** Length of every window: a window starting at s covers [s, s + windowSizeMs). */
    windowSizeMs: ms('60_000 for one-minute windows'),
  })
  .strict()
  .refine((o) => o.retentionMs >= o.windowSizeMs, {
    path: ['retentionMs'],
    error: (issue) => {
      const o = issue.input as { retentionMs: number; windowSizeMs: number }
      return `must be ≥ windowSizeMs (${o.windowSizeMs}), got ${o.retentionMs}; a window must outlive its own length: use retentionMs = windowSizeMs + graceMs`
    },
  })
export type WindowStoreOptions = z.output<typeof windowStoreOptionsSchema>

export const sessionStoreOptionsSchema = z
  .object({
    /** How long sessions are kept after stream time passes their end; ≥ inactivity gap + grace. */
    retentionMs: ms('3_600_000 for one hour'),
  })
  .strict()
export type SessionStoreOptions = z.output<typeof sessionStoreOptionsSchema>

export const cachingOptionsSchema = z
  .object({
    /** Bound of the write buffer in bytes; a write past it throws BUFFER_FULL until the next commit. */
    maxBufferedBytes: z
      .number()
      .int({ error: 'must be a whole number of bytes' })
      .min(MIN_MAX_BUFFERED_BYTES, { error: `must be ≥ ${MIN_MAX_BUFFERED_BYTES} bytes` })
      .default(DEFAULT_MAX_BUFFERED_BYTES),
  })
  .strict()
export type CachingOptions = z.output<typeof cachingOptionsSchema>
export type CachingOptionsInput = z.input<typeof cachingOptionsSchema>

export const buildContextSchema = z
  .object({
    /** The LMDB environment persistent stores live in: the one the task's transactions run in. */
    env: z
      .custom<RootDatabase>(
        (v) => typeof v === 'object' && v !== null && typeof (v as RootDatabase).openDB === 'function',
        { error: 'env must be an lmdb RootDatabase (the value lmdb open() returns)' },
      )
      .optional(),
  })
  .strict()
export type BuildContext = z.input<typeof buildContextSchema>

/** Parses with zod, turning the problems into one INVALID_ARGUMENT naming each bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  throw new StateError('INVALID_ARGUMENT', `invalid ${what}: ${problems}`)
}

export function validateStoreName(name: unknown): string {
  if (typeof name !== 'string' || !STORE_NAME.test(name)) {
    throw new StateError(
      'INVALID_STORE_NAME',
      `store name ${JSON.stringify(name)} is invalid; use 1–249 characters of [a-zA-Z0-9._-]`,
    )
  }
  return name
}
