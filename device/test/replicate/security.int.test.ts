// Authentication and authorization against the real broker's SASL/SCRAM and mutual-TLS listeners
// (test/kafka/start.sh --brokers 1, StandardAuthorizer with allow.everyone.if.no.acl.found=false):
// replication works with the right credentials and ACLs; wrong credentials, a missing WRITE grant or
// an untrusted certificate show as a clear non-retriable status, are retried slowly, and trim nothing.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Log } from '@vigil/core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  KAFKA_START_TIMEOUT_MS,
  kafkaSecurity,
  startKafka,
  type KafkaSecurity,
  type LocalKafka,
} from '../../../test/kafka/harness.ts'
import {
  HEADER_LOCAL_OFFSET,
  Replicator,
  type LogEntry,
  type ReplicatorError,
  type ReplicatorErrorCode,
  type ReplicatorOptionsInput,
} from '../../src/index.ts'
import { createAcls, replicationAcls } from './fixtures/acls.ts'
import { byPartition, readCommitted, readCommittedJava, tempDir, uniqueName } from './fixtures/upstream.ts'
import { caughtUp } from './fixtures/wait.ts'

let kafka: LocalKafka
let security: KafkaSecurity
beforeAll(async () => {
  kafka = await startKafka(1)
  security = kafkaSecurity()
}, KAFKA_START_TIMEOUT_MS)
afterAll(async () => {
  await kafka.stop()
}, KAFKA_START_TIMEOUT_MS)

const PARTITIONS = 2
const RECORDS = 60
/** Retries of a non-retriable error wait up to this long (full jitter). */
const BACKOFF = { initialMs: 50, maxMs: 1_000 }

let log: Log
let dir: string
let removeDir: () => Promise<void>
const replicators: Replicator[] = []
beforeEach(async () => {
  const d = await tempDir('vigil-replicate-security')
  dir = d.path
  removeDir = d.remove
  log = await Log.open({ dataDir: dir, retentionCheckIntervalMs: 60_000 })
  // 1 ms retention: only the replicator's floor keeps these records.
  await log.createTopic('vitals', { partitions: PARTITIONS, priorityClass: 'vitals', retentionMs: 1 })
  await log.appendBatch(
    'vitals',
    Array.from({ length: RECORDS }, (_, i) => ({
      key: Buffer.from(`patient-${i % 5}`),
      value: Buffer.from(`hr=${60 + i}`),
      timestampMs: 1,
    })),
  )
})
afterEach(async () => {
  for (const r of replicators.splice(0)) await r.close()
  await log.close()
  await removeDir()
})

async function start(options: ReplicatorOptionsInput, logs: LogEntry[] = []): Promise<Replicator> {
  const replicator = await Replicator.start(log, options, { logger: (e) => logs.push(e) })
  replicators.push(replicator)
  return replicator
}

async function secretFile(name: string, content: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, `${content}\n`, { mode: 0o600 })
  return path
}

/** The errors a replicator reports during `ms` (every attempt, also those status() only counts). */
async function errorsDuring(replicator: Replicator, ms: number): Promise<ReplicatorErrorCode[]> {
  const codes: ReplicatorErrorCode[] = []
  const onError = ({ error }: { error: ReplicatorError }): void => {
    codes.push(error.code)
  }
  replicator.on('error', onError)
  await new Promise((resolve) => setTimeout(resolve, ms))
  replicator.off('error', onError)
  return codes
}

/** Every local record is held: retention (1 ms) trims nothing and no floor moved. */
async function expectNothingTrimmed(): Promise<void> {
  expect(await log.enforceRetention()).toEqual([])
  const partitions = [...Array(PARTITIONS).keys()]
  expect(partitions.map((p) => log.startOffset('vitals', p))).toEqual(partitions.map(() => 0))
  expect(partitions.map((p) => log.floor('vitals', p))).toEqual(partitions.map(() => 0))
  expect(partitions.reduce((n, p) => n + log.endOffset('vitals', p), 0)).toBe(RECORDS)
}

/** Upstream holds every local record exactly once, in order, on its partition. */
async function expectReplicatedOnce(gatewayId: string): Promise<void> {
  // The broker writes COMMIT markers after EndTxn returns: until they are in, the last stable
  // offset (where readCommitted stops) may lag the replicator's commit. Read again until it has
  // them all; a duplicate would still show as too many.
  const deadline = Date.now() + 15_000
  let upstream = await readCommitted(kafka.bootstrap, [`vigil.${gatewayId}.vitals`])
  while (upstream.length < RECORDS && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    upstream = await readCommitted(kafka.bootstrap, [`vigil.${gatewayId}.vitals`])
  }
  expect(upstream).toHaveLength(RECORDS)
  const partitions = byPartition(upstream)
  for (let p = 0; p < PARTITIONS; p++) {
    const local = log.read('vitals', p, 0, { maxRecords: 10_000 })
    expect(local.length).toBeGreaterThan(0)
    const remote = partitions.get(p) ?? []
    expect(remote.map((r) => Number(r.headers[HEADER_LOCAL_OFFSET]))).toEqual(local.map((r) => r.offset))
    expect(remote.map((r) => r.value?.toString())).toEqual(local.map((r) => Buffer.from(r.value).toString()))
  }
}

