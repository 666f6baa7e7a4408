/**
 * The numeric core of the Isolation Forest: path-length constants, sub-sampling, iterative tree
 * growth into flat typed arrays, validation of a stored forest, and the scoring kernels.
 *
 * Internal module: `IsolationForest` (in `isolation-forest.ts`) is the public face. Everything here
 * works on typed arrays only, so that the hot loops stay monomorphic and allocation-free.
 *
 * @packageDocumentation
 */
import { Rng } from './random.js';

/**
 * Euler–Mascheroni constant γ, as in scikit-learn's `np.euler_gamma`.
 *
 * @example
 * ```ts
 * averagePathLength(3) === 2 * (Math.log(2) + EULER_GAMMA) - 4 / 3; // true
 * ```
 */
export const EULER_GAMMA = 0.5772156649015329;

/**
 * c(n): the average path length of an unsuccessful search in a binary search tree of `n` keys
 * (Liu et al. 2008, eq. 1), used both to normalise scores and as the path-length credit of a leaf
 * that still holds `n` training rows. Exactly scikit-learn's `_average_path_length`.
 *
 * @example
 * ```ts
 * averagePathLength(2); // 1
 * averagePathLength(256); // ≈ 10.24477
 * ```
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/**
 * The height limit of a tree grown on ψ rows: ⌈log₂ ψ⌉, as scikit-learn's
 * `ceil(log2(max(max_samples, 2)))`.
 *
 * @example
 * ```ts
 * heightLimit(256); // 8
 * ```
 */
export function heightLimit(psi: number): number {
  return Math.ceil(Math.log2(Math.max(psi, 2)));
}

/**
 * Draws `k` distinct indices uniformly out of `perm` (length `n`) by a partial Fisher–Yates
 * shuffle: afterwards `perm[0..k)` is the sample. `perm` must hold a permutation of `0..n-1`; it
 * still does afterwards, so the same array serves every tree without an O(n) reset.
 *
 * @example
 * ```ts
 * const perm = Int32Array.from({ length: 10 }, (_, i) => i);
 * drawSample(perm, 3, new Rng(1)); // perm[0], perm[1], perm[2] are 3 distinct rows
 * ```
 */
