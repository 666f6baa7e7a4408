/**
 * `npm run bench`: every speed, memory and accuracy target, measured against a peer in the same run
 * (this machine is noisy, so ratios, not absolute times, are what we judge).
 *
 * Writes bench/results/latest.json and latest.md, and the table between the bench markers of README.md.
 * Options: --quick (smaller sizes, for a smoke run), --only iforest,dbscan,streaming,generator,pipeline,series, --no-readme.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { benchDbscan } from './dbscan.js';
import { benchGenerator } from './generator.js';
import { type BenchRow, markdownTable, progress } from './harness.js';
import { benchIforest } from './iforest.js';
import { benchPipeline } from './pipeline.js';
import { benchSeriesDetectors } from './series.js';
import { benchStreaming } from './streaming.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-readme': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'Usage: npm run bench -- [--quick] [--only iforest,dbscan,streaming,generator,pipeline,series] [--no-readme]\n' +
      'Writes bench/results/latest.json, bench/results/latest.md and the README benchmark table.\n',
  );
  process.exit(0);
}

const ALL_SUITES = ['iforest', 'dbscan', 'streaming', 'generator', 'pipeline', 'series'];
const suites = new Set((values.only ?? ALL_SUITES.join(',')).split(',').map((s) => s.trim()));
for (const s of suites) {
  if (!ALL_SUITES.includes(s)) {
    process.stderr.write(`bench: unknown suite '${s}' (known: ${ALL_SUITES.join(', ')})\n`);
    process.exit(2);
  }
}
const quick = values.quick;

const rows: BenchRow[] = [];
const started = Date.now();
if (suites.has('iforest')) {
  rows.push(
    ...(await benchIforest({
      seeds: quick ? 5 : 50,
      repeats: quick ? 2 : 5,
      scoringRows: quick ? 100_000 : 1_000_000,
      peerRuns: quick ? 2 : 10,
    })),
  );
}
if (suites.has('dbscan')) {
  rows.push(
    ...(await benchDbscan({
      repeats: quick ? 2 : 5,
      peerN: quick ? 5_000 : 20_000,
      sklearnN: quick ? 10_000 : 50_000,
      largeN: quick ? 50_000 : 200_000,
    })),
  );
}
if (suites.has('streaming')) {
  rows.push(...(await benchStreaming({ points: quick ? 100_000 : 1_000_000, repeats: quick ? 2 : 5 })));
}

if (suites.has('generator')) {
  rows.push(...(await benchGenerator({ skus: quick ? 100 : 1000, days: quick ? [7, 28] : [28, 112] })));
}

if (suites.has('pipeline')) {
  rows.push(...(await benchPipeline({ skus: quick ? 50 : 200, memorySeries: quick ? 10_000 : 100_000 })));
}

if (suites.has('series')) {
  rows.push(...(await benchSeriesDetectors(quick ? [1] : [1, 2, 3])));
}

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
if (!values['no-readme'] && !quick && suites.size === ALL_SUITES.length) {
  const readmeUrl = new URL('../README.md', import.meta.url);
  const readme = readFileSync(readmeUrl, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a >= 0 && b > a) {
    writeFileSync(
      readmeUrl,
      `${readme.slice(0, a + start.length)}\n${header}\n\n${table}\n${readme.slice(b)}`,
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
