/**
 * Binary-classification and ranking metrics with scikit-learn's definitions (checked against
 * scikit-learn 1.2.1). Convention throughout: label 1 = anomaly = the positive class, and a higher
 * score means more anomalous.
 */
import { MetricError } from './errors.js';

/**
 * 0/1 labels (1 = anomaly), one per row.
 *
 * @example
 * ```ts
 * const y: BinaryLabels = Uint8Array.of(0, 0, 1);
 * ```
 */
export type BinaryLabels = Uint8Array | ArrayLike<number>;

/**
 * Anomaly scores, one per row: higher = more anomalous.
 *
 * @example
 * ```ts
 * const s: Scores = Float64Array.of(0.1, 0.2, 0.9);
 * ```
 */
export type Scores = Float64Array | ArrayLike<number>;

/**
 * Options of the metrics that scikit-learn answers with a warning rather than an error.
 *
 * @example
 * ```ts
 * averagePrecision(y, s, { onWarning: (m) => console.warn(m) });
 * ```
 */
export interface MetricOptions {
  /**
   * Called with scikit-learn's warning text when the metric is ill-defined for the data and a
   * conventional value is returned instead (scikit-learn would emit a `UserWarning`). Default: silent.
   */
  readonly onWarning?: (message: string) => void;
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'string') &&
    typeof (value as ArrayLike<unknown>).length === 'number'
  );
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Checks that `labels` is a non-empty array of 0/1 values, optionally of a given length.
 *
 * @param what how the error message names the argument.
 * @throws MetricError naming the first bad entry.
 *
 * @example
 * ```ts
 * checkLabels([0, 1, 1]); // ok
 * checkLabels([0, 2]);    // MetricError: labels[1] is 2; labels must be 0 or 1
 * ```
 */
export function checkLabels(labels: BinaryLabels, what = 'labels', length?: number): void {
  if (!isArrayLike(labels)) throw new MetricError(`${what} must be an array of 0/1 values`);
  if (labels.length === 0) throw new MetricError(`${what} is empty: metrics need at least one row`);
  if (length !== undefined && labels.length !== length) {
    throw new MetricError(`${what} has ${labels.length} entries but there are ${length} rows`);
  }
  // A Uint8Array can only hold integers, but 2…255 are still possible.
  for (let i = 0; i < labels.length; i++) {
    const v: unknown = labels[i];
    if (v !== 0 && v !== 1) throw new MetricError(`${what}[${i}] is ${show(v)}; ${what} must be 0 or 1`);
  }
}

/**
 * Checks that `scores` is a non-empty array of finite numbers, optionally of a given length.
 * Infinite scores are refused as scikit-learn refuses them.
 *
 * @throws MetricError naming the first bad entry.
 *
 * @example
 * ```ts
 * checkScores([0.1, 0.7]);      // ok
 * checkScores([0.1, Number.NaN]); // MetricError: scores[1] is NaN; …
 * ```
 */
