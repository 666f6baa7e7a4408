/**
 * Scenario `kills`: a generated stream with hostile lines mixed in, replayed by `shelfwatch run` (file
 * source, SQLite, file alert sink) that is SIGKILLed at seeded random points and restarted each time
 * until it finishes; then compared with a clean run of the same file.
 *
 * Kill points are lines of the stream: the job is killed once its stored checkpoint has passed the
 * point, after a random fraction of a batch (so that it dies inside a batch, not on a commit). A point
 * the restarted job has already passed is a kill during start-up, at a random moment of it. The killed
 * runs tail a copy of the stream that is written only up to just past the next kill point, so no run
 * can finish before its kill; the last run reads the rest and is stopped with SIGTERM at the end.
 *
 * "Applied twice" is counted, not inferred: the job logs each committed batch (level debug) with the
 * events it applied and its checkpoint, and `commit-audit.ts` compares each with the lines it covered.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDataset } from '../../datasets/index.js';
import { Rng } from '../../detectors/random.js';
import { Checks, n, progress, type ScenarioResult } from './checks.js';
import { auditCommits } from './commit-audit.js';
import { checkFates, compareWithClean } from './compare.js';
import { mixHostile, withFate } from './hostile.js';
import {
  type CommittedBatch,
  committedBatches,
  type Job,
  running,
  started,
  startJob,
  until,
  writeRunConfig,
} from './job.js';
import { lineEvents } from './line-account.js';
import { checkpointOf, type RunOutcome, readOutcome } from './sqlite-outcome.js';

/**
 * Options of {@link runKills}.
 *
 * @example
 * ```ts
 * const options: KillsOptions = { dir: '/tmp/chaos', seed: 1, kills: 20, records: 100_000, days: 28, hostile: 500, batch: 1000 };
 * ```
 */
export interface KillsOptions {
  dir: string;
  seed: number;
  kills: number;
  /** About how many generated records (the SKU count is fitted to it: records per SKU vary by seed). */
  records: number;
  days: number;
  /** Hostile insertions mixed in. */
  hostile: number;
  /** batch.maxRecords: smaller batches, more commits for the kills to fall between. */
  batch: number;
}

interface RunLog {
  from: number;
  to: number;
  killedAt?: { target: number; phase: 'start-up' | 'processing' };
  exit: string;
  batches: CommittedBatch[];
}

/**
 * Runs the scenario and returns its checks and figures.
 *
 * @example
 * ```ts
 * const result = await runKills({ dir, seed: 1, kills: 3, records: 9_000, days: 14, hostile: 60, batch: 500 });
 * ```
 */
