// Reads, validates and resolves scenario files into the specs the signal generators take.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, resolve } from 'node:path'
import type { z } from 'zod'
import type { EventSpec, PatientSpec, SensorSpec } from '../signals/index.ts'
import { ScenarioError, type ScenarioIssue } from './errors.ts'
import { scenarioSchema, type ParsedScenario } from './schema.ts'

/** The shipped scenarios: firmware-sim/scenarios/*.json. */
export const SCENARIOS_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url))

/** A validated scenario with every default resolved and every time in ms. */
export interface ScenarioSpec {
  readonly name: string
  readonly description: string
  readonly durationMs: number
  /** Unix ms of the device clocks at t = 0. */
  readonly startEpochMs: number
  readonly seed: number
  readonly patients: readonly PatientSpec[]
}

/** Names of the shipped scenarios, sorted. */
export function listScenarios(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort()
}

/**
 * Loads a shipped scenario by name ("ward-32") or a file by path (anything with "/" or ending in ".json").
 * Throws ScenarioError: SCENARIO_NOT_FOUND, SCENARIO_UNREADABLE (not JSON), SCENARIO_INVALID (with every issue).
 */
export function loadScenario(nameOrPath: string): ScenarioSpec {
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.json')
  const file = isPath ? resolve(nameOrPath) : join(SCENARIOS_DIR, `${nameOrPath}.json`)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    const hint = isPath
      ? 'check the path'
      : `use one of: ${listScenarios().join(', ')}, or a path to a .json file`
    throw new ScenarioError('SCENARIO_NOT_FOUND', `scenario "${nameOrPath}" not found at ${file}; ${hint}`, {
      cause,
    })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new ScenarioError(
      'SCENARIO_UNREADABLE',
      `scenario file ${file} is not valid JSON: ${(cause as Error).message}`,
      { cause },
    )
  }
  return parseScenario(json, file)
}

/** Validates an already-parsed JSON value; `source` names it in error messages. */
export function parseScenario(json: unknown, source = 'scenario'): ScenarioSpec {
  const result = scenarioSchema.safeParse(json)
  if (!result.success) throw invalid(source, result.error.issues.map(toIssue))
  const issues = crossCheck(result.data)
  if (issues.length > 0) throw invalid(source, issues)
  return resolveScenario(result.data)
}

/** `patients[2].events[0].hrBpm` from zod's ['patients', 2, 'events', 0, 'hrBpm']. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path)
    out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`
  return out === '' ? '(root)' : out
}

function toIssue(issue: z.core.$ZodIssue): ScenarioIssue {
  let message = issue.message
  if (issue.code === 'unrecognized_keys')
    message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`
  return { path: formatPath(issue.path), message }
}

function invalid(source: string, issues: readonly ScenarioIssue[]): ScenarioError {
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')
  return new ScenarioError('SCENARIO_INVALID', `invalid scenario ${source}:\n${lines}`, { issues })
}

function crossCheck(s: ParsedScenario): ScenarioIssue[] {
  const issues: ScenarioIssue[] = []
  const patientIds = new Map<string, number>()
  const addresses = new Map<string, string>()
  // Addresses the resolver will generate for sensors that set none (numbered as in resolveScenario).
  const generated = new Map<string, string>()
  let numericId = 0
  s.patients.forEach((p, pi) => {
    p.sensors.forEach((sensor, si) => {
      numericId++
      if (sensor.address === undefined)
        generated.set(defaultAddress(numericId), `patients[${pi}].sensors[${si}]`)
    })
  })
  s.patients.forEach((p, pi) => {
    const first = patientIds.get(p.id)
    if (first !== undefined)
      issues.push({
        path: `patients[${pi}].id`,
        message: `duplicate patient id "${p.id}" (also patients[${first}])`,
      })
    patientIds.set(p.id, pi)
    const sensors = new Map<string, (typeof p.sensors)[number]>()
    p.sensors.forEach((sensor, si) => {
      const path = `patients[${pi}].sensors[${si}]`
      if (sensors.has(sensor.id))
        issues.push({
          path: `${path}.id`,
          message: `duplicate sensor id "${sensor.id}" in patient "${p.id}"`,
        })
      sensors.set(sensor.id, sensor)
      if (sensor.address !== undefined) {
        const other = addresses.get(sensor.address)
        if (other !== undefined)
          issues.push({
            path: `${path}.address`,
            message: `address ${sensor.address} is already used by ${other}`,
          })
        addresses.set(sensor.address, path)
        const owner = generated.get(sensor.address)
        if (owner !== undefined)
          issues.push({
            path: `${path}.address`,
            message: `address ${sensor.address} is the one generated for ${owner}, which sets no address; choose another, or give ${owner} an address too`,
          })
      }
    })
    p.events.forEach((e, ei) => {
      const path = `patients[${pi}].events[${ei}]`
      if (e.atS + e.durationS > s.durationS)
        issues.push({
          path: `${path}.durationS`,
          message: `event ends at ${e.atS + e.durationS} s, after the scenario's durationS ${s.durationS}; shorten it or lengthen the scenario`,
        })
      if (e.type === 'sensor-off' || e.type === 'motion-artefact') {
        const target = sensors.get(e.sensor)
        if (target === undefined)
          issues.push({
            path: `${path}.sensor`,
            message: `no sensor "${e.sensor}" on patient "${p.id}"; expected one of ${[...sensors.keys()].map((k) => `"${k}"`).join(', ')}`,
          })
        else if (e.type === 'motion-artefact' && target.profile !== 'ecg-patch')
          issues.push({
            path: `${path}.sensor`,
            message: `motion-artefact needs an ecg-patch sensor, "${e.sensor}" is a ${target.profile}`,
          })
      }
      if ((e.type === 'sinus-tachycardia' || e.type === 'sinus-bradycardia') && e.rampS * 2 > e.durationS)
        issues.push({
          path: `${path}.rampS`,
          message: `rampS ${e.rampS} is more than half of durationS ${e.durationS}; the rate would never reach hrBpm`,
        })
    })
  })
  return issues
}

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0')

/** The BLE address of a sensor that sets none: C0:FF:EE:00:hi:lo of its number (1, 2, … in file order). */
const defaultAddress = (numericId: number): string =>
  `C0:FF:EE:00:${hex2(numericId >> 8)}:${hex2(numericId & 0xff)}`