export function drawSample(perm: Int32Array, k: number, rng: Rng): void {
  const n = perm.length;
  for (let i = 0; i < k; i++) {
    const j = i + rng.nextInt(n - i);
    const tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
}

/**
 * One tree in pre-order (node, then its left subtree, then its right subtree), which is all a
 * tree needs to be rebuilt: `feature` is -1 at a leaf, `threshold` is 0 there, `count` is the
 * number of training rows that reached the node.
 *
 * @example
 * ```ts
 * const { feature, threshold, count } = builder.out; // feature[0] === -1: the root is a leaf
 * ```
 */
export interface TreeArrays {
  feature: Int32Array;
  threshold: Float64Array;
  count: Int32Array;
}

/**
 * Grows isolation trees with reusable scratch buffers (one builder per `fit`). Splits follow
 * scikit-learn's ExtraTree with `max_features=1`: a random feature among those not constant in
 * the node, a threshold uniform in [min, max) of it, `x[f] <= threshold` goes left.
 *
 * @example
 * ```ts
 * const builder = new TreeBuilder(data, cols, 256, heightLimit(256));
 * drawSample(perm, 256, rng);
 * const nodes = builder.build(perm, rng); // pre-order tree in builder.out[0..nodes)
 * ```
 */
export class TreeBuilder {
  private readonly idx: Int32Array;
  private readonly stack: Int32Array;
  private readonly candidates: Int32Array;
  /** Scratch output, large enough for any tree of this ψ and height limit. */
  readonly out: TreeArrays;

  constructor(
    private readonly data: Float64Array,
    private readonly cols: number,
    private readonly psi: number,
    private readonly height: number,
  ) {
    const maxNodes = maxNodesPerTree(psi, height);
    this.idx = new Int32Array(psi);
    // Pre-order growth keeps at most one pending right sibling per level, so h + 2 frames suffice;
    // sized generously anyway since it costs nothing.
    this.stack = new Int32Array(4 * (height + 3));
    this.candidates = new Int32Array(cols);
    this.out = {
      feature: new Int32Array(maxNodes),
      threshold: new Float64Array(maxNodes),
      count: new Int32Array(maxNodes),
    };
  }

  /**
   * Grows one tree on the rows `sample[0..ψ)` into `this.out`, drawing every random choice from
   * `rng`. Returns the number of nodes written.
   */
  build(sample: Int32Array, rng: Rng): number {
    const { idx, stack, candidates, data, cols, height } = this;
    const { feature, threshold, count } = this.out;
    idx.set(sample.subarray(0, this.psi));
    let nNodes = 0;
    // Frames of (start, end, depth) over idx; pre-order: push right, then left.
    let sp = 0;
    stack[0] = 0;
    stack[1] = this.psi;
    stack[2] = 0;
    sp = 3;
    while (sp > 0) {
      sp -= 3;
      const start = stack[sp];
      const end = stack[sp + 1];
      const depth = stack[sp + 2];
      const node = nNodes++;
      const size = end - start;
      count[node] = size;
      feature[node] = -1;
      threshold[node] = 0;
      if (size <= 1 || depth >= height) continue;

      // Draw features without replacement until one varies in the node; if none does the node is
      // a leaf, so duplicate rows stop here instead of sinking to the height limit.
      for (let j = 0; j < cols; j++) candidates[j] = j;
      let remaining = cols;
      let f = -1;
      let lo = 0;
      let hi = 0;
      while (remaining > 0) {
        const r = remaining === 1 ? 0 : rng.nextInt(remaining);
        const g = candidates[r];
        let mn = data[idx[start] * cols + g];
        let mx = mn;
        for (let k = start + 1; k < end; k++) {
          const v = data[idx[k] * cols + g];
          if (v < mn) mn = v;
          else if (v > mx) mx = v;
        }
        if (mx > mn) {
          f = g;
          lo = mn;
          hi = mx;
          break;
        }
        remaining--;
        candidates[r] = candidates[remaining];
        candidates[remaining] = g;
      }
      if (f < 0) continue;

      const u = rng.nextFloat();
      const range = hi - lo;
      // The two-term form only matters when hi - lo overflows (values near ±1.8e308).
      let t = range < Number.POSITIVE_INFINITY ? lo + u * range : lo * (1 - u) + hi * u;
      if (!(t < hi)) t = lo; // scikit-learn: a threshold equal to max becomes min
      feature[node] = f;
      threshold[node] = t;

      // In-place Hoare-style partition: rows with x[f] <= t to the front.
      let a = start;
      let b = end - 1;
      while (a <= b) {
        if (data[idx[a] * cols + f] <= t) a++;
        else {
          const tmp = idx[a];
          idx[a] = idx[b];
          idx[b] = tmp;
          b--;
        }
      }
      stack[sp] = a;
      stack[sp + 1] = end;
      stack[sp + 2] = depth + 1;
      stack[sp + 3] = start;
      stack[sp + 4] = a;
      stack[sp + 5] = depth + 1;
      sp += 6;
    }
    return nNodes;
  }
}

/**
 * An upper bound on the node count of a tree grown on ψ rows with height limit h.
 *
 * @example
 * ```ts
 * maxNodesPerTree(256, 8); // 511
 * ```
 */
export function maxNodesPerTree(psi: number, height: number): number {
  const byHeight = height >= 30 ? Number.POSITIVE_INFINITY : 2 ** (height + 1) - 1;
  return Math.min(2 * psi - 1, byHeight);
}

/**
 * A whole forest in flat typed arrays: tree `t` occupies nodes `offsets[t]..offsets[t+1]` of every
 * array, in pre-order. `right` (index of the right child; the left child is the next node) and
 * `leafValue` (depth + c(count), the path length credited at a leaf) are derived by
 * {@link deriveForest}.
 *
 * @example
 * ```ts
 * const forest: FlatForest = growForest(data, rows, cols, 100, 256, 42);
 * const rootCount = forest.count[forest.offsets[0]]; // 256
 * ```
 */
export interface FlatForest {
  nTrees: number;
  nFeatures: number;
  psi: number;
  height: number;
  offsets: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  count: Int32Array;
  right: Int32Array;
  leafValue: Float64Array;
}

/**
 * Validates the pre-order trees of a forest and fills `right` and `leafValue`. Returns a message
 * describing the first inconsistency (so a corrupted model file is reported, not scored), or
 * `null` when the forest is sound.
 *
 * @example
 * ```ts
 * const problem = deriveForest(forest);
 * if (problem !== null) throw new ModelSchemaError(problem);
 * ```
 */
export function deriveForest(f: FlatForest): string | null {
  const { nTrees, nFeatures, psi, height, offsets, feature, threshold, count, right, leafValue } = f;
  const total = feature.length;
  if (offsets.length !== nTrees + 1 || offsets[0] !== 0 || offsets[nTrees] !== total) {
    return `tree offsets do not cover the ${total} stored nodes`;
  }
  if (threshold.length !== total || count.length !== total || right.length !== total) {
    return 'the node arrays have different lengths';
  }
  if (leafValue.length !== total) return 'the node arrays have different lengths';
  // Pending internal nodes (waiting for their right child) and their depths.
  const pending = new Int32Array(height + 2);
  const pendingDepth = new Int32Array(height + 2);
  for (let t = 0; t < nTrees; t++) {
    const begin = offsets[t];
    const end = offsets[t + 1];
    if (!(end > begin)) return `tree ${t} has no nodes`;
    if (count[begin] !== psi) {
      return `tree ${t}: the root holds ${count[begin]} rows, expected the sample size ${psi}`;
    }
    let sp = 0;
    let depth = 0;
    let complete = false;
    for (let i = begin; i < end; i++) {
      if (complete) return `tree ${t} has nodes after its last leaf`;
      const fe = feature[i];
      const c = count[i];
      if (!Number.isInteger(c) || c < 1)
        return `tree ${t}, node ${i - begin}: row count ${c} is not positive`;
      if (fe === -1) {
        right[i] = -1;
        leafValue[i] = depth + averagePathLength(c);
        if (sp === 0) {
          complete = true;
          continue;
        }
        const p = pending[--sp];
        depth = pendingDepth[sp] + 1;
        // i + 1 is where the right subtree of p begins; its left child is p + 1.
        if (i + 1 >= end) return `tree ${t} is truncated: node ${p - begin} has no right child`;
        right[p] = i + 1;
        if (count[p + 1] + count[i + 1] !== count[p]) {
          return `tree ${t}, node ${p - begin}: children hold ${count[p + 1]} + ${count[i + 1]} rows, not ${count[p]}`;
        }
      } else {
        if (!(fe >= 0 && fe < nFeatures)) {
          return `tree ${t}, node ${i - begin}: feature ${fe} is out of range 0..${nFeatures - 1}`;
        }
        const th = threshold[i];
        if (th - th !== 0) return `tree ${t}, node ${i - begin}: threshold ${th} is not finite`;
        if (depth >= height) return `tree ${t}, node ${i - begin}: split below the height limit ${height}`;
        if (c < 2) return `tree ${t}, node ${i - begin}: a split of ${c} row`;
        leafValue[i] = 0;
        pending[sp] = i;
        pendingDepth[sp] = depth;
        sp++;
        depth++;
      }
    }
    if (!complete) return `tree ${t} is truncated: it ends inside an unfinished subtree`;
  }
  return null;
}

/**
 * Grows `nTrees` trees on ψ-row sub-samples of the `rows × cols` row-major `data` and returns the
 * validated, derived forest. A master generator seeded by `seed` hands each tree its own seed,
 * which drives both the tree's sample and its splits.
 *
 * @example
 * ```ts
 * const forest = growForest(data, rows, cols, 100, Math.min(256, rows), 42);
 * ```
 */
export function growForest(
  data: Float64Array,
  rows: number,
  cols: number,
  nTrees: number,
  psi: number,
  seed: number,
): FlatForest {
  const height = heightLimit(psi);
  const builder = new TreeBuilder(data, cols, psi, height);
  const perm = new Int32Array(rows);
  for (let i = 0; i < rows; i++) perm[i] = i;
  const master = new Rng(seed);
  const maxNodes = maxNodesPerTree(psi, height);
  // Start small and double: real trees are usually far below the 2ψ − 1 node bound.
  let capacity = Math.min(nTrees * maxNodes, 1 << 16);
  let feature = new Int32Array(capacity);
  let threshold = new Float64Array(capacity);
  let count = new Int32Array(capacity);
  const offsets = new Int32Array(nTrees + 1);
  let total = 0;
  for (let t = 0; t < nTrees; t++) {
    const rng = new Rng(master.nextSeed());
    drawSample(perm, psi, rng);
    const nn = builder.build(perm, rng);
    if (total + nn > capacity) {
      capacity = Math.min(Math.max(2 * capacity, total + nn), nTrees * maxNodes);
      const f2 = new Int32Array(capacity);
      const t2 = new Float64Array(capacity);
      const c2 = new Int32Array(capacity);
      f2.set(feature);
      t2.set(threshold);
      c2.set(count);
      feature = f2;
      threshold = t2;
      count = c2;
    }
    feature.set(builder.out.feature.subarray(0, nn), total);
    threshold.set(builder.out.threshold.subarray(0, nn), total);
    count.set(builder.out.count.subarray(0, nn), total);
    total += nn;
    offsets[t + 1] = total;
  }
  const forest = makeForest(
    nTrees,
    cols,
    psi,
    offsets,
    feature.slice(0, total),
    threshold.slice(0, total),
    count.slice(0, total),
  );
  const problem = deriveForest(forest);
  if (problem !== null)
    throw new Error(`internal error: a grown isolation forest is inconsistent: ${problem}`);
  return forest;
}

/**
 * A forest of the given pre-order node arrays, with `right` and `leafValue` still to derive.
 *
 * @example
 * ```ts
 * const forest = makeForest(1, 2, 4, offsets, feature, threshold, count);
 * deriveForest(forest); // fills right and leafValue
 * ```
 */
export function makeForest(
  nTrees: number,
  nFeatures: number,
  psi: number,
  offsets: Int32Array,
  feature: Int32Array,
  threshold: Float64Array,
  count: Int32Array,
): FlatForest {
  const total = feature.length;
  return {
    nTrees,
    nFeatures,
    psi,
    height: heightLimit(psi),
    offsets,
    feature,
    threshold,
    count,
    right: new Int32Array(total),
    leafValue: new Float64Array(total),
  };
}

/**
 * Forests whose height limit is at most this are also laid out as padded complete trees.
 *
 * @example
 * ```ts
 * const padded = forest.height <= MAX_PADDED_HEIGHT ? padForest(forest) : null;
 * ```
 */
export const MAX_PADDED_HEIGHT = 13;

/**
 * The scoring layout: every tree as a complete binary tree of exactly `height` levels in heap
 * order (node i → children 2i+1, 2i+2). Leaves shallower than the limit are padded down with
 * dummy splits (feature 0, threshold +∞, so x always goes left) and their value copied, which makes
 * scoring a fixed `height`-step loop with no leaf test: `i = 2i + 1 + (x[f] > t)`.
 *
 * @example
 * ```ts
 * const p: PaddedForest = padForest(forest); // p.nLeaves === 2 ** p.height
 * ```
 */
export interface PaddedForest {
  height: number;
  /** 2^height − 1 internal nodes per tree. */
  nInternal: number;
  /** 2^height leaves per tree. */
  nLeaves: number;
  feature: Int32Array;
  threshold: Float64Array;
  leafValue: Float64Array;
}

/**
 * Lays a derived forest out as padded complete trees (see {@link PaddedForest}).
 *
 * @example
 * ```ts
 * const padded = padForest(growForest(data, rows, cols, 100, 256, 42));
 * ```
 */
export function padForest(f: FlatForest): PaddedForest {
  const { nTrees, height, offsets, feature, threshold, right, leafValue } = f;
  const nInternal = 2 ** height - 1;
  const nLeaves = nInternal + 1;
  const pFeature = new Int32Array(nTrees * nInternal);
  const pThreshold = new Float64Array(nTrees * nInternal);
  const pLeaf = new Float64Array(nTrees * nLeaves);
  // (flat node, heap index, depth) frames.
  const stack = new Int32Array(3 * (height + 3));
  for (let t = 0; t < nTrees; t++) {
    const ib = t * nInternal;
    const lb = t * nLeaves;
    let sp = 0;
    stack[sp++] = offsets[t];
    stack[sp++] = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      sp -= 3;
      const node = stack[sp];
      const heap = stack[sp + 1];
      const depth = stack[sp + 2];
      if (feature[node] >= 0) {
        pFeature[ib + heap] = feature[node];
        pThreshold[ib + heap] = threshold[node];
        stack[sp] = right[node];
        stack[sp + 1] = 2 * heap + 2;
        stack[sp + 2] = depth + 1;
        stack[sp + 3] = node + 1;
        stack[sp + 4] = 2 * heap + 1;
        stack[sp + 5] = depth + 1;
        sp += 6;
        continue;
      }
      // Leaf at `depth`: fill its whole subtree, level by level, with dummy left-going splits.
      let first = heap;
      let width = 1;
      for (let d = depth; d < height; d++) {
        for (let k = 0; k < width; k++) {
          pFeature[ib + first + k] = 0;
          pThreshold[ib + first + k] = Number.POSITIVE_INFINITY;
        }
        first = 2 * first + 1;
        width *= 2;
      }
      const v = leafValue[node];
      for (let k = 0; k < width; k++) pLeaf[lb + first - nInternal + k] = v;
    }
  }
  return { height, nInternal, nLeaves, feature: pFeature, threshold: pThreshold, leafValue: pLeaf };
}

