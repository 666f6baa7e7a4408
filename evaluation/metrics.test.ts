import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetricError } from './errors.js';
import {
  averagePrecision,
  binaryMetrics,
  confusionMatrix,
  f1,
  perTypeRecall,
  precision,
  precisionRecallCurve,
  rankCounts,
  recall,
  rocAuc,
  rocCurve,
} from './metrics.js';

// ---- brute-force references (quadratic, obviously correct) -----------------------------------

/** Mann–Whitney over all (positive, negative) pairs, ties counted ½. */
function bruteAuc(labels: number[], scores: number[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) sum += 1;
      else if (scores[i] === scores[j]) sum += 0.5;
    }
  }
  return sum / pairs;
}

/** Σ (R_n − R_{n−1}) P_n over the distinct thresholds, highest first, recounting each time. */
function bruteAp(labels: number[], scores: number[]): number {
  const positives = labels.filter((l) => l === 1).length;
  const distinct = [...new Set(scores)].sort((a, b) => b - a);
  let ap = 0;
  let prev = 0;
  for (const t of distinct) {
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < labels.length; i++) {
      if (scores[i] >= t) {
        if (labels[i] === 1) tp++;
        else fp++;
      }
    }
    const r = tp / positives;
    ap += (r - prev) * (tp / (tp + fp));
    prev = r;
  }
  return ap;
}

const bothClasses = (rows: [number, number][]) =>
  rows.some((r) => r[0] === 1) && rows.some((r) => r[0] === 0);

/** Rows of (label, score) with both classes; integer scores in a narrow range give many ties. */
const labelledInts = fc
  .array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: -6, max: 6 })), { minLength: 2, maxLength: 60 })
  .filter(bothClasses);

const labelledDoubles = fc
  .array(
    fc.tuple(fc.constantFrom(0, 1), fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true })),
    { minLength: 2, maxLength: 60 },
  )
  .filter(bothClasses);

const split = (rows: [number, number][]) => ({ y: rows.map((r) => r[0]), s: rows.map((r) => r[1]) });

// ---- confusion matrix and P/R/F1 ----------------------------------------------------------------

