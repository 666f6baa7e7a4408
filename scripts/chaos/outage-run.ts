/**
 * One outage of a server the job depends on (MariaDB, DynamoDB Local, fauxqs), with the job
 * (`shelfwatch run`, a child process fed by the live `generator` source) running through it. The job
 * must stay alive, answer `/healthz`, hold its checkpoint while it cannot commit or publish, retry,
 * catch up once the server is back, and end in the state, with the alerts, of an undisturbed run: the
 * same engine computed in-process over the same generated records (a memory store).
 *
 * Shared by `test/outages.test.ts` (30 s each) and the chaos campaign (`npm run chaos`).
 */
import { join } from 'node:path';
import { freePort } from '../../test/servers/ports.js';
import { Checks } from './checks.js';
import {
  LOCAL_AWS_ENV,
  logLines,
  probe,
  running,
  scrape,
  startJob,
  stopJob,
  total,
  until,
  writeRunConfig,
} from './job.js';
import { type Reference, reference, stored } from './outage-reference.js';
import { notificationIds, repeats } from './sqlite-outcome.js';

/**
 * ~8,600 records streamed at 1,000 a second: the stream runs ~9 s undisturbed, so the outage starts well
 * before half of it even when a loaded machine stalls the polling for a second or two.
 */
const GENERATOR = {
  type: 'generator',
  seed: 5,
  days: 10,
  skus: 30,
  warehouses: 3,
  anomalyRate: 0.05,
  rate: 1_000,
} as const;
/** The outage starts once the job has committed this many records (a few batches). */
const BEFORE_OUTAGE = 1_500;

/**
 * One server to take away: how, how to bring it back, and what the job's retry warnings name meanwhile.
 *
 * @example
 * ```ts
 * const c: OutageCase = { name: 'mariadb', store: { type: 'mysql', url: db.url }, stop: () => db.stop(), restart: () => db.restart(), retrying: 'state store' };
 * ```
 */
export interface OutageCase {
  name: string;
  store: Record<string, unknown>;
  /** Alert sinks besides the file sink every case has. */
  sinks?: Array<Record<string, unknown>>;
  /** Takes the server away (resolves once it is down) and brings it back (resolves once it answers). */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** What the retry warnings name while the server is down (`state store`, `sink sns`). */
  retrying: string;
  /** The store's checkpoint, where it can be read while the job runs (the SQLite file). */
  checkpoint?: () => string | null;
}

interface Sample {
  alive: boolean;
  health: string;
  records: number | null;
  checkpoint: string | null;
}

/**
 * What one outage showed: the checks, the one-line summary, the figures, and the undisturbed reference.
 *
 * @example
 * ```ts
 * const r: OutageOutcome = await runOutage(c, { dir, outageMs: 30_000 });
 * ```
 */
export interface OutageOutcome {
  checks: Checks;
  summary: string;
  expected: Reference;
}

/**
 * Runs the job through one outage of `outageMs`, then checks it against the undisturbed run.
 *
 * @example
 * ```ts
 * const { checks, summary } = await runOutage(mariadbCase, { dir: '/tmp/outages', outageMs: 30_000 });
 * ```
 */