/** Points scored together per tree pass: the block's rows and sums stay in L1 while a tree is reused. */
const BLOCK = 256;

/**
 * The largest `data.length` the batch kernels accept: they index with int32 arithmetic, so
 * callers hand larger inputs over in chunks of rows.
 *
 * @example
 * ```ts
 * const rowsPerChunk = Math.floor(MAX_KERNEL_VALUES / cols);
 * ```
 */
export const MAX_KERNEL_VALUES = 2 ** 31 - 1;

/**
 * Sums, for every row of `data`, the path lengths over all trees of the padded forest, adding
 * tree by tree in order 0..T−1 from 0 (as {@link pathSumPadded} does, so batch and single-point
 * scores are bit-identical). `data.length` must not exceed {@link MAX_KERNEL_VALUES}.
 *
 * Why it looks like this (measured, 100 trees, ψ = 256, 6-D, Node 20, one core): tree-major over
 * blocks of points, so one tree (~5 KB) is reused across a block; `+(x > t)` rather than
 * `x > t ? 2 : 1`, so V8 emits a set-on-compare instead of a branch mispredicted half the time;
 * eight points walked in lock-step so their independent load chains overlap; and `| 0` on every
 * index so TurboFan keeps the index arithmetic in int32 (without it `t * nInternal` is a double
 * and every array index goes through a float-to-int check). ~820k points/s, against ~270k for a
 * one-point-at-a-time heap loop, ~600k for the looped compact layout and ~180k for a pointer walk
 * with a leaf test.
 *
 * @example
 * ```ts
 * const sums = new Float64Array(rows);
 * pathSumsPadded(padded, forest.nTrees, data, cols, rows, sums);
 * const score0 = 2 ** -(sums[0] / (forest.nTrees * averagePathLength(forest.psi)));
 * ```
 */
