/**
 * Issue 12, the demo as a newcomer meets it: a restart says it resumes and how to start over; the
 * generator's lag is read against its own simulated clock (its January events are not "325 days
 * behind" in December); a generator that runs out says so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMetric, startRun } from './run-job.js';
import { freePort } from './servers/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-run-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shelfwatch run on the generator', () => {
  it('measures lag on the simulated clock, says it resumes, and says when the simulation is used up', async () => {
    const port = await freePort();
    const config = join(dir, 'demo.yaml');
    writeFileSync(
      config,
      [
        // ~6,400 records at 1,000/s: the first run is still going when the lag is read, even on a fast machine.
        'source: { type: generator, seed: 4, days: 4, skus: 40, rate: 1000 }',
        `store: { type: sqlite, path: ${join(dir, 'demo.db')} }`,
        `alerts: { sinks: [{ type: file, path: ${join(dir, 'alerts.ndjson')} }] }`,
        'batch: { maxWaitMs: 50 }',
        `metrics: { port: ${port} }`,
      ].join('\n'),
    );
    const first = startRun(config);
    let lag = Number.NaN;
    const deadline = Date.now() + 60_000;
    while (!(lag >= 0)) {
      if (Date.now() > deadline || first.child.exitCode !== null)
        throw new Error(`no lag metric\n${first.log()}`);
      lag = await readMetric(port, 'shelfwatch_checkpoint_lag_seconds{shard="generator-0"}');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The simulation is of January 2026: against the wall clock that was ~28 million seconds.
    expect(lag).toBeLessThan(6 * 3600);
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(first.log()).not.toContain('resuming after record');

    const second = startRun(config);
    expect(await second.exit).toBe(0);
    const log = second.log();
    expect(log).toMatch(
      /resuming after record \d+ from the checkpoint in SQLite .*demo\.db \(delete .*demo\.db and its -wal and -shm files to start over\)/,
    );
    expect(log).toContain("the generator's 4 simulated days are used up");
  });
});
