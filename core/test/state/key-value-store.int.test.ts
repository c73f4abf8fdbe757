import { afterEach, describe, expect, it } from 'vitest'
import {
  MAX_KEY_BYTES,
  Serdes,
  Stores,
  type KeyValue,
  type KeyValueStore,
  type Metered,
  type Serde,
} from '../../src/state/index.ts'
import { cleanup, expectCode, harness, implementations, type Harness } from './fixtures/harness.ts'

afterEach(cleanup)

type Factory = <K, V>(
  name: string,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
) => Harness<KeyValueStore<K, V> & Metered>

const pairs = <K, V>(entries: Iterable<KeyValue<K, V>>): [K, V][] => [...entries].map((e) => [e.key, e.value])

/** The KeyValueStore contract: every implementation must pass all of it. */
function keyValueStoreContract(label: string, make: Factory): void {
  describe(`KeyValueStore contract: ${label}`, () => {
    const strings = (): Harness<KeyValueStore<string, string> & Metered> =>
      make('kv', Serdes.String, Serdes.String)

    it('gets what was put, overwrites, and answers undefined for absent keys', () => {
      const { store, write } = strings()
      expect(store.get('p1')).toBeUndefined()
      write(() => {
        store.put('p1', 'hr=60')
      })
      expect(store.get('p1')).toBe('hr=60')
      write(() => {
        store.put('p1', 'hr=61')
      })
      expect(store.get('p1')).toBe('hr=61')
      expect(store.get('p2')).toBeUndefined()
    })

    it('putIfAbsent keeps an existing value and returns it', () => {
      const { store, write } = strings()
      expect(write(() => store.putIfAbsent('k', 'first'))).toBeUndefined()
      expect(write(() => store.putIfAbsent('k', 'second'))).toBe('first')
      expect(store.get('k')).toBe('first')
    })

    it('delete returns the old value and removes the key, before and after a commit', () => {
      const h = strings()
      h.write(() => {
        h.store.put('a', '1')
        h.store.put('b', '2')
      })
      h.commit()
      expect(h.write(() => h.store.delete('a'))).toBe('1')
      expect(h.write(() => h.store.delete('a'))).toBeUndefined()
      expect(h.store.get('a')).toBeUndefined()
      expect(pairs(h.store.all())).toEqual([['b', '2']])
      h.commit()
      expect(h.store.get('a')).toBeUndefined()
      expect(pairs(h.store.all())).toEqual([['b', '2']])
    })

    it('range is inclusive of from and exclusive of to, in key-byte order', () => {
      const { store, write } = strings()
      write(() => {
        for (const k of ['d', 'a', 'c', 'b', 'e']) store.put(k, k.toUpperCase())
      })
      expect(pairs(store.range('b', 'd'))).toEqual([
        ['b', 'B'],
        ['c', 'C'],
      ])
      expect(pairs(store.range('a', 'f')).map(([k]) => k)).toEqual(['a', 'b', 'c', 'd', 'e'])
      expect(pairs(store.range('bb', 'cc')).map(([k]) => k)).toEqual(['c'])
      expect(pairs(store.range('c', 'c'))).toEqual([])
      expect(pairs(store.range('d', 'b'))).toEqual([])
    })

    it('orders keys by their UTF-8 bytes: empty first, prefixes before extensions, uppercase before lowercase', () => {
      const { store, write } = strings()
      const keys = ['b', 'é', 'aa', 'a', 'B', '', 'a\u0000', 'z']
      write(() => {
        for (const k of keys) store.put(k, 'v')
      })
      expect(pairs(store.all()).map(([k]) => k)).toEqual(['', 'B', 'a', 'a\u0000', 'aa', 'b', 'z', 'é'])
    })

    it('orders Serdes.Long keys as Kafka does: by big-endian two’s complement bytes', () => {
      const { store, write } = make<number, string>('longs', Serdes.Long, Serdes.String)
      write(() => {
        for (const k of [3, -1, 256, 0, 1, -256]) store.put(k, String(k))
      })
      expect(pairs(store.all()).map(([k]) => k)).toEqual([0, 1, 3, 256, -256, -1])
      expect(pairs(store.range(1, 256)).map(([k]) => k)).toEqual([1, 3])
    })

    it('merges unflushed writes and deletes with committed data in range and all', () => {
      const h = strings()
      h.write(() => {
        for (const k of ['a', 'b', 'c']) h.store.put(k, `${k}0`)
      })
      h.commit()
      h.write(() => {
        h.store.delete('b')
        h.store.put('c', 'c1')
        h.store.put('bb', 'bb0')
        h.store.put('0', '00')
      })
      const expected = [
        ['0', '00'],
        ['a', 'a0'],
        ['bb', 'bb0'],
        ['c', 'c1'],
      ]
      expect(pairs(h.store.all())).toEqual(expected)
      expect(pairs(h.store.range('a', 'c'))).toEqual(expected.slice(1, 3))
      h.commit()
      expect(pairs(h.store.all())).toEqual(expected)
    })

    it('counts entries through puts, overwrites and deletes', () => {
      const h = strings()
      expect(h.store.approximateNumEntries()).toBe(0)
      h.write(() => {
        for (const k of ['a', 'b', 'c']) h.store.put(k, '1')
      })
      expect(h.store.approximateNumEntries()).toBe(3)
      h.commit()
      h.write(() => {
        h.store.put('a', '2')
        h.store.delete('b')
        h.store.put('d', '1')
      })
      expect(h.store.approximateNumEntries()).toBe(3)
      h.commit()
      expect(h.store.approximateNumEntries()).toBe(3)
    })

    it('keeps binary keys intact, including 0x00 and 0xff bytes', () => {
      const { store, write } = make<Uint8Array, string>('bytes', Serdes.Bytes, Serdes.String)
      const keys = [
        Uint8Array.of(0xff, 0xff),
        Uint8Array.of(0x00),
        Uint8Array.of(0xff),
        Uint8Array.of(0x00, 0x00),
      ]
      write(() => {
        keys.forEach((k, i) => {
          store.put(k, String(i))
        })
      })
      expect(pairs(store.all())).toEqual([
        [Uint8Array.of(0x00), '1'],
        [Uint8Array.of(0x00, 0x00), '3'],
        [Uint8Array.of(0xff), '2'],
        [Uint8Array.of(0xff, 0xff), '0'],
      ])
    })

    it(`refuses keys over ${MAX_KEY_BYTES} bytes with KEY_TOO_LARGE`, () => {
      const { store, write } = strings()
      expectCode(() => {
        write(() => {
          store.put('x'.repeat(MAX_KEY_BYTES + 1), 'v')
        })
      }, 'KEY_TOO_LARGE')
      write(() => {
        store.put('x'.repeat(MAX_KEY_BYTES), 'v')
      })
      expect(store.get('x'.repeat(MAX_KEY_BYTES))).toBe('v')
    })

    it('tracks its position, forward only', () => {
      const { store } = strings()
      expect(store.position().offset('in', 0)).toBeUndefined()
      store.updatePosition('in', 0, 41)
      store.updatePosition('in', 0, 40)
      store.updatePosition('in', 1, 7)
      expect(store.position().toJSON()).toEqual({ 'in/0': 41, 'in/1': 7 })
    })

    it('counts operations in its metrics', () => {
      const { store, write } = strings()
      write(() => {
        store.put('a', '1')
        store.put('b', '2')
        store.delete('a')
      })
      store.get('b')
      expect([...store.range('a', 'z')]).toHaveLength(1)
      const m = store.metrics()
      expect([m.store, m.put.count, m.get.count, m.delete.count, m.range.count]).toEqual(['kv', 2, 1, 1, 1])
    })

    it('throws STORE_CLOSED after close; closing twice is harmless', () => {
      const { store } = strings()
      store.close()
      store.close()
      expect(store.isOpen).toBe(false)
      expectCode(() => store.get('a'), 'STORE_CLOSED')
      expectCode(() => [...store.all()], 'STORE_CLOSED')
    })
  })
}

for (const impl of implementations) {
  keyValueStoreContract(impl.label, (name, keySerde, valueSerde) => {
    const supplier =
      impl.backend === 'lmdb' ? Stores.persistentKeyValueStore(name) : Stores.inMemoryKeyValueStore(name)
    return harness(impl, Stores.keyValueStoreBuilder(supplier, keySerde, valueSerde))
  })
}
