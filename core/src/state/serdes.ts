import { readBigInt64, readInt64, writeInt64 } from './bytes.ts'
import { StateError } from './errors.ts'

/**
 * Turns values into bytes and back. `deserialize(serialize(v))` must equal `v`; a serde signals bad
 * input by throwing (the store layers wrap any throw into a StateError with code SERDE_FAILURE naming the
 * store and the operation). Byte formats of the built-in serdes are Kafka's, so a record written here
 * reads the same with Kafka's Serdes upstream.
 */
export interface Serde<T> {
  // Function-typed properties, not methods: a serde's functions may be passed around unbound.
  readonly serialize: (value: T) => Uint8Array
  readonly deserialize: (bytes: Uint8Array) => T
}

const encoder = new TextEncoder()
// Kafka's StringDeserializer replaces malformed UTF-8 rather than failing; so does a non-fatal decoder.
const decoder = new TextDecoder('utf-8')

function serdeError(message: string): StateError {
  return new StateError('SERDE_FAILURE', message)
}

/*
 * Hot-path notes (the byte formats are unchanged): no DataView over a fresh small Uint8Array and no
 * BigInt for Long (the int64 helpers in bytes.ts), and an ASCII fast path for encoding strings
 * (TextDecoder is already fast on short input). The formats are pinned by test/state/serdes.test.ts.
 */

/** Strings up to this length take the ASCII loop; longer ones go straight to TextEncoder. */
const ASCII_FAST_MAX = 64

/** UTF-8 bytes of value: a plain loop when it is short ASCII, else TextEncoder (identical bytes). */
function utf8Encode(value: string): Uint8Array {
  const length = value.length
  if (length <= ASCII_FAST_MAX) {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) {
      const c = value.charCodeAt(i)
      if (c > 0x7f) return encoder.encode(value)
      out[i] = c
    }
    return out
  }
  return encoder.encode(value)
}

// One off-heap scratch for floats and bigints: DataView on it is cheap, bytes are copied out.
const scratch = new ArrayBuffer(8)
const scratchView = new DataView(scratch)
const scratchBytes = new Uint8Array(scratch)

function copyOut8(): Uint8Array {
  const out = new Uint8Array(8)
  for (let i = 0; i < 8; i++) out[i] = scratchBytes[i]!
  return out
}

function copyIn8(bytes: Uint8Array): void {
  for (let i = 0; i < 8; i++) scratchBytes[i] = bytes[i]!
}

function expectLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.byteLength !== length) {
    throw serdeError(`${what} expects exactly ${length} bytes, got ${bytes.byteLength}`)
  }
}

/* string => utf8 bytes (Kafka StringSerializer with the default UTF-8 encoding) */
const StringSerde: Serde<string> = {
  serialize(value) {
    if (typeof value !== 'string') throw serdeError(`Serdes.String cannot serialize ${typeof value}`)
    return utf8Encode(value)
  },
  deserialize(bytes) {
    return decoder.decode(bytes)
  },
}

/*
 * long => int64 big-endian two's complement (Kafka LongSerializer). JS numbers hold integers exactly
 * only up to 2^53 - 1, so this serde refuses anything else in either direction rather than rounding;
 * use Serdes.BigLong for the full int64 range.
 */
const LongSerde: Serde<number> = {
  serialize(value) {
    if (!Number.isSafeInteger(value)) {
      throw serdeError(`Serdes.Long needs a safe integer, got ${value}; use Serdes.BigLong for full int64`)
    }
    const out = new Uint8Array(8)
    writeInt64(out, 0, value)
    return out
  },
  deserialize(bytes) {
    expectLength(bytes, 8, 'Serdes.Long')
    // Exact inside the safe range; anything outside reads as a non-safe double (|x| ≥ 2^53).
    const value = readInt64(bytes, 0)
    if (!Number.isSafeInteger(value)) {
      throw serdeError(
        `Serdes.Long read ${readBigInt64(bytes, 0)}, beyond a safe JS integer; use Serdes.BigLong`,
      )
    }
    return value
  },
}

/* long => int64 big-endian two's complement, as bigint (the whole Kafka long range) */
const BigLongSerde: Serde<bigint> = {
  serialize(value) {
    if (typeof value !== 'bigint' || value !== BigInt.asIntN(64, value)) {
      throw serdeError(`Serdes.BigLong needs a bigint within int64, got ${String(value)}`)
    }
    scratchView.setBigInt64(0, value)
    return copyOut8()
  },
  deserialize(bytes) {
    expectLength(bytes, 8, 'Serdes.BigLong')
    return readBigInt64(bytes, 0)
  },
}

/* int => int32 big-endian two's complement (Kafka IntegerSerializer) */
const IntegerSerde: Serde<number> = {
  serialize(value) {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw serdeError(`Serdes.Integer needs an int32, got ${value}`)
    }
    const out = new Uint8Array(4)
    out[0] = value >>> 24
    out[1] = value >>> 16
    out[2] = value >>> 8
    out[3] = value
    return out
  },
  deserialize(bytes) {
    expectLength(bytes, 4, 'Serdes.Integer')
    return (bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!
  },
}

/* double => IEEE 754 binary64 big-endian (Kafka DoubleSerializer) */
const DoubleSerde: Serde<number> = {
  serialize(value) {
    if (typeof value !== 'number') throw serdeError(`Serdes.Double cannot serialize ${typeof value}`)
    scratchView.setFloat64(0, value)
    return copyOut8()
  },
  deserialize(bytes) {
    expectLength(bytes, 8, 'Serdes.Double')
    copyIn8(bytes)
    return scratchView.getFloat64(0)
  },
}

/* bytes => the same bytes; no copy is made, so do not mutate a buffer after handing it over */
const BytesSerde: Serde<Uint8Array> = {
  serialize(value) {
    if (!(value instanceof Uint8Array)) throw serdeError('Serdes.Bytes needs a Uint8Array')
    return value
  },
  deserialize(bytes) {
    return bytes
  },
}

/* json => utf8( JSON.stringify(value) ) */
function jsonSerde<T>(): Serde<T> {
  return {
    serialize(value) {
      const text = JSON.stringify(value) as string | undefined
      if (text === undefined) throw serdeError(`Serdes.JSON cannot serialize ${typeof value}`)
      return utf8Encode(text)
    },
    deserialize(bytes) {
      try {
        return JSON.parse(decoder.decode(bytes)) as T
      } catch (cause) {
        throw new StateError('SERDE_FAILURE', `Serdes.JSON read invalid JSON: ${String(cause)}`, { cause })
      }
    },
  }
}

export const Serdes = {
  String: StringSerde,
  Long: LongSerde,
  BigLong: BigLongSerde,
  Integer: IntegerSerde,
  Double: DoubleSerde,
  Bytes: BytesSerde,
  /** JSON text in UTF-8; T is not checked on read, so validate what you deserialize if it crosses a trust boundary. */
  JSON: jsonSerde,
} as const
