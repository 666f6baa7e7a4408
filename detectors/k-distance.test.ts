import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dbscan } from './dbscan.js';
import { DetectorConfigError, DetectorInputError } from './errors.js';
import { findKnee, kDistances, suggestEps } from './k-distance.js';
import { Rng } from './random.js';
import { METRICS, type Metric } from './spatial/common.js';

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

/** The k-distance by definition: the k-th smallest distance to all rows, the row itself included. */
function bruteKDistances(rows: number[][], k: number, metric: Metric): number[] {
  return rows
    .map((a) => rows.map((b) => distance(a, b, metric)).sort((x, y) => x - y)[k - 1])
    .sort((x, y) => x - y);
}

/** Two tight Gaussian blobs far apart plus uniform background noise; returns rows and which blob. */
function twoBlobs(seed: number): { rows: number[][]; blob: number[] } {
  const rng = new Rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
  const rows: number[][] = [];
  const blob: number[] = [];
  for (let i = 0; i < 300; i++) {
    const b = i % 2;
    rows.push([b * 20 + 0.5 * gauss(), b * 20 + 0.5 * gauss()]);
    blob.push(b);
  }
  for (let i = 0; i < 30; i++) {
    rows.push([-10 + 40 * rng.nextFloat(), -10 + 40 * rng.nextFloat()]);
    blob.push(-1);
  }
  return { rows, blob };
}

describe('kDistances', () => {
  it('equals the brute-force k-distance curve, the point itself counted as the 1st neighbour (property)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 4 })
          .chain((d) =>
            fc.array(
              fc.oneof(
                fc.array(fc.integer({ min: 0, max: 4 }), { minLength: d, maxLength: d }),
                fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: d, maxLength: d }),
              ),
              { minLength: 1, maxLength: 50 },
            ),
          ),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(...METRICS),
        (rows, kRaw, metric) => {
          const k = Math.min(kRaw, rows.length);
          expect(Array.from(kDistances(rows, { k, metric }))).toEqual(bruteKDistances(rows, k, metric));
        },
      ),
    );
  });

  it('uses minPts as k by default, and k = 1 gives zeros', () => {
    const rows = [[0], [1], [3], [6]];
    expect(Array.from(kDistances(rows, { k: 2 }))).toEqual([1, 1, 2, 3]);
    expect(Array.from(kDistances(rows, { minPts: 2 }))).toEqual([1, 1, 2, 3]);
    expect(Array.from(kDistances(rows, { k: 1 }))).toEqual([0, 0, 0, 0]);
    // Default k = 4: with 4 rows, the distance to the farthest row.
    expect(Array.from(kDistances(rows))).toEqual([3, 5, 6, 6]);
  });

  it('subsamples reproducibly with a seed, every value exact', () => {
    const { rows } = twoBlobs(3);
    const full = Array.from(kDistances(rows, { k: 5 }));
    const a = kDistances(rows, { k: 5, sampleSize: 50, seed: 9 });
    expect(a).toHaveLength(50);
    expect(Array.from(kDistances(rows, { k: 5, sampleSize: 50, seed: 9 }))).toEqual(Array.from(a));
    expect(Array.from(kDistances(rows, { k: 5, sampleSize: 50, seed: 10 }))).not.toEqual(Array.from(a));
    for (const v of a) expect(full).toContain(v);
    // A sample at least as large as the data is the data.
    expect(Array.from(kDistances(rows, { k: 5, sampleSize: 10_000 }))).toEqual(full);
  });

  it.each([
    ['k 0', { k: 0 }, DetectorConfigError, /k must be an integer ≥ 1, got 0/],
    ['k 1.5', { k: 1.5 }, DetectorConfigError, /k must be an integer ≥ 1, got 1.5/],
    ['k above the row count', { k: 4 }, DetectorConfigError, /k is 4 but X has only 3 rows/],
    ['minPts 0', { minPts: 0 }, DetectorConfigError, /minPts must be an integer ≥ 1, got 0/],
    [
      'sampleSize 0',
      { k: 2, sampleSize: 0 },
      DetectorConfigError,
      /sampleSize must be an integer ≥ 1, got 0/,
    ],
    ['a bad seed', { k: 2, sampleSize: 2, seed: 0.5 }, DetectorConfigError, /seed must be a safe integer/],
    ['an unknown metric', { k: 2, metric: 'cosine' }, DetectorConfigError, /metric must be one of/],
  ])('rejects %s', (_, options, type, message) => {
    const run = () => kDistances([[0], [1], [2]], options as Parameters<typeof kDistances>[1]);
    expect(run).toThrow(type);
    expect(run).toThrow(message);
  });

  it('rejects bad data with a DetectorInputError', () => {
    expect(() => kDistances([[0], [Number.NaN]], { k: 1 })).toThrow(DetectorInputError);
    expect(() => kDistances([], { k: 1 })).toThrow(/empty/);
    expect(() => kDistances(new Float64Array(4), { k: 1 })).toThrow(/column count/);
    expect(kDistances(new Float64Array([0, 0, 3, 4]), { k: 2, cols: 2 })[0]).toBe(5);
  });
});

describe('findKnee', () => {
  it('takes the point farthest from the chord of the scaled curve', () => {
    expect(findKnee(new Float64Array([1, 1, 1, 1, 2, 10]))).toBe(4);
    expect(findKnee([0, 0.1, 0.2, 0.3, 5, 10])).toBe(3);
    // Concave: the farthest point lies above the chord.
    expect(findKnee([0, 9, 9.5, 10])).toBe(1);
  });

  it('puts the knee of flat, short or linear curves at 0', () => {
    expect(findKnee([3, 3, 3, 3])).toBe(0);
    expect(findKnee([1, 2])).toBe(0);
    expect(findKnee([7])).toBe(0);
    expect(findKnee([0, 1, 2, 3])).toBe(0);
  });
});

describe('suggestEps', () => {
  it('suggests an eps with which DBSCAN finds the two blobs', () => {
    for (const seed of [1, 2, 3]) {
      const { rows, blob } = twoBlobs(seed);
      const minPts = 5;
      const s = suggestEps(rows, { minPts });
      expect(s.k).toBe(minPts);
      expect(s.kDistances).toHaveLength(rows.length);
      expect(s.eps).toBe(s.kDistances[s.kneeIndex]);
      const db = new Dbscan({ eps: s.eps, minPts }).fit(rows);
      expect(db.nClusters).toBe(2);
      // Each blob is (nearly all) one cluster, and not the same one.
      const majority = [0, 1].map((b) => {
        const counts = new Map<number, number>();
        blob.forEach((bb, i) => {
          if (bb === b) counts.set(db.labels[i], (counts.get(db.labels[i]) ?? 0) + 1);
        });
        const [label, count] = [...counts].sort((x, y) => y[1] - x[1])[0];
        expect(label).not.toBe(-1);
        expect(count).toBeGreaterThanOrEqual(0.95 * 150);
        return label;
      });
      expect(majority[0]).not.toBe(majority[1]);
    }
  });

  it('skips a zero knee and refuses data whose k-distances are all 0', () => {
    const rows = [[0], [0], [0], [0], [0], [0], [0], [0], [1], [3], [7]];
    const s = suggestEps(rows, { k: 2 });
    expect(s.eps).toBeGreaterThan(0);
    expect(s.kDistances[s.kneeIndex]).toBe(s.eps);
    expect(() => suggestEps([[1], [1], [1]], { k: 3 })).toThrow(DetectorInputError);
    expect(() => suggestEps([[1], [1], [1]], { k: 3 })).toThrow(/every 3-distance is 0/);
  });
});
