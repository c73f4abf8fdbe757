import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Log, type LogRecord } from '../../src/log/index.ts'
import { CRASH_PARTITIONS, CRASH_TOPIC, crashRecord, seededRandom } from './fixtures/append-child.ts'

const CHILD = fileURLToPath(new URL('./fixtures/append-child.ts', import.meta.url))
const ROUNDS = 24
const SEED = 0x5eed_c0de
/** Each round kills the child after a random number of acknowledged records in [1, MAX_ACKS_BEFORE_KILL]. */
const MAX_ACKS_BEFORE_KILL = 3000
/** Generous bound on one child's start-up plus its acknowledgements; the test fails with the child's stderr past it. */
const CHILD_ACK_TIMEOUT_MS = 20_000

interface Ack {
  readonly partition: number
  readonly offset: number
}

/**
 * Runs the child on `dataDir` until it has acknowledged `target` records, SIGKILLs it, and
 * returns every acknowledgement it wrote (complete lines only: a torn last line was never a
 * finished acknowledgement).
 */
async function appendUntilKilled(dataDir: string, seed: number, target: number, children: Set<ChildProcess>) {
  const child = spawn(process.execPath, [CHILD, dataDir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
  const acks: Ack[] = []
  let stderr = ''
  let buffered = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `child acknowledged ${acks.length}/${target} records in ${CHILD_ACK_TIMEOUT_MS} ms; stderr: ${stderr}`,
          ),
        )
      }, CHILD_ACK_TIMEOUT_MS)
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk
        let newline: number
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const [partition, offset] = buffered.slice(0, newline).split(' ').map(Number)
          buffered = buffered.slice(newline + 1)
          acks.push({ partition: partition!, offset: offset! })
        }
        if (acks.length >= target) {
          clearTimeout(timer)
          resolve()
        }
      })
      closed.then(([code, signal]) => {
        clearTimeout(timer)
        reject(
          new Error(
            `child exited on its own (code ${code}, signal ${signal}) after ${acks.length} acks; stderr: ${stderr}`,
          ),
        )
      }, reject)
    })
    child.kill('SIGKILL')
    // 'close' comes after stdout ended: lines already in the pipe when the child died are in `acks` too.
    const [, signal] = await closed
    expect(signal).toBe('SIGKILL')
    return acks
  } finally {
    child.kill('SIGKILL')
    children.delete(child)
  }
}

function sameRecord(record: LogRecord, partition: number, offset: number): boolean {
  const expected = crashRecord(partition, offset)
  return (
    record.offset === offset &&
    record.partition === partition &&
    record.timestampMs === expected.timestampMs &&
    Buffer.from(record.key ?? []).equals(expected.key!) &&
    Buffer.from(record.value).equals(expected.value) &&
    Object.keys(record.headers).length === 1 &&
    Buffer.from(record.headers.origin ?? []).equals(expected.headers!.origin!)
  )
}

/*
 * Bytes a record counts for in metrics().logBytes: its record v1 encoding
 * (timestampMs:f64 keyLen:i32 key headerCount:u16 (nameLen:u16 name valueLen:u32 value)* value)
 * plus 16 bytes of per-record overhead.
 */
function countedBytes(record: LogRecord): number {
  let size = 8 + 4 + (record.key?.length ?? 0) + 2 + record.value.length + 16
  for (const [name, value] of Object.entries(record.headers))
    size += 2 + Buffer.byteLength(name) + 4 + value.length
  return size
}

/** Reads a partition from startOffset to the end, checking each record against what the child wrote there. */
function readPartition(
  log: Log,
  partition: number,
): { start: number; end: number; offsets: number[]; bad: string[]; bytes: number } {
  const start = log.startOffset(CRASH_TOPIC, partition)
  const end = log.endOffset(CRASH_TOPIC, partition)
  const offsets: number[] = []
  const bad: string[] = []
  let bytes = 0
  let position = start
  for (;;) {
    const records = log.read(CRASH_TOPIC, partition, position, { maxRecords: 500 })
    if (records.length === 0) break
    for (const record of records) {
      offsets.push(record.offset)
      bytes += countedBytes(record)
      if (!sameRecord(record, partition, record.offset)) bad.push(`${partition}@${record.offset}`)
    }
    position = records.at(-1)!.offset + 1
  }
  return { start, end, offsets, bad, bytes }
}

