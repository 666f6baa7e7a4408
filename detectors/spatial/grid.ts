/**
 * A uniform grid for fixed-radius queries in low dimension (DBSCAN picks it for up to
 * `GRID_MAX_DIM` columns; see `dbscan.ts` for the measurements behind that cut-over).
 *
 * Cells have side `cellSize` (DBSCAN uses eps), so a query of radius eps looks at 3^d cells.
 * Points are counting-sorted by cell, so the points of a cell are consecutive positions. A cell's
 * key is linear in its integer coordinates; when the number of keys is at most a few times the
 * number of points, cells are found by key directly ("dense"); otherwise only the occupied cells
 * exist and an open-addressing hash table maps keys to them ("sparse", e.g. a small eps over a wide
 * extent), which keeps memory O(n) whatever eps is.
 */
import { DetectorInputError } from '../errors.js';
import {
  CHEBYSHEV,
  EUCLIDEAN,
  type Metric,
  metricCode,
  type NeighbourBuffer,
  reducedRadius,
  type SpatialIndex,
} from './common.js';

/** Largest key count the grid accepts: keys stay exact integers in a double. */
const MAX_KEYS = 2 ** 52;

/** Relative slack on the query box, so that rounding never puts a neighbour outside the scanned cells. */
const SLACK = 2 ** -40;

/**
 * Whether a grid with cells of side `cellSize` can index these points (the linear cell keys must
 * stay exact doubles); when it cannot, use a `KdTree`.
 */
