/**
 * Scenario `fuzz`: fuzzed records of every wire format and the hostile classes (a line over 1 MiB,
 * blank lines, repeats…) through `shelfwatch run` on a file. The job must stay up and account for
 * every line, by its own metrics: applied + duplicates + dead letters + blank lines = lines; every
 * dead letter with a code and a reason; and the lines it accepted, run alone through a clean job,
 * must give the same state (so nothing it refused left a trace).
 *
 * The file is tailed (`follow`) so that the job is still up, its metrics readable, once the whole
 * file is committed; then SIGTERM ends it, and it must exit 0.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/servers/ports.js';
import { Checks, n, progress, type ScenarioResult } from './checks.js';
import { byCode, checkFates } from './compare.js';
import { fuzzStream } from './fuzz-stream.js';
import {
  byLabel,
  probe,
  running,
  type Scrape,
  scrape,
  startJob,
  total,
  until,
  writeRunConfig,
} from './job.js';
import { accountFor } from './line-account.js';
import { checkpointOf, readOutcome } from './sqlite-outcome.js';

/**
 * Options of {@link runFuzz}.
 *
 * @example
 * ```ts
 * const options: FuzzOptions = { dir: '/tmp/chaos/fuzz', seed: 1, records: 10_000 };
 * ```
 */
export interface FuzzOptions {
  dir: string;
  seed: number;
  /** About how many lines the stream has. */
  records: number;
}

/**
 * Runs the scenario and returns its checks and figures.
 *
 * @example
 * ```ts
 * const result = await runFuzz({ dir, seed: 1, records: 1_000 });
 * ```
 */
