import { afterEach, describe, expect, it } from 'vitest'
import {
  Serdes,
  Stores,
  type KeyValue,
  type Metered,
  type SessionStore,
  type Windowed,
} from '../../src/state/index.ts'
import { cleanup, expectCode, harness, implementations, type Harness } from './fixtures/harness.ts'

afterEach(cleanup)

const RETENTION_MS = 100

type Store = SessionStore<string, number> & Metered
type Factory = (name: string) => Harness<Store>

const session = (key: string, startMs: number, endMs: number): Windowed<string> => ({
  key,
  window: { startMs, endMs },
})

const rows = (entries: Iterable<KeyValue<Windowed<string>, number>>): [string, number, number, number][] =>
  [...entries].map((e) => [e.key.key, e.key.window.startMs, e.key.window.endMs, e.value])

/** The SessionStore contract: every implementation must pass all of it. */
function sessionStoreContract(label: string, make: Factory): void {
  describe(`SessionStore contract: ${label}`, () => {
    const threeSessions = (h: Harness<Store>): void => {
      h.write(() => {
        h.store.put(session('a', 40, 50), 3)
        h.store.put(session('a', 0, 10), 1)
        h.store.put(session('a', 20, 30), 2)
        h.store.put(session('b', 0, 100), 9)
        h.store.put(session('ab', 20, 30), 8)
      })
    }

    it('findSessions returns the key’s sessions with end ≥ earliestEnd and start ≤ latestStart, by end', () => {
      const h = make('s')
      threeSessions(h)
      expect(rows(h.store.findSessions('a', 15, 35))).toEqual([['a', 20, 30, 2]])
      // Bounds are inclusive: [0,10] ends at 10 and [20,30] starts at 20.
      expect(rows(h.store.findSessions('a', 10, 20))).toEqual([
        ['a', 0, 10, 1],
        ['a', 20, 30, 2],
      ])
      expect(rows(h.store.findSessions('a', 31, 39))).toEqual([])
      expect(rows(h.store.findSessions('a', 0, 100)).map((r) => r[3])).toEqual([1, 2, 3])
      expect(rows(h.store.findSessions('b', 60, 60))).toEqual([['b', 0, 100, 9]])
      h.commit()
      expect(rows(h.store.findSessions('a', 10, 20)).map((r) => r[3])).toEqual([1, 2])
    })

    it('supports session merging: find the sessions a record joins, remove them, put the merged one', () => {
      const h = make('s')
      threeSessions(h)
      h.commit()
      // A record at 15 with inactivity gap 5 reaches [10, 20]: it joins [0,10] and [20,30].
      const gap = 5
      const joined = [...h.store.findSessions('a', 15 - gap, 15 + gap)]
      expect(rows(joined).map((r) => r[3])).toEqual([1, 2])
      h.write(() => {
        for (const s of joined) h.store.remove(s.key)
        h.store.put(session('a', 0, 30), joined.reduce((sum, s) => sum + s.value, 0) + 1)
      })
      expect(rows(h.store.fetch('a'))).toEqual([
        ['a', 0, 30, 4],
        ['a', 40, 50, 3],
      ])
      h.commit()
      expect(rows(h.store.fetch('a'))).toEqual([
        ['a', 0, 30, 4],
        ['a', 40, 50, 3],
      ])
    })

    it('fetchSession needs the exact start and end; remove deletes only that session', () => {
      const h = make('s')
      threeSessions(h)
      expect(h.store.fetchSession('a', 20, 30)).toBe(2)
      expect(h.store.fetchSession('a', 20, 31)).toBeUndefined()
      expect(h.store.fetchSession('a', 21, 30)).toBeUndefined()
      h.write(() => {
        h.store.remove(session('a', 20, 31))
        h.store.remove(session('a', 20, 30))
      })
      expect(h.store.fetchSession('a', 20, 30)).toBeUndefined()
      expect(rows(h.store.fetch('a')).map((r) => r[3])).toEqual([1, 3])
      expect(rows(h.store.fetch('ab'))).toEqual([['ab', 20, 30, 8]])
    })

    it('fetch orders sessions with equal ends by start', () => {
      const { store, write } = make('s')
      write(() => {
        store.put(session('a', 25, 30), 2)
        store.put(session('a', 5, 30), 1)
        store.put(session('a', 0, 20), 0)
      })
      expect(rows(store.fetch('a')).map((r) => [r[1], r[2]])).toEqual([
        [0, 20],
        [5, 30],
        [25, 30],
      ])
    })

    it('expires sessions whose end < stream time − retention, however early they started', () => {
      const h = make('s')
      h.write(() => {
        h.store.put(session('a', 0, 10), 1)
        h.store.put(session('b', 0, 250), 2)
      })
      h.commit()
      h.write(() => h.store.put(session('c', 300, 300), 3))
      expect(h.store.observedStreamTimeMs()).toBe(300)
      expect(h.store.fetchSession('a', 0, 10)).toBeUndefined()
      expect(rows(h.store.fetch('a'))).toEqual([])
      expect(rows(h.store.fetch('b'))).toEqual([['b', 0, 250, 2]])
      expect(h.write(() => h.store.put(session('a', 150, 199), 4))).toBe(false)
      expect(h.write(() => h.store.put(session('a', 150, 200), 5))).toBe(true)
      expect(h.store.metrics().expiredDrops).toBe(1)
      h.commit()
      expect(rows(h.store.fetch('a'))).toEqual([['a', 150, 200, 5]])
    })

    it('rejects a session that ends before it starts', () => {
      const { store, write } = make('s')
      expectCode(() => write(() => store.put(session('a', 10, 9), 1)), 'INVALID_ARGUMENT')
      expect(rows(store.fetch('a'))).toEqual([])
    })
  })
}

for (const impl of implementations) {
  sessionStoreContract(impl.label, (name) => {
    const options = { retentionMs: RETENTION_MS }
    const supplier =
      impl.backend === 'lmdb'
        ? Stores.persistentSessionStore(name, options)
        : Stores.inMemorySessionStore(name, options)
    return harness(impl, Stores.sessionStoreBuilder(supplier, Serdes.String, Serdes.Long))
  })
}