function resolveScenario(s: ParsedScenario): ScenarioSpec {
  let numericId = 0
  const patients = s.patients.map((p): PatientSpec => {
    const sensors = p.sensors.map((x): SensorSpec => {
      numericId++
      const frames = (hz: number): number => Math.max(1, Math.round((hz * x.blockMs) / 1000))
      const common = {
        id: x.id,
        numericId,
        transport: x.transport,
        profile: x.profile,
        address: x.address ?? defaultAddress(numericId),
        name: x.name ?? `Vigil ${p.id} ${x.id}`.slice(0, 29),
        batteryIntervalMs: x.battery.intervalS * 1000,
        batteryStartPct: x.battery.startPct,
        batteryDrainPctPerHour: x.battery.drainPctPerHour,
      }
      switch (x.profile) {
        case 'ecg-patch':
          return {
            ...common,
            ratesHz: { ecg: x.ecgHz, accel: x.accelHz },
            blockFrames: { ecg: frames(x.ecgHz), accel: frames(x.accelHz) },
            vitalIntervalMs: x.vitalIntervalS * 1000,
            ecgNoiseUv: x.ecgNoiseUv,
          }
        case 'pulse-oximeter':
          return {
            ...common,
            ratesHz: { ppg: x.ppgHz },
            blockFrames: { ppg: frames(x.ppgHz) },
            vitalIntervalMs: x.vitalIntervalS * 1000,
            ecgNoiseUv: 0,
          }
        case 'thermometer':
          return {
            ...common,
            ratesHz: {},
            blockFrames: {},
            vitalIntervalMs: x.vitalIntervalS * 1000,
            ecgNoiseUv: 0,
          }
        case 'accelerometer':
          return {
            ...common,
            ratesHz: { accel: x.accelHz },
            blockFrames: { accel: frames(x.accelHz) },
            vitalIntervalMs: DEFAULT_NO_VITALS_MS,
            ecgNoiseUv: 0,
          }
        default:
          return x satisfies never
      }
    })
    const events = p.events.map((e) => resolveEvent(e)).sort((a, b) => a.atMs - b.atMs)
    return { id: p.id, baseline: p.baseline, sensors, events }
  })
  return {
    name: s.name,
    description: s.description,
    durationMs: s.durationS * 1000,
    startEpochMs: Date.parse(s.startTime),
    seed: s.seed,
    patients,
  }
}

/** An accelerometer has no vitals but battery; its vital period is never reached. */
const DEFAULT_NO_VITALS_MS = Number.POSITIVE_INFINITY

function resolveEvent(e: ParsedScenario['patients'][number]['events'][number]): EventSpec {
  const atMs = e.atS * 1000
  const endMs = (e.atS + e.durationS) * 1000
  switch (e.type) {
    case 'sinus-tachycardia':
    case 'sinus-bradycardia':
      return { type: e.type, atMs, endMs, hrBpm: e.hrBpm, rampMs: e.rampS * 1000 }
    case 'pvc':
      return { type: e.type, atMs, endMs, ratePerMin: e.ratePerMin, pattern: e.pattern }
    case 'vt':
      return { type: e.type, atMs, endMs, hrBpm: e.hrBpm }
    case 'vf':
    case 'asystole':
      return { type: e.type, atMs, endMs }
    case 'af':
      return { type: e.type, atMs, endMs, hrBpm: e.hrBpm, rrCv: e.rrCv }
    case 'desaturation':
      return { type: e.type, atMs, endMs, spo2Pct: e.spo2Pct, rampMs: e.rampS * 1000 }
    case 'fever':
      return { type: e.type, atMs, endMs, temperatureC: e.temperatureC, rampMs: e.rampS * 1000 }
    case 'walking':
      return { type: e.type, atMs, endMs, cadenceSpm: e.cadenceSpm }
    case 'fall':
      return { type: e.type, atMs, endMs, impactG: e.impactG }
    case 'sensor-off':
      return { type: e.type, atMs, endMs, sensorId: e.sensor }
    case 'motion-artefact':
      return { type: e.type, atMs, endMs, sensorId: e.sensor, amplitudeUv: e.amplitudeUv }
    default:
      return e satisfies never
  }
}