describe('Log survives SIGKILL of the appending process', () => {
  let dataDir: string
  const children = new Set<ChildProcess>()

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-crash-'))
  })

  afterEach(() => {
    for (const child of children) child.kill('SIGKILL')
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it(`keeps every acknowledged record, dense offsets and a resumable end over ${ROUNDS} kills`, async () => {
    const random = seededRandom(SEED)
    const ackedEver = new Set<string>()
    const highestAcked = Array.from({ length: CRASH_PARTITIONS }, () => -1)
    const perRound: number[] = []
    const started = performance.now()

    for (let round = 0; round < ROUNDS; round++) {
      // Skewed towards small counts, so some kills land right after start-up and some deep into a run.
      const target = 1 + Math.floor(random() ** 2 * MAX_ACKS_BEFORE_KILL)
      const acks = await appendUntilKilled(dataDir, Math.floor(random() * 2 ** 32), target, children)
      perRound.push(acks.length)

      for (const { partition, offset } of acks) {
        const id = `${partition}@${offset}`
        // An offset acknowledged twice means it was handed out again after a crash: data loss.
        expect(ackedEver.has(id), `${id} acknowledged twice (round ${round})`).toBe(false)
        ackedEver.add(id)
        highestAcked[partition] = Math.max(highestAcked[partition]!, offset)
      }

      const log = await Log.open({ dataDir })
      try {
        let retainedBytes = 0
        for (let partition = 0; partition < CRASH_PARTITIONS; partition++) {
          const { start, end, offsets, bad, bytes } = readPartition(log, partition)
          retainedBytes += bytes
          expect(start).toBe(0)
          expect(bad, `round ${round}: records that differ from what the child wrote`).toEqual([])
          expect(offsets.length).toBe(end - start)
          offsets.forEach((offset, i) => {
            if (offset !== start + i)
              expect.fail(`round ${round}: ${partition}@${start + i} is followed by ${offset}`)
          })
          expect(end, `round ${round}: end of partition ${partition}`).toBeGreaterThanOrEqual(
            highestAcked[partition]! + 1,
          )
        }
        // The byte count the disk budget relies on matches what survived.
        expect(log.metrics().logBytes, `round ${round}: logBytes after the kill`).toBe(retainedBytes)
        // Everything ever acknowledged (this and earlier rounds) is within [0, end), which was read in full above.
        const missing = [...ackedEver].filter((id) => {
          const [partition, offset] = id.split('@').map(Number)
          return offset! >= log.endOffset(CRASH_TOPIC, partition!)
        })
        expect(missing, `round ${round}: acknowledged records missing after the kill`).toEqual([])

        const partition = round % CRASH_PARTITIONS
        const end = log.endOffset(CRASH_TOPIC, partition)
        const appended = await log.append(CRASH_TOPIC, crashRecord(partition, end))
        expect(appended).toEqual({ partition, offset: end })
        expect(log.endOffset(CRASH_TOPIC, partition)).toBe(end + 1)
        const [readBack] = log.read(CRASH_TOPIC, partition, end)
        expect(readBack && sameRecord(readBack, partition, end)).toBe(true)
        ackedEver.add(`${partition}@${end}`)
        highestAcked[partition] = end
      } finally {
        await log.close()
      }
    }

    const total = perRound.reduce((a, b) => a + b, 0)
    console.info(
      `crash test: ${ROUNDS} rounds, ${total} acknowledged records (per round: ${perRound.join(' ')}), ` +
        `${Math.round(performance.now() - started)} ms`,
    )
  })
})
