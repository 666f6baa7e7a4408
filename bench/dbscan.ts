/** DBSCAN: ours against density-clustering and scikit-learn on the same seeded blobs. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DBSCAN as DensityDbscan } from 'density-clustering';
import { Dbscan } from '../detectors/index.js';
import { blobs, samePartition, toRows, writeCsv } from './data.js';
import { type BenchRow, progress, runSklearn, sklearnAvailable, time } from './harness.js';

export interface DbscanOptions {
  repeats: number;
  /** n for the density-clustering comparison (O(n²) on its side). */
  peerN: number;
  /** n for the scikit-learn comparison. */
  sklearnN: number;
  /** n for the large run (time and memory, ours alone). */
  largeN: number;
}

const EPS = 0.5;
const MIN_PTS = 10;

function densityLabels(n: number, clusters: number[][]): Int32Array {
  const labels = new Int32Array(n).fill(-1);
  clusters.forEach((members, k) => {
    for (const i of members) labels[i] = k;
  });
  return labels;
}

export async function benchDbscan(opts: DbscanOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const d = 2;

  {
    const n = opts.peerN;
    const data = blobs(n, d, 1);
    progress(`dbscan n=${n}: ours`);
    let ours: Int32Array = new Int32Array(0);
    const t = time(() => {
      ours = new Dbscan({ eps: EPS, minPts: MIN_PTS }).fit(data, d).labels;
    }, opts.repeats);
    progress(`dbscan n=${n}: density-clustering (O(n²), one run)`);
    const plain = toRows(data, d);
    let peer: Int32Array = new Int32Array(0);
    const p = time(
      () => {
        peer = densityLabels(n, new DensityDbscan().run(plain, EPS, MIN_PTS));
      },
      1,
      0,
    );
    const cmp = samePartition(ours, peer);
    rows.push({
      suite: 'DBSCAN',
      case: `blobs n=${n.toLocaleString('en')}, d=2, eps=${EPS}, minPts=${MIN_PTS}`,
      metric: 'fit time',
      unit: 's',
      ours: t.best,
      peer: 'density-clustering 1.3.0',
      peerValue: p.best,
      ratio: p.best / t.best,
      target: '≥ 50× faster, same labels',
      pass: p.best / t.best >= 50 && cmp.same,
      note: cmp.same ? 'same partition' : `${cmp.mismatches} points differ`,
    });
  }

  if (sklearnAvailable()) {
    const n = opts.sklearnN;
    const data = blobs(n, d, 2);
    const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-bench-'));
    try {
      const csv = join(dir, 'blobs.csv');
      const labelsOut = join(dir, 'labels.txt');
      writeCsv(csv, data, d);
      progress(`dbscan n=${n}: ours`);
      let ours: Int32Array = new Int32Array(0);
      const t = time(() => {
        ours = new Dbscan({ eps: EPS, minPts: MIN_PTS }).fit(data, d).labels;
      }, opts.repeats);
      progress(`dbscan n=${n}: scikit-learn`);
      const sk = runSklearn<{ fitSeconds: number; sklearnVersion: string }>([
        'dbscan',
        csv,
        String(EPS),
        String(MIN_PTS),
        String(opts.repeats),
        labelsOut,
      ]);
      const skLabels = Int32Array.from(readFileSync(labelsOut, 'utf8').trim().split('\n'), Number);
      let exact = 0;
      for (let i = 0; i < n; i++) if (skLabels[i] === ours[i]) exact++;
      const cmp = samePartition(ours, skLabels);
      rows.push({
        suite: 'DBSCAN',
        case: `blobs n=${n.toLocaleString('en')}, d=2, eps=${EPS}, minPts=${MIN_PTS}`,
        metric: 'fit time',
        unit: 's',
        ours: t.best,
        peer: `scikit-learn ${sk.sklearnVersion}`,
        peerValue: sk.fitSeconds,
        ratio: sk.fitSeconds / t.best,
        target: '≤ ½ of scikit-learn’s time',
        pass: t.best <= sk.fitSeconds / 2 && cmp.same,
        note: `${exact === n ? 'identical labels' : `${n - exact} labels differ`}; ${
          cmp.same ? 'same partition' : `${cmp.mismatches} points in another partition`
        }`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    progress('scikit-learn not found (apt-get install python3-sklearn): skipping its DBSCAN comparison');
  }

  {
    const n = opts.largeN;
    const data = blobs(n, d, 3);
    progress(`dbscan n=${n}: ours`);
    const t = time(
      () => {
        new Dbscan({ eps: EPS, minPts: MIN_PTS }).fit(data, d);
      },
      Math.min(3, opts.repeats),
      0,
    );
    rows.push({
      suite: 'DBSCAN',
      case: `blobs n=${n.toLocaleString('en')}, d=2`,
      metric: 'fit time (ours alone)',
      unit: 's',
      ours: t.best,
    });
  }
  return rows;
}
