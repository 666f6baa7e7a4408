/**
 * Scenario `outages`: MariaDB (store `mysql`), DynamoDB Local (store `dynamodb`) and fauxqs (sink `sns`)
 * each go away mid-stream for `outageMs` and come back (see `outage-run.ts` for what is checked). The
 * three cases are also `test/outages.test.ts`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDynamoDbLocal } from '../../test/servers/dynamodb-local.js';
import { type FauxqsInit, startFauxqs } from '../../test/servers/fauxqs.js';
import { startMariaDb } from '../../test/servers/mariadb.js';
import { freePort } from '../../test/servers/ports.js';
import { Checks, type Headline, progress, type ScenarioResult } from './checks.js';
import { Gate, Subscriber, sqliteCheckpoint } from './outage-fauxqs.js';
import { type OutageOutcome, runOutage } from './outage-run.js';
import { repeats } from './sqlite-outcome.js';

/**
 * Where an outage case works and how long the server stays away.
 *
 * @example
 * ```ts
 * const options: OutageOptions = { dir: '/tmp/outages', outageMs: 30_000 };
 * ```
 */
export interface OutageOptions {
  dir: string;
  outageMs: number;
}

/**
 * MariaDB goes away (a clean shutdown) and comes back on the same port and data.
 *
 * @example
 * ```ts
 * const { checks, summary } = await mariadbOutage({ dir, outageMs: 30_000 });
 * ```
 */
export async function mariadbOutage(o: OutageOptions): Promise<OutageOutcome> {
  const db = await startMariaDb();
  try {
    return await runOutage(
      {
        name: 'mariadb',
        store: { type: 'mysql', url: db.url },
        stop: () => db.stop(),
        restart: () => db.restart(),
        retrying: 'state store',
      },
      o,
    );
  } finally {
    await db.close();
  }
}

/**
 * DynamoDB Local (tables on disk) is killed and started again on the same port.
 *
 * @example
 * ```ts
 * const { checks, summary } = await dynamodbOutage({ dir, outageMs: 30_000 });
 * ```
 */
export async function dynamodbOutage(o: OutageOptions): Promise<OutageOutcome> {
  const ddb = await startDynamoDbLocal({ persist: true });
  try {
    return await runOutage(
      {
        name: 'dynamodb',
        store: { type: 'dynamodb', tableName: 'outage', endpoint: ddb.endpoint, region: 'us-east-1' },
        stop: () => ddb.stop(),
        restart: () => ddb.restart(),
        retrying: 'state store',
      },
      o,
    );
  } finally {
    await ddb.close();
  }
}

/**
 * fauxqs (the SNS sink's server) goes away while the state stays in SQLite: the checkpoint must hold
 * while alerts cannot be published, and every alert must reach the SQS subscriber exactly once.
 *
 * @example
 * ```ts
 * const { checks, summary } = await fauxqsOutage({ dir, outageMs: 30_000 });
 * ```
 */
export async function fauxqsOutage(o: OutageOptions): Promise<OutageOutcome> {
  const init: FauxqsInit = {
    topics: [{ name: 'outage-alerts' }],
    queues: [{ name: 'outage-queue' }],
    subscriptions: [
      { topic: 'outage-alerts', queue: 'outage-queue', attributes: { RawMessageDelivery: 'true' } },
    ],
  };
  let fauxqs = await startFauxqs({ init });
  let up = true;
  const port = fauxqs.port;
  const gate = new Gate(await freePort(), () => port);
  const subscriber = new Subscriber('outage-queue');
  const statePath = join(o.dir, 'fauxqs.db');
  try {
    await gate.open();
    await subscriber.start(fauxqs);
    const outcome = await runOutage(
      {
        name: 'fauxqs',
        store: { type: 'sqlite', path: statePath },
        sinks: [
          {
            type: 'sns',
            topicArn: 'arn:aws:sns:us-east-1:000000000000:outage-alerts',
            endpoint: gate.endpoint,
          },
        ],
        stop: async () => {
          await gate.close();
          await subscriber.stop(); // the queue drained: fauxqs takes nothing with it
          await fauxqs.stop();
          up = false;
        },
        restart: async () => {
          // Topic, queue and subscription come back with it (its init file).
          fauxqs = await startFauxqs({ port, init });
          up = true;
          await subscriber.start(fauxqs);
          await gate.open();
        },
        retrying: 'sink sns',
        checkpoint: () => sqliteCheckpoint(statePath),
      },
      o,
    );
    await subscriber.stop();
    const { checks, expected } = outcome;
    const expectedIds = [...(expected.sinks.get('sns')?.ids ?? [])].sort();
    checks.equal(
      'the undisturbed run routes every alert to both sinks',
      expectedIds,
      [...(expected.sinks.get('file')?.ids ?? [])].sort(),
    );
    checks.equal(
      'alerts received through SNS → SQS equal to the undisturbed run',
      [...new Set(subscriber.ids)].sort(),
      expectedIds,
      `${expectedIds.length}`,
    );
    checks.equal('duplicate alerts through SNS', repeats(subscriber.ids), 0);
    const summary = `${outcome.summary}; SNS → SQS: ${new Set(subscriber.ids).size} of ${expectedIds.length} alerts received, ${repeats(subscriber.ids)} repeats`;
    return { ...outcome, summary };
  } finally {
    await subscriber.stop().catch(() => undefined);
    await gate.close();
    if (up) await fauxqs.stop();
  }
}

const CASES = { mariadb: mariadbOutage, dynamodb: dynamodbOutage, fauxqs: fauxqsOutage } as const;

/**
 * The scenario: each server in `servers` away for `outageMs`, one after another.
 *
 * @example
 * ```ts
 * const result = await runOutages({ dir, outageMs: 30_000, servers: ['mariadb', 'dynamodb', 'fauxqs'] });
 * ```
 */
export async function runOutages(
  o: OutageOptions & { servers: ReadonlyArray<keyof typeof CASES> },
): Promise<ScenarioResult> {
  const t0 = Date.now();
  const all = new Checks();
  const figures: Array<[string, string]> = [];
  const headline: Headline[] = [];
  for (const server of o.servers) {
    progress('outages', `${server}: down ${o.outageMs / 1000} s mid-stream`);
    const dir = join(o.dir, server);
    mkdirSync(dir, { recursive: true });
    try {
      const { checks, summary } = await CASES[server]({ dir, outageMs: o.outageMs });
      for (const c of checks.list) all.list.push({ ...c, name: `${server}: ${c.name}` });
      headline.push({
        figure: `${server} down ${o.outageMs / 1000} s mid-stream`,
        value:
          checks.failed.length === 0
            ? 'caught up; state and alerts = undisturbed run, 0 duplicates'
            : `${checks.failed.length} checks failed`,
        ok: checks.failed.length === 0,
      });
      figures.push([server, summary]);
      progress('outages', summary);
    } catch (err) {
      all.that(
        `${server}: the case ran`,
        false,
        err instanceof Error ? err.message.slice(0, 2_000) : String(err),
      );
      figures.push([
        server,
        `did not complete: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      ]);
    }
  }
  const failed = all.failed.length;
  return {
    scenario: 'outages',
    checks: all.list,
    headline,
    figures,
    seconds: (Date.now() - t0) / 1000,
    summary: `${o.servers.join(', ')} down ${o.outageMs / 1000} s each: ${failed === 0 ? 'caught up, state equal to undisturbed runs, 0 duplicate alerts' : `${failed} checks failed`}`,
  };
}