export function checkScores(scores: Scores, what = 'scores', length?: number): void {
  if (!isArrayLike(scores)) throw new MetricError(`${what} must be an array of numbers`);
  if (scores.length === 0) throw new MetricError(`${what} is empty: metrics need at least one row`);
  if (length !== undefined && scores.length !== length) {
    throw new MetricError(`${what} has ${scores.length} entries but labels has ${length}`);
  }
  for (let i = 0; i < scores.length; i++) {
    const v: unknown = scores[i];
    // v - v is NaN exactly for NaN and ±Infinity: one test covers both.
    if (typeof v !== 'number' || v - v !== 0) {
      throw new MetricError(`${what}[${i}] is ${show(v)}; every score must be a finite number`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix, precision, recall, F1
// ---------------------------------------------------------------------------------------------

/**
 * Counts of a binary confusion matrix (positive = 1 = anomaly).
 *
 * @example
 * ```ts
 * const { tp, fp, tn, fn }: ConfusionMatrix = confusionMatrix(labels, predictions);
 * ```
 */
export interface ConfusionMatrix {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/**
 * Counts true/false positives/negatives of 0/1 predictions against 0/1 labels.
 *
 * @throws MetricError when the arrays are empty, of different lengths, or hold anything but 0/1.
 *
 * @example
 * ```ts
 * confusionMatrix([0, 1, 1, 0], [0, 1, 0, 1]); // { tp: 1, fp: 1, tn: 1, fn: 1 }
 * ```
 */
export function confusionMatrix(labels: BinaryLabels, predictions: BinaryLabels): ConfusionMatrix {
  checkLabels(labels);
  checkLabels(predictions, 'predictions', labels.length);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    if (predictions[i] === 1) {
      if (labels[i] === 1) tp++;
      else fp++;
    } else if (labels[i] === 1) fn++;
  }
  return { tp, fp, tn: n - tp - fp - fn, fn };
}

/**
 * Precision tp / (tp + fp). When nothing is predicted positive it is 0, scikit-learn's default
 * `zero_division` (scikit-learn warns; {@link binaryMetrics} reports it in `warnings`).
 *
 * @example
 * ```ts
 * precision({ tp: 3, fp: 1, tn: 10, fn: 2 }); // 0.75
 * ```
 */
export function precision(cm: ConfusionMatrix): number {
  const d = cm.tp + cm.fp;
  return d === 0 ? 0 : cm.tp / d;
}

/**
 * Recall tp / (tp + fn). When there are no positive labels it is 0, scikit-learn's default
 * `zero_division` (scikit-learn warns; {@link binaryMetrics} reports it in `warnings`).
 *
 * @example
 * ```ts
 * recall({ tp: 3, fp: 1, tn: 10, fn: 2 }); // 0.6
 * ```
 */
export function recall(cm: ConfusionMatrix): number {
  const d = cm.tp + cm.fn;
  return d === 0 ? 0 : cm.tp / d;
}

/**
 * F1 = 2PR / (P + R), computed from precision and recall as scikit-learn 1.2 does (so results agree
 * to the last bit); 0 when P + R = 0, including the no-labels-no-predictions case scikit-learn
 * warns about ({@link binaryMetrics} reports it in `warnings`).
 *
 * @example
 * ```ts
 * f1({ tp: 3, fp: 1, tn: 10, fn: 2 }); // 0.6666…
 * ```
 */
export function f1(cm: ConfusionMatrix): number {
  const p = precision(cm);
  const r = recall(cm);
  const d = p + r;
  return d === 0 ? 0 : (2 * p * r) / d;
}

/**
 * Everything {@link binaryMetrics} reports.
 *
 * @example
 * ```ts
 * const { f1, warnings }: BinaryMetrics = binaryMetrics(labels, predictions);
 * ```
 */
export interface BinaryMetrics {
  readonly confusionMatrix: ConfusionMatrix;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly accuracy: number;
  /**
   * scikit-learn's `UndefinedMetricWarning` texts for the metrics set to 0 because they were 0/0
   * (no predicted positives, no true positives, neither). Empty when every metric is well defined.
   */
  readonly warnings: readonly string[];
}

/**
 * Precision, recall, F1 and accuracy of 0/1 predictions, like the positive-class row of
 * scikit-learn's `classification_report`. Ill-defined values are 0 (scikit-learn's default
 * `zero_division`) and listed in `warnings`.
 *
 * @throws MetricError on empty, mismatched or non-0/1 input.
 *
 * @example
 * ```ts
 * const m = binaryMetrics([0, 1, 1, 0], [0, 1, 0, 0]);
 * // { confusionMatrix: { tp: 1, fp: 0, tn: 2, fn: 1 }, precision: 1, recall: 0.5, f1: 0.666…, accuracy: 0.75, warnings: [] }
 * ```
 */
export function binaryMetrics(labels: BinaryLabels, predictions: BinaryLabels): BinaryMetrics {
  const cm = confusionMatrix(labels, predictions);
  const warnings: string[] = [];
  if (cm.tp + cm.fp === 0) {
    warnings.push('Precision is ill-defined and being set to 0.0 due to no predicted samples.');
  }
  if (cm.tp + cm.fn === 0) {
    warnings.push('Recall is ill-defined and being set to 0.0 due to no true samples.');
  }
  if (cm.tp + cm.fp + cm.fn === 0) {
    warnings.push('F-score is ill-defined and being set to 0.0 due to no true nor predicted samples.');
  }
  return {
    confusionMatrix: cm,
    precision: precision(cm),
    recall: recall(cm),
    f1: f1(cm),
    accuracy: (cm.tp + cm.tn) / labels.length,
    warnings,
  };
}

/**
 * Detection counts for one anomaly type; see {@link perTypeRecall}.
 *
 * @example
 * ```ts
 * const { recall }: TypeRecall = perTypeRecall(types, predictions).spike;
 * ```
 */
export interface TypeRecall {
  readonly total: number;
  readonly detected: number;
  readonly recall: number;
}

/**
 * Recall broken down by anomaly type: `types[i]` is the injected anomaly type of row `i`, or
 * `null` for a normal row (skipped). Keys come out sorted so reports are stable.
 *
 * @throws MetricError on length mismatch, empty input, non-0/1 predictions or a non-string type.
 *
 * @example
 * ```ts
 * perTypeRecall(['spike', null, 'drift', 'spike'], [1, 0, 0, 0]);
 * // { drift: { total: 1, detected: 0, recall: 0 }, spike: { total: 2, detected: 1, recall: 0.5 } }
 * ```
 */
export function perTypeRecall(
  types: ArrayLike<string | null>,
  predictions: BinaryLabels,
): Record<string, TypeRecall> {
  if (types === null || typeof types !== 'object' || typeof types.length !== 'number') {
    throw new MetricError('types must be an array of strings or nulls');
  }
  if (types.length === 0) throw new MetricError('types is empty: metrics need at least one row');
  // checkLabels validates 0/1 and the length in one pass.
  if (predictions === null || typeof predictions !== 'object' || predictions.length !== types.length) {
    throw new MetricError(
      `predictions has ${predictions?.length ?? 'no'} entries but types has ${types.length}`,
    );
  }
  const counts = new Map<string, { total: number; detected: number }>();
  for (let i = 0; i < types.length; i++) {
    const t: unknown = types[i];
    const p: unknown = predictions[i];
    if (p !== 0 && p !== 1)
      throw new MetricError(`predictions[${i}] is ${String(p)}; predictions must be 0 or 1`);
    if (t === null || t === undefined) continue;
    if (typeof t !== 'string') throw new MetricError(`types[${i}] is ${typeof t}; expected a string or null`);
    let c = counts.get(t);
    if (c === undefined) {
      c = { total: 0, detected: 0 };
      counts.set(t, c);
    }
    c.total++;
    c.detected += p;
  }
  // fromEntries defines own properties, so a type named "__proto__" is safe.
  return Object.fromEntries(
    [...counts.keys()].sort().map((t) => {
      const c = counts.get(t)!;
      return [t, { total: c.total, detected: c.detected, recall: c.detected / c.total }];
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Ranking curves
// ---------------------------------------------------------------------------------------------

/**
 * Cumulative counts at each distinct score, highest first (scikit-learn's `_binary_clf_curve`):
 * predicting `score >= thresholds[k]` gives `tps[k]` true and `fps[k]` false positives.
 *
 * @example
 * ```ts
 * const { thresholds, tps, fps }: RankCounts = rankCounts(labels, scores);
 * ```
 */
export interface RankCounts {
  /** Distinct scores, strictly decreasing. */
  readonly thresholds: Float64Array;
  readonly tps: Float64Array;
  readonly fps: Float64Array;
  /** Number of positive labels. */
  readonly positives: number;
  /** Number of negative labels. */
  readonly negatives: number;
}

/**
 * Counts true and false positives at every distinct score. O(n log n): the scores of each class
 * are copied into a `Float64Array` and sorted natively (no comparator, no per-row objects), then the
 * two sorted runs are merged from the top, which groups tied scores across classes.
 *
 * @throws MetricError on empty, mismatched, non-0/1 labels or non-finite scores.
 *
 * @example
 * ```ts
 * const c = rankCounts([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // thresholds [0.8, 0.4, 0.35, 0.1], tps [1, 1, 2, 2], fps [0, 1, 1, 2]
 * ```
 */
export function rankCounts(labels: BinaryLabels, scores: Scores): RankCounts {
  checkLabels(labels);
  checkScores(scores, 'scores', labels.length);
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i];
  const negatives = n - positives;
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    if (labels[i] === 1) pos[a++] = scores[i];
    else neg[b++] = scores[i];
  }
  pos.sort();
  neg.sort();
  const thresholds = new Float64Array(n);
  const tps = new Float64Array(n);
  const fps = new Float64Array(n);
  let i = positives - 1;
  let j = negatives - 1;
  let tp = 0;
  let fp = 0;
  let k = 0;
  while (i >= 0 || j >= 0) {
    const v = i < 0 ? neg[j] : j < 0 ? pos[i] : Math.max(pos[i], neg[j]);
    // `===` treats -0 and +0 as one score, as numpy does; the sort keeps them adjacent.
    while (i >= 0 && pos[i] === v) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === v) {
      fp++;
      j--;
    }
    thresholds[k] = v;
    tps[k] = tp;
    fps[k] = fp;
    k++;
  }
  // slice, not subarray: the curves are returned to callers and should not pin n-sized buffers.
  return {
    thresholds: k === n ? thresholds : thresholds.slice(0, k),
    tps: k === n ? tps : tps.slice(0, k),
    fps: k === n ? fps : fps.slice(0, k),
    positives,
    negatives,
  };
}

/**
 * A ROC curve: `fpr[k]`, `tpr[k]` when predicting `score >= thresholds[k]`.
 *
 * @example
 * ```ts
 * const { fpr, tpr }: RocCurve = rocCurve(labels, scores);
 * ```
 */
export interface RocCurve {
  readonly fpr: Float64Array;
  readonly tpr: Float64Array;
  /** Strictly decreasing; `thresholds[0]` is `+Infinity` (the predict-nothing point). */
  readonly thresholds: Float64Array;
}

function requireBothClasses(c: RankCounts, metric: string): void {
  if (c.positives === 0 || c.negatives === 0) {
    throw new MetricError(
      `Only one class present in labels (${c.positives === 0 ? 'no 1s' : 'no 0s'}): ${metric} is not defined in that case`,
    );
  }
}

/**
 * The ROC curve with one point per distinct score, as scikit-learn's
 * `roc_curve(labels, scores, drop_intermediate=False)`: it starts at (0, 0) with threshold
 * `+Infinity` (scikit-learn ≥ 1.3; 1.2 uses max score + 1 there) and ends at (1, 1).
 *
 * Unlike scikit-learn, which returns NaN rates with a warning, one-class labels throw: a NaN curve
 * is never what the caller wants.
 *
 * @throws MetricError on bad input or when only one class is present.
 *
 * @example
 * ```ts
 * rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1], thresholds [Infinity, 0.8, 0.4, 0.35, 0.1]
 * ```
 */
export function rocCurve(labels: BinaryLabels, scores: Scores): RocCurve {
  const c = rankCounts(labels, scores);
  requireBothClasses(c, 'the ROC curve');
  const m = c.thresholds.length + 1;
  const fpr = new Float64Array(m);
  const tpr = new Float64Array(m);
  const thresholds = new Float64Array(m);
  thresholds[0] = Number.POSITIVE_INFINITY;
  for (let k = 1; k < m; k++) {
    fpr[k] = c.fps[k - 1] / c.negatives;
    tpr[k] = c.tps[k - 1] / c.positives;
    thresholds[k] = c.thresholds[k - 1];
  }
  return { fpr, tpr, thresholds };
}

/**
 * Area under the ROC curve, as scikit-learn's `roc_auc_score`: the trapezoidal area over all
 * distinct thresholds, which equals the Mann–Whitney U statistic / (P·N) with tied
 * positive–negative pairs counted ½. Computed in integers and divided once, so the result is the
 * correctly rounded exact value (scikit-learn may differ in the last bit).
 *
 * @throws MetricError on bad input, or "Only one class present in labels: ROC AUC is not defined"
 *   as scikit-learn raises.
 *
 * @example
 * ```ts
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.75
 * rocAuc([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]);   // 0.5
 * ```
 */
export function rocAuc(labels: BinaryLabels, scores: Scores): number {
  const c = rankCounts(labels, scores);
  requireBothClasses(c, 'ROC AUC');
  // Twice the area in units of one (positive, negative) pair: each threshold step adds a trapezoid
  // of width Δfp and heights tp_prev, tp. Integers stay exact below 2^53 (n up to ~10^8).
  let twiceArea = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (let k = 0; k < c.thresholds.length; k++) {
    const tp = c.tps[k];
    const fp = c.fps[k];
    twiceArea += (fp - prevFp) * (tp + prevTp);
    prevTp = tp;
    prevFp = fp;
  }
  return twiceArea / (2 * c.positives * c.negatives);
}

/**
 * A precision–recall curve in scikit-learn's order: thresholds increasing.
 *
 * @example
 * ```ts
 * const { precision, recall }: PrecisionRecallCurve = precisionRecallCurve(labels, scores);
 * ```
 */
export interface PrecisionRecallCurve {
  /** `precision[k]` when predicting `score >= thresholds[k]`; the last entry is 1 (no threshold). */
  readonly precision: Float64Array;
  /** `recall[k]` likewise; the last entry is 0 (no threshold). */
  readonly recall: Float64Array;
  /** The distinct scores, increasing; one shorter than `precision` and `recall`. */
  readonly thresholds: Float64Array;
}

const NO_POSITIVES_WARNING = 'No positive class found in y_true, recall is set to one for all thresholds.';

/**
 * The precision–recall curve as scikit-learn 1.2's `precision_recall_curve`: one point per distinct
 * score in increasing threshold order, then a final point (recall 0, precision 1) with no threshold.
 * Nothing is truncated at full recall (older scikit-learn releases dropped the points after it).
 *
 * With no positive labels scikit-learn 1.2 sets recall to 1 everywhere and warns; so does this
 * (through `options.onWarning`).
 *
 * @throws MetricError on empty, mismatched, non-0/1 labels or non-finite scores.
 *
 * @example
 * ```ts
 * precisionRecallCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // precision [0.5, 0.667, 0.5, 1, 1], recall [1, 1, 0.5, 0.5, 0], thresholds [0.1, 0.35, 0.4, 0.8]
 * ```
 */
export function precisionRecallCurve(
  labels: BinaryLabels,
  scores: Scores,
  options: MetricOptions = {},
): PrecisionRecallCurve {
  const c = rankCounts(labels, scores);
  const d = c.thresholds.length;
  const prec = new Float64Array(d + 1);
  const rec = new Float64Array(d + 1);
  const thresholds = new Float64Array(d);
  if (c.positives === 0) options.onWarning?.(NO_POSITIVES_WARNING);
  for (let k = 0; k < d; k++) {
    const out = d - 1 - k; // reverse into increasing-threshold order
    const tp = c.tps[k];
    prec[out] = tp / (tp + c.fps[k]); // never 0/0: every distinct score flags at least one row
    rec[out] = c.positives === 0 ? 1 : tp / c.positives;
    thresholds[out] = c.thresholds[k];
  }
  prec[d] = 1;
  rec[d] = 0;
  return { precision: prec, recall: rec, thresholds };
}

/**
 * Average precision as scikit-learn's `average_precision_score`: Σₙ (Rₙ − Rₙ₋₁) Pₙ over the
 * distinct thresholds from the highest score down, without interpolation.
 *
 * No positive labels: scikit-learn 1.2.1 returns 0 (its recall is set to 1 at every threshold and
 * every precision is 0) with a `UserWarning`; this returns 0 too and passes the warning to
 * `options.onWarning`. Unlike ROC AUC it does not throw, so per-segment evaluations keep running,
 * but a 0 from an all-normal segment is not a detector failure: check for positives first.
 *
 * @throws MetricError on empty, mismatched, non-0/1 labels or non-finite scores.
 *
 * @example
 * ```ts
 * averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.8333…
 * ```
 */
export function averagePrecision(labels: BinaryLabels, scores: Scores, options: MetricOptions = {}): number {
  const c = rankCounts(labels, scores);
  if (c.positives === 0) {
    options.onWarning?.(NO_POSITIVES_WARNING);
    return 0;
  }
  let ap = 0;
  let prevRecall = 0;
  for (let k = 0; k < c.thresholds.length; k++) {
    const tp = c.tps[k];
    const r = tp / c.positives;
    ap += (r - prevRecall) * (tp / (tp + c.fps[k]));
    prevRecall = r;
  }
  return ap;
}
