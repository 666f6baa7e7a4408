/**
 * The generator: events/s and peak RSS for the same business simulated for longer, each run in a fresh
 * process. Memory follows the events in flight (per-day volume), not the length of the run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchRow, progress } from './harness.js';

export interface GeneratorBenchOptions {
  /** SKUs (× 3 warehouses); about 36 events per SKU per day. */
  skus: number;
  /** Run lengths in days, one run each. */
  days: number[];
}

interface ChildResult {
  records: number;
  bytes: number;
  seconds: number;
  maxRssMiB: number;
}

export async function benchGenerator(opts: GeneratorBenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const child = new URL('./generate-child.ts', import.meta.url).pathname;
  const skus = opts.skus;
  for (const days of opts.days) {
    const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-gen-bench-'));
    try {
      progress(`generator: ${skus} SKUs × 3 warehouses × ${days} days`);
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', child, dir, String(skus), String(days)],
        {
          encoding: 'utf8',
        },
      );
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
      rows.push({
        suite: 'generator',
        case: `${(r.records / 1e6).toFixed(2)}M events (${skus} SKUs × 3 warehouses × ${days} days), ${(r.bytes / 2 ** 20).toFixed(0)} MiB`,
        metric: 'events/s to disk',
        unit: 'ev/s',
        ours: r.records / r.seconds,
        note: `peak RSS ${r.maxRssMiB.toFixed(0)} MiB`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}
