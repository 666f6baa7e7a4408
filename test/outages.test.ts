/**
 * Acceptance: a server the job depends on goes away for 30 s in the middle of a stream — MariaDB (the
 * MySQL store), DynamoDB Local (the DynamoDB store) or fauxqs (the SNS alert sink) — and comes back.
 * The job (`shelfwatch run`, a child process, fed by the live `generator` source) must keep running,
 * hold its checkpoint while it cannot commit or publish, retry, catch up once the server is back, and
 * end in the state, with the alerts, of an undisturbed run: the same engine computed in-process over
 * the same generated records (`createEngineFromConfig` on the same configuration, a memory store).
 *
 * The cases live in `scripts/chaos/outages.ts`, which the fault campaign (`npm run chaos`) runs too.
 * Each prints one summary line: how long the server was down, where in the stream, what the job
 * logged and answered meanwhile, and how long it took to catch up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OutageOutcome } from '../scripts/chaos/outage-run.js';
import { dynamodbOutage, fauxqsOutage, mariadbOutage } from '../scripts/chaos/outages.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-outages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The acceptance figure: the server is away this long. */
const OUTAGE_MS = 30_000;

function expectCaughtUp({ checks, summary }: OutageOutcome): void {
  console.log(summary);
  expect(checks.failed).toEqual([]);
  expect(checks.list.length).toBeGreaterThan(15);
}

describe('a server goes away for 30 s mid-stream', () => {
  it('MariaDB (store: mysql): the job holds its checkpoint, retries, catches up, and ends as an undisturbed run', async () => {
    expectCaughtUp(await mariadbOutage({ dir, outageMs: OUTAGE_MS }));
  }, 150_000);

  it('DynamoDB Local (store: dynamodb): the job holds its checkpoint, retries, catches up, and ends as an undisturbed run', async () => {
    expectCaughtUp(await dynamodbOutage({ dir, outageMs: OUTAGE_MS }));
  }, 150_000);

  it('fauxqs (sink: sns): the checkpoint holds while alerts cannot be published; every alert reaches SQS once', async () => {
    const outcome = await fauxqsOutage({ dir, outageMs: OUTAGE_MS });
    expectCaughtUp(outcome);
    expect(outcome.checks.list.map((c) => c.name)).toContain('duplicate alerts through SNS');
  }, 150_000);
});
