import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DetectorConfigError, DetectorInputError, ModelSchemaError, NotFittedError } from './errors.js';
import { IsolationForest, type IsolationForestJSON } from './isolation-forest.js';
import { Rng } from './random.js';

const GAMMA = 0.5772156649015329;
/** c(n), written out again here so the model's version is checked against the formula. */
function c(n: number): number {
  return n <= 1 ? 0 : n === 2 ? 1 : 2 * (Math.log(n - 1) + GAMMA) - (2 * (n - 1)) / n;
}

function uniformRows(n: number, d: number, seed: number, scale = 1): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.nextFloat() * scale));
}

interface Node {
  feature: number;
  threshold: number;
  count: number;
  left?: Node;
  right?: Node;
}

/** An independent reader of the serialized trees (pre-order, base64 little-endian). */
function decodeTrees(json: IsolationForestJSON): Node[] {
  const f = Buffer.from(json.trees.feature, 'base64');
  const t = Buffer.from(json.trees.threshold, 'base64');
  const n = Buffer.from(json.trees.count, 'base64');
  let pos = 0;
  const read = (): Node => {
    const node: Node = {
      feature: f.readInt32LE(pos * 4),
      threshold: t.readDoubleLE(pos * 8),
      count: n.readInt32LE(pos * 4),
    };
    pos++;
    if (node.feature >= 0) {
      node.left = read();
      node.right = read();
    }
    return node;
  };
  const trees: Node[] = [];
  for (const size of json.trees.nodes) {
    const start = pos;
    trees.push(read());
    expect(pos - start).toBe(size);
  }
  return trees;
}

/** Reference score straight from the paper's definition, walking the decoded trees. */
function referenceScore(trees: Node[], psi: number, x: readonly number[]): number {
  let sum = 0;
  for (const tree of trees) {
    let node = tree;
    let depth = 0;
    while (node.feature >= 0) {
      node = x[node.feature] <= node.threshold ? node.left! : node.right!;
      depth++;
    }
    sum += depth + c(node.count);
  }
  return 2 ** -(sum / (trees.length * c(psi)));
}

function leafDepths(node: Node, depth = 0, out: number[] = []): number[] {
  if (node.feature < 0) out.push(depth);
  else {
    leafDepths(node.left!, depth + 1, out);
    leafDepths(node.right!, depth + 1, out);
  }
  return out;
}

const smallData = fc
  .record({ d: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 2, max: 60 }) })
  .chain(({ d, n }) =>
    fc.array(
      fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: -3, max: 3 })), {
        minLength: d,
        maxLength: d,
      }),
      { minLength: n, maxLength: n },
    ),
  );

