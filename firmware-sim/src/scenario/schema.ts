// The scenario file format (JSON): the one zod schema that gives both the type and the validation.
// Human units in files (seconds, Hz); the loader resolves them to the ms-based specs the generators take.
import { z } from 'zod'

export const DEFAULT_ECG_HZ = 256 // ECGSYN's sfecg
export const DEFAULT_PPG_HZ = 128
export const DEFAULT_ACCEL_HZ = 64
/** 250 ms blocks: 64 ECG, 32 PPG, 16 accel frames at the default rates (DESIGN.md: 100–250 ms per record). */
export const DEFAULT_BLOCK_MS = 250
export const DEFAULT_VITAL_INTERVAL_S = 1
export const DEFAULT_TEMPERATURE_INTERVAL_S = 10
export const DEFAULT_BATTERY_INTERVAL_S = 60
export const DEFAULT_BATTERY_DRAIN_PCT_PER_HOUR = 2
export const DEFAULT_ECG_NOISE_UV = 10
export const DEFAULT_START_TIME = '2026-01-01T22:00:00.000Z'

const seconds = z.number().nonnegative()
const positiveSeconds = z.number().positive()
const bpm = (min: number, max: number) => z.number().min(min).max(max)

export const baselineSchema = z.strictObject({
  hrBpm: bpm(30, 200).default(70),
  hrStdBpm: z.number().min(0).max(20).default(1),
  lfHfRatio: z.number().positive().max(10).default(0.5),
  respRateBpm: z.number().min(4).max(60).default(15),
  spo2Pct: z.number().min(50).max(100).default(97),
  temperatureC: z.number().min(30).max(43).default(36.8),
})

const batterySchema = z.strictObject({
  startPct: z.number().min(0).max(100).default(100),
  drainPctPerHour: z.number().min(0).max(100).default(DEFAULT_BATTERY_DRAIN_PCT_PER_HOUR),
  intervalS: positiveSeconds.default(DEFAULT_BATTERY_INTERVAL_S),
})

const sensorCommon = {
  id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected 1-32 letters, digits, "_" or "-"'),
  transport: z.enum(['ble', 'serial']),
  address: z
    .string()
    .regex(
      /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/,
      'expected a BLE address like "AA:BB:CC:DD:EE:01" (upper-case hex)',
    )
    .optional(),
  name: z.string().min(1).max(29).optional(),
  blockMs: z.number().min(10).max(2000).default(DEFAULT_BLOCK_MS),
  battery: batterySchema.default({
    startPct: 100,
    drainPctPerHour: DEFAULT_BATTERY_DRAIN_PCT_PER_HOUR,
    intervalS: DEFAULT_BATTERY_INTERVAL_S,
  }),
}
const rate = (max: number) => z.int().min(1).max(max)

export const sensorSchema = z.discriminatedUnion('profile', [
  z.strictObject({
    ...sensorCommon,
    profile: z.literal('ecg-patch'),
    ecgHz: rate(2000).default(DEFAULT_ECG_HZ),
    /** 0 = no accelerometer on this patch. */
    accelHz: z.int().min(0).max(1000).default(DEFAULT_ACCEL_HZ),
    vitalIntervalS: positiveSeconds.default(DEFAULT_VITAL_INTERVAL_S),
    ecgNoiseUv: z.number().min(0).max(5000).default(DEFAULT_ECG_NOISE_UV),
  }),
  z.strictObject({
    ...sensorCommon,
    profile: z.literal('pulse-oximeter'),
    ppgHz: rate(1000).default(DEFAULT_PPG_HZ),
    vitalIntervalS: positiveSeconds.default(DEFAULT_VITAL_INTERVAL_S),
  }),
  z.strictObject({
    ...sensorCommon,
    profile: z.literal('thermometer'),
    vitalIntervalS: positiveSeconds.default(DEFAULT_TEMPERATURE_INTERVAL_S),
  }),
  z.strictObject({
    ...sensorCommon,
    profile: z.literal('accelerometer'),
    accelHz: rate(1000).default(DEFAULT_ACCEL_HZ),
  }),
])

const timed = { atS: seconds, durationS: positiveSeconds }
export const eventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...timed,
    type: z.literal('sinus-tachycardia'),
    hrBpm: bpm(100, 220).default(130),
    rampS: seconds.default(20),
  }),
  z.strictObject({
    ...timed,
    type: z.literal('sinus-bradycardia'),
    hrBpm: bpm(25, 60).default(42),
    rampS: seconds.default(20),
  }),
  z.strictObject({
    ...timed,
    type: z.literal('pvc'),
    ratePerMin: z.number().min(0.1).max(30).default(6),
    pattern: z.enum(['single', 'couplet']).default('single'),
  }),
  z.strictObject({ ...timed, type: z.literal('vt'), hrBpm: bpm(120, 260).default(180) }),
  z.strictObject({ ...timed, type: z.literal('vf') }),
  z.strictObject({ ...timed, type: z.literal('asystole') }),
  z.strictObject({
    ...timed,
    type: z.literal('af'),
    hrBpm: bpm(50, 200).default(110),
    rrCv: z.number().min(0.05).max(0.5).default(0.2),
  }),
  z.strictObject({
    ...timed,
    type: z.literal('desaturation'),
    spo2Pct: z.number().min(50).max(100).default(82),
    rampS: seconds.default(30),
  }),
  z.strictObject({
    ...timed,
    type: z.literal('fever'),
    temperatureC: z.number().min(36).max(43).default(39.2),
    rampS: seconds.default(1800),
  }),
  z.strictObject({
    ...timed,
    type: z.literal('walking'),
    cadenceSpm: z.number().min(40).max(200).default(108),
  }),
  z.strictObject({
    ...timed,
    type: z.literal('fall'),
    impactG: z.number().min(2).max(16).default(4),
  }),
  z.strictObject({ ...timed, type: z.literal('sensor-off'), sensor: sensorCommon.id }),
  z.strictObject({
    ...timed,
    type: z.literal('motion-artefact'),
    sensor: sensorCommon.id,
    amplitudeUv: z.number().positive().max(20000).default(800),
  }),
])

export const patientSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected 1-32 letters, digits, "_" or "-"'),
  baseline: baselineSchema.default({
    hrBpm: 70,
    hrStdBpm: 1,
    lfHfRatio: 0.5,
    respRateBpm: 15,
    spo2Pct: 97,
    temperatureC: 36.8,
  }),
  sensors: z.array(sensorSchema).min(1, 'expected at least one sensor'),
  events: z.array(eventSchema).default([]),
})

export const scenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]{1,64}$/, 'expected 1-64 lower-case letters, digits or "-"'),
  description: z.string().default(''),
  durationS: positiveSeconds,
  /** Device wall-clock at t = 0 (ISO 8601). */
  startTime: z.iso.datetime({ offset: true }).default(DEFAULT_START_TIME),
  /** Default seed when the CLI gives none. */
  seed: z.int().min(0).max(0xffffffff).default(1),
  patients: z.array(patientSchema).min(1, 'expected at least one patient').max(256),
})

export type ScenarioFile = z.input<typeof scenarioSchema>
export type ParsedScenario = z.output<typeof scenarioSchema>
