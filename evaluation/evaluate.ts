/**
 * Scores detectors on labelled data the standard way: every detector gets the same rows and labels,
 * the same threshold rule, and the metrics of `metrics.ts`.
 */
import { DetectorError, type Matrix } from '../detectors/index.js';
import { type SeriesDetector, scoreSeries, type TabularDetector, type TabularSettings } from './detectors.js';
import { EvaluationError, MetricError } from './errors.js';
import {
  averagePrecision,
  binaryMetrics,
  perTypeRecall,
  precisionRecallCurve,
  rocAuc,
  rocCurve,
} from './metrics.js';
import type { DetectorEvaluation } from './report.js';
import { thinCurve } from './report.js';
import { predictAt, resolveThreshold } from './thresholds.js';
import { type AnomalyWindow, evaluateWindows } from './windows.js';

/**
 * How to turn scores into alerts: the detector's own cut (`auto`), a fixed value, the top fraction
 * (`contamination:R`), or the F1-maximising cut (`best-f1`, optimistic: chosen on the labels it is scored on).
 */
export type ThresholdSpec =
  | { kind: 'auto' }
  | { kind: 'fixed'; threshold: number }
  | { kind: 'contamination'; contamination: number }
  | { kind: 'bestF1' };

/**
 * Parses `auto`, `best-f1`, `contamination:0.02` or a number.
 *
 * @example
 * ```ts
 * parseThresholdSpec('contamination:0.05'); // { kind: 'contamination', contamination: 0.05 }
 * ```
 */
export function parseThresholdSpec(text: string): ThresholdSpec {
  const t = text.trim();
  if (t === 'auto') return { kind: 'auto' };
  if (t === 'best-f1') return { kind: 'bestF1' };
  if (t.startsWith('contamination:')) {
    const c = Number(t.slice('contamination:'.length));
    if (!(c > 0 && c < 1)) throw new EvaluationError(`contamination must be in (0, 1), got '${t}'`);
    return { kind: 'contamination', contamination: c };
  }
  const v = Number(t);
  if (t === '' || !Number.isFinite(v)) {
    throw new EvaluationError(`--threshold takes auto, best-f1, contamination:R or a number, got '${text}'`);
  }
  return { kind: 'fixed', threshold: v };
}

function ruleName(spec: ThresholdSpec): string {
  switch (spec.kind) {
    case 'auto':
      return 'auto';
    case 'fixed':
      return 'fixed';
    case 'contamination':
      return `contamination:${spec.contamination}`;
    case 'bestF1':
      return 'best-f1';
  }
}

/**
 * Why ROC-AUC and average precision are undefined for these labels, or null when they are defined:
 * both need at least one positive (label 1) and one negative (label 0).
 *
 * @example
 * ```ts
 * oneClassWarning(0, 500); // 'no label is 1 (anomaly): ROC-AUC and PR-AUC (AP) need both classes …'
 * ```
 */
export function oneClassWarning(positives: number, n: number): string | null {
  if (n === 0 || (positives > 0 && positives < n)) return null;
  const which = positives === 0 ? 'no label is 1 (anomaly)' : 'every label is 1 (anomaly)';
  return `${which}: ROC-AUC and PR-AUC (AP) need both classes and are undefined here (null in JSON, — in tables)`;
}

