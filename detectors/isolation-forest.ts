/**
 * Isolation Forest (Liu, Ting & Zhou, 2008), matching scikit-learn 1.2's `IsolationForest`:
 * ψ-row sub-samples drawn without replacement, height limit ⌈log₂ ψ⌉, ExtraTree-style splits on a
 * random non-constant feature, leaf credit depth + c(size), score 2^(−E[h(x)]/c(ψ)).
 *
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { DetectorConfigError, DetectorInputError, ModelSchemaError, NotFittedError } from './errors.js';
import {
  averagePathLength,
  deriveForest,
  type FlatForest,
  growForest,
  heightLimit,
  type LoopedForest,
  loopForest,
  MAX_KERNEL_VALUES,
  MAX_PADDED_HEIGHT,
  makeForest,
  maxNodesPerTree,
  type PaddedForest,
  padForest,
  pathSumLooped,
  pathSumPadded,
  pathSumsLooped,
  pathSumsPadded,
} from './isolation-forest-tree.js';
import { type MatrixInput, toMatrix, toVector } from './matrix.js';
import { checkSeed, DEFAULT_SEED } from './random.js';

/**
 * Options of {@link IsolationForest}; every field is optional.
 *
 * @example
 * ```ts
 * const options: IsolationForestOptions = { nTrees: 200, contamination: 0.02, seed: 7 };
 * ```
 */
export interface IsolationForestOptions {
  /** Number of trees, an integer ≥ 1. Default 100. */
  nTrees?: number;
  /** Rows sub-sampled (without replacement) per tree, an integer ≥ 2; capped at the row count. Default 256. */
  sampleSize?: number;
  /** Seed of every random choice: the same seed gives bit-identical scores. Default {@link DEFAULT_SEED}. */
  seed?: number;
  /**
   * Expected share of anomalies in the training data, in (0, 0.5], which sets {@link IsolationForest.threshold}
   * to the matching quantile of the training scores; `'auto'` (default) uses the paper's threshold 0.5.
   */
  contamination?: 'auto' | number;
}

/**
 * How much one feature did to isolate a point (see {@link IsolationForest.explain}).
 *
 * @example
 * ```ts
 * const c: FeatureContribution = { feature: 2, share: 0.8, direction: 'above', value: 40, typical: 3 };
 * ```
 */
export interface FeatureContribution {
  /** Column index. */
  feature: number;
  /** Share of the isolation credit, in [0, 1]; the shares of one explanation sum to 1. */
  share: number;
  /** Whether the point was isolated for being above (`x[f] > threshold`) or below the splits on this feature. */
  direction: 'above' | 'below';
  /** The point's value of this feature. */
  value: number;
  /** The training median of this feature. */
  typical: number;
}

/**
 * The result of {@link IsolationForest.explain}.
 *
 * @example
 * ```ts
 * const { score, contributions } = forest.explain([1, 2, 300]);
 * console.log(score, contributions[0].feature);
 * ```
 */
export interface Explanation {
  /** The anomaly score, as {@link IsolationForest.scoreOne} gives it. */
  score: number;
  /** One entry per feature, by share, largest first. */
  contributions: FeatureContribution[];
}

/**
 * The serialized form of a fitted {@link IsolationForest} (plain JSON). The trees are stored in
 * pre-order, all trees concatenated; the typed arrays are base64 of their little-endian bytes.
 *
 * @example
 * ```ts
 * const json: IsolationForestJSON = forest.toJSON();
 * fs.writeFileSync('model.json', JSON.stringify(json));
 * ```
 */
export interface IsolationForestJSON {
  kind: typeof MODEL_KIND;
  schemaVersion: typeof SCHEMA_VERSION;
  nTrees: number;
  /** The `sampleSize` option as given. */
  requestedSampleSize: number;
  seed: number;
  contamination: 'auto' | number;
  nFeatures: number;
  /** The effective sample size ψ = min(requestedSampleSize, training rows). */
  sampleSize: number;
  threshold: number;
  featureMedians: number[];
  trees: {
    encoding: 'base64-le';
    /** Node count of each tree. */
    nodes: number[];
    /** Int32 per node: split feature, -1 at a leaf. */
    feature: string;
    /** Float64 per node: split threshold (`x[f] <= threshold` goes left), 0 at a leaf. */
    threshold: string;
    /** Int32 per node: training rows (of the tree's sub-sample) that reached the node. */
    count: string;
  };
}