describe('confusionMatrix / precision / recall / f1', () => {
  it('counts a hand-made case', () => {
    const cm = confusionMatrix([1, 1, 1, 0, 0, 0, 0, 1], [1, 0, 1, 1, 0, 0, 0, 0]);
    expect(cm).toEqual({ tp: 2, fp: 1, tn: 3, fn: 2 });
    expect(precision(cm)).toBeCloseTo(2 / 3, 15);
    expect(recall(cm)).toBe(0.5);
    expect(f1(cm)).toBeCloseTo(4 / 7, 15);
  });

  it('accepts Uint8Array inputs', () => {
    expect(confusionMatrix(Uint8Array.of(0, 1), Uint8Array.of(1, 1))).toEqual({ tp: 1, fp: 1, tn: 0, fn: 0 });
  });

  it('matches scikit-learn 1.2.1 on a random case (precision_score, recall_score, f1_score, accuracy_score)', () => {
    // /usr/bin/python3, scikit-learn 1.2.1: rng = default_rng(7), case 1; pred = s > np.quantile(s, 0.7)
    const y = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1];
    const s = [
      0.25, 1.25, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 1.25, 1.0, 1.0, 1.0, 0.75, 0.5, 1.25, 0.5, 0.25, 1.25,
      0.0, 1.25, 0.75, 0.0, 0.0, 0.5, 0.0,
    ];
    const pred = s.map((v) => (v > 0.9499999999999993 ? 1 : 0));
    const m = binaryMetrics(y, pred);
    // confusion_matrix(...).ravel() = [tn, fp, fn, tp]
    expect(m.confusionMatrix).toEqual({ tn: 7, fp: 5, fn: 10, tp: 3 });
    expect(m.precision).toBe(0.375);
    expect(m.recall).toBe(0.23076923076923078);
    expect(m.f1).toBe(0.2857142857142857);
    expect(m.accuracy).toBe(0.4);
    expect(m.warnings).toEqual([]);
  });

  it('sets 0/0 metrics to 0 and says so, as scikit-learn zero_division="warn"', () => {
    const none = binaryMetrics([0, 0], [0, 0]);
    expect([none.precision, none.recall, none.f1, none.accuracy]).toEqual([0, 0, 0, 1]);
    expect(none.warnings).toHaveLength(3);
    expect(none.warnings[0]).toMatch(/Precision is ill-defined/);
    const missed = binaryMetrics([1, 0], [0, 0]);
    expect([missed.precision, missed.recall, missed.f1]).toEqual([0, 0, 0]);
    expect(missed.warnings).toEqual([
      'Precision is ill-defined and being set to 0.0 due to no predicted samples.',
    ]);
  });

  it('counts always sum to n, and agree with a direct count', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(0, 1), fc.constantFrom(0, 1)), { minLength: 1, maxLength: 100 }),
        (rows) => {
          const cm = confusionMatrix(
            rows.map((r) => r[0]),
            rows.map((r) => r[1]),
          );
          expect(cm.tp + cm.fp + cm.tn + cm.fn).toBe(rows.length);
          expect(cm.tp).toBe(rows.filter(([l, p]) => l === 1 && p === 1).length);
          expect(cm.tn).toBe(rows.filter(([l, p]) => l === 0 && p === 0).length);
        },
      ),
    );
  });

  it('rejects bad input with MetricError naming the problem', () => {
    expect(() => confusionMatrix([], [])).toThrow(/labels is empty/);
    expect(() => confusionMatrix([0, 1], [0])).toThrow(/predictions has 1 entries but there are 2 rows/);
    expect(() => confusionMatrix([0, 2], [0, 1])).toThrow(/labels\[1\] is 2; labels must be 0 or 1/);
    expect(() => confusionMatrix([0, 1], [0, 0.5])).toThrow(MetricError);
  });
});

describe('perTypeRecall', () => {
  it('counts per type and skips normal rows', () => {
    const r = perTypeRecall(['spike', null, 'drift', 'spike', null, 'spike'], [1, 1, 0, 0, 0, 1]);
    expect(r).toEqual({
      drift: { total: 1, detected: 0, recall: 0 },
      spike: { total: 3, detected: 2, recall: 2 / 3 },
    });
    expect(Object.keys(r)).toEqual(['drift', 'spike']);
  });

  it('keeps a type named __proto__ as data', () => {
    const r = perTypeRecall(['__proto__'], [1]);
    expect(Object.keys(r)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(r, '__proto__')?.value).toEqual({
      total: 1,
      detected: 1,
      recall: 1,
    });
  });

  it('rejects mismatched lengths and bad predictions', () => {
    expect(() => perTypeRecall(['a', null], [1])).toThrow(/predictions has 1 entries but types has 2/);
    expect(() => perTypeRecall(['a'], [3])).toThrow(/predictions\[0\] is 3/);
    expect(() => perTypeRecall([], [])).toThrow(MetricError);
  });
});

// ---- ROC ----------------------------------------------------------------------------------------

describe('rankCounts', () => {
  it('groups ties across classes, highest score first', () => {
    const c = rankCounts([0, 1, 1, 0, 1], [0.5, 0.5, 0.9, 0.1, 0.1]);
    expect(Array.from(c.thresholds)).toEqual([0.9, 0.5, 0.1]);
    expect(Array.from(c.tps)).toEqual([1, 2, 3]);
    expect(Array.from(c.fps)).toEqual([0, 1, 2]);
    expect([c.positives, c.negatives]).toEqual([3, 2]);
  });

  it('treats -0 and +0 as one score', () => {
    const c = rankCounts([0, 1], [-0, 0]);
    expect(c.thresholds).toHaveLength(1);
    expect(rocAuc([0, 1], [-0, 0])).toBe(0.5);
  });
});

