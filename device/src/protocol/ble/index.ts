// BLE GATT payload codecs: the gateway decodes and the simulator encodes with these, so each byte layout has one definition.
export { BleCodecError, bleCodecErrorCodes, MAX_ATT_VALUE_BYTES } from './errors.ts'
export type { BleCodecErrorCode } from './errors.ts'
export {
  decodeSfloat,
  decodeFloat,
  encodeSfloat,
  encodeFloat,
  SFLOAT_NAN,
  SFLOAT_NRES,
  SFLOAT_POSITIVE_INFINITY,
  SFLOAT_NEGATIVE_INFINITY,
  FLOAT_NAN,
  FLOAT_NRES,
  FLOAT_POSITIVE_INFINITY,
  FLOAT_NEGATIVE_INFINITY,
} from './ieee11073.ts'
export type { Ieee11073Kind, Ieee11073Number } from './ieee11073.ts'
export {
  decodeHeartRateMeasurement,
  encodeHeartRateMeasurement,
  rr1024ToMs,
  msToRr1024,
} from './heart-rate.ts'
export type { HeartRateMeasurement, HeartRateMeasurementInput, SensorContact } from './heart-rate.ts'
export {
  decodePlxContinuousMeasurement,
  encodePlxContinuousMeasurement,
  plxMeasurementStatus,
  plxDeviceStatus,
} from './plx.ts'
export type { PlxContinuousMeasurement, PlxContinuousMeasurementInput, PlxReading } from './plx.ts'
export {
  decodeTemperatureMeasurement,
  encodeTemperatureMeasurement,
  temperatureTypes,
} from './temperature.ts'
export type {
  TemperatureMeasurement,
  TemperatureMeasurementInput,
  TemperatureUnit,
  BleDateTime,
} from './temperature.ts'
export { decodeBatteryLevel, encodeBatteryLevel } from './battery.ts'
export {
  decodeVendorStreamFrame,
  encodeVendorStreamFrame,
  decodeVendorStreamConfig,
  encodeVendorStreamConfig,
  nextVendorSeq,
  vendorSeqGap,
  vendorSamplesPerNotification,
  vendorStreamKinds,
  vendorStreamChannels,
  VENDOR_STREAM_VERSION,
  VENDOR_STREAM_HEADER_BYTES,
} from './vendor-stream.ts'
export type { VendorStreamFrame, VendorStreamConfig, VendorStreamKind } from './vendor-stream.ts'
export { sigUuid, gattUuids, vendorStreamUuids } from './uuids.ts'
