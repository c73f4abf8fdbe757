import type { RootDatabase } from 'lmdb'
import { afterEach, describe, expect, it } from 'vitest'
import {
  inWriteTransaction,
  Position,
  queryStore,
  Serdes,
  StateDatabase,
  stateTransaction,
  Stores,
  type KeyValueStore,
  type Metered,
  type WindowStore,
} from '../../src/state/index.ts'
import { cleanup, closeEnv, codeOf, expectCode, openEnv, tempDir, track } from './fixtures/harness.ts'

afterEach(cleanup)

type Kv = KeyValueStore<string, string> & Metered

function kv(env: RootDatabase, name = 'latest-vitals', caching = true): Kv {
  const builder = Stores.keyValueStoreBuilder(
    Stores.persistentKeyValueStore(name),
    Serdes.String,
    Serdes.String,
  )
  if (!caching) builder.withCachingDisabled()
  return track(builder.build({ env }))
}

function windows(env: RootDatabase, name = 'vitals-1m'): WindowStore<string, number> & Metered {
  const supplier = Stores.persistentWindowStore(name, { retentionMs: 100, windowSizeMs: 10 })
  return track(Stores.windowStoreBuilder(supplier, Serdes.String, Serdes.Long).build({ env }))
}

/** Closes the env (and its stores) as a stopped process would, and opens the same directory again. */
async function restart(
  dir: string,
  env: RootDatabase,
  ...stores: { close(): void }[]
): Promise<RootDatabase> {
  for (const store of stores) store.close()
  await closeEnv(env)
  return openEnv(dir)
}

describe('LMDB stores: commits', () => {
  it('a flush inside a transaction is durable; writes after it are not', async () => {
    const dir = tempDir()
    let env = openEnv(dir)
    let store = kv(env)
    store.put('p1', 'hr=60')
    store.updatePosition('vitals', 0, 10)
    stateTransaction(env, () => {
      store.flush()
    })
    store.put('p2', 'hr=70')
    store.put('p1', 'hr=99')
    store.updatePosition('vitals', 0, 11)
    env = await restart(dir, env, store)
    store = kv(env)
    expect(store.get('p1')).toBe('hr=60')
    expect(store.get('p2')).toBeUndefined()
    expect(store.position().toJSON()).toEqual({ 'vitals/0': 10 })
  })

  it('a flush inside the env’s own transactionSync counts as inside a transaction', async () => {
    const dir = tempDir()
    let env = openEnv(dir)
    let store = kv(env)
    store.put('p1', 'hr=60')
    expect(inWriteTransaction(env)).toBe(false)
    env.transactionSync(() => {
      expect(inWriteTransaction(env)).toBe(true)
      store.flush()
    })
    env = await restart(dir, env, store)
    store = kv(env)
    expect(store.get('p1')).toBe('hr=60')
  })

  it('flush outside a transaction throws NOT_IN_TRANSACTION and keeps the buffered writes for the next commit', async () => {
    const dir = tempDir()
    let env = openEnv(dir)
    let store = kv(env)
    store.put('p1', 'hr=60')
    const error = codeOf(() => {
      store.flush()
    })
    expect(error).toBe('NOT_IN_TRANSACTION')
    expect(store.get('p1')).toBe('hr=60')
    stateTransaction(env, () => {
      store.flush()
    })
    env = await restart(dir, env, store)
    store = kv(env)
    expect(store.get('p1')).toBe('hr=60')
  })

  it('an unbuffered LMDB store refuses writes outside a transaction and writes nothing', () => {
    const env = openEnv()
    const store = kv(env, 'bare', false)
    expectCode(() => {
      store.put('k', 'v')
    }, 'NOT_IN_TRANSACTION')
    expectCode(() => store.delete('k'), 'NOT_IN_TRANSACTION')
    expect(store.get('k')).toBeUndefined()
    stateTransaction(env, () => {
      store.put('k', 'v')
    })
    expect(store.get('k')).toBe('v')
  })

  it('a transaction that throws after the flush leaves the store as of the previous commit', async () => {
    const dir = tempDir()
    let env = openEnv(dir)
    let store = kv(env)
    store.put('p1', 'old')
    stateTransaction(env, () => {
      store.flush()
    })
    store.put('p1', 'new')
    store.updatePosition('vitals', 0, 5)
    expect(() =>
      stateTransaction(env, () => {
        store.flush()
        throw new Error('output append failed')
      }),
    ).toThrow('output append failed')
    env = await restart(dir, env, store)
    store = kv(env)
    expect(store.get('p1')).toBe('old')
    expect(store.position().size).toBe(0)
  })

  it('stateTransaction refuses an async callback', () => {
    const env = openEnv()
    expectCode(() => stateTransaction(env, () => Promise.resolve()), 'INVALID_ARGUMENT')
    expect(inWriteTransaction(env)).toBe(false)
  })

  it('a window store keeps its stream time across restarts, so expiry continues where it stopped', async () => {
    const dir = tempDir()
    let env = openEnv(dir)
    let store = windows(env)
    store.put('a', 1, 0)
    store.put('a', 2, 90)
    stateTransaction(env, () => {
      store.flush()
    })
    env = await restart(dir, env, store)
    store = windows(env)
    expect(store.observedStreamTimeMs()).toBe(90)
    expect(store.put('a', 3, 150)).toBe(true)
    expect(store.fetch('a', 0)).toBeUndefined()
    expect(store.put('a', 4, 40)).toBe(false)
  })
})

