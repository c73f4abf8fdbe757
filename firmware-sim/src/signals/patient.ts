// One patient's simulation: a shared beat schedule and physiology, and per-sensor generators sampling it.
import { AccelGenerator } from './accel.ts'
import { BeatScheduler } from './beats.ts'
import { EcgGenerator } from './ecg.ts'
import { SignalError } from './errors.ts'
import { PpgGenerator } from './ppg.ts'
import { streamPrng, type Prng } from './prng.ts'
import { activeAt, eventsOf, offIntervals, spo2At, temperatureAt, type Interval } from './timeline.ts'
import type {
  ChannelKind,
  PatientSimulation,
  PatientSimulationOptions,
  PatientSpec,
  SampleBlock,
  SensorSpec,
  SensorStatusChange,
  SimOutput,
  TruthRecord,
  VitalReading,
} from './types.ts'
import { batteryAt, RateTracker } from './vitals.ts'

const SPO2_NOISE_PCT = 0.4
const TEMPERATURE_NOISE_C = 0.03
const CIRCADIAN_C = 0.15
const DAY_MS = 86_400_000
const AMBIENT_C = 24.5
const NO_PULSE_MS = 3000

interface Channel {
  readonly sensor: SensorSpec
  readonly kind: ChannelKind
  readonly rateHz: number
  readonly frames: number
  readonly channels: 1 | 3
  readonly generator: { fill(out: Int16Array): void }
  sequence: number
}

interface VitalSource {
  readonly sensor: SensorSpec
  readonly intervalMs: number
  /** Index of the next reading (its time is index × intervalMs). */
  next: number
  read(tMs: number): VitalReading
}

/**
 * Creates the simulation of one patient. Throws SignalError INVALID_ARGUMENT for an unusable spec
 * (e.g. a non-positive rate) and UNKNOWN_SENSOR when an event names a sensor the patient does not have.
 */
