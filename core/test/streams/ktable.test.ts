import { describe, expect, it } from 'vitest'
import { Serdes } from '../../src/state/index.ts'
import { StreamsBuilder, StreamsError, type Topology } from '../../src/streams/index.ts'
import { thrown } from './thrown.ts'
import { useDrivers } from './fixtures/drivers.ts'

const fx = useDrivers()

async function drive(topology: Topology, options: { partitions?: number } = {}) {
  const driver = await fx.create(topology, {
    initialWallClockTimeMs: 0,
    ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
  })
  return driver
}

/** users: user → region. Rows per region, counted through KTable.groupBy with subtraction. */
function usersPerRegion(): Topology {
  const builder = new StreamsBuilder()
  builder
    .table<string, string>('users', { name: 'users-store' })
    .groupBy((user, region) => ({ key: region, value: user }))
    .count({ name: 'per-region' })
    .toStream()
    .to('region-counts', { valueSerde: Serdes.Long })
  return builder.build()
}

describe('KTable from a topic', () => {
  it('keeps the latest value per key, queryable, and emits each change', async () => {
    const builder = new StreamsBuilder()
    builder.table<string, string>('users', { name: 'users-store' }).toStream().to('changes')
    const driver = await drive(builder.build())
    const users = driver.createInputTopic('users', Serdes.String, Serdes.String)
    const changes = driver.createOutputTopic('changes', Serdes.String, Serdes.String)
    users.pipeInput('ann', 'north', 1)
    users.pipeInput('bob', 'south', 2)
    users.pipeInput('ann', 'east', 3)
    expect(changes.readKeyValuesToList()).toEqual([
      { key: 'ann', value: 'north' },
      { key: 'bob', value: 'south' },
      { key: 'ann', value: 'east' },
    ])
    const store = driver.getKeyValueStore<string, string>('users-store')
    expect(store.get('ann')).toBe('east')
    expect(store.get('bob')).toBe('south')
    expect(store.approximateNumEntries()).toBe(2)
  })
})

describe('KTable.groupBy().count(): rows move between groups', () => {
  it('subtracts a row from its old group when its value changes', async () => {
    const driver = await drive(usersPerRegion())
    const users = driver.createInputTopic('users', Serdes.String, Serdes.String)
    const counts = driver.createOutputTopic('region-counts', Serdes.String, Serdes.Long)
    users.pipeInput('ann', 'north', 1)
    users.pipeInput('bob', 'north', 2)
    users.pipeInput('cat', 'south', 3)
    // ann moves: north loses her (subtract first), south gains her.
    users.pipeInput('ann', 'south', 4)
    expect(counts.readKeyValuesToList()).toEqual([
      { key: 'north', value: 1 },
      { key: 'north', value: 2 },
      { key: 'south', value: 1 },
      { key: 'north', value: 1 },
      { key: 'south', value: 2 },
    ])
    const store = driver.getKeyValueStore<string, number>('per-region')
    expect(store.get('north')).toBe(1)
    expect(store.get('south')).toBe(2)
  })

  it('an update within the same group is one change: the count never dips (KIP-904)', async () => {
    const driver = await drive(usersPerRegion())
    const users = driver.createInputTopic('users', Serdes.String, Serdes.String)
    const counts = driver.createOutputTopic('region-counts', Serdes.String, Serdes.Long)
    users.pipeInput('ann', 'north', 1)
    users.pipeInput('ann', 'north', 2)
    expect(counts.readKeyValuesToList()).toEqual([
      { key: 'north', value: 1 },
      { key: 'north', value: 1 },
    ])
  })

  // Each piped record is its own commits (one per task it reaches): keep it small, and allow for a
  // loaded machine.
  it('gives the same counts over 4 partitions, each group in one task', { timeout: 30_000 }, async () => {
    const driver = await drive(usersPerRegion(), { partitions: 4 })
    const users = driver.createInputTopic('users', Serdes.String, Serdes.String)
    const regions = ['north', 'south', 'east', 'west']
    const final = new Map<string, string>()
    for (let i = 0; i < 120; i++) {
      const user = `u${i % 37}`
      const region = regions[(i * 7 + (i >> 3)) % 4]!
      users.pipeInput(user, region, i)
      final.set(user, region)
    }
    const store = driver.getKeyValueStore<string, number>('per-region')
    for (const region of regions) {
      const expected = [...final.values()].filter((r) => r === region).length
      expect(store.get(region) ?? 0).toBe(expected)
    }
  })
})

