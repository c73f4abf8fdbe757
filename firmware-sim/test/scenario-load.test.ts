import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listScenarios, loadScenario, parseScenario, ScenarioError } from '../src/scenario/index.ts'

const valid = (): Record<string, unknown> => ({
  name: 'ok',
  durationS: 600,
  patients: [
    {
      id: 'bed-01',
      sensors: [
        { id: 'chest', transport: 'ble', profile: 'ecg-patch' },
        { id: 'finger', transport: 'serial', profile: 'pulse-oximeter' },
      ],
      events: [{ type: 'vt', atS: 60, durationS: 30 }],
    },
  ],
})

/** The ScenarioError parseScenario throws for `json`. */
function errorOf(json: unknown): ScenarioError {
  try {
    parseScenario(json, 'test.json')
  } catch (error) {
    if (error instanceof ScenarioError) return error
    throw error
  }
  throw new Error('expected a ScenarioError')
}

describe('shipped scenarios', () => {
  it('ships the required scenarios and all of them validate', () => {
    const names = listScenarios()
    for (const required of [
      'calm-night',
      'cardiac-event-night',
      'desaturation',
      'fever',
      'fall',
      'sensor-off-and-back',
      'ward-32',
    ])
      expect(names).toContain(required)
    for (const name of names) expect(loadScenario(name).name).toBe(name)
  })

  it('ward-32 has 32 patients with unique BLE addresses and serial sensor ids', () => {
    const ward = loadScenario('ward-32')
    expect(ward.patients).toHaveLength(32)
    const sensors = ward.patients.flatMap((p) => p.sensors)
    expect(new Set(sensors.map((s) => s.address)).size).toBe(sensors.length)
    expect(new Set(sensors.map((s) => s.numericId)).size).toBe(sensors.length)
    expect(sensors.every((s) => s.numericId >= 1 && s.numericId <= 0xffff)).toBe(true)
  })

  it('cardiac-event-night escalates PVCs → VT → VF', () => {
    const types = loadScenario('cardiac-event-night').patients[0]!.events.map((e) => e.type)
    expect(types.indexOf('pvc')).toBeLessThan(types.indexOf('vt'))
    expect(types.lastIndexOf('vt')).toBeLessThan(types.indexOf('vf'))
  })
})

describe('scenario resolution', () => {
  it('fills defaults and converts seconds to ms', () => {
    const s = parseScenario(valid())
    expect(s.durationMs).toBe(600_000)
    expect(s.startEpochMs).toBe(Date.parse('2026-01-01T22:00:00Z'))
    const chest = s.patients[0]!.sensors[0]!
    expect(chest.ratesHz).toEqual({ ecg: 256, accel: 64 })
    expect(chest.blockFrames).toEqual({ ecg: 64, accel: 16 })
    expect(chest.address).toMatch(/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/)
    expect(s.patients[0]!.events[0]).toEqual({ type: 'vt', atMs: 60_000, endMs: 90_000, hrBpm: 180 })
  })
})

