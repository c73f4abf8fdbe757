// Fail-over on the 3-broker cluster (replication factor 3, min.insync.replicas 2): the leader of
// an upstream partition is killed (SIGKILL) mid-stream; replication continues on the new leader
// with no loss and no duplicates. The killed broker is restarted afterwards.
import { Log } from '@vigil/core'
import { describe, expect, it, type TestContext } from 'vitest'
import { broker } from '../../../test/kafka/harness.ts'
import { DEFAULT_OFFSETS_TOPIC, HEADER_LOCAL_OFFSET, Replicator, type CommitEvent } from '../../src/index.ts'
import {
  byPartition,
  readCommitted,
  readCommittedJava,
  withAdmin,
  tempDir,
  uniqueName,
  type UpstreamRecord,
} from './fixtures/upstream.ts'
import { caughtUp } from './fixtures/wait.ts'
import { useKafka } from './fixtures/kafka.ts'

const kafka = useKafka(3)

function leaderOf(topic: string, partition: number): Promise<number> {
  return withAdmin(kafka.bootstrap, async (admin) => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
    return topics[0]!.partitions.find((p) => p.partitionId === partition)!.leader
  })
}

/** Where an upstream view departs from the local log: counts, and local offsets seen more than once (with their upstream offsets). */
function explain(local: string[], view: UpstreamRecord[]): string {
  const at = new Map<string, number[]>()
  for (const r of view) {
    const id = r.headers[HEADER_LOCAL_OFFSET] ?? '?'
    at.set(id, [...(at.get(id) ?? []), r.offset])
  }
  const dup = [...at].filter(([, offsets]) => offsets.length > 1)
  const missing = local.filter((l) => !at.has(l.split(':')[0]!)).length
  const runs =
    dup.length > 0
      ? `local ${dup[0]![0]}..${dup.at(-1)![0]} at upstream ${JSON.stringify(dup[0]![1])}..${JSON.stringify(dup.at(-1)![1])}`
      : ''
  return `  local ${local.length}, upstream ${view.length} (offsets ${view[0]?.offset}..${view.at(-1)?.offset}), duplicated local offsets ${dup.length} ${runs}, missing ${missing}`
}

describe('Replicator fail-over (3 brokers, leader killed)', () => {
  it(
    'keeps replicating exactly once when the partition leader dies',
    (ctx) => failover(ctx, 'upstream'),
    180_000,
  )
  // The offset record read on recovery comes from the offsets topic: kill its leader right after a commit.
  it(
    'keeps replicating exactly once when the offsets topic leader dies',
    (ctx) => failover(ctx, 'offsets'),
    180_000,
  )
})