describe('rocCurve', () => {
  it('hand-computed: labels [0,0,1,1], scores [0.1,0.4,0.35,0.8]', () => {
    // Same as scikit-learn 1.2.1 roc_curve(drop_intermediate=False) except thresholds[0], which
    // 1.2 sets to max + 1 = 1.8 and 1.3+ to inf.
    const r = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(Array.from(r.fpr)).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(Array.from(r.tpr)).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(Array.from(r.thresholds)).toEqual([Number.POSITIVE_INFINITY, 0.8, 0.4, 0.35, 0.1]);
  });

  it('matches scikit-learn 1.2.1 roc_curve(drop_intermediate=False) with heavy ties', () => {
    // /usr/bin/python3, scikit-learn 1.2.1, rng = default_rng(7), case 1.
    const y = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1];
    const s = [
      0.25, 1.25, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 1.25, 1.0, 1.0, 1.0, 0.75, 0.5, 1.25, 0.5, 0.25, 1.25,
      0.0, 1.25, 0.75, 0.0, 0.0, 0.5, 0.0,
    ];
    const r = rocCurve(y, s);
    const fpr = [0.0, 0.25, 0.4166666666666667, 0.5, 0.6666666666666666, 0.75, 1.0];
    const tpr = [
      0.0, 0.15384615384615385, 0.23076923076923078, 0.6153846153846154, 0.8461538461538461,
      0.9230769230769231, 1.0,
    ];
    expect(Array.from(r.fpr)).toEqual(fpr);
    expect(Array.from(r.tpr)).toEqual(tpr);
    expect(Array.from(r.thresholds).slice(1)).toEqual([1.25, 1.0, 0.75, 0.5, 0.25, 0.0]);
  });

  it('throws on one class (scikit-learn returns NaN rates instead)', () => {
    expect(() => rocCurve([1, 1, 1], [0.1, 0.2, 0.3])).toThrow(MetricError);
  });
});