export async function runFuzz(o: FuzzOptions): Promise<ScenarioResult> {
  const t0 = Date.now();
  const checks = new Checks();
  mkdirSync(o.dir, { recursive: true });
  const mix = fuzzStream(o.seed, o.records);
  const stream = join(o.dir, 'fuzz.ndjson');
  writeFileSync(stream, `${mix.lines.map((l) => l.text).join('\n')}\n`);
  const lines = mix.lines.length;
  const longest = Math.max(...mix.lines.map((l) => Buffer.byteLength(l.text)));
  const kinds = (k: string) => mix.lines.filter((l) => l.fate.kind === k).length;
  progress(
    'fuzz',
    `${n(lines)} lines (seed ${o.seed}): ${n(kinds('valid'))} valid, ${n(kinds('fuzz'))} fuzzed, longest ${n(longest)} bytes`,
  );

  const port = await freePort();
  const config = (name: string, path: string, follow: boolean, metricsPort: number) =>
    writeRunConfig(join(o.dir, `${name}.yaml`), {
      source: { type: 'file', path, follow },
      store: { type: 'sqlite', path: join(o.dir, `${name}.db`) },
      alerts: { sinks: [{ type: 'file', path: join(o.dir, `${name}-alerts.ndjson`) }] },
      metrics: { port: metricsPort },
      log: { level: 'warn' },
    });
  const job = startJob(config('fuzz', stream, true, port));
  const db = join(o.dir, 'fuzz.db');
  let metrics: Scrape | null = null;
  let ready = { status: 0, body: '' };
  try {
    await until(
      'the whole file committed',
      () => !running(job) || checkpointOf(db) >= lines,
      600_000,
      () => job.stderr().slice(-2_000),
    );
    metrics = await scrape(port);
    ready = await probe(port, '/readyz');
    checks.that(
      'the job stays up through the whole file',
      running(job),
      running(job) ? 'yes' : job.stderr().slice(-1_000),
    );
    job.child.kill('SIGTERM');
  } finally {
    if (running(job))
      await until('the job to stop', () => !running(job), 60_000).catch(() => job.child.kill('SIGKILL'));
  }
  const exit = await job.exit;
  checks.that('exit code after SIGTERM', exit.code === 0, exit.signal ?? `exit ${exit.code}`);
  checks.that('/readyz at the end', ready.status === 200, `${ready.status} ${ready.body}`);
  const outcome = readOutcome(db, join(o.dir, 'fuzz-alerts.ndjson'));
  const account = accountFor(mix.lines, new Set(outcome.deadLetters.map((d) => d.sequence)));
  const m = metrics ?? new Map<string, number>();
  checks.that('metrics read at the end', metrics !== null, metrics ? 'yes' : 'no answer');

  const accounted = account.applied + account.duplicate + account.deadLettered + account.blank;
  checks.that(
    'applied + duplicates + dead letters + blank lines = lines',
    accounted === lines && account.disagreements.length === 0,
    `${n(account.applied)} + ${n(account.duplicate)} + ${n(account.deadLettered)} + ${n(account.blank)} = ${n(accounted)} of ${n(lines)}${account.disagreements.length ? `; ${account.disagreements.slice(0, 3).join(' | ')}` : ''}`,
  );
  const metric = (name: string) => total(m, name);
  const tooLarge = outcome.deadLetters.filter((d) => d.code === 'too_large').length;
  checks.equal(
    'shelfwatch_blank_lines_total = blank lines',
    metric('shelfwatch_blank_lines_total'),
    account.blank,
    n(account.blank),
  );
  checks.equal(
    'shelfwatch_dead_letters_total = dead letters stored',
    metric('shelfwatch_dead_letters_total'),
    outcome.deadLetters.length,
    n(outcome.deadLetters.length),
  );
  checks.equal('shelfwatch_quarantined_total (dead-letter mode)', metric('shelfwatch_quarantined_total'), 0);
  checks.equal(
    'shelfwatch_events_total = new events of the accepted lines',
    metric('shelfwatch_events_total'),
    account.newEvents,
    n(account.newEvents),
  );
  checks.equal(
    'shelfwatch_duplicates_total = repeated events',
    metric('shelfwatch_duplicates_total'),
    account.repeatEvents,
    n(account.repeatEvents),
  );
  checks.equal(
    'shelfwatch_records_total = lines − blank − too large',
    metric('shelfwatch_records_total'),
    lines - account.blank - tooLarge,
    n(lines - account.blank - tooLarge),
  );
  const unexplained = outcome.deadLetters.filter((d) => d.code === '' || d.reason.trim().length < 10);
  checks.that(
    'every dead letter has a code and a reason',
    unexplained.length === 0,
    `${unexplained.length} without`,
  );
  const stored = new Set(outcome.appliedAll);
  const notStored = account.ids.filter((id) => !stored.has(id));
  checks.that(
    'every event of an accepted line is applied',
    notStored.length === 0,
    `${notStored.length} missing of ${n(account.ids.length)}`,
  );
  const fates = checkFates(checks, mix, outcome);

  // The accepted lines alone, in order, through a clean job: nothing refused may have left a trace.
  const validPath = join(o.dir, 'valid.ndjson');
  writeFileSync(validPath, `${account.accepted.join('\n')}\n`);
  const clean = startJob(config('valid', validPath, false, 0));
  const cleanExit = await clean.exit;
  checks.that('clean run of the accepted lines exits 0', cleanExit.code === 0, `exit ${cleanExit.code}`);
  const reference = readOutcome(join(o.dir, 'valid.db'), join(o.dir, 'valid-alerts.ndjson'));
  checks.equal('clean run of the accepted lines: no dead letters', reference.deadLetters.length, 0);
  checks.equal(
    'series rows equal to the clean run of the accepted lines',
    outcome.series,
    reference.series,
    `${n(reference.series.length)} rows`,
  );
  checks.equal(
    'applied ids equal to the clean run of the accepted lines',
    outcome.appliedAll,
    reference.appliedAll,
    `${n(reference.appliedAll.length)} ids`,
  );
  checks.equal(
    'anomalies equal to the clean run of the accepted lines',
    outcome.anomalies,
    reference.anomalies,
    `${n(reference.anomalies.length)}`,
  );

  const codes = byLabel(m, 'shelfwatch_dead_letters_total');
  const headline = [
    {
      figure: `fuzzed + hostile lines (${n(lines)}): applied + duplicates + dead letters + blank = lines`,
      value: `${n(account.applied)} + ${n(account.duplicate)} + ${n(account.deadLettered)} + ${n(account.blank)} = ${n(accounted)}`,
      ok: checks.held('= lines', '_total', 'stays up', 'exit code'),
    },
    {
      figure: 'every bad record dead-lettered with its reason (fuzz)',
      value: `${n(outcome.deadLetters.length)} dead letters, ${unexplained.length} without a reason`,
      ok: checks.held('code and a reason', 'met its fate'),
    },
    {
      figure: 'state of the fuzzed stream = clean run of its valid records',
      value: `${n(reference.series.length)} series, ${n(reference.appliedAll.length)} events`,
      ok: checks.held('accepted lines'),
    },
  ];
  return {
    scenario: 'fuzz',
    checks: checks.list,
    headline,
    seconds: (Date.now() - t0) / 1000,
    summary: `${n(lines)} lines: ${n(account.applied)} applied + ${n(account.duplicate)} duplicates + ${n(account.deadLettered)} dead letters + ${n(account.blank)} blank = ${n(accounted)}; exit ${exit.code}`,
    figures: [
      [
        'stream',
        `${n(lines)} lines (seed ${o.seed}): ${n(kinds('valid'))} valid generated records, ${n(kinds('fuzz'))} fuzzed (fast-check, 3 wire formats), ${n(lines - kinds('valid') - kinds('fuzz'))} hostile; longest line ${n(longest)} bytes`,
      ],
      [
        'lines accounted for',
        `${n(account.applied)} applied + ${n(account.duplicate)} duplicates + ${n(account.deadLettered)} dead letters + ${n(account.blank)} blank = ${n(accounted)} (of ${n(lines)})`,
      ],
      ['fuzzed records', `${n(account.fuzzApplied)} applied, ${n(account.fuzzDeadLettered)} dead-lettered`],
      [
        'dead letters by code (metrics)',
        [...codes].map(([c, k]) => `${c} ${n(k)}`).join(', ') || byCode(outcome.deadLetters),
      ],
      [
        'events',
        `${n(account.newEvents)} applied, ${n(account.repeatEvents)} dropped as repeats (metrics: ${n(metric('shelfwatch_events_total'))}, ${n(metric('shelfwatch_duplicates_total'))})`,
      ],
      [
        'state vs a clean run of the accepted lines alone',
        `${n(reference.series.length)} series, ${n(reference.appliedAll.length)} ids, ${n(reference.anomalies.length)} anomalies: ${checks.list.filter((c) => c.name.includes('accepted lines') && !c.ok).length === 0 ? 'equal' : 'DIFFERENT'}`,
      ],
      ['job', `up throughout, /readyz ${ready.status}, exit ${exit.code} on SIGTERM`],
      ...fates,
    ],
  };
}