describe('IsolationForest', () => {
  it('scores lie in (0, 1] and match the paper definition on the stored trees (property)', () => {
    fc.assert(
      fc.property(smallData, fc.integer(), fc.integer({ min: 2, max: 64 }), (rows, seed, sampleSize) => {
        const model = new IsolationForest({ nTrees: 10, sampleSize, seed }).fit(rows);
        const scores = model.scoreSamples(rows);
        const json = model.toJSON();
        const trees = decodeTrees(json);
        expect(json.sampleSize).toBe(Math.min(sampleSize, rows.length));
        for (let i = 0; i < rows.length; i++) {
          expect(scores[i]).toBeGreaterThan(0);
          expect(scores[i]).toBeLessThanOrEqual(1);
          expect(scores[i]).toBeCloseTo(referenceScore(trees, json.sampleSize, rows[i]), 12);
          expect(Object.is(model.scoreOne(rows[i]), scores[i])).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('gives bit-identical scores for the same seed, and different ones for different seeds (property)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), fc.integer({ min: 0, max: 1000 }), (a, b, dataSeed) => {
        fc.pre(a !== b);
        const rows = uniformRows(120, 3, dataSeed);
        const s1 = new IsolationForest({ nTrees: 20, seed: a }).fit(rows).scoreSamples(rows);
        const s2 = new IsolationForest({ nTrees: 20, seed: a }).fit(rows).scoreSamples(rows);
        const s3 = new IsolationForest({ nTrees: 20, seed: b }).fit(rows).scoreSamples(rows);
        for (let i = 0; i < rows.length; i++) expect(Object.is(s1[i], s2[i])).toBe(true);
        expect(s3.some((s, i) => s !== s1[i])).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('pins the scores of one seed, so a change to the algorithm cannot pass unnoticed', () => {
    const rows = uniformRows(50, 2, 3);
    const scores = new IsolationForest({ nTrees: 10, seed: 1 }).fit(rows).scoreSamples([
      [0.5, 0.5],
      [3, -1],
    ]);
    expect(Array.from(scores)).toEqual([0.4365454578905926, 0.6149013752359239]);
  });

  it('round-trips through JSON bit for bit (property)', () => {
    fc.assert(
      fc.property(
        smallData,
        fc.integer(),
        fc.constantFrom<'auto' | number>('auto', 0.1, 0.25, 0.5),
        (rows, seed, contamination) => {
          const model = new IsolationForest({ nTrees: 7, seed, contamination }).fit(rows);
          const copy = IsolationForest.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
          const queries = [...rows, rows[0].map((v) => v * 2 + 1)];
          const a = model.scoreSamples(queries);
          const b = copy.scoreSamples(queries);
          for (let i = 0; i < queries.length; i++) expect(Object.is(a[i], b[i])).toBe(true);
          expect(Object.is(copy.threshold, model.threshold)).toBe(true);
          expect(copy.predict(queries)).toEqual(model.predict(queries));
          expect(copy.explain(queries[0])).toEqual(model.explain(queries[0]));
          expect(copy.toJSON()).toEqual(model.toJSON());
          expect(copy.seed).toBe(seed);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('scores an isolated far point above every point of a dense cluster (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer(), (d, seed) => {
        const cluster = uniformRows(200, d, seed);
        const far = Array.from({ length: d }, () => 100);
        const model = new IsolationForest({ nTrees: 50, seed }).fit([...cluster, far]);
        const scores = model.scoreSamples(cluster);
        const farScore = model.scoreOne(far);
        for (const s of scores) expect(farScore).toBeGreaterThan(s);
        expect(farScore).toBeGreaterThan(0.5);
      }),
      { numRuns: 20 },
    );
  });

  it('predicts 1 exactly where score > threshold, and decisionFunction is score − threshold (property)', () => {
    fc.assert(
      fc.property(
        smallData,
        fc.integer(),
        fc.constantFrom<'auto' | number>('auto', 0.05, 0.2),
        (rows, seed, contamination) => {
          const model = new IsolationForest({ nTrees: 10, seed, contamination }).fit(rows);
          const scores = model.scoreSamples(rows);
          const flags = model.predict(rows);
          const margin = model.decisionFunction(rows);
          for (let i = 0; i < rows.length; i++) {
            expect(flags[i]).toBe(scores[i] > model.threshold ? 1 : 0);
            expect(margin[i]).toBe(scores[i] - model.threshold);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('flags about a contamination share of the training rows (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 0.5, noNaN: true }), fc.integer(), (contamination, seed) => {
        const rows = uniformRows(300, 3, seed, 10);
        const model = new IsolationForest({ nTrees: 30, seed, contamination }).fit(rows);
        const scores = model.scoreSamples(rows);
        const flagged = model.predict(rows).reduce((s, v) => s + v, 0);
        // numpy's linear quantile at (1 − c)(n − 1) leaves floor(c(n − 1)) or one more above it.
        const lo = Math.floor(contamination * (rows.length - 1));
        expect(flagged).toBeLessThanOrEqual(lo + 1);
        if (new Set(scores).size === scores.length) expect(flagged).toBeGreaterThanOrEqual(lo);
        expect(Math.abs(flagged / rows.length - contamination)).toBeLessThan(0.05);
      }),
      { numRuns: 25 },
    );
  });

  it('sets the threshold to the (1 − c) quantile of the training scores, linear interpolation', () => {
    const rows = uniformRows(101, 2, 8);
    const model = new IsolationForest({ nTrees: 40, seed: 2, contamination: 0.13 }).fit(rows);
    const sorted = Array.from(model.scoreSamples(rows)).sort((a, b) => a - b);
    const pos = (1 - 0.13) * (sorted.length - 1);
    const lo = Math.floor(pos);
    const expected = sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (pos - lo);
    expect(model.threshold).toBeCloseTo(expected, 14);
    expect(new IsolationForest().fit(rows).threshold).toBe(0.5);
  });

  it('caps psi at n, grows every tree on all n rows when n <= sampleSize, and limits height to ceil(log2 psi)', () => {
    const rows = uniformRows(1000, 2, 4);
    const big = new IsolationForest({ nTrees: 30, seed: 1 }).fit(rows).toJSON();
    expect(big.sampleSize).toBe(256);
    expect(big.requestedSampleSize).toBe(256);
    const trees = decodeTrees(big);
    const depths = trees.flatMap((t) => leafDepths(t));
    expect(Math.max(...depths)).toBe(8);
    for (const t of trees) expect(t.count).toBe(256);

    const small = new IsolationForest({ nTrees: 30, seed: 1 }).fit(rows.slice(0, 40)).toJSON();
    expect(small.sampleSize).toBe(40);
    for (const t of decodeTrees(small)) {
      expect(t.count).toBe(40);
      expect(Math.max(...leafDepths(t))).toBeLessThanOrEqual(6);
    }
  });

  it('keeps identical rows at a shallow leaf: score of all-equal data is 2^(−c(n)/c(n)) = 0.5', () => {
    const rows = Array.from({ length: 300 }, () => [4, 2, 7]);
    const model = new IsolationForest({ nTrees: 20 }).fit(rows);
    for (const t of decodeTrees(model.toJSON())) {
      expect(t.feature).toBe(-1);
      expect(t.count).toBe(256);
    }
    expect(model.scoreOne([4, 2, 7])).toBeCloseTo(0.5, 14);
    expect(model.scoreOne([100, -5, 0])).toBeCloseTo(0.5, 14);
  });

  it('handles duplicates mixed with other rows without sinking them to the height limit', () => {
    const rows = [
      ...Array.from({ length: 150 }, () => [1, 1]),
      ...uniformRows(106, 2, 6, 100).map(([a, b]) => [a + 500, b + 500]),
    ];
    const model = new IsolationForest({ nTrees: 40, seed: 3 }).fit(rows);
    const trees = decodeTrees(model.toJSON());
    let sum = 0;
    for (const tree of trees) {
      let node = tree;
      let depth = 0;
      while (node.feature >= 0) {
        node = 1 <= node.threshold ? node.left! : node.right!;
        depth++;
      }
      expect(node.count).toBe(150);
      expect(depth).toBeLessThan(8);
      sum += depth + c(150);
    }
    expect(model.scoreOne([1, 1])).toBeCloseTo(2 ** -(sum / (40 * c(256))), 14);
  });

  it('accepts a row-major Float64Array with cols, and {data, cols}', () => {
    const rows = uniformRows(80, 3, 12);
    const flat = Float64Array.from(rows.flat());
    const a = new IsolationForest({ seed: 5 }).fit(rows).scoreSamples(rows);
    const b = new IsolationForest({ seed: 5 }).fit(flat, 3).scoreSamples({ data: flat, cols: 3 });
    expect(b).toEqual(a);
  });

  it('uses the compact tree walk for tall forests (psi > 8192) with the same scores as the definition', () => {
    const rows = uniformRows(9000, 2, 21);
    const model = new IsolationForest({ nTrees: 3, sampleSize: 9000, seed: 2 }).fit(rows);
    const json = model.toJSON();
    const trees = decodeTrees(json);
    const queries = rows.slice(0, 50);
    const scores = model.scoreSamples(queries);
    for (let i = 0; i < queries.length; i++) {
      expect(scores[i]).toBeCloseTo(referenceScore(trees, 9000, queries[i]), 12);
      expect(Object.is(model.scoreOne(queries[i]), scores[i])).toBe(true);
    }
  });
});

describe('IsolationForest.explain', () => {
  const cluster = uniformRows(200, 3, 5);
  const model = new IsolationForest({ seed: 1 }).fit([...cluster, [0.5, 0.5, 100], [-100, 0.5, 0.5]]);

  it('gives shares that are non-negative, sorted, and sum to 1 (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -200, max: 200, noNaN: true }), { minLength: 3, maxLength: 3 }),
        (x) => {
          const { score, contributions } = model.explain(x);
          expect(Object.is(score, model.scoreOne(x))).toBe(true);
          expect(contributions.map((c) => c.feature).sort()).toEqual([0, 1, 2]);
          let total = 0;
          for (let k = 0; k < contributions.length; k++) {
            expect(contributions[k].share).toBeGreaterThanOrEqual(0);
            if (k > 0) expect(contributions[k].share).toBeLessThanOrEqual(contributions[k - 1].share);
            expect(contributions[k].value).toBe(x[contributions[k].feature]);
            total += contributions[k].share;
          }
          expect(Math.abs(total - 1)).toBeLessThan(1e-12);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('puts most of the share of a point far above on feature 2 on feature 2, direction above', () => {
    const { contributions } = model.explain([0.5, 0.5, 100]);
    expect(contributions[0]).toMatchObject({ feature: 2, direction: 'above', value: 100 });
    expect(contributions[0].share).toBeGreaterThan(0.8);
    expect(contributions[0].typical).toBeCloseTo(0.5, 1);
  });

  it('says below for a point far below on feature 0', () => {
    const { contributions } = model.explain([-100, 0.5, 0.5]);
    expect(contributions[0]).toMatchObject({ feature: 0, direction: 'below', value: -100 });
    expect(contributions[0].share).toBeGreaterThan(0.8);
  });

  it('ranks the deviating feature first for a point that was not in the training data', () => {
    const clean = new IsolationForest({ seed: 1 }).fit(cluster);
    expect(clean.explain([0.5, 40, 0.5]).contributions[0]).toMatchObject({ feature: 1, direction: 'above' });
    expect(clean.explain([0.5, 0.5, -40]).contributions[0]).toMatchObject({ feature: 2, direction: 'below' });
  });

  it('stores per-feature training medians as typical values', () => {
    const m = new IsolationForest({ nTrees: 5 }).fit([
      [1, 10],
      [3, 40],
      [2, 20],
      [9, 30],
    ]);
    expect(m.toJSON().featureMedians).toEqual([2.5, 25]);
    const { contributions } = m.explain([0, 0]);
    expect(contributions.find((c) => c.feature === 1)?.typical).toBe(25);
  });

  it('stores exact medians for odd and even row counts, with ties (property)', () => {
    fc.assert(
      fc.property(smallData, (rows) => {
        const medians = new IsolationForest({ nTrees: 1 }).fit(rows).toJSON().featureMedians;
        for (let j = 0; j < rows[0].length; j++) {
          const col = rows.map((r) => r[j]).sort((a, b) => a - b);
          const h = col.length >> 1;
          const expected = col.length % 2 === 1 ? col[h] : (col[h - 1] + col[h]) / 2;
          expect(medians[j]).toBe(expected + 0);
        }
      }),
    );
  });

  it('shares equally, direction by the median, when no split lies on the path (constant training data)', () => {
    const m = new IsolationForest({ nTrees: 5 }).fit([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    const { contributions } = m.explain([3, 0]);
    expect(contributions).toEqual([
      { feature: 0, share: 0.5, direction: 'above', value: 3, typical: 1 },
      { feature: 1, share: 0.5, direction: 'below', value: 0, typical: 2 },
    ]);
  });
});

describe('IsolationForest errors', () => {
  const rows = uniformRows(30, 2, 1);

  it.each([
    [{ nTrees: 0 }, /nTrees must be an integer >= 1, got 0/],
    [{ nTrees: 2.5 }, /nTrees must be an integer >= 1, got 2\.5/],
    [{ sampleSize: 1 }, /sampleSize must be an integer >= 2, got 1/],
    [{ contamination: 0.7 }, /contamination must be 'auto' or a number in \(0, 0\.5\], got 0\.7/],
    [{ contamination: 0 }, /contamination .* got 0/],
    [{ contamination: 'high' as unknown as number }, /contamination .* got "high"/],
    [{ seed: 1.5 }, /seed must be a safe integer, got 1\.5/],
  ])('rejects options %o with DetectorConfigError', (options, message) => {
    expect(() => new IsolationForest(options)).toThrow(DetectorConfigError);
    expect(() => new IsolationForest(options)).toThrow(message);
  });

  it('rejects bad training data with DetectorInputError', () => {
    const f = new IsolationForest();
    expect(() => f.fit([[1, 2]])).toThrow(DetectorInputError);
    expect(() => f.fit([[1, 2]])).toThrow(/X has 1 row; an isolation forest needs at least 2 rows/);
    expect(() => f.fit([])).toThrow(/empty/);
    expect(() =>
      f.fit([
        [1, 2],
        [3, Number.NaN],
      ]),
    ).toThrow(/row 1, column 1 is NaN/);
    expect(() => f.fit([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => f.fit([[1, 2], [3]])).toThrow(DetectorInputError);
  });

  it('rejects data of another width or non-finite values at score time', () => {
    const f = new IsolationForest({ nTrees: 5 }).fit(rows);
    expect(() => f.scoreSamples([[1, 2, 3]])).toThrow(DetectorInputError);
    expect(() => f.scoreSamples([[1, 2, 3]])).toThrow(/3 columns but the model was fitted on 2/);
    expect(() => f.predict([[1]])).toThrow(/1 columns but the model was fitted on 2/);
    expect(() => f.scoreOne([1, 2, 3])).toThrow(/x must be 2 numbers \(the fitted width\), got 3 values/);
    expect(() => f.scoreOne([1, Number.POSITIVE_INFINITY])).toThrow(/x\[1\] is Infinity/);
    expect(() => f.scoreOne([1, Number.NaN])).toThrow(DetectorInputError);
    expect(() => f.explain([1])).toThrow(/1 values but the model was fitted on 2/);
  });

  it('throws NotFittedError before fit', () => {
    const f = new IsolationForest();
    expect(f.isFitted).toBe(false);
    for (const call of [
      () => f.scoreSamples(rows),
      () => f.scoreOne([1, 2]),
      () => f.predict(rows),
      () => f.decisionFunction(rows),
      () => f.explain([1, 2]),
      () => f.toJSON(),
      () => f.threshold,
    ]) {
      expect(call).toThrow(NotFittedError);
    }
    expect(() => f.scoreSamples(rows)).toThrow(/not fitted: call fit\(\) before scoreSamples/);
  });

  describe('fromJSON', () => {
    const json = new IsolationForest({ nTrees: 4, seed: 3 }).fit(rows).toJSON();
    const edit = (patch: (j: IsolationForestJSON) => void): unknown => {
      const copy = JSON.parse(JSON.stringify(json)) as IsolationForestJSON;
      patch(copy);
      return copy;
    };

    it('rejects another schema version, naming both', () => {
      const bad = edit((j) => {
        (j as { schemaVersion: number }).schemaVersion = 2;
      });
      expect(() => IsolationForest.fromJSON(bad)).toThrow(ModelSchemaError);
      expect(() => IsolationForest.fromJSON(bad)).toThrow(
        /schemaVersion 2; this library reads schemaVersion 1/,
      );
    });

    it('rejects another kind', () => {
      const bad = edit((j) => {
        (j as { kind: string }).kind = 'shelfwatch.DBSCAN';
      });
      expect(() => IsolationForest.fromJSON(bad)).toThrow(ModelSchemaError);
      expect(() => IsolationForest.fromJSON(bad)).toThrow(
        /kind is "shelfwatch.DBSCAN", expected "shelfwatch.IsolationForest"/,
      );
      expect(() => IsolationForest.fromJSON(null)).toThrow(/the model must be an object, got null/);
      expect(() => IsolationForest.fromJSON([1])).toThrow(ModelSchemaError);
    });

    it('rejects truncated or inconsistent trees with a clear message', () => {
      const cases: Array<[(j: IsolationForestJSON) => void, RegExp]> = [
        [
          (j) => {
            j.trees.feature = j.trees.feature.slice(0, -8);
          },
          /trees\.feature must be \d+ base64 characters/,
        ],
        [
          (j) => {
            j.trees.nodes = j.trees.nodes.slice(1);
          },
          /trees\.nodes must list the node count of each of the 4 trees/,
        ],
        [
          (j) => {
            j.trees.nodes[0] -= 1;
            j.trees.nodes[1] += 1;
          },
          /tree 0|tree 1/,
        ],
        [
          (j) => {
            const buf = Buffer.from(j.trees.count, 'base64');
            buf.writeInt32LE(buf.readInt32LE(0) + 1, 0);
            j.trees.count = buf.toString('base64');
          },
          /root holds 31 rows, expected the sample size 30/,
        ],
        [
          (j) => {
            const buf = Buffer.from(j.trees.feature, 'base64');
            buf.writeInt32LE(5, 0);
            j.trees.feature = buf.toString('base64');
          },
          /feature 5 is out of range 0\.\.1/,
        ],
        [
          (j) => {
            j.trees.threshold = `!${j.trees.threshold.slice(1)}`;
          },
          /invalid characters/,
        ],
        [
          (j) => {
            j.featureMedians = [1];
          },
          /featureMedians must be an array of 2 numbers/,
        ],
        [
          (j) => {
            j.nTrees = 0;
          },
          /nTrees must be an integer >= 1, got 0/,
        ],
        [
          (j) => {
            j.sampleSize = 300;
          },
          /sampleSize must be an integer in 2\.\.256/,
        ],
        [
          (j) => {
            j.threshold = 0.7;
          },
          /threshold must be 0\.5 with contamination 'auto'/,
        ],
        [
          (j) => {
            delete (j as Partial<IsolationForestJSON>).trees;
          },
          /trees must be an object, got undefined/,
        ],
        [
          (j) => {
            delete (j as Partial<IsolationForestJSON>).seed;
          },
          /seed is missing/,
        ],
      ];
      for (const [patch, message] of cases) {
        const bad = edit(patch);
        expect(() => IsolationForest.fromJSON(bad)).toThrow(ModelSchemaError);
        expect(() => IsolationForest.fromJSON(bad)).toThrow(message);
      }
    });
  });
});
