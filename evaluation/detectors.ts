/**
 * The detectors the evaluation CLI can score, behind one small interface each: tabular detectors fit on
 * the whole set and score every row (as the ODDS references do); streaming detectors score each point
 * of a series before learning it.
 */
import {
  Dbscan,
  EwmaDetector,
  IsolationForest,
  type Matrix,
  RollingRobustZScore,
  type StreamingDetector,
  suggestEps,
  zToUnit,
} from '../detectors/index.js';
import { SERIES_DETECTOR_SUMMARIES, TABULAR_DETECTOR_SUMMARIES } from './detector-catalog.js';
import { EvaluationError } from './errors.js';

/**
 * Settings of the tabular detectors that a user may change (`shelfwatch evaluate --min-pts`).
 *
 * @example
 * ```ts
 * const dbscan = pickDetectors(TABULAR_DETECTORS, 'dbscan')[0];
 * dbscan.score(X, 0, { minPts: 3 } satisfies TabularSettings);
 * ```
 */
export interface TabularSettings {
  /** DBSCAN's minPts, also the k of the k-distance curve that sets eps. Default max(4, 2 × columns). */
  readonly minPts?: number;
}

/** A detector that scores the rows of a table: higher = more anomalous. */
export interface TabularDetector {
  readonly name: string;
  readonly summary: string;
  /** Scores every row; `threshold` is the detector's own cut (used by `--threshold auto`). */
  score(X: Matrix, seed: number, settings?: TabularSettings): { scores: Float64Array; threshold: number };
}

/** A detector that scores a series in order, each point before it is learned. Scores in [0, 1]. */
export interface SeriesDetector {
  readonly name: string;
  readonly summary: string;
  create(): StreamingDetector;
  /** The score above which a point is an alert (the unit score of |z| = 3.5). */
  readonly threshold: number;
}

/** Median and scale (1.4826·MAD, falling back to the IQR/1.349 and then 1) of each column. */
function robustColumns(X: Matrix): { center: Float64Array; scale: Float64Array } {
  const { rows, cols, data } = X;
  const center = new Float64Array(cols);
  const scale = new Float64Array(cols);
  const col = new Float64Array(rows);
  const dev = new Float64Array(rows);
  const q = (a: Float64Array, p: number): number => {
    const h = (a.length - 1) * p;
    const lo = Math.floor(h);
    return a[lo] + (a[Math.min(lo + 1, a.length - 1)] - a[lo]) * (h - lo);
  };
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) col[i] = data[i * cols + j];
    col.sort();
    const med = q(col, 0.5);
    for (let i = 0; i < rows; i++) dev[i] = Math.abs(col[i] - med);
    dev.sort();
    let s = 1.4826 * q(dev, 0.5);
    // Many columns of count data have MAD 0; the IQR or, failing that, unit scale keeps z finite.
    if (!(s > 0)) s = (q(col, 0.75) - q(col, 0.25)) / 1.349;
    if (!(s > 0)) s = 1;
    center[j] = med;
    scale[j] = s;
  }
  return { center, scale };
}

function standardize(X: Matrix): Matrix {
  const { center, scale } = robustColumns(X);
  const out = new Float64Array(X.data.length);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < X.cols; j++) out[i * X.cols + j] = (X.data[i * X.cols + j] - center[j]) / scale[j];
  }
  return { data: out, rows: X.rows, cols: X.cols };
}

export const TABULAR_DETECTORS: readonly TabularDetector[] = [
  {
    name: 'iforest',
    summary: TABULAR_DETECTOR_SUMMARIES.iforest,
    score(X, seed) {
      const model = new IsolationForest({ nTrees: 100, sampleSize: 256, seed }).fit(X);
      return { scores: model.scoreSamples(X), threshold: model.threshold };
    },
  },
  {
    name: 'dbscan',
    summary: TABULAR_DETECTOR_SUMMARIES.dbscan,
    score(X, seed, settings = {}) {
      const minPts = settings.minPts ?? Math.max(4, 2 * X.cols);
      // eps comes from the k-distance curve with k = minPts, and a point counts among its own k nearest:
      // fewer rows than k and the library would say only `k is 4 but X has only 2 rows`.
      if (X.rows < minPts) {
        const why =
          settings.minPts === undefined
            ? `the default max(4, 2 × ${X.cols} feature column${X.cols === 1 ? '' : 's'})`
            : 'set by --min-pts';
        throw new EvaluationError(
          `DBSCAN needs at least k = minPts = ${minPts} rows (${why}; minPts is also the k of the ` +
            `k-distance curve that sets eps, and each point counts among its own k nearest) but the data has ` +
            `${X.rows}: lower k with --min-pts N (at least 2), add rows, or leave DBSCAN out with --detector iforest,zscore`,
        );
      }
      const Xs = standardize(X);
      const { eps } = suggestEps(Xs, { k: minPts, seed });
      const model = new Dbscan({ eps, minPts }).fit(Xs);
      // Distance to the nearest core point in units of eps: ≤ 1 inside a cluster's reach.
      return { scores: model.scoreSamples(Xs), threshold: 1 };
    },
  },
  {
    name: 'zscore',
    summary: TABULAR_DETECTOR_SUMMARIES.zscore,
    score(X) {
      const { center, scale } = robustColumns(X);
      const scores = new Float64Array(X.rows);
      for (let i = 0; i < X.rows; i++) {
        let m = 0;
        for (let j = 0; j < X.cols; j++) {
          const z = Math.abs(X.data[i * X.cols + j] - center[j]) / scale[j];
          if (z > m) m = z;
        }
        scores[i] = m;
      }
      // Iglewicz & Hoaglin's cut for the modified z-score.
      return { scores, threshold: 3.5 };
    },
  },
];

export const SERIES_DETECTORS: readonly SeriesDetector[] = [
  {
    name: 'robust-zscore',
    summary: SERIES_DETECTOR_SUMMARIES['robust-zscore'],
    create: () => new RollingRobustZScore({ window: 168, warmUp: 24 }),
    threshold: zToUnit(3.5),
  },
  {
    name: 'ewma',
    summary: SERIES_DETECTOR_SUMMARIES.ewma,
    create: () => new EwmaDetector({ alpha: 0.1, warmUp: 10 }),
    threshold: zToUnit(3.5),
  },
];

/**
 * Looks detectors up by name, with an error listing the known ones.
 *
 * @example
 * ```ts
 * const [iforest] = pickDetectors(TABULAR_DETECTORS, 'iforest');
 * ```
 */
export function pickDetectors<T extends { name: string }>(known: readonly T[], names: string): T[] {
  const picked: T[] = [];
  for (const raw of names.split(',')) {
    const name = raw.trim();
    if (!name) continue;
    const d = known.find((k) => k.name === name);
    if (!d) {
      throw new EvaluationError(
        `unknown detector '${name}' here (known: ${known.map((k) => k.name).join(', ')})`,
      );
    }
    picked.push(d);
  }
  if (picked.length === 0) throw new EvaluationError('name at least one detector');
  return picked;
}

/**
 * Runs a streaming detector over a series in order: each point is scored, then learned. Scores are
 * mapped to [0, 1] with {@link zToUnit}.
 *
 * @example
 * ```ts
 * const scores = scoreSeries(SERIES_DETECTORS[0], Float64Array.from([1, 2, 1, 50]));
 * ```
 */
export function scoreSeries(detector: SeriesDetector, values: Float64Array): Float64Array {
  const d = detector.create();
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = zToUnit(d.scoreOne(values[i]));
    d.learnOne(values[i]);
  }
  return out;
}