describe('rocAuc', () => {
  it('hand-computed cases', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(rocAuc([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    // One tie between a positive and a negative: pairs (0.9>0.1, 0.9>0.5, 0.5=0.5, 0.5>0.1) → 3.5/4
    expect(rocAuc([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1])).toBe(0.875);
    expect(rocAuc(Uint8Array.of(0, 1), Float64Array.of(2, 1))).toBe(0);
  });

  it('matches scikit-learn 1.2.1 roc_auc_score', () => {
    // /usr/bin/python3, scikit-learn 1.2.1, rng = default_rng(7); cases 1–3 of /tmp/sk2.py.
    const y1 = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1];
    const s1 = [
      0.25, 1.25, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 1.25, 1.0, 1.0, 1.0, 0.75, 0.5, 1.25, 0.5, 0.25, 1.25,
      0.0, 1.25, 0.75, 0.0, 0.0, 0.5, 0.0,
    ];
    expect(rocAuc(y1, s1)).toBeCloseTo(0.5224358974358975, 14);
    const y2 = [
      0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0,
      1, 1, 1, 1, 1,
    ];
    const s2 = [
      0.25, 7.25, 4.5, 0.75, 2.25, 5.25, 7.25, 5.0, 6.0, 8.5, 6.75, 3.5, 6.25, 5.75, 1.0, 0.5, 6.5, 3.75,
      5.75, 3.0, 2.25, 1.5, 3.75, 8.0, 4.0, 3.75, 5.75, 9.75, 3.75, 5.75, 4.25, 6.0, 4.25, 6.25, 5.25, 6.75,
      9.5, 1.5, 5.5, 4.25,
    ];
    expect(rocAuc(y2, s2)).toBeCloseTo(0.5626598465473146, 14);
    const y3 = [0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1];
    const s3 = [
      0.6469034225734218, -1.9924197841744944, -0.46316986495236695, -0.09728692567008902, 1.2570149772868198,
      0.6894039005707556, -0.32721342022219785, -0.3685758940999591, -0.25019540051792494, 1.5235294004561601,
      -0.4280249425728672, -0.3036803883647294,
    ];
    expect(rocAuc(y3, s3)).toBeCloseTo(0.5625, 14);
  });

  it('equals the brute-force pairwise Mann–Whitney statistic (ties ½)', () => {
    fc.assert(
      fc.property(labelledInts, (rows) => {
        const { y, s } = split(rows);
        expect(rocAuc(y, s)).toBeCloseTo(bruteAuc(y, s), 12);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(labelledDoubles, (rows) => {
        const { y, s } = split(rows);
        expect(rocAuc(y, s)).toBeCloseTo(bruteAuc(y, s), 12);
      }),
      { numRuns: 200 },
    );
  });

  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.tuple(fc.constantFrom(0, 1), fc.double({ min: 0, max: 0.99, noNaN: true })), {
            minLength: 2,
            maxLength: 50,
          })
          .filter(bothClasses),
        (rows) => {
          const y = rows.map((r) => r[0]);
          expect(
            rocAuc(
              y,
              rows.map(([l, u]) => l + u),
            ),
          ).toBe(1);
          expect(
            rocAuc(
              y,
              rows.map(([l, u]) => -l - u),
            ),
          ).toBe(0);
        },
      ),
    );
  });

  it('is invariant to permuting the rows', () => {
    const withPerm = labelledInts.chain((rows) =>
      fc.tuple(
        fc.constant(rows),
        fc.shuffledSubarray(
          rows.map((_, i) => i),
          { minLength: rows.length, maxLength: rows.length },
        ),
      ),
    );
    fc.assert(
      fc.property(withPerm, ([rows, perm]) => {
        const { y, s } = split(rows);
        const py = perm.map((i) => y[i]);
        const ps = perm.map((i) => s[i]);
        expect(rocAuc(py, ps)).toBe(rocAuc(y, s));
        expect(averagePrecision(py, ps)).toBe(averagePrecision(y, s));
      }),
    );
  });

  it('is invariant to strictly increasing transforms of the scores', () => {
    // Integer scores keep x³ + 7x and 2x + 1 exact, so no two scores collide after the transform.
    const transforms = [
      (x: number) => x ** 3 + 7 * x,
      (x: number) => 2 * x + 1,
      (x: number) => Math.exp(x / 4),
    ];
    fc.assert(
      fc.property(labelledInts, fc.constantFrom(...transforms), (rows, g) => {
        const { y, s } = split(rows);
        const t = s.map(g);
        expect(rocAuc(y, t)).toBe(rocAuc(y, s));
        expect(averagePrecision(y, t)).toBe(averagePrecision(y, s));
      }),
    );
  });

  it('equals the trapezoidal area under rocCurve', () => {
    fc.assert(
      fc.property(labelledInts, (rows) => {
        const { y, s } = split(rows);
        const { fpr, tpr } = rocCurve(y, s);
        let area = 0;
        for (let k = 1; k < fpr.length; k++) area += ((fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1])) / 2;
        expect(rocAuc(y, s)).toBeCloseTo(area, 12);
      }),
    );
  });

  it('throws scikit-learn’s one-class error', () => {
    expect(() => rocAuc([1, 1], [0.1, 0.2])).toThrow(MetricError);
    expect(() => rocAuc([0, 0], [0.1, 0.2])).toThrow(
      /Only one class present in labels.*ROC AUC is not defined/,
    );
  });

  it('rejects mismatched, empty, non-0/1 and NaN input by name', () => {
    expect(() => rocAuc([0, 1], [0.1])).toThrow(/scores has 1 entries but labels has 2/);
    expect(() => rocAuc([], [])).toThrow(/labels is empty/);
    expect(() => rocAuc([0, -1], [0.1, 0.2])).toThrow(/labels\[1\] is -1/);
    expect(() => rocAuc([0, 1], [0.1, Number.NaN])).toThrow(/scores\[1\] is NaN/);
    expect(() => rocAuc([0, 1], [Number.POSITIVE_INFINITY, 0])).toThrow(/scores\[0\] is Infinity/);
  });

  it('handles 200k rows quickly (one native sort per class)', () => {
    const n = 200_000;
    const y = new Uint8Array(n);
    const s = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 7 === 0 ? 1 : 0;
      s[i] = ((i * 2654435761) % 1000) / 1000 + y[i] * 0.5;
    }
    const t0 = performance.now();
    const auc = rocAuc(y, s);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(auc).toBeGreaterThan(0.5);
  });
});

