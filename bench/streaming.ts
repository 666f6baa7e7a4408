/** Streaming baselines: per-point cost of score-then-learn, against recomputing with simple-statistics. */
import { median, medianAbsoluteDeviation } from 'simple-statistics';
import { EwmaDetector, RollingRobustZScore } from '../detectors/index.js';
import { Rng } from '../detectors/random.js';
import { type BenchRow, progress, time } from './harness.js';

export interface StreamingOptions {
  points: number;
  repeats: number;
}

function series(n: number): Float64Array {
  const rng = new Rng(5);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = 20 + 10 * Math.sin((2 * Math.PI * i) / 24) + 3 * rng.nextFloat();
  return out;
}

export async function benchStreaming(opts: StreamingOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const xs = series(opts.points);
  for (const window of [168, 1000]) {
    progress(`streaming robust z-score, window ${window}`);
    const t = time(() => {
      const det = new RollingRobustZScore({ window });
      for (let i = 0; i < xs.length; i++) {
        det.scoreOne(xs[i]);
        det.learnOne(xs[i]);
      }
    }, opts.repeats);
    // The naive way: recompute median and MAD of the window for every point.
    const naivePoints = Math.min(xs.length, 20_000);
    const naive = time(
      () => {
        const buf: number[] = [];
        for (let i = 0; i < naivePoints; i++) {
          if (buf.length >= 3) {
            const m = median(buf);
            (xs[i] - m) / (1.4826 * medianAbsoluteDeviation(buf) || 1);
          }
          buf.push(xs[i]);
          if (buf.length > window) buf.shift();
        }
      },
      1,
      0,
    );
    const ours = (t.best / xs.length) * 1e9;
    const peer = (naive.best / naivePoints) * 1e9;
    rows.push({
      suite: 'streaming',
      case: `RollingRobustZScore, window ${window}`,
      metric: 'score+learn per point',
      unit: 'ns',
      ours,
      peer: 'simple-statistics recompute',
      peerValue: peer,
      ratio: peer / ours,
    });
  }
  progress('streaming EWMA');
  const e = time(() => {
    const det = new EwmaDetector({ alpha: 0.1 });
    for (let i = 0; i < xs.length; i++) {
      det.scoreOne(xs[i]);
      det.learnOne(xs[i]);
    }
  }, opts.repeats);
  rows.push({
    suite: 'streaming',
    case: 'EwmaDetector',
    metric: 'score+learn per point',
    unit: 'ns',
    ours: (e.best / xs.length) * 1e9,
  });
  return rows;
}
