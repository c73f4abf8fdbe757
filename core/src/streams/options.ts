import { z } from 'zod'
import { validateTopicName } from '../log/index.ts'
import type { Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'

export const processingGuarantees = ['exactly_once', 'at_least_once'] as const
export type ProcessingGuarantee = (typeof processingGuarantees)[number]

/** at_least_once commits offsets and state this often (Kafka Streams' commit.interval.ms default). */
export const DEFAULT_ALOS_COMMIT_INTERVAL_MS = 30_000

/** Records a task reads and processes per commit transaction, at most. */
export const DEFAULT_MAX_RECORDS_PER_COMMIT = 1000

const NAME = /^[a-zA-Z0-9._-]{1,200}$/

const serde = z.custom<Serde<unknown>>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Serde<unknown>).serialize === 'function' &&
    typeof (v as Serde<unknown>).deserialize === 'function',
  { error: 'must be a Serde: an object with serialize and deserialize functions, e.g. Serdes.String' },
)

const name = z
  .string()
  .regex(NAME, { error: 'use 1–200 characters of [a-zA-Z0-9._-] (names become store and topic names)' })

/** Serdes where records cross the log: `stream(topic, …)`, `to(topic, …)`, `groupBy(fn, …)`. */
export const serdesSchema = z.object({ keySerde: serde.optional(), valueSerde: serde.optional() }).strict()

const fn = <T>(what: string) =>
  z.custom<T>((v) => typeof v === 'function', { error: `must be a function: ${what}` })

/** Kafka's timestamp extractors by name, or a function (see TimestampExtractor in topology.ts). */
const timestampExtractor = z.union(
  [
    z.enum(['event', 'ingestion', 'processing']),
    fn<(record: never, partitionTimeMs: number) => number>('(record, partitionTimeMs) => timestampMs'),
  ],
  {
    error:
      "must be 'event', 'ingestion', 'processing' or a function (record, partitionTimeMs) => timestampMs",
  },
)

/** `stream(topic, …)`: serdes and where each record's timestamp comes from. */
export const streamOptionsSchema = serdesSchema
  .extend({ timestampExtractor: timestampExtractor.optional() })
  .strict()

/** `process(supplier, { stores })`: store names or the specs addStateStore returned. */
export const processOptionsSchema = z
  .object({
    stores: z
      .array(
        z.union([
          z.string(),
          z.custom<{ readonly name: string; readonly kind: 'keyValue' | 'window' | 'session' }>(
            (v) => typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string',
            { error: 'must be a store name or the spec builder.addStateStore returned' },
          ),
        ]),
      )
      .optional(),
  })
  .strict()

const positiveMs = z.number().int().min(1)

/** `builder.addStateStore(spec)`: a key-value, window or session store for the Processor API. */
export const storeSpecSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('keyValue'), name, keySerde: serde, valueSerde: serde }).strict(),
    z
      .object({
        kind: z.literal('window'),
        name,
        keySerde: serde,
        valueSerde: serde,
        windowSizeMs: positiveMs,
        retentionMs: positiveMs,
      })
      .strict()
      .refine((w) => w.retentionMs >= w.windowSizeMs, {
        error: 'retentionMs must be ≥ windowSizeMs (a window must be kept at least until it ends)',
        path: ['retentionMs'],
      }),
    z
      .object({
        kind: z.literal('session'),
        name,
        keySerde: serde,
        valueSerde: serde,
        retentionMs: positiveMs,
      })
      .strict(),
  ],
  { error: "kind must be 'keyValue', 'window' or 'session'" },
)

/** `count`, `reduce`, `aggregate`: the store name (also the repartition topic's), and its value serde. */
export const materializedSchema = z
  .object({ name: name.optional(), keySerde: serde.optional(), valueSerde: serde.optional() })
  .strict()

/** Windowed `count`, `reduce`, `aggregate`: as materializedSchema, plus when to emit. */
export const windowedMaterializedSchema = z
  .object({
    name: name.optional(),
    keySerde: serde.optional(),
    valueSerde: serde.optional(),
    emitStrategy: z.enum(['onUpdate', 'onWindowClose']).default('onUpdate'),
  })
  .strict()

/**
 * What to do with a source record its serdes cannot deserialize (Kafka's
 * LogAndContinueExceptionHandler / LogAndFailExceptionHandler):
 * - 'logAndContinue': log a line, count it (deadLetteredRecords), write the raw record to the
 *   dead-letter topic `<applicationId>-dlq` in the same commit, and go on with the next record.
 * - 'logAndFail': stop the engine with SERDE_FAILURE.
 */
export const deserializationExceptionHandlers = ['logAndContinue', 'logAndFail'] as const
export type DeserializationExceptionHandler = (typeof deserializationExceptionHandlers)[number]
export const DEFAULT_DESERIALIZATION_EXCEPTION_HANDLER: DeserializationExceptionHandler = 'logAndContinue'

/** Where the engine reports what it skips (dead-lettered or invalid-timestamp records). */
export interface StreamsLogger {
  warn(message: string): void
}

/** The default logger: one line per message on stderr. */
export const STDERR_LOGGER: StreamsLogger = {
  warn: (message) => {
    process.stderr.write(`[vigil streams] WARN ${message}\n`)
  },
}

/** The dead-letter topic of an application: raw records its sources could not deserialize. */
export function deadLetterTopicOf(applicationId: string): string {
  return `${applicationId}-dlq`
}

export const engineOptionsSchema = z
  .object({
    /** Names the consumer group of the input offsets and prefixes internal topics. */
    applicationId: name,
    maxRecordsPerCommit: z.number().int().min(1).default(DEFAULT_MAX_RECORDS_PER_COMMIT),
    /**
     * 'exactly_once' (default): every batch commits its outputs, input offsets and state in ONE
     * transaction. 'at_least_once': outputs commit every batch, but offsets and state only every
     * `commitIntervalMs` (and when a store's write buffer fills, and on close); after a crash the
     * records since the last such commit are processed again: their outputs appear twice, while
     * the state, restored with its offsets, stays exact.
     */
    processingGuarantee: z.enum(processingGuarantees).default('exactly_once'),
    /** at_least_once: how often offsets and state commit (Kafka Streams' default, 30 s). */
    commitIntervalMs: z.number().int().min(0).default(DEFAULT_ALOS_COMMIT_INTERVAL_MS),
    deserializationExceptionHandler: z
      .enum(deserializationExceptionHandlers)
      .default(DEFAULT_DESERIALIZATION_EXCEPTION_HANDLER),
    /** The wall clock (ms) for wall-clock punctuations and the 'processing' timestamp extractor. */
    clock: fn<() => number>('() => epoch ms').default(() => Date.now),
    logger: z
      .custom<StreamsLogger>(
        (v) => typeof v === 'object' && v !== null && typeof (v as StreamsLogger).warn === 'function',
        { error: 'must be a logger: an object with a warn(message) function' },
      )
      .default(STDERR_LOGGER),
  })
  .strict()
export type EngineOptions = z.output<typeof engineOptionsSchema>
export type EngineOptionsInput = z.input<typeof engineOptionsSchema>

/** Parses with zod; the first problems become an INVALID_ARGUMENT naming the field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  throw new StreamsError('INVALID_ARGUMENT', `invalid ${what}: ${problems}`)
}

/** A topic name by the log's rule, as a StreamsError. */
export function checkTopic(topic: unknown): string {
  try {
    return validateTopicName(topic)
  } catch (cause) {
    throw new StreamsError('INVALID_ARGUMENT', (cause as Error).message, { cause })
  }
}
