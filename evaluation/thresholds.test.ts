import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetricError } from './errors.js';
import { binaryMetrics } from './metrics.js';
import {
  bestF1Threshold,
  predictAt,
  quantile,
  resolveThreshold,
  thresholdByContamination,
} from './thresholds.js';

describe('quantile', () => {
  it('is bit-identical to numpy 1.24 np.quantile (linear)', () => {
    // /usr/bin/python3, numpy 1.24.2
    expect(quantile([1, 2, 3, 4, 10], 0.9)).toBe(7.6000000000000005);
    const s = [
      0.6469034225734218, -1.9924197841744944, -0.46316986495236695, -0.09728692567008902, 1.2570149772868198,
      0.6894039005707556, -0.32721342022219785, -0.3685758940999591, -0.25019540051792494, 1.5235294004561601,
      -0.4280249425728672, -0.3036803883647294,
    ];
    expect(quantile(s, 0.9)).toBe(1.2002538696152136);
    expect(quantile(s, 0.95)).toBe(1.3769464677130228);
    expect(quantile(s, 0.5)).toBe(-0.27693789444132716);
    expect(quantile(s, 0.123)).toBe(-0.45076370735240356);
  });

  it('hits the extremes and is monotone in q', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (xs, a, b) => {
          // `+ 0` folds -0 into +0: numpy's lerp also returns +0 between -0 and +0.
          expect(quantile(xs, 0) + 0).toBe(Math.min(...xs) + 0);
          expect(quantile(xs, 1) + 0).toBe(Math.max(...xs) + 0);
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(quantile(xs, lo)).toBeLessThanOrEqual(quantile(xs, hi));
        },
      ),
    );
  });

  it('rejects q outside [0, 1] and bad values', () => {
    expect(() => quantile([1], 1.5)).toThrow(/q must be in \[0, 1\]/);
    expect(() => quantile([], 0.5)).toThrow(/values is empty/);
    expect(() => quantile([1, Number.NaN], 0.5)).toThrow(/values\[1\] is NaN/);
  });
});

describe('thresholdByContamination / predictAt', () => {
  it('is the (1 − c) numpy quantile', () => {
    // np.quantile(s, 0.7) for rng = default_rng(7) case 1 of /tmp/sk2.py (numpy 1.24.2)
    const s = [
      0.25, 1.25, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 1.25, 1.0, 1.0, 1.0, 0.75, 0.5, 1.25, 0.5, 0.25, 1.25,
      0.0, 1.25, 0.75, 0.0, 0.0, 0.5, 0.0,
    ];
    expect(thresholdByContamination(s, 0.3)).toBe(0.9499999999999993);
    expect(Array.from(predictAt(s, 0.9499999999999993)).reduce((a, b) => a + b, 0)).toBe(8);
  });

  it('flags about a fraction c of distinct scores, never the ties at the threshold', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { minLength: 10, maxLength: 200 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        (s, c) => {
          const t = thresholdByContamination(s, c);
          const flagged = predictAt(s, t).reduce((a, b) => a + b, 0);
          // Linear interpolation between order statistics: within one row of c·n.
          expect(Math.abs(flagged - c * s.length)).toBeLessThanOrEqual(1);
        },
      ),
    );
    expect(Array.from(predictAt([1, 2, 2, 3], 2))).toEqual([0, 0, 0, 1]);
    expect(Array.from(predictAt([1, 2, 3], thresholdByContamination([1, 2, 3], 0)))).toEqual([0, 0, 0]);
  });

  it('predictAt handles infinite thresholds and rejects bad input', () => {
    expect(Array.from(predictAt([1, 2], Number.NEGATIVE_INFINITY))).toEqual([1, 1]);
    expect(Array.from(predictAt([1, 2], Number.POSITIVE_INFINITY))).toEqual([0, 0]);
    expect(() => predictAt([1, 2], Number.NaN)).toThrow(MetricError);
    expect(() => predictAt([1, Number.NaN], 0)).toThrow(/scores\[1\] is NaN/);
    expect(() => thresholdByContamination([1, 2], 1.5)).toThrow(/contamination must be in \[0, 1\]/);
  });
});

describe('bestF1Threshold', () => {
  it('hand-computed: labels [0,0,1,1], scores [0.1,0.4,0.35,0.8]', () => {
    // F1 by cutoff: 0.8 → ⅔, 0.4 → ½, 0.35 → 0.8, 0.1 → ⅔.
    const best = bestF1Threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(best).toMatchObject({ threshold: 0.1, cutoffScore: 0.35, recall: 1, optimistic: true });
    expect(best.f1).toBeCloseTo(0.8, 15);
    expect(Array.from(predictAt([0.1, 0.4, 0.35, 0.8], best.threshold))).toEqual([0, 1, 1, 1]);
  });

  it('returns -Infinity when flagging every row is best', () => {
    const best = bestF1Threshold([1, 1, 0], [0.1, 0.2, 0.3]);
    expect(best.threshold).toBe(Number.NEGATIVE_INFINITY);
    expect(best.cutoffScore).toBe(0.1);
  });

  it('prefers the highest threshold among ties', () => {
    // Cutoff 0.9: P 1, R ½ → ⅔; cutoff 0.5: P ½, R 1 → ⅔. The first (fewer alerts) wins.
    expect(bestF1Threshold([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.5]).cutoffScore).toBe(0.9);
  });

  it('reaches the maximum F1 over all cutoffs, and predictAt reproduces it exactly', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: -8, max: 8 })), {
            minLength: 1,
            maxLength: 60,
          })
          .filter((rows) => rows.some((r) => r[0] === 1)),
        (rows) => {
          const y = rows.map((r) => r[0]);
          const s = rows.map((r) => r[1]);
          const best = bestF1Threshold(y, s);
          let max = 0;
          for (const t of [...s, Number.NEGATIVE_INFINITY])
            max = Math.max(max, binaryMetrics(y, predictAt(s, t)).f1);
          expect(best.f1).toBe(max);
          expect(binaryMetrics(y, predictAt(s, best.threshold)).f1).toBe(best.f1);
        },
      ),
    );
  });

  it('throws when there are no positive labels', () => {
    expect(() => bestF1Threshold([0, 0], [0.1, 0.2])).toThrow(/no 1s/);
  });
});

describe('resolveThreshold', () => {
  const s = [0.1, 0.4, 0.35, 0.8];
  it('applies each rule', () => {
    expect(resolveThreshold({ kind: 'fixed', threshold: 0.3 }, s)).toEqual({
      threshold: 0.3,
      optimistic: false,
    });
    expect(resolveThreshold({ kind: 'contamination', contamination: 0.25 }, s)).toEqual({
      threshold: quantile(s, 0.75),
      optimistic: false,
    });
    expect(resolveThreshold({ kind: 'bestF1' }, s, [0, 0, 1, 1])).toEqual({
      threshold: 0.1,
      optimistic: true,
    });
  });

  it('rejects bestF1 without labels and a NaN fixed threshold', () => {
    expect(() => resolveThreshold({ kind: 'bestF1' }, s)).toThrow(/needs labels/);
    expect(() => resolveThreshold({ kind: 'fixed', threshold: Number.NaN }, s)).toThrow(MetricError);
  });
});
