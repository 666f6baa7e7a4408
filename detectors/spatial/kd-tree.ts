/**
 * A k-d tree with iterative (explicit-stack) construction and queries: radius search, bounded
 * counting, nearest neighbour and k nearest neighbours.
 *
 * Layout as in scikit-learn's `BinaryTree`: a complete binary tree in arrays (node `i` has children
 * `2i + 1` and `2i + 2`), each node owning a contiguous range of positions, split at the median of
 * its widest axis. The number of levels is fixed up front from `leafSize`, so nodes are processed in
 * index order and construction needs no stack at all. Every node keeps its bounding box, which
 * queries use twice: to prune a node whose box is farther than the radius, and to take a node whose
 * box lies wholly inside the radius without testing its points one by one (dense clusters).
 */
import { DetectorConfigError } from '../errors.js';
import {
  CHEBYSHEV,
  EUCLIDEAN,
  fromReduced,
  MANHATTAN,
  type Metric,
  metricCode,
  type NeighbourBuffer,
  reducedRadius,
  type SpatialIndex,
} from './common.js';

const OUTSIDE = 0;
const PARTLY = 1;
const INSIDE = 2;

/**
 * Points per leaf by default. Measured on DBSCAN fits of 50,000 blob points (ms, leaf 8/16/32/64):
 * d = 3: 127/115/124/145, d = 4: 258/239/237/260, d = 6: 929/805/716/698. 16 is best or near it
 * up to d = 4 (where the tree still serves `scoreSamples` and `suggestEps`) and within 15 % at d = 6.
 *
 * @example
 * ```ts
 * const tree = new KdTree(data, rows, cols, 'euclidean', DEFAULT_LEAF_SIZE * 2); // shallower tree
 * ```
 */
export const DEFAULT_LEAF_SIZE = 16;

/**
 * A k-d tree over a row-major point set. Queries are exact: the box bounds are computed with the
 * same floating-point operations as the point distances, so pruning never drops a point whose
 * computed distance is within the radius.
 *
 * @example
 * ```ts
 * const tree = new KdTree(new Float64Array([0, 0, 1, 0, 5, 5]), 3, 2);
 * const p = tree.nearest(new Float64Array([4, 4]), 0); // position of (5, 5)
 * tree.order[p]; // 2
 * tree.lastDistance; // Math.SQRT2
 * ```
 */
export class KdTree implements SpatialIndex {
  readonly size: number;
  readonly dim: number;
  readonly metric: number;
  readonly points: Float64Array;
  readonly order: Int32Array;
  readonly leafSize: number;
  /** The distance found by the last {@link KdTree.nearest} call (+Infinity if none). */
  lastDistance = Number.POSITIVE_INFINITY;

  private readonly nInternal: number;
  private readonly nodeStart: Int32Array;
  private readonly nodeEnd: Int32Array;
  /** Node `i`'s box: lows at `[2di, 2di + d)`, highs at `[2di + d, 2di + 2d)`. */
  private readonly bounds: Float64Array;
  /** Points of each node not removed yet. */
  private readonly alive: Int32Array;
  /** 1 for removed positions. */
  private readonly removed: Uint8Array;
  private readonly stack: Int32Array;
  private readonly stackBound: Float64Array;
  private heapDist: Float64Array;
  private heapPos: Int32Array;
  private lastRadius = Number.NaN;
  private lastReduced = Number.NaN;