export function pathSumsPadded(
  p: PaddedForest,
  nTrees: number,
  data: Float64Array,
  cols: number,
  rows: number,
  out: Float64Array,
): void {
  const { height, nInternal, nLeaves, feature, threshold, leafValue } = p;
  const d = cols | 0;
  for (let p0 = 0; p0 < rows; p0 += BLOCK) {
    const p1 = Math.min(p0 + BLOCK, rows) | 0;
    for (let r = p0; r < p1; r++) out[r] = 0;
    for (let t = 0; t < nTrees; t++) {
      const ib = (t * nInternal) | 0;
      const lb = (t * nLeaves - nInternal) | 0;
      let r = p0 | 0;
      for (; r + 8 <= p1; r += 8) {
        const b0 = (r * d) | 0;
        const b1 = (b0 + d) | 0;
        const b2 = (b1 + d) | 0;
        const b3 = (b2 + d) | 0;
        const b4 = (b3 + d) | 0;
        const b5 = (b4 + d) | 0;
        const b6 = (b5 + d) | 0;
        const b7 = (b6 + d) | 0;
        let i0 = 0;
        let i1 = 0;
        let i2 = 0;
        let i3 = 0;
        let i4 = 0;
        let i5 = 0;
        let i6 = 0;
        let i7 = 0;
        for (let k = 0; k < height; k++) {
          const n0 = (ib + i0) | 0;
          const n1 = (ib + i1) | 0;
          const n2 = (ib + i2) | 0;
          const n3 = (ib + i3) | 0;
          const n4 = (ib + i4) | 0;
          const n5 = (ib + i5) | 0;
          const n6 = (ib + i6) | 0;
          const n7 = (ib + i7) | 0;
          i0 = ((i0 << 1) + 1 + +(data[(b0 + feature[n0]) | 0] > threshold[n0])) | 0;
          i1 = ((i1 << 1) + 1 + +(data[(b1 + feature[n1]) | 0] > threshold[n1])) | 0;
          i2 = ((i2 << 1) + 1 + +(data[(b2 + feature[n2]) | 0] > threshold[n2])) | 0;
          i3 = ((i3 << 1) + 1 + +(data[(b3 + feature[n3]) | 0] > threshold[n3])) | 0;
          i4 = ((i4 << 1) + 1 + +(data[(b4 + feature[n4]) | 0] > threshold[n4])) | 0;
          i5 = ((i5 << 1) + 1 + +(data[(b5 + feature[n5]) | 0] > threshold[n5])) | 0;
          i6 = ((i6 << 1) + 1 + +(data[(b6 + feature[n6]) | 0] > threshold[n6])) | 0;
          i7 = ((i7 << 1) + 1 + +(data[(b7 + feature[n7]) | 0] > threshold[n7])) | 0;
        }
        out[r] += leafValue[(lb + i0) | 0];
        out[r + 1] += leafValue[(lb + i1) | 0];
        out[r + 2] += leafValue[(lb + i2) | 0];
        out[r + 3] += leafValue[(lb + i3) | 0];
        out[r + 4] += leafValue[(lb + i4) | 0];
        out[r + 5] += leafValue[(lb + i5) | 0];
        out[r + 6] += leafValue[(lb + i6) | 0];
        out[r + 7] += leafValue[(lb + i7) | 0];
      }
      for (; r < p1; r++) {
        const base = (r * d) | 0;
        let i = 0;
        for (let k = 0; k < height; k++) {
          const n = (ib + i) | 0;
          i = ((i << 1) + 1 + +(data[(base + feature[n]) | 0] > threshold[n])) | 0;
        }
        out[r] += leafValue[(lb + i) | 0];
      }
    }
  }
}

