// The public data model of the signal generators: what a patient is, what the simulation emits, and its ground truth.
// Times are milliseconds of simulated time since the scenario start (t = 0) unless a name says otherwise;
// add `ScenarioSpec.startEpochMs` (scenario module) to get a device wall-clock timestamp.

/** Where a sensor's bytes go: the BlueZ look-alike (firmware-sim/src/ble) or the pty (firmware-sim/src/serial). */
export type Transport = 'ble' | 'serial'

/**
 * What a sensor measures, which decides the streams it emits:
 * - `ecg-patch`: ECG sample blocks, accelerometer blocks (if `accelHz` > 0), heart-rate vitals with RR intervals, battery.
 * - `pulse-oximeter`: PPG sample blocks, SpO2 + pulse-rate vitals, battery.
 * - `thermometer`: temperature vitals, battery.
 * - `accelerometer`: accelerometer blocks (a pendant or wrist unit), battery.
 */
export const sensorProfiles = ['ecg-patch', 'pulse-oximeter', 'thermometer', 'accelerometer'] as const
export type SensorProfile = (typeof sensorProfiles)[number]

/** A waveform channel. Units per LSB of the int16 samples: ecg 1 µV, ppg arbitrary units, accel 1 mg (x,y,z interleaved). */
export const channelKinds = ['ecg', 'ppg', 'accel'] as const
export type ChannelKind = (typeof channelKinds)[number]

/** One sensor, fully resolved (every default filled in by the scenario loader). */
export interface SensorSpec {
  /** Unique within its patient, e.g. "chest". */
  readonly id: string
  /** Unique within the scenario, 1..65535: the serial frame's sensor id. */
  readonly numericId: number
  readonly transport: Transport
  readonly profile: SensorProfile
  /** BLE address "AA:BB:CC:DD:EE:FF" (always set; only meaningful for transport 'ble'). */
  readonly address: string
  /** Advertised name, e.g. "Vigil ECG bed-01". */
  readonly name: string
  /** Sample rate per waveform channel this sensor emits, Hz; a channel absent or 0 is not emitted. */
  readonly ratesHz: Readonly<Partial<Record<ChannelKind, number>>>
  /** Samples per block per channel (frames; an accel frame is 3 samples). */
  readonly blockFrames: Readonly<Partial<Record<ChannelKind, number>>>
  /** Period of this sensor's vitals (heart rate, SpO2/pulse rate, temperature), ms. */
  readonly vitalIntervalMs: number
  /** Period of battery readings, ms. */
  readonly batteryIntervalMs: number
  /** Battery level at t = 0, percent (0..100). */
  readonly batteryStartPct: number
  /** Battery drain, percent per hour. */
  readonly batteryDrainPctPerHour: number
  /** Amplitude of uniform noise added to ECG, µV (ECGSYN's Anoise). */
  readonly ecgNoiseUv: number
}

/** A patient's resting physiology. */
export interface BaselineSpec {
  readonly hrBpm: number
  /** Heart-rate standard deviation, bpm (ECGSYN hrstd). */
  readonly hrStdBpm: number
  /** LF/HF power ratio of the RR process (ECGSYN lfhfratio). */
  readonly lfHfRatio: number
  readonly respRateBpm: number
  readonly spo2Pct: number
  readonly temperatureC: number
}

/** Every event that a timeline can inject. `atMs` is its onset; `endMs` its offset (exclusive). */
export type EventSpec =
  | {
      readonly type: 'sinus-tachycardia'
      readonly atMs: number
      readonly endMs: number
      readonly hrBpm: number
      readonly rampMs: number
    }
  | {
      readonly type: 'sinus-bradycardia'
      readonly atMs: number
      readonly endMs: number
      readonly hrBpm: number
      readonly rampMs: number
    }
  | {
      readonly type: 'pvc'
      readonly atMs: number
      readonly endMs: number
      readonly ratePerMin: number
      readonly pattern: 'single' | 'couplet'
    }
  | { readonly type: 'vt'; readonly atMs: number; readonly endMs: number; readonly hrBpm: number }
  | { readonly type: 'vf'; readonly atMs: number; readonly endMs: number }
  | { readonly type: 'asystole'; readonly atMs: number; readonly endMs: number }
  | {
      readonly type: 'af'
      readonly atMs: number
      readonly endMs: number
      readonly hrBpm: number
      readonly rrCv: number
    }
  | {
      readonly type: 'desaturation'
      readonly atMs: number
      readonly endMs: number
      readonly spo2Pct: number
      readonly rampMs: number
    }
  | {
      readonly type: 'fever'
      readonly atMs: number
      readonly endMs: number
      readonly temperatureC: number
      readonly rampMs: number
    }
  | { readonly type: 'walking'; readonly atMs: number; readonly endMs: number; readonly cadenceSpm: number }
  /** Impact at `atMs`, preceded by ~400 ms of free fall, then lying still until `endMs`. */
  | { readonly type: 'fall'; readonly atMs: number; readonly endMs: number; readonly impactG: number }
  /** The sensor loses contact (ECG lead-off, oximeter off the finger, thermometer off the skin). */
  | { readonly type: 'sensor-off'; readonly atMs: number; readonly endMs: number; readonly sensorId: string }
  /** Electrode-motion artefact on an ECG sensor. */
  | {
      readonly type: 'motion-artefact'
      readonly atMs: number
      readonly endMs: number
      readonly sensorId: string
      readonly amplitudeUv: number
    }

