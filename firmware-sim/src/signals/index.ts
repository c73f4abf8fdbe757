/**
 * Seeded, reproducible biosignal generators: the patients behind firmware-sim's BLE and serial transports.
 *
 * Usage (a transport or the CLI):
 *
 * ```ts
 * import { loadScenario } from '../scenario/index.ts'
 * import { createPatientSimulation } from '../signals/index.ts'
 *
 * const scenario = loadScenario('cardiac-event-night')          // validated, every default resolved
 * const sims = scenario.patients.map((p) => createPatientSimulation(p, { scenarioName: scenario.name, seed: 7 }))
 * // (or createScenarioSimulations(scenario, 7) from ../scenario; runScenario() there paces a whole run)
 * for (let t = 100; t <= scenario.durationMs; t += 100) {
 *   for (const sim of sims) {
 *     const out = sim.advanceTo(t)    // everything in [previous t, t)
 *     out.blocks     // SampleBlock[]: int16 ECG (µV) / PPG (a.u.) / accel (mg, xyz interleaved), sequence + first-sample time
 *     out.vitals     // VitalReading[]: heart-rate (+ RR intervals), spo2 (+ pulse rate), temperature, battery
 *     out.statuses   // SensorStatusChange[]: contact lost / regained (lead-off, probe off)
 *     out.truth      // TruthRecord[]: every R peak (with beat label) and every event's onset and offset
 *   }
 * }
 * ```
 *
 * Contract:
 * - Times are ms of simulated time since the scenario start; add the scenario's `startEpochMs` for device clocks.
 * - `advanceTo(t)` emits exactly the items with time in [previous t, t); a block is emitted once all its samples are
 *   before t. Any sequence of `advanceTo` calls yields the same items, so pacing never changes the bytes.
 * - The same (scenario name, seed, patient spec) gives identical output; each sensor's noise has its own stream
 *   seeded from (scenario, seed, patient, sensor), so adding a sensor does not change the others.
 * - Blocks own their `samples` (a fresh Int16Array each); nothing is reused after it is returned.
 *
 * Models: ECG is ECGSYN (McSharry 2003, ../shared/reference/ecg.md) integrated with fixed-step RK4 at twice the output
 * rate and decimated; the beat timing is driven by a rhythm scheduler (sinus with bimodal HRV, tachy/bradycardia,
 * PVCs, VT, AF) and VF/asystole replace the beats. PPG pulses follow the same beats after a pulse transit time.
 */
export { createPatientSimulation } from './patient.ts'
export { SignalError, signalErrorCodes, type SignalErrorCode } from './errors.ts'
export { Prng, hash128, streamPrng } from './prng.ts'
export {
  channelKinds,
  sensorProfiles,
  type BaselineSpec,
  type BeatLabel,
  type ChannelKind,
  type EventSpec,
  type EventType,
  type PatientSimulation,
  type PatientSimulationOptions,
  type PatientSpec,
  type SampleBlock,
  type SensorProfile,
  type SensorSpec,
  type SensorStatusChange,
  type SimOutput,
  type Transport,
  type TruthRecord,
  type VitalKind,
  type VitalReading,
} from './types.ts'
