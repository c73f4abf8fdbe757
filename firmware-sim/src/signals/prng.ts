// sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128-bit state, passes PractRand, and needs only
// 32-bit integer ops, which V8 keeps unboxed; Math.random cannot be seeded, so reproducibility needs our own.

/** A seeded pseudo-random source. Not cryptographic. */
export class Prng {
  #a: number
  #b: number
  #c: number
  #d: number

  constructor(seed: readonly [number, number, number, number]) {
    this.#a = seed[0] >>> 0
    this.#b = seed[1] >>> 0
    this.#c = seed[2] >>> 0
    this.#d = seed[3] >>> 0
    // Mixes weak seeds (e.g. all zeros) into a well-spread state, as the reference implementation does.
    for (let i = 0; i < 15; i++) this.nextU32()
  }

  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }

  /** Uniform in [-1, 1). */
  symmetric(): number {
    return this.nextU32() / 2147483648 - 1
  }

  /** Standard normal (Box–Muller; one of the pair is discarded to keep the stream position simple). */
  gaussian(): number {
    const u = 1 - this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }
}

/** cyrb128: a fast 128-bit string hash, to turn (scenario, seed, patient, sensor) into an sfc32 seed. */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703
  let h2 = 3144134277
  let h3 = 1013904242
  let h4 = 2773480762
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
  h1 ^= h2 ^ h3 ^ h4
  h2 ^= h1
  h3 ^= h1
  h4 ^= h1
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
}

/** The generator for one stream of one run; each stream (beats, a sensor's noise, …) gets its own so they stay independent. */
export function streamPrng(scenarioName: string, seed: number, patientId: string, stream: string): Prng {
  return new Prng(hash128(`${scenarioName}\u0000${seed}\u0000${patientId}\u0000${stream}`))
}
