// Bad config and a bad upstream: clear errors at start for what the config itself gets wrong;
// for an unreachable cluster, wrong credentials or a mismatched topic, a clear status and log line,
// retries with backoff — and nothing trimmed locally meanwhile.
import { Log } from '@vigil/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Replicator, ReplicatorError, type LogEntry, type ReplicatorErrorCode } from '../../src/index.ts'
import { tempDir, uniqueName, withAdmin } from './fixtures/upstream.ts'
import { useKafka } from './fixtures/kafka.ts'

const kafka = useKafka(1)

let log: Log
let removeDir: () => Promise<void>
const replicators: Replicator[] = []
beforeEach(async () => {
  const dir = await tempDir('vigil-replicate-config')
  removeDir = dir.remove
  log = await Log.open({ dataDir: dir.path, retentionCheckIntervalMs: 60_000 })
  // 1 ms retention: only the replicator's floors keep these records.
  await log.createTopic('vitals', { partitions: 2, priorityClass: 'vitals', retentionMs: 1 })
  await log.appendBatch(
    'vitals',
    Array.from({ length: 50 }, (_, i) => ({
      key: Buffer.from(`p${i % 5}`),
      value: Buffer.from(`v${i}`),
      timestampMs: 1,
    })),
  )
})
afterEach(async () => {
  for (const r of replicators.splice(0)) await r.close()
  await log.close()
  await removeDir()
})

