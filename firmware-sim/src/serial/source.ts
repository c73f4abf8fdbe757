import type { SerialFrame, SerialFrameHeader } from '@vigil/device/protocol'
import { SERIAL_MAX_SAMPLES_PER_BLOCK } from '@vigil/device/protocol'
import type { PatientSimulation, SampleBlock, SensorProfile, VitalReading } from '../signals/index.ts'

type WithoutHeader<F> = F extends unknown ? Omit<F, keyof SerialFrameHeader> : never
/** A frame without its header fields: the device assigns the sequence number and device timestamp. */
export type SerialPayload = WithoutHeader<SerialFrame>

/** One thing the device will send: what, for which sensor, and when it happened (true time). */
export interface SerialSourceItem {
  /** Simulated time the payload applies to (first sample of a block), ms since the scenario start. */
  readonly timeMs: number
  /** The frame's sensor id, 0–65535 (0 = the device itself). */
  readonly sensorId: number
  /** For status payloads the device overwrites `resetReason` with its own. */
  readonly payload: SerialPayload
}

/**
 * What a serial device sends. `advanceTo(t)` returns every item with a time in [previous t, t) that
 * is ready by t (a sample block once its last sample is before t), so its time may lie before the
 * previous t. Any step sizes give the same items.
 */
export interface SerialSource {
  advanceTo(tMs: number): Iterable<SerialSourceItem>
}

export interface SimulationSourceOptions {
  /** Which sensors to send: those whose spec says transport 'serial' (default) or every sensor. */
  readonly sensors?: 'serial' | 'all'
}

/**
 * Adapts patient simulations (../signals) to a serial source. Mapping:
 * - ECG / PPG blocks → one sample block, channel 0; accelerometer blocks (x,y,z interleaved) → three
 *   blocks, channels 0 (x), 1 (y), 2 (z). Blocks longer than SERIAL_MAX_SAMPLES_PER_BLOCK are split.
 * - heart-rate → vital heart-rate, and one vital rr-interval (ms) per RR interval, at the reading's time,
 *   only while the leads are on (a value the device cannot measure is not sent);
 *   spo2 → vitals spo2 and pulse-rate when measurable (NaN is not sent); temperature → vital temperature;
 *   battery → a status frame (battery %, the lead-off mask at the reading's time).
 * - contact lost / regained → event lead-off / lead-on (ECG patches) or sensor-detached / sensor-attached
 *   (other profiles), value = the lead-off mask after the change (bit 0).
 */
export function serialSourceFromSimulations(
  sims: readonly PatientSimulation[],
  options: SimulationSourceOptions = {},
): SerialSource {
  const which = options.sensors ?? 'serial'
  const sensors = new Map<string, { numericId: number; profile: SensorProfile; leadOff: number }>()
  for (const sim of sims) {
    for (const s of sim.patient.sensors) {
      if (which === 'all' || s.transport === 'serial') {
        sensors.set(`${sim.patient.id}/${s.id}`, { numericId: s.numericId, profile: s.profile, leadOff: 0 })
      }
    }
  }
  return {
    advanceTo(tMs: number): SerialSourceItem[] {
      const items: SerialSourceItem[] = []
      for (const sim of sims) {
        const out = sim.advanceTo(tMs)
        for (const b of out.blocks) {
          const s = sensors.get(`${b.patientId}/${b.sensorId}`)
          if (s !== undefined) pushBlock(items, s.numericId, b)
        }
        // Statuses and vitals in time order (a change before a reading at the same time): a status frame
        // reports the lead-off state at its own time, not the one at the end of the step.
        const timeline = [
          ...out.statuses.map((status) => ({ timeMs: status.timeMs, status, vital: undefined })),
          ...out.vitals.map((vital) => ({ timeMs: vital.timeMs, status: undefined, vital })),
        ].sort((a, b) => a.timeMs - b.timeMs)
        for (const { status: st, vital: v } of timeline) {
          if (v !== undefined) {
            const s = sensors.get(`${v.patientId}/${v.sensorId}`)
            if (s !== undefined) pushVital(items, s.numericId, s.leadOff, v)
            continue
          }
          const s = sensors.get(`${st.patientId}/${st.sensorId}`)
          if (s === undefined) continue
          s.leadOff = st.contact ? 0 : 1
          const ecg = s.profile === 'ecg-patch'
          const event = st.contact
            ? ecg
              ? 'lead-on'
              : 'sensor-attached'
            : ecg
              ? 'lead-off'
              : 'sensor-detached'
          items.push({
            timeMs: st.timeMs,
            sensorId: s.numericId,
            payload: { type: 'event', event, value: s.leadOff },
          })
        }
      }
      return items
    },
  }
}

function pushBlock(items: SerialSourceItem[], sensorId: number, b: SampleBlock): void {
  const signal = b.channel
  const perChannel: Int16Array[] = []
  if (b.channels === 1) {
    perChannel.push(b.samples)
  } else {
    const frames = Math.floor(b.samples.length / b.channels)
    for (let c = 0; c < b.channels; c++) {
      const ch = new Int16Array(frames)
      for (let i = 0; i < frames; i++) ch[i] = b.samples[i * b.channels + c]!
      perChannel.push(ch)
    }
  }
  perChannel.forEach((samples, channel) => {
    for (let from = 0; from < samples.length; from += SERIAL_MAX_SAMPLES_PER_BLOCK) {
      items.push({
        timeMs: b.firstSampleTimeMs + (from * 1000) / b.sampleRateHz,
        sensorId,
        payload: {
          type: 'samples',
          signal,
          channel,
          sampleRateHz: b.sampleRateHz,
          samples: samples.slice(from, from + SERIAL_MAX_SAMPLES_PER_BLOCK),
        },
      })
    }
  })
}

function pushVital(items: SerialSourceItem[], sensorId: number, leadOff: number, v: VitalReading): void {
  const at = (payload: SerialPayload): void => {
    items.push({ timeMs: v.timeMs, sensorId, payload })
  }
  switch (v.kind) {
    case 'heart-rate':
      // With the leads off there is no heart rate to measure (the generator reads 0): send nothing.
      if (!v.contact) break
      at({ type: 'vital', kind: 'heart-rate', value: v.bpm })
      for (const rr of v.rrIntervalsMs) at({ type: 'vital', kind: 'rr-interval', value: rr })
      break
    case 'spo2':
      if (Number.isFinite(v.spo2Pct)) at({ type: 'vital', kind: 'spo2', value: v.spo2Pct })
      if (Number.isFinite(v.pulseRateBpm)) at({ type: 'vital', kind: 'pulse-rate', value: v.pulseRateBpm })
      break
    case 'temperature':
      at({ type: 'vital', kind: 'temperature', value: v.celsius })
      break
    case 'battery':
      at({ type: 'status', batteryPercent: v.percent, leadOff, resetReason: 'unknown', charging: false })
      break
    default:
      v satisfies never
  }
}
