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
/** The single broker's SASL_PLAINTEXT (SCRAM-SHA-256/512) and SSL (mutual TLS) listeners. */
export const KAFKA_SASL_PORT = 19094
export const KAFKA_SSL_PORT = 19095
/** Every port a deployment serves clients on: reusing one that lacks a listener would fail later. */
const LISTENER_PORTS = { 1: [19092, KAFKA_SASL_PORT, KAFKA_SSL_PORT], 3: KAFKA_PORTS[3] } as const
const RUN_DIR = process.env.VIGIL_KAFKA_RUN_DIR ?? join(here, '.run')
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
  const up = await Promise.all(LISTENER_PORTS[brokers].map((p) => accepts(p)))
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

export interface ScramUser {
  readonly username: string
  readonly password: string
}

/** The authenticated listeners of the single broker (start.sh --brokers 1), and what to use them with. */
export interface KafkaSecurity {
  /** SASL_PLAINTEXT, SCRAM-SHA-256 and SCRAM-SHA-512. */
  readonly saslBootstrap: string[]
  /** SSL with ssl.client.auth=required: a client certificate signed by `tls.caFile` is needed. */
  readonly tlsBootstrap: string[]
  /**
   * SCRAM users created at format time. `admin` is a super user; `gateway` and `restricted` may
   * do nothing until granted ACLs (allow.everyone.if.no.acl.found=false).
   */
  readonly users: { readonly admin: ScramUser; readonly gateway: ScramUser; readonly restricted: ScramUser }
  /** PEM files start.sh generated (a throw-away CA, valid for 30 days). */
  readonly tls: {
    /** The CA that signed the broker's certificate (SAN IP:127.0.0.1, DNS:localhost) and the client's. */
    readonly caFile: string
    /** Client certificate and key; the broker maps the certificate to `clientPrincipal`. */
    readonly clientCertFile: string
    readonly clientKeyFile: string
    readonly clientPrincipal: string
    /** A CA that signed neither certificate. */
    readonly otherCaFile: string
  }
}

/** The single broker's SASL and TLS listeners, users and certificate files (see start.sh). */
export function kafkaSecurity(): KafkaSecurity {
  const tls = join(RUN_DIR, 'brokers-1', 'tls')
  const user = (name: string): ScramUser => ({ username: name, password: `${name}-secret` })
  return {
    saslBootstrap: [`127.0.0.1:${KAFKA_SASL_PORT}`],
    tlsBootstrap: [`127.0.0.1:${KAFKA_SSL_PORT}`],
    users: { admin: user('admin'), gateway: user('gateway'), restricted: user('restricted') },
    tls: {
      caFile: join(tls, 'ca.pem'),
      clientCertFile: join(tls, 'client.crt'),
      clientKeyFile: join(tls, 'client.key'),
      clientPrincipal: 'User:gateway-tls',
      otherCaFile: join(tls, 'other-ca.pem'),
    },
  }
}
