import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DetectorConfigError } from '../errors.js';
import {
  CHEBYSHEV,
  EUCLIDEAN,
  fromReduced,
  MANHATTAN,
  METRICS,
  metricCode,
  NeighbourBuffer,
  reducedRadius,
} from './common.js';

/** `x` moved by `steps` adjacent doubles (x ≥ 0). */
function ulps(x: number, steps: number): number {
  const f = new Float64Array([x]);
  const i = new BigInt64Array(f.buffer);
  i[0] += BigInt(steps);
  return f[0];
}

describe('metricCode', () => {
  it('maps every metric to its code', () => {
    expect(METRICS.map((m) => metricCode(m))).toEqual([EUCLIDEAN, MANHATTAN, CHEBYSHEV]);
  });

  it.each([['minkowski'], [''], [3], [undefined]])('rejects %j, naming the option and the value', (bad) => {
    expect(() => metricCode(bad, 'metric')).toThrow(DetectorConfigError);
    expect(() => metricCode(bad, 'metric')).toThrow(
      /metric must be one of 'euclidean', 'manhattan', 'chebyshev'/,
    );
    expect(() => metricCode('cosine')).toThrow(/got 'cosine'/);
  });
});

describe('reducedRadius', () => {
  it('leaves Manhattan and Chebyshev radii unchanged', () => {
    expect(reducedRadius(MANHATTAN, 0.3)).toBe(0.3);
    expect(reducedRadius(CHEBYSHEV, 7)).toBe(7);
  });

  it('gives exact squares for integer radii', () => {
    expect(reducedRadius(EUCLIDEAN, 5)).toBeGreaterThanOrEqual(25);
    expect(Math.sqrt(reducedRadius(EUCLIDEAN, 5))).toBe(5);
    expect(reducedRadius(EUCLIDEAN, 0)).toBe(0);
  });

  it('agrees with Math.sqrt(s) <= r on every sum of squares near r² (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-150, max: 1e150, noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: -4, max: 4 }),
        (r, step) => {
          const t = reducedRadius(EUCLIDEAN, r);
          // The threshold itself passes and the next double fails: it is the exact boundary.
          expect(Math.sqrt(t)).toBeLessThanOrEqual(r);
          expect(Math.sqrt(ulps(t, 1))).toBeGreaterThan(r);
          const s = ulps(r * r, step);
          expect(s <= t).toBe(Math.sqrt(s) <= r);
        },
      ),
    );
  });

  it('round-trips through fromReduced', () => {
    expect(fromReduced(EUCLIDEAN, 16)).toBe(4);
    expect(fromReduced(MANHATTAN, 16)).toBe(16);
  });
});

describe('NeighbourBuffer', () => {
  it('grows by doubling and keeps what it holds', () => {
    const buf = new NeighbourBuffer(2);
    buf.data[0] = 7;
    buf.data[1] = 9;
    const grown = buf.grow();
    expect(grown).toBe(buf.data);
    expect(grown.length).toBe(4);
    expect(Array.from(grown.subarray(0, 2))).toEqual([7, 9]);
    expect(new NeighbourBuffer(0).data.length).toBe(1);
  });
});
