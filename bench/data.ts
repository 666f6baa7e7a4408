/** Seeded synthetic data for the benchmarks, written to CSV when a peer process needs it. */
import { writeFileSync } from 'node:fs';
import { Rng } from '../detectors/random.js';

/** Gaussian blobs plus uniform background noise in [0, 100]^d, row-major. */
export function blobs(n: number, d: number, seed: number, centers = 10, noiseFraction = 0.05): Float64Array {
  const rng = new Rng(seed);
  const c = new Float64Array(centers * d);
  for (let k = 0; k < c.length; k++) c[k] = 10 + 80 * rng.nextFloat();
  const out = new Float64Array(n * d);
  const nNoise = Math.round(n * noiseFraction);
  for (let i = 0; i < n; i++) {
    if (i < nNoise) {
      for (let j = 0; j < d; j++) out[i * d + j] = 100 * rng.nextFloat();
    } else {
      const k = rng.nextInt(centers);
      for (let j = 0; j < d; j++) {
        // Box–Muller; sd 2 around the centre.
        const u = 1 - rng.nextFloat();
        const v = rng.nextFloat();
        out[i * d + j] = c[k * d + j] + 2 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      }
    }
  }
  return out;
}

export function toRows(data: Float64Array, d: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < data.length; i += d) rows.push(Array.from(data.subarray(i, i + d)));
  return rows;
}

/** Writes a headed CSV (`f0,…`) with full double precision so a peer reads the same numbers. */
export function writeCsv(path: string, data: Float64Array, d: number): void {
  const header = Array.from({ length: d }, (_, j) => `f${j}`).join(',');
  const lines = [header];
  for (let i = 0; i < data.length; i += d)
    lines.push(Array.from(data.subarray(i, i + d), (v) => String(v)).join(','));
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/**
 * Whether two labelings are the same partition: noise (−1) must agree point for point, and
 * cluster ids must map one-to-one.
 */
export function samePartition(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { same: boolean; mismatches: number } {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  let mismatches = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if ((x === -1) !== (y === -1)) {
      mismatches++;
      continue;
    }
    if (x === -1) continue;
    const mx = ab.get(x);
    const my = ba.get(y);
    if (mx === undefined && my === undefined) {
      ab.set(x, y);
      ba.set(y, x);
    } else if (mx !== y || my !== x) mismatches++;
  }
  return { same: mismatches === 0 && a.length === b.length, mismatches };
}
