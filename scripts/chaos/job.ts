/**
 * `shelfwatch run` as a child process, and what the fault campaign and the acceptance tests read from
 * it: its standard error (JSON log lines), its exit, its `/metrics`, `/readyz` and `/healthz`. Every
 * wait polls a condition with a deadline: the machine is shared, so no fixed sleep is long enough.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { RunConfigInput } from '../../pipeline/index.js';

/**
 * The project root: the job is started from it so that `--import tsx` resolves.
 *
 * @example
 * ```ts
 * const docs = join(ROOT, 'docs');
 * ```
 */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Dummy credentials and region for the local AWS stand-ins (the job reads the standard chain).
 *
 * @example
 * ```ts
 * const job = startJob(config, { env: LOCAL_AWS_ENV });
 * ```
 */
export const LOCAL_AWS_ENV: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_REGION: 'us-east-1',
};

/**
 * Writes a run configuration as YAML (what `shelfwatch run --config` reads) and returns its path.
 *
 * @example
 * ```ts
 * const config = writeRunConfig('/tmp/run.yaml', { source: { type: 'file', path: '/tmp/events.ndjson' } });
 * ```
 */
export function writeRunConfig(path: string, config: RunConfigInput): string {
  writeFileSync(path, stringify(config));
  return path;
}

/**
 * How a job ended: exit code or signal, and when (epoch ms).
 *
 * @example
 * ```ts
 * const { code, signal, at } = await job.exit;
 * ```
 */
export interface JobExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/**
 * A running (or ended) `shelfwatch run`.
 *
 * @example
 * ```ts
 * const job = startJob('/tmp/run.yaml');
 * await started(job);
 * job.child.kill('SIGKILL');
 * await job.exit;
 * ```
 */
export interface Job {
  readonly child: ChildProcess;
  /** When it was spawned (epoch ms). */
  readonly startedAt: number;
  /** Standard error so far: JSON log lines and the start-up line. */
  stderr(): string;
  readonly exit: Promise<JobExit>;
}

/**
 * Spawns `shelfwatch run --config <config>` (standard output, the console alerts, is dropped).
 *
 * @example
 * ```ts
 * const job = startJob(configPath, { env: LOCAL_AWS_ENV });
 * ```
 */
export function startJob(config: string, options: { env?: Readonly<Record<string, string>> } = {}): Job {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli/index.ts'), 'run', '--config', config],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...options.env } },
  );
  const chunks: string[] = [];
  child.stderr?.on('data', (b: Buffer) => chunks.push(b.toString()));
  // 'close', not 'exit': 'exit' may come before the last of standard error has been read, and the
  // campaign counts the log lines of a killed job. The time is taken at 'exit'.
  let exitedAt = 0;
  child.once('exit', () => {
    exitedAt = Date.now();
  });
  const exit = new Promise<JobExit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, at: exitedAt || Date.now() })),
  );
  return { child, startedAt: Date.now(), stderr: () => chunks.join(''), exit };
}

/**
 * Whether the job is still running.
 *
 * @example
 * ```ts
 * if (running(job)) job.child.kill('SIGKILL');
 * ```
 */
export const running = (job: Job): boolean => job.child.exitCode === null && job.child.signalCode === null;

/**
 * Kills the job (SIGKILL) if it still runs; resolves once it has exited.
 *
 * @example
 * ```ts
 * try { … } finally { await stopJob(job); }
 * ```
 */
export async function stopJob(job: Job): Promise<void> {
  if (running(job)) job.child.kill('SIGKILL');
  await job.exit;
}

/**
 * Polls `check` every `everyMs` until it holds; throws after `timeoutMs`, with `context()` (say, the
 * job's standard error) in the message.
 *
 * @example
 * ```ts
 * await until('the first commit', async () => (await scrape(port))?.records > 0, 30_000);
 * ```
 */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  context: () => string = () => '',
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Resolves once the job has loaded its state and started reading (its `shelfwatch run:` line), or
 * has exited.
 *
 * @example
 * ```ts
 * await started(job);
 * ```
 */
