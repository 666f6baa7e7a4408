/**
 * The fault campaign's short version (`npm run chaos -- --quick` is the same scenarios at another
 * size): SIGKILLs over a replay with hostile lines, fuzzed records through the job, a short soak. The
 * scenarios check their figures themselves (scripts/chaos); here every check must hold, and each is
 * printed with what was seen. The seed is the run's fast-check seed (printed at the start of the run;
 * replay with FC_SEED=<seed>), so each run tries other kill points and other fuzzed records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ScenarioResult } from '../scripts/chaos/checks.js';
import { runFuzz } from '../scripts/chaos/fuzz.js';
import { runKills } from '../scripts/chaos/kills.js';
import { runSoak } from '../scripts/chaos/soak.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-chaos-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The run's fast-check seed as a dataset seed (those are unsigned). */
const seed = inject('fcSeed') >>> 0;

/** Prints the scenario's checks and figures, then asserts that none failed. */
function expectHeld(r: ScenarioResult): void {
  console.log(
    [
      `chaos ${r.scenario} (seed ${seed}, FC_SEED=${inject('fcSeed')}): ${r.summary}`,
      ...r.figures.map(([k, v]) => `  ${k}: ${v}`),
      ...r.checks.map((c) => `  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail.slice(0, 300)}`),
    ].join('\n'),
  );
  expect(r.checks.filter((c) => !c.ok)).toEqual([]);
  expect(r.checks.length).toBeGreaterThan(5);
}

describe('the fault campaign, short version', () => {
  it('3 SIGKILLs over ~9k records with hostile lines: the clean run’s state, nothing lost or applied twice, no duplicate alert', async () => {
    expectHeld(
      await runKills({
        dir: join(dir, 'kills'),
        seed,
        kills: 3,
        records: 9_000,
        days: 14,
        hostile: 60,
        batch: 500,
      }),
    );
  }, 180_000);

  it('~1k fuzzed and hostile records: every line applied, repeated, dead-lettered with a reason or blank; valid ones alone give the same state', async () => {
    expectHeld(await runFuzz({ dir: join(dir, 'fuzz'), seed, records: 1_000 }));
  }, 120_000);

  it('a short soak at 5,000 records/s: /readyz 200 throughout, RSS under its ceiling, the backlog drained', async () => {
    expectHeld(
      await runSoak({
        dir: join(dir, 'soak'),
        seed,
        rate: 5_000,
        seconds: 10,
        warmupSeconds: 8,
        sampleSeconds: 1,
      }),
    );
  }, 120_000);
});
