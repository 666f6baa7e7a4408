/**
 * Issue 12: a failing dependency names the part, where it is, the cause and the setting that changes
 * it — as `shelfwatch run` reports them at start (no AWS region, a state store nobody answers for, a
 * metrics port in use) and while it runs (a Kinesis lease table nobody answers for).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRun } from './run-job.js';
import { freePort } from './servers/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-run-dependencies-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** No region, profile or endpoint from this machine's environment: only what each test sets. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, NO_COLOR: '1', ...extra };
  for (const k of Object.keys(env)) {
    if (/^AWS_(REGION|DEFAULT_REGION|PROFILE|ENDPOINT_URL)/.test(k) && !(k in extra)) delete env[k];
  }
  return env;
}

function run(yaml: string[], env: NodeJS.ProcessEnv, stopWhen?: (stderr: string) => boolean) {
  const config = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(config, yaml.join('\n'));
  const job = startRun(config, env);
  let stopped = false;
  // After startRun's own listener: job.log() already holds the chunk.
  job.child.stderr?.on('data', () => {
    if (!stopped && stopWhen?.(job.log())) {
      stopped = true;
      job.child.kill('SIGTERM');
    }
  });
  return job.exit.then((code) => ({ code, stderr: job.log() }));
}

describe('shelfwatch run names the failing part and the setting that changes it', () => {
  it('a Kinesis source without an AWS region, before anything starts', async () => {
    const r = await run(
      ['source: { type: kinesis, stream: inventory }', `store: { type: sqlite, path: ${join(dir, 'a.db')} }`],
      cleanEnv({ AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' }),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'kinesis stream inventory: Region is missing; no AWS region: set source.region, AWS_REGION',
    );
  });

  it('a state store nobody answers for', async () => {
    const port = await freePort();
    const r = await run(
      [
        `store: { type: mysql, url: "mysql://shelfwatch@127.0.0.1:${port}/shelfwatch", connectTimeoutMs: 2000 }`,
        'metrics: { port: 0 }',
      ],
      cleanEnv(),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `state store: MySQL shelfwatch@127\\.0\\.0\\.1:${port}/shelfwatch: .*ECONNREFUSED.*; nothing answers there: check store\\.url`,
      ),
    );
  });

  it('a metrics port already in use', async () => {
    const taken = createServer();
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)),
    );
    try {
      const r = await run(
        [`store: { type: sqlite, path: ${join(dir, 'b.db')} }`, `metrics: { port: ${port} }`],
        cleanEnv(),
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `metrics server: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
      );
      expect(r.stderr).toContain('change metrics.port (0 turns it off), SHELFWATCH_METRICS__PORT');
    } finally {
      taken.close();
    }
  });

  it('a Kinesis lease table nobody answers for, while the job runs', async () => {
    const port = await freePort();
    const r = await run(
      [
        `source: { type: kinesis, stream: inventory, region: us-east-1, endpoint: "http://127.0.0.1:${port}", leaseTableEndpoint: "http://127.0.0.1:${port}" }`,
        `store: { type: sqlite, path: ${join(dir, 'c.db')} }`,
        'metrics: { port: 0 }',
      ],
      cleanEnv({ AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' }),
      (stderr) => stderr.includes('nothing answers there'),
    );
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    // An endpoint with nothing beyond its host is shown whole in the start-up log.
    expect(r.stderr).toContain(`"leaseTableEndpoint":"http://127.0.0.1:${port}"`);
    expect(r.stderr).toContain(
      `lease table shelfwatch (DynamoDB at http://127.0.0.1:${port}): creating or reading the lease table failed: connect ECONNREFUSED 127.0.0.1:${port}; nothing answers there: check source.leaseTableEndpoint, AWS_ENDPOINT_URL_DYNAMODB`,
    );
  });
  it('a Slack webhook nobody answers for, while the job runs', async () => {
    const port = await freePort();
    const r = await run(
      [
        'source: { type: generator, seed: 3, days: 2, skus: 30, rate: 0 }',
        `store: { type: sqlite, path: ${join(dir, 'd.db')} }`,
        `alerts: { sinks: [{ type: slack, name: ops, webhookUrl: "http://127.0.0.1:${port}/services/T0/B0/SECRETPATH" }] }`,
        'metrics: { port: 0 }',
        'shutdown: { timeoutMs: 1000 }',
      ],
      cleanEnv(),
      (stderr) => stderr.includes('nothing answers there'),
    );
    // Stopped while the sink still failed: the batch is not checkpointed, and the exit says so.
    expect(r.code, r.stderr.slice(-3000)).toBe(1);
    expect(r.stderr).toContain('with a batch not acknowledged by sink ops');
    expect(r.stderr).toMatch(
      new RegExp(
        `sink ops \\(Slack at http://127\\.0\\.0\\.1:${port}\\): .*ECONNREFUSED 127\\.0\\.0\\.1:${port}; nothing answers there: check alerts\\.sinks\\[0\\]\\.webhookUrl`,
      ),
    );
    // The webhook's path is its credential.
    expect(r.stderr).not.toContain('SECRETPATH');
  });
});
