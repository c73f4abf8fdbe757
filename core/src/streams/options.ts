import { z } from 'zod'
import { validateTopicName } from '../log/index.ts'
import type { Serde } from '../state/index.ts'
import { StreamsError } from './errors.ts'

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

export const engineOptionsSchema = z
  .object({
    /** Names the consumer group of the input offsets and prefixes internal topics. */
    applicationId: name,
    maxRecordsPerCommit: z.number().int().min(1).default(DEFAULT_MAX_RECORDS_PER_COMMIT),
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
