// @vigil/device: the gateway service. The upstream replicator is exported here; the wire formats
// it shares with the simulator are exported as @vigil/device/protocol.
export * from './replicate/index.ts'
