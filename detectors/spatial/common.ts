/**
 * What the spatial indexes share: the metrics, their "reduced" distances (the cheap monotone form
 * that queries compare, e.g. the squared Euclidean distance), a growable neighbour buffer and the
 * interface DBSCAN programs against.
 *
 * Exactness matters here: DBSCAN's core test is `distance ≤ eps`, and a point at exactly `eps` must be
 * found by every index exactly as a brute-force `Math.sqrt(Σ (a_j − b_j)²) <= eps` finds it. The
 * reduced distances sum in the same order as that brute force, and {@link reducedRadius} picks the
 * reduced threshold so that both tests agree on every double (see there).
 */
import { DetectorConfigError } from '../errors.js';

/**
 * The distances the indexes support; all three are bounded by boxes, which is what pruning needs.
 *
 * @example
 * ```ts
 * const metric: Metric = 'chebyshev'; // max over columns of |a_j − b_j|
 * ```
 */
export type Metric = 'euclidean' | 'manhattan' | 'chebyshev';

/**
 * Every supported metric, for validation and for tests.
 *
 * @example
 * ```ts
 * for (const metric of METRICS) new Dbscan({ eps: 1, minPts: 5, metric }).fit(rows);
 * ```
 */
export const METRICS: readonly Metric[] = ['euclidean', 'manhattan', 'chebyshev'];

/**
 * Numeric metric codes, so that hot loops branch on a small integer rather than a string.
 *
 * @example
 * ```ts
 * if (index.metric === EUCLIDEAN) radius = Math.sqrt(reduced);
 * ```
 */
export const EUCLIDEAN = 0;
/**
 * See {@link EUCLIDEAN}.
 *
 * @example
 * ```ts
 * metricCode('manhattan') === MANHATTAN; // true
 * ```
 */
export const MANHATTAN = 1;
/**
 * See {@link EUCLIDEAN}.
 *
 * @example
 * ```ts
 * metricCode('chebyshev') === CHEBYSHEV; // true
 * ```
 */
export const CHEBYSHEV = 2;

/**
 * Validates a metric name and returns its numeric code.
 *
 * @param option how the error message names the option.
 * @throws DetectorConfigError naming the option and the bad value.
 *
 * @example
 * ```ts
 * metricCode('manhattan'); // 1
 * ```
 */
export function metricCode(metric: unknown, option = 'metric'): number {
  const code = typeof metric === 'string' ? METRICS.indexOf(metric as Metric) : -1;
  if (code < 0) {
    throw new DetectorConfigError(
      `${option} must be one of ${METRICS.map((m) => `'${m}'`).join(', ')}, got ${
        typeof metric === 'string' ? `'${metric}'` : String(metric)
      }`,
    );
  }
  return code;
}

// One 8-byte scratch word, viewed as a double and as an integer, to step to adjacent doubles.
const scratchF = new Float64Array(1);
const scratchI = new BigInt64Array(scratchF.buffer);

/** The next double above a finite non-negative `x`. */
function nextUp(x: number): number {
  scratchF[0] = x;
  scratchI[0] += 1n;
  return scratchF[0];
}

/** The next double below a positive `x`. */
function nextDown(x: number): number {
  scratchF[0] = x;
  scratchI[0] -= 1n;
  return scratchF[0];
}

/**
 * The threshold on the reduced distance equivalent to `distance ≤ r`. For Manhattan and Chebyshev
 * that is `r` itself. For Euclidean it is the largest double `T` with `Math.sqrt(T) <= r`: because
 * `Math.sqrt` is correctly rounded and monotone, `s <= T` then holds exactly when `Math.sqrt(s) <= r`
 * for every sum of squares `s`, which `r * r` alone does not guarantee (it can round either way).
 *
 * @example
 * ```ts
 * reducedRadius(EUCLIDEAN, 0.1); // 0.010000000000000002, the largest s with Math.sqrt(s) <= 0.1
 * ```
 */
export function reducedRadius(metric: number, r: number): number {
  if (metric !== EUCLIDEAN) return r;
  if (!(r > 0)) return r === 0 ? 0 : Number.NaN;
  let t = r * r;
  while (t > 0 && Math.sqrt(t) > r) t = nextDown(t);
  while (t < Number.POSITIVE_INFINITY && Math.sqrt(nextUp(t)) <= r) t = nextUp(t);
  return t;
}

/**
 * Converts a reduced distance back to a distance.
 *
 * @example
 * ```ts
 * fromReduced(EUCLIDEAN, 25); // 5
 * ```
 */
export function fromReduced(metric: number, reduced: number): number {
  return metric === EUCLIDEAN ? Math.sqrt(reduced) : reduced;
}

/**
 * A growable `Int32Array` that queries write neighbour positions into, reused across queries so that
 * a query allocates nothing once the buffer has reached the largest neighbourhood.
 *
 * @example
 * ```ts
 * const buf = new NeighbourBuffer();
 * const count = index.radiusSearch(index.points, 0, 0.5, buf);
 * for (let t = 0; t < count; t++) use(buf.data[t]);
 * ```
 */
export class NeighbourBuffer {
  /** The positions; only the first `count` (as returned by the query) are meaningful. */
  data: Int32Array;

  constructor(capacity = 64) {
    this.data = new Int32Array(Math.max(1, capacity));
  }

  /** Doubles the capacity, keeping the contents, and returns the new array. */
  grow(): Int32Array {
    const next = new Int32Array(this.data.length * 2);
    next.set(this.data);
    this.data = next;
    return next;
  }
}

/**
 * The queries DBSCAN needs from an index. Points are addressed by *position*: the index stores the
 * rows reordered for locality in `points`, and `order[position]` is the row's index in the input.
 * Points can be removed from later queries, which is how DBSCAN's expansion skips points that
 * already have a label: the index then skips whole cells or subtrees once nothing is left in them.
 *
 * @example
 * ```ts
 * const index: SpatialIndex = new KdTree(m.data, m.rows, m.cols, 'euclidean');
 * const buf = new NeighbourBuffer();
 * const found = index.radiusSearch(index.points, 0, 1.5, buf); // neighbours of the point at position 0
 * ```
 */
export interface SpatialIndex {
  /** Number of indexed points (removed ones included). */
  readonly size: number;
  /** Number of coordinates per point. */
  readonly dim: number;
  /** The metric's numeric code ({@link EUCLIDEAN}, …). */
  readonly metric: number;
  /** The points, row-major, in position order. */
  readonly points: Float64Array;
  /** `order[position]` is the input row of the point at that position. */
  readonly order: Int32Array;
  /**
   * Writes into `out` the positions of the points (not removed) within distance `≤ radius` of the
   * query row `q[qOff … qOff + dim)` and returns how many. Their order is unspecified.
   */
  radiusSearch(q: Float64Array, qOff: number, radius: number, out: NeighbourBuffer): number;
  /**
   * How many points (not removed) lie within distance `≤ radius` of the query row, counting no
   * further than `limit` (so the answer is `min(count, limit)`): enough to tell whether a point is core.
   */
  countWithin(q: Float64Array, qOff: number, radius: number, limit: number): number;
  /** Removes the point at `position` from all later queries (no-op if already removed). */
  remove(position: number): void;
  /** Puts every removed point back. */
  restoreAll(): void;
}
