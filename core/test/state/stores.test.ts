import { describe, expect, it } from 'vitest'
import {
  ENTRY_OVERHEAD_BYTES,
  isStateError,
  Position,
  Serdes,
  StateError,
  Stores,
  type Serde,
} from '../../src/state/index.ts'
import { codeOf, expectCode } from './fixtures/harness.ts'

function errorOf(fn: () => unknown): StateError {
  try {
    fn()
  } catch (error) {
    if (error instanceof StateError) return error
    throw error
  }
  throw new Error('expected a StateError, got none')
}

describe('store options', () => {
  it('a window store with retention shorter than its windows names the field and the fix', () => {
    const error = errorOf(() => Stores.inMemoryWindowStore('w', { retentionMs: 1000, windowSizeMs: 60_000 }))
    expect(error.code).toBe('INVALID_ARGUMENT')
    expect(error.message).toContain('retentionMs: must be ≥ windowSizeMs (60000), got 1000')
    expect(error.message).toContain('retentionMs = windowSizeMs + graceMs')
  })

  it.each([
    [{ retentionMs: 1000, windowSizeMs: 0 }, 'windowSizeMs: must be > 0, e.g. 60_000'],
    [{ retentionMs: 1000, windowSizeMs: 1.5 }, 'windowSizeMs: must be a whole number of milliseconds'],
    [{ retentionMs: -1, windowSizeMs: 10 }, 'retentionMs: must be > 0'],
    [{ retentionMs: 100, windowSizeMs: 10, graceMs: 5 }, 'graceMs'],
  ])('refuses window options %j', (options, message) => {
    const error = errorOf(() => Stores.persistentWindowStore('w', options))
    expect([error.code, error.message.includes(message)]).toEqual(['INVALID_ARGUMENT', true])
  })

  it('refuses session retention that is not a positive integer', () => {
    expectCode(() => Stores.inMemorySessionStore('s', { retentionMs: 0 }), 'INVALID_ARGUMENT')
  })

  it.each(['', 'a/b', 'x'.repeat(250), 'has space'])('refuses store name %j', (name) => {
    expectCode(() => Stores.inMemoryKeyValueStore(name), 'INVALID_STORE_NAME')
  })

  it('refuses a write buffer below the minimum', () => {
    const builder = Stores.keyValueStoreBuilder(
      Stores.inMemoryKeyValueStore('kv'),
      Serdes.String,
      Serdes.String,
    )
    expectCode(() => builder.withCachingEnabled({ maxBufferedBytes: 10 }), 'INVALID_ARGUMENT')
  })
})

describe('serde failures', () => {
  const throwing: Serde<string> = {
    serialize: () => {
      throw new Error('boom')
    },
    deserialize: () => {
      throw new Error('bang')
    },
  }

  it('a key serde that throws surfaces as SERDE_FAILURE naming the store and keeping the cause', () => {
    const store = Stores.keyValueStoreBuilder(
      Stores.inMemoryKeyValueStore('vitals'),
      throwing,
      Serdes.String,
    ).build()
    const error = errorOf(() => {
      store.put('p1', 'v')
    })
    expect(error.code).toBe('SERDE_FAILURE')
    expect(error.message).toContain('store vitals')
    expect(error.message).toContain('keySerde')
    expect((error.cause as Error).message).toBe('boom')
    expect(store.approximateNumEntries()).toBe(0)
  })

  it('a value serde that fails on read surfaces as SERDE_FAILURE', () => {
    const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv'), Serdes.String, {
      serialize: Serdes.String.serialize,
      deserialize: throwing.deserialize,
    }).build()
    store.put('p1', 'v')
    expectCode(() => store.get('p1'), 'SERDE_FAILURE')
    expectCode(() => [...store.all()], 'SERDE_FAILURE')
  })

  it('a serde that returns something other than bytes is a SERDE_FAILURE', () => {
    const bad = { serialize: () => 'not bytes', deserialize: () => 'x' } as unknown as Serde<string>
    const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv'), Serdes.String, bad).build()
    expectCode(() => {
      store.put('k', 'v')
    }, 'SERDE_FAILURE')
  })

  it('a built-in serde refusing a value surfaces the same way', () => {
    const store = Stores.keyValueStoreBuilder(
      Stores.inMemoryKeyValueStore('kv'),
      Serdes.String,
      Serdes.Long,
    ).build()
    const error = errorOf(() => {
      store.put('k', 0.5)
    })
    expect(isStateError(error, 'SERDE_FAILURE')).toBe(true)
    expect(error.message).toContain('valueSerde')
  })
})

describe('write buffer bound', () => {
  it('throws BUFFER_FULL (retriable) past maxBufferedBytes, changes nothing, and accepts writes again after a commit', () => {
    const store = Stores.keyValueStoreBuilder(
      Stores.inMemoryKeyValueStore('kv'),
      Serdes.String,
      Serdes.String,
    )
      .withCachingEnabled({ maxBufferedBytes: 1024 })
      .build()
    const value = 'v'.repeat(100)
    // Each entry costs key (2) + value (100) + overhead.
    const perEntry = 2 + 100 + ENTRY_OVERHEAD_BYTES
    const fits = Math.floor(1024 / perEntry)
    for (let i = 0; i < fits; i++) store.put(`k${i}`, value)
    expect(store.metrics().bufferedBytes).toBe(fits * perEntry)
    const error = errorOf(() => {
      store.put('kx', value)
    })
    expect([error.code, error.retriable]).toEqual(['BUFFER_FULL', true])
    expect(store.get('kx')).toBeUndefined()
    // Overwriting a buffered key with a value of the same size needs no room.
    store.put('k0', 'w'.repeat(100))
    store.flush()
    expect(store.metrics().bufferedBytes).toBe(0)
    store.put('kx', value)
    expect(store.approximateNumEntries()).toBe(fits + 1)
    expect(store.get('k0')).toBe('w'.repeat(100))
  })
})

describe('Position', () => {
  it('dominates a bound when at least as far on every topic/partition the bound names', () => {
    const at = Position.empty().with('a', 0, 10).with('b', 1, 5)
    expect(at.dominates(Position.empty())).toBe(true)
    expect(at.dominates(Position.empty().with('a', 0, 10))).toBe(true)
    expect(at.dominates(Position.empty().with('a', 0, 11))).toBe(false)
    expect(at.dominates(Position.empty().with('a', 1, 0))).toBe(false)
    expect(at.dominates(Position.empty().with('a', 0, 3).with('b', 1, 5))).toBe(true)
  })

  it('round-trips through JSON and refuses malformed entries', () => {
    const at = Position.empty().with('raw.ecg', 3, 42)
    expect(Position.fromJSON(JSON.parse(JSON.stringify(at))).toJSON()).toEqual({ 'raw.ecg/3': 42 })
    expect(codeOf(() => Position.fromJSON({ nopartition: 1 }))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => Position.fromJSON({ 't/0': -1 }))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => Position.empty().with('a/b', 0, 1))).toBe('INVALID_ARGUMENT')
  })
})
