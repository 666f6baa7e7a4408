import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pickDetectors, SERIES_DETECTORS, scoreSeries, TABULAR_DETECTORS } from './detectors.js';
import { EvaluationError } from './errors.js';
import {
  evaluateScores,
  evaluateSeries,
  evaluateTabular,
  oneClassWarning,
  parseThresholdSpec,
} from './evaluate.js';

describe('parseThresholdSpec', () => {
  it('reads every rule and rejects the rest with the accepted forms', () => {
    expect(parseThresholdSpec('auto')).toEqual({ kind: 'auto' });
    expect(parseThresholdSpec('best-f1')).toEqual({ kind: 'bestF1' });
    expect(parseThresholdSpec('contamination:0.05')).toEqual({ kind: 'contamination', contamination: 0.05 });
    expect(parseThresholdSpec('0.7')).toEqual({ kind: 'fixed', threshold: 0.7 });
    expect(() => parseThresholdSpec('contamination:2')).toThrow(/contamination must be in \(0, 1\)/);
    expect(() => parseThresholdSpec('high')).toThrow(/auto, best-f1, contamination:R or a number/);
  });
});

describe('evaluateScores', () => {
  const labels = Uint8Array.from([0, 0, 1, 1]);
  const scores = Float64Array.from([0.1, 0.4, 0.35, 0.8]);

  it('applies the detector’s own threshold under auto and computes the metrics', () => {
    const r = evaluateScores({
      detector: 'd',
      dataset: 'x',
      scores,
      labels,
      ownThreshold: 0.3,
      spec: { kind: 'auto' },
      seconds: 0,
    });
    expect(r.threshold).toBe(0.3);
    expect(r.confusionMatrix).toEqual({ tp: 2, fp: 1, tn: 1, fn: 0 });
    expect(r.rocAuc).toBe(0.75);
    expect(r.averagePrecision).toBeCloseTo(0.8333333333, 9);
    expect(r.optimistic).toBe(false);
    expect(r.curves?.roc.x[0]).toBe(0);
  });

  it('marks a best-F1 threshold as optimistic', () => {
    const r = evaluateScores({
      detector: 'd',
      dataset: 'x',
      scores,
      labels,
      ownThreshold: 0.3,
      spec: { kind: 'bestF1' },
      seconds: 0,
    });
    expect(r.optimistic).toBe(true);
    expect(r.thresholdRule).toBe('best-f1');
    expect(r.f1).toBeGreaterThanOrEqual(0.8);
  });

  it('reports NaN AUC and AP, not a crash, when the labels hold one class', () => {
    const r = evaluateScores({
      detector: 'd',
      dataset: 'x',
      scores,
      labels: new Uint8Array(4),
      ownThreshold: 0.3,
      spec: { kind: 'auto' },
      seconds: 0,
    });
    expect(r.rocAuc).toBeNaN();
    expect(r.averagePrecision).toBeNaN();
    expect(r.confusionMatrix.fp).toBe(3);
  });

  it('scores per-type recall and stream windows when given', () => {
    const r = evaluateScores({
      detector: 'd',
      dataset: 'x',
      scores,
      labels,
      ownThreshold: 0.5,
      spec: { kind: 'auto' },
      seconds: 0,
      types: [null, null, 'shrinkage', 'sales_spike'],
      times: Float64Array.from([0, 10, 20, 30]),
      windows: [
        { start: 15, end: 25, type: 'shrinkage' },
        { start: 28, end: 40, type: 'sales_spike' },
      ],
    });
    expect(r.perType).toEqual({
      sales_spike: { total: 1, detected: 1, recall: 1 },
      shrinkage: { total: 1, detected: 0, recall: 0 },
    });
    expect(r.windows?.found).toBe(1);
    expect(r.windows?.delays).toEqual([2]);
  });
});