/**
 * The path-length sum of one point (`x` of the fitted width) in the padded forest: four trees
 * walked in lock-step for the same reasons as {@link pathSumsPadded}, summed in tree order.
 *
 * @example
 * ```ts
 * const sum = pathSumPadded(padded, forest.nTrees, Float64Array.of(0.3, 1.2));
 * ```
 */
export function pathSumPadded(p: PaddedForest, nTrees: number, x: Float64Array): number {
  const { height, nInternal, nLeaves, feature, threshold, leafValue } = p;
  let sum = 0;
  let t = 0;
  for (; t + 4 <= nTrees; t += 4) {
    const a0 = (t * nInternal) | 0;
    const a1 = (a0 + nInternal) | 0;
    const a2 = (a1 + nInternal) | 0;
    const a3 = (a2 + nInternal) | 0;
    let i0 = 0;
    let i1 = 0;
    let i2 = 0;
    let i3 = 0;
    for (let k = 0; k < height; k++) {
      const n0 = (a0 + i0) | 0;
      const n1 = (a1 + i1) | 0;
      const n2 = (a2 + i2) | 0;
      const n3 = (a3 + i3) | 0;
      i0 = ((i0 << 1) + 1 + +(x[feature[n0]] > threshold[n0])) | 0;
      i1 = ((i1 << 1) + 1 + +(x[feature[n1]] > threshold[n1])) | 0;
      i2 = ((i2 << 1) + 1 + +(x[feature[n2]] > threshold[n2])) | 0;
      i3 = ((i3 << 1) + 1 + +(x[feature[n3]] > threshold[n3])) | 0;
    }
    const l = (t * nLeaves - nInternal) | 0;
    sum += leafValue[(l + i0) | 0];
    sum += leafValue[(l + nLeaves + i1) | 0];
    sum += leafValue[(l + 2 * nLeaves + i2) | 0];
    sum += leafValue[(l + 3 * nLeaves + i3) | 0];
  }
  for (; t < nTrees; t++) {
    const ib = (t * nInternal) | 0;
    let i = 0;
    for (let k = 0; k < height; k++) {
      const n = (ib + i) | 0;
      i = ((i << 1) + 1 + +(x[feature[n]] > threshold[n])) | 0;
    }
    sum += leafValue[(t * nLeaves - nInternal + i) | 0];
  }
  return sum;
}

