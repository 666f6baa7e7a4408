/**
 * DBSCAN with scikit-learn's semantics (`sklearn.cluster.DBSCAN`, labels as its `dbscan_inner`
 * numbers them), in memory linear in n.
 *
 * scikit-learn first materialises every neighbourhood (9.8 GB on 567k rows) and then expands
 * clusters. Here neighbourhoods are queried one point at a time through a spatial index, in two
 * passes: pass 1 counts each point's neighbours, stopping at `minPts`, which is all the core test
 * needs; pass 2 expands clusters depth-first with an explicit stack, querying a core point's
 * neighbourhood when it is popped; labelled points are removed from the index so that later
 * queries skip them (and whole cells or subtrees once nothing is left in them).
 * Nothing recurses, and the only per-fit buffers are O(n) typed arrays.
 */
import { DetectorConfigError, NotFittedError } from './errors.js';
import { type MatrixInput, toMatrix } from './matrix.js';
import { type Metric, metricCode, NeighbourBuffer, type SpatialIndex } from './spatial/common.js';
import { GridIndex } from './spatial/grid.js';
import { KdTree } from './spatial/kd-tree.js';

/**
 * Which spatial index `fit` uses: chosen by dimension (`'auto'`), or forced.
 *
 * @example
 * ```ts
 * new Dbscan({ eps: 0.5, minPts: 10, algorithm: 'kd-tree' });
 * ```
 */
export type DbscanAlgorithm = 'auto' | 'grid' | 'kd-tree';

const ALGORITHMS: readonly DbscanAlgorithm[] = ['auto', 'grid', 'kd-tree'];

/**
 * Up to this many columns `'auto'` uses the grid, above it the k-d tree. Measured (best of 3 fits,
 * ms, grid / tree) on the bench's Gaussian blobs + 5 % noise, n = 50,000, minPts 10, eps the 50th /
 * 80th / 95th percentile of the 10-distance:
 *   d = 2: 25/68, 21/60, 15/50;  d = 3: 97/121, 67/117, 25/122;  d = 4: 275/248, 164/241, 44/246;
 *   d = 5: 827/517, 467/463, 350/428.
 * On uniform data (80th percentile) d = 4 gave 124/255, and at n = 200,000 d = 4 gave 772/1075
 * and d = 5 2465/2525. So the grid wins through d = 4 (once narrowly behind, at small eps) and
 * stops paying from d = 5, where its 3^d cells per query outgrow the tree's pruning.
 *
 * @example
 * ```ts
 * const usesGrid = cols <= GRID_MAX_DIM; // what algorithm 'auto' decides
 * ```
 */
export const GRID_MAX_DIM = 4;

/**
 * Options of {@link Dbscan}.
 *
 * @example
 * ```ts
 * const options: DbscanOptions = { eps: 0.5, minPts: 10, metric: 'manhattan' };
 * ```
 */
export interface DbscanOptions {
  /** Neighbourhood radius: points at distance ≤ eps are neighbours. Finite and > 0. */
  eps: number;
  /** A point is core when at least this many points, itself included, are within eps. Integer ≥ 1. */
  minPts: number;
  /** Distance between points; default `'euclidean'`. */
  metric?: Metric;
  /**
   * The spatial index: `'auto'` (default) takes the grid for up to {@link GRID_MAX_DIM} columns and
   * the k-d tree above; `'grid'` and `'kd-tree'` force one (results are identical, only speed
   * differs). The grid falls back to the tree when eps is so small against the data's extent that
   * its cell keys would not fit in a double.
   */
  algorithm?: DbscanAlgorithm;
}

interface Fitted {
  labels: Int32Array<ArrayBuffer>;
  coreMask: Uint8Array<ArrayBuffer>;
  nClusters: number;
  cols: number;
  index: 'grid' | 'kd-tree';
  /** Coordinates of the core points, row-major, in input order. */
  corePoints: Float64Array;
  /** Cluster label of each core point, same order. */
  coreLabels: Int32Array;
  /** k-d tree over the core points, built on first use by `scoreSamples`/`predict`. */
  coreTree: KdTree | null;
}

/**
 * Density-based clustering (DBSCAN), with scikit-learn's definitions: a point is **core** when at
 * least `minPts` points (itself included) lie within distance **≤ eps**; core points within eps of
 * each other share a cluster; a non-core point within eps of a core point is a **border** point and
 * takes the first cluster that reaches it (the lowest label among the clusters of the core points
 * within eps of it); every other point is noise (−1). Clusters are numbered 0, 1, 2, … in the order
 * of their lowest-index core point, exactly as scikit-learn numbers them.
 *
 * @example
 * ```ts
 * const db = new Dbscan({ eps: 0.5, minPts: 3 }).fit([
 *   [0, 0], [0, 0.3], [0.3, 0],   // cluster 0
 *   [5, 5], [5, 5.3], [5.3, 5],   // cluster 1
 *   [10, 0],                      // noise
 * ]);
 * db.labels;    // Int32Array [0, 0, 0, 1, 1, 1, -1]
 * db.nClusters; // 2
 * db.scoreSamples([[0.1, 0.1], [20, 20]]); // [≈0.28, ≈42]: ≤ 1 within reach of a cluster
 * ```
 */
