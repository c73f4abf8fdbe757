/**
 * Scenario files (firmware-sim/scenarios/*.json): patients, their sensors and a timeline of events, validated with
 * one zod schema. `loadScenario(nameOrPath)` returns a `ScenarioSpec` whose patients go straight into
 * `createPatientSimulation` (../signals). Errors are ScenarioError with the JSON path of every bad field.
 */
export {
  listScenarios,
  loadScenario,
  parseScenario,
  formatPath,
  SCENARIOS_DIR,
  type ScenarioSpec,
} from './load.ts'
export { ScenarioError, scenarioErrorCodes, type ScenarioErrorCode, type ScenarioIssue } from './errors.ts'
export { scenarioSchema, type ScenarioFile, type ParsedScenario } from './schema.ts'
export {
  runScenario,
  createScenarioSimulations,
  DEFAULT_FAST_TICK_MS,
  DEFAULT_PACED_TICK_MS,
  type RunOptions,
  type RunSummary,
} from './run.ts'
export { TruthFile, type TruthRunHeader } from './truth-file.ts'