export async function runKills(o: KillsOptions): Promise<ScenarioResult> {
  const t0 = Date.now();
  const checks = new Checks();
  mkdirSync(o.dir, { recursive: true });
  const { manifest, skus } = await datasetOf(o);
  const source = readFileSync(join(o.dir, 'data/events.ndjson'), 'utf8').trimEnd().split('\n');
  const mix = mixHostile(withFate(source, 'source'), { seed: o.seed, count: o.hostile });
  const stream = join(o.dir, 'stream.ndjson');
  writeFileSync(stream, `${mix.lines.map((l) => l.text).join('\n')}\n`);
  const lines = mix.lines.length;
  progress(
    'kills',
    `${n(manifest.counts.records)} generated records + ${n(lines - source.length)} hostile lines (seed ${o.seed})`,
  );

  // The killed runs tail a copy of the stream written up to just past the next kill point, so a run
  // can never finish before it is killed, however busy the machine (a race that once cost a kill).
  const growing = join(o.dir, 'stream-growing.ndjson');
  const texts = mix.lines.map((l) => l.text);
  let written = 0;
  const writeUpTo = (upTo: number): void => {
    const to = Math.min(texts.length, upTo);
    if (to > written) appendFileSync(growing, `${texts.slice(written, to).join('\n')}\n`);
    written = Math.max(written, to);
  };
  writeFileSync(growing, '');
  const config = (name: string) =>
    writeRunConfig(join(o.dir, `${name}.yaml`), {
      source:
        name === 'clean' ? { type: 'file', path: stream } : { type: 'file', path: growing, follow: true },
      batch: { maxRecords: o.batch },
      store: { type: 'sqlite', path: join(o.dir, `${name}.db`) },
      alerts: { sinks: [{ type: 'file', path: join(o.dir, `${name}-alerts.ndjson`) }] },
      metrics: { port: 0 },
      log: { level: 'debug' },
    });
  const outcome = (name: string) =>
    readOutcome(join(o.dir, `${name}.db`), join(o.dir, `${name}-alerts.ndjson`));

  const clean = startJob(config('clean'));
  await started(clean);
  const startupMs = Date.now() - clean.startedAt;
  const cleanExit = await clean.exit;
  const cleanBatches = committedBatches(clean.stderr());
  checks.that(
    'clean run exits 0',
    cleanExit.code === 0,
    `exit ${cleanExit.code}${cleanExit.code ? `: ${clean.stderr().slice(-500)}` : ''}`,
  );
  const batchMs = ((cleanExit.at - clean.startedAt - startupMs) / Math.max(1, cleanBatches.length)) | 0;
  progress(
    'kills',
    `clean run: ${cleanBatches.length} commits, start-up ${startupMs} ms, ~${batchMs} ms a batch`,
  );

  const runs = await killAndRestart(o, config('chaos'), join(o.dir, 'chaos.db'), lines, {
    startupMs,
    batchMs,
    writeUpTo,
    finalCheckpoint: checkpointOf(join(o.dir, 'clean.db')),
  });
  const killed = runs.filter((r) => r.killedAt);
  checks.that(
    `${o.kills} SIGKILLs`,
    killed.length === o.kills,
    `${killed.length} kills over ${runs.length} runs`,
  );
  const last = runs.at(-1);
  checks.that('the last run finishes (exit 0)', last?.exit === 'exit 0', last?.exit ?? 'no run');
  checks.that(
    'every other run ended by SIGKILL',
    runs.slice(0, -1).every((r) => r.exit === 'SIGKILL'),
    runs.map((r) => r.exit).join(', '),
  );

  const chaos = outcome('chaos');
  const reference = outcome('clean');
  const deadLettered = (o: RunOutcome) => new Set(o.deadLetters.map((d) => d.sequence));
  const audit = auditCommits(runs, lineEvents(mix.lines, deadLettered(chaos)));
  const cleanAudit = auditCommits(
    [{ from: 0, to: reference.checkpoint, batches: cleanBatches }],
    lineEvents(mix.lines, deadLettered(reference)),
  );
  const twice = audit.twice + audit.overlaps;
  const unloggedLines = audit.unlogged.reduce((k, [a, b]) => k + b - a + 1, 0);
  checks.that(
    "the method: the clean run's commits apply exactly the new events of their lines",
    cleanAudit.commits > 0 &&
      cleanAudit.twice + cleanAudit.lost + cleanAudit.repeatMismatch === 0 &&
      cleanAudit.unlogged.length === 0,
    `${cleanAudit.commits} commits${cleanAudit.mismatches.length ? `: ${cleanAudit.mismatches.join('; ')}` : ''}`,
  );
  checks.that(
    'applied twice (events of a logged commit beyond the new events of its lines, and re-committed lines)',
    twice === 0,
    `${twice} over ${audit.commits} logged commits${audit.mismatches.length ? `: ${audit.mismatches.join('; ')}` : ''}`,
  );
  checks.that('events a logged commit did not apply', audit.lost === 0, String(audit.lost));
  checks.that(
    'repeats dropped as the lines carry them',
    audit.repeatMismatch === 0,
    String(audit.repeatMismatch),
  );

  const compared = compareWithClean(checks, chaos, reference);
  const fates = checkFates(checks, mix, chaos);
  const cleanFates = new Checks();
  checkFates(cleanFates, mix, reference);
  checks.that(
    'the clean run meets every fate too',
    cleanFates.failed.length === 0,
    cleanFates.failed.map((c) => c.detail).join('; ') || 'yes',
  );

  const hostileLines = mix.lines.filter((l) => l.fate.kind === 'dead').length;
  const headline = [
    {
      figure: `final state after ${killed.length} SIGKILLs (${n(lines)} lines) = clean run`,
      value: `${n(chaos.series.length)} series, ${n(chaos.anomalies.length)} anomalies, ${n(chaos.deadLetters.length)} dead letters equal`,
      ok: checks.held('equal to the clean run', 'stored checkpoint', 'last run finishes'),
    },
    { figure: 'events lost', value: String(compared.lost), ok: checks.held('events lost') },
    {
      figure: 'events applied twice',
      value: String(twice),
      ok: checks.held('applied twice', 'the method', 'did not apply'),
    },
    {
      figure: 'duplicate alerts (after SIGKILLs)',
      value: `${compared.duplicateAlerts} of ${n(chaos.notifications.length)}`,
      ok: checks.held('duplicate alerts', 'alerts delivered'),
    },
    {
      figure: 'hostile lines dead-lettered with code and reason (kills)',
      value: checks.held('every line met its fate')
        ? `${hostileLines}/${hostileLines}`
        : `not all of ${hostileLines} (see the checks)`,
      ok: checks.held('every line met its fate', 'ambiguous'),
    },
  ];
  const points = killed.map((r) => `${r.killedAt?.phase === 'start-up' ? 's' : ''}${r.to}`).join(', ');
  return {
    scenario: 'kills',
    checks: checks.list,
    headline,
    seconds: (Date.now() - t0) / 1000,
    summary: `${killed.length} SIGKILLs over ${n(lines)} lines, ${runs.length} runs; events lost ${compared.lost}, applied twice ${twice}, duplicate alerts ${compared.duplicateAlerts}`,
    figures: [
      [
        'stream',
        `${n(lines)} lines: ${n(manifest.counts.records)} generated records (seed ${o.seed}, ${skus} SKUs × ${o.days} days) + ${n(lines - source.length)} hostile`,
      ],
      [
        'SIGKILLs',
        `${killed.length} over ${runs.length} runs (batches of ${o.batch}); stored checkpoint at each kill (s = during start-up): ${points}`,
      ],
      [
        'commits audited',
        `${audit.commits} logged commits applied ${n(audit.applied)} events: ${twice} applied twice, ${audit.lost} missing; ${audit.unlogged.length} commits (${n(unloggedLines)} lines) lost their log line to the SIGKILL (pino writes asynchronously), covered by the comparison with the clean run`,
      ],
      ...compared.figures,
      ...fates,
    ],
  };
}