function fits(data: Float64Array, rows: number, cols: number, cellSize: number): boolean {
  if (!(cellSize > 0) || !Number.isFinite(cellSize)) return false;
  const inv = 1 / cellSize;
  let total = 1;
  for (let j = 0; j < cols; j++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < rows; i++) {
      const v = data[i * cols + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    total *= Math.floor((hi - lo) * inv) + 1;
    if (!(total <= MAX_KEYS)) return false;
  }
  return true;
}

/** Hash of an integer key below 2^52, spread over 32 bits (the table masks the low bits). */
function hashKey(key: number): number {
  const lo = key >>> 0;
  const hi = (key / 4294967296) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A uniform grid over a row-major point set, answering radius and count queries exactly (every
 * candidate is checked against the true distance; the grid only narrows the candidates). Meant
 * for radii up to about the cell side: a query visits (2·radius / cellSize + 1)^d cells.
 *
 * @example
 * ```ts
 * const grid = new GridIndex(new Float64Array([0, 0, 1, 0, 5, 5]), 3, 2, 1.5);
 * const buf = new NeighbourBuffer();
 * const k = grid.radiusSearch(new Float64Array([0.2, 0]), 0, 1.5, buf);
 * const rows = Array.from(buf.data.subarray(0, k), (p) => grid.order[p]); // [0, 1] in some order
 * ```
 */
export class GridIndex implements SpatialIndex {
  /**
   * Whether a grid with cells of side `cellSize` can index the points: false when the data's
   * extent would need more than 2^52 cells (then use a `KdTree`).
   *
   * @example
   * ```ts
   * const index = GridIndex.fits(data, rows, cols, eps) ? new GridIndex(data, rows, cols, eps) : new KdTree(data, rows, cols);
   * ```
   */
  static readonly fits = fits;

  readonly size: number;
  readonly dim: number;
  readonly metric: number;
  readonly points: Float64Array;
  readonly order: Int32Array;
  /** The side of a cell. */
  readonly cellSize: number;
  /** Whether cells are addressed by key directly (true) or through the hash table. */
  readonly dense: boolean;

  private readonly inv: number;
  private readonly origin: Float64Array;
  /** Number of cells along each axis (doubles: one axis alone may exceed 2^31 cells when sparse). */
  private readonly extent: Float64Array;
  /** Key stride of each axis (the last axis has stride 1). */
  private readonly stride: Float64Array;
  /** `cellStart[c]` is the first position of cell `c`, length cells + 1. */
  private readonly cellStart: Int32Array;
  /** Sparse only: hash slots holding a key (−1 when empty) and its cell. */
  private readonly slotKey: Float64Array;
  private readonly slotCell: Int32Array;
  private readonly slotMask: number;
  /** The cell of each position. */
  private readonly cellOf: Int32Array;
  /** Points of each cell not removed yet. */
  private readonly alive: Int32Array;
  /** 1 for removed positions. */
  private readonly removed: Uint8Array;
  // Per-query scratch: queries are not re-entrant, and nothing in the library nests them.
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly own: Float64Array;
  private readonly cur: Float64Array;
  private lastRadius = Number.NaN;
  private lastReduced = Number.NaN;

  /**
   * @param data row-major points (not modified; the grid keeps a reordered copy).
   * @param cellSize the side of a cell; queries are cheapest with a radius of at most this.
   * @throws DetectorInputError when the grid cannot index the data (see {@link GridIndex.fits}).
   */
  constructor(
    data: Float64Array,
    rows: number,
    cols: number,
    cellSize: number,
    metric: Metric = 'euclidean',
  ) {
    this.metric = metricCode(metric);
    if (!fits(data, rows, cols, cellSize)) {
      throw new DetectorInputError(
        `a grid with cells of side ${cellSize} cannot index this data: its extent would need more than 2^52 cells`,
      );
    }
    this.size = rows;
    this.dim = cols;
    this.cellSize = cellSize;
    const inv = 1 / cellSize;
    this.inv = inv;
    const origin = new Float64Array(cols).fill(Number.POSITIVE_INFINITY);
    const top = new Float64Array(cols).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const v = data[i * cols + j];
        if (v < origin[j]) origin[j] = v;
        if (v > top[j]) top[j] = v;
      }
    }
    this.origin = origin;
    const extent = new Float64Array(cols);
    const stride = new Float64Array(cols);
    let total = 1;
    for (let j = cols - 1; j >= 0; j--) {
      extent[j] = Math.floor((top[j] - origin[j]) * inv) + 1;
      stride[j] = total;
      total *= extent[j];
    }
    this.extent = extent;
    this.stride = stride;

    // Dense when a table over all keys costs at most a few words per point (measured: the hash
    // lookups of the sparse mode cost ~20 % in 2-D, so dense is worth some memory).
    const dense = total <= 8 * rows + 4096;
    this.dense = dense;
    const cellOfRow = new Int32Array(rows);
    let nCells: number;
    if (dense) {
      nCells = total;
      this.slotKey = new Float64Array(0);
      this.slotCell = new Int32Array(0);
      this.slotMask = 0;
    } else {
      let cap = 16;
      while (cap < 2 * rows) cap *= 2;
      const slotKey = new Float64Array(cap).fill(-1);
      const slotCell = new Int32Array(cap);
      this.slotKey = slotKey;
      this.slotCell = slotCell;
      this.slotMask = cap - 1;
      nCells = 0;
    }
    // The cell of every point, from the same monotone expression the queries use. Sparse cells are
    // numbered in order of first appearance.
    for (let i = 0; i < rows; i++) {
      let key = 0;
      for (let j = 0; j < cols; j++) {
        let c = Math.floor((data[i * cols + j] - origin[j]) * inv);
        if (c >= extent[j]) c = extent[j] - 1;
        key += c * stride[j];
      }
      if (dense) {
        cellOfRow[i] = key;
      } else {
        let slot = hashKey(key) & this.slotMask;
        while (this.slotKey[slot] !== -1 && this.slotKey[slot] !== key) slot = (slot + 1) & this.slotMask;
        if (this.slotKey[slot] === -1) {
          this.slotKey[slot] = key;
          this.slotCell[slot] = nCells++;
        }
        cellOfRow[i] = this.slotCell[slot];
      }
    }

    // Counting sort by cell; stable, so the points of a cell stay in input order.
    const start = new Int32Array(nCells + 1);
    for (let i = 0; i < rows; i++) start[cellOfRow[i] + 1]++;
    for (let c = 0; c < nCells; c++) start[c + 1] += start[c];
    const fill = start.slice(0, nCells);
    const order = new Int32Array(rows);
    const cellOf = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      const p = fill[cellOfRow[i]]++;
      order[p] = i;
      cellOf[p] = cellOfRow[i];
    }
    const points = new Float64Array(rows * cols);
    for (let p = 0; p < rows; p++) {
      const src = order[p] * cols;
      for (let j = 0; j < cols; j++) points[p * cols + j] = data[src + j];
    }
    this.cellStart = start;
    this.cellOf = cellOf;
    this.order = order;
    this.points = points;
    const alive = new Int32Array(nCells);
    for (let c = 0; c < nCells; c++) alive[c] = start[c + 1] - start[c];
    this.alive = alive;
    this.removed = new Uint8Array(rows);
    this.lo = new Float64Array(cols);
    this.hi = new Float64Array(cols);
    this.own = new Float64Array(cols);
    this.cur = new Float64Array(cols);
  }

  private reduced(radius: number): number {
    if (radius !== this.lastRadius) {
      this.lastRadius = radius;
      this.lastReduced = reducedRadius(this.metric, radius);
    }
    return this.lastReduced;
  }

  /**
   * Fills `lo`/`hi` with the cell range the query box covers on every axis and `own` with the
   * query's own cell (clamped into the range); false when the box misses the grid. The box is
   * widened by a relative {@link SLACK} so that a point whose computed distance is ≤ radius lies
   * inside it despite the rounding of `q ± radius` (cell coordinates are monotone in the
   * coordinate, so that suffices).
   */
  private box(q: Float64Array, qOff: number, radius: number): boolean {
    const d = this.dim;
    const inv = this.inv;
    const origin = this.origin;
    const extent = this.extent;
    const lo = this.lo;
    const hi = this.hi;
    const own = this.own;
    for (let j = 0; j < d; j++) {
      const x = q[qOff + j];
      const r = radius + (radius + Math.abs(x)) * SLACK;
      const o = origin[j];
      let a = Math.floor((x - r - o) * inv);
      let b = Math.floor((x + r - o) * inv);
      let c = Math.floor((x - o) * inv);
      const last = extent[j] - 1;
      if (b < 0 || a > last) return false;
      if (a < 0) a = 0;
      if (b > last) b = last;
      if (c < a) c = a;
      if (c > b) c = b;
      lo[j] = a;
      hi[j] = b;
      own[j] = c;
    }
    return true;
  }

  /** The cell of a key, or −1 when no point lies in it (sparse mode). */
  private cellAt(key: number): number {
    if (this.dense) return key;
    const slotKey = this.slotKey;
    const mask = this.slotMask;
    let slot = hashKey(key) & mask;
    for (;;) {
      const k = slotKey[slot];
      if (k === key) return this.slotCell[slot];
      if (k === -1) return -1;
      slot = (slot + 1) & mask;
    }
  }

  /**
   * See {@link SpatialIndex.radiusSearch}. Walks the cells of the query box as an odometer over the
   * leading axes (no recursion) and along the last axis in an inner loop.
   */
  radiusSearch(q: Float64Array, qOff: number, radius: number, out: NeighbourBuffer): number {
    const thr = this.reduced(radius);
    if (!this.box(q, qOff, radius)) return 0;
    const d = this.dim;
    const pts = this.points;
    // Booleans rather than comparisons with the imported codes inside the loop: cheap in every module format.
    const euclid = this.metric === EUCLIDEAN;
    const cheb = this.metric === CHEBYSHEV;
    const start = this.cellStart;
    const alive = this.alive;
    const removed = this.removed;
    const stride = this.stride;
    const lo = this.lo;
    const hi = this.hi;
    const cur = this.cur;
    const last = d - 1;
    for (let j = 0; j < last; j++) cur[j] = lo[j];
    let buf = out.data;
    let m = 0;
    for (;;) {
      let base = 0;
      for (let j = 0; j < last; j++) base += cur[j] * stride[j];
      const kEnd = base + hi[last];
      for (let key = base + lo[last]; key <= kEnd; key++) {
        const c = this.cellAt(key);
        if (c < 0) continue;
        const live = alive[c];
        if (live === 0) continue;
        const from = start[c];
        const to = start[c + 1];
        const full = live === to - from;
        for (let p = from; p < to; p++) {
          if (!full && removed[p] !== 0) continue;
          const off = p * d;
          let s = 0;
          if (euclid) {
            for (let j = 0; j < d; j++) {
              const t = pts[off + j] - q[qOff + j];
              s += t * t;
            }
          } else if (cheb) {
            for (let j = 0; j < d; j++) {
              const t = Math.abs(pts[off + j] - q[qOff + j]);
              if (t > s) s = t;
            }
          } else {
            for (let j = 0; j < d; j++) s += Math.abs(pts[off + j] - q[qOff + j]);
          }
          if (s <= thr) {
            if (m === buf.length) buf = out.grow();
            buf[m++] = p;
          }
        }
      }
      // Odometer step over the leading axes.
      let j = last - 1;
      for (; j >= 0; j--) {
        if (cur[j] < hi[j]) {
          cur[j]++;
          break;
        }
        cur[j] = lo[j];
      }
      if (j < 0) break;
    }
    return m;
  }

  /**
   * See {@link SpatialIndex.countWithin}. Scans the query's own cell first, then outwards, because
   * a core point usually finds its `limit` neighbours there and stops early. Every odometer digit
   * `k` stands for the own cell when 0, else for the k-th other cell of the axis's range.
   */
  countWithin(q: Float64Array, qOff: number, radius: number, limit: number): number {
    const thr = this.reduced(radius);
    if (limit <= 0 || !this.box(q, qOff, radius)) return 0;
    const d = this.dim;
    const pts = this.points;
    const euclid = this.metric === EUCLIDEAN;
    const cheb = this.metric === CHEBYSHEV;
    const start = this.cellStart;
    const alive = this.alive;
    const removed = this.removed;
    const stride = this.stride;
    const lo = this.lo;
    const hi = this.hi;
    const own = this.own;
    const cur = this.cur;
    for (let j = 0; j < d; j++) cur[j] = 0;
    let m = 0;
    for (;;) {
      let key = 0;
      for (let j = 0; j < d; j++) {
        const k = cur[j];
        let v = own[j];
        if (k > 0) {
          v = lo[j] + k - 1;
          if (v >= own[j]) v++;
        }
        key += v * stride[j];
      }
      const c = this.cellAt(key);
      if (c >= 0 && alive[c] > 0) {
        const to = start[c + 1];
        for (let p = start[c]; p < to; p++) {
          if (removed[p] !== 0) continue;
          const off = p * d;
          let s = 0;
          if (euclid) {
            for (let j = 0; j < d; j++) {
              const t = pts[off + j] - q[qOff + j];
              s += t * t;
            }
          } else if (cheb) {
            for (let j = 0; j < d; j++) {
              const t = Math.abs(pts[off + j] - q[qOff + j]);
              if (t > s) s = t;
            }
          } else {
            for (let j = 0; j < d; j++) s += Math.abs(pts[off + j] - q[qOff + j]);
          }
          if (s <= thr && ++m === limit) return m;
        }
      }
      let j = d - 1;
      for (; j >= 0; j--) {
        if (cur[j] < hi[j] - lo[j]) {
          cur[j]++;
          break;
        }
        cur[j] = 0;
      }
      if (j < 0) break;
    }
    return m;
  }

  /** See {@link SpatialIndex.remove}. */
  remove(position: number): void {
    if (this.removed[position] !== 0) return;
    this.removed[position] = 1;
    this.alive[this.cellOf[position]]--;
  }

  /** See {@link SpatialIndex.restoreAll}. */
  restoreAll(): void {
    this.removed.fill(0);
    const start = this.cellStart;
    for (let c = 0; c < this.alive.length; c++) this.alive[c] = start[c + 1] - start[c];
  }
}
