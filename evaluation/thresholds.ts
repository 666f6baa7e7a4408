/**
 * Turning anomaly scores into 0/1 predictions. Every threshold here is used as
 * `score > threshold` ⇒ anomaly (see {@link predictAt}).
 */
import { MetricError } from './errors.js';
import { type BinaryLabels, checkScores, rankCounts, type Scores } from './metrics.js';

/**
 * 0/1 predictions: 1 where `score > threshold`. A threshold of `-Infinity` flags every row,
 * `+Infinity` none.
 *
 * @throws MetricError on empty input, non-finite scores or a NaN threshold.
 *
 * @example
 * ```ts
 * predictAt([0.1, 0.5, 0.9], 0.5); // Uint8Array [0, 0, 1]
 * ```
 */
export function predictAt(scores: Scores, threshold: number): Uint8Array {
  checkScores(scores);
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
    throw new MetricError(`threshold must be a number, got ${String(threshold)}`);
  }
  const out = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = scores[i] > threshold ? 1 : 0;
  return out;
}

// numpy's _lerp: the t >= 0.5 branch interpolates from the upper end, which keeps the result
// monotone in t and makes our quantiles bit-identical to numpy's.
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * The `q` quantile of `values` with numpy's default `method='linear'` (Hyndman & Fan type 7),
 * bit-identical to `np.quantile(values, q)`. O(n log n): sorts a copy.
 *
 * @throws MetricError on empty input, non-finite values or `q` outside [0, 1].
 *
 * @example
 * ```ts
 * quantile([1, 2, 3, 4, 10], 0.9); // 7.6000000000000005, as numpy
 * ```
 */
export function quantile(values: Scores, q: number): number {
  checkScores(values, 'values');
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
    throw new MetricError(`quantile q must be in [0, 1], got ${String(q)}`);
  }
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const virtual = (n - 1) * q;
  const lo = Math.floor(virtual);
  const hi = Math.min(lo + 1, n - 1);
  return lerp(sorted[lo], sorted[hi], virtual - lo);
}

/**
 * The threshold that flags about a fraction `contamination` of rows: the (1 − contamination)
 * quantile of the scores with numpy's linear interpolation (what scikit-learn's `IsolationForest`
 * does with `contamination` set, mirrored for higher-is-anomalous scores). Rows with
 * `score > threshold` are predicted anomalous, so ties at the threshold are not flagged.
 *
 * @param contamination the expected fraction of anomalies, in [0, 1]; 0 flags nothing.
 * @throws MetricError on bad scores or a contamination outside [0, 1].
 *
 * @example
 * ```ts
 * const t = thresholdByContamination(scores, 0.02);
 * const predicted = predictAt(scores, t); // about 2% ones
 * ```
 */
export function thresholdByContamination(scores: Scores, contamination: number): number {
  if (typeof contamination !== 'number' || !(contamination >= 0 && contamination <= 1)) {
    throw new MetricError(`contamination must be in [0, 1], got ${String(contamination)}`);
  }
  return quantile(scores, 1 - contamination);
}

/**
 * The result of {@link bestF1Threshold}.
 *
 * @example
 * ```ts
 * const { threshold, f1 }: BestF1 = bestF1Threshold(labels, scores);
 * ```
 */
export interface BestF1 {
  /** Use with {@link predictAt}: `score > threshold`. The next lower distinct score, or `-Infinity`. */
  readonly threshold: number;
  /** The lowest score flagged at the best threshold (`score >= cutoffScore` flags the same rows). */
  readonly cutoffScore: number;
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
  /** Always true: the threshold was chosen on the very labels it is scored on. */
  readonly optimistic: true;
}

