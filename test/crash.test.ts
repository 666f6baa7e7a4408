/**
 * Acceptance: replay a generated stream of ~100k events, kill the job with SIGKILL at several random
 * points and restart it each time. The final state must equal a clean single run's, no event may be
 * lost or applied twice, and no alert may be delivered twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../datasets/index.js';
import { Rng } from '../detectors/index.js';

const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let events = 0;
beforeAll(async () => {
  const manifest = await writeDataset(join(dir, 'data'), { seed: 21, skus: 90, days: 28 });
  events = manifest.counts.records;
});

function config(name: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      `source: { type: file, path: ${join(dir, 'data/events.ndjson')} }`,
      `store: { type: sqlite, path: ${join(dir, `${name}.db`)} }`,
      `alerts: { sinks: [{ type: file, path: ${join(dir, `${name}-alerts.ndjson`)} }] }`,
      'metrics: { port: 0 }',
      'log: { level: warn }',
    ].join('\n'),
  );
  return path;
}

const stderrOf = new WeakMap<ChildProcess, string[]>();

function start(configPath: string): ChildProcess {
  // From the project root, so that `--import tsx` resolves; every path in the config is absolute.
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli/index.ts'), 'run', '--config', configPath],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const lines: string[] = [];
  stderrOf.set(p, lines);
  p.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  return p;
}

/** The child's standard error, to explain a failed expectation. */
const errorsOf = (p: ChildProcess): string => (stderrOf.get(p) ?? []).join('').slice(-2000);

function exited(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.exitCode !== null || p.signalCode !== null)
    return Promise.resolve({ code: p.exitCode, signal: p.signalCode });
  return new Promise((resolve) => p.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Resolves once the job has started processing (its start-up line is on stderr). */
function started(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    p.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('shelfwatch run:')) resolve();
    });
    p.once('exit', () => resolve());
  });
}

interface Outcome {
  series: unknown[];
  anomalies: string[];
  applied: string[];
  deadLetters: number;
  checkpoint: unknown;
  notifications: string[];
}

function outcome(name: string): Outcome {
  const db = new Database(join(dir, `${name}.db`), { readonly: true });
  try {
    return {
      series: db
        .prepare(
          'SELECT sku, warehouse, on_hand, reserved, inbound, last_count_quantity, last_count_at, sales_velocity, last_event_at, model FROM series ORDER BY sku, warehouse',
        )
        .all(),
      anomalies: (db.prepare('SELECT id FROM anomalies ORDER BY id').all() as { id: string }[]).map(
        (r) => r.id,
      ),
      // Applied ids of the last day of event time: no commit of either run forgot them (each series
      // forgets on its own shard's clock, so older leftovers depend on where batches were cut).
      applied: (
        db
          .prepare(
            'SELECT event_id FROM applied_events WHERE occurred_at >= (SELECT max(last_event_at) FROM series) - 86400000 ORDER BY event_id',
          )
          .all() as { event_id: string }[]
      ).map((r) => r.event_id),
      deadLetters: (db.prepare('SELECT count(*) AS n FROM dead_letters').get() as { n: number }).n,
      checkpoint: db.prepare('SELECT shard_id, sequence_number, sub_sequence_number FROM checkpoints').all(),
      notifications: readFileSync(join(dir, `${name}-alerts.ndjson`), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: string }).id),
    };
  } finally {
    db.close();
  }
}

describe('the stream job under SIGKILL', () => {
  it('ends in the state of a clean run, with every alert delivered exactly once', async () => {
    const clean = start(config('clean'));
    expect((await exited(clean)).code, errorsOf(clean)).toBe(0);
    const reference = outcome('clean');
    expect(events).toBeGreaterThan(90_000);
    expect(reference.anomalies.length).toBeGreaterThan(10);
    expect(reference.notifications.length).toBeGreaterThan(5);

    const rng = new Rng(4);
    const crashConfig = config('crash');
    let kills = 0;
    for (let attempt = 0; attempt < 12; attempt++) {
      const p = start(crashConfig);
      const done = exited(p);
      if (kills < 4) {
        await started(p);
        // A random point while it processes (a whole run takes about two seconds here).
        await new Promise((r) => setTimeout(r, 100 + rng.nextInt(700)));
        if (p.exitCode === null && p.kill('SIGKILL')) kills++;
      }
      const { code, signal } = await done;
      if (code === 0) break;
      expect(signal).toBe('SIGKILL');
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const crashed = outcome('crash');
    expect(crashed.checkpoint).toEqual(reference.checkpoint);
    expect(crashed.series).toEqual(reference.series);
    expect(crashed.applied).toEqual(reference.applied);
    expect(reference.applied.length).toBeGreaterThan(1000);
    expect(crashed.deadLetters).toBe(reference.deadLetters);
    expect(crashed.anomalies).toEqual(reference.anomalies);
    // Delivered exactly once: no id twice, and the same set as the clean run.
    expect(new Set(crashed.notifications).size).toBe(crashed.notifications.length);
    expect([...crashed.notifications].sort()).toEqual([...reference.notifications].sort());
  });

  it('stops on SIGTERM after finishing its batch, exits 0, and resumes where it stopped', async () => {
    const cfg = config('graceful');
    const p = start(cfg);
    await started(p);
    await new Promise((r) => setTimeout(r, 500));
    p.kill('SIGTERM');
    expect((await exited(p)).code).toBe(0);
    const partial = outcome('graceful');
    const position = Number((partial.checkpoint as { sequence_number: string }[])[0].sequence_number);
    expect(position).toBeGreaterThan(0);
    expect(position).toBeLessThan(events);
    const rest = start(cfg);
    expect((await exited(rest)).code).toBe(0);
    const final = outcome('graceful');
    expect(final.series).toEqual(outcome('clean').series);
  });
});
