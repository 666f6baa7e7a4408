import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DetectorConfigError } from '../errors.js';
import { METRICS, type Metric, NeighbourBuffer } from './common.js';
import { KdTree } from './kd-tree.js';

/** The sum of squares for Euclidean (before the square root), else the distance itself. */
function reduced(a: ArrayLike<number>, b: ArrayLike<number>, metric: Metric): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) {
    const t = Math.abs(a[j] - b[j]);
    if (metric === 'euclidean') s += t * t;
    else if (metric === 'manhattan') s += t;
    else s = Math.max(s, t);
  }
  return s;
}

/** The plain definition the tree must match bit for bit (column order, `≤`). */
function distance(a: ArrayLike<number>, b: ArrayLike<number>, metric: Metric): number {
  const s = reduced(a, b, metric);
  return metric === 'euclidean' ? Math.sqrt(s) : s;
}

function flat(rows: number[][]): Float64Array {
  return Float64Array.from(rows.flat());
}

function found(tree: KdTree, q: number[], r: number): number[] {
  const buf = new NeighbourBuffer(1);
  const k = tree.radiusSearch(Float64Array.from(q), 0, r, buf);
  return Array.from(buf.data.subarray(0, k), (p) => tree.order[p]).sort((a, b) => a - b);
}

function brute(rows: number[][], q: number[], r: number, metric: Metric, skip?: Set<number>): number[] {
  const out: number[] = [];
  rows.forEach((row, i) => {
    if (!skip?.has(i) && distance(row, q, metric) <= r) out.push(i);
  });
  return out;
}

/** Point sets with exact ties (integer coordinates), doubles, repeated rows, and small leaves. */
const pointSets = fc.integer({ min: 1, max: 5 }).chain((d) =>
  fc.record({
    d: fc.constant(d),
    rows: fc
      .tuple(
        fc.array(
          fc.oneof(
            fc.array(fc.integer({ min: -3, max: 3 }), { minLength: d, maxLength: d }),
            fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: d, maxLength: d }),
          ),
          { minLength: 1, maxLength: 80 },
        ),
        fc.nat({ max: 6 }),
      )
      .map(([rows, dup]) => rows.concat(rows.slice(0, dup))),
    queries: fc.array(fc.array(fc.double({ min: -6, max: 6, noNaN: true }), { minLength: d, maxLength: d }), {
      maxLength: 5,
    }),
    radius: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.double({ min: 0.05, max: 6, noNaN: true })),
    leafSize: fc.integer({ min: 1, max: 20 }),
    metric: fc.constantFrom(...METRICS),
  }),
);

