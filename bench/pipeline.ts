/** The stream job end to end on one core with SQLite state, and its memory per tracked series. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDataset } from '../datasets/index.js';
import { type BenchRow, progress } from './harness.js';

export interface PipelineBenchOptions {
  skus: number;
  memorySeries: number;
}

function child(args: string[], gc = false): Record<string, number> {
  const script = new URL('./pipeline-child.ts', import.meta.url).pathname;
  const flags = gc ? ['--expose-gc', '--import', 'tsx'] : ['--import', 'tsx'];
  const out = execFileSync(process.execPath, [...flags, script, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
}

export async function benchPipeline(opts: PipelineBenchOptions): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-pipe-bench-'));
  try {
    progress(`pipeline: generating ${opts.skus} SKUs × 3 warehouses × 28 days`);
    await writeDataset(join(dir, 'ds'), { seed: 1, skus: opts.skus });
    progress('pipeline: end to end with SQLite state');
    const t = child(['throughput', join(dir, 'ds/events.ndjson'), join(dir, 'state.db')]);
    progress(`pipeline: memory for ${opts.memorySeries} series`);
    const m = child(['memory', String(opts.memorySeries)], true);
    return [
      {
        suite: 'pipeline',
        case: `${(t.records / 1000).toFixed(0)}k generated records, batches of 5,000, SQLite file, file sink`,
        metric: 'events/s end to end, one core',
        unit: 'ev/s',
        ours: t.events / t.seconds,
        target: '≥ 100k ev/s',
        pass: t.events / t.seconds >= 100_000,
        note: `${(t.records / t.seconds / 1000).toFixed(0)}k records/s`,
      },
      {
        suite: 'pipeline',
        case: `${m.series.toLocaleString('en')} SKU × warehouse series`,
        metric: 'memory per tracked series (state + detector)',
        unit: 'B',
        ours: m.bytesPerSeries,
        target: '≤ 2 KB',
        pass: m.bytesPerSeries <= 2048,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
