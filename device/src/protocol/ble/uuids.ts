/** Expands a 16-bit SIG-assigned number to the full lower-case 128-bit UUID BlueZ reports. */
export function sigUuid(short: number): string {
  return `0000${short.toString(16).padStart(4, '0')}-0000-1000-8000-00805f9b34fb`
}

/** Standard GATT services and characteristics, as BlueZ (and node-ble) name them. */
export const gattUuids = {
  heartRateService: sigUuid(0x180d),
  heartRateMeasurement: sigUuid(0x2a37),
  bodySensorLocation: sigUuid(0x2a38),
  pulseOximeterService: sigUuid(0x1822),
  plxContinuousMeasurement: sigUuid(0x2a5f),
  plxFeatures: sigUuid(0x2a60),
  healthThermometerService: sigUuid(0x1809),
  temperatureMeasurement: sigUuid(0x2a1c),
  batteryService: sigUuid(0x180f),
  batteryLevel: sigUuid(0x2a19),
} as const

/**
 * The Vigil vendor stream service (docs/reference/ble-vendor-stream.md): raw ECG and accelerometer
 * sample blocks. The UUIDs share one random base, 7e6aXXXX-3b1f-4c2d-9a85-1d4e6f0b2c31.
 */
export const vendorStreamUuids = {
  service: '7e6a0001-3b1f-4c2d-9a85-1d4e6f0b2c31',
  ecgData: '7e6a0002-3b1f-4c2d-9a85-1d4e6f0b2c31',
  accData: '7e6a0003-3b1f-4c2d-9a85-1d4e6f0b2c31',
  config: '7e6a0004-3b1f-4c2d-9a85-1d4e6f0b2c31',
} as const