export type EventType = EventSpec['type']

/** One patient, fully resolved. */
export interface PatientSpec {
  /** Unique within the scenario, e.g. "bed-01"; the key of every record. */
  readonly id: string
  readonly baseline: BaselineSpec
  readonly sensors: readonly SensorSpec[]
  /** Sorted by `atMs`. */
  readonly events: readonly EventSpec[]
}

/** A block of consecutive samples of one channel of one sensor. */
export interface SampleBlock {
  readonly patientId: string
  readonly sensorId: string
  readonly numericSensorId: number
  readonly channel: ChannelKind
  /** 0, 1, 2, … per (sensor, channel); a gap means blocks were lost (never, from the generator itself). */
  readonly sequence: number
  /** Time of the first sample, ms (fractional when the sample period is not a whole ms). */
  readonly firstSampleTimeMs: number
  readonly sampleRateHz: number
  /** 1 for ecg/ppg, 3 for accel (x,y,z interleaved). */
  readonly channels: 1 | 3
  /** Freshly allocated per block, so a consumer may keep it. Length = frames × channels. */
  readonly samples: Int16Array
}

/** A numeric reading, as a device would report it. */
export type VitalReading =
  | {
      readonly kind: 'heart-rate'
      readonly patientId: string
      readonly sensorId: string
      readonly timeMs: number
      /** Beats per minute over the last few RR intervals; 0 when no beat was seen for 3 s or contact is lost. */
      readonly bpm: number
      /** RR intervals that ended since the previous reading, ms, oldest first (what 0x2A37 carries). */
      readonly rrIntervalsMs: readonly number[]
      readonly contact: boolean
    }
  | {
      readonly kind: 'spo2'
      readonly patientId: string
      readonly sensorId: string
      readonly timeMs: number
      /** Percent; NaN when not measurable (sensor off, no pulse). */
      readonly spo2Pct: number
      /** Beats per minute; NaN when not measurable. */
      readonly pulseRateBpm: number
      readonly contact: boolean
      /** No pulsatile signal (sensor on but no perfusing rhythm). */
      readonly nonPulsatile: boolean
    }
  | {
      readonly kind: 'temperature'
      readonly patientId: string
      readonly sensorId: string
      readonly timeMs: number
      /** Degrees Celsius, 2 decimals. */
      readonly celsius: number
      readonly contact: boolean
    }
  | {
      readonly kind: 'battery'
      readonly patientId: string
      readonly sensorId: string
      readonly timeMs: number
      /** Integer percent 0..100. */
      readonly percent: number
    }

export type VitalKind = VitalReading['kind']

/** A change of a sensor's contact state (lead-off, probe off), for serial status frames and BLE contact bits. */
export interface SensorStatusChange {
  readonly patientId: string
  readonly sensorId: string
  readonly timeMs: number
  readonly contact: boolean
}

/** Beat labels after AAMI EC57: N normal/supraventricular (sinus, AF), V ventricular (PVC, VT). */
export type BeatLabel = 'N' | 'V'

/** Ground truth, one JSON line each in a truth file. */
export type TruthRecord =
  | {
      readonly type: 'r-peak'
      readonly patientId: string
      readonly timeMs: number
      readonly beat: BeatLabel
    }
  | {
      readonly type: 'event-start'
      readonly patientId: string
      /** "<patientId>#<index in the patient's sorted timeline>". */
      readonly eventId: string
      readonly event: EventSpec
      readonly timeMs: number
    }
  | {
      readonly type: 'event-end'
      readonly patientId: string
      readonly eventId: string
      readonly eventType: EventType
      readonly timeMs: number
    }

/** What one `advanceTo` produced: everything with a time in [fromMs, toMs). */
export interface SimOutput {
  readonly fromMs: number
  readonly toMs: number
  /** Only complete blocks (every sample time < toMs); in time order per (sensor, channel). */
  readonly blocks: SampleBlock[]
  /** In time order per (sensor, kind). */
  readonly vitals: VitalReading[]
  readonly statuses: SensorStatusChange[]
  /** In time order. */
  readonly truth: TruthRecord[]
}

export interface PatientSimulationOptions {
  /** Part of the seed: the same (scenarioName, seed, patient, sensor) gives identical samples. */
  readonly scenarioName: string
  readonly seed: number
  /** Keep every truth record for `truth()` (default true); false keeps memory flat over long runs. */
  readonly retainTruth?: boolean
}

export interface PatientSimulation {
  readonly patient: PatientSpec
  /** Everything before this time has been emitted. Starts at 0. */
  readonly timeMs: number
  /**
   * Generates everything in [timeMs, tMs) and returns it. Throws SignalError INVALID_ARGUMENT
   * when tMs < timeMs or is not finite. Advancing in any step sizes gives identical output.
   */
  advanceTo(tMs: number): SimOutput
  /** All truth records emitted so far (empty when `retainTruth` is false). */
  truth(): readonly TruthRecord[]
}
