// Crash: the replicator runs in a child process that keeps appending and replicating with small
// transactions, and is SIGKILLed at random points, ten times. After the restarts, a read_committed
// consumer finds every local record upstream exactly once, in order.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { Log } from '@vigil/core'
import { afterAll, describe, expect, it } from 'vitest'
import { HEADER_LOCAL_OFFSET } from '../../src/index.ts'
import type { ChildConfig } from './fixtures/child.ts'
import { byPartition, readCommitted, tempDir, uniqueName } from './fixtures/upstream.ts'
import { useKafka } from './fixtures/kafka.ts'

const CHILD = fileURLToPath(new URL('./fixtures/child.ts', import.meta.url))
const ROUNDS = 10

const kafka = useKafka(1)

const children = new Set<ChildProcess>()
afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
})

/** Starts the child and resolves once it printed `line` (rejects if it exits first). */
async function startChild(config: ChildConfig, line: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.split('\n').includes(line)) resolve()
    })
    child.once('exit', (code, signal) => {
      reject(new Error(`child exited (${code ?? signal}) before "${line}"; stderr:\n${stderr}`))
    })
  })
  return child
}

describe('Replicator crash (SIGKILL, real Kafka)', () => {
  it(`keeps exactly-once across ${ROUNDS} SIGKILLs mid-transaction`, async () => {
    const dir = await tempDir('vigil-replicate-crash')
    const gatewayId = uniqueName('gw-crash')
    const config: ChildConfig = {
      dataDir: dir.path,
      brokers: kafka.bootstrap,
      gatewayId,
      total: 5000,
      chunk: 10,
      intervalMs: 8,
    }
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const child = await startChild(config, 'ready')
        // A random point: the child appends and commits small transactions continuously.
        await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 900))
        const exited = once(child, 'exit')
        child.kill('SIGKILL')
        await exited
      }
      const last = await startChild(config, 'caught-up')
      const exited = once(last, 'exit')
      last.kill('SIGTERM')
      await exited

      const log = await Log.open({ dataDir: dir.path })
      try {
        const upstream = byPartition(
          await readCommitted(kafka.bootstrap, [`vigil.${gatewayId}.vitals`], { minRecords: config.total }),
        )
        let total = 0
        for (let p = 0; p < 3; p++) {
          const local = log.read('vitals', p, 0, { maxRecords: 100_000 }).map((r) => ({
            offset: r.offset,
            value: Buffer.from(r.value).toString(),
          }))
          const remote = (upstream.get(p) ?? []).map((r) => ({
            offset: Number(r.headers[HEADER_LOCAL_OFFSET]),
            value: r.value?.toString(),
          }))
          total += local.length
          expect(remote).toEqual(local) // every record once, in order, nothing else
        }
        expect(total).toBe(config.total)
        // Some kills landed between a transaction's send and its commit: the log holds aborted records.
        const all = await readCommitted(kafka.bootstrap, [`vigil.${gatewayId}.vitals`], {
          readUncommitted: true,
        })
        expect(all.length).toBeGreaterThan(total)
      } finally {
        await log.close()
      }
    } finally {
      await dir.remove()
    }
  }, 120_000)
})
