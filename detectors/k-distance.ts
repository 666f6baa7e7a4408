/**
 * Choosing DBSCAN's eps from the data: the k-distance curve and its knee.
 *
 * Convention (scikit-learn's, the one `minPts` uses): a point counts as its own 1st nearest
 * neighbour, so the k-distance of a point is the distance to its (k − 1)-th *other* nearest point,
 * and `k = minPts` makes "k-distance ≤ eps" exactly "the point is core". With k = 1 every
 * k-distance is 0.
 */
import { DetectorConfigError, DetectorInputError } from './errors.js';
import { type MatrixInput, toMatrix } from './matrix.js';
import { Rng } from './random.js';
import { type Metric, metricCode } from './spatial/common.js';
import { KdTree } from './spatial/kd-tree.js';

/**
 * Options of {@link kDistances} and {@link suggestEps}.
 *
 * @example
 * ```ts
 * const options: KDistanceOptions = { minPts: 10, sampleSize: 20_000, seed: 7 };
 * ```
 */
export interface KDistanceOptions {
  /** Which neighbour: the point itself is the 1st. Default `minPts`, else 4 (Ester et al.'s 2-D value). */
  k?: number;
  /** The DBSCAN minPts the eps is for; the default of `k`. */
  minPts?: number;
  /** Default `'euclidean'`. */
  metric?: Metric;
  /** The column count when `X` is a bare row-major `Float64Array`. */
  cols?: number;
  /**
   * Compute the curve for at most this many points, drawn at random (distances are still to
   * neighbours among *all* points, so each value is exact; only the curve is thinned). Default: all.
   */
  sampleSize?: number;
  /** Seed for the sample; default 42. Only used with `sampleSize` below the row count. */
  seed?: number;
}

/**
 * What {@link suggestEps} returns.
 *
 * @example
 * ```ts
 * const { eps, kneeIndex, kDistances } = suggestEps(rows, { minPts: 10 });
 * plot(kDistances, kneeIndex);
 * ```
 */
export interface EpsSuggestion {
  /** The suggested eps: the k-distance at the knee (never 0, see {@link suggestEps}). */
  eps: number;
  /** Index of the knee in `kDistances`. */
  kneeIndex: number;
  /** The k-distance curve, ascending. */
  kDistances: Float64Array<ArrayBuffer>;
  /** The k used. */
  k: number;
}

function resolveK(options: KDistanceOptions, rows: number): number {
  const { k, minPts } = options;
  if (minPts !== undefined && (typeof minPts !== 'number' || !Number.isInteger(minPts) || minPts < 1)) {
    throw new DetectorConfigError(`minPts must be an integer ≥ 1, got ${String(minPts)}`);
  }
  const kk = k ?? minPts ?? 4;
  if (typeof kk !== 'number' || !Number.isInteger(kk) || kk < 1) {
    throw new DetectorConfigError(`k must be an integer ≥ 1, got ${String(kk)}`);
  }
  if (kk > rows) {
    throw new DetectorConfigError(
      `k is ${kk} but X has only ${rows} rows: k counts the point itself, so k ≤ rows`,
    );
  }
  return kk;
}

/**
 * The k-distance of every point (or of a seeded random sample of `sampleSize` points), sorted
 * ascending. Uses a k-d tree and one k-nearest-neighbour query per point.
 *
 * @throws DetectorInputError for invalid data; DetectorConfigError for a bad k, minPts, metric,
 *   sampleSize or seed.
 *
 * @example
 * ```ts
 * const curve = kDistances([[0], [1], [3], [6]], { k: 2 }); // Float64Array [1, 1, 2, 3]
 * ```
 */
export function kDistances(X: MatrixInput, options: KDistanceOptions = {}): Float64Array<ArrayBuffer> {
  const m = toMatrix(X, options.cols, 'X');
  const k = resolveK(options, m.rows);
  const metric = options.metric ?? 'euclidean';
  metricCode(metric, 'metric');
  const n = m.rows;
  let queries: Int32Array | null = null;
  const { sampleSize } = options;
  if (sampleSize !== undefined) {
    if (typeof sampleSize !== 'number' || !Number.isInteger(sampleSize) || sampleSize < 1) {
      throw new DetectorConfigError(`sampleSize must be an integer ≥ 1, got ${String(sampleSize)}`);
    }
    if (sampleSize < n) {
      // Partial Fisher–Yates: the first sampleSize entries become a uniform sample without replacement.
      const rng = new Rng(options.seed ?? 42);
      const idx = new Int32Array(n);
      for (let i = 0; i < n; i++) idx[i] = i;
      for (let i = 0; i < sampleSize; i++) {
        const j = i + rng.nextInt(n - i);
        const t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
      }
      queries = idx.subarray(0, sampleSize);
    }
  }
  const tree = new KdTree(m.data, n, m.cols, metric);
  const count = queries === null ? n : queries.length;
  const out = new Float64Array(count);
  const pos = new Int32Array(k);
  const dist = new Float64Array(k);
  for (let t = 0; t < count; t++) {
    const row = queries === null ? t : queries[t];
    tree.knn(m.data, row * m.cols, k, pos, dist);
    out[t] = dist[k - 1];
  }
  return out.sort();
}

/**
 * The knee of an ascending curve by Kneedle's rule: scale both axes to [0, 1] and take the point
 * farthest from the chord joining the first and the last point (the first such point on ties).
 * A flat curve has its knee at 0.
 *
 * @example
 * ```ts
 * findKnee(new Float64Array([1, 1, 1, 1, 2, 10])); // 4
 * ```
 */
export function findKnee(curve: ArrayLike<number>): number {
  const m = curve.length;
  if (m <= 2) return 0;
  const y0 = curve[0];
  const span = curve[m - 1] - y0;
  if (!(span > 0)) return 0;
  let best = 0;
  let bestGap = -1;
  for (let i = 0; i < m; i++) {
    // The chord of the scaled curve is y = x; the distance to it is |x − y| / √2.
    const gap = Math.abs(i / (m - 1) - (curve[i] - y0) / span);
    if (gap > bestGap) {
      bestGap = gap;
      best = i;
    }
  }
  return best;
}

/**
 * Suggests DBSCAN's eps: the k-distance at the knee of the sorted k-distance curve, where the
 * distances stop growing slowly (points inside clusters) and start to shoot up (noise). Use it
 * with `minPts = k`. When the knee's k-distance is 0 (many exact duplicates), the first positive
 * k-distance after it is taken, since eps must be > 0.
 *
 * @throws DetectorInputError when every k-distance is 0 (each point has at least k − 1 exact
 *   duplicates, so no positive eps can be read off the data); see {@link kDistances} for the rest.
 *
 * @example
 * ```ts
 * const { eps } = suggestEps(rows, { minPts: 10 });
 * const labels = new Dbscan({ eps, minPts: 10 }).fitPredict(rows);
 * ```
 */
export function suggestEps(X: MatrixInput, options: KDistanceOptions = {}): EpsSuggestion {
  const curve = kDistances(X, options);
  const k = resolveK(options, Number.POSITIVE_INFINITY);
  let knee = findKnee(curve);
  while (knee < curve.length && curve[knee] === 0) knee++;
  if (knee === curve.length) {
    throw new DetectorInputError(
      `every ${k}-distance is 0: each point has at least ${k - 1} exact duplicates, so no eps > 0 can be suggested`,
    );
  }
  return { eps: curve[knee], kneeIndex: knee, kDistances: curve, k };
}
