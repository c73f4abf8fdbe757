// Outage: the broker is stopped while the gateway keeps appending (100,000 waveform records), then
// started again. The backlog drains completely, in order, without duplicates; floors hold the
// un-replicated records meanwhile; and alarms appended during the drain overtake the waveform
// backlog (priorities under the bandwidth cap).
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Log, type RecordInput } from '@vigil/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { broker, KAFKA_START_TIMEOUT_MS, startKafka, type LocalKafka } from '../../../test/kafka/harness.ts'
import {
  HEADER_LOCAL_OFFSET,
  Replicator,
  type CommitEvent,
  type LogEntry,
  type ReplicatorError,
} from '../../src/index.ts'
import { byPartition, readCommitted, tempDir, uniqueName } from './fixtures/upstream.ts'
import { caughtUp } from './fixtures/wait.ts'

const BACKLOG = 100_000
const BROKER_SH = fileURLToPath(new URL('../../../test/kafka/broker.sh', import.meta.url))

let kafka: LocalKafka
let ownBroker = false
beforeAll(async () => {
  kafka = await startKafka(1)
  // Only a broker of this checkout's deployment can be stopped and restarted by broker.sh.
  const { stdout } = await promisify(execFile)(BROKER_SH, ['status', '1', '--brokers', '1'])
  ownBroker = stdout.startsWith('up')
}, KAFKA_START_TIMEOUT_MS)
afterAll(async () => {
  await kafka.stop()
}, KAFKA_START_TIMEOUT_MS)

const enc = (s: string): Uint8Array => Buffer.from(s)

function waveform(from: number, count: number): RecordInput[] {
  return Array.from({ length: count }, (_, j) => ({
    key: enc(`patient-${(from + j) % 4}`),
    value: enc(`ecg-block-${from + j}`),
    timestampMs: 1_700_000_000_000 + from + j,
  }))
}

