/**
 * `shelfwatch run` as the integration tests start it: a child process on a configuration file, its
 * standard error collected, and its Prometheus metrics read by name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

/** A running `shelfwatch run`: the process, what it has logged so far, and its exit code. */
export interface RunningJob {
  child: ChildProcess;
  log(): string;
  exit: Promise<number | null>;
}

/**
 * Starts `shelfwatch run --config <config>` from the repository's sources.
 *
 * @example
 * ```ts
 * const job = startRun('/tmp/demo.yaml');
 * job.child.kill('SIGTERM');
 * expect(await job.exit).toBe(0);
 * ```
 */
export function startRun(config: string, env: NodeJS.ProcessEnv = process.env): RunningJob {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli/index.ts'), 'run', '--config', config],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, log: () => log, exit };
}

/**
 * The sum of the samples on the job's /metrics whose line starts with `name` (a metric, or a metric
 * with its labels), or NaN while the server does not answer.
 *
 * @example
 * ```ts
 * await readMetric(port, 'shelfwatch_dead_letters_total{code="future_event"}'); // 1
 * ```
 */
export async function readMetric(port: number, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith(name));
    return lines.length === 0
      ? Number.NaN
      : lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  } catch {
    return Number.NaN;
  }
}
