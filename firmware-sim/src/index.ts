// @vigil/firmware-sim: simulated wearables (signals, scenarios) and the transports that serve them.
export * from './signals/index.ts'
export * from './scenario/index.ts'
export { CliArgsError, parseCliArgs, USAGE, type CliArgs } from './scenario/cli-args.ts'
// Namespaced: both transports name their defaults alike (DEFAULT_TICK_MS).
export * as ble from './ble/index.ts'
export * as serial from './serial/index.ts'