describe('LMDB stores: one state database shared by all stores', () => {
  it('stores in one env do not see each other’s keys', () => {
    const env = openEnv()
    const first = kv(env, 'first', false)
    const second = kv(env, 'second', true)
    const win = windows(env)
    stateTransaction(env, () => {
      first.put('k', 'from first')
      first.put('only-first', '1')
      second.put('k', 'from second')
      win.put('k', 7, 0)
      second.flush()
      win.flush()
    })
    expect(first.get('k')).toBe('from first')
    expect(second.get('k')).toBe('from second')
    expect([...first.all()].map((e) => e.key)).toEqual(['k', 'only-first'])
    expect([...second.all()].map((e) => e.key)).toEqual(['k'])
    expect([first.approximateNumEntries(), second.approximateNumEntries()]).toEqual([2, 1])
    expect(
      StateDatabase.of(env)
        .stores()
        .map((s) => [s.name, s.kind]),
    ).toEqual([
      ['first', 'keyValue'],
      ['second', 'keyValue'],
      ['vitals-1m', 'window'],
    ])
  })

  it('lives in the LMDB database named "state", next to the log’s databases', () => {
    const env = openEnv()
    const store = kv(env)
    store.put('p1', 'v')
    stateTransaction(env, () => {
      store.flush()
    })
    const raw = env.openDB({ name: 'state', keyEncoding: 'binary', encoding: 'binary' })
    const keys = [...raw.getKeys()].map((k) => Buffer.from(k as Uint8Array).toString('hex'))
    // The store's kv entry (store id 1, tag 0x01, "p1") and its registry entry (id 0, tag 0x00, name).
    expect(keys).toContain(Buffer.concat([Buffer.from([0, 0, 0, 1, 1]), Buffer.from('p1')]).toString('hex'))
    expect(keys).toContain(
      Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), Buffer.from('latest-vitals')]).toString('hex'),
    )
  })

  it('expiry deletes expired windows from disk, index entries included', () => {
    const env = openEnv()
    const store = windows(env)
    for (let start = 0; start < 100; start += 10) store.put(`p${start % 3}`, start, start)
    stateTransaction(env, () => {
      store.flush()
    })
    const raw = env.openDB({ name: 'state', keyEncoding: 'binary', encoding: 'binary' })
    const storeKeys = (): number =>
      raw.getKeysCount({ start: Buffer.from([0, 0, 0, 1]), end: Buffer.from([0, 0, 0, 2]) })
    // 10 windows × (entry + index entry) + stream time.
    expect(storeKeys()).toBe(21)
    store.put('p0', 1, 155)
    stateTransaction(env, () => {
      store.flush()
    })
    // Cutoff 55: windows 0..50 (6 of them) are gone; 60..90 and 155 remain.
    expect(storeKeys()).toBe(2 * 5 + 1)
    expect([...store.fetchAll(0, 1000)].map((e) => e.key.window.startMs)).toEqual([60, 70, 80, 90, 155])
  })

  it('a name is one kind of store, and open once at a time', () => {
    const env = openEnv()
    const store = kv(env, 'shared')
    expectCode(() => kv(env, 'shared'), 'STORE_ALREADY_OPEN')
    store.close()
    expectCode(() => windows(env, 'shared'), 'STORE_KIND_MISMATCH')
    expect(kv(env, 'shared').isOpen).toBe(true)
  })

  it('a persistent store needs an env to build', () => {
    const builder = Stores.keyValueStoreBuilder(
      Stores.persistentKeyValueStore('x'),
      Serdes.String,
      Serdes.String,
    )
    expectCode(() => builder.build(), 'INVALID_ARGUMENT')
    expectCode(() => builder.build({ env: { path: '/tmp' } as never }), 'INVALID_ARGUMENT')
  })
})

describe('interactive queries', () => {
  it('answer with the store position and refuse when behind the requested bound', () => {
    const env = openEnv()
    const store = kv(env)
    store.put('p1', 'hr=60')
    store.updatePosition('vitals', 0, 10)
    const answer = queryStore(store, (s) => s.get('p1'), { atLeast: Position.empty().with('vitals', 0, 10) })
    expect(answer.result).toBe('hr=60')
    expect(answer.position.offset('vitals', 0)).toBe(10)
    const behind = Position.empty().with('vitals', 0, 11)
    const error = codeOf(() => queryStore(store, (s) => s.get('p1'), { atLeast: behind }))
    expect(error).toBe('NOT_UP_TO_BOUND')
    store.updatePosition('vitals', 0, 11)
    expect(queryStore(store, (s) => s.get('p1'), { atLeast: behind }).result).toBe('hr=60')
  })
})