  /**
   * @param data row-major points (not modified; the tree keeps a reordered copy).
   * @param leafSize the most points a leaf holds is about `leafSize` (at least `leafSize / 2`).
   * @throws DetectorConfigError for an unknown metric or a leafSize that is not an integer ≥ 1.
   */
  constructor(
    data: Float64Array,
    rows: number,
    cols: number,
    metric: Metric = 'euclidean',
    leafSize: number = DEFAULT_LEAF_SIZE,
  ) {
    this.metric = metricCode(metric);
    if (!Number.isInteger(leafSize) || leafSize < 1) {
      throw new DetectorConfigError(`leafSize must be an integer ≥ 1, got ${String(leafSize)}`);
    }
    this.size = rows;
    this.dim = cols;
    this.leafSize = leafSize;
    const levels = 1 + Math.floor(Math.log2(Math.max(1, (rows - 1) / leafSize)));
    const nNodes = 2 ** levels - 1;
    this.nInternal = 2 ** (levels - 1) - 1;
    const nodeStart = new Int32Array(nNodes);
    const nodeEnd = new Int32Array(nNodes);
    const bounds = new Float64Array(nNodes * 2 * cols);
    const idx = new Int32Array(rows);
    for (let i = 0; i < rows; i++) idx[i] = i;
    nodeEnd[0] = rows;
    // Parents come before children in index order, so one forward sweep builds the whole tree.
    for (let node = 0; node < nNodes; node++) {
      const s = nodeStart[node];
      const e = nodeEnd[node];
      const b = node * 2 * cols;
      for (let j = 0; j < cols; j++) {
        bounds[b + j] = Number.POSITIVE_INFINITY;
        bounds[b + cols + j] = Number.NEGATIVE_INFINITY;
      }
      for (let k = s; k < e; k++) {
        const off = idx[k] * cols;
        for (let j = 0; j < cols; j++) {
          const v = data[off + j];
          if (v < bounds[b + j]) bounds[b + j] = v;
          if (v > bounds[b + cols + j]) bounds[b + cols + j] = v;
        }
      }
      if (node < this.nInternal) {
        let axis = 0;
        let spread = -1;
        for (let j = 0; j < cols; j++) {
          const w = bounds[b + cols + j] - bounds[b + j];
          if (w > spread) {
            spread = w;
            axis = j;
          }
        }
        const mid = (s + e) >>> 1;
        select(idx, data, cols, axis, s, e - 1, mid);
        nodeStart[2 * node + 1] = s;
        nodeEnd[2 * node + 1] = mid;
        nodeStart[2 * node + 2] = mid;
        nodeEnd[2 * node + 2] = e;
      }
    }
    const points = new Float64Array(rows * cols);
    for (let p = 0; p < rows; p++) {
      const src = idx[p] * cols;
      for (let j = 0; j < cols; j++) points[p * cols + j] = data[src + j];
    }
    this.points = points;
    this.order = idx;
    this.nodeStart = nodeStart;
    this.nodeEnd = nodeEnd;
    this.bounds = bounds;
    const alive = new Int32Array(nNodes);
    for (let node = 0; node < nNodes; node++) alive[node] = nodeEnd[node] - nodeStart[node];
    this.alive = alive;
    this.removed = new Uint8Array(rows);
    // A depth-first walk that pushes at most two children per pop never holds more than levels + 1.
    this.stack = new Int32Array(levels + 2);
    this.stackBound = new Float64Array(levels + 2);
    this.heapDist = new Float64Array(16);
    this.heapPos = new Int32Array(16);
  }

  private reduced(radius: number): number {
    if (radius !== this.lastRadius) {
      this.lastRadius = radius;
      this.lastReduced = reducedRadius(this.metric, radius);
    }
    return this.lastReduced;
  }

