import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  averagePathLength,
  deriveForest,
  drawSample,
  EULER_GAMMA,
  type FlatForest,
  growForest,
  heightLimit,
  loopForest,
  makeForest,
  padForest,
  pathSumLooped,
  pathSumPadded,
  pathSumsLooped,
  pathSumsPadded,
  TreeBuilder,
} from './isolation-forest-tree.js';
import { Rng } from './random.js';

function randomData(rows: number, cols: number, seed: number, scale = 1): Float64Array {
  const rng = new Rng(seed);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.nextFloat() * scale;
  return data;
}

/** Depth of every node of tree t, from the pre-order arrays and the derived right pointers. */
function depths(f: FlatForest, t: number): Map<number, number> {
  const out = new Map<number, number>();
  const stack: Array<[number, number]> = [[f.offsets[t], 0]];
  while (stack.length > 0) {
    const [i, d] = stack.pop()!;
    out.set(i, d);
    if (f.feature[i] >= 0) {
      stack.push([i + 1, d + 1], [f.right[i], d + 1]);
    }
  }
  return out;
}

/** The textbook walk on the pre-order arrays, with a leaf test: what the fast layouts must reproduce. */
function plainWalk(f: FlatForest, x: Float64Array): number {
  let sum = 0;
  for (let t = 0; t < f.nTrees; t++) {
    let i = f.offsets[t];
    while (f.feature[i] >= 0) i = x[f.feature[i]] <= f.threshold[i] ? i + 1 : f.right[i];
    sum += f.leafValue[i];
  }
  return sum;
}

describe('averagePathLength c(n)', () => {
  it('has the exact values of the formula', () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    // c(3) = 2(ln 2 + γ) − 4/3: Euler's constant counted in full (ml-isolation-forest gets c(3) < c(2)).
    expect(averagePathLength(3)).toBeCloseTo(1.207392357589623, 14);
    expect(averagePathLength(3)).toBeGreaterThan(averagePathLength(2));
    // c(256) from the paper's formula, evaluated independently (Python, math.log).
    expect(averagePathLength(256)).toBeCloseTo(10.244770920119917, 12);
    expect(EULER_GAMMA).toBeCloseTo(0.5772156649015329, 16);
  });

  it('increases with n (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e7 }), (n) => {
        expect(averagePathLength(n + 1)).toBeGreaterThan(averagePathLength(n));
      }),
    );
  });
});

describe('heightLimit', () => {
  it('is ceil(log2(max(psi, 2)))', () => {
    expect(heightLimit(256)).toBe(8);
    expect(heightLimit(257)).toBe(9);
    expect(heightLimit(255)).toBe(8);
    expect(heightLimit(2)).toBe(1);
    expect(heightLimit(3)).toBe(2);
    expect(heightLimit(1)).toBe(1);
    expect(heightLimit(2 ** 20)).toBe(20);
  });
});

describe('drawSample', () => {
  it('keeps a permutation and puts k distinct indices first (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer(), fc.nat(), (n, seed, kRaw) => {
        const k = 1 + (kRaw % n);
        const perm = Int32Array.from({ length: n }, (_, i) => i);
        const rng = new Rng(seed);
        for (let round = 0; round < 3; round++) {
          drawSample(perm, k, rng);
          const sorted = Array.from(perm).sort((a, b) => a - b);
          expect(sorted).toEqual(Array.from({ length: n }, (_, i) => i));
          expect(new Set(perm.subarray(0, k)).size).toBe(k);
        }
      }),
    );
  });

  it('draws every k-subset equally often, even reusing the permutation across draws', () => {
    const n = 5;
    const k = 2;
    const draws = 50_000;
    const hits = new Map<string, number>();
    const perm = Int32Array.from({ length: n }, (_, i) => i);
    const rng = new Rng(11);
    for (let r = 0; r < draws; r++) {
      drawSample(perm, k, rng);
      const key = Array.from(perm.subarray(0, k)).sort().join(',');
      hits.set(key, (hits.get(key) ?? 0) + 1);
    }
    expect(hits.size).toBe(10);
    // Each of the C(5, 2) = 10 subsets has probability 0.1; sd of a share is about 0.0013.
    for (const h of hits.values()) expect(Math.abs(h / draws - 0.1)).toBeLessThan(0.007);
  });
});

