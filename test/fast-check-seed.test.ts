import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { pickFastCheckSeed } from './fast-check-seed.js';

describe('fast-check seed of the run', () => {
  it('reaches every property of this worker', () => {
    const seed = inject('fcSeed');
    expect(Number.isInteger(seed)).toBe(true);
    expect(fc.readConfigureGlobal().seed).toBe(seed);
    if (process.env.FC_SEED) expect(seed).toBe(Number(process.env.FC_SEED));
    // Same seed, same values: what makes a printed seed replay a failure.
    const sample = () => fc.sample(fc.integer(), { numRuns: 5 });
    expect(sample()).toEqual(sample());
  });

  it('takes FC_SEED as fast-check prints it, and a random 32-bit integer without it', () => {
    expect(pickFastCheckSeed('-210279417')).toBe(-210279417);
    expect(pickFastCheckSeed(' 42 ')).toBe(42);
    expect(pickFastCheckSeed('2147483647')).toBe(2 ** 31 - 1);
    const random = [pickFastCheckSeed(undefined), pickFastCheckSeed(''), pickFastCheckSeed(undefined)];
    for (const seed of random) {
      expect(Number.isInteger(seed)).toBe(true);
      expect(Math.abs(seed)).toBeLessThanOrEqual(2 ** 31);
    }
  });

  it.each(['abc', '1.5', '1e3', '2147483648', '-2147483649'])('refuses FC_SEED=%s', (raw) => {
    expect(() => pickFastCheckSeed(raw)).toThrow(/^FC_SEED must be a 32-bit integer/);
  });
});