/**
 * Generates the dataset, with as many SKUs as give about `o.records` records: how many records a SKU
 * makes varies by seed (anomalies, promotions), by half or more, so a second try corrects the first.
 */
async function datasetOf(o: KillsOptions) {
  const options = (skus: number) => ({ seed: o.seed, skus, days: o.days });
  let skus = Math.max(1, Math.round(o.records / (o.days * 36)));
  let manifest = await writeDataset(join(o.dir, 'data'), options(skus));
  const got = manifest.counts.records;
  if (got < o.records * 0.95 || got > o.records * 1.15) {
    skus = Math.max(1, Math.round((skus * o.records) / got));
    manifest = await writeDataset(join(o.dir, 'data'), options(skus));
  }
  return { manifest, skus };
}

/** Starts, kills and restarts the job until it finishes; returns what each run did. */
async function killAndRestart(
  o: KillsOptions,
  config: string,
  db: string,
  lines: number,
  timing: {
    startupMs: number;
    batchMs: number;
    /** Makes the first `n` lines of the tailed file exist. */
    writeUpTo: (n: number) => void;
    /** Where a clean run's checkpoint ends: the last run is stopped once it gets there. */
    finalCheckpoint: number;
  },
): Promise<RunLog[]> {
  const rng = new Rng(o.seed * 7919 + 1);
  const targets = Array.from({ length: o.kills }, () => 1 + rng.nextInt(lines)).sort((a, b) => a - b);
  const runs: RunLog[] = [];
  let k = 0;
  // Two batches past a kill point: the run reaches it, then finds nothing more to read until killed.
  const slack = 2 * o.batch;
  for (let attempt = 0; attempt < o.kills + 5; attempt++) {
    const from = checkpointOf(db);
    timing.writeUpTo(k < targets.length ? targets[k] + slack : lines);
    const job = startJob(config);
    let killedAt: RunLog['killedAt'];
    if (k >= targets.length) {
      // Every kill done: the last run reads to the end of the stream, then is stopped (it tails).
      await until(
        `the stream committed up to line ${timing.finalCheckpoint}`,
        () => !running(job) || checkpointOf(db) >= timing.finalCheckpoint,
        600_000,
        () => job.stderr().slice(-2_000),
      );
      job.child.kill('SIGTERM');
    } else {
      const target = targets[k];
      killedAt = { target, phase: target <= from ? 'start-up' : 'processing' };
      if (killedAt.phase === 'start-up') {
        // A random moment of the start-up: loading state, opening the file, the first batch.
        await randomMoment(rng, timing.startupMs + timing.batchMs, job);
      } else {
        await until(
          `line ${target} committed`,
          () => !running(job) || checkpointOf(db) >= target,
          600_000,
          () => job.stderr().slice(-2_000),
        );
        await randomMoment(rng, timing.batchMs, job);
      }
      if (running(job) && job.child.kill('SIGKILL')) k++;
      else killedAt = undefined;
    }
    const exit = await job.exit;
    const to = checkpointOf(db);
    runs.push({
      from,
      to,
      killedAt,
      exit: exit.signal ?? `exit ${exit.code}`,
      batches: committedBatches(job.stderr()),
    });
    if (killedAt)
      progress(
        'kills',
        `kill ${k}/${o.kills}: ${killedAt.phase}, stored checkpoint ${n(from)} → ${n(to)} of ${n(lines)}`,
      );
    if (exit.signal !== 'SIGKILL') {
      if (exit.code !== 0)
        progress('kills', `run ended ${exit.signal ?? exit.code}: ${job.stderr().slice(-1_000)}`);
      break;
    }
  }
  return runs;
}

/**
 * Waits a random part of `spanMs` (or until the job ends): the kill moment itself is what is random
 * here, so this is the one wait that is not on a condition.
 */
async function randomMoment(rng: Rng, spanMs: number, job: Job): Promise<void> {
  const at = Date.now() + rng.nextInt(Math.max(1, spanMs));
  await until('the kill moment', () => !running(job) || Date.now() >= at, spanMs + 1_000, undefined, 5);
}