export function started(job: Job, timeoutMs = 120_000): Promise<void> {
  return until(
    'the start-up line',
    () => !running(job) || job.stderr().includes('shelfwatch run:'),
    timeoutMs,
    () => job.stderr().slice(-2_000),
  );
}

/**
 * The JSON log lines of a standard error text (other lines, and a last line being written, skipped).
 *
 * @example
 * ```ts
 * const batches = logLines(job.stderr()).filter((l) => l.msg === 'batch');
 * ```
 */
export function logLines(stderr: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by a SIGKILL, or still being written
    }
  }
  return out;
}

/**
 * A Prometheus text exposition as `name{labels}` → value (label sets kept verbatim).
 *
 * @example
 * ```ts
 * const m = await scrape(9464);
 * total(m, 'shelfwatch_records_total');
 * ```
 */
export type Scrape = ReadonlyMap<string, number>;

/**
 * `/metrics` of the job's operations port, or null when it does not answer (yet, or any more).
 *
 * @example
 * ```ts
 * const m = await scrape(port);
 * if (m) console.log(total(m, 'process_resident_memory_bytes'));
 * ```
 */
export async function scrape(port: number): Promise<Scrape | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const out = new Map<string, number>();
    for (const line of (await res.text()).split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      out.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * The sum of a metric over its label sets; with `label`, only the series carrying it (`code="schema"`).
 *
 * @example
 * ```ts
 * total(m, 'shelfwatch_dead_letters_total', 'code="too_large"');
 * ```
 */
export function total(m: Scrape, name: string, label?: string): number {
  let sum = 0;
  for (const [key, value] of m) {
    const brace = key.indexOf('{');
    if ((brace === -1 ? key : key.slice(0, brace)) !== name) continue;
    if (label === undefined || key.includes(label)) sum += value;
  }
  return sum;
}

/**
 * Per-label values of a metric: `{code="schema"}` → 12 becomes `schema` → 12 (the first label's value).
 *
 * @example
 * ```ts
 * byLabel(m, 'shelfwatch_dead_letters_total'); // Map { 'schema' => 12, 'invalid_json' => 3 }
 * ```
 */
export function byLabel(m: Scrape, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of m) {
    if (!key.startsWith(`${name}{`)) continue;
    const label = /="([^"]*)"/.exec(key)?.[1] ?? '';
    out.set(label, (out.get(label) ?? 0) + value);
  }
  return out;
}

/**
 * What a probe (`/readyz`, `/healthz`) answers: status and body, or status 0 and why it did not answer.
 *
 * @example
 * ```ts
 * const { status } = await probe(port, '/readyz');
 * ```
 */
export async function probe(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: (await res.text()).trim() };
  } catch (err) {
    return { status: 0, body: `no answer (${(err as Error).message})` };
  }
}

/**
 * One committed batch as the job logs it at level debug (`msg: 'batch'`).
 *
 * @example
 * ```ts
 * const b: CommittedBatch = { records: 1000, events: 1090, duplicates: 4, deadLetters: 2, checkpoint: 31000 };
 * ```
 */
export interface CommittedBatch {
  records: number;
  events: number;
  duplicates: number;
  deadLetters: number;
  /** The line (sequence number) the batch's commit checkpointed, null when it had none. */
  checkpoint: number | null;
}

/**
 * The batches a job committed, from its standard error (it must run with `log.level: debug`). The
 * log line follows the commit, so a job killed between the two lacks the last one: compare the last
 * checkpoint here with the stored one to know.
 *
 * @example
 * ```ts
 * const events = committedBatches(job.stderr()).reduce((s, b) => s + b.events, 0);
 * ```
 */
export function committedBatches(stderr: string): CommittedBatch[] {
  return logLines(stderr)
    .filter((l) => l.msg === 'batch')
    .map((l) => ({
      records: Number(l.records),
      events: Number(l.events),
      duplicates: Number(l.duplicates),
      deadLetters: Number(l.deadLetters),
      checkpoint: l.checkpoint === null || l.checkpoint === undefined ? null : Number(l.checkpoint),
    }));
}