const MODEL_KIND = 'shelfwatch.IsolationForest';
/** At most this many padded leaves in all (~20 bytes each with their splits): 16M leaves, ~320 MB. */
const MAX_PADDED_LEAVES = 2 ** 24;
const SCHEMA_VERSION = 1;

interface Fitted {
  forest: FlatForest;
  /** The scoring layout: padded complete trees when they fit the budget, else looped compact trees. */
  layout: { kind: 'padded'; trees: PaddedForest } | { kind: 'looped'; trees: LoopedForest };
  threshold: number;
  medians: Float64Array;
  /** nTrees · c(ψ): the mean path length is normalised by c(ψ). */
  denominator: number;
  /** Reused by scoreOne so that streaming scoring allocates nothing. */
  scratch: Float64Array;
}

/**
 * Isolation Forest anomaly detector (Liu, Ting & Zhou 2008), a faithful port of scikit-learn 1.2's
 * `IsolationForest` with trees stored in flat typed arrays for fast scoring.
 *
 * Scores are in (0, 1], higher = more anomalous; 0.5 is the paper's natural boundary.
 *
 * @example
 * ```ts
 * const forest = new IsolationForest({ nTrees: 100, seed: 1 }).fit(rows);
 * const scores = forest.scoreSamples(rows); // Float64Array, higher = more anomalous
 * const flags = forest.predict(rows); // Uint8Array, 1 = anomaly
 * const why = forest.explain(rows[0]); // which features isolated it
 * const copy = IsolationForest.fromJSON(JSON.parse(JSON.stringify(forest.toJSON())));
 * ```
 */
export class IsolationForest {
  readonly nTrees: number;
  /** The requested sample size; the effective ψ is capped at the training row count. */
  readonly sampleSize: number;
  readonly seed: number;
  readonly contamination: 'auto' | number;
  private fitted: Fitted | null = null;

