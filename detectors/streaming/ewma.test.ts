import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DetectorConfigError, DetectorInputError, ModelSchemaError } from '../errors.js';
import { Rng } from '../random.js';
import { EwmaDetector } from './ewma.js';

const value = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.double({ min: -1e5, max: 1e5, noNaN: true }));
const alpha = fc.double({ min: 1e-3, max: 1, noNaN: true });

/** The recurrence written out plainly, as the reference. */
function naive(a: number, xs: number[]): { mean: number; variance: number } {
  let mean = 0;
  let variance = 0;
  xs.forEach((x, i) => {
    if (i === 0) {
      mean = x;
      variance = 0;
      return;
    }
    const diff = x - mean;
    const incr = a * diff;
    mean = mean + incr;
    variance = (1 - a) * (variance + diff * incr);
  });
  return { mean, variance };
}

describe('EwmaDetector', () => {
  it('follows the incremental mean/variance recurrence exactly (property)', () => {
    fc.assert(
      fc.property(
        alpha,
        fc.array(value, { minLength: 1, maxLength: 60, size: 'max' }),
        value,
        (a, xs, probe) => {
          const det = new EwmaDetector({ alpha: a, warmUp: 0 });
          for (const x of xs) det.learnOne(x);
          const ref = naive(a, xs);
          expect(det.mean).toBe(ref.mean + 0);
          expect(det.variance).toBe(ref.variance);
          const scale = Math.max(Math.sqrt(ref.variance), 1e-9);
          expect(det.scale).toBe(scale);
          expect(det.scoreOne(probe)).toBe(Math.abs((probe - ref.mean) / scale));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('equals the exponentially weighted mean and variance written as weighted sums', () => {
    // Weights: (1-a)^(n-1) for the first value, a(1-a)^(n-1-i) for the others; they sum to 1.
    const rng = new Rng(11);
    const xs = Array.from({ length: 50 }, () => 10 + 5 * rng.nextFloat());
    const a = 0.2;
    const n = xs.length;
    const w = xs.map((_, i) => (i === 0 ? (1 - a) ** (n - 1) : a * (1 - a) ** (n - 1 - i)));
    const mean = xs.reduce((s, x, i) => s + w[i] * x, 0);
    const variance = xs.reduce((s, x, i) => s + w[i] * (x - mean) ** 2, 0);
    const det = new EwmaDetector({ alpha: a });
    for (const x of xs) det.learnOne(x);
    expect(det.mean).toBeCloseTo(mean, 10);
    expect(det.variance).toBeCloseTo(variance, 10);
  });

  it('derives alpha from halfLife so that weights halve every halfLife points', () => {
    for (const h of [0.5, 1, 24, 168, 1e6]) {
      const det = new EwmaDetector({ halfLife: h });
      expect(det.alpha).toBeGreaterThan(0);
      expect(det.alpha).toBeLessThanOrEqual(1);
      expect((1 - det.alpha) ** h).toBeCloseTo(0.5, 9);
    }
    expect(new EwmaDetector({ halfLife: 1 }).alpha).toBe(0.5);
  });

  it('uses the documented defaults', () => {
    const det = new EwmaDetector();
    expect([det.alpha, det.warmUp, det.minScale]).toEqual([0.1, 10, 1e-9]);
  });

  it('does not change state when scoring or explaining (property)', () => {
    fc.assert(
      fc.property(alpha, fc.array(fc.tuple(value, value), { maxLength: 60, size: 'max' }), (a, pairs) => {
        const plain = new EwmaDetector({ alpha: a, warmUp: 2 });
        const probed = new EwmaDetector({ alpha: a, warmUp: 2 });
        for (const [x, extra] of pairs) {
          const first = probed.scoreOne(x);
          expect(Object.is(probed.scoreOne(x), first)).toBe(true);
          probed.scoreOne(extra);
          probed.explainOne(extra);
          expect(Object.is(plain.scoreOne(x), first)).toBe(true);
          plain.learnOne(x);
          probed.learnOne(x);
        }
        expect(probed.toJSON()).toEqual(plain.toJSON());
      }),
      { numRuns: 200 },
    );
  });

  it('continues bit-identically after a JSON round trip mid-stream (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          alpha.map((a) => ({ alpha: a })),
          fc.double({ min: 0.5, max: 500, noNaN: true }).map((h) => ({ halfLife: h })),
        ),
        fc.array(value, { maxLength: 60, size: 'max' }),
        fc.array(value, { minLength: 1, maxLength: 40, size: 'max' }),
        (opts, before, after) => {
          const det = new EwmaDetector({ ...opts, warmUp: 3 });
          for (const x of before) det.learnOne(x);
          const restored = EwmaDetector.fromJSON(JSON.parse(JSON.stringify(det)));
          expect(restored.alpha).toBe(det.alpha);
          expect(restored.nSeen).toBe(det.nSeen);
          for (const x of after) {
            expect(Object.is(restored.scoreOne(x), det.scoreOne(x))).toBe(true);
            expect(restored.explainOne(x)).toEqual(det.explainOne(x));
            restored.learnOne(x);
            det.learnOne(x);
          }
          expect(restored.toJSON()).toEqual(det.toJSON());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('scores 0 during warm-up, flags a spike, and stays finite on a constant series', () => {
    const det = new EwmaDetector({ alpha: 0.1, warmUp: 10 });
    const rng = new Rng(4);
    const scores: number[] = [];
    for (let i = 0; i < 200; i++) {
      const x = i === 150 ? 60 : 20 + rng.nextFloat();
      scores.push(det.scoreOne(x));
      det.learnOne(x);
    }
    expect(scores.slice(0, 10).every((s) => s === 0)).toBe(true);
    expect(scores[10]).toBeGreaterThan(0);
    expect(scores.indexOf(Math.max(...scores))).toBe(150);
    const e = new EwmaDetector({ warmUp: 1 });
    for (let i = 0; i < 50; i++) e.learnOne(0);
    expect(e.scale).toBe(1e-9);
    expect(e.scoreOne(0)).toBe(0);
    expect(Number.isFinite(e.scoreOne(1))).toBe(true);
    expect(e.explainOne(1)).toMatchObject({ direction: 'above', expected: 0, scale: 1e-9, warm: true });
    expect(e.explainOne(-1).direction).toBe('below');
  });

  it('explains with NaN estimates before the first value and forgets on reset', () => {
    const det = new EwmaDetector({ warmUp: 0 });
    expect(det.isWarm).toBe(false);
    const e = det.explainOne(3);
    expect(e).toMatchObject({ score: 0, z: 0, direction: 'none', warm: false });
    expect(e.expected).toBeNaN();
    expect(e.scale).toBeNaN();
    det.learnOne(3).learnOne(5);
    expect(det.isWarm).toBe(true);
    expect(det.mean).toBeCloseTo(3.2, 12);
    det.reset();
    expect(det.nSeen).toBe(0);
    expect(det.mean).toBeNaN();
    expect(det.variance).toBeNaN();
    det.learnOne(8);
    expect(det.mean).toBe(8);
    expect(det.variance).toBe(0);
  });

  it('rejects bad options with DetectorConfigError naming option and value', () => {
    const cases: [object, RegExp][] = [
      [{ alpha: 0 }, /alpha must be a number in \(0, 1\], got 0/],
      [{ alpha: 1.5 }, /alpha .*got 1\.5/],
      [{ alpha: -0.1 }, /alpha .*got -0\.1/],
      [{ alpha: Number.NaN }, /alpha .*got NaN/],
      [{ alpha: '0.1' }, /alpha .*got "0\.1"/],
      [{ alpha: 0.1, halfLife: 5 }, /either alpha or halfLife, not both \(got alpha=0\.1, halfLife=5\)/],
      [{ halfLife: 0 }, /halfLife must be a finite number > 0, got 0/],
      [{ halfLife: -2 }, /halfLife .*got -2/],
      [{ halfLife: Number.POSITIVE_INFINITY }, /halfLife .*got Infinity/],
      [{ warmUp: -1 }, /warmUp must be an integer in \[0, 1000000000\], got -1/],
      [{ warmUp: 2.5 }, /warmUp .*got 2\.5/],
      [{ minScale: 0 }, /minScale must be a finite number > 0, got 0/],
    ];
    for (const [opts, message] of cases) {
      expect(() => new EwmaDetector(opts)).toThrow(DetectorConfigError);
      expect(() => new EwmaDetector(opts)).toThrow(message);
    }
    expect(new EwmaDetector({ alpha: 1 }).alpha).toBe(1);
  });

  it('rejects non-finite input with DetectorInputError and never learns it', () => {
    const det = new EwmaDetector({ warmUp: 1 });
    det.learnOne(1).learnOne(2);
    const before = det.toJSON();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => det.learnOne(bad)).toThrow(DetectorInputError);
      expect(() => det.scoreOne(bad)).toThrow(DetectorInputError);
      expect(() => det.explainOne(bad)).toThrow(DetectorInputError);
    }
    expect(() => det.learnOne(Number.NaN)).toThrow(
      /EwmaDetector\.learnOne: x must be a finite number, got NaN/,
    );
    expect(() => det.scoreOne(Number.POSITIVE_INFINITY)).toThrow(/EwmaDetector\.scoreOne: .*got Infinity/);
    expect(det.toJSON()).toEqual(before);
  });

  it('rejects serialized state of another kind, version or shape with ModelSchemaError', () => {
    const det = new EwmaDetector({ alpha: 0.3, warmUp: 2 });
    for (const x of [1, 2, 3]) det.learnOne(x);
    const good = det.toJSON();
    expect(good).toMatchObject({ kind: 'ewma', schemaVersion: 1, alpha: 0.3, warmUp: 2, nSeen: 3 });
    const cases: [unknown, RegExp][] = [
      [undefined, /expected a serialized ewma detector object, got undefined/],
      [{ ...good, kind: 'rolling-robust-zscore' }, /expected kind "ewma", got "rolling-robust-zscore"/],
      [{ ...good, schemaVersion: 0 }, /unsupported schemaVersion 0/],
      [{ ...good, mean: null }, /field mean must be a finite number, got null/],
      [{ ...good, variance: -1 }, /field variance must be >= 0, got -1/],
      [{ ...good, alpha: 2 }, /invalid options .*alpha must be a number in \(0, 1\], got 2/],
      [{ ...good, nSeen: -1 }, /nSeen must be a non-negative integer, got -1/],
      [{ ...good, nSeen: 1.5 }, /nSeen .*got 1\.5/],
    ];
    for (const [json, message] of cases) {
      expect(() => EwmaDetector.fromJSON(json)).toThrow(ModelSchemaError);
      expect(() => EwmaDetector.fromJSON(json)).toThrow(message);
    }
    expect(EwmaDetector.fromJSON(good).toJSON()).toEqual(good);
  });
});