/**
 * The scoring layout for forests too tall or too many to pad: the compact pre-order nodes, with
 * every leaf turned into a self-loop (feature 0, threshold −∞, skip −1) so that, as in the padded
 * layout, a walk is a fixed `height`-step loop with no leaf test. From node i a point moves to
 * i + 1 (left child) or, when x[feature] > threshold, to i + 1 + skip[i] (right child); at a leaf
 * i + 1 + skip = i. Memory stays proportional to the real node count.
 *
 * @example
 * ```ts
 * const looped: LoopedForest = loopForest(forest);
 * ```
 */
export interface LoopedForest {
  nTrees: number;
  height: number;
  offsets: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  skip: Int32Array;
  leafValue: Float64Array;
}

/**
 * Builds the {@link LoopedForest} scoring layout of a derived forest.
 *
 * @example
 * ```ts
 * const looped = loopForest(growForest(data, rows, cols, 100, 16384, 42));
 * ```
 */
export function loopForest(f: FlatForest): LoopedForest {
  const total = f.feature.length;
  const feature = new Int32Array(total);
  const threshold = new Float64Array(total);
  const skip = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    if (f.feature[i] >= 0) {
      feature[i] = f.feature[i];
      threshold[i] = f.threshold[i];
      skip[i] = f.right[i] - i - 1;
    } else {
      threshold[i] = Number.NEGATIVE_INFINITY;
      skip[i] = -1;
    }
  }
  return {
    nTrees: f.nTrees,
    height: f.height,
    offsets: f.offsets,
    feature,
    threshold,
    skip,
    leafValue: f.leafValue,
  };
}

