/** Timing, peer-process and report helpers shared by the benchmark suites. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** One measured comparison: ours against a peer measured in the same run. */
export interface BenchRow {
  suite: string;
  case: string;
  metric: string;
  unit: string;
  ours: number;
  peer?: string;
  peerValue?: number;
  /** How many times better ours is (peer time / our time, or our rate / peer rate). */
  ratio?: number;
  /** The acceptance target, in words, and whether this run met it. */
  target?: string;
  pass?: boolean;
  note?: string;
}

export interface Timing {
  best: number;
  median: number;
}

/** Runs `fn` `repeats` times after `warmup` untimed runs; seconds, best and median. */
export function time(fn: () => void, repeats = 5, warmup = 1): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  t.sort((a, b) => a - b);
  return { best: t[0], median: t[Math.floor(t.length / 2)] };
}

const PYTHON = '/usr/bin/python3';

/** Whether Debian's python3-sklearn is there to be measured side by side. */
export function sklearnAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import sklearn'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs bench/sklearn_side_by_side.py and parses its JSON answer. */
export function runSklearn<T>(args: readonly string[]): T {
  const script = new URL('./sklearn_side_by_side.py', import.meta.url).pathname;
  const out = execFileSync(PYTHON, [script, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // One thread, as ours: the comparison is per core.
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  return JSON.parse(out) as T;
}

function fmt(v: number | undefined, unit = ''): string {
  if (v === undefined || Number.isNaN(v)) return '—';
  const abs = Math.abs(v);
  const s =
    abs >= 1e6
      ? `${(v / 1e6).toFixed(2)} M`
      : abs >= 1e4
        ? `${(v / 1e3).toFixed(0)} k`
        : abs >= 100
          ? v.toFixed(0)
          : abs >= 1
            ? v.toFixed(3)
            : v.toFixed(4);
  return unit ? `${s} ${unit}`.replace('  ', ' ') : s;
}

/** The Markdown table of a run, one row per comparison. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const lines = [
    '| suite | case | metric | shelfwatch | peer | peer value | ratio | target | met | notes |',
    '|---|---|---|---:|---|---:|---:|---|:-:|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.suite} | ${r.case} | ${r.metric} | ${fmt(r.ours, r.unit)} | ${r.peer ?? '—'} | ${fmt(r.peerValue, r.unit)} | ${
        r.ratio === undefined ? '—' : `${r.ratio.toFixed(r.ratio >= 10 ? 0 : 2)}×`
      } | ${r.target ?? '—'} | ${r.pass === undefined ? '—' : r.pass ? 'yes' : '**no**'} | ${r.note ?? ''} |`,
    );
  }
  return lines.join('\n');
}

/** Log progress on stderr so that stdout stays clean for the table. */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
