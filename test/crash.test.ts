/**
 * Acceptance: replay a generated stream of ~100k events, kill the job with SIGKILL at several random
 * points and restart it each time. The final state must equal a clean single run's, no event may be
 * lost or applied twice, and no alert may be delivered twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../datasets/index.js';
import { Rng } from '../detectors/index.js';
import { type Job, started, startJob, writeRunConfig } from '../scripts/chaos/job.js';
import { readOutcome } from '../scripts/chaos/sqlite-outcome.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let events = 0;
beforeAll(async () => {
  const manifest = await writeDataset(join(dir, 'data'), { seed: 21, skus: 90, days: 28 });
  events = manifest.counts.records;
});

const config = (name: string): string =>
  writeRunConfig(join(dir, `${name}.yaml`), {
    source: { type: 'file', path: join(dir, 'data/events.ndjson') },
    store: { type: 'sqlite', path: join(dir, `${name}.db`) },
    alerts: { sinks: [{ type: 'file', path: join(dir, `${name}-alerts.ndjson`) }] },
    metrics: { port: 0 },
    log: { level: 'warn' },
  });

/** The child's standard error, to explain a failed expectation. */
const errorsOf = (job: Job): string => job.stderr().slice(-2000);

const outcome = (name: string) => readOutcome(join(dir, `${name}.db`), join(dir, `${name}-alerts.ndjson`));

describe('the stream job under SIGKILL', () => {
  it('ends in the state of a clean run, with every alert delivered exactly once', async () => {
    const clean = startJob(config('clean'));
    expect((await clean.exit).code, errorsOf(clean)).toBe(0);
    const reference = outcome('clean');
    expect(events).toBeGreaterThan(90_000);
    expect(reference.anomalies.length).toBeGreaterThan(10);
    expect(reference.notifications.length).toBeGreaterThan(5);

    const rng = new Rng(4);
    const crashConfig = config('crash');
    let kills = 0;
    for (let attempt = 0; attempt < 12; attempt++) {
      const job = startJob(crashConfig);
      if (kills < 4) {
        await started(job);
        // A random point while it processes (a whole run takes about two seconds here).
        await new Promise((r) => setTimeout(r, 100 + rng.nextInt(700)));
        if (job.child.exitCode === null && job.child.kill('SIGKILL')) kills++;
      }
      const { code, signal } = await job.exit;
      if (code === 0) break;
      expect(signal).toBe('SIGKILL');
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const crashed = outcome('crash');
    expect(crashed.checkpoint).toEqual(reference.checkpoint);
    expect(crashed.series).toEqual(reference.series);
    expect(crashed.appliedWindow).toEqual(reference.appliedWindow);
    expect(reference.appliedWindow.length).toBeGreaterThan(1000);
    expect(crashed.deadLetters).toEqual(reference.deadLetters);
    expect(crashed.anomalies).toEqual(reference.anomalies);
    // Delivered exactly once: no id twice, and the same set as the clean run.
    expect(new Set(crashed.notifications).size).toBe(crashed.notifications.length);
    expect([...crashed.notifications].sort()).toEqual([...reference.notifications].sort());
  });

  it('stops on SIGTERM after finishing its batch, exits 0, and resumes where it stopped', async () => {
    const cfg = config('graceful');
    const job = startJob(cfg);
    await started(job);
    await new Promise((r) => setTimeout(r, 500));
    job.child.kill('SIGTERM');
    expect((await job.exit).code).toBe(0);
    const position = outcome('graceful').checkpoint;
    expect(position).toBeGreaterThan(0);
    expect(position).toBeLessThan(events);
    const rest = startJob(cfg);
    expect((await rest.exit).code).toBe(0);
    const final = outcome('graceful');
    expect(final.series).toEqual(outcome('clean').series);
  });
});