export async function runOutage(c: OutageCase, o: { dir: string; outageMs: number }): Promise<OutageOutcome> {
  const checks = new Checks();
  const alerts = join(o.dir, `${c.name}-alerts.ndjson`);
  const port = await freePort();
  const config = writeRunConfig(join(o.dir, `${c.name}.yaml`), {
    source: GENERATOR,
    store: c.store as never, // a store variant, as the case spells it; loadRunConfig validates it
    alerts: { sinks: [{ type: 'file', path: alerts }, ...((c.sinks ?? []) as never[])] },
    metrics: { port },
    log: { level: 'warn' },
  });
  const job = startJob(config, { env: LOCAL_AWS_ENV });
  const context = () => job.stderr().slice(-3_000);
  const records = async () => {
    const m = await scrape(port);
    return m ? total(m, 'shelfwatch_records_total') : null;
  };
  const warnings = () => logLines(job.stderr()).filter((l) => l.msg === 'retrying: checkpoint held');
  let ref: Promise<Reference> | undefined;
  try {
    await until(
      `${BEFORE_OUTAGE} records committed`,
      async () => ((await records()) ?? 0) >= BEFORE_OUTAGE,
      60_000,
      context,
    );
    const atOutage = (await records()) ?? 0;
    const retriesBefore = warnings().length;
    await c.stop();
    const downAt = Date.now();
    // The undisturbed run, computed meanwhile (nothing else to do while the server is away).
    ref = reference(config);
    ref.catch(() => {});
    const samples: Sample[] = [];
    let held: Sample | undefined;
    let moved: string | undefined;
    while (Date.now() < downAt + o.outageMs) {
      const { status, body } = await probe(port, '/healthz');
      const s: Sample = {
        alive: running(job),
        health: `${status} ${body}`,
        records: await records(),
        checkpoint: c.checkpoint?.() ?? null,
      };
      samples.push(s);
      if (held === undefined && warnings().length > retriesBefore) held = s;
      else if (
        held &&
        moved === undefined &&
        (s.records !== held.records || s.checkpoint !== held.checkpoint)
      )
        moved = `${held.records}/${held.checkpoint} → ${s.records}/${s.checkpoint}`;
      // Sampling twice a second is the period being measured, not a wait for a condition.
      const next = Date.now() + Math.min(500, downAt + o.outageMs - Date.now());
      await until('the next sample', () => Date.now() >= next, 1_000, undefined, 25);
    }
    const duringOutage = warnings().slice(retriesBefore);
    await c.restart();
    const upAt = Date.now();
    const downMs = upAt - downAt;

    checks.that('samples while down', samples.length >= o.outageMs / 1_500, String(samples.length));
    checks.that(
      'the job alive throughout the outage',
      samples.every((s) => s.alive),
      `${samples.filter((s) => !s.alive).length} samples dead`,
    );
    const unanswered = samples.filter((s) => !/^(200 ok|503 unhealthy)$/.test(s.health));
    checks.that(
      '/healthz answers throughout',
      unanswered.length === 0,
      unanswered
        .map((s) => s.health)
        .slice(0, 2)
        .join('; ') || 'yes',
    );
    checks.that('retry warnings while down', duringOutage.length > 0, String(duringOutage.length));
    const named = [...new Set(duringOutage.map((w) => String(w.what)))];
    checks.that(
      `the warnings name ${c.retrying}`,
      named.length === 1 && named[0].startsWith(c.retrying),
      named.join(', '),
    );
    checks.that(
      'the checkpoint held while retrying',
      held !== undefined && moved === undefined,
      moved ?? (held ? 'held' : 'never retried'),
    );
    if (c.checkpoint)
      checks.that(
        'the store had a checkpoint when the server went',
        held !== undefined && held.checkpoint !== null,
        String(held?.checkpoint),
      );
    const heldAt = held?.records ?? Number.NaN;

    await until(
      'the first commit after the restart',
      async () => !running(job) || ((await records()) ?? heldAt) > heldAt,
      60_000,
      context,
    );
    const resumedMs = Date.now() - upAt;
    const exit = await Promise.race([job.exit, new Promise<null>((r) => setTimeout(() => r(null), 90_000))]);
    const doneMs = Date.now() - upAt;
    checks.that(
      'the job finishes the stream (exit 0)',
      exit?.code === 0,
      exit ? `exit ${exit.code ?? exit.signal}` : `still running: ${context()}`,
    );

    const expected = await ref;
    checks.that(
      'the outage began before half the stream',
      atOutage < expected.records / 2,
      `record ${atOutage} of ${expected.records}`,
    );
    checks.that(
      'the undisturbed run raised anomalies',
      expected.store.anomalies().length > 20,
      String(expected.store.anomalies().length),
    );
    const got = await stored(config);
    checks.equal('checkpoint at the end of the stream', got.checkpoint, {
      sequenceNumber: String(expected.records),
      subSequenceNumber: 0,
    });
    checks.equal(
      'series equal to the undisturbed run',
      got.series,
      expected.store.seriesRows(),
      `${got.series.length} series`,
    );
    checks.equal(
      'anomalies equal to the undisturbed run',
      got.anomalyIds,
      expected.store
        .anomalies()
        .map((a) => a.id)
        .sort(),
      String(got.anomalyIds.length),
    );
    checks.equal(
      'dead letters equal to the undisturbed run',
      got.deadLetters,
      expected.store.deadLetters().length,
      String(got.deadLetters),
    );
    const fileIds = notificationIds(alerts);
    const expectedIds = [...(expected.sinks.get('file')?.ids ?? [])].sort();
    checks.that('the undisturbed run sent alerts', expectedIds.length > 10, String(expectedIds.length));
    checks.equal('duplicate alerts in the alert file', repeats(fileIds), 0);
    checks.equal(
      'alerts in the file equal to the undisturbed run',
      [...fileIds].sort(),
      expectedIds,
      `${fileIds.length} alerts`,
    );

    const healthSeen = [...new Set(samples.map((s) => s.health))].map(
      (h) => `"${h}" ×${samples.filter((s) => s.health === h).length}`,
    );
    const summary =
      `outage ${c.name}: down ${(downMs / 1000).toFixed(1)} s from record ${atOutage} of ${expected.records}` +
      ` (held at ${heldAt}); job alive throughout, /healthz ${healthSeen.join(', ')};` +
      ` ${duringOutage.length} "retrying: checkpoint held" (${c.retrying}, last attempt ${duringOutage.at(-1)?.attempt});` +
      ` caught up: first commit ${(resumedMs / 1000).toFixed(1)} s after restart, done ${(doneMs / 1000).toFixed(1)} s after (exit ${exit?.code});` +
      ` ${got.anomalyIds.length} anomalies, ${fileIds.length} alerts in the file, ${repeats(fileIds)} repeats`;
    return { checks, summary, expected };
  } finally {
    await stopJob(job);
    await ref?.catch(() => undefined);
  }
}