describe('detectors for evaluation', () => {
  it('rank a planted outlier first with every tabular detector', () => {
    const rows: number[][] = [];
    for (let i = 0; i < 200; i++) rows.push([Math.sin(i) * 2, Math.cos(i * 1.3) * 2, (i % 7) - 3]);
    rows.push([40, -40, 30]);
    const data = Float64Array.from(rows.flat());
    const y = new Uint8Array(201);
    y[200] = 1;
    const results = evaluateTabular('planted', { data, rows: 201, cols: 3 }, y, TABULAR_DETECTORS, {
      seed: 1,
      spec: { kind: 'auto' },
    });
    for (const r of results) {
      expect(r.rocAuc, r.detector).toBe(1);
      expect(r.confusionMatrix.tp, r.detector).toBe(1);
    }
  });

  it('score a series in [0, 1], each point before it is learned (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (xs) => {
          for (const d of SERIES_DETECTORS) {
            const s = scoreSeries(d, Float64Array.from(xs));
            for (const v of s) expect(v >= 0 && v <= 1).toBe(true);
            expect(s[0]).toBe(0); // nothing learned yet: warm-up scores 0
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('finds a spike in a seasonal series, and window metrics come out of evaluateSeries', () => {
    const n = 400;
    const times = Float64Array.from({ length: n }, (_, i) => i * 3_600_000);
    const values = Float64Array.from(
      { length: n },
      (_, i) => 20 + 5 * Math.sin((2 * Math.PI * i) / 24) + (i % 3),
    );
    values[300] = 200;
    const labels = new Uint8Array(n);
    labels[300] = 1;
    const [r] = evaluateSeries('s', times, values, labels, pickDetectors(SERIES_DETECTORS, 'robust-zscore'), {
      spec: { kind: 'auto' },
      windows: [{ start: times[299], end: times[302], type: 'sales_spike' }],
    });
    expect(r.rocAuc).toBe(1);
    expect(r.windows?.windowRecall).toBe(1);
    expect(r.windows?.delays).toEqual([3_600_000]);
  });

  it('says DBSCAN needs k = minPts rows and which option lowers k, instead of the k-distance message', () => {
    const X = { data: Float64Array.from([1, 5]), rows: 2, cols: 1 };
    const y = Uint8Array.from([0, 1]);
    const run = (settings?: { minPts: number }) =>
      evaluateTabular('two.csv', X, y, pickDetectors(TABULAR_DETECTORS, 'dbscan'), {
        seed: 0,
        spec: { kind: 'auto' },
        settings,
      });
    expect(run).toThrow(EvaluationError);
    expect(run).toThrow(
      /^DBSCAN needs at least k = minPts = 4 rows \(the default max\(4, 2 × 1 feature column\);/,
    );
    expect(run).toThrow(/but the data has 2: lower k with --min-pts N/);
    expect(() => run({ minPts: 3 })).toThrow(/minPts = 3 rows \(set by --min-pts;/);
    // With k lowered to the row count DBSCAN runs.
    const [r] = run({ minPts: 2 });
    expect(r.detector).toBe('dbscan');
    expect(r.n).toBe(2);
  });

  it('warns that ROC-AUC and AP are undefined when the labels hold one class', () => {
    expect(oneClassWarning(3, 10)).toBeNull();
    expect(oneClassWarning(0, 10)).toMatch(
      /^no label is 1 \(anomaly\): ROC-AUC and PR-AUC \(AP\) .* undefined/,
    );
    expect(oneClassWarning(10, 10)).toMatch(/^every label is 1/);
    const r = evaluateScores({
      detector: 'd',
      dataset: 'normal.csv',
      scores: Float64Array.from([0.1, 0.2, 0.9]),
      labels: new Uint8Array(3),
      ownThreshold: 0.5,
      spec: { kind: 'auto' },
      seconds: 0,
    });
    expect(r.rocAuc).toBeNaN();
    expect(r.warnings).toEqual([oneClassWarning(0, 3)]);
  });

  it('names the known detectors when one is unknown', () => {
    expect(() => pickDetectors(TABULAR_DETECTORS, 'iforest,lof')).toThrow(EvaluationError);
    expect(() => pickDetectors(TABULAR_DETECTORS, 'lof')).toThrow(/known: iforest, dbscan, zscore/);
    expect(() => pickDetectors(SERIES_DETECTORS, ' , ')).toThrow(/at least one detector/);
  });
});
