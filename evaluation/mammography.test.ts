import { beforeAll, describe, expect, it } from 'vitest';
import type { TabularDataset } from '../datasets/loaders.js';
import { loadTabularCsv } from '../datasets/loaders.js';
import { averagePrecision, binaryMetrics, rocAuc } from './metrics.js';
import { predictAt, quantile, thresholdByContamination } from './thresholds.js';

// End to end on the real ODDS mammography set: loader + metrics against scikit-learn 1.2.1 /
// numpy 1.24.2 values computed with /usr/bin/python3 (np.loadtxt of the same file).
const MAMMOGRAPHY = new URL('../../shared/datasets/odds/mammography.csv', import.meta.url);

describe('metrics on mammography.csv match scikit-learn 1.2.1', () => {
  let X: TabularDataset['X'];
  let y: Uint8Array;
  beforeAll(async () => {
    ({ X, y } = await loadTabularCsv(MAMMOGRAPHY));
  });
  const column = (j: number) => Float64Array.from({ length: X.rows }, (_, i) => X.data[i * X.cols + j]);

  it('ROC AUC and AP of each raw feature used as a score', () => {
    // [roc_auc_score, average_precision_score, np.quantile(X[:, j], 0.98)] per column
    const reference: [number, number, number][] = [
      [0.7544051366558919, 0.06184236119334305, 2.1419125640000063],
      [0.6312063817350826, 0.028303801636824985, 4.1613162],
      [0.4325063908900767, 0.01959361170671738, 2.2935883],
      [0.8738471749801054, 0.2217752826644871, 2.012841796000002],
      [0.8435661518743091, 0.4501379807547479, 2.844966288000011],
      [0.8389164712427553, 0.13376533526002085, 1.5193854],
    ];
    reference.forEach(([auc, ap, q98], j) => {
      const s = column(j);
      expect(rocAuc(y, s)).toBeCloseTo(auc, 13);
      expect(averagePrecision(y, s)).toBeCloseTo(ap, 13);
      expect(quantile(s, 0.98)).toBe(q98);
    });
  });

  it('row sums as a score, thresholded at the known contamination', () => {
    const s = Float64Array.from({ length: X.rows }, (_, i) => {
      let t = 0;
      for (let j = 0; j < X.cols; j++) t += X.data[i * X.cols + j];
      return t;
    });
    expect(rocAuc(y, s)).toBeCloseTo(0.8778480834372073, 13);
    expect(averagePrecision(y, s)).toBeCloseTo(0.2716679100901442, 13);
    const t = thresholdByContamination(s, 0.0232);
    expect(t).toBeCloseTo(7.222722390368001, 10);
    // confusion_matrix(...).ravel() = [10741, 182, 182, 78]; precision = recall = f1 = 0.3
    const m = binaryMetrics(y, predictAt(s, t));
    expect(m.confusionMatrix).toEqual({ tn: 10741, fp: 182, fn: 182, tp: 78 });
    expect(m.f1).toBeCloseTo(0.3, 15);
  });
});