describe('KGroupedTable.reduce and aggregate with subtractors', () => {
  it('reduce: the sum of balances per bank follows moves and updates', async () => {
    const builder = new StreamsBuilder()
    builder
      .table<string, string>('accounts')
      .groupBy(
        (_account, row) => {
          const [bank, balance] = row.split(':')
          return { key: bank!, value: Number(balance) }
        },
        { valueSerde: Serdes.Long },
      )
      .reduce(
        (sum, v) => sum + v,
        (sum, v) => sum - v,
        { name: 'per-bank', valueSerde: Serdes.Long },
      )
      .toStream()
      .to('totals', { valueSerde: Serdes.Long })
    const driver = await drive(builder.build())
    const accounts = driver.createInputTopic('accounts', Serdes.String, Serdes.String)
    const totals = driver.createOutputTopic('totals', Serdes.String, Serdes.Long)
    accounts.pipeInput('a1', 'x:100', 1)
    accounts.pipeInput('a2', 'x:50', 2)
    accounts.pipeInput('a1', 'x:70', 3) // update within bank x: 150 - 100 + 70
    accounts.pipeInput('a2', 'y:50', 4) // moves to bank y
    expect(totals.readKeyValuesToList()).toEqual([
      { key: 'x', value: 100 },
      { key: 'x', value: 150 },
      { key: 'x', value: 120 },
      { key: 'x', value: 70 },
      { key: 'y', value: 50 },
    ])
    expect(driver.getKeyValueStore<string, number>('per-bank').get('x')).toBe(70)
  })

  it('aggregate: the set of members per team, with initializer, adder and subtractor', async () => {
    const builder = new StreamsBuilder()
    builder
      .table<string, string>('players')
      .groupBy((player, team) => ({ key: team, value: player }))
      .aggregate<string>(
        () => '',
        (_team, player, members) => [...members.split(',').filter(Boolean), player].sort().join(','),
        (_team, player, members) =>
          members
            .split(',')
            .filter((m) => m !== player && m !== '')
            .join(','),
        { name: 'teams' },
      )
    const driver = await drive(builder.build())
    const players = driver.createInputTopic('players', Serdes.String, Serdes.String)
    players.pipeInput('zed', 'red', 1)
    players.pipeInput('amy', 'red', 2)
    players.pipeInput('bo', 'blue', 3)
    players.pipeInput('zed', 'blue', 4)
    const teams = driver.getKeyValueStore<string, string>('teams')
    expect(teams.get('red')).toBe('amy')
    expect(teams.get('blue')).toBe('bo,zed')
  })
})

describe('KTable.filter and mapValues', () => {
  it('filter keeps matching rows in its store and removes a row that stops matching', async () => {
    const builder = new StreamsBuilder()
    builder
      .table<string, string>('temps', { valueSerde: Serdes.String })
      .mapValues((v) => Number(v), { name: 'temps-num', valueSerde: Serdes.Double })
      .filter((_k, celsius) => celsius >= 38, { name: 'fevers', valueSerde: Serdes.Double })
    const driver = await drive(builder.build())
    const temps = driver.createInputTopic('temps', Serdes.String, Serdes.String)
    temps.pipeInput('p1', '37.0', 1)
    temps.pipeInput('p2', '38.6', 2)
    temps.pipeInput('p3', '39.1', 3)
    temps.pipeInput('p3', '37.2', 4) // recovered: leaves the fever table
    const fevers = driver.getKeyValueStore<string, number>('fevers')
    expect(Array.from(fevers.all())).toEqual([{ key: 'p2', value: 38.6 }])
    expect(driver.getKeyValueStore<string, number>('temps-num').get('p3')).toBe(37.2)
  })

  it('a filtered table counts a row out of its group when it stops matching', async () => {
    const builder = new StreamsBuilder()
    builder
      .table<string, string>('users')
      .filter((_user, region) => region !== 'banned')
      .groupBy((user, region) => ({ key: region, value: user }))
      .count({ name: 'active-per-region' })
    const driver = await drive(builder.build())
    const users = driver.createInputTopic('users', Serdes.String, Serdes.String)
    users.pipeInput('ann', 'north', 1)
    users.pipeInput('bob', 'north', 2)
    users.pipeInput('bob', 'banned', 3)
    users.pipeInput('cy', 'banned', 4) // never matched: no change at all
    const store = driver.getKeyValueStore<string, number>('active-per-region')
    expect(store.get('north')).toBe(1)
    expect(store.get('banned')).toBeUndefined()
  })

  it('an unmaterialized filter has no store to query', () => {
    const builder = new StreamsBuilder()
    const table = builder.table<string, string>('users').filter(() => true)
    expect(table.queryableStoreName).toBeUndefined()
  })

  it('rejects a bad store name with the option path', () => {
    const builder = new StreamsBuilder()
    const table = builder.table<string, string>('users')
    const error = thrown(() => table.filter(() => true, { name: 'no spaces' }))
    expect(error).toBeInstanceOf(StreamsError)
    expect(error.code).toBe('INVALID_ARGUMENT')
    expect(error.message).toMatch(/name/)
  })
})
