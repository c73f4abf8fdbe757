// @vigil/device: the gateway service (not yet written; see the open issues). The wire formats it
// shares with the simulator are exported as @vigil/device/protocol.
export {}
