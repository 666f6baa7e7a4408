/**
 * Issue 11, observation 5, as a user meets it: `shelfwatch run` with a webhook that refuses for good
 * (410) finishes its input, parking the refused notifications; with a webhook nobody answers, /readyz
 * turns 503 naming it, and SIGTERM ends the job within the shutdown timeout saying what was left; a
 * second signal ends it at once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../datasets/index.js';
import { freePort } from './servers/ports.js';

const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-run-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  // Small and alarming: alerts come early, so the sink is called within the first batches.
  await writeDataset(join(dir, 'data'), { seed: 3, skus: 12, days: 4, anomalyRate: 0.2 });
});

function config(name: string, webhookPort: number, metricsPort: number, extra: string[] = []): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      `source: { type: file, path: ${join(dir, 'data/events.ndjson')} }`,
      `store: { type: sqlite, path: ${join(dir, `${name}.db`)} }`,
      'batch: { maxRecords: 500 }',
      `alerts: { sinks: [{ type: webhook, url: "http://127.0.0.1:${webhookPort}/hooks/T0/secret" }], groupWaitMs: 0 }`,
      `metrics: { port: ${metricsPort}, unreadyAfterMs: 300 }`,
      'log: { level: info }',
      ...extra,
    ].join('\n'),
  );
  return path;
}

interface Job {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; at: number }>;
}

function run(configPath: string): Job {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli/index.ts'), 'run', '--config', configPath],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exit = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: Date.now() })),
  );
  return { child, stderr: () => err, exit };
}

/** Polls until `check` holds (no fixed sleeps: the machine may be busy). */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readyz(port: number): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

function listen(handler: RequestListener): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0 });
    });
  });
}

describe('shelfwatch run against a failing webhook', () => {
  it('parks what a webhook refuses for good (410), finishes its input and exits 0', async () => {
    let posts = 0;
    const refused = new Set<string>();
    const { server, port } = await listen((req, res) => {
      posts++;
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        refused.add((JSON.parse(body) as { notification: { id: string } }).notification.id);
        res.writeHead(410).end('Gone');
      });
    });
    try {
      const job = run(config('gone', port, await freePort()));
      const { code } = await job.exit;
      expect(code, job.stderr().slice(-2000)).toBe(0);
      expect(posts).toBeGreaterThan(0);
      expect(job.stderr()).toContain('refused a notification for good: parked in the store');
      expect(job.stderr()).toContain('410');
      // The webhook's path is its secret: never in the log.
      expect(job.stderr()).not.toContain('secret');
      const db = new Database(join(dir, 'gone.db'), { readonly: true });
      const lines = (
        db.prepare('SELECT sequence_number FROM checkpoints').get() as { sequence_number: string }
      ).sequence_number;
      const parked = db.prepare('SELECT receiver, reason FROM undelivered_notifications').all() as Array<{
        receiver: string;
        reason: string;
      }>;
      db.close();
      expect(Number(lines)).toBeGreaterThan(100);
      // Every notification the webhook refused is parked with the reason, once.
      expect(parked.length).toBe(refused.size);
      for (const p of parked) {
        expect(p.receiver).toBe('webhook');
        expect(p.reason).toContain('410');
      }
    } finally {
      server.close();
    }
  });

  it('with a webhook nobody answers: /readyz 503 naming it, then SIGTERM ends the job within the timeout', async () => {
    const webhook = await freePort(); // nothing listens there
    const metrics = await freePort();
    const job = run(config('refused', webhook, metrics, ['shutdown: { timeoutMs: 1500 }']));
    await until(() => job.stderr().includes('retrying: checkpoint held'), 'a failed publish');
    expect(job.stderr()).toContain('ECONNREFUSED');
    let probe = { status: 0, body: '' };
    await until(async () => {
      probe = await readyz(metrics);
      return probe.status === 503;
    }, '/readyz to turn 503');
    expect(probe.body).toMatch(/^not ready: sink webhook failing for \d+ s: .*ECONNREFUSED/);
    const sent = Date.now();
    job.child.kill('SIGTERM');
    const { code, at } = await job.exit;
    expect(code, job.stderr().slice(-2000)).toBe(1);
    // 1.5 s of timeout, plus closing: well within it on a busy machine.
    expect(at - sent).toBeLessThan(1_500 + 10_000);
    expect(job.stderr()).toContain('send SIGTERM again to exit at once');
    expect(job.stderr()).toContain(
      'stopped after the shutdown timeout (1500 ms) with a batch not acknowledged by sink webhook',
    );
  });

  it('a second signal ends the job at once', async () => {
    const job = run(config('twice', await freePort(), await freePort(), ['shutdown: { timeoutMs: 600000 }']));
    await until(() => job.stderr().includes('retrying: checkpoint held'), 'a failed publish');
    job.child.kill('SIGTERM');
    await until(() => job.stderr().includes('stopping: finishing the batch'), 'the stop to be logged');
    const sent = Date.now();
    job.child.kill('SIGTERM');
    const { code, at } = await job.exit;
    expect(code).toBe(130);
    expect(at - sent).toBeLessThan(10_000);
    expect(job.stderr()).toContain('second signal: exiting at once');
  });
});