describe('Replicator outage (broker stopped and restarted)', () => {
  it(`drains a ${BACKLOG}-record backlog in order, once, with alarms first`, async (ctx) => {
    if (!ownBroker) ctx.skip('the broker on 19092 belongs to another checkout; broker.sh cannot stop it')
    const dir = await tempDir('vigil-replicate-outage')
    const log = await Log.open({ dataDir: dir.path, retentionCheckIntervalMs: 60_000 })
    const gatewayId = uniqueName('gw-outage')
    const logs: LogEntry[] = []
    let replicator: Replicator | undefined
    let brokerDown = false
    try {
      // Retention would delete the whole backlog (1 ms) if the floors did not hold it.
      await log.createTopic('raw.ecg', { partitions: 2, priorityClass: 'waveform', retentionMs: 1 })
      await log.createTopic('alerts', { partitions: 1, priorityClass: 'alarms', retentionMs: 1 })
      replicator = await Replicator.start(
        log,
        {
          brokers: kafka.bootstrap,
          gatewayId,
          backoff: { initialMs: 100, maxMs: 1_000 },
          // ~60 B per record: the 100,000-record backlog takes ≥ 3 s to drain, so alarms meet it.
          maxBytesPerSecond: 2_000_000,
          maxBatchRecords: 2_000,
        },
        { logger: (e) => logs.push(e) },
      )
      await log.appendBatch('raw.ecg', waveform(0, 100))
      await caughtUp(replicator, log)

      brokerDown = true
      await broker('stop', 1, 1)
      for (let i = 100; i < 100 + BACKLOG; i += 2_000) await log.appendBatch('raw.ecg', waveform(i, 2_000))
      await log.append('alerts', { key: enc('patient-1'), value: enc('alarm-during-outage') })
      // Nothing un-replicated is trimmed meanwhile: the floors hold it against the 1 ms retention.
      const trimmed = await log.enforceRetention()
      expect(trimmed.filter((t) => t.belowFloorRecords > 0)).toEqual([])
      expect(log.startOffset('raw.ecg', 0) + log.startOffset('raw.ecg', 1)).toBe(
        (replicator.status()[0]?.replicatedOffset ?? -1) + (replicator.status()[1]?.replicatedOffset ?? -1),
      )
      // The outage shows as a clear, retriable status on the partitions that had work.
      const firstError = await new Promise<ReplicatorError>((resolve) => {
        replicator!.once('error', ({ error }) => {
          resolve(error)
        })
      })
      expect(firstError).toMatchObject({ retriable: true })
      const during = replicator.status()
      expect(during.some((s) => s.lastError?.retriable === true && s.consecutiveFailures > 0)).toBe(true)
      expect(during.reduce((n, s) => n + s.lagRecords, 0)).toBe(BACKLOG + 1)

      // Live alarms during the drain: one per waveform commit, five in all.
      const events: { kind: 'waveform-done' | 'alarm-appended' | 'alarm-committed'; offset?: number }[] = []
      const alarmOffsets: number[] = []
      let waveformCommits = 0
      const onCommit = (e: CommitEvent): void => {
        if (e.topic === 'alerts') {
          for (const o of alarmOffsets) {
            if (o < e.nextOffset && !events.some((x) => x.kind === 'alarm-committed' && x.offset === o)) {
              events.push({ kind: 'alarm-committed', offset: o })
            }
          }
          return
        }
        waveformCommits++
        if (alarmOffsets.length < 5 && waveformCommits % 2 === 1) {
          void log
            .append('alerts', { key: enc('patient-2'), value: enc(`alarm-live-${alarmOffsets.length}`) })
            .then((r) => {
              alarmOffsets.push(r.offset)
              events.push({ kind: 'alarm-appended', offset: r.offset })
            })
        }
        const done = [0, 1].every(
          (p) => (replicator!.status()[p]?.replicatedOffset ?? 0) >= log.endOffset('raw.ecg', p),
        )
        if (done && !events.some((x) => x.kind === 'waveform-done')) events.push({ kind: 'waveform-done' })
      }
      replicator.on('committed', onCommit)
      await broker('start', 1, 1)
      brokerDown = false
      await caughtUp(replicator, log, 60_000)
      replicator.off('committed', onCommit)

      // Every outage error was a clear, retriable status; the partitions are back to normal.
      const outageErrors = logs.filter((e) => e.level !== 'info')
      expect(outageErrors.length).toBeGreaterThan(0)
      expect(outageErrors.every((e) => e.retriable === true)).toBe(true)
      expect(outageErrors.map((e) => e.code)).toContain('UPSTREAM_UNAVAILABLE')
      for (const s of replicator.status()) expect(s).toMatchObject({ lagRecords: 0, consecutiveFailures: 0 })

      // Alarms appended during the drain were committed before the waveform backlog finished.
      expect(alarmOffsets.length).toBeGreaterThanOrEqual(3)
      const doneAt = events.findIndex((x) => x.kind === 'waveform-done')
      const appendedBeforeDone = events.slice(0, doneAt).filter((x) => x.kind === 'alarm-appended')
      expect(appendedBeforeDone.length).toBeGreaterThanOrEqual(2)
      for (const a of appendedBeforeDone) {
        const committedAt = events.findIndex((x) => x.kind === 'alarm-committed' && x.offset === a.offset)
        expect(committedAt).toBeGreaterThanOrEqual(0)
        expect(committedAt).toBeLessThan(doneAt)
      }

      // Upstream: every waveform record once, in order, per partition.
      const expected = log.endOffset('raw.ecg', 0) + log.endOffset('raw.ecg', 1)
      const upstream = byPartition(
        await readCommitted(kafka.bootstrap, [`vigil.${gatewayId}.raw.ecg`], { minRecords: expected }),
      )
      let total = 0
      for (const p of [0, 1]) {
        const remote = (upstream.get(p) ?? []).map((r) => Number(r.headers[HEADER_LOCAL_OFFSET]))
        const end = log.endOffset('raw.ecg', p)
        total += remote.length
        expect(remote.length).toBe(end)
        expect(remote.every((o, i) => o === i)).toBe(true)
      }
      expect(total).toBe(BACKLOG + 100)
    } finally {
      if (brokerDown) await broker('start', 1, 1).catch(() => undefined)
      await replicator?.close()
      await log.close()
      await dir.remove()
    }
  }, 90_000)
})
