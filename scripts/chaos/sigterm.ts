/**
 * Scenario `sigterm`: the job's only alert sink is a webhook nothing listens on, so its batch can never
 * be acknowledged; SIGTERM must still end it within the shutdown timeout (default 30 s; acceptance
 * 35 s), non-zero, with a last log line that says what was left unacknowledged.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeDataset } from '../../datasets/index.js';
import { freePort } from '../../test/servers/ports.js';
import { Checks, progress, type ScenarioResult } from './checks.js';
import { logLines, probe, running, startJob, stopJob, until, writeRunConfig } from './job.js';

/**
 * Options of {@link runSigterm}.
 *
 * @example
 * ```ts
 * const options: SigtermOptions = { dir: '/tmp/chaos/sigterm', seed: 3 };
 * ```
 */
export interface SigtermOptions {
  dir: string;
  seed: number;
  /** `shutdown.timeoutMs`; the job's default (30 s) when left out, which is what the acceptance is about. */
  timeoutMs?: number;
}

/** The default `shutdown.timeoutMs` (pipeline/config/schema.ts). */
const DEFAULT_TIMEOUT_MS = 30_000;
/** What the job may take beyond its timeout to close the store and the server and exit. */
const GRACE_MS = 5_000;

/**
 * Runs the scenario and returns its checks and figures.
 *
 * @example
 * ```ts
 * const result = await runSigterm({ dir, seed: 3 });
 * ```
 */
export async function runSigterm(o: SigtermOptions): Promise<ScenarioResult> {
  const t0 = Date.now();
  const checks = new Checks();
  mkdirSync(o.dir, { recursive: true });
  // Small and alarming: alerts come within the first batches, so the dead webhook is called at once.
  await writeDataset(join(o.dir, 'data'), { seed: o.seed, skus: 12, days: 4, anomalyRate: 0.2 });
  const webhook = await freePort(); // nothing listens there
  const metrics = await freePort();
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const config = writeRunConfig(join(o.dir, 'sigterm.yaml'), {
    source: { type: 'file', path: join(o.dir, 'data/events.ndjson') },
    store: { type: 'sqlite', path: join(o.dir, 'sigterm.db') },
    batch: { maxRecords: 500 },
    alerts: { sinks: [{ type: 'webhook', url: `http://127.0.0.1:${webhook}/hooks/chaos` }], groupWaitMs: 0 },
    metrics: { port: metrics },
    log: { level: 'info' },
    ...(o.timeoutMs === undefined ? {} : { shutdown: { timeoutMs: o.timeoutMs } }),
  });
  const job = startJob(config);
  try {
    await until(
      'a failed publish',
      () => !running(job) || job.stderr().includes('retrying: checkpoint held'),
      120_000,
      () => job.stderr().slice(-2_000),
    );
    const ready = await probe(metrics, '/readyz');
    progress(
      'sigterm',
      `webhook refused, job retrying (/readyz ${ready.status}); SIGTERM, shutdown.timeoutMs ${timeoutMs}`,
    );
    const sent = Date.now();
    job.child.kill('SIGTERM');
    const exit = await Promise.race([
      job.exit,
      new Promise<null>((r) => setTimeout(() => r(null), timeoutMs + 60_000)),
    ]);
    const tookMs = (exit?.at ?? Date.now()) - sent;
    const lines = logLines(job.stderr());
    const last = lines.at(-1);
    const lastLine = last ? `${String(last.level)}: ${String(last.msg)}` : '(none)';
    checks.that(
      `exits within ${(timeoutMs + GRACE_MS) / 1000} s of SIGTERM`,
      exit !== null && tookMs <= timeoutMs + GRACE_MS,
      `${(tookMs / 1000).toFixed(1)} s`,
    );
    checks.that(
      'exit code 1 (a batch was left unacknowledged)',
      exit?.code === 1,
      exit ? `exit ${exit.code ?? exit.signal}` : 'still running',
    );
    checks.that(
      'the last log line says what was left',
      String(last?.msg).startsWith(
        `stopped after the shutdown timeout (${timeoutMs} ms) with a batch not acknowledged by sink webhook`,
      ),
      lastLine,
    );
    checks.that(
      'the stop was announced with how to force it',
      job.stderr().includes('send SIGTERM again to exit at once'),
      'stopping line',
    );
    return {
      scenario: 'sigterm',
      checks: checks.list,
      headline: [
        {
          figure: `SIGTERM with a dead webhook (shutdown.timeoutMs ${timeoutMs})`,
          value: `exit ${exit?.code} after ${(tookMs / 1000).toFixed(1)} s`,
          ok: checks.list.every((c) => c.ok),
        },
      ],
      seconds: (Date.now() - t0) / 1000,
      summary: `SIGTERM with a dead webhook, shutdown.timeoutMs ${timeoutMs}: exit ${exit?.code} after ${(tookMs / 1000).toFixed(1)} s`,
      figures: [
        [
          'set-up',
          `webhook sink on a port nothing listens on, groupWaitMs 0; shutdown.timeoutMs ${o.timeoutMs === undefined ? `${timeoutMs} (the default)` : timeoutMs}; /readyz before SIGTERM ${ready.status} ${ready.body}`,
        ],
        [
          'SIGTERM → exit',
          `${(tookMs / 1000).toFixed(1)} s (acceptance ≤ ${(timeoutMs + GRACE_MS) / 1000} s)`,
        ],
        ['exit code', String(exit?.code ?? exit?.signal ?? 'none')],
        [
          'last log line',
          `${lastLine} ${last && typeof last.waitingOn === 'string' ? `(waitingOn: ${last.waitingOn})` : ''}`.trim(),
        ],
      ],
    };
  } finally {
    await stopJob(job);
  }
}