  constructor(options: IsolationForestOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new DetectorConfigError(`options must be an object, got ${String(options)}`);
    }
    const { nTrees = 100, sampleSize = 256, seed = DEFAULT_SEED, contamination = 'auto' } = options;
    if (typeof nTrees !== 'number' || !Number.isInteger(nTrees) || nTrees < 1) {
      throw new DetectorConfigError(`nTrees must be an integer >= 1, got ${show(nTrees)}`);
    }
    if (typeof sampleSize !== 'number' || !Number.isInteger(sampleSize) || sampleSize < 2) {
      throw new DetectorConfigError(`sampleSize must be an integer >= 2, got ${show(sampleSize)}`);
    }
    if (sampleSize > 2 ** 30) {
      throw new DetectorConfigError(`sampleSize must be at most 2^30, got ${show(sampleSize)}`);
    }
    if (
      contamination !== 'auto' &&
      !(typeof contamination === 'number' && contamination > 0 && contamination <= 0.5)
    ) {
      throw new DetectorConfigError(
        `contamination must be 'auto' or a number in (0, 0.5], got ${show(contamination)}`,
      );
    }
    checkSeed(seed);
    this.nTrees = nTrees;
    this.sampleSize = sampleSize;
    this.seed = seed;
    this.contamination = contamination;
  }

  /** Whether {@link fit} (or {@link fromJSON}) has produced a model. */
  get isFitted(): boolean {
    return this.fitted !== null;
  }

  /** Column count the model was fitted on. */
  get nFeatures(): number {
    return this.state('nFeatures').forest.nFeatures;
  }

  /**
   * The score above which a point is an anomaly: 0.5 with `contamination: 'auto'`, otherwise the
   * (1 − contamination) quantile of the training scores (numpy's linear interpolation), which is
   * scikit-learn's `offset_` with the sign flipped.
   *
   * @throws NotFittedError before {@link fit}.
   *
   * @example
   * ```ts
   * const forest = new IsolationForest({ contamination: 0.02 }).fit(rows);
   * const flagged = rows.filter((r) => forest.scoreOne(r) > forest.threshold); // about 2% of rows
   * ```
   */
  get threshold(): number {
    return this.state('threshold').threshold;
  }

  /**
   * Grows the forest on `X` (at least 2 rows). Replaces any previous model.
   *
   * @param X rows of numbers, `{ data, cols }`, or a row-major `Float64Array` with `cols`.
   * @throws DetectorInputError on empty, ragged, non-finite or single-row data.
   *
   * @example
   * ```ts
   * const forest = new IsolationForest().fit([[1, 2], [1.1, 2.1], [9, 9]]);
   * ```
   */
  fit(X: MatrixInput, cols?: number): this {
    const m = toMatrix(X, cols, 'X');
    if (m.rows < 2) {
      throw new DetectorInputError(`X has ${m.rows} row; an isolation forest needs at least 2 rows to fit`);
    }
    const psi = Math.min(this.sampleSize, m.rows);
    const forest = growForest(m.data, m.rows, m.cols, this.nTrees, psi, this.seed);
    const fitted = assemble(forest, 0.5, columnMedians(m.data, m.rows, m.cols));
    if (this.contamination !== 'auto') {
      const scores = new Float64Array(m.rows);
      scoreInto(fitted, m.data, m.cols, m.rows, scores);
      fitted.threshold = contaminationThreshold(scores, this.contamination);
    }
    this.fitted = fitted;
    return this;
  }

  /**
   * Anomaly scores s(x) = 2^(−E[h(x)]/c(ψ)) in (0, 1]; higher = more anomalous.
   *
   * @throws NotFittedError before {@link fit}; DetectorInputError on bad data or a column count
   * other than the fitted one.
   *
   * @example
   * ```ts
   * const scores = forest.scoreSamples([[1, 2], [50, -3]]);
   * ```
   */
  scoreSamples(X: MatrixInput, cols?: number): Float64Array {
    const st = this.state('scoreSamples');
    const m = toMatrix(X, cols, 'X', st.forest.nFeatures);
    const out = new Float64Array(m.rows);
    scoreInto(st, m.data, m.cols, m.rows, out);
    return out;
  }

  /**
   * The score of one observation, for streaming callers: validates and scores without allocating.
   * Bit-identical to the matching entry of {@link scoreSamples}.
   *
   * @example
   * ```ts
   * for (const reading of stream) if (forest.scoreOne(reading) > forest.threshold) alert(reading);
   * ```
   */
  scoreOne(x: ArrayLike<number>): number {
    const st = this.state('scoreOne');
    const d = st.forest.nFeatures;
    if (x === null || typeof x !== 'object' || x.length !== d) {
      const got = x !== null && typeof x === 'object' ? `${x.length} values` : String(x);
      throw new DetectorInputError(`x must be ${d} numbers (the fitted width), got ${got}`);
    }
    const buf = st.scratch;
    for (let j = 0; j < d; j++) {
      const v: unknown = x[j];
      if (typeof v !== 'number' || v - v !== 0) {
        throw new DetectorInputError(`x[${j}] is ${String(v)}; every value must be a finite number`);
      }
      buf[j] = v;
    }
    const layout = st.layout;
    const sum =
      layout.kind === 'padded'
        ? pathSumPadded(layout.trees, st.forest.nTrees, buf)
        : pathSumLooped(layout.trees, buf);
    return 2 ** -(sum / st.denominator);
  }

  /**
   * 1 where the score exceeds {@link threshold} (an anomaly), else 0.
   *
   * @example
   * ```ts
   * const flags = forest.predict(rows); // Uint8Array
   * ```
   */
  predict(X: MatrixInput, cols?: number): Uint8Array {
    const st = this.state('predict');
    const scores = this.scoreSamples(X, cols);
    const out = new Uint8Array(scores.length);
    const thr = st.threshold;
    for (let i = 0; i < scores.length; i++) out[i] = scores[i] > thr ? 1 : 0;
    return out;
  }

  /**
   * score − {@link threshold}: positive = anomaly. Note the sign is the opposite of scikit-learn's
   * `decision_function` (where negative = anomaly), because our score is "higher = more anomalous".
   *
   * @example
   * ```ts
   * const margin = forest.decisionFunction(rows); // > 0 for predicted anomalies
   * ```
   */
  decisionFunction(X: MatrixInput, cols?: number): Float64Array {
    const st = this.state('decisionFunction');
    const out = this.scoreSamples(X, cols);
    for (let i = 0; i < out.length; i++) out[i] -= st.threshold;
    return out;
  }

  /**
   * Which features isolated `x`, and in which direction.
   *
   * Definition: along x's path in every tree, a split on feature f that sends x from a node of
   * n_node training rows into a child of n_child rows credits f with log₂(n_node / n_child) bits,
   * the information that split spent isolating x. A feature's share is its credit over the total.
   * `direction` is `'above'` when the larger part of f's credit came from splits x passed on the
   * right (x[f] > threshold) and `'below'` when it came from the left; on a tie (including features
   * with no credit) it compares `value` with `typical` (≥ → `'above'`). `typical` is the training
   * median of the feature. If no split lies on x's path in any tree (e.g. constant training data),
   * every feature gets an equal share.
   *
   * @example
   * ```ts
   * const { score, contributions } = forest.explain([0.5, 0.4, 40]);
   * // contributions[0] → { feature: 2, share: 0.9, direction: 'above', value: 40, typical: 0.5 }
   * ```
   */
  explain(x: ArrayLike<number>): Explanation {
    const st = this.state('explain');
    const { nTrees, nFeatures: d, offsets, feature, threshold, count, right } = st.forest;
    const v = toVector(x, d, 'x');
    const credit = new Float64Array(d);
    const rightCredit = new Float64Array(d);
    for (let t = 0; t < nTrees; t++) {
      let i = offsets[t];
      while (feature[i] >= 0) {
        const f = feature[i];
        const wentRight = v[f] > threshold[i];
        const child = wentRight ? right[i] : i + 1;
        const bits = Math.log2(count[i] / count[child]);
        credit[f] += bits;
        if (wentRight) rightCredit[f] += bits;
        i = child;
      }
    }
    let total = 0;
    for (let f = 0; f < d; f++) total += credit[f];
    const contributions: FeatureContribution[] = [];
    for (let f = 0; f < d; f++) {
      const typical = st.medians[f];
      const leftCredit = credit[f] - rightCredit[f];
      const direction =
        rightCredit[f] > leftCredit
          ? 'above'
          : rightCredit[f] < leftCredit
            ? 'below'
            : v[f] >= typical
              ? 'above'
              : 'below';
      contributions.push({
        feature: f,
        share: total > 0 ? credit[f] / total : 1 / d,
        direction,
        value: v[f],
        typical,
      });
    }
    contributions.sort((a, b) => b.share - a.share || a.feature - b.feature);
    return { score: this.scoreOne(v), contributions };
  }

  /**
   * A plain JSON-safe snapshot of the fitted model; {@link fromJSON} restores it bit-exactly.
   *
   * @example
   * ```ts
   * fs.writeFileSync('forest.json', JSON.stringify(forest.toJSON()));
   * ```
   */
  toJSON(): IsolationForestJSON {
    const st = this.state('toJSON');
    const f = st.forest;
    const nodes: number[] = [];
    for (let t = 0; t < f.nTrees; t++) nodes.push(f.offsets[t + 1] - f.offsets[t]);
    return {
      kind: MODEL_KIND,
      schemaVersion: SCHEMA_VERSION,
      nTrees: this.nTrees,
      requestedSampleSize: this.sampleSize,
      seed: this.seed,
      contamination: this.contamination,
      nFeatures: f.nFeatures,
      sampleSize: f.psi,
      threshold: st.threshold,
      featureMedians: Array.from(st.medians),
      trees: {
        encoding: 'base64-le',
        nodes,
        feature: encodeInt32(f.feature),
        threshold: encodeFloat64(f.threshold),
        count: encodeInt32(f.count),
      },
    };
  }

  /**
   * Restores a model written by {@link toJSON}, validating it throughout.
   *
   * @throws ModelSchemaError for another kind or schema version, or a malformed or inconsistent model.
   *
   * @example
   * ```ts
   * const forest = IsolationForest.fromJSON(JSON.parse(fs.readFileSync('forest.json', 'utf8')));
   * ```
   */
  static fromJSON(json: unknown): IsolationForest {
    const o = asRecord(json, 'the model');
    if (o.kind !== MODEL_KIND) {
      throw new ModelSchemaError(`model kind is ${show(o.kind)}, expected ${JSON.stringify(MODEL_KIND)}`);
    }
    if (o.schemaVersion !== SCHEMA_VERSION) {
      throw new ModelSchemaError(
        `IsolationForest model has schemaVersion ${show(o.schemaVersion)}; this library reads schemaVersion ${SCHEMA_VERSION}`,
      );
    }
    for (const key of ['nTrees', 'requestedSampleSize', 'seed', 'contamination']) {
      // Absent options must not silently take their defaults: the trees were grown with the stored ones.
      if (o[key] === undefined) throw invalid(`${key} is missing`);
    }
    let model: IsolationForest;
    try {
      model = new IsolationForest({
        nTrees: o.nTrees as number,
        sampleSize: o.requestedSampleSize as number,
        seed: o.seed as number,
        contamination: o.contamination as 'auto' | number,
      });
    } catch (err) {
      if (err instanceof DetectorConfigError)
        throw new ModelSchemaError(`invalid IsolationForest model: ${err.message}`);
      throw err;
    }
    const nTrees = model.nTrees;
    const nFeatures = o.nFeatures;
    if (
      typeof nFeatures !== 'number' ||
      !Number.isInteger(nFeatures) ||
      nFeatures < 1 ||
      nFeatures > 2 ** 31 - 1
    ) {
      throw invalid(`nFeatures must be a positive integer, got ${show(nFeatures)}`);
    }
    const psi = o.sampleSize;
    if (typeof psi !== 'number' || !Number.isInteger(psi) || psi < 2 || psi > model.sampleSize) {
      throw invalid(
        `sampleSize must be an integer in 2..${model.sampleSize} (requestedSampleSize), got ${show(psi)}`,
      );
    }
    const thr = o.threshold;
    if (typeof thr !== 'number' || !(thr > 0 && thr <= 1)) {
      throw invalid(`threshold must be a number in (0, 1], got ${show(thr)}`);
    }
    if (model.contamination === 'auto' && thr !== 0.5) {
      throw invalid(`threshold must be 0.5 with contamination 'auto', got ${thr}`);
    }
    const med = o.featureMedians;
    if (!Array.isArray(med) || med.length !== nFeatures) {
      throw invalid(`featureMedians must be an array of ${nFeatures} numbers`);
    }
    const medians = new Float64Array(nFeatures);
    for (let j = 0; j < nFeatures; j++) {
      const v: unknown = med[j];
      if (typeof v !== 'number' || v - v !== 0)
        throw invalid(`featureMedians[${j}] is ${show(v)}, not a finite number`);
      medians[j] = v;
    }
    const trees = asRecord(o.trees, 'trees');
    if (trees.encoding !== 'base64-le')
      throw invalid(`trees.encoding must be "base64-le", got ${show(trees.encoding)}`);
    const nodes = trees.nodes;
    if (!Array.isArray(nodes) || nodes.length !== nTrees) {
      throw invalid(`trees.nodes must list the node count of each of the ${nTrees} trees`);
    }
    const offsets = new Int32Array(nTrees + 1);
    const perTreeMax = maxNodesPerTree(psi, heightLimit(psi));
    for (let t = 0; t < nTrees; t++) {
      const k: unknown = nodes[t];
      if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > perTreeMax) {
        throw invalid(`trees.nodes[${t}] must be an integer in 1..${perTreeMax}, got ${show(k)}`);
      }
      offsets[t + 1] = offsets[t] + k;
    }
    const total = offsets[nTrees];
    const forest = makeForest(
      nTrees,
      nFeatures,
      psi,
      offsets,
      decodeInt32(trees.feature, total, 'trees.feature'),
      decodeFloat64(trees.threshold, total, 'trees.threshold'),
      decodeInt32(trees.count, total, 'trees.count'),
    );
    const problem = deriveForest(forest);
    if (problem !== null) throw invalid(problem);
    model.fitted = assemble(forest, thr, medians);
    return model;
  }

  private state(method: string): Fitted {
    if (this.fitted === null) {
      throw new NotFittedError(`IsolationForest is not fitted: call fit() before ${method}`);
    }
    return this.fitted;
  }
}

