import { z } from 'zod'
import { environmentOf } from '../log/environment.ts'
import type { Log } from '../log/index.ts'
import { Position, StateDatabase } from '../state/index.ts'
import { StreamsError } from './errors.ts'
import { parseOrThrow } from './options.ts'
import type { Topology } from './topology.ts'

/*
 * Reprocessing: rewinds a streams application so a changed rule can be re-applied to retained
 * history (Kafka's `kafka-streams-application-reset`, as an API; the `vigil reset` CLI wraps it).
 * The application must be stopped: its stores must not be open in this process (and no other
 * process can hold the log). Re-running a reset is harmless, so a crash part-way is fixed by
 * running it again.
 */

const resetOptionsSchema = z
  .object({
    applicationId: z.string().regex(/^[a-zA-Z0-9._-]{1,200}$/, {
      error: 'use the applicationId the application runs with (1–200 characters of [a-zA-Z0-9._-])',
    }),
    /** Where input offsets go: the earliest retained record, or the first at or after a time. */
    to: z
      .union([z.literal('earliest'), z.object({ timestampMs: z.number().int().min(0) }).strict()])
      .default('earliest'),
  })
  .strict()
export type ResetOptionsInput = z.input<typeof resetOptionsSchema>

export interface ResetReport {
  /** Input partitions rewound, with the offset each will be read from next. */
  readonly inputs: readonly { topic: string; partition: number; offset: number }[]
  /** Records deleted from the application's internal (repartition) topics. */
  readonly internalRecordsDeleted: number
  /** Store instances cleared, by physical name, and the entries removed. */
  readonly stores: readonly { name: string; entries: number }[]
}

/**
 * Resets application `applicationId` of `topology` on `log`:
 * 1. deletes every record of its internal topics `<applicationId>-<name>-repartition`;
 * 2. in ONE transaction, commits its input offsets to `to` (earliest, or the first record at or after
 *    `{ timestampMs }`; the end if none), moves its internal-topic offsets to their ends, and clears
 *    every task instance of its stores.
 * The next start re-processes from there with empty state. Outputs already written stay (as with
 * Kafka's tool): downstream readers see the re-run's results after them. The dead-letter topic is
 * kept as evidence. Throws INVALID_ARGUMENT, before changing anything, if the application is running
 * here (its stores are open).
 */
export async function resetApplication(
  topology: Topology,
  log: Log,
  input: ResetOptionsInput,
): Promise<ResetReport> {
  const { applicationId, to } = parseOrThrow(resetOptionsSchema, input, 'reset options')
  const partitionsOf = new Map(log.topics().map((t) => [t.name, t.config.partitions]))
  const state = StateDatabase.of(environmentOf(log))
  const physicalStores = new Set(topology.stores.map((s) => `${applicationId}-${s.name}-`))
  const instances = state
    .stores()
    .map((s) => s.name)
    .filter((name) => {
      const cut = name.lastIndexOf('-') + 1
      return physicalStores.has(name.slice(0, cut)) && /^\d+$/.test(name.slice(cut))
    })
  // Before anything is deleted: a running application must be stopped first.
  const open = instances.find((name) => state.isOpen(name))
  if (open !== undefined) {
    throw new StreamsError(
      'INVALID_ARGUMENT',
      `application ${applicationId} is running here (its store ${open} is open); stop it before resetting`,
    )
  }
  for (const topic of topology.sourceTopics) {
    if (!partitionsOf.has(topic)) {
      throw new StreamsError('UNKNOWN_TOPIC', `input topic ${topic} does not exist; nothing to reset it to`)
    }
  }

  let internalRecordsDeleted = 0
  const internal = topology.internalTopics
    .map((t) => `${applicationId}-${t}`)
    .filter((t) => partitionsOf.has(t))
  for (const topic of internal) {
    for (let p = 0; p < partitionsOf.get(topic)!; p++) {
      const event = await log.deleteRecords(topic, p, log.endOffset(topic, p))
      internalRecordsDeleted += event?.records ?? 0
    }
  }

  const inputs: { topic: string; partition: number; offset: number }[] = []
  for (const topic of topology.sourceTopics) {
    for (let p = 0; p < partitionsOf.get(topic)!; p++) {
      const offset =
        to === 'earliest'
          ? log.startOffset(topic, p)
          : (log.offsetForTimestamp(topic, p, to.timestampMs) ?? log.endOffset(topic, p))
      inputs.push({ topic, partition: p, offset })
    }
  }
  // What an emptied store instance reflects: every input record its task now skips (offset - 1 per
  // input partition of its sub-topology), so the engine's restorability check holds after the reset.
  const targets = new Map<string, number>()
  for (const { topic, partition, offset } of inputs) targets.set(`${topic}/${partition}`, offset)
  for (const topic of internal) {
    for (let p = 0; p < partitionsOf.get(topic)!; p++) targets.set(`${topic}/${p}`, log.endOffset(topic, p))
  }
  const positionOf = (instance: string): Position => {
    const cut = instance.lastIndexOf('-')
    const partition = Number(instance.slice(cut + 1))
    const store = instance.slice(applicationId.length + 1, cut)
    const sub = topology.subTopologies.find((s) => s.stores.includes(store))
    let position = Position.empty()
    for (const source of sub?.sources ?? []) {
      const topic = source.internal ? `${applicationId}-${source.topic}` : source.topic
      const offset = targets.get(`${topic}/${partition}`)
      if (offset !== undefined && offset > 0) position = position.with(topic, partition, offset - 1)
    }
    return position
  }
  const stores = log.transact((tx) => {
    for (const { topic, partition, offset } of inputs)
      tx.commitOffset(applicationId, topic, partition, offset)
    for (const topic of internal) {
      for (let p = 0; p < partitionsOf.get(topic)!; p++) {
        tx.commitOffset(applicationId, topic, p, log.endOffset(topic, p))
      }
    }
    return instances.map((name) => ({ name, entries: state.clearStore(name, positionOf(name)) }))
  })
  return { inputs, internalRecordsDeleted, stores }
}
