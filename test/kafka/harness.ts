// Starts and stops the local Kafka of test/kafka/*.sh from tests. Nothing here fakes a broker: it
// runs the same scripts a developer runs, and reuses a broker that is already up (CI starts one
// before the tests) instead of starting a second.
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))

/** Client ports of the deployments start.sh creates (see test/kafka/README.md). */
export const KAFKA_PORTS = { 1: [19092], 3: [19191, 19192, 19193] } as const
/** Cold start downloads Kafka with Maven; on a loaded 2-core machine that takes minutes. */
export const KAFKA_START_TIMEOUT_MS = 300_000

export type BrokerCount = keyof typeof KAFKA_PORTS

export interface LocalKafka {
  /** host:port of every broker, for a client's bootstrap list. */
  readonly bootstrap: string[]
  /** Whether this call started the brokers (and `stop` will stop them). */
  readonly startedHere: boolean
  /** Stops the brokers if this call started them; otherwise leaves them running. */
  stop(): Promise<void>
}

function accepts(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: timeoutMs })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => {
      done(true)
    })
    socket.once('error', () => {
      done(false)
    })
    socket.once('timeout', () => {
      done(false)
    })
  })
}

async function script(name: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(join(here, name), args, { timeout: KAFKA_START_TIMEOUT_MS })
  return stdout.trim()
}

/** Uses the running deployment of `brokers` brokers, or starts one with start.sh. */
export async function startKafka(brokers: BrokerCount = 1): Promise<LocalKafka> {
  const ports: readonly number[] = KAFKA_PORTS[brokers]
  const up = await Promise.all(ports.map((p) => accepts(p)))
  if (up.every(Boolean)) {
    return {
      bootstrap: ports.map((p) => `127.0.0.1:${p}`),
      startedHere: false,
      stop: () => Promise.resolve(),
    }
  }
  const bootstrap = (await script('start.sh', '--brokers', String(brokers))).split(',')
  return {
    bootstrap,
    startedHere: true,
    stop: async () => {
      await script('stop.sh', '--brokers', String(brokers))
    },
  }
}

/** Stops (SIGTERM), kills (SIGKILL) or restarts one node of a running deployment. */
export async function broker(
  action: 'stop' | 'kill' | 'start',
  id: 1 | 2 | 3,
  brokers: BrokerCount = 3,
): Promise<void> {
  await script('broker.sh', action, String(id), '--brokers', String(brokers))
}