function assemble(forest: FlatForest, threshold: number, medians: Float64Array): Fitted {
  return {
    forest,
    // Padded trees cost 2^h nodes each whatever their shape, so very tall or very many trees use the
    // looped compact layout instead (about 30% slower, same scores, memory ∝ real nodes).
    layout:
      forest.height <= MAX_PADDED_HEIGHT && forest.nTrees * 2 ** forest.height <= MAX_PADDED_LEAVES
        ? { kind: 'padded', trees: padForest(forest) }
        : { kind: 'looped', trees: loopForest(forest) },
    threshold,
    medians,
    denominator: forest.nTrees * averagePathLength(forest.psi),
    scratch: new Float64Array(forest.nFeatures),
  };
}

function scoreInto(st: Fitted, data: Float64Array, cols: number, rows: number, out: Float64Array): void {
  // The kernels index in int32: hand over inputs of more than 2^31 values in chunks of rows.
  const chunk = Math.floor(MAX_KERNEL_VALUES / cols);
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const n = Math.min(chunk, rows - r0);
    const part = r0 === 0 && n === rows ? data : data.subarray(r0 * cols, (r0 + n) * cols);
    const dst = r0 === 0 && n === rows ? out : out.subarray(r0, r0 + n);
    const layout = st.layout;
    if (layout.kind === 'padded') pathSumsPadded(layout.trees, st.forest.nTrees, part, cols, n, dst);
    else pathSumsLooped(layout.trees, part, cols, n, dst);
  }
  const denominator = st.denominator;
  for (let i = 0; i < rows; i++) out[i] = 2 ** -(out[i] / denominator);
}