/**
 * As {@link pathSumsPadded}, on the {@link LoopedForest} layout (the same sums, bit for bit).
 * `(0 - bit) & skip` selects the right-child jump without a branch.
 *
 * @example
 * ```ts
 * pathSumsLooped(looped, data, cols, rows, sums); // same values as pathSumsPadded
 * ```
 */
export function pathSumsLooped(
  f: LoopedForest,
  data: Float64Array,
  cols: number,
  rows: number,
  out: Float64Array,
): void {
  const { nTrees, height, offsets, feature, threshold, skip, leafValue } = f;
  const d = cols | 0;
  for (let p0 = 0; p0 < rows; p0 += BLOCK) {
    const p1 = Math.min(p0 + BLOCK, rows) | 0;
    for (let r = p0; r < p1; r++) out[r] = 0;
    for (let t = 0; t < nTrees; t++) {
      const root = offsets[t] | 0;
      let r = p0 | 0;
      for (; r + 8 <= p1; r += 8) {
        const b0 = (r * d) | 0;
        const b1 = (b0 + d) | 0;
        const b2 = (b1 + d) | 0;
        const b3 = (b2 + d) | 0;
        const b4 = (b3 + d) | 0;
        const b5 = (b4 + d) | 0;
        const b6 = (b5 + d) | 0;
        const b7 = (b6 + d) | 0;
        let i0 = root;
        let i1 = root;
        let i2 = root;
        let i3 = root;
        let i4 = root;
        let i5 = root;
        let i6 = root;
        let i7 = root;
        for (let k = 0; k < height; k++) {
          i0 = (i0 + 1 + ((0 - +(data[(b0 + feature[i0]) | 0] > threshold[i0])) & skip[i0])) | 0;
          i1 = (i1 + 1 + ((0 - +(data[(b1 + feature[i1]) | 0] > threshold[i1])) & skip[i1])) | 0;
          i2 = (i2 + 1 + ((0 - +(data[(b2 + feature[i2]) | 0] > threshold[i2])) & skip[i2])) | 0;
          i3 = (i3 + 1 + ((0 - +(data[(b3 + feature[i3]) | 0] > threshold[i3])) & skip[i3])) | 0;
          i4 = (i4 + 1 + ((0 - +(data[(b4 + feature[i4]) | 0] > threshold[i4])) & skip[i4])) | 0;
          i5 = (i5 + 1 + ((0 - +(data[(b5 + feature[i5]) | 0] > threshold[i5])) & skip[i5])) | 0;
          i6 = (i6 + 1 + ((0 - +(data[(b6 + feature[i6]) | 0] > threshold[i6])) & skip[i6])) | 0;
          i7 = (i7 + 1 + ((0 - +(data[(b7 + feature[i7]) | 0] > threshold[i7])) & skip[i7])) | 0;
        }
        out[r] += leafValue[i0];
        out[r + 1] += leafValue[i1];
        out[r + 2] += leafValue[i2];
        out[r + 3] += leafValue[i3];
        out[r + 4] += leafValue[i4];
        out[r + 5] += leafValue[i5];
        out[r + 6] += leafValue[i6];
        out[r + 7] += leafValue[i7];
      }
      for (; r < p1; r++) {
        const base = (r * d) | 0;
        let i = root;
        for (let k = 0; k < height; k++) {
          i = (i + 1 + ((0 - +(data[(base + feature[i]) | 0] > threshold[i])) & skip[i])) | 0;
        }
        out[r] += leafValue[i];
      }
    }
  }
}

/**
 * As {@link pathSumPadded}, on the {@link LoopedForest} layout.
 *
 * @example
 * ```ts
 * const sum = pathSumLooped(looped, Float64Array.of(0.3, 1.2));
 * ```
 */
export function pathSumLooped(f: LoopedForest, x: Float64Array): number {
  const { nTrees, height, offsets, feature, threshold, skip, leafValue } = f;
  let sum = 0;
  for (let t = 0; t < nTrees; t++) {
    let i = offsets[t] | 0;
    for (let k = 0; k < height; k++) {
      i = (i + 1 + ((0 - +(x[feature[i]] > threshold[i])) & skip[i])) | 0;
    }
    sum += leafValue[i];
  }
  return sum;
}
