import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dbscan, type DbscanAlgorithm } from './dbscan.js';
import { DetectorConfigError, DetectorInputError, NotFittedError } from './errors.js';
import { Rng } from './random.js';
import { METRICS, type Metric } from './spatial/common.js';

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

/** The plain definition (column order, as scikit-learn's metrics). */
function distance(a: ArrayLike<number>, b: ArrayLike<number>, metric: Metric): number {
  const s = reduced(a, b, metric);
  return metric === 'euclidean' ? Math.sqrt(s) : s;
}

/**
 * Brute-force DBSCAN, written as scikit-learn's `dbscan_inner`: all neighbourhoods up front, a
 * point is labelled when popped, and the stack may hold a point more than once.
 */
function reference(rows: number[][], eps: number, minPts: number, metric: Metric) {
  const n = rows.length;
  const neighbours = rows.map((a) => {
    const out: number[] = [];
    rows.forEach((b, j) => {
      if (distance(a, b, metric) <= eps) out.push(j);
    });
    return out;
  });
  const core = neighbours.map((nb) => nb.length >= minPts);
  const labels = new Array<number>(n).fill(-1);
  let label = 0;
  for (let start = 0; start < n; start++) {
    if (labels[start] !== -1 || !core[start]) continue;
    const stack: number[] = [];
    let i = start;
    for (;;) {
      if (labels[i] === -1) {
        labels[i] = label;
        if (core[i]) for (const v of neighbours[i]) if (labels[v] === -1) stack.push(v);
      }
      const next = stack.pop();
      if (next === undefined) break;
      i = next;
    }
    label++;
  }
  return { labels, core, neighbours, nClusters: label };
}

/**
 * Small point sets with exact ties (integer coordinates: distances equal to an integer eps occur)
 * and duplicates, in 1 to 4 dimensions.
 */
const problems = fc.integer({ min: 1, max: 4 }).chain((d) =>
  fc.record({
    d: fc.constant(d),
    rows: fc
      .tuple(
        fc.array(
          fc.oneof(
            fc.array(fc.integer({ min: 0, max: 5 }), { minLength: d, maxLength: d }),
            fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: d, maxLength: d }),
          ),
          { minLength: 1, maxLength: 60 },
        ),
        fc.nat({ max: 6 }),
      )
      .map(([rows, dup]) => rows.concat(rows.slice(0, dup))),
    eps: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.double({ min: 0.1, max: 3, noNaN: true })),
    minPts: fc.integer({ min: 1, max: 6 }),
  }),
);

const ALGORITHMS: DbscanAlgorithm[] = ['auto', 'grid', 'kd-tree'];

describe('Dbscan against a brute-force scikit-learn reference', () => {
  it('gives the same core set, the same labels and the DBSCAN invariants, for every metric and index (property)', () => {
    fc.assert(
      fc.property(problems, ({ rows, eps, minPts }) => {
        for (const metric of METRICS) {
          const ref = reference(rows, eps, minPts, metric);
          for (const algorithm of ALGORITHMS) {
            const db = new Dbscan({ eps, minPts, metric, algorithm }).fit(rows);
            const labels = Array.from(db.labels);
            const core = Array.from(db.coreMask, (c) => c === 1);
            expect(core).toEqual(ref.core);
            // Same numbering as scikit-learn, not just the same partition.
            expect(labels).toEqual(ref.labels);
            expect(db.nClusters).toBe(ref.nClusters);
            // The invariants, straight from the distances.
            rows.forEach((_, i) => {
              const coreNear = ref.neighbours[i].filter((j) => core[j]);
              if (core[i]) {
                for (const j of coreNear) expect(labels[j]).toBe(labels[i]);
              } else if (coreNear.length > 0) {
                // A border point takes the first cluster that reaches it: the lowest of its core neighbours'.
                expect(labels[i]).toBe(Math.min(...coreNear.map((j) => labels[j])));
              } else {
                expect(labels[i]).toBe(-1);
              }
            });
          }
        }
      }),
      { numRuns: Number(process.env.DBSCAN_RUNS ?? 150) },
    );
  });

  it('clusters a long chain in one piece without recursion (100,000 points, depth-first)', () => {
    const n = 100_000;
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = i;
    for (const algorithm of ['grid', 'kd-tree'] as const) {
      const db = new Dbscan({ eps: 1, minPts: 3, algorithm }).fit(data, 1);
      expect(db.nClusters).toBe(1);
      expect(db.labels.every((l) => l === 0)).toBe(true);
      // The two ends have one neighbour each: border points.
      expect(db.coreMask[0]).toBe(0);
      expect(db.coreMask[n - 1]).toBe(0);
      expect(db.coreMask[1]).toBe(1);
    }
  });

  it('agrees with density-clustering on random doubles (no exact ties, so < and ≤ agree)', () => {
    const require = createRequire(import.meta.url);
    const { DBSCAN } = require('density-clustering') as {
      DBSCAN: new () => { run(dataset: number[][], eps: number, minPts: number): number[][] };
    };
    const rng = new Rng(5);
    const rows = Array.from({ length: 600 }, () => [rng.nextFloat() * 10, rng.nextFloat() * 10]);
    const clusters = new DBSCAN().run(rows, 0.5, 5);
    const theirs = new Array<number>(rows.length).fill(-1);
    clusters.forEach((members, k) => {
      for (const i of members) theirs[i] = k;
    });
    const ours = new Dbscan({ eps: 0.5, minPts: 5 }).fitPredict(rows);
    expect(clusters.length).toBeGreaterThan(1);
    expect(Array.from(ours)).toEqual(theirs);
  });
});