/**
 * The (1 − c) quantile of the scores, computed exactly as scikit-learn does its `offset_`
 * (`np.percentile(-scores, 100 c)`, linear interpolation) and negated, so the arithmetic matches.
 */
function contaminationThreshold(scores: Float64Array, contamination: number): number {
  const n = scores.length;
  const neg = new Float64Array(n);
  for (let i = 0; i < n; i++) neg[i] = -scores[i];
  neg.sort();
  const q = (100 * contamination) / 100;
  const virtual = (n - 1) * q;
  let lo = Math.floor(virtual);
  let hi = lo + 1;
  if (virtual >= n - 1) {
    lo = n - 1;
    hi = n - 1;
  }
  const t = virtual - Math.floor(virtual);
  // numpy's _lerp: a + (b−a)t, or b − (b−a)(1−t) when t ≥ 0.5 (monotone and exact at t = 1).
  const a = neg[lo];
  const b = neg[hi];
  const diff = b - a;
  const value = t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  return -value;
}

/** Per-column medians (mean of the two middle values for an even count, as numpy). */
function columnMedians(data: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  const col = new Float64Array(rows);
  const mid = rows >> 1;
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) col[i] = data[i * cols + j];
    // Selection, not a sort: O(n) per column keeps fit on 500k+ rows from being all median.
    selectKth(col, mid);
    let m = col[mid];
    if (rows % 2 === 0) {
      let below = col[0];
      for (let i = 1; i < mid; i++) if (col[i] > below) below = col[i];
      const sum = below + m;
      m = sum - sum === 0 ? sum / 2 : below / 2 + m / 2; // halve first only if the sum overflowed
    }
    // + 0 turns −0 into 0, which JSON would do anyway: keeps the round trip exact.
    out[j] = m + 0;
  }
  return out;
}