  /** Reduced distance from the query to the nearest point of node's box (0 inside it). */
  private minToBox(node: number, q: Float64Array, qOff: number): number {
    const d = this.dim;
    const bounds = this.bounds;
    const b = node * 2 * d;
    const euclid = this.metric === EUCLIDEAN;
    const manhattan = this.metric === MANHATTAN;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const x = q[qOff + j];
      const lo = bounds[b + j];
      const hi = bounds[b + d + j];
      const g = x < lo ? lo - x : x > hi ? x - hi : 0;
      if (euclid) s += g * g;
      else if (manhattan) s += g;
      else if (g > s) s = g;
    }
    return s;
  }

  /**
   * Where node's box lies against the radius: {@link OUTSIDE} (its nearest point is beyond `thr`),
   * {@link INSIDE} (its farthest corner is within) or {@link PARTLY}. One pass computes both
   * bounds; the per-axis terms are the same floating-point values as in a point's distance, only
   * taken at the box's faces, so the verdicts are exact for every point in the box.
   */
  private classify(node: number, q: Float64Array, qOff: number, thr: number): number {
    const d = this.dim;
    const bounds = this.bounds;
    const b = node * 2 * d;
    const euclid = this.metric === EUCLIDEAN;
    const manhattan = this.metric === MANHATTAN;
    let near = 0;
    let far = 0;
    for (let j = 0; j < d; j++) {
      const x = q[qOff + j];
      const a = x - bounds[b + j];
      const c = bounds[b + d + j] - x;
      const g = a < 0 ? -a : c < 0 ? -c : 0;
      const f = Math.max(a, c);
      if (euclid) {
        near += g * g;
        far += f * f;
      } else if (manhattan) {
        near += g;
        far += f;
      } else {
        if (g > near) near = g;
        if (f > far) far = f;
      }
      if (near > thr) return OUTSIDE;
    }
    return far <= thr ? INSIDE : PARTLY;
  }

  /** Reduced distance from the query to the point at position `p`, in column order. */
  private dist(p: number, q: Float64Array, qOff: number): number {
    const d = this.dim;
    const pts = this.points;
    const off = p * d;
    let s = 0;
    if (this.metric === EUCLIDEAN) {
      for (let j = 0; j < d; j++) {
        const t = pts[off + j] - q[qOff + j];
        s += t * t;
      }
    } else if (this.metric === CHEBYSHEV) {
      for (let j = 0; j < d; j++) {
        const t = Math.abs(pts[off + j] - q[qOff + j]);
        if (t > s) s = t;
      }
    } else {
      for (let j = 0; j < d; j++) s += Math.abs(pts[off + j] - q[qOff + j]);
    }
    return s;
  }

  /** See {@link SpatialIndex.radiusSearch}. */
  radiusSearch(q: Float64Array, qOff: number, radius: number, out: NeighbourBuffer): number {
    const thr = this.reduced(radius);
    const stack = this.stack;
    const alive = this.alive;
    const removed = this.removed;
    const nodeStart = this.nodeStart;
    const nodeEnd = this.nodeEnd;
    const nInternal = this.nInternal;
    let buf = out.data;
    let m = 0;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const node = stack[--sp];
      const live = alive[node];
      if (live === 0) continue;
      const where = this.classify(node, q, qOff, thr);
      if (where === OUTSIDE) continue;
      const s = nodeStart[node];
      const e = nodeEnd[node];
      const full = live === e - s;
      if (where === INSIDE) {
        // The whole box is within the radius: take its points without measuring them.
        for (let p = s; p < e; p++) {
          if (!full && removed[p] !== 0) continue;
          if (m === buf.length) buf = out.grow();
          buf[m++] = p;
        }
      } else if (node >= nInternal) {
        for (let p = s; p < e; p++) {
          if (!full && removed[p] !== 0) continue;
          if (this.dist(p, q, qOff) <= thr) {
            if (m === buf.length) buf = out.grow();
            buf[m++] = p;
          }
        }
      } else {
        stack[sp++] = 2 * node + 2;
        stack[sp++] = 2 * node + 1;
      }
    }
    return m;
  }

  /** See {@link SpatialIndex.countWithin}. */
  countWithin(q: Float64Array, qOff: number, radius: number, limit: number): number {
    if (limit <= 0) return 0;
    const thr = this.reduced(radius);
    const stack = this.stack;
    const alive = this.alive;
    const removed = this.removed;
    const nodeStart = this.nodeStart;
    const nodeEnd = this.nodeEnd;
    const nInternal = this.nInternal;
    let m = 0;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const node = stack[--sp];
      const live = alive[node];
      if (live === 0) continue;
      const where = this.classify(node, q, qOff, thr);
      if (where === OUTSIDE) continue;
      if (where === INSIDE) {
        m += live;
        if (m >= limit) return limit;
      } else if (node >= nInternal) {
        const e = nodeEnd[node];
        for (let p = nodeStart[node]; p < e; p++) {
          if (removed[p] === 0 && this.dist(p, q, qOff) <= thr && ++m === limit) return m;
        }
      } else {
        // Nearer child last, so that it is searched first and the count reaches `limit` sooner.
        const l = 2 * node + 1;
        if (this.minToBox(l, q, qOff) === 0) {
          stack[sp++] = l + 1;
          stack[sp++] = l;
        } else {
          stack[sp++] = l;
          stack[sp++] = l + 1;
        }
      }
    }
    return m;
  }

  /** See {@link SpatialIndex.remove}. */
  remove(position: number): void {
    if (this.removed[position] !== 0) return;
    this.removed[position] = 1;
    // Walk down from the root to the leaf holding the position, counting it out of every node.
    const alive = this.alive;
    const nodeEnd = this.nodeEnd;
    let node = 0;
    alive[0]--;
    while (node < this.nInternal) {
      node = position < nodeEnd[2 * node + 1] ? 2 * node + 1 : 2 * node + 2;
      alive[node]--;
    }
  }

  /** See {@link SpatialIndex.restoreAll}. */
  restoreAll(): void {
    this.removed.fill(0);
    for (let node = 0; node < this.alive.length; node++)
      this.alive[node] = this.nodeEnd[node] - this.nodeStart[node];
  }

  /**
   * The position of the (not removed) point nearest to the query row; its distance is left in
   * {@link KdTree.lastDistance}. Among equally near points the one of the lowest input row wins,
   * so the answer does not depend on the tree's layout ("equally near" is judged on the sum of
   * squares for Euclidean: two sums an ulp apart can share a square root, and the smaller wins).
   * Returns −1 when no point is left.
   */
  nearest(q: Float64Array, qOff: number): number {
    const stack = this.stack;
    const lbs = this.stackBound;
    const order = this.order;
    const alive = this.alive;
    const removed = this.removed;
    let best = Number.POSITIVE_INFINITY;
    let bestPos = -1;
    let sp = 0;
    if (this.size > 0) {
      stack[0] = 0;
      lbs[0] = this.minToBox(0, q, qOff);
      sp = 1;
    }
    while (sp > 0) {
      sp--;
      const node = stack[sp];
      // `>` rather than `>=`: a node at exactly the best distance may hold a lower-row tie.
      if (lbs[sp] > best || alive[node] === 0) continue;
      if (node >= this.nInternal) {
        const e = this.nodeEnd[node];
        for (let p = this.nodeStart[node]; p < e; p++) {
          if (removed[p] !== 0) continue;
          const s = this.dist(p, q, qOff);
          if (s < best || (s === best && (bestPos < 0 || order[p] < order[bestPos]))) {
            best = s;
            bestPos = p;
          }
        }
      } else {
        const l = 2 * node + 1;
        const r = l + 1;
        const dl = this.minToBox(l, q, qOff);
        const dr = this.minToBox(r, q, qOff);
        // Push the farther child first so that the nearer one is searched first.
        if (dl <= dr) {
          if (dr <= best) {
            stack[sp] = r;
            lbs[sp++] = dr;
          }
          if (dl <= best) {
            stack[sp] = l;
            lbs[sp++] = dl;
          }
        } else {
          if (dl <= best) {
            stack[sp] = l;
            lbs[sp++] = dl;
          }
          if (dr <= best) {
            stack[sp] = r;
            lbs[sp++] = dr;
          }
        }
      }
    }
    this.lastDistance = fromReduced(this.metric, best);
    return bestPos;
  }

  /**
   * The `k` nearest (not removed) points to the query row (fewer if fewer are left), nearest first: writes
   * their positions to `outPos` and distances to `outDist` and returns how many. A query point that
   * is itself indexed is found at distance 0. Among equally distant points the choice is unspecified.
   * Uses a max-heap of size `k` kept in typed arrays.
   */
  knn(q: Float64Array, qOff: number, k: number, outPos: Int32Array, outDist: Float64Array): number {
    if (k > this.heapDist.length) {
      this.heapDist = new Float64Array(k);
      this.heapPos = new Int32Array(k);
    }
    const hd = this.heapDist;
    const hp = this.heapPos;
    const alive = this.alive;
    const removed = this.removed;
    const stack = this.stack;
    const lbs = this.stackBound;
    let size = 0;
    let sp = 0;
    if (this.size > 0 && k > 0) {
      stack[0] = 0;
      lbs[0] = this.minToBox(0, q, qOff);
      sp = 1;
    }
    while (sp > 0) {
      sp--;
      const node = stack[sp];
      if ((size === k && lbs[sp] >= hd[0]) || alive[node] === 0) continue;
      if (node >= this.nInternal) {
        const e = this.nodeEnd[node];
        for (let p = this.nodeStart[node]; p < e; p++) {
          if (removed[p] !== 0) continue;
          const s = this.dist(p, q, qOff);
          if (size < k) {
            // Sift up.
            let c = size++;
            while (c > 0) {
              const parent = (c - 1) >> 1;
              if (hd[parent] >= s) break;
              hd[c] = hd[parent];
              hp[c] = hp[parent];
              c = parent;
            }
            hd[c] = s;
            hp[c] = p;
          } else if (s < hd[0]) {
            siftDown(hd, hp, size, s, p);
          }
        }
      } else {
        const l = 2 * node + 1;
        const r = l + 1;
        const dl = this.minToBox(l, q, qOff);
        const dr = this.minToBox(r, q, qOff);
        const full = size === k;
        if (dl <= dr) {
          if (!full || dr < hd[0]) {
            stack[sp] = r;
            lbs[sp++] = dr;
          }
          stack[sp] = l;
          lbs[sp++] = dl;
        } else {
          if (!full || dl < hd[0]) {
            stack[sp] = l;
            lbs[sp++] = dl;
          }
          stack[sp] = r;
          lbs[sp++] = dr;
        }
      }
    }
    // Pop the heap from the back: the largest first, so the output ends up ascending.
    const found = size;
    while (size > 0) {
      const top = hd[0];
      const topPos = hp[0];
      size--;
      if (size > 0) siftDown(hd, hp, size, hd[size], hp[size]);
      outDist[size] = fromReduced(this.metric, top);
      outPos[size] = topPos;
    }
    return found;
  }
}