describe('KdTree', () => {
  it('finds exactly the brute-force neighbours and counts (property)', () => {
    fc.assert(
      fc.property(pointSets, ({ d, rows, queries, radius, leafSize, metric }) => {
        const tree = new KdTree(flat(rows), rows.length, d, metric, leafSize);
        for (const q of rows.concat(queries)) {
          const want = brute(rows, q, radius, metric);
          expect(found(tree, q, radius)).toEqual(want);
          const limit = 1 + (rows.length % 7);
          expect(tree.countWithin(Float64Array.from(q), 0, radius, limit)).toBe(Math.min(limit, want.length));
        }
      }),
    );
  });

  it('finds the nearest point, the lowest row among ties (property)', () => {
    fc.assert(
      fc.property(pointSets, ({ d, rows, queries, leafSize, metric }) => {
        const tree = new KdTree(flat(rows), rows.length, d, metric, leafSize);
        for (const q of rows.concat(queries)) {
          // Ties are judged before the square root: two sums of squares one ulp apart can have the
          // same root, and the tree rightly prefers the smaller sum.
          let best = Number.POSITIVE_INFINITY;
          let bestRow = -1;
          let bestDistance = Number.POSITIVE_INFINITY;
          rows.forEach((row, i) => {
            const s = reduced(row, q, metric);
            if (s < best) {
              best = s;
              bestRow = i;
            }
            bestDistance = Math.min(bestDistance, distance(row, q, metric));
          });
          const p = tree.nearest(Float64Array.from(q), 0);
          expect(tree.order[p]).toBe(bestRow);
          expect(tree.lastDistance).toBe(bestDistance);
        }
      }),
    );
  });

  it('finds the k nearest distances, nearest first (property)', () => {
    fc.assert(
      fc.property(pointSets, fc.integer({ min: 1, max: 12 }), ({ d, rows, queries, leafSize, metric }, k) => {
        const tree = new KdTree(flat(rows), rows.length, d, metric, leafSize);
        const pos = new Int32Array(k);
        const dist = new Float64Array(k);
        for (const q of rows.concat(queries)) {
          const want = rows.map((row) => distance(row, q, metric)).sort((a, b) => a - b);
          const got = tree.knn(Float64Array.from(q), 0, k, pos, dist);
          expect(got).toBe(Math.min(k, rows.length));
          expect(Array.from(dist.subarray(0, got))).toEqual(want.slice(0, got));
          // The positions are the points at those distances.
          for (let t = 0; t < got; t++) expect(distance(rows[tree.order[pos[t]]], q, metric)).toBe(dist[t]);
        }
      }),
    );
  });

  it('skips removed points in every query until restored (property)', () => {
    fc.assert(
      fc.property(pointSets, fc.array(fc.nat()), ({ d, rows, radius, leafSize, metric }, picks) => {
        const tree = new KdTree(flat(rows), rows.length, d, metric, leafSize);
        const gone = new Set<number>();
        for (const pick of picks) {
          const p = pick % rows.length;
          tree.remove(p);
          tree.remove(p);
          gone.add(tree.order[p]);
        }
        for (const q of rows) {
          const want = brute(rows, q, radius, metric, gone);
          expect(found(tree, q, radius)).toEqual(want);
          expect(tree.countWithin(Float64Array.from(q), 0, radius, rows.length)).toBe(want.length);
          const p = tree.nearest(Float64Array.from(q), 0);
          if (gone.size === rows.length) expect(p).toBe(-1);
          else expect(gone.has(tree.order[p])).toBe(false);
        }
        tree.restoreAll();
        for (const q of rows) expect(found(tree, q, radius)).toEqual(brute(rows, q, radius, metric));
      }),
    );
  });

  it('handles a single point, all-equal points and an empty neighbourhood', () => {
    const one = new KdTree(new Float64Array([1, 2]), 1, 2);
    expect(found(one, [1, 2], 0)).toEqual([0]);
    expect(one.nearest(new Float64Array([4, 6]), 0)).toBe(0);
    expect(one.lastDistance).toBe(5);
    const same = new KdTree(new Float64Array(200).fill(3), 100, 2, 'manhattan', 4);
    expect(found(same, [3, 3], 0)).toHaveLength(100);
    expect(found(same, [3, 4], 0.5)).toEqual([]);
    expect(same.nearest(new Float64Array([0, 0]), 0)).toBe(same.order.indexOf(0));
  });

  it('builds and queries a large, degenerate (collinear) set without recursion', () => {
    const n = 200_000;
    const data = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) data[2 * i] = i;
    const tree = new KdTree(data, n, 2, 'euclidean', 1);
    expect(found(tree, [1000, 0], 1.5)).toEqual([999, 1000, 1001]);
    expect(tree.order[tree.nearest(new Float64Array([123456.4, 3]), 0)]).toBe(123456);
  });

  it('rejects an unknown metric and a bad leaf size', () => {
    expect(() => new KdTree(new Float64Array([1]), 1, 1, 'cosine' as Metric)).toThrow(DetectorConfigError);
    expect(() => new KdTree(new Float64Array([1]), 1, 1, 'euclidean', 0)).toThrow(
      /leafSize must be an integer ≥ 1, got 0/,
    );
    expect(() => new KdTree(new Float64Array([1]), 1, 1, 'euclidean', 2.5)).toThrow(DetectorConfigError);
  });
});