export function createPatientSimulation(
  patient: PatientSpec,
  options: PatientSimulationOptions,
): PatientSimulation {
  checkSpec(patient)
  const pid = patient.id
  const rng = (stream: string): Prng => streamPrng(options.scenarioName, options.seed, pid, stream)
  const events = patient.events
  const scheduler = new BeatScheduler(patient.baseline, events, rng('heart'))
  const vf = eventsOf(events, 'vf')
  const pauses: Interval[] = events.filter((e) => e.type === 'vf' || e.type === 'asystole')
  const walking = eventsOf(events, 'walking')
  const falls = eventsOf(events, 'fall')

  const channels: Channel[] = []
  const vitals: VitalSource[] = []
  const beatUsers: { readonly beatIndex: number }[] = []
  const contactAt = (sensorId: string, tMs: number): boolean =>
    activeAt(offIntervals(events, sensorId), tMs) === undefined

  for (const sensor of patient.sensors) {
    const off = offIntervals(events, sensor.id)
    const addChannel = (kind: ChannelKind, generator: Channel['generator']): void => {
      const rateHz = sensor.ratesHz[kind] ?? 0
      const frames = sensor.blockFrames[kind] ?? 0
      if (rateHz <= 0 || frames <= 0) return
      channels.push({
        sensor,
        kind,
        rateHz,
        frames,
        channels: kind === 'accel' ? 3 : 1,
        generator,
        sequence: 0,
      })
    }
    const ecgHz = sensor.ratesHz.ecg ?? 0
    if (ecgHz > 0) {
      const ecg = new EcgGenerator({
        scheduler,
        rateHz: ecgHz,
        baselineHrBpm: patient.baseline.hrBpm,
        respRateBpm: patient.baseline.respRateBpm,
        noiseUv: sensor.ecgNoiseUv,
        rng: rng(`sensor:${sensor.id}:ecg`),
        overlays: {
          vf,
          af: eventsOf(events, 'af'),
          leadOff: off,
          artefact: eventsOf(events, 'motion-artefact').filter((e) => e.sensorId === sensor.id),
          walking,
        },
      })
      beatUsers.push(ecg)
      addChannel('ecg', ecg)
    }
    const ppgHz = sensor.ratesHz.ppg ?? 0
    if (ppgHz > 0) {
      const ppg = new PpgGenerator({
        scheduler,
        rateHz: ppgHz,
        respRateBpm: patient.baseline.respRateBpm,
        rng: rng(`sensor:${sensor.id}:ppg`),
        off,
      })
      beatUsers.push(ppg)
      addChannel('ppg', ppg)
    }
    const accelHz = sensor.ratesHz.accel ?? 0
    if (accelHz > 0)
      addChannel(
        'accel',
        new AccelGenerator({
          rateHz: accelHz,
          respRateBpm: patient.baseline.respRateBpm,
          rng: rng(`sensor:${sensor.id}:accel`),
          walking,
          falls,
        }),
      )

    const vitalRng = rng(`sensor:${sensor.id}:vitals`)
    const base = { patientId: pid, sensorId: sensor.id }
    switch (sensor.profile) {
      case 'ecg-patch': {
        const tracker = new RateTracker(scheduler)
        beatUsers.push(tracker)
        vitals.push({
          sensor,
          intervalMs: sensor.vitalIntervalMs,
          next: 1,
          read: (timeMs) => {
            const contact = contactAt(sensor.id, timeMs)
            const { rrIntervalsMs, bpm } = tracker.read(timeMs)
            return contact
              ? { kind: 'heart-rate', ...base, timeMs, bpm: Math.round(bpm), rrIntervalsMs, contact }
              : { kind: 'heart-rate', ...base, timeMs, bpm: 0, rrIntervalsMs: [], contact }
          },
        })
        break
      }
      case 'pulse-oximeter': {
        const tracker = new RateTracker(scheduler)
        beatUsers.push(tracker)
        vitals.push({
          sensor,
          intervalMs: sensor.vitalIntervalMs,
          next: 1,
          read: (timeMs) => {
            const contact = contactAt(sensor.id, timeMs)
            const { bpm } = tracker.read(timeMs)
            const noise = SPO2_NOISE_PCT * vitalRng.gaussian()
            // No pulse for NO_PULSE_MS (bpm 0), or VF/asystole under way for half of that: an oximeter's
            // pulse search gives up within a few seconds.
            const nonPulsatile = bpm === 0 || activeAt(pauses, timeMs - NO_PULSE_MS / 2) !== undefined
            const valid = contact && !nonPulsatile
            return {
              kind: 'spo2',
              ...base,
              timeMs,
              spo2Pct: valid
                ? Math.min(100, Math.round(spo2At(patient.baseline, events, timeMs) + noise))
                : NaN,
              pulseRateBpm: valid ? Math.round(bpm) : NaN,
              contact,
              nonPulsatile: contact && nonPulsatile,
            }
          },
        })
        break
      }
      case 'thermometer': {
        const phase = vitalRng.next() * 2 * Math.PI
        vitals.push({
          sensor,
          intervalMs: sensor.vitalIntervalMs,
          next: 1,
          read: (timeMs) => {
            const contact = contactAt(sensor.id, timeMs)
            const noise = TEMPERATURE_NOISE_C * vitalRng.symmetric()
            const core =
              temperatureAt(patient.baseline, events, timeMs) +
              CIRCADIAN_C * Math.sin((2 * Math.PI * timeMs) / DAY_MS + phase)
            const celsius = Math.round(((contact ? core : AMBIENT_C) + noise) * 100) / 100
            return { kind: 'temperature', ...base, timeMs, celsius, contact }
          },
        })
        break
      }
      case 'accelerometer':
        break
      default:
        sensor.profile satisfies never
    }
    vitals.push({
      sensor,
      intervalMs: sensor.batteryIntervalMs,
      next: 0,
      read: (timeMs) => ({
        kind: 'battery',
        ...base,
        timeMs,
        percent: batteryAt(sensor.batteryStartPct, sensor.batteryDrainPctPerHour, timeMs),
      }),
    })
  }

  // Event boundaries, in time order: truth records and contact changes.
  const boundaries: { timeMs: number; truth: TruthRecord; status?: SensorStatusChange }[] = []
  events.forEach((event, index) => {
    const eventId = `${pid}#${index}`
    const sensorId = event.type === 'sensor-off' ? event.sensorId : undefined
    boundaries.push({
      timeMs: event.atMs,
      truth: { type: 'event-start', patientId: pid, eventId, event, timeMs: event.atMs },
      ...(sensorId === undefined
        ? {}
        : { status: { patientId: pid, sensorId, timeMs: event.atMs, contact: false } }),
    })
    boundaries.push({
      timeMs: event.endMs,
      truth: { type: 'event-end', patientId: pid, eventId, eventType: event.type, timeMs: event.endMs },
      ...(sensorId === undefined
        ? {}
        : { status: { patientId: pid, sensorId, timeMs: event.endMs, contact: true } }),
    })
  })
  boundaries.sort((a, b) => a.timeMs - b.timeMs)

  const retain = options.retainTruth ?? true
  const retained: TruthRecord[] = []
  let boundaryIndex = 0
  let truthBeat = 1
  let timeMs = 0

  const advanceTo = (tMs: number): SimOutput => {
    if (!Number.isFinite(tMs) || tMs < timeMs)
      throw new SignalError(
        'INVALID_ARGUMENT',
        `advanceTo(${tMs}) on patient ${pid}: time must be finite and ≥ the current time ${timeMs} ms; simulations only move forward`,
      )
    const fromMs = timeMs
    const blocks: SampleBlock[] = []
    for (const ch of channels) {
      const periodMs = 1000 / ch.rateHz
      // A block is complete once its last sample's time is before tMs.
      while (((ch.sequence + 1) * ch.frames - 1) * periodMs < tMs) {
        const samples = new Int16Array(ch.frames * ch.channels)
        ch.generator.fill(samples)
        blocks.push({
          patientId: pid,
          sensorId: ch.sensor.id,
          numericSensorId: ch.sensor.numericId,
          channel: ch.kind,
          sequence: ch.sequence,
          firstSampleTimeMs: ch.sequence * ch.frames * periodMs,
          sampleRateHz: ch.rateHz,
          channels: ch.channels,
          samples,
        })
        ch.sequence++
      }
    }
    const readings: VitalReading[] = []
    for (const v of vitals)
      for (let t = v.next * v.intervalMs; t < tMs; t = ++v.next * v.intervalMs) readings.push(v.read(t))

    const truth: TruthRecord[] = []
    const statuses: SensorStatusChange[] = []
    for (;;) {
      const beat = scheduler.beat(truthBeat)
      if (beat.tMs >= tMs) break
      if (beat.tMs >= 0) truth.push({ type: 'r-peak', patientId: pid, timeMs: beat.tMs, beat: beat.label })
      truthBeat++
    }
    for (; boundaryIndex < boundaries.length && boundaries[boundaryIndex]!.timeMs < tMs; boundaryIndex++) {
      const b = boundaries[boundaryIndex]!
      truth.push(b.truth)
      if (b.status !== undefined) statuses.push(b.status)
    }
    truth.sort((a, b) => a.timeMs - b.timeMs)
    if (retain) for (const r of truth) retained.push(r)

    let oldest = truthBeat
    for (const user of beatUsers) oldest = Math.min(oldest, user.beatIndex)
    scheduler.release(oldest - 1)
    timeMs = tMs
    return { fromMs, toMs: tMs, blocks, vitals: readings, statuses, truth }
  }

  return {
    patient,
    get timeMs() {
      return timeMs
    },
    advanceTo,
    truth: () => retained,
  }
}

