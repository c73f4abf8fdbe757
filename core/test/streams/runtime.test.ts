import { describe, expect, it } from 'vitest'
import { Position, Serdes, StateError } from '../../src/state/index.ts'
import {
  StreamsBuilder,
  StreamsError,
  VigilStreams,
  type StreamsState,
  type Topology,
} from '../../src/streams/index.ts'
import { useTempLogs } from '../log/fixtures/temp-logs.ts'

const { tempDir, openLog } = useTempLogs('vigil-runtime-')
const text = (s: string): Uint8Array => Buffer.from(s)

/** Word count; a value "boom" makes the mapper throw. */
function wordCount(): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('lines')
    .flatMapValues((line) => {
      if (line === 'boom') throw new Error('the rule cannot read "boom"')
      return line.split(' ')
    })
    .groupBy((_k, word) => word)
    .count({ name: 'counts' })
    .toStream()
    .to('counts-out', { valueSerde: Serdes.Long })
  return builder.build()
}

async function setUp() {
  const log = await openLog(tempDir())
  await log.createTopic('lines')
  await log.createTopic('counts-out')
  return log
}

/** Until `check` holds, or fails after 5 s. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in 5 s')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('VigilStreams', () => {
  it('processes appends as they arrive, reports states, and closes cleanly', async () => {
    const log = await setUp()
    const streams = new VigilStreams(wordCount(), { applicationId: 'wc', log })
    const states: [StreamsState, StreamsState][] = []
    streams.onStateChange((next, previous) => states.push([next, previous]))
    expect(streams.state).toBe('CREATED')
    await streams.start()
    await log.append('lines', { value: text('a b a') })
    await eventually(() => log.endOffset('counts-out', 0) === 3)
    await log.append('lines', { value: text('b') })
    await eventually(() => log.endOffset('counts-out', 0) === 4)
    const counts = streams.keyValueStore<string, number>('counts')
    expect(counts.get('a')).toBe(2)
    expect(counts.get('b')).toBe(2)
    expect(streams.metrics().processedRecords).toBeGreaterThanOrEqual(2)
    await streams.close()
    expect(states).toEqual([
      ['STARTING', 'CREATED'],
      ['RUNNING', 'STARTING'],
      ['PENDING_SHUTDOWN', 'RUNNING'],
      ['NOT_RUNNING', 'PENDING_SHUTDOWN'],
    ])
    expect(() => streams.keyValueStore('counts')).toThrow(StreamsError)
    await streams.close()
  })

  it('answers interactive queries with their position, and refuses ones it is not fresh enough for', async () => {
    const log = await setUp()
    const streams = new VigilStreams(wordCount(), { applicationId: 'wc', log })
    await streams.start()
    const [appended] = await log.appendBatch('lines', [{ value: text('x') }, { value: text('x y') }])
    await eventually(() => log.endOffset('counts-out', 0) === 3)
    const store = streams.keyValueStore<string, number>('counts')
    const answer = streams.query(store, (s) => s.get('x'))
    expect(answer.result).toBe(2)
    // The counts live behind the repartition topic: the answer reflects its offsets.
    expect(Object.values(answer.position.toJSON())).toContain(2)
    const ahead = Position.empty().with('wc-counts-repartition', 0, 99)
    let error: unknown
    try {
      streams.query(store, (s) => s.get('x'), { atLeast: ahead })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StateError)
    expect((error as StateError).code).toBe('NOT_UP_TO_BOUND')
    expect((error as StateError).retriable).toBe(true)
    expect(appended!.offset).toBe(0)
    await streams.close()
  })

  it('reports a failing task: state ERROR with the failure, nothing of the failed batch committed', async () => {
    const log = await setUp()
    const streams = new VigilStreams(wordCount(), { applicationId: 'wc', log })
    const states: StreamsState[] = []
    streams.onStateChange((next) => states.push(next))
    await streams.start()
    await log.append('lines', { value: text('ok') })
    await eventually(() => log.endOffset('counts-out', 0) === 1)
    await log.append('lines', { value: text('boom') })
    await eventually(() => streams.state === 'ERROR')
    expect(states).toEqual(['STARTING', 'RUNNING', 'PENDING_ERROR', 'ERROR'])
    expect(streams.failure).toBeInstanceOf(StreamsError)
    expect((streams.failure as StreamsError).code).toBe('TASK_FAILED')
    expect(streams.failure!.message).toMatch(/boom/)
    expect(() => streams.metrics()).toThrow(/ERROR/)
    expect(log.fetchOffset('wc', 'lines', 0)?.offset).toBe(1)
    await streams.close()
    expect(streams.state).toBe('ERROR')
  })

  it('rejects a start it cannot make, and numThreads it does not support', async () => {
    const log = await openLog(tempDir())
    const streams = new VigilStreams(wordCount(), { applicationId: 'wc', log })
    await expect(streams.start()).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' })
    expect(streams.state).toBe('ERROR')
    expect(() => new VigilStreams(wordCount(), { applicationId: 'wc', log, numThreads: 2 })).toThrow(
      /numThreads 2 is not supported/,
    )
    expect(() => new VigilStreams(wordCount(), { applicationId: 'bad id', log })).toThrow(StreamsError)
  })

  it('a close() during start() waits for it and stops; a second start() is refused', async () => {
    const log = await setUp()
    const streams = new VigilStreams(wordCount(), { applicationId: 'wc', log })
    const starting = streams.start()
    await expect(streams.start()).rejects.toMatchObject({ code: 'STREAMS_CLOSED' })
    await streams.close()
    await starting
    expect(streams.state).toBe('NOT_RUNNING')
    await log.append('lines', { value: text('late') })
    await new Promise((r) => setTimeout(r, 50))
    expect(log.endOffset('counts-out', 0)).toBe(0)
    // The stores were released: the application can run again.
    const again = new VigilStreams(wordCount(), { applicationId: 'wc', log })
    await again.start()
    await eventually(() => log.endOffset('counts-out', 0) === 1)
    await again.close()
  })

  it('a failure whose final commit also fails still ends in ERROR, with no unhandled rejection', async () => {
    const log = await setUp()
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', onUnhandled)
    try {
      const streams = new VigilStreams(wordCount(), {
        applicationId: 'wc',
        log,
        processingGuarantee: 'at_least_once',
      })
      await streams.start()
      await log.append('lines', { value: text('a') })
      await eventually(() => log.endOffset('counts-out', 0) === 1)
      await log.close() // under the running runtime: its next commit fails
      await eventually(() => streams.state === 'ERROR')
      await streams.close()
      expect(streams.state).toBe('ERROR')
      await new Promise((r) => setTimeout(r, 20))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('wakes for a record appended while it was handing the event loop back (no wait for the tick)', async () => {
    const log = await setUp()
    const builder = new StreamsBuilder()
    let appended = false
    builder
      .stream<string, string>('lines')
      .peek(() => {
        if (appended) return
        appended = true
        void log.append('lines', { value: text('second') })
      })
      .to('counts-out')
    const streams = new VigilStreams(builder.build(), { applicationId: 'wake', log, wallClockTickMs: 5000 })
    await streams.start()
    const started = Date.now()
    await log.append('lines', { value: text('first') })
    await eventually(() => log.endOffset('counts-out', 0) === 2)
    expect(Date.now() - started).toBeLessThan(2000)
    await streams.close()
  })
})