async function failover(ctx: TestContext, target: 'upstream' | 'offsets'): Promise<void> {
  const dir = await tempDir('vigil-replicate-failover')
  const log = await Log.open({ dataDir: dir.path })
  const gatewayId = uniqueName('gw-failover')
  const upstreamTopic = `vigil.${gatewayId}.vitals`
  let replicator: Replicator | undefined
  let killed: 1 | 2 | 3 | undefined
  const stream = { on: true }
  try {
    await log.createTopic('vitals', { partitions: 2, priorityClass: 'vitals' })
    const started = Date.now()
    const timeline: string[] = []
    const committedUpTo = new Map<number, number>()
    const staleResumes: string[] = []
    replicator = await Replicator.start(
      log,
      {
        brokers: kafka.bootstrap,
        gatewayId,
        replicationFactor: 3,
        maxBatchRecords: 500,
        backoff: { initialMs: 100, maxMs: 1_000 },
      },
      {
        logger: (e) => {
          const { level, message, ...fields } = e
          const at = 'partition' in fields ? ` ${JSON.stringify(fields).slice(0, 300)}` : ''
          timeline.push(`${Date.now() - started} ms ${level}: ${message}${at}`)
          // A resume below what this run already saw committed re-sends committed records: the
          // offset record read on recovery was stale (whatever a verifier later shows).
          if (message === 'resuming replication') {
            const { partition, nextOffset } = fields as { partition: number; nextOffset: number }
            const seen = committedUpTo.get(partition) ?? 0
            if (nextOffset < seen)
              staleResumes.push(`partition ${partition} resumed at ${nextOffset} after ${seen} committed`)
          }
        },
      },
    )
    replicator.on('committed', (e: CommitEvent) => {
      committedUpTo.set(e.partition, Math.max(committedUpTo.get(e.partition) ?? 0, e.nextOffset))
    })
    // The fail-over's timeline, for a post-mortem.
    ctx.onTestFailed(() => {
      console.log(timeline.join('\n'))
    })
    let appended = 0
    const appender = (async () => {
      while (stream.on) {
        await log.appendBatch(
          'vitals',
          Array.from({ length: 10 }, (_, j) => ({
            key: Buffer.from(`patient-${(appended + j) % 9}`),
            value: Buffer.from(`i=${appended + j}`),
          })),
        )
        appended += 10
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })()
    // Mid-stream: once a few hundred records of partition 0 are upstream, kill its leader.
    await new Promise<void>((resolve) => {
      const onCommit = (e: CommitEvent): void => {
        if (e.partition !== 0 || e.nextOffset < 300) return
        replicator!.off('committed', onCommit)
        resolve()
      }
      replicator!.on('committed', onCommit)
    })
    const leader = await leaderOf(target === 'upstream' ? upstreamTopic : DEFAULT_OFFSETS_TOPIC, 0)
    expect([1, 2, 3]).toContain(leader)
    killed = leader as 1 | 2 | 3
    await broker('kill', killed, 3)
    const committedBefore = replicator.status()[0]!.replicatedOffset!
    // Keep streaming until partition 0 has committed well past the kill (on a new leader).
    await new Promise<void>((resolve) => {
      const onCommit = (e: CommitEvent): void => {
        if (e.partition !== 0 || e.nextOffset < committedBefore + 300) return
        replicator!.off('committed', onCommit)
        resolve()
      }
      replicator!.on('committed', onCommit)
    })
    stream.on = false
    await appender
    await caughtUp(replicator, log, 60_000)
    if (target === 'upstream') expect(await leaderOf(upstreamTopic, 0)).not.toBe(killed)

    // Ground truth: Kafka's Java consumer, read_committed. kafkajs's read_committed view and the raw
    // (read_uncommitted) log are read too: when a view disagrees, the post-mortem says which.
    const views = {
      java: byPartition(await readCommittedJava(kafka.bootstrap, [upstreamTopic])),
      kafkajs: byPartition(await readCommitted(kafka.bootstrap, [upstreamTopic])),
      uncommitted: byPartition(
        await readCommittedJava(kafka.bootstrap, [upstreamTopic], { readUncommitted: true }),
      ),
    }
    const asLocal = (list: UpstreamRecord[] | undefined): string[] =>
      (list ?? []).map((r) => `${r.headers[HEADER_LOCAL_OFFSET]}:${r.value?.toString()}`)
    let total = 0
    let differs = false
    for (const p of [0, 1]) {
      const local = log
        .read('vitals', p, 0, { maxRecords: 100_000 })
        .map((r) => `${r.offset}:${Buffer.from(r.value).toString()}`)
      for (const [name, view] of Object.entries(views)) {
        const remote = asLocal(view.get(p))
        if (JSON.stringify(remote) !== JSON.stringify(local)) {
          if (!differs) console.log(timeline.join('\n'))
          differs = true
          console.log(
            `[failover] ${upstreamTopic} partition ${p}: the ${name} view differs from the local log\n${explain(local, view.get(p) ?? [])}`,
          )
        }
      }
      expect(asLocal(views.java.get(p))).toEqual(local)
      total += views.java.get(p)?.length ?? 0
    }
    expect(total).toBe(appended)
    expect(staleResumes).toEqual([])
  } finally {
    stream.on = false
    await replicator?.close()
    await log.close()
    await dir.remove()
    if (killed !== undefined) await broker('start', killed, 3)
  }
}
