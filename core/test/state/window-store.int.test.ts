import { afterEach, describe, expect, it } from 'vitest'
import {
  Serdes,
  Stores,
  type KeyValue,
  type Metered,
  type WindowStore,
  type Windowed,
} from '../../src/state/index.ts'
import { cleanup, expectCode, harness, implementations, type Harness } from './fixtures/harness.ts'

afterEach(cleanup)

const WINDOW_SIZE_MS = 10
const RETENTION_MS = 100

type Store = WindowStore<string, number> & Metered
type Factory = (name: string) => Harness<Store>

/** [key, startMs, endMs, value] per entry, the way a user reads a windowed answer. */
const rows = (entries: Iterable<KeyValue<Windowed<string>, number>>): [string, number, number, number][] =>
  [...entries].map((e) => [e.key.key, e.key.window.startMs, e.key.window.endMs, e.value])

/** The WindowStore contract: every implementation must pass all of it. */
function windowStoreContract(label: string, make: Factory): void {
  describe(`WindowStore contract: ${label}`, () => {
    it('fetches a value by key and window start only', () => {
      const { store, write } = make('w')
      write(() => {
        store.put('p1', 60, 0)
        store.put('p1', 62, 10)
        store.put('p2', 70, 0)
      })
      expect([store.fetch('p1', 0), store.fetch('p1', 10), store.fetch('p2', 0)]).toEqual([60, 62, 70])
      expect(store.fetch('p1', 5)).toBeUndefined()
      expect(store.fetch('p3', 0)).toBeUndefined()
      expect([store.windowSizeMs, store.retentionMs]).toEqual([WINDOW_SIZE_MS, RETENTION_MS])
    })

    it('fetchRange returns one key’s windows with timeFrom ≤ start ≤ timeTo, ascending by start', () => {
      const { store, write } = make('w')
      write(() => {
        for (const start of [30, 0, 20, 10, 40]) store.put('a', start, start)
        store.put('ab', 99, 20) // a key that extends 'a' must not leak into a's range
        store.put('', 98, 20)
      })
      expect(rows(store.fetchRange('a', 10, 30))).toEqual([
        ['a', 10, 20, 10],
        ['a', 20, 30, 20],
        ['a', 30, 40, 30],
      ])
      expect(rows(store.fetchRange('a', 11, 19))).toEqual([])
      expect(rows(store.fetchRange('a', 30, 10))).toEqual([])
      expect(rows(store.fetchRange('ab', 0, 100))).toEqual([['ab', 20, 30, 99]])
    })

    it('fetchAll returns every key’s windows in the time range, by start then key', () => {
      const { store, write } = make('w')
      write(() => {
        store.put('b', 1, 10)
        store.put('a', 2, 10)
        store.put('c', 3, 0)
        store.put('a', 4, 20)
        store.put('a', 5, 30)
      })
      expect(rows(store.fetchAll(0, 20))).toEqual([
        ['c', 0, 10, 3],
        ['a', 10, 20, 2],
        ['b', 10, 20, 1],
        ['a', 20, 30, 4],
      ])
    })

    it('a null put deletes the window, before and after a commit', () => {
      const h = make('w')
      h.write(() => {
        h.store.put('a', 1, 0)
        h.store.put('a', 2, 10)
      })
      h.commit()
      h.write(() => h.store.put('a', null, 0))
      expect(h.store.fetch('a', 0)).toBeUndefined()
      expect(rows(h.store.fetchAll(0, 100))).toEqual([['a', 10, 20, 2]])
      h.commit()
      expect(rows(h.store.fetchRange('a', 0, 100))).toEqual([['a', 10, 20, 2]])
    })

    it('expires windows whose start < stream time − retention, and drops late puts to them', () => {
      const h = make('w')
      h.write(() => {
        h.store.put('a', 1, 0)
        h.store.put('a', 2, 50)
        h.store.put('a', 3, 100)
      })
      h.commit()
      expect(h.store.observedStreamTimeMs()).toBe(100)
      expect(rows(h.store.fetchRange('a', 0, 1000)).map((r) => r[1])).toEqual([0, 50, 100])
      // Stream time 150: the cutoff is 50, so the window at 0 expires and the one at 50 stays.
      expect(h.write(() => h.store.put('b', 4, 150))).toBe(true)
      expect(h.store.observedStreamTimeMs()).toBe(150)
      expect(h.store.fetch('a', 0)).toBeUndefined()
      expect(h.store.fetch('a', 50)).toBe(2)
      expect(rows(h.store.fetchRange('a', 0, 1000)).map((r) => r[1])).toEqual([50, 100])
      expect(rows(h.store.fetchAll(0, 1000)).map((r) => r[1])).toEqual([50, 100, 150])
      expect(h.write(() => h.store.put('a', 9, 49))).toBe(false)
      expect(h.store.fetch('a', 49)).toBeUndefined()
      expect(h.store.metrics().expiredDrops).toBe(1)
      h.commit()
      expect(rows(h.store.fetchAll(0, 1000)).map((r) => r[1])).toEqual([50, 100, 150])
      expect(h.store.observedStreamTimeMs()).toBe(150)
    })

    it('a put behind stream time but inside retention is kept and does not move stream time back', () => {
      const { store, write } = make('w')
      write(() => {
        store.put('a', 1, 200)
        store.put('a', 2, 120)
      })
      expect(store.observedStreamTimeMs()).toBe(200)
      expect(store.fetch('a', 120)).toBe(2)
    })

    it('rejects window starts that are not epoch ms', () => {
      const { store, write } = make('w')
      expectCode(() => write(() => store.put('a', 1, -1)), 'INVALID_ARGUMENT')
      expectCode(() => write(() => store.put('a', 1, 1.5)), 'INVALID_ARGUMENT')
      expectCode(() => store.fetchRange('a', 0, Number.NaN), 'INVALID_ARGUMENT')
      expect(store.observedStreamTimeMs()).toBe(Number.NEGATIVE_INFINITY)
    })
  })
}

for (const impl of implementations) {
  windowStoreContract(impl.label, (name) => {
    const options = { retentionMs: RETENTION_MS, windowSizeMs: WINDOW_SIZE_MS }
    const supplier =
      impl.backend === 'lmdb'
        ? Stores.persistentWindowStore(name, options)
        : Stores.inMemoryWindowStore(name, options)
    return harness(impl, Stores.windowStoreBuilder(supplier, Serdes.String, Serdes.Long))
  })
}
