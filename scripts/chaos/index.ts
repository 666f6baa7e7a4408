/**
 * `npm run chaos`: the fault campaign. SIGKILLs at random points of a replay, outages of the servers
 * the job depends on, fuzzed and hostile records, a soak, and SIGTERM with a dead webhook; each
 * scenario checks its figures, and the run writes `docs/chaos-report.md` (and `.json`) and prints the
 * summary table for the README. Exits 1 when any check failed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Check, progress, type ScenarioResult } from './checks.js';
import { runFuzz } from './fuzz.js';
import { ROOT } from './job.js';
import { runKills } from './kills.js';
import { runOutages } from './outages.js';
import { type CampaignReport, machine, summaryTable, writeReport } from './report.js';
import { runSigterm } from './sigterm.js';
import { runSoak } from './soak.js';

/** The fixed default seed: every run without `--seed` is the same campaign. */
const DEFAULT_SEED = 11;
const SCENARIOS = ['kills', 'outages', 'fuzz', 'soak', 'sigterm'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** The sizes: the full campaign (issue 11's figures) and the short version (`--quick`). */
const SIZES = {
  full: {
    kills: { kills: 20, records: 100_000, days: 28, hostile: 500, batch: 1_000 },
    outages: { outageMs: 30_000, servers: ['mariadb', 'dynamodb', 'fauxqs'] },
    fuzz: { records: 10_000 },
    soak: { rate: 5_000, seconds: 600, warmupSeconds: 60, sampleSeconds: 5 },
  },
  quick: {
    kills: { kills: 3, records: 9_000, days: 14, hostile: 60, batch: 500 },
    outages: { outageMs: 10_000, servers: ['fauxqs'] },
    fuzz: { records: 1_000 },
    soak: { rate: 2_000, seconds: 20, warmupSeconds: 20, sampleSeconds: 1 },
  },
} as const;

const HELP = `Usage: npm run chaos -- [--seed N] [--only ${SCENARIOS.join(',')}] [--quick] [--out DIR] [--keep]

The fault campaign of shelfwatch run (issue 11):
  kills     a ~100k-record replay with hostile lines, SIGKILLed 20 times at seeded random points and
            restarted until done; state, applied ids, dead letters and alerts compared with a clean run
  outages   MariaDB, DynamoDB Local and fauxqs away for 30 s each mid-stream
  fuzz      10k fuzzed records (fast-check, every wire format) and the hostile classes
  soak      5,000 records/s for 10 minutes: rate, /readyz, RSS at start and end
  sigterm   SIGTERM with a dead webhook and the default shutdown.timeoutMs (30 s)

Options:
  --seed N   seed of every random choice (default ${DEFAULT_SEED}; printed)
  --only A,B run only these scenarios
  --quick    the short version (3 kills over ~9k records, one 10 s outage, 1k fuzzed, 20 s soak at 2,000/s)
  --out DIR  where the report goes (default docs/ for the full campaign, a temporary folder otherwise)
  --keep     keep the working folder (datasets, databases, logs) and print where it is
  -h, --help this help

Writes chaos-report.md and chaos-report.json; exits 1 if any check failed. The full campaign takes ~25 min.`;

function options() {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 31) {
    process.stderr.write(`chaos: --seed must be an integer from 0 to 2^31 − 1, got '${values.seed}'\n`);
    process.exit(2);
  }
  const only = (values.only ?? SCENARIOS.join(',')).split(',').map((s) => s.trim());
  for (const s of only) {
    if (!(SCENARIOS as readonly string[]).includes(s)) {
      process.stderr.write(`chaos: unknown scenario '${s}' (known: ${SCENARIOS.join(', ')})\n`);
      process.exit(2);
    }
  }
  return { seed, only: new Set(only as Scenario[]), quick: values.quick, out: values.out, keep: values.keep };
}

/** Runs one scenario; what it throws becomes one failed check, so the others still run. */
async function scenario(name: Scenario, run: () => Promise<ScenarioResult>): Promise<ScenarioResult> {
  progress(name, 'starting');
  try {
    const result = await run();
    const failed = result.checks.filter((c) => !c.ok);
    progress(name, `${failed.length === 0 ? 'passed' : `FAILED ${failed.length} checks`}: ${result.summary}`);
    for (const c of failed) progress(name, `  ✗ ${c.name}: ${c.detail.slice(0, 600)}`);
    return result;
  } catch (err) {
    const check: Check = {
      name: 'the scenario ran to the end',
      ok: false,
      detail: err instanceof Error ? (err.stack ?? err.message) : String(err),
    };
    progress(name, `FAILED: ${check.detail.slice(0, 2_000)}`);
    return { scenario: name, checks: [check], figures: [], summary: 'did not complete' };
  }
}

const o = options();
const full = !o.quick && o.only.size === SCENARIOS.length;
const flags = [
  o.seed === DEFAULT_SEED ? '' : `--seed ${o.seed}`,
  o.quick ? '--quick' : '',
  o.only.size === SCENARIOS.length ? '' : `--only ${[...o.only].join(',')}`,
].filter(Boolean);
const command = flags.length > 0 ? `npm run chaos -- ${flags.join(' ')}` : 'npm run chaos';
const work = mkdtempSync(join(tmpdir(), 'shelfwatch-chaos-'));
progress(
  'campaign',
  `seed ${o.seed}${o.quick ? ', quick' : ''}; scenarios ${[...o.only].join(', ')}; working in ${work}`,
);
const t0 = Date.now();
const results: ScenarioResult[] = [];
const size = SIZES[o.quick ? 'quick' : 'full'];
const dirOf = (name: Scenario) => join(work, name);
const runners: Record<Scenario, () => Promise<ScenarioResult>> = {
  kills: () => runKills({ dir: dirOf('kills'), seed: o.seed, ...size.kills }),
  outages: () => runOutages({ dir: dirOf('outages'), ...size.outages }),
  fuzz: () => runFuzz({ dir: dirOf('fuzz'), seed: o.seed, ...size.fuzz }),
  soak: () => runSoak({ dir: dirOf('soak'), seed: o.seed, ...size.soak }),
  sigterm: () => runSigterm({ dir: dirOf('sigterm'), seed: o.seed }),
};
try {
  for (const name of SCENARIOS) if (o.only.has(name)) results.push(await scenario(name, runners[name]));
} finally {
  if (o.keep) progress('campaign', `kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

const report: CampaignReport = {
  date: new Date().toISOString(),
  seed: o.seed,
  command,
  quick: o.quick,
  machine: machine(),
  results,
  seconds: (Date.now() - t0) / 1000,
};
const out = o.out ?? (full ? join(ROOT, 'docs') : join(tmpdir(), 'shelfwatch-chaos-report'));
mkdirSync(out, { recursive: true });
const written = writeReport(report, out);
const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok));
process.stdout.write(`\n${summaryTable(report)}\n\n`);
process.stdout.write(
  `chaos: seed ${o.seed}, ${(report.seconds / 60).toFixed(1)} min; report ${written.join(', ')}\n`,
);
process.stdout.write(
  failed.length === 0 ? 'chaos: every check held\n' : `chaos: ${failed.length} checks FAILED\n`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
