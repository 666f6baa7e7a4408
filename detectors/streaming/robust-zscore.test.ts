import fc from 'fast-check';
import { median, medianAbsoluteDeviation } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { DetectorConfigError, DetectorInputError, ModelSchemaError } from '../errors.js';
import { Rng } from '../random.js';
import { MAD_TO_SIGMA, MEAN_AD_TO_SIGMA, RollingRobustZScore } from './robust-zscore.js';

const value = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.double({ min: -1e5, max: 1e5, noNaN: true }));
const options = fc.record({
  window: fc.integer({ min: 3, max: 30 }),
  warmUp: fc.integer({ min: 0, max: 3 }),
});

function expectedScale(last: number[], minScale: number): number {
  const med = median(last);
  let s = MAD_TO_SIGMA * medianAbsoluteDeviation(last);
  if (s === 0) s = (MEAN_AD_TO_SIGMA * last.reduce((acc, x) => acc + Math.abs(x - med), 0)) / last.length;
  return Math.max(s, minScale);
}

/** Hourly sales of a steady SKU: daily seasonality plus noise. */
function seasonal(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => 20 + 8 * Math.sin((2 * Math.PI * i) / 24) + 2 * rng.nextFloat());
}

describe('RollingRobustZScore', () => {
  it('tracks the median and MAD of the last `window` values, as simple-statistics does (property)', () => {
    fc.assert(
      fc.property(options, fc.array(value, { maxLength: 80, size: 'max' }), (opts, xs) => {
        const det = new RollingRobustZScore(opts);
        xs.forEach((x, i) => {
          det.learnOne(x);
          // The detector stores -0 as +0 (JSON drops the sign), so compare against that.
          const last = xs.slice(Math.max(0, i + 1 - opts.window), i + 1).map((v) => v + 0);
          expect(det.median).toBe(median(last));
          expect(det.mad).toBe(medianAbsoluteDeviation(last));
          // Summation order differs from the reference (sorted vs arrival), hence relative.
          const ref = expectedScale(last, 1e-9);
          expect(Math.abs(det.scale - ref)).toBeLessThanOrEqual(1e-12 * ref);
          const e = det.explainOne(last[0]);
          expect(e.expected).toBe(det.median);
          expect(e.scale).toBe(det.scale);
        });
        expect(det.nSeen).toBe(xs.length);
      }),
      { numRuns: 200 },
    );
  });

  it('scores |x - median| / scale once warm, 0 before, with a consistent explanation (property)', () => {
    fc.assert(
      fc.property(options, fc.array(value, { maxLength: 40, size: 'max' }), value, (opts, xs, probe) => {
        const det = new RollingRobustZScore(opts);
        for (const x of xs) det.learnOne(x);
        const e = det.explainOne(probe);
        const s = det.scoreOne(probe);
        expect(s).toBe(e.score);
        expect(e.score).toBe(Math.abs(e.z));
        expect(e.warm).toBe(det.isWarm);
        expect(det.isWarm).toBe(xs.length >= opts.warmUp && xs.length > 0);
        if (!e.warm) {
          expect(s).toBe(0);
          expect(e.direction).toBe('none');
        } else {
          expect(e.z).toBe((probe - det.median) / det.scale);
          expect(e.direction).toBe(e.z > 0 ? 'above' : e.z < 0 ? 'below' : 'none');
          expect(Number.isFinite(s)).toBe(true);
          expect(s).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not change state when scoring or explaining (property)', () => {
    fc.assert(
      fc.property(
        options,
        fc.array(fc.tuple(value, value), { maxLength: 60, size: 'max' }),
        (opts, pairs) => {
          const plain = new RollingRobustZScore(opts);
          const probed = new RollingRobustZScore(opts);
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
        },
      ),
      { numRuns: 200 },
    );
  });

  it('continues bit-identically after a JSON round trip mid-stream (property)', () => {
    fc.assert(
      fc.property(
        options,
        fc.array(value, { maxLength: 60, size: 'max' }),
        fc.array(value, { minLength: 1, maxLength: 40, size: 'max' }),
        (opts, before, after) => {
          const det = new RollingRobustZScore({ ...opts, minScale: 1e-6 });
          for (const x of before) det.learnOne(x);
          const restored = RollingRobustZScore.fromJSON(JSON.parse(JSON.stringify(det)));
          expect(restored.nSeen).toBe(det.nSeen);
          expect(restored.isWarm).toBe(det.isWarm);
          expect(restored.minScale).toBe(1e-6);
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

  it('gives an injected spike in a seasonal series the largest score, and 0 during warm-up', () => {
    const xs = seasonal(24 * 14, 3);
    const spikeAt = 24 * 10 + 5;
    xs[spikeAt] += 40;
    const det = new RollingRobustZScore({ window: 168, warmUp: 24 });
    const scores = xs.map((x) => {
      const s = det.scoreOne(x);
      det.learnOne(x);
      return s;
    });
    expect(scores.slice(0, 24).every((s) => s === 0)).toBe(true);
    expect(scores[24]).toBeGreaterThan(0);
    const top = scores.indexOf(Math.max(...scores));
    expect(top).toBe(spikeAt);
    expect(scores[spikeAt]).toBeGreaterThan(5);
    // The spike sits in the window afterwards but, being one value, barely moves median or MAD.
    const rest = scores.slice(spikeAt + 1);
    expect(Math.max(...rest)).toBeLessThan(scores[spikeAt] / 2);
  });

  it('uses the mean-absolute-deviation fallback on a zero-heavy series and stays finite', () => {
    // A slow mover: one unit sold every tenth hour, a bulk order of 12 at the end.
    const xs = Array.from({ length: 200 }, (_, i) => (i % 10 === 9 ? 1 : 0));
    const det = new RollingRobustZScore({ window: 100, warmUp: 24 });
    for (const x of xs) {
      const s = det.scoreOne(x);
      expect(Number.isFinite(s)).toBe(true);
      det.learnOne(x);
    }
    expect(det.mad).toBe(0);
    // Median 0, 10 ones in the window: mean |x - 0| = 0.1.
    expect(det.scale).toBeCloseTo(MEAN_AD_TO_SIGMA * 0.1, 12);
    const single = det.scoreOne(1);
    const bulk = det.scoreOne(12);
    expect(single).toBeCloseTo(1 / (MEAN_AD_TO_SIGMA * 0.1), 9);
    expect(bulk).toBeCloseTo(12 * single, 9);
    expect(det.scoreOne(0)).toBe(0);
  });

  it('falls back to minScale on a perfectly flat window: large but finite scores', () => {
    const det = new RollingRobustZScore({ window: 10, warmUp: 3, minScale: 1e-3 });
    for (let i = 0; i < 10; i++) det.learnOne(5);
    expect(det.scale).toBe(1e-3);
    expect(det.scoreOne(5)).toBe(0);
    expect(det.scoreOne(6)).toBeCloseTo(1000, 9);
    const e = det.explainOne(4);
    expect(e.direction).toBe('below');
    expect(e.z).toBeCloseTo(-1000, 9);
    expect(e.expected).toBe(5);
  });

  it('uses 1.4826·MAD as the scale on ordinary data (consistent with σ for normal data)', () => {
    const det = new RollingRobustZScore({ window: 5, warmUp: 0 });
    for (const x of [1, 2, 3, 4, 100]) det.learnOne(x);
    expect(det.median).toBe(3);
    expect(det.mad).toBe(1);
    expect(det.scale).toBe(1.4826);
    expect(det.scoreOne(3 + 1.4826 * 4)).toBeCloseTo(4, 12);
  });

  it('is not warm before the first value even with warmUp 0, and explains with NaN estimates', () => {
    const det = new RollingRobustZScore({ window: 3, warmUp: 0 });
    expect(det.isWarm).toBe(false);
    expect(det.scoreOne(7)).toBe(0);
    const e = det.explainOne(7);
    expect(e).toMatchObject({ score: 0, z: 0, direction: 'none', warm: false });
    expect(e.expected).toBeNaN();
    expect(e.scale).toBeNaN();
    det.learnOne(7);
    expect(det.isWarm).toBe(true);
  });

  it('forgets everything on reset but keeps its options', () => {
    const det = new RollingRobustZScore({ window: 4, warmUp: 2 });
    for (const x of [1, 2, 3, 4, 5]) det.learnOne(x);
    det.reset();
    expect(det.nSeen).toBe(0);
    expect(det.isWarm).toBe(false);
    expect(det.median).toBeNaN();
    expect(det.toJSON()).toEqual({
      kind: 'rolling-robust-zscore',
      schemaVersion: 1,
      window: 4,
      warmUp: 2,
      minScale: 1e-9,
      nSeen: 0,
      values: [],
    });
    for (const x of [10, 20]) det.learnOne(x);
    expect(det.median).toBe(15);
  });

  it('uses the documented defaults', () => {
    const det = new RollingRobustZScore();
    expect([det.window, det.warmUp, det.minScale]).toEqual([168, 24, 1e-9]);
  });

  it('rejects out-of-range options with DetectorConfigError naming option and value', () => {
    const cases: [object, RegExp][] = [
      [{ window: 2 }, /window must be an integer in \[3, 1000000\], got 2/],
      [{ window: 10.5 }, /window must be an integer .*, got 10\.5/],
      [{ window: Number.NaN }, /window .*got NaN/],
      [{ window: '168' }, /window .*got "168"/],
      [{ warmUp: -1 }, /warmUp must be an integer in \[0, 168\], got -1/],
      [{ window: 10, warmUp: 11 }, /warmUp must be an integer in \[0, 10\], got 11/],
      [{ warmUp: 1.5 }, /warmUp .*got 1\.5/],
      [{ minScale: 0 }, /minScale must be a finite number > 0, got 0/],
      [{ minScale: -1 }, /minScale .*got -1/],
      [{ minScale: Number.POSITIVE_INFINITY }, /minScale .*got Infinity/],
    ];
    for (const [opts, message] of cases) {
      expect(() => new RollingRobustZScore(opts)).toThrow(DetectorConfigError);
      expect(() => new RollingRobustZScore(opts)).toThrow(message);
    }
  });

  it('rejects non-finite input with DetectorInputError and never learns it', () => {
    const det = new RollingRobustZScore({ window: 5, warmUp: 1 });
    det.learnOne(1).learnOne(2);
    const before = det.toJSON();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => det.learnOne(bad)).toThrow(DetectorInputError);
      expect(() => det.scoreOne(bad)).toThrow(DetectorInputError);
      expect(() => det.explainOne(bad)).toThrow(DetectorInputError);
    }
    expect(() => det.learnOne(Number.NaN)).toThrow(
      /RollingRobustZScore\.learnOne: x must be a finite number, got NaN/,
    );
    expect(() => det.scoreOne(Number.NEGATIVE_INFINITY)).toThrow(/scoreOne: .*got -Infinity/);
    expect(() => det.learnOne('3' as unknown as number)).toThrow(/got "3"/);
    expect(det.toJSON()).toEqual(before);
  });

  it('rejects serialized state of another kind, version or shape with ModelSchemaError', () => {
    const det = new RollingRobustZScore({ window: 4, warmUp: 1 });
    for (const x of [1, 2, 3, 4, 5, 6]) det.learnOne(x);
    const good = det.toJSON();
    expect(good.values).toEqual([3, 4, 5, 6]);
    expect(good.nSeen).toBe(6);
    const cases: [unknown, RegExp][] = [
      [null, /expected a serialized rolling-robust-zscore detector object, got null/],
      [[1, 2], /got an array/],
      [{ ...good, kind: 'ewma' }, /expected kind "rolling-robust-zscore", got "ewma"/],
      [{ ...good, schemaVersion: 2 }, /unsupported schemaVersion 2/],
      [{ ...good, schemaVersion: undefined }, /unsupported schemaVersion undefined/],
      [{ ...good, window: 'x' }, /field window must be a finite number, got "x"/],
      [{ ...good, window: 2 }, /invalid options .*window must be an integer/],
      [{ ...good, values: [1, 2, 3, 4, 5] }, /values must be an array of at most window=4/],
      [{ ...good, values: 'abc' }, /values must be an array/],
      [{ ...good, values: [1, null, 3, 4] }, /values must hold finite numbers, got null/],
      [{ ...good, nSeen: 3 }, /nSeen=3 does not match 4 values/],
      [{ ...good, nSeen: 6.5 }, /nSeen=6\.5/],
      [{ ...good, nSeen: 2, values: [1, 2, 3] }, /nSeen=2 does not match 3 values/],
    ];
    for (const [json, message] of cases) {
      expect(() => RollingRobustZScore.fromJSON(json)).toThrow(ModelSchemaError);
      expect(() => RollingRobustZScore.fromJSON(json)).toThrow(message);
    }
    expect(RollingRobustZScore.fromJSON(good).toJSON()).toEqual(good);
  });
});