/** Waits until every partition's status shows `code` (setup errors show on every partition). */
async function statusShows(
  replicator: Replicator,
  code: ReplicatorErrorCode,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!replicator.status().every((s) => s.lastError?.code === code)) {
    if (Date.now() > deadline)
      throw new Error(
        `status did not show ${code} within ${timeoutMs} ms: ${JSON.stringify(replicator.status())}`,
      )
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('Replicator over SASL/SCRAM (real Kafka)', () => {
  it.each(['scram-sha-256', 'scram-sha-512'] as const)(
    'replicates exactly once with %s, the password read from a file',
    async (mechanism) => {
      const gatewayId = uniqueName('gw-scram')
      const { gateway } = security.users
      await createAcls(kafka.bootstrap, replicationAcls({ principal: `User:${gateway.username}`, gatewayId }))
      const logs: LogEntry[] = []
      const replicator = await start(
        {
          brokers: security.saslBootstrap,
          gatewayId,
          sasl: {
            mechanism,
            username: gateway.username,
            password: { file: await secretFile('password', gateway.password) },
          },
          backoff: BACKOFF,
        },
        logs,
      )
      await caughtUp(replicator, log)
      await expectReplicatedOnce(gatewayId)
      expect(logs.filter((e) => e.level === 'error')).toEqual([])
      expect(JSON.stringify(logs)).not.toContain(gateway.password)
    },
  )

  it('reports a wrong password as AUTHENTICATION_FAILED, retries slowly, trims nothing; the right one then replicates everything', async () => {
    const gatewayId = uniqueName('gw-badpw')
    const { gateway } = security.users
    await createAcls(kafka.bootstrap, replicationAcls({ principal: `User:${gateway.username}`, gatewayId }))
    const wrong = `not-${gateway.password}`
    const logs: LogEntry[] = []
    const options = {
      brokers: security.saslBootstrap,
      gatewayId,
      sasl: {
        mechanism: 'scram-sha-512' as const,
        username: gateway.username,
        password: { file: await secretFile('wrong-password', wrong) },
      },
      backoff: BACKOFF,
    }
    const bad = await start(options, logs)
    await statusShows(bad, 'AUTHENTICATION_FAILED')
    // Not a tight loop: a non-retriable error waits [maxMs/2, maxMs) per attempt, so one setup
    // loop makes at most 4 s / 0.5 s + 1 attempts.
    const codes = await errorsDuring(bad, 4_000)
    expect(codes.length).toBeGreaterThan(0)
    expect(codes.length).toBeLessThanOrEqual(9)
    expect(new Set(codes)).toEqual(new Set(['AUTHENTICATION_FAILED']))
    for (const s of bad.status()) {
      expect(s.lastError).toMatchObject({ code: 'AUTHENTICATION_FAILED', retriable: false })
      expect(s.lastError?.message).toMatch(/SCRAM.*authentication failed.*invalid credentials/i)
      expect(s.lastError?.message).toMatch(/check sasl\.username\/password/)
      expect(s).toMatchObject({ replicatedOffset: null, replicatedRecords: 0 })
    }
    // One log line for the outage, not one per attempt.
    expect(logs.filter((e) => e.level === 'error' || e.level === 'warn').length).toBeLessThanOrEqual(2)
    expect(JSON.stringify([logs, bad.status()])).not.toContain(wrong)
    await expectNothingTrimmed()
    await bad.close()
    await expectNothingTrimmed()

    const good = await start({
      ...options,
      sasl: { ...options.sasl, password: { file: await secretFile('password', gateway.password) } },
    })
    await caughtUp(good, log)
    await expectReplicatedOnce(gatewayId)
  })

  it('reports a principal without WRITE on the upstream topic as AUTHORIZATION_FAILED, loses nothing, and resumes once granted', async () => {
    const gatewayId = uniqueName('gw-nowrite')
    const { restricted } = security.users
    const principal = `User:${restricted.username}`
    // Everything a replicator needs except WRITE on its data topics.
    await createAcls(kafka.bootstrap, replicationAcls({ principal, gatewayId, writeData: false }))
    const logs: LogEntry[] = []
    const replicator = await start(
      {
        brokers: security.saslBootstrap,
        gatewayId,
        sasl: {
          mechanism: 'scram-sha-256',
          username: restricted.username,
          password: { file: await secretFile('password', restricted.password) },
        },
        backoff: BACKOFF,
      },
      logs,
    )
    await statusShows(replicator, 'AUTHORIZATION_FAILED')
    const logsBefore = logs.length
    const codes = await errorsDuring(replicator, 3_000)
    // Each partition's loop waits [maxMs/2, maxMs) after a non-retriable error: ≤ 3 s / 0.5 s + 1 attempts.
    expect(codes.length).toBeLessThanOrEqual(PARTITIONS * 7)
    expect(new Set(codes)).toEqual(new Set(['AUTHORIZATION_FAILED']))
    // Logged once per partition for the outage, then every 10th failure, not per attempt; and
    // never "resumed" in between (recovery alone is not a success).
    const during = logs.slice(logsBefore)
    expect(during.filter((e) => e.level === 'info')).toEqual([])
    expect(during.length).toBeLessThanOrEqual(PARTITIONS)
    for (const s of replicator.status()) {
      expect(s.lastError).toMatchObject({ code: 'AUTHORIZATION_FAILED', retriable: false })
      expect(s.lastError?.message).toMatch(/TOPIC_AUTHORIZATION_FAILED/)
      expect(s.lastError?.message).toMatch(/WRITE.*upstream topic/i)
      expect(s.lastError?.message).toContain(`vigil.${gatewayId}.vitals`)
      // Recovery (producer, offsets) succeeded: the refusal came from sending the data.
      expect(s).toMatchObject({ replicatedOffset: 0, replicatedRecords: 0 })
      expect(s.consecutiveFailures).toBeGreaterThanOrEqual(2)
    }
    await expectNothingTrimmed()
    // Nothing reached the topic, not even uncommitted (Kafka's own consumer, to the high watermark).
    const upstream = await readCommittedJava(kafka.bootstrap, [`vigil.${gatewayId}.vitals`], {
      readUncommitted: true,
    })
    expect(upstream).toEqual([])

    // Granting WRITE is enough: the same replicator's next attempt replicates everything.
    await createAcls(kafka.bootstrap, replicationAcls({ principal, gatewayId }))
    await caughtUp(replicator, log)
    await expectReplicatedOnce(gatewayId)
    for (const s of replicator.status())
      expect(s).toMatchObject({
        state: 'replicating',
        consecutiveFailures: 0,
        replicatedRecords: s.endOffset,
      })
    expect(logs.some((e) => e.level === 'error' && e.code === 'AUTHORIZATION_FAILED')).toBe(true)
  })
})

describe('Replicator over mutual TLS (real Kafka)', () => {
  it('replicates exactly once with the CA file and a client certificate', async () => {
    const gatewayId = uniqueName('gw-tls')
    await createAcls(kafka.bootstrap, replicationAcls({ principal: security.tls.clientPrincipal, gatewayId }))
    const logs: LogEntry[] = []
    const replicator = await start(
      {
        brokers: security.tlsBootstrap,
        gatewayId,
        tls: {
          caFile: security.tls.caFile,
          certFile: security.tls.clientCertFile,
          keyFile: security.tls.clientKeyFile,
        },
        backoff: BACKOFF,
      },
      logs,
    )
    await caughtUp(replicator, log)
    await expectReplicatedOnce(gatewayId)
    expect(logs.filter((e) => e.level === 'error')).toEqual([])
  })

  it('reports a broker certificate the CA file does not vouch for as AUTHENTICATION_FAILED, trimming nothing', async () => {
    const gatewayId = uniqueName('gw-tls-ca')
    await createAcls(kafka.bootstrap, replicationAcls({ principal: security.tls.clientPrincipal, gatewayId }))
    const replicator = await start({
      brokers: security.tlsBootstrap,
      gatewayId,
      tls: {
        caFile: security.tls.otherCaFile,
        certFile: security.tls.clientCertFile,
        keyFile: security.tls.clientKeyFile,
      },
      backoff: BACKOFF,
    })
    await statusShows(replicator, 'AUTHENTICATION_FAILED')
    const codes = await errorsDuring(replicator, 3_000)
    expect(codes.length).toBeLessThanOrEqual(7) // one setup loop, [maxMs/2, maxMs) between attempts
    expect(new Set(codes)).toEqual(new Set(['AUTHENTICATION_FAILED']))
    for (const s of replicator.status()) {
      expect(s.lastError).toMatchObject({ code: 'AUTHENTICATION_FAILED', retriable: false })
      expect(s.lastError?.message).toMatch(/unable to verify the first certificate/)
      expect(s.lastError?.message).toMatch(/tls\.caFile/)
    }
    await expectNothingTrimmed()
  })

  it('reports a missing client certificate as AUTHENTICATION_FAILED', async () => {
    const replicator = await start({
      brokers: security.tlsBootstrap,
      gatewayId: uniqueName('gw-tls-nocert'),
      tls: { caFile: security.tls.caFile },
      backoff: BACKOFF,
    })
    await statusShows(replicator, 'AUTHENTICATION_FAILED')
    for (const s of replicator.status()) {
      expect(s.lastError).toMatchObject({ code: 'AUTHENTICATION_FAILED', retriable: false })
      expect(s.lastError?.message).toMatch(/tls\.certFile/)
    }
    await expectNothingTrimmed()
  })
})
