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

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
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
    return encoder.encode(value)
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
    view(out).setBigInt64(0, BigInt(value))
    return out
  },
  deserialize(bytes) {
    expectLength(bytes, 8, 'Serdes.Long')
    const value = view(bytes).getBigInt64(0)
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw serdeError(`Serdes.Long read ${value}, beyond a safe JS integer; use Serdes.BigLong`)
    }
    return Number(value)
  },
}

/* long => int64 big-endian two's complement, as bigint (the whole Kafka long range) */
const BigLongSerde: Serde<bigint> = {
  serialize(value) {
    if (typeof value !== 'bigint' || value !== BigInt.asIntN(64, value)) {
      throw serdeError(`Serdes.BigLong needs a bigint within int64, got ${String(value)}`)
    }
    const out = new Uint8Array(8)
    view(out).setBigInt64(0, value)
    return out
  },
  deserialize(bytes) {
    expectLength(bytes, 8, 'Serdes.BigLong')
    return view(bytes).getBigInt64(0)
  },
}

/* int => int32 big-endian two's complement (Kafka IntegerSerializer) */
const IntegerSerde: Serde<number> = {
  serialize(value) {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw serdeError(`Serdes.Integer needs an int32, got ${value}`)
    }
    const out = new Uint8Array(4)
    view(out).setInt32(0, value)
    return out
  },
  deserialize(bytes) {
    expectLength(bytes, 4, 'Serdes.Integer')
    return view(bytes).getInt32(0)
  },
}

/* double => IEEE 754 binary64 big-endian (Kafka DoubleSerializer) */
const DoubleSerde: Serde<number> = {
  serialize(value) {
    if (typeof value !== 'number') throw serdeError(`Serdes.Double cannot serialize ${typeof value}`)
    const out = new Uint8Array(8)
    view(out).setFloat64(0, value)
    return out
  },
  deserialize(bytes) {
    expectLength(bytes, 8, 'Serdes.Double')
    return view(bytes).getFloat64(0)
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
      return encoder.encode(text)
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
