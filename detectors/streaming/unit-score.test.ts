import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DetectorInputError } from '../errors.js';
import { zToUnit } from './unit-score.js';

describe('zToUnit', () => {
  it('maps 0 to 0 and the usual two-sided quantiles to their coverage', () => {
    expect(zToUnit(0)).toBe(0);
    expect(zToUnit(-0)).toBe(0);
    expect(zToUnit(1.96)).toBeCloseTo(0.95, 4);
    expect(zToUnit(1)).toBeCloseTo(0.6827, 4);
    expect(zToUnit(3)).toBeCloseTo(0.9973, 4);
    expect(zToUnit(-1.96)).toBe(zToUnit(1.96));
  });

  it('agrees with 2Φ(|z|) - 1 = erf(|z|/√2) to the accuracy of the erf approximation', () => {
    // Reference values of erf(z/√2) to 15 digits.
    const table: [number, number][] = [
      [0.5, 0.382924922548026],
      [1, 0.682689492137086],
      [1.5, 0.866385597462284],
      [2, 0.954499736103642],
      [2.5, 0.987580669348448],
      [3, 0.99730020393674],
      [4, 0.999936657516334],
    ];
    for (const [z, expected] of table) expect(Math.abs(zToUnit(z) - expected)).toBeLessThan(2e-7);
  });

  it('stays in [0, 1], is sign-blind and monotone in |z| (property)', () => {
    const z = fc.double({ min: -50, max: 50, noNaN: true });
    fc.assert(
      fc.property(z, z, (a, b) => {
        const ua = zToUnit(a);
        expect(ua).toBeGreaterThanOrEqual(0);
        expect(ua).toBeLessThanOrEqual(1);
        expect(zToUnit(-a)).toBe(ua);
        if (Math.abs(a) <= Math.abs(b)) expect(ua).toBeLessThanOrEqual(zToUnit(b));
        else expect(ua).toBeGreaterThanOrEqual(zToUnit(b));
      }),
      { numRuns: 2000 },
    );
    // Dense grid: the underlying erf approximation must not wiggle anywhere.
    let prev = 0;
    for (let i = 0; i <= 100_000; i++) {
      const u = zToUnit(i * 1e-4);
      expect(u >= prev).toBe(true);
      prev = u;
    }
  });

  it('is below 1 for moderate z, saturates at 1 far out, and maps ±Infinity to 1', () => {
    expect(zToUnit(5)).toBeLessThan(1);
    expect(zToUnit(1e6)).toBe(1);
    expect(zToUnit(Number.POSITIVE_INFINITY)).toBe(1);
    expect(zToUnit(Number.NEGATIVE_INFINITY)).toBe(1);
  });

  it('rejects NaN with DetectorInputError', () => {
    expect(() => zToUnit(Number.NaN)).toThrow(DetectorInputError);
    expect(() => zToUnit(Number.NaN)).toThrow(/zToUnit: z must be a number, got NaN/);
  });
});