/** Rearranges `a` so that a[k] is its k-th smallest value and a[0..k) ≤ a[k] ≤ a(k..] (Hoare's quickselect). */
function selectKth(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // Median of three as pivot guards against sorted input.
    const m = (lo + hi) >>> 1;
    const x = a[lo];
    const y = a[m];
    const z = a[hi];
    // The median of x, y, z: max(min(x, y), min(max(x, y), z)).
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function invalid(message: string): ModelSchemaError {
  return new ModelSchemaError(`invalid IsolationForest model: ${message}`);
}

function asRecord(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new ModelSchemaError(`invalid IsolationForest model: ${what} must be an object, got ${show(v)}`);
  }
  return v as Record<string, unknown>;
}

// Typed arrays go through DataView so the stored bytes are little-endian on every machine.
function encodeInt32(a: Int32Array): string {
  const bytes = new Uint8Array(a.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < a.length; i++) view.setInt32(i * 4, a[i], true);
  return Buffer.from(bytes.buffer).toString('base64');
}

function encodeFloat64(a: Float64Array): string {
  const bytes = new Uint8Array(a.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat64(i * 8, a[i], true);
  return Buffer.from(bytes.buffer).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBytes(s: unknown, byteLength: number, what: string): DataView {
  if (typeof s !== 'string') throw invalid(`${what} must be a base64 string, got ${show(s)}`);
  const expected = 4 * Math.ceil(byteLength / 3);
  if (s.length !== expected || !BASE64.test(s)) {
    throw invalid(
      `${what} must be ${expected} base64 characters (${byteLength} bytes), got ${s.length}${BASE64.test(s) ? '' : ' with invalid characters'}`,
    );
  }
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== byteLength)
    throw invalid(`${what} decodes to ${buf.length} bytes, expected ${byteLength}`);
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function decodeInt32(s: unknown, n: number, what: string): Int32Array {
  const view = decodeBytes(s, n * 4, what);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}

function decodeFloat64(s: unknown, n: number, what: string): Float64Array {
  const view = decodeBytes(s, n * 8, what);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}
