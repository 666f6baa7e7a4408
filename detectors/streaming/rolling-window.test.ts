import fc from 'fast-check';
import { median, medianAbsoluteDeviation } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { DetectorConfigError, DetectorInputError } from '../errors.js';
import { MAX_WINDOW, RollingWindow } from './rolling-window.js';

// Ties matter most (zero-heavy series), so mix small integers with arbitrary doubles.
const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -1e6, max: 1e6, noNaN: true }));

describe('RollingWindow', () => {
  it('matches simple-statistics median and MAD bit for bit after every push (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 25 }),
        fc.array(value, { maxLength: 120, size: 'max' }),
        (capacity, xs) => {
          const w = new RollingWindow(capacity);
          for (let i = 0; i < xs.length; i++) {
            w.push(xs[i]);
            const last = xs.slice(Math.max(0, i + 1 - capacity), i + 1).map((x) => x + 0);
            expect(w.size).toBe(last.length);
            expect(w.values()).toEqual(last);
            expect(w.median()).toBe(median(last));
            expect(w.mad()).toBe(medianAbsoluteDeviation(last));
            const med = median(last);
            const meanAd = last.reduce((s, x) => s + Math.abs(x - med), 0) / last.length;
            expect(Math.abs(w.meanAbsDeviationFromMedian() - meanAd)).toBeLessThanOrEqual(1e-12 * meanAd);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('matches the reference on long streams with a large window', () => {
    const w = new RollingWindow(257);
    const xs: number[] = [];
    let state = 1;
    for (let i = 0; i < 3000; i++) {
      state = (state * 48271) % 2147483647;
      // A zero-heavy stream with occasional bursts.
      const x = state % 5 === 0 ? state % 17 : 0;
      xs.push(x);
      w.push(x);
      if (i % 97 === 0 || i === 2999) {
        const last = xs.slice(-257);
        expect(w.median()).toBe(median(last));
        expect(w.mad()).toBe(medianAbsoluteDeviation(last));
      }
    }
  });

  it('gives the documented example values, NaN when empty, and forgets on clear', () => {
    const w = new RollingWindow(3);
    expect(w.median()).toBeNaN();
    expect(w.mad()).toBeNaN();
    expect(w.meanAbsDeviationFromMedian()).toBeNaN();
    for (const x of [5, 1, 9, 2]) w.push(x);
    expect(w.values()).toEqual([1, 9, 2]);
    expect(w.isFull).toBe(true);
    expect(w.median()).toBe(2);
    expect(w.mad()).toBe(1);
    w.clear();
    expect(w.size).toBe(0);
    expect(w.values()).toEqual([]);
    w.push(4);
    expect(w.median()).toBe(4);
    expect(w.mad()).toBe(0);
  });

  it('stores -0 as +0 so that a JSON trip is lossless', () => {
    const w = new RollingWindow(4);
    w.push(-0);
    expect(Object.is(w.values()[0], 0)).toBe(true);
    expect(Object.is(w.median(), 0)).toBe(true);
  });

  it('rejects a bad capacity and non-finite values, keeping its state', () => {
    for (const bad of [0, -1, 2.5, MAX_WINDOW + 1, Number.NaN]) {
      expect(() => new RollingWindow(bad)).toThrow(DetectorConfigError);
    }
    expect(() => new RollingWindow(0)).toThrow(/capacity must be an integer in \[1, 1000000\], got 0/);
    const w = new RollingWindow(3);
    w.push(1);
    expect(() => w.push(Number.NaN)).toThrow(DetectorInputError);
    expect(() => w.push(Number.POSITIVE_INFINITY)).toThrow(
      /RollingWindow\.push: x must be a finite number, got Infinity/,
    );
    expect(w.values()).toEqual([1]);
  });
});