describe('TreeBuilder', () => {
  it('grows trees whose root holds psi rows, children partition their parent, leaves within the height limit', () => {
    const rows = 1000;
    const cols = 3;
    const forest = growForest(randomData(rows, cols, 1), rows, cols, 20, 256, 5);
    expect(forest.height).toBe(8);
    let atLimit = 0;
    for (let t = 0; t < forest.nTrees; t++) {
      expect(forest.count[forest.offsets[t]]).toBe(256);
      for (const [i, d] of depths(forest, t)) {
        expect(d).toBeLessThanOrEqual(8);
        if (forest.feature[i] >= 0) {
          expect(forest.count[i + 1] + forest.count[forest.right[i]]).toBe(forest.count[i]);
          expect(forest.count[i + 1]).toBeGreaterThan(0);
          expect(forest.count[forest.right[i]]).toBeGreaterThan(0);
        } else {
          expect(forest.leafValue[i]).toBe(d + averagePathLength(forest.count[i]));
          if (d === 8) atLimit++;
        }
      }
    }
    // Dense continuous data does reach the height limit (c(256) ≈ 10.2 > 8).
    expect(atLimit).toBeGreaterThan(0);
  });

  it('samples without replacement: with n = psi the root split sees exactly the data set', () => {
    const rows = 64;
    const cols = 2;
    const data = randomData(rows, cols, 3);
    const forest = growForest(data, rows, cols, 50, rows, 9);
    for (let t = 0; t < forest.nTrees; t++) {
      const root = forest.offsets[t];
      const f = forest.feature[root];
      expect(f).toBeGreaterThanOrEqual(0);
      let below = 0;
      for (let i = 0; i < rows; i++) if (data[i * cols + f] <= forest.threshold[root]) below++;
      // A repeated row would change this count in some tree.
      expect(forest.count[root + 1]).toBe(below);
    }
  });

  it('stops at nodes whose features are all constant, so duplicates keep a shallow leaf', () => {
    // 200 copies of (1, 1) and 56 distinct points far from them (a random split almost surely cuts
    // between the two groups); n = psi so every tree sees all rows.
    const rows = 256;
    const data = new Float64Array(rows * 2);
    for (let i = 0; i < 200; i++) data.set([1, 1], i * 2);
    for (let i = 200; i < rows; i++) data.set([1000 + (i - 200), 1000 + ((i * 7) % 56)], i * 2);
    const forest = growForest(data, rows, 2, 30, rows, 4);
    const x = new Float64Array([1, 1]);
    for (let t = 0; t < forest.nTrees; t++) {
      let i = forest.offsets[t];
      let d = 0;
      while (forest.feature[i] >= 0) {
        i = x[forest.feature[i]] <= forest.threshold[i] ? i + 1 : forest.right[i];
        d++;
      }
      expect(forest.count[i]).toBe(200);
      expect(d).toBeLessThan(8);
      expect(forest.leafValue[i]).toBe(d + averagePathLength(200));
    }
  });

  it('makes a single leaf of constant data', () => {
    const data = new Float64Array(50).fill(3);
    const b = new TreeBuilder(data, 2, 25, heightLimit(25));
    const perm = Int32Array.from({ length: 25 }, (_, i) => i);
    expect(b.build(perm, new Rng(1))).toBe(1);
    expect(b.out.feature[0]).toBe(-1);
    expect(b.out.count[0]).toBe(25);
  });

  it('draws thresholds in [min, max) even for extreme values', () => {
    const data = new Float64Array([-1.7e308, 1.7e308, 0, 5e-324]);
    const forest = growForest(data, 4, 1, 30, 4, 2);
    for (let i = 0; i < forest.feature.length; i++) {
      if (forest.feature[i] >= 0) {
        expect(Number.isFinite(forest.threshold[i])).toBe(true);
        expect(forest.count[i + 1]).toBeGreaterThan(0);
      }
    }
  });
});