function checkSpec(patient: PatientSpec): void {
  const ids = new Set(patient.sensors.map((s) => s.id))
  for (const e of patient.events) {
    if (!(e.endMs > e.atMs) || e.atMs < 0)
      throw new SignalError(
        'INVALID_ARGUMENT',
        `event ${e.type} on patient ${patient.id} spans [${e.atMs}, ${e.endMs}) ms; it needs 0 ≤ atMs < endMs`,
      )
    if ((e.type === 'sensor-off' || e.type === 'motion-artefact') && !ids.has(e.sensorId))
      throw new SignalError(
        'UNKNOWN_SENSOR',
        `event ${e.type} on patient ${patient.id} names sensor "${e.sensorId}"; the patient has ${[...ids].join(', ')}`,
      )
  }
  for (const s of patient.sensors)
    for (const [kind, hz] of Object.entries(s.ratesHz))
      if (!(Number.isFinite(hz) && hz >= 0))
        throw new SignalError(
          'INVALID_ARGUMENT',
          `sensor ${patient.id}/${s.id} ${kind} rate ${hz} Hz must be ≥ 0`,
        )
  if (!(patient.baseline.hrBpm > 0))
    throw new SignalError(
      'INVALID_ARGUMENT',
      `patient ${patient.id} hrBpm ${patient.baseline.hrBpm} must be > 0`,
    )
}
