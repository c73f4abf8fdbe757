// Waveforms may be trimmed under disk pressure before they are replicated (the lowest priority
// class gives way even below floors). Each such range is reported upstream as a gap record, in
// the same transaction as the replication offset, and everything else arrives exactly once.
import { Log } from '@vigil/core'
import { describe, expect, it } from 'vitest'
import { HEADER_LOCAL_OFFSET, Replicator, type GapRecord } from '../../src/index.ts'
import { readCommitted, tempDir, uniqueName } from './fixtures/upstream.ts'
import { caughtUp } from './fixtures/wait.ts'
import { useKafka } from './fixtures/kafka.ts'

const kafka = useKafka(1)

const BLOCK = Buffer.alloc(1_000, 7)

describe('Replicator gap records (waveform trimmed before replication)', () => {
  it('reports each trimmed range upstream and replicates the rest exactly once', async () => {
    const dir = await tempDir('vigil-replicate-gaps')
    const log = await Log.open({ dataDir: dir.path, diskBudgetBytes: 100_000 })
    const gatewayId = uniqueName('gw-gaps')
    let replicator: Replicator | undefined
    try {
      await log.createTopic('raw.ecg', { partitions: 1, priorityClass: 'waveform' })
      // ~20 records/s: the replicator falls behind a burst, which the disk budget then trims.
      replicator = await Replicator.start(log, {
        brokers: kafka.bootstrap,
        gatewayId,
        maxBatchRecords: 2,
        maxBytesPerSecond: 40_000,
        burstBytes: 2_200,
      })
      const trimmedBelowFloor: number[] = []
      log.on('trimmed', (e) => {
        if (e.belowFloorRecords > 0) trimmedBelowFloor.push(e.belowFloorRecords)
      })
      for (let i = 0; i < 400; i += 50) {
        await log.appendBatch(
          'raw.ecg',
          Array.from({ length: 50 }, (_, j) => ({ value: BLOCK, timestampMs: 1_700_000_000_000 + i + j })),
        )
      }
      await log.enforceRetention()
      expect(trimmedBelowFloor.length).toBeGreaterThan(0)
      await caughtUp(replicator, log, 60_000)
      const status = replicator.status()[0]!
      expect(status.gapRecords).toBeGreaterThan(0)

      const gaps = (await readCommitted(kafka.bootstrap, [`vigil.${gatewayId}.gaps`])).map(
        (r) => JSON.parse(r.value!.toString()) as GapRecord,
      )
      const data = (await readCommitted(kafka.bootstrap, [`vigil.${gatewayId}.raw.ecg`])).map((r) =>
        Number(r.headers[HEADER_LOCAL_OFFSET]),
      )
      expect(gaps.length).toBeGreaterThan(0)
      for (const g of gaps) {
        expect(g).toMatchObject({
          gatewayId,
          topic: 'raw.ecg',
          partition: 0,
          reason: 'disk-budget',
          records: g.toOffset - g.fromOffset,
        })
      }
      expect(gaps.reduce((n, g) => n + g.records, 0)).toBe(status.gapRecords)
      // Data and gaps together cover every local offset exactly once, in order.
      const covered = [
        ...data.map((o) => ({ from: o, to: o + 1 })),
        ...gaps.map((g) => ({ from: g.fromOffset, to: g.toOffset })),
      ].sort((a, b) => a.from - b.from)
      let at = 0
      for (const range of covered) {
        expect(range.from).toBe(at)
        at = range.to
      }
      expect(at).toBe(400)
      expect(data).toEqual([...data].sort((a, b) => a - b))
    } finally {
      await replicator?.close()
      await log.close()
      await dir.remove()
    }
  })
})