describe('scoring kernels', () => {
  it('padded and looped layouts, batch and single-point, give bit-identical path sums equal to a plain walk (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 2, max: 512 }),
        fc.integer(),
        (rows, cols, nTrees, sampleSize, seed) => {
          const data = randomData(rows, cols, seed, 10);
          // Round some values so that ties and constant columns occur.
          for (let i = 0; i < data.length; i += 3) data[i] = Math.round(data[i]);
          const psi = Math.min(sampleSize, rows);
          const forest = growForest(data, rows, cols, nTrees, psi, seed);
          const padded = padForest(forest);
          const looped = loopForest(forest);
          const q = 37;
          const queries = randomData(q, cols, seed + 1, 12);
          const a = new Float64Array(q);
          const b = new Float64Array(q);
          pathSumsPadded(padded, nTrees, queries, cols, q, a);
          pathSumsLooped(looped, queries, cols, q, b);
          for (let r = 0; r < q; r++) {
            const x = queries.subarray(r * cols, (r + 1) * cols);
            expect(Object.is(a[r], b[r])).toBe(true);
            expect(Object.is(pathSumPadded(padded, nTrees, x), a[r])).toBe(true);
            expect(Object.is(pathSumLooped(looped, x), a[r])).toBe(true);
            expect(Object.is(plainWalk(forest, x), a[r])).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('deriveForest', () => {
  // One tree on psi = 4, height 2: root split on feature 0, its left child split on feature 1.
  function tree(
    overrides: Partial<{ feature: number[]; threshold: number[]; count: number[] }> = {},
  ): FlatForest {
    const feature = overrides.feature ?? [0, 1, -1, -1, -1];
    const threshold = overrides.threshold ?? [0.5, 0.2, 0, 0, 0];
    const count = overrides.count ?? [4, 3, 1, 2, 1];
    return makeForest(
      1,
      2,
      4,
      Int32Array.from([0, feature.length]),
      Int32Array.from(feature),
      Float64Array.from(threshold),
      Int32Array.from(count),
    );
  }

  it('accepts a sound tree and derives right pointers and leaf values', () => {
    const f = tree();
    expect(deriveForest(f)).toBeNull();
    expect(Array.from(f.right)).toEqual([4, 3, -1, -1, -1]);
    expect(Array.from(f.leafValue)).toEqual([0, 0, 2, 2 + 1, 1]);
  });

  it.each([
    [
      'a truncated tree',
      { feature: [0, 1, -1, -1], threshold: [0.5, 0.2, 0, 0], count: [4, 3, 1, 2] },
      /truncated/,
    ],
    ['a feature out of range', { feature: [0, 7, -1, -1, -1] }, /feature 7 is out of range 0\.\.1/],
    ['children not adding up', { count: [4, 3, 1, 1, 1] }, /children hold 1 \+ 1 rows, not 3/],
    ['a root of the wrong size', { count: [5, 3, 1, 2, 2] }, /root holds 5 rows, expected the sample size 4/],
    ['a non-finite threshold', { threshold: [Number.NaN, 0.2, 0, 0, 0] }, /threshold NaN is not finite/],
    [
      'nodes after the last leaf',
      { feature: [-1, -1], threshold: [0, 0], count: [4, 4] },
      /nodes after its last leaf/,
    ],
    ['a zero row count', { count: [4, 3, 0, 3, 1] }, /row count 0 is not positive/],
    [
      'a split below the height limit',
      { feature: [0, 1, 0, -1, -1, -1, -1], threshold: [1, 1, 1, 0, 0, 0, 0], count: [4, 3, 2, 1, 1, 1, 1] },
      /split below the height limit 2/,
    ],
  ])('reports %s', (_name, overrides, message) => {
    expect(deriveForest(tree(overrides))).toMatch(message);
  });
});
