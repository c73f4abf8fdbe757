import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import type { SASLOptions } from 'kafkajs'
import { z } from 'zod'
import { ReplicatorError } from './errors.ts'

/** Records per upstream transaction, at most. */
export const DEFAULT_MAX_BATCH_RECORDS = 10_000
/**
 * Stored bytes per upstream transaction, at most (past the first record). A transaction is sent as
 * several produce requests of at most SEND_CHUNK_BYTES each, so this may exceed the brokers'
 * message.max.bytes; larger transactions spread the commit's round trips over more records.
 */
export const DEFAULT_MAX_BATCH_BYTES = 2 * 1024 * 1024
/**
 * One produce request's share of a transaction, in stored bytes. Headers add ~100 bytes a record
 * upstream: this keeps a request well below the brokers' message.max.bytes (1 MiB by default).
 */
export const SEND_CHUNK_BYTES = 512 * 1024
/** One produce request's records, at most: kafkajs groups a request's messages in O(n²). */
export const SEND_CHUNK_RECORDS = 1000
export const DEFAULT_OFFSETS_TOPIC = 'vigil.replication-offsets'
export const DEFAULT_BACKOFF_INITIAL_MS = 200
export const DEFAULT_BACKOFF_MAX_MS = 30_000
export const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
/** Broker-side: an open transaction of a crashed gateway is aborted after this (if no restart fences it first). */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 30_000
export const DEFAULT_OFFSET_READ_TIMEOUT_MS = 30_000
export const DEFAULT_FLOOR_HOLDER = 'replicator'

const topicName = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be 1–249 characters of [a-zA-Z0-9._-]')
  .refine((n) => n !== '.' && n !== '..', 'must not be "." or ".."')

/** A secret is never written in the config itself: it is read from a file or an environment variable at start. */
const secretSource = z.union([
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ env: z.string().min(1) }).strict(),
])
export type SecretSource = z.output<typeof secretSource>

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be "host:port"')

export type SocketFactory = (args: {
  host: string
  port: number
  ssl: object | boolean | undefined
  onConnect: () => void
}) => Socket

export const replicatorOptionsSchema = z
  .object({
    /** Bootstrap brokers, "host:port". */
    brokers: z.array(hostPort).min(1),
    clientId: z.string().min(1).default('vigil-gateway'),
    /** Stable id of this gateway: part of every transactional.id, header and default topic name. */
    gatewayId: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1–64 characters of [a-zA-Z0-9_-]'),
    /** Local topics to replicate; absent: every topic in the log at start. */
    topics: z.array(topicName).min(1).optional(),
    /** Upstream name = prefix + local name. Default `vigil.<gatewayId>.`. */
    topicPrefix: z
      .string()
      .regex(/^[a-zA-Z0-9._-]*$/, 'must be characters of [a-zA-Z0-9._-]')
      .optional(),
    /** Per-topic upstream name overrides (local name → upstream name). */
    topicNames: z.record(z.string(), topicName).default({}),
    /** Compacted topic of committed replication offsets (KIP-618's offsets topic). */
    offsetsTopic: topicName.default(DEFAULT_OFFSETS_TOPIC),
    /** Where trimmed-before-replicated ranges are reported. Default `<prefix>gaps`. */
    gapsTopic: topicName.optional(),
    /** Create missing upstream topics (same partition count as the local topic). */
    createTopics: z.boolean().default(true),
    /** Replication factor of topics the replicator creates. */
    replicationFactor: z.number().int().min(1).max(16).default(1),
    maxBatchRecords: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_BATCH_RECORDS),
    maxBatchBytes: z.number().int().min(1024).default(DEFAULT_MAX_BATCH_BYTES),
    /** Bandwidth cap over all partitions in stored bytes per second; null: uncapped. */
    maxBytesPerSecond: z.number().positive().nullable().default(null),
    /** Token bucket size; default max(maxBytesPerSecond, maxBatchBytes). */
    burstBytes: z.number().int().positive().optional(),
    backoff: z
      .object({
        initialMs: z.number().int().min(1).default(DEFAULT_BACKOFF_INITIAL_MS),
        maxMs: z.number().int().min(1).default(DEFAULT_BACKOFF_MAX_MS),
      })
      .strict()
      .refine((b) => b.maxMs >= b.initialMs, 'backoff.maxMs must be ≥ backoff.initialMs')
      .default({ initialMs: DEFAULT_BACKOFF_INITIAL_MS, maxMs: DEFAULT_BACKOFF_MAX_MS }),
    connectionTimeoutMs: z.number().int().min(100).default(DEFAULT_CONNECTION_TIMEOUT_MS),
    requestTimeoutMs: z.number().int().min(100).default(DEFAULT_REQUEST_TIMEOUT_MS),
    transactionTimeoutMs: z.number().int().min(1000).default(DEFAULT_TRANSACTION_TIMEOUT_MS),
    offsetReadTimeoutMs: z.number().int().min(1000).default(DEFAULT_OFFSET_READ_TIMEOUT_MS),
    /** Name of the replicator's floor in the log (one per replicator sharing a log). */
    floorHolder: z.string().min(1).default(DEFAULT_FLOOR_HOLDER),
    tls: z
      .union([
        z.boolean(),
        z
          .object({
            caFile: z.string().min(1).optional(),
            certFile: z.string().min(1).optional(),
            keyFile: z.string().min(1).optional(),
            keyPassphrase: secretSource.optional(),
            rejectUnauthorized: z.boolean().default(true),
            servername: z.string().optional(),
          })
          .strict()
          .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
            message: 'give both certFile and keyFile for a client certificate, or neither',
          }),
      ])
      .default(false),
    sasl: z
      .object({
        mechanism: z.enum(['scram-sha-256', 'scram-sha-512', 'plain']),
        username: z.string().min(1),
        password: secretSource,
      })
      .strict()
      .optional(),
    /** Test/embedding hook: how sockets to brokers are opened (kafkajs socketFactory). */
    socketFactory: z.custom<SocketFactory>((v) => typeof v === 'function', 'must be a function').optional(),
    /** Wall clock in ms; injected by tests. */
    clock: z
      .custom<() => number>((v) => typeof v === 'function', 'must be a function')
      .default(() => Date.now),
  })
  .strict()