describe('scenario validation errors name the JSON path and what is expected', () => {
  it('a wrong type', () => {
    const json = valid()
    ;(json.patients as { baseline?: unknown }[])[0]!.baseline = { hrBpm: 'fast' }
    const e = errorOf(json)
    expect(e.code).toBe('SCENARIO_INVALID')
    expect(e.issues).toEqual([
      { path: 'patients[0].baseline.hrBpm', message: expect.stringMatching(/expected number/) as string },
    ])
    expect(e.message).toContain('test.json')
    expect(e.message).toContain('patients[0].baseline.hrBpm')
  })

  it('a value out of range', () => {
    const json = valid()
    ;(json.patients as { events: unknown[] }[])[0]!.events = [
      { type: 'vt', atS: 60, durationS: 30, hrBpm: 500 },
    ]
    expect(errorOf(json).issues[0]).toEqual({
      path: 'patients[0].events[0].hrBpm',
      message: expect.stringMatching(/<=\s?260/) as string,
    })
  })

  it('an unknown event type lists the valid ones', () => {
    const json = valid()
    ;(json.patients as { events: unknown[] }[])[0]!.events = [{ type: 'heart-attack', atS: 1, durationS: 1 }]
    const issue = errorOf(json).issues[0]!
    expect(issue.path).toBe('patients[0].events[0].type')
    expect(issue.message).toContain("'vt'")
    expect(issue.message).toContain("'desaturation'")
  })

  it('an unknown sensor profile lists the valid ones', () => {
    const json = valid()
    ;(json.patients as { sensors: unknown[] }[])[0]!.sensors = [{ id: 'x', transport: 'ble', profile: 'ecg' }]
    const issue = errorOf(json).issues[0]!
    expect(issue.path).toBe('patients[0].sensors[0].profile')
    expect(issue.message).toContain("'ecg-patch'")
  })

  it('a misspelt field', () => {
    const json = { ...valid(), duration: 5 }
    expect(errorOf(json).issues).toContainEqual({ path: '(root)', message: 'unknown field(s) "duration"' })
  })

  it('an event naming a sensor the patient does not have', () => {
    const json = valid()
    ;(json.patients as { events: unknown[] }[])[0]!.events = [
      { type: 'sensor-off', sensor: 'wrist', atS: 1, durationS: 1 },
    ]
    expect(errorOf(json).issues).toEqual([
      {
        path: 'patients[0].events[0].sensor',
        message: 'no sensor "wrist" on patient "bed-01"; expected one of "chest", "finger"',
      },
    ])
  })

  it('an event ending after the scenario, and duplicate ids', () => {
    const json = valid()
    const patients = json.patients as { id: string; events: unknown[] }[]
    patients[0]!.events = [{ type: 'vf', atS: 590, durationS: 30 }]
    patients.push({ ...patients[0]!, events: [] })
    const issues = errorOf(json).issues
    expect(issues).toContainEqual({
      path: 'patients[0].events[0].durationS',
      message: expect.stringContaining('ends at 620 s, after the scenario') as string,
    })
    expect(issues).toContainEqual({
      path: 'patients[1].id',
      message: expect.stringContaining('duplicate patient id "bed-01"') as string,
    })
  })

  it('an explicit address equal to one generated for another sensor', () => {
    const json = valid()
    // Generated addresses are C0:FF:EE:00:hi:lo of the sensor's number (1, 2, … in file order): the
    // finger (sensor 2) would get C0:FF:EE:00:00:02, which the chest claims.
    const sensors = (json.patients as { sensors: Record<string, unknown>[] }[])[0]!.sensors
    sensors[0]!.address = 'C0:FF:EE:00:00:02'
    expect(errorOf(json).issues).toEqual([
      {
        path: 'patients[0].sensors[0].address',
        message: expect.stringContaining(
          'address C0:FF:EE:00:00:02 is the one generated for patients[0].sensors[1]',
        ) as string,
      },
    ])
    // Either way round: a later sensor claiming an earlier one's generated address.
    sensors[0]!.address = undefined
    sensors[1]!.address = 'C0:FF:EE:00:00:01'
    expect(errorOf(JSON.parse(JSON.stringify(json))).issues).toEqual([
      {
        path: 'patients[0].sensors[1].address',
        message: expect.stringContaining(
          'address C0:FF:EE:00:00:01 is the one generated for patients[0].sensors[0]',
        ) as string,
      },
    ])
    // Its own generated address is no collision.
    sensors[1]!.address = 'C0:FF:EE:00:00:02'
    expect(
      parseScenario(JSON.parse(JSON.stringify(json))).patients[0]!.sensors.map((s) => s.address),
    ).toEqual(['C0:FF:EE:00:00:01', 'C0:FF:EE:00:00:02'])
  })

  it('files: not found lists the shipped names; bad JSON says so', () => {
    expect(() => loadScenario('no-such-scenario')).toThrow(/not found.*use one of: calm-night/)
    const dir = mkdtempSync(join(tmpdir(), 'vigil-scenario-'))
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, '{ "name": ')
    expect(() => loadScenario(bad)).toThrow(/bad\.json is not valid JSON/)
  })
})