// ---- precision–recall ---------------------------------------------------------------------------

describe('precisionRecallCurve', () => {
  it('hand-computed, in scikit-learn’s order (last point precision 1, recall 0)', () => {
    // scikit-learn 1.2.1: ([0.5, 0.667, 0.5, 1, 1], [1, 1, 0.5, 0.5, 0], [0.1, 0.35, 0.4, 0.8])
    const c = precisionRecallCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(Array.from(c.precision)).toEqual([0.5, 2 / 3, 0.5, 1, 1]);
    expect(Array.from(c.recall)).toEqual([1, 1, 0.5, 0.5, 0]);
    expect(Array.from(c.thresholds)).toEqual([0.1, 0.35, 0.4, 0.8]);
  });

  it('matches scikit-learn 1.2.1 precision_recall_curve with ties', () => {
    // /usr/bin/python3, scikit-learn 1.2.1, rng = default_rng(7), case 1.
    const y = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1];
    const s = [
      0.25, 1.25, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 1.25, 1.0, 1.0, 1.0, 0.75, 0.5, 1.25, 0.5, 0.25, 1.25,
      0.0, 1.25, 0.75, 0.0, 0.0, 0.5, 0.0,
    ];
    const c = precisionRecallCurve(y, s);
    expect(Array.from(c.precision)).toEqual([
      0.52, 0.5714285714285714, 0.5789473684210527, 0.5714285714285714, 0.375, 0.4, 1.0,
    ]);
    expect(Array.from(c.recall)).toEqual([
      1.0, 0.9230769230769231, 0.8461538461538461, 0.6153846153846154, 0.23076923076923078,
      0.15384615384615385, 0.0,
    ]);
    expect(Array.from(c.thresholds)).toEqual([0.0, 0.25, 0.5, 0.75, 1.0, 1.25]);
  });

  it('with no positives sets recall to 1 and warns, as scikit-learn 1.2.1', () => {
    const warnings: string[] = [];
    const c = precisionRecallCurve([0, 0, 0], [0.1, 0.2, 0.3], { onWarning: (w) => warnings.push(w) });
    // scikit-learn 1.2.1: ([0, 0, 0, 1], [1, 1, 1, 0], [0.1, 0.2, 0.3])
    expect(Array.from(c.precision)).toEqual([0, 0, 0, 1]);
    expect(Array.from(c.recall)).toEqual([1, 1, 1, 0]);
    expect(warnings).toEqual(['No positive class found in y_true, recall is set to one for all thresholds.']);
  });
});