export type ReplicatorOptionsInput = z.input<typeof replicatorOptionsSchema>
export type ReplicatorOptions = z.output<typeof replicatorOptionsSchema>

/** Parses options, naming the first bad fields and how to fix them (INVALID_CONFIG). */
export function parseReplicatorOptions(input: unknown): ReplicatorOptions {
  const result = replicatorOptionsSchema.safeParse(input)
  if (result.success) return result.data
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  throw new ReplicatorError('INVALID_CONFIG', `invalid replicator config: ${problems}`)
}

/** Resolved TLS and SASL material for kafkajs; never logged. */
export interface Credentials {
  readonly ssl:
    | boolean
    | {
        ca?: string
        cert?: string
        key?: string
        passphrase?: string
        rejectUnauthorized: boolean
        servername?: string
      }
  readonly sasl: SASLOptions | undefined
}

function readConfigFile(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    throw new ReplicatorError(
      'INVALID_CONFIG',
      `${field}: cannot read ${path} (${code}); fix the path or the file's permissions`,
      {
        cause: error,
      },
    )
  }
}

function readSecret(source: SecretSource, field: string): string {
  if ('file' in source) return readConfigFile(source.file, `${field}.file`).replace(/\r?\n$/, '')
  const value = process.env[source.env]
  if (value === undefined || value === '') {
    throw new ReplicatorError(
      'INVALID_CONFIG',
      `${field}.env: environment variable ${source.env} is not set or empty; set it or use { file }`,
    )
  }
  return value
}

/** Reads the TLS files and SASL secrets named by the options (INVALID_CONFIG on a missing one). */
export function loadCredentials(options: ReplicatorOptions): Credentials {
  const { tls, sasl } = options
  let ssl: Credentials['ssl'] = false
  if (tls === true) ssl = true
  else if (tls !== false) {
    ssl = {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.caFile !== undefined && { ca: readConfigFile(tls.caFile, 'tls.caFile') }),
      ...(tls.certFile !== undefined && { cert: readConfigFile(tls.certFile, 'tls.certFile') }),
      ...(tls.keyFile !== undefined && { key: readConfigFile(tls.keyFile, 'tls.keyFile') }),
      ...(tls.keyPassphrase !== undefined && {
        passphrase: readSecret(tls.keyPassphrase, 'tls.keyPassphrase'),
      }),
      ...(tls.servername !== undefined && { servername: tls.servername }),
    }
  }
  return {
    ssl,
    sasl: sasl && {
      mechanism: sasl.mechanism,
      username: sasl.username,
      password: readSecret(sasl.password, 'sasl.password'),
    },
  }
}

/** The options as they may be logged: secrets and file contents are never part of them. */
export function describeOptions(options: ReplicatorOptions): Record<string, unknown> {
  const { socketFactory, clock, sasl, ...rest } = options
  return {
    ...rest,
    ...(sasl && { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: '<secret>' } }),
  }
}