/**
 * The threshold with the highest F1 over all distinct scores (ties: the highest threshold, i.e. the
 * fewest alerts). It is chosen on the labels it is then scored on, so the F1 is an optimistic upper
 * bound, not an estimate of deployed performance: report it as such (hence `optimistic: true`).
 *
 * The returned `threshold` is the next lower distinct score, so `predictAt(scores, threshold)`
 * (strict `>`) flags exactly the rows with `score >= cutoffScore`; it is `-Infinity` when flagging
 * every row is best.
 *
 * @throws MetricError on bad input, or when there are no positive labels (F1 is 0 everywhere).
 *
 * @example
 * ```ts
 * const best = bestF1Threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // { threshold: 0.1, cutoffScore: 0.35, f1: 0.8, precision: 0.667, recall: 1, optimistic: true }
 * ```
 */
export function bestF1Threshold(labels: BinaryLabels, scores: Scores): BestF1 {
  const c = rankCounts(labels, scores);
  if (c.positives === 0) {
    throw new MetricError('labels has no 1s: F1 is 0 at every threshold, so there is no best one');
  }
  let best = -1;
  let bestF1 = -1;
  let bestP = 0;
  let bestR = 0;
  for (let k = 0; k < c.thresholds.length; k++) {
    const tp = c.tps[k];
    const p = tp / (tp + c.fps[k]);
    const r = tp / c.positives;
    // Same formula as f1() so the value matches scikit-learn's f1_score at this threshold.
    const f = p + r === 0 ? 0 : (2 * p * r) / (p + r);
    if (f > bestF1) {
      bestF1 = f;
      best = k;
      bestP = p;
      bestR = r;
    }
  }
  const last = c.thresholds.length - 1;
  return {
    threshold: best === last ? Number.NEGATIVE_INFINITY : c.thresholds[best + 1],
    cutoffScore: c.thresholds[best],
    f1: bestF1,
    precision: bestP,
    recall: bestR,
    optimistic: true,
  };
}

/**
 * How to pick a threshold: see {@link resolveThreshold}.
 *
 * @example
 * ```ts
 * const rule: ThresholdRule = { kind: 'contamination', contamination: 0.02 };
 * ```
 */
export type ThresholdRule =
  | { readonly kind: 'fixed'; readonly threshold: number }
  | { readonly kind: 'contamination'; readonly contamination: number }
  | { readonly kind: 'bestF1' };

/**
 * A threshold and whether it was tuned on the evaluation labels.
 *
 * @example
 * ```ts
 * const { threshold, optimistic }: ResolvedThreshold = resolveThreshold({ kind: 'bestF1' }, scores, labels);
 * ```
 */
export interface ResolvedThreshold {
  readonly threshold: number;
  /** True when the labels being scored were used to choose the threshold (`bestF1`). */
  readonly optimistic: boolean;
}

/**
 * Applies a {@link ThresholdRule}: `fixed` uses the given value, `contamination` calls
 * {@link thresholdByContamination}, `bestF1` calls {@link bestF1Threshold} (needs `labels`, and is
 * flagged `optimistic`).
 *
 * @throws MetricError on bad input, a non-numeric fixed threshold, or `bestF1` without labels.
 *
 * @example
 * ```ts
 * const { threshold } = resolveThreshold({ kind: 'contamination', contamination: 0.05 }, scores);
 * const predictions = predictAt(scores, threshold);
 * ```
 */
export function resolveThreshold(
  rule: ThresholdRule,
  scores: Scores,
  labels?: BinaryLabels,
): ResolvedThreshold {
  switch (rule.kind) {
    case 'fixed':
      if (typeof rule.threshold !== 'number' || Number.isNaN(rule.threshold)) {
        throw new MetricError(`fixed threshold must be a number, got ${String(rule.threshold)}`);
      }
      return { threshold: rule.threshold, optimistic: false };
    case 'contamination':
      return { threshold: thresholdByContamination(scores, rule.contamination), optimistic: false };
    case 'bestF1':
      if (labels === undefined) throw new MetricError('the bestF1 threshold rule needs labels');
      return { threshold: bestF1Threshold(labels, scores).threshold, optimistic: true };
    default: {
      const unknown: never = rule;
      throw new MetricError(`unknown threshold rule ${JSON.stringify(unknown)}`);
    }
  }
}