describe('averagePrecision', () => {
  it('hand-computed cases', () => {
    // Highest first: 0.8 (P 1, R ½), 0.4 (P ½, R ½), 0.35 (P ⅔, R 1), 0.1 → ½·1 + ½·⅔ = 0.8333…
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(5 / 6, 15);
    expect(averagePrecision([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    expect(averagePrecision([1, 1, 1], [0.1, 0.2, 0.3])).toBe(1);
  });

  it('matches scikit-learn 1.2.1 average_precision_score', () => {
    // /usr/bin/python3, scikit-learn 1.2.1; the first from /tmp/sk1.py, the rest rng = default_rng(7).
    expect(averagePrecision([0, 1, 1, 0, 1, 0, 0, 1], [1, 2, 2, 3, 3, 3, 4, 4])).toBeCloseTo(
      0.5107142857142857,
      14,
    );
    const y1 = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1];
    const s1 = [
      0.25, 1.25, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 1.25, 1.0, 1.0, 1.0, 0.75, 0.5, 1.25, 0.5, 0.25, 1.25,
      0.0, 1.25, 0.75, 0.0, 0.0, 0.5, 0.0,
    ];
    expect(averagePrecision(y1, s1)).toBeCloseTo(0.5277241179872758, 14);
    const y2 = [
      0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0,
      1, 1, 1, 1, 1,
    ];
    const s2 = [
      0.25, 7.25, 4.5, 0.75, 2.25, 5.25, 7.25, 5.0, 6.0, 8.5, 6.75, 3.5, 6.25, 5.75, 1.0, 0.5, 6.5, 3.75,
      5.75, 3.0, 2.25, 1.5, 3.75, 8.0, 4.0, 3.75, 5.75, 9.75, 3.75, 5.75, 4.25, 6.0, 4.25, 6.25, 5.25, 6.75,
      9.5, 1.5, 5.5, 4.25,
    ];
    expect(averagePrecision(y2, s2)).toBeCloseTo(0.6765879956832642, 14);
    const y3 = [0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1];
    const s3 = [
      0.6469034225734218, -1.9924197841744944, -0.46316986495236695, -0.09728692567008902, 1.2570149772868198,
      0.6894039005707556, -0.32721342022219785, -0.3685758940999591, -0.25019540051792494, 1.5235294004561601,
      -0.4280249425728672, -0.3036803883647294,
    ];
    expect(averagePrecision(y3, s3)).toBeCloseTo(0.42658730158730157, 14);
  });

  it('returns 0 with scikit-learn’s warning when there are no positives (scikit-learn 1.2.1 returns -0.0)', () => {
    const warnings: string[] = [];
    const ap = averagePrecision([0, 0, 0], [0.1, 0.2, 0.3], { onWarning: (w) => warnings.push(w) });
    expect(Object.is(ap, 0)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(averagePrecision([0, 0], [0.1, 0.2])).toBe(0); // silent without a callback
  });

  it('equals the brute-force computation', () => {
    fc.assert(
      fc.property(labelledInts, (rows) => {
        const { y, s } = split(rows);
        expect(averagePrecision(y, s)).toBeCloseTo(bruteAp(y, s), 12);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(labelledDoubles, (rows) => {
        const { y, s } = split(rows);
        expect(averagePrecision(y, s)).toBeCloseTo(bruteAp(y, s), 12);
      }),
      { numRuns: 200 },
    );
  });

  it('equals −Σ diff(recall)·precision[:-1] over precisionRecallCurve, as scikit-learn computes it', () => {
    fc.assert(
      fc.property(labelledInts, (rows) => {
        const { y, s } = split(rows);
        const { precision: p, recall: r } = precisionRecallCurve(y, s);
        let ap = 0;
        for (let k = 0; k + 1 < r.length; k++) ap -= (r[k + 1] - r[k]) * p[k];
        expect(averagePrecision(y, s)).toBeCloseTo(ap, 12);
      }),
    );
  });

  it('is 1 for a perfect ranking, and lies in (0, 1]', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.tuple(fc.constantFrom(0, 1), fc.double({ min: 0, max: 0.99, noNaN: true })), {
            minLength: 2,
            maxLength: 50,
          })
          .filter(bothClasses),
        (rows) => {
          const y = rows.map((r) => r[0]);
          expect(
            averagePrecision(
              y,
              rows.map(([l, u]) => l + u),
            ),
          ).toBe(1);
          const ap = averagePrecision(
            y,
            rows.map(([, u]) => u),
          );
          expect(ap).toBeGreaterThan(0);
          expect(ap).toBeLessThanOrEqual(1 + 1e-12);
        },
      ),
    );
  });
});
