import { DetectorConfigError } from './errors.js';

/** The seed a detector uses when none is given: results are reproducible by default. */
export const DEFAULT_SEED = 42;

/**
 * A small, fast, seedable PRNG (xoshiro128**, seeded through splitmix32). Only 32-bit integer
 * arithmetic, so a seed gives the same sequence on every machine and Node version; `Math.random`
 * is never used in this library.
 *
 * @example
 * ```ts
 * const rng = new Rng(7);
 * const u = rng.nextFloat(); // in [0, 1)
 * const k = rng.nextInt(10); // in 0..9
 * ```
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number = DEFAULT_SEED) {
    const s = checkSeed(seed);
    // splitmix32 spreads any 32-bit seed over the 128-bit state (never all zero).
    let x = s >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias. `n` must be in 1..2^32. */
  nextInt(n: number): number {
    // Rejection sampling on the top of the 32-bit range keeps every outcome equally likely.
    const limit = 4294967296 - (4294967296 % n);
    let r = this.nextUint32();
    while (r >= limit) r = this.nextUint32();
    return r % n;
  }

  /** A seed for a derived generator, so that sub-tasks (one tree each, say) are independent. */
  nextSeed(): number {
    return this.nextUint32();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Validates a seed: an integer in the safe range (negative values and values over 2^32 are folded
 * into 32 bits, so every safe integer is a valid, distinct-enough seed).
 */
export function checkSeed(seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new DetectorConfigError(`seed must be a safe integer, got ${String(seed)}`);
  }
  // Fold the high bits in so that seeds differing only above bit 32 still differ.
  const hi = Math.floor(seed / 4294967296);
  return (seed ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
}