describe('Dbscan on hand-made data', () => {
  // Blob A (rows 1–4), blob B (rows 5–8), an outlier (row 0) and a border point of A (row 9).
  const rows = [
    [10, -10],
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
    [5, 5],
    [5, 6],
    [6, 5],
    [6, 6],
    [2.4, 1],
  ];

  it('labels two blobs, a border point and an outlier exactly', () => {
    const db = new Dbscan({ eps: 1.5, minPts: 3 }).fit(rows);
    expect(Array.from(db.labels)).toEqual([-1, 0, 0, 0, 0, 1, 1, 1, 1, 0]);
    expect(Array.from(db.coreMask)).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect(db.nClusters).toBe(2);
    expect(db.index).toBe('grid');
  });

  it('numbers clusters by their lowest core row, as scikit-learn does', () => {
    // Row 0 is now a border point of the blob whose first core row comes later.
    const reordered = [[7.3, 6], ...rows.slice(1, 5), ...rows.slice(5, 9)];
    const labels = new Dbscan({ eps: 1.5, minPts: 3 }).fitPredict(reordered);
    expect(Array.from(labels)).toEqual([1, 0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('counts a neighbour at exactly eps and gives a tied border point the first cluster', () => {
    // Point 2 is at distance exactly 1 from both clusters' ends.
    const a = [0, 0.25, 0.5, 0.75, 1];
    const b = [3, 3.25, 3.5, 3.75, 4];
    const line = [...a, 2, ...b].map((x) => [x]);
    expect(Array.from(new Dbscan({ eps: 1, minPts: 4 }).fitPredict(line))).toEqual([
      0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1,
    ]);
    const swapped = [...b, 2, ...a].map((x) => [x]);
    expect(Array.from(new Dbscan({ eps: 1, minPts: 4 }).fitPredict(swapped))).toEqual([
      0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1,
    ]);
    // With a strict `<` (density-clustering's rule) point 2 would be noise.
    expect(new Dbscan({ eps: 0.999, minPts: 4 }).fitPredict(line)[5]).toBe(-1);
  });

  it('accepts row-major Float64Array input, and refits from scratch', () => {
    const data = Float64Array.from(rows.flat());
    const db = new Dbscan({ eps: 1.5, minPts: 3 });
    expect(Array.from(db.fit(data, 2).labels)).toEqual([-1, 0, 0, 0, 0, 1, 1, 1, 1, 0]);
    expect(Array.from(db.fit({ data: data.subarray(2, 10), cols: 2 }).labels)).toEqual([0, 0, 0, 0]);
    expect(db.nClusters).toBe(1);
  });

  it('handles one point, minPts 1 and all-duplicate data', () => {
    expect(Array.from(new Dbscan({ eps: 1, minPts: 1 }).fitPredict([[3]]))).toEqual([0]);
    expect(Array.from(new Dbscan({ eps: 1, minPts: 2 }).fitPredict([[3]]))).toEqual([-1]);
    expect(Array.from(new Dbscan({ eps: 0.1, minPts: 1 }).fitPredict([[0], [5], [0.05]]))).toEqual([0, 1, 0]);
    const same = Array.from({ length: 50 }, () => [2, 2]);
    expect(new Dbscan({ eps: 1e-9, minPts: 50 }).fitPredict(same).every((l) => l === 0)).toBe(true);
    expect(new Dbscan({ eps: 1e-9, minPts: 51 }).fitPredict(same).every((l) => l === -1)).toBe(true);
  });
});

describe('Dbscan.scoreSamples and predict', () => {
  const blobRows = [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
    [5, 5],
    [5, 6],
    [6, 5],
    [6, 6],
    [20, 20],
  ];

  it('scores 0 at a core point, ≤ 1 within reach and > 1 far away', () => {
    const db = new Dbscan({ eps: 1.5, minPts: 3 }).fit(blobRows);
    const s = db.scoreSamples([
      [0, 0],
      [6, 6],
      [2, 1],
      [20, 20],
      [100, 100],
    ]);
    expect(s[0]).toBe(0);
    expect(s[1]).toBe(0);
    expect(s[2]).toBe(1 / 1.5);
    expect(s[3]).toBeGreaterThan(1); // the fitted outlier is not core
    expect(s[4]).toBe(Math.sqrt(94 * 94 + 94 * 94) / 1.5);
    expect(
      Array.from(
        db.predict([
          [0, 0],
          [6, 6],
          [2, 1],
          [20, 20],
        ]),
      ),
    ).toEqual([0, 1, 0, -1]);
  });

  it('scores +Infinity and predicts −1 everywhere when the fit found no core point', () => {
    const db = new Dbscan({ eps: 0.1, minPts: 2 }).fit(blobRows);
    expect(db.nClusters).toBe(0);
    expect(
      Array.from(
        db.scoreSamples([
          [0, 0],
          [3, 3],
        ]),
      ),
    ).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
    expect(Array.from(db.predict([[0, 0]]))).toEqual([-1]);
  });

  it('equals the brute-force distance to the nearest core point over eps, and predict agrees (property)', () => {
    fc.assert(
      fc.property(
        problems,
        fc.array(fc.array(fc.double({ min: -2, max: 8, noNaN: true }), { minLength: 4, maxLength: 4 }), {
          minLength: 1,
          maxLength: 10,
        }),
        fc.constantFrom(...METRICS),
        ({ d, rows, eps, minPts }, raw, metric) => {
          const db = new Dbscan({ eps, minPts, metric }).fit(rows);
          const queries = raw.map((q) => q.slice(0, d)).concat(rows.slice(0, 5));
          const scores = db.scoreSamples(queries);
          const predicted = db.predict(queries);
          queries.forEach((q, i) => {
            // The nearest core point (lowest row on ties of the sum of squares, see the k-d tree test).
            let nearest = Number.POSITIVE_INFINITY;
            let label = -1;
            let best = Number.POSITIVE_INFINITY;
            rows.forEach((row, j) => {
              if (db.coreMask[j] !== 1) return;
              const s = reduced(row, q, metric);
              if (s < nearest) {
                nearest = s;
                label = db.labels[j];
              }
              best = Math.min(best, distance(row, q, metric));
            });
            expect(scores[i]).toBe(best / eps);
            expect(predicted[i]).toBe(best <= eps ? label : -1);
          });
        },
      ),
    );
  });
});

describe('Dbscan errors', () => {
  it.each([
    ['eps 0', { eps: 0, minPts: 3 }, /eps must be a finite number > 0, got 0/],
    ['eps −1', { eps: -1, minPts: 3 }, /eps must be a finite number > 0, got -1/],
    ['eps NaN', { eps: Number.NaN, minPts: 3 }, /eps must be a finite number > 0, got NaN/],
    [
      'eps Infinity',
      { eps: Number.POSITIVE_INFINITY, minPts: 3 },
      /eps must be a finite number > 0, got Infinity/,
    ],
    ['eps missing', { minPts: 3 }, /eps must be a finite number > 0, got undefined/],
    ['minPts 0', { eps: 1, minPts: 0 }, /minPts must be an integer ≥ 1, got 0/],
    ['minPts 1.5', { eps: 1, minPts: 1.5 }, /minPts must be an integer ≥ 1, got 1.5/],
    ['an unknown metric', { eps: 1, minPts: 3, metric: 'cosine' }, /metric must be one of .*, got 'cosine'/],
    [
      'an unknown algorithm',
      { eps: 1, minPts: 3, algorithm: 'ball-tree' },
      /algorithm must be one of .*, got 'ball-tree'/,
    ],
  ])('rejects %s with a DetectorConfigError naming the option and value', (_, options, message) => {
    const make = () => new Dbscan(options as unknown as ConstructorParameters<typeof Dbscan>[0]);
    expect(make).toThrow(DetectorConfigError);
    expect(make).toThrow(message);
  });

  it.each([
    ['NaN', [[1, Number.NaN]], /row 0, column 1 is NaN/],
    ['ragged', [[1, 2], [3]], /ragged: row 1 has 1 columns where row 0 has 2/],
    ['empty', [], /empty/],
  ])('rejects %s data with a DetectorInputError saying what is wrong', (_, X, message) => {
    const fit = () => new Dbscan({ eps: 1, minPts: 2 }).fit(X as number[][]);
    expect(fit).toThrow(DetectorInputError);
    expect(fit).toThrow(message);
  });

  it('rejects scoring before fit and at another width', () => {
    const db = new Dbscan({ eps: 1, minPts: 2 });
    expect(() => db.scoreSamples([[1, 2]])).toThrow(NotFittedError);
    expect(() => db.scoreSamples([[1, 2]])).toThrow(/not fitted yet: call fit/);
    expect(() => db.predict([[1, 2]])).toThrow(NotFittedError);
    expect(() => db.labels).toThrow(NotFittedError);
    db.fit([
      [0, 0],
      [0, 1],
    ]);
    expect(() => db.scoreSamples([[1, 2, 3]])).toThrow(DetectorInputError);
    expect(() => db.scoreSamples([[1, 2, 3]])).toThrow(/3 columns but the model was fitted on 2/);
    expect(() => db.predict([[1]])).toThrow(/1 columns but the model was fitted on 2/);
    expect(() => db.scoreSamples([[1, Number.POSITIVE_INFINITY]])).toThrow(/row 0, column 1 is Infinity/);
  });
});