/** One detector's scores and labels → the full evaluation record. */
export function evaluateScores(args: {
  detector: string;
  dataset: string;
  scores: Float64Array;
  labels: Uint8Array;
  ownThreshold: number;
  spec: ThresholdSpec;
  seconds: number;
  seed?: number;
  types?: ArrayLike<string | null>;
  times?: Float64Array;
  windows?: readonly AnomalyWindow[];
}): DetectorEvaluation {
  const { scores, labels, spec } = args;
  const { threshold, optimistic } =
    spec.kind === 'auto'
      ? { threshold: args.ownThreshold, optimistic: false }
      : resolveThreshold(spec, scores, labels);
  const predictions = predictAt(scores, threshold);
  const m = binaryMetrics(labels, predictions);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  // One class only: AUC and AP are undefined (scikit-learn raises); report NaN, keep the counts.
  const oneClass = oneClassWarning(positives, labels.length);
  let auc = Number.NaN;
  let ap = Number.NaN;
  let curves: DetectorEvaluation['curves'];
  if (positives > 0 && positives < labels.length) {
    auc = rocAuc(labels, scores);
    ap = averagePrecision(labels, scores);
    const roc = rocCurve(labels, scores);
    const pr = precisionRecallCurve(labels, scores);
    curves = { roc: thinCurve(roc.fpr, roc.tpr), pr: thinCurve(pr.recall, pr.precision) };
  }
  const result: DetectorEvaluation = {
    detector: args.detector,
    dataset: args.dataset,
    n: labels.length,
    positives,
    threshold,
    thresholdRule: ruleName(spec),
    optimistic,
    confusionMatrix: m.confusionMatrix,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    rocAuc: auc,
    averagePrecision: ap,
    seconds: args.seconds,
    curves,
  };
  if (oneClass) result.warnings = [oneClass];
  if (args.seed !== undefined) result.seed = args.seed;
  if (args.types) result.perType = perTypeRecall(args.types, predictions);
  if (args.windows && args.times) {
    const alerts: number[] = [];
    for (let i = 0; i < predictions.length; i++) if (predictions[i] === 1) alerts.push(args.times[i]);
    result.windows = evaluateWindows(args.windows, alerts);
  }
  return result;
}

/**
 * Fits and scores each tabular detector on all rows (as the ODDS references do) and evaluates it.
 *
 * @example
 * ```ts
 * const { X, y } = await loadTabularCsv('mammography.csv');
 * const results = evaluateTabular('mammography.csv', X, y, pickDetectors(TABULAR_DETECTORS, 'iforest'), { seed: 0, spec: { kind: 'auto' } });
 * ```
 */
export function evaluateTabular(
  dataset: string,
  X: Matrix,
  y: Uint8Array,
  detectors: readonly TabularDetector[],
  options: {
    seed: number;
    spec: ThresholdSpec;
    settings?: TabularSettings;
    onDetector?: (name: string, i: number) => void;
  },
): DetectorEvaluation[] {
  return detectors.map((d, i) => {
    options.onDetector?.(d.name, i);
    const t0 = performance.now();
    let fitted: ReturnType<TabularDetector['score']>;
    try {
      fitted = d.score(X, options.seed, options.settings);
    } catch (err) {
      // The library's message names its parameter (k, eps…); say which detector of the run gave up.
      if (err instanceof DetectorError) {
        throw new EvaluationError(
          `${d.name} on ${X.rows} rows × ${X.cols} columns: ${err.message} (leave it out with --detector)`,
        );
      }
      throw err;
    }
    const { scores, threshold } = fitted;
    const seconds = (performance.now() - t0) / 1000;
    return evaluateScores({
      detector: d.name,
      dataset,
      scores,
      labels: y,
      ownThreshold: threshold,
      spec: options.spec,
      seconds,
      seed: options.seed,
    });
  });
}

/**
 * Runs each streaming detector over a labelled series in order and evaluates point labels and, when
 * windows are given, window recall, false alerts and detection delay.
 *
 * @example
 * ```ts
 * const s = await loadSeriesCsv('sales.csv');
 * const results = evaluateSeries('sales.csv', s.timestamps, s.values, s.labels!, SERIES_DETECTORS, { spec: { kind: 'auto' } });
 * ```
 */
export function evaluateSeries(
  dataset: string,
  times: Float64Array,
  values: Float64Array,
  labels: Uint8Array,
  detectors: readonly SeriesDetector[],
  options: { spec: ThresholdSpec; windows?: readonly AnomalyWindow[] },
): DetectorEvaluation[] {
  if (labels.length !== values.length) {
    throw new MetricError(`labels has ${labels.length} entries but the series has ${values.length} points`);
  }
  return detectors.map((d) => {
    const t0 = performance.now();
    const scores = scoreSeries(d, values);
    const seconds = (performance.now() - t0) / 1000;
    return evaluateScores({
      detector: d.name,
      dataset,
      scores,
      labels,
      ownThreshold: d.threshold,
      spec: options.spec,
      seconds,
      times,
      windows: options.windows,
    });
  });
}
