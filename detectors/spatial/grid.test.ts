import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DetectorConfigError, DetectorInputError } from '../errors.js';
import { METRICS, type Metric, NeighbourBuffer } from './common.js';
import { GridIndex } from './grid.js';

/** The plain definition the index must match bit for bit (column order, `≤`). */
function distance(a: ArrayLike<number>, b: ArrayLike<number>, metric: Metric): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) {
    const t = Math.abs(a[j] - b[j]);
    if (metric === 'euclidean') s += t * t;
    else if (metric === 'manhattan') s += t;
    else s = Math.max(s, t);
  }
  return metric === 'euclidean' ? Math.sqrt(s) : s;
}

function flat(rows: number[][]): Float64Array {
  return Float64Array.from(rows.flat());
}

/** Input rows the grid reports for a query, sorted. */
function found(grid: GridIndex, q: number[], r: number, buf = new NeighbourBuffer(1)): number[] {
  const k = grid.radiusSearch(Float64Array.from(q), 0, r, buf);
  return Array.from(buf.data.subarray(0, k), (p) => grid.order[p]).sort((a, b) => a - b);
}

function brute(rows: number[][], q: number[], r: number, metric: Metric, skip?: Set<number>): number[] {
  const out: number[] = [];
  rows.forEach((row, i) => {
    if (!skip?.has(i) && distance(row, q, metric) <= r) out.push(i);
  });
  return out;
}

/**
 * Point sets with exact ties and duplicates: integer coordinates (so distances equal to an
 * integer radius occur), doubles, and a few rows repeated; sometimes one far outlier, which
 * stretches the extent so that the grid switches to its hashed (sparse) mode.
 */
const pointSets = fc.integer({ min: 1, max: 4 }).chain((d) =>
  fc.record({
    d: fc.constant(d),
    rows: fc
      .tuple(
        fc.array(
          fc.oneof(
            fc.array(fc.integer({ min: -3, max: 3 }), { minLength: d, maxLength: d }),
            fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: d, maxLength: d }),
          ),
          { minLength: 1, maxLength: 60 },
        ),
        fc.nat({ max: 5 }),
        fc.constantFrom(0, 0, 500, -20000),
      )
      .map(([rows, dup, far]) => {
        const all = rows.concat(rows.slice(0, dup));
        if (far !== 0) all.push(Array.from({ length: d }, () => far));
        return all;
      }),
    radius: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.double({ min: 0.05, max: 5, noNaN: true })),
    // The cell side is the radius times this (DBSCAN uses 1). Cells much smaller than the radius
    // would make a query visit (2·radius/cell)^d cells: correct but slow, and not how it is used.
    cellRatio: fc.oneof(fc.constant(1), fc.double({ min: 0.5, max: 3, noNaN: true })),
    metric: fc.constantFrom(...METRICS),
  }),
);

describe('GridIndex', () => {
  it('finds exactly the brute-force neighbours, at data points and elsewhere (property)', () => {
    fc.assert(
      fc.property(pointSets, fc.array(fc.double({ min: -8, max: 8, noNaN: true })), (set, extra) => {
        const { d, rows, radius, metric } = set;
        const cell = radius * set.cellRatio;
        const data = flat(rows);
        if (!GridIndex.fits(data, rows.length, d, cell)) {
          expect(() => new GridIndex(data, rows.length, d, cell, metric)).toThrow(DetectorInputError);
          return;
        }
        const grid = new GridIndex(data, rows.length, d, cell, metric);
        const queries = rows.slice();
        for (let i = 0; i + d <= extra.length; i += d) queries.push(extra.slice(i, i + d));
        for (const q of queries) {
          expect(found(grid, q, radius)).toEqual(brute(rows, q, radius, metric));
          const limit = 1 + (rows.length % 5);
          expect(grid.countWithin(Float64Array.from(q), 0, radius, limit)).toBe(
            Math.min(limit, brute(rows, q, radius, metric).length),
          );
        }
      }),
    );
  });

  it('skips removed points until they are restored (property)', () => {
    fc.assert(
      fc.property(pointSets, fc.array(fc.nat()), (set, picks) => {
        const { d, rows, radius, metric } = set;
        const data = flat(rows);
        fc.pre(GridIndex.fits(data, rows.length, d, radius));
        const grid = new GridIndex(data, rows.length, d, radius, metric);
        const gone = new Set<number>();
        for (const pick of picks) {
          const p = pick % rows.length;
          grid.remove(p);
          grid.remove(p); // removing twice is harmless
          gone.add(grid.order[p]);
        }
        for (const q of rows) {
          expect(found(grid, q, radius)).toEqual(brute(rows, q, radius, metric, gone));
          expect(grid.countWithin(Float64Array.from(q), 0, radius, rows.length)).toBe(
            brute(rows, q, radius, metric, gone).length,
          );
        }
        grid.restoreAll();
        for (const q of rows) expect(found(grid, q, radius)).toEqual(brute(rows, q, radius, metric));
      }),
    );
  });

  it('counts a neighbour at exactly the radius (≤, not <)', () => {
    const rows = [
      [0, 0],
      [3, 4],
      [0, 5.000000000000001],
    ];
    const grid = new GridIndex(flat(rows), 3, 2, 5);
    expect(found(grid, [0, 0], 5)).toEqual([0, 1]);
    expect(
      new GridIndex(flat(rows), 3, 2, 5, 'chebyshev').countWithin(new Float64Array([0, 0]), 0, 4, 9),
    ).toBe(2);
  });

  it('indexes a single point and many duplicates', () => {
    const one = new GridIndex(new Float64Array([2.5]), 1, 1, 0.1);
    expect(found(one, [2.5], 0.1)).toEqual([0]);
    expect(found(one, [2.7], 0.1)).toEqual([]);
    const same = new GridIndex(new Float64Array(40).fill(1), 20, 2, 1);
    expect(found(same, [1, 1], 0.5)).toHaveLength(20);
    expect(same.countWithin(new Float64Array([1, 1]), 0, 0.5, 7)).toBe(7);
  });

  it('uses a hash table when the extent holds far more cells than points, with the same answers', () => {
    const rows = [
      [0, 0],
      [0.5, 0],
      [1e6, 1e6],
      [1e6, 1e6 + 0.4],
      [5e5, 0],
    ];
    const grid = new GridIndex(flat(rows), rows.length, 2, 1);
    expect(grid.dense).toBe(false);
    expect(found(grid, [0, 0], 1)).toEqual([0, 1]);
    expect(found(grid, [1e6, 1e6], 1)).toEqual([2, 3]);
    expect(found(grid, [3, 3], 1)).toEqual([]);
    expect(new GridIndex(flat(rows), rows.length, 2, 1e5).dense).toBe(true);
  });

  it('refuses data whose extent needs more than 2^52 cells', () => {
    const data = new Float64Array([0, 0, 1e9, 1e9]);
    expect(GridIndex.fits(data, 2, 2, 1e-9)).toBe(false);
    expect(GridIndex.fits(data, 2, 2, 1000)).toBe(true);
    expect(() => new GridIndex(data, 2, 2, 1e-9)).toThrow(DetectorInputError);
    expect(() => new GridIndex(data, 2, 2, 1e-9)).toThrow(/more than 2\^52 cells/);
    expect(() => new GridIndex(data, 2, 2, 1, 'hamming' as Metric)).toThrow(DetectorConfigError);
  });
});