/** Replaces the root of a max-heap of `size` entries by (`s`, `p`) and restores the heap order. */
function siftDown(hd: Float64Array, hp: Int32Array, size: number, s: number, p: number): void {
  let c = 0;
  for (;;) {
    let child = 2 * c + 1;
    if (child >= size) break;
    if (child + 1 < size && hd[child + 1] > hd[child]) child++;
    if (hd[child] <= s) break;
    hd[c] = hd[child];
    hp[c] = hp[child];
    c = child;
  }
  hd[c] = s;
  hp[c] = p;
}

/**
 * Rearranges `idx[left … right]` so that the entry at `k` is the one a sort by coordinate `axis`
 * would put there, smaller-or-equal ones before it and greater-or-equal ones after (Hoare
 * quickselect with a median-of-three pivot, iterative).
 */
function select(
  idx: Int32Array,
  data: Float64Array,
  d: number,
  axis: number,
  left: number,
  right: number,
  k: number,
): void {
  while (right > left) {
    const mid = (left + right) >>> 1;
    const a = data[idx[left] * d + axis];
    const b = data[idx[mid] * d + axis];
    const c = data[idx[right] * d + axis];
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    let i = left;
    let j = right;
    while (i <= j) {
      while (data[idx[i] * d + axis] < pivot) i++;
      while (data[idx[j] * d + axis] > pivot) j--;
      if (i <= j) {
        const t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}
