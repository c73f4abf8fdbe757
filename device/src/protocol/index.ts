// The wire formats the gateway reads and the simulator writes: one definition for both sides.
export * from './serial/index.ts'
export * from './ble/index.ts'
