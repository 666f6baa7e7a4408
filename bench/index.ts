/**
 * `npm run bench`: every speed, memory and accuracy target, measured against a peer in the same run
 * (this machine is noisy, so ratios, not absolute times, are what we judge).
 *
 * Writes bench/results/latest.json and latest.md, each suite's rows to bench/results/suites/<suite>.json,
 * and the table between the bench markers of README.md: every suite's latest full-size rows, so a run of
 * some suites (`--only`) refreshes them and keeps the others' last figures.
 * Options: --quick (smaller sizes, for a smoke run; never written to the README), --only a,b, --no-readme.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { benchDbscan } from './dbscan.js';
import { benchGenerator } from './generator.js';
import { type BenchRow, markdownTable, progress } from './harness.js';
import { benchIforest } from './iforest.js';
import { benchKinesis } from './kinesis.js';
import { benchPipeline } from './pipeline.js';
import { benchSeriesDetectors } from './series.js';
import { benchSinks } from './sinks.js';
import { benchStores } from './stores.js';
import { benchStreaming } from './streaming.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-readme': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const ALL_SUITES = [
  'iforest',
  'dbscan',
  'streaming',
  'generator',
  'pipeline',
  'series',
  'stores',
  'sinks',
  'kinesis',
];

if (values.help) {
  process.stdout.write(
    `Usage: npm run bench -- [--quick] [--only ${ALL_SUITES.join(',')}] [--no-readme]\n` +
      'Writes bench/results/latest.json, bench/results/latest.md and the README benchmark table.\n',
  );
  process.exit(0);
}

const suites = new Set((values.only ?? ALL_SUITES.join(',')).split(',').map((s) => s.trim()));
for (const s of suites) {
  if (!ALL_SUITES.includes(s)) {
    process.stderr.write(`bench: unknown suite '${s}' (known: ${ALL_SUITES.join(', ')})\n`);
    process.exit(2);
  }
}
const quick = values.quick;

const rows: BenchRow[] = [];
const bySuite = new Map<string, BenchRow[]>();
const started = Date.now();
/** Runs one suite (when selected) and keeps its rows apart, for the per-suite files and the README. */
async function run(suite: string, task: () => Promise<BenchRow[]>): Promise<void> {
  if (!suites.has(suite)) return;
  const got = await task();
  bySuite.set(suite, got);
  rows.push(...got);
}

await run('iforest', () =>
  benchIforest({
    seeds: quick ? 5 : 50,
    repeats: quick ? 2 : 5,
    scoringRows: quick ? 100_000 : 1_000_000,
    peerRuns: quick ? 2 : 10,
  }),
);
await run('dbscan', () =>
  benchDbscan({
    repeats: quick ? 2 : 5,
    peerN: quick ? 5_000 : 20_000,
    sklearnN: quick ? 10_000 : 50_000,
    largeN: quick ? 50_000 : 200_000,
  }),
);
await run('streaming', () => benchStreaming({ points: quick ? 100_000 : 1_000_000, repeats: quick ? 2 : 5 }));
await run('generator', () => benchGenerator({ skus: quick ? 100 : 1000, days: quick ? [7, 28] : [28, 112] }));
await run('pipeline', () =>
  benchPipeline({ skus: quick ? 50 : 200, memorySeries: quick ? 10_000 : 100_000 }),
);
await run('series', () => benchSeriesDetectors(quick ? [1] : [1, 2, 3]));
await run('stores', () => benchStores({ batches: quick ? 30 : 150 }));
await run('sinks', () =>
  benchSinks(quick ? { notifications: 500, batchSize: 50 } : { notifications: 3000, batchSize: 100 }),
);
await run('kinesis', () =>
  benchKinesis(
    quick
      ? { throughputDays: 2, latencyRate: 2000, latencySeconds: 8, pollIntervalsMs: [200] }
      : { throughputDays: 7, latencyRate: 5000, latencySeconds: 20, pollIntervalsMs: [200, 1000] },
  ),
);

const result = {
  date: new Date().toISOString(),
  quick,
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  seconds: (Date.now() - started) / 1000,
  rows,
};
const table = markdownTable(rows);
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('latest.json', dir), `${JSON.stringify(result, null, 2)}\n`);
const header = `Measured ${result.date.slice(0, 10)} on ${result.cpu} (${result.cores} cores), Node ${result.node}${
  quick ? ', --quick sizes' : ''
}.`;
writeFileSync(new URL('latest.md', dir), `${header}\n\n${table}\n`);
process.stdout.write(`${header}\n\n${table}\n`);

const failed = rows.filter((r) => r.pass === false);
if (!quick) {
  // Full-size rows of each suite run now replace that suite's file; the README merges every suite's.
  const suiteDir = new URL('suites/', dir);
  mkdirSync(suiteDir, { recursive: true });
  for (const [suite, suiteRows] of bySuite) {
    const saved = {
      date: result.date,
      cpu: result.cpu,
      cores: result.cores,
      node: result.node,
      rows: suiteRows,
    };
    writeFileSync(new URL(`${suite}.json`, suiteDir), `${JSON.stringify(saved, null, 2)}\n`);
  }
}
if (!values['no-readme'] && !quick) {
  const merged: BenchRow[] = [];
  const dates = new Set<string>();
  for (const suite of ALL_SUITES) {
    const file = new URL(`suites/${suite}.json`, dir);
    if (!existsSync(file)) continue;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { date: string; rows: BenchRow[] };
    dates.add(saved.date.slice(0, 10));
    merged.push(...saved.rows);
  }
  const readmeUrl = new URL('../README.md', import.meta.url);
  const readme = readFileSync(readmeUrl, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a >= 0 && b > a) {
    const when = [...dates].sort().join(', ');
    const mergedHeader = `Measured ${when} on ${result.cpu} (${result.cores} cores), Node ${result.node}; each suite's latest full run (\`bench/results/suites/\`).`;
    writeFileSync(
      readmeUrl,
      `${readme.slice(0, a + start.length)}\n${mergedHeader}\n\n${markdownTable(merged)}\n${readme.slice(b)}`,
    );
    progress('README benchmark table updated');
  }
}
if (failed.length > 0) {
  progress(
    `${failed.length} target(s) not met: ${failed.map((r) => `${r.suite} ${r.case} ${r.metric}`).join('; ')}`,
  );
  process.exitCode = 1;
}