async function startRejects(options: Record<string, unknown>): Promise<ReplicatorError> {
  const error = await Replicator.start(log, options as never).then(
    () => {
      throw new Error('start should have failed')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ReplicatorError)
  return error as ReplicatorError
}

/** Starts a replicator and resolves with the first `n` errors it reports (as they are retried). */
async function errorsOf(
  options: Record<string, unknown>,
  n: number,
  logs: LogEntry[] = [],
): Promise<{ replicator: Replicator; codes: ReplicatorErrorCode[] }> {
  const replicator = await Replicator.start(log, options as never, { logger: (e) => logs.push(e) })
  replicators.push(replicator)
  const codes: ReplicatorErrorCode[] = []
  await new Promise<void>((resolve) => {
    const onError = ({ error }: { error: ReplicatorError }): void => {
      codes.push(error.code)
      if (codes.length < n) return
      replicator.off('error', onError)
      resolve()
    }
    replicator.on('error', onError)
  })
  return { replicator, codes }
}

async function expectNothingTrimmed(): Promise<void> {
  const trimmed = await log.enforceRetention()
  expect(trimmed).toEqual([])
  expect([0, 1].map((p) => log.startOffset('vitals', p))).toEqual([0, 0])
  expect([0, 1].map((p) => log.floor('vitals', p))).toEqual([0, 0])
}

describe('Replicator config and upstream errors', () => {
  it('rejects a bad config at start, naming the field and the fix', async () => {
    const base = { brokers: kafka.bootstrap, gatewayId: 'gw-1' }
    let e = await startRejects({ ...base, brokers: ['no-port'], gatewayId: 'bad id!' })
    expect(e.code).toBe('INVALID_CONFIG')
    expect(e.message).toMatch(/brokers\.0: must be "host:port"/)
    expect(e.message).toMatch(/gatewayId: must be 1–64 characters/)
    e = await startRejects({ ...base, backoff: { initialMs: 5_000, maxMs: 100 } })
    expect(e.message).toMatch(/backoff.*maxMs must be ≥ backoff.initialMs/)
    e = await startRejects({ ...base, tls: { caFile: '/nonexistent/ca.pem' } })
    expect(e).toMatchObject({ code: 'INVALID_CONFIG' })
    expect(e.message).toMatch(/tls\.caFile: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/)
    e = await startRejects({ ...base, tls: { certFile: '/x.pem' } })
    expect(e.message).toMatch(/both certFile and keyFile/)
    e = await startRejects({
      ...base,
      sasl: { mechanism: 'scram-sha-512', username: 'gw', password: 'hunter2' },
    })
    expect(e.message).toMatch(/sasl\.password/) // literal secrets are refused: files or environment only
    e = await startRejects({
      ...base,
      sasl: { mechanism: 'scram-sha-512', username: 'gw', password: { env: 'VIGIL_TEST_UNSET_SECRET' } },
    })
    expect(e.message).toMatch(/sasl\.password\.env: environment variable VIGIL_TEST_UNSET_SECRET is not set/)
    e = await startRejects({ ...base, topics: ['vitals', 'alarms'] })
    expect(e).toMatchObject({ code: 'UNKNOWN_LOCAL_TOPIC' })
    expect(e.message).toMatch(/"alarms" does not exist \(known: vitals\)/)
    e = await startRejects({ ...base, topicNames: { vitals: 'vigil.replication-offsets' } })
    expect(e.message).toMatch(/also used by offsetsTopic/)
    expect([0, 1].map((p) => log.floor('vitals', p))).toEqual([undefined, undefined]) // nothing started
  })

  it('retries an unreachable cluster with backoff, shows it in status, and trims nothing', async () => {
    const logs: LogEntry[] = []
    const { replicator, codes } = await errorsOf(
      {
        brokers: ['127.0.0.1:1'],
        gatewayId: uniqueName('gw-down'),
        backoff: { initialMs: 20, maxMs: 100 },
        connectionTimeoutMs: 500,
      },
      3,
      logs,
    )
    expect(codes).toEqual(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE'])
    for (const s of replicator.status()) {
      expect(s).toMatchObject({ replicatedOffset: null, lagRecords: s.endOffset, lastSuccessMs: null })
      expect(s.lastError).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retriable: true })
      expect(s.lastError?.message).toMatch(/127\.0\.0\.1:1.*check the network and `brokers`/)
      if (s.endOffset > 0) expect(s.lagSeconds).toBeGreaterThan(1_000_000) // records stamped at 1 ms past the epoch
    }
    expect(replicator.status().some((s) => s.endOffset > 0)).toBe(true)
    expect(logs.filter((e) => e.level === 'warn').length).toBe(1) // a repeat is in status, not a new line
    await expectNothingTrimmed()
  })

  it('reports SASL against a listener without it as an authentication failure, never logging the secret', async () => {
    const secret = `s3cret-${uniqueName('pw')}`
    process.env.VIGIL_TEST_SASL_SECRET = secret
    const logs: LogEntry[] = []
    try {
      const { replicator, codes } = await errorsOf(
        {
          brokers: kafka.bootstrap,
          gatewayId: uniqueName('gw-sasl'),
          sasl: {
            mechanism: 'scram-sha-512',
            username: 'gateway',
            password: { env: 'VIGIL_TEST_SASL_SECRET' },
          },
          backoff: { initialMs: 20, maxMs: 100 },
        },
        2,
        logs,
      )
      expect(codes[0]).toBe('AUTHENTICATION_FAILED')
      expect(replicator.status()[0]?.lastError).toMatchObject({
        code: 'AUTHENTICATION_FAILED',
        retriable: false,
      })
      const everything = JSON.stringify([logs, replicator.status()])
      expect(everything).not.toContain(secret)
      expect(everything).toContain('<secret>') // the logged config shows that a password is set, not what it is
      await expectNothingTrimmed()
    } finally {
      delete process.env.VIGIL_TEST_SASL_SECRET
    }
  })

  it('refuses an upstream topic whose partition count differs, as a clear non-retriable status', async () => {
    const gatewayId = uniqueName('gw-mismatch')
    await withAdmin(kafka.bootstrap, (admin) =>
      admin.createTopics({
        topics: [{ topic: `vigil.${gatewayId}.vitals`, numPartitions: 3 }],
        waitForLeaders: true,
      }),
    )
    const { replicator, codes } = await errorsOf(
      { brokers: kafka.bootstrap, gatewayId, backoff: { initialMs: 20, maxMs: 100 } },
      1,
    )
    expect(codes).toEqual(['PARTITION_MISMATCH'])
    expect(replicator.status()[1]?.lastError).toMatchObject({ code: 'PARTITION_MISMATCH', retriable: false })
    expect(replicator.status()[1]?.lastError?.message).toMatch(/has 3 partitions but local vitals has 2/)
    await expectNothingTrimmed()
  })
})