export class Dbscan {
  readonly eps: number;
  readonly minPts: number;
  readonly metric: Metric;
  readonly algorithm: DbscanAlgorithm;
  private state: Fitted | null = null;

  /**
   * @throws DetectorConfigError naming the option and the value when eps is not a finite number
   *   > 0, minPts not an integer ≥ 1, or metric / algorithm unknown.
   */
  constructor(options: DbscanOptions) {
    if (options === null || typeof options !== 'object') {
      throw new DetectorConfigError(`Dbscan needs an options object { eps, minPts }, got ${String(options)}`);
    }
    const { eps, minPts, metric = 'euclidean', algorithm = 'auto' } = options;
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) {
      throw new DetectorConfigError(`eps must be a finite number > 0, got ${String(eps)}`);
    }
    if (typeof minPts !== 'number' || !Number.isInteger(minPts) || minPts < 1) {
      throw new DetectorConfigError(`minPts must be an integer ≥ 1, got ${String(minPts)}`);
    }
    metricCode(metric, 'metric');
    if (!ALGORITHMS.includes(algorithm)) {
      throw new DetectorConfigError(
        `algorithm must be one of ${ALGORITHMS.map((a) => `'${a}'`).join(', ')}, got ${
          typeof algorithm === 'string' ? `'${algorithm}'` : String(algorithm)
        }`,
      );
    }
    this.eps = eps;
    this.minPts = minPts;
    this.metric = metric;
    this.algorithm = algorithm;
  }

  private fitted(): Fitted {
    if (this.state === null) throw new NotFittedError('this Dbscan is not fitted yet: call fit(X) first');
    return this.state;
  }

  /** Cluster label of every fitted row: 0, 1, … or −1 for noise. */
  get labels(): Int32Array<ArrayBuffer> {
    return this.fitted().labels;
  }

  /** 1 for the rows that are core points, 0 for the others. */
  get coreMask(): Uint8Array<ArrayBuffer> {
    return this.fitted().coreMask;
  }

  /** Number of clusters found (labels run from 0 to nClusters − 1). */
  get nClusters(): number {
    return this.fitted().nClusters;
  }

  /** The spatial index the last `fit` used. */
  get index(): 'grid' | 'kd-tree' {
    return this.fitted().index;
  }

  /**
   * Clusters `X`.
   *
   * @param cols the column count when `X` is a bare row-major `Float64Array`.
   * @throws DetectorInputError when `X` is empty, ragged, or holds a non-finite value.
   *
   * @example
   * ```ts
   * const labels = new Dbscan({ eps: 0.5, minPts: 10 }).fit(data, 2).labels;
   * ```
   */
  fit(X: MatrixInput, cols?: number): this {
    const m = toMatrix(X, cols, 'X');
    const n = m.rows;
    const d = m.cols;
    const eps = this.eps;
    const minPts = this.minPts;
    const metric = this.metric;

    const useGrid =
      (this.algorithm === 'grid' || (this.algorithm === 'auto' && d <= GRID_MAX_DIM)) &&
      GridIndex.fits(m.data, n, d, eps);
    const index: SpatialIndex = useGrid
      ? new GridIndex(m.data, n, d, eps, metric)
      : new KdTree(m.data, n, d, metric);
    const pts = index.points;

    // Everything below is indexed by the index's positions (neighbours are close in memory); the
    // results are mapped back to input rows at the end.
    const core = new Uint8Array(n);
    for (let p = 0; p < n; p++) {
      if (index.countWithin(pts, p * d, eps, minPts) >= minPts) core[p] = 1;
    }

    const order = index.order;
    const positionOf = new Int32Array(n);
    for (let p = 0; p < n; p++) positionOf[order[p]] = p;
    const label = new Int32Array(n).fill(-1);
    // Each point is labelled, then pushed, at most once: the stack never exceeds n.
    const stack = new Int32Array(n);
    const buf = new NeighbourBuffer(Math.max(64, 2 * minPts));
    let cluster = 0;
    for (let i = 0; i < n; i++) {
      const seed = positionOf[i];
      if (label[seed] !== -1 || core[seed] === 0) continue;
      // scikit-learn's dbscan_inner labels a point when it is popped and may push a point more than
      // once; labelling on push instead gives the same labels (a point joins the cluster being
      // expanded when it is first reached either way) with a stack bounded by n. A labelled point
      // can neither change nor be pushed again, so it is removed from the index's later queries.
      label[seed] = cluster;
      index.remove(seed);
      let sp = 0;
      stack[sp++] = seed;
      while (sp > 0) {
        const p = stack[--sp];
        const found = index.radiusSearch(pts, p * d, eps, buf);
        const nb = buf.data;
        for (let t = 0; t < found; t++) {
          const v = nb[t];
          label[v] = cluster;
          index.remove(v);
          if (core[v] !== 0) stack[sp++] = v;
        }
      }
      cluster++;
    }

    const labels = new Int32Array(n);
    const coreMask = new Uint8Array(n);
    let nCore = 0;
    for (let p = 0; p < n; p++) {
      labels[order[p]] = label[p];
      coreMask[order[p]] = core[p];
      nCore += core[p];
    }
    const corePoints = new Float64Array(nCore * d);
    const coreLabels = new Int32Array(nCore);
    for (let i = 0, c = 0; i < n; i++) {
      if (coreMask[i] === 0) continue;
      const src = positionOf[i] * d;
      for (let j = 0; j < d; j++) corePoints[c * d + j] = pts[src + j];
      coreLabels[c++] = labels[i];
    }
    this.state = {
      labels,
      coreMask,
      nClusters: cluster,
      cols: d,
      index: useGrid ? 'grid' : 'kd-tree',
      corePoints,
      coreLabels,
      coreTree: null,
    };
    return this;
  }

  /**
   * Fits and returns the labels.
   *
   * @example
   * ```ts
   * const labels = new Dbscan({ eps: 1, minPts: 5 }).fitPredict(rows);
   * ```
   */
  fitPredict(X: MatrixInput, cols?: number): Int32Array<ArrayBuffer> {
    return this.fit(X, cols).labels;
  }

  private coreTree(state: Fitted): KdTree | null {
    if (state.coreLabels.length === 0) return null;
    if (state.coreTree === null) {
      state.coreTree = new KdTree(state.corePoints, state.coreLabels.length, state.cols, this.metric);
    }
    return state.coreTree;
  }

  /**
   * For each row of `X`, the distance to the nearest core point of the fitted data divided by eps:
   * ≤ 1 means the row lies within reach of a cluster (it would be a border point or better), > 1
   * that it lies outside every cluster, and larger means farther. When the fit found no core point
   * at all, every score is +Infinity.
   *
   * @throws NotFittedError before `fit`; DetectorInputError when `X` is invalid or of another width.
   *
   * @example
   * ```ts
   * const db = new Dbscan({ eps: 0.5, minPts: 10 }).fit(history, 2);
   * const scores = db.scoreSamples(window, 2); // flag rows with score > 1
   * ```
   */
  scoreSamples(X: MatrixInput, cols?: number): Float64Array<ArrayBuffer> {
    const state = this.fitted();
    const m = toMatrix(X, cols, 'X', state.cols);
    const out = new Float64Array(m.rows);
    const tree = this.coreTree(state);
    if (tree === null) return out.fill(Number.POSITIVE_INFINITY);
    for (let i = 0; i < m.rows; i++) {
      tree.nearest(m.data, i * m.cols);
      out[i] = tree.lastDistance / this.eps;
    }
    return out;
  }

  /**
   * For each row of `X`, the cluster of the nearest fitted core point if that point is within
   * eps, else −1 (ties go to the core point of the lowest row; see `KdTree.nearest`). This is the rule for new data;
   * a fitted border point within eps of two clusters can get another label here than in `labels`,
   * which follow scikit-learn's first-reached rule.
   *
   * @throws NotFittedError before `fit`; DetectorInputError when `X` is invalid or of another width.
   *
   * @example
   * ```ts
   * const db = new Dbscan({ eps: 0.5, minPts: 10 }).fit(history, 2);
   * const clusterOf = db.predict([[3.1, 4.2]]);
   * ```
   */
  predict(X: MatrixInput, cols?: number): Int32Array<ArrayBuffer> {
    const state = this.fitted();
    const m = toMatrix(X, cols, 'X', state.cols);
    const out = new Int32Array(m.rows).fill(-1);
    const tree = this.coreTree(state);
    if (tree === null) return out;
    for (let i = 0; i < m.rows; i++) {
      const p = tree.nearest(m.data, i * m.cols);
      if (tree.lastDistance <= this.eps) out[i] = state.coreLabels[tree.order[p]];
    }
    return out;
  }
}
