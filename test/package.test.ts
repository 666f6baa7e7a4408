/**
 * The package as users get it: `npm run build`, `npm pack`, the tarball unpacked as
 * `node_modules/shelfwatch`, and each export imported by name from a plain Node process — then the
 * ready Lambda `handler` of `shelfwatch/lambda`, configured only by environment variables, processing a
 * Kinesis event into DynamoDB Local.
 *
 * The unpacked package sits under the repository, so its dependencies resolve from the repository's
 * node_modules (no registry needed); a dependency missing from package.json is therefore not caught
 * here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbStore } from '../connectors/dynamodb/state-store.js';
import { simulateInventory } from '../datasets/index.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './servers/dynamodb-local.js';

const ROOT = new URL('..', import.meta.url).pathname;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let work: string;
let ddb: DynamoDbLocal;

beforeAll(async () => {
  const dynamo = startDynamoDbLocal();
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  work = mkdtempSync(join(ROOT, 'node_modules/.cache/shelfwatch-pack-'));
  execFileSync(NPM, ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  const packed = JSON.parse(
    execFileSync(NPM, ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const target = join(work, 'node_modules/shelfwatch');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['xzf', join(work, packed[0].filename), '-C', target, '--strip-components=1']);
  ddb = await dynamo;
}, 300_000);

afterAll(async () => {
  await ddb?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs an ES module in `work` (so `shelfwatch` resolves to the unpacked tarball) and returns its stdout. */
function node(
  source: string,
  env: NodeJS.ProcessEnv = {},
): { code: number | null; stdout: string; stderr: string } {
  const file = join(work, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, source);
  const r = spawnSync(process.execPath, [file], {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the packed package', () => {
  it('ships only dist/, the licence, the README and package.json', () => {
    const manifest = JSON.parse(readFileSync(join(work, 'node_modules/shelfwatch/package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    expect(Object.keys(manifest.exports)).toEqual(['.', './detectors', './lambda', './package.json']);
    const top = execFileSync('ls', [join(work, 'node_modules/shelfwatch')], { encoding: 'utf8' }).split('\n');
    expect(top.filter(Boolean).sort()).toEqual(['LICENSE', 'README.md', 'dist', 'package.json']);
  });

  it('imports each export by name, as the README shows', () => {
    const r = node(`
      const main = await import('shelfwatch');
      const detectors = await import('shelfwatch/detectors');
      const lambda = await import('shelfwatch/lambda');
      console.log(JSON.stringify({
        main: ['IsolationForest', 'Dbscan', 'RollingRobustZScore'].filter((k) => typeof main[k] === 'function'),
        detectors: ['IsolationForest', 'Dbscan', 'RollingRobustZScore'].filter((k) => typeof detectors[k] === 'function'),
        lambda: ['handler', 'createKinesisHandlerFromConfig', 'createKinesisHandler', 'LambdaRetryBudget'].filter((k) => typeof lambda[k] === 'function'),
      }));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      main: ['IsolationForest', 'Dbscan', 'RollingRobustZScore'],
      detectors: ['IsolationForest', 'Dbscan', 'RollingRobustZScore'],
      lambda: ['handler', 'createKinesisHandlerFromConfig', 'createKinesisHandler', 'LambdaRetryBudget'],
    });
  });
});

describe('shelfwatch/lambda: the ready handler', () => {
  /** A Kinesis event of the generator's first records, and one record that is not JSON. */
  function kinesisEvent(count: number): unknown {
    const lines: string[] = [];
    const arrivals: number[] = [];
    for (const out of simulateInventory({ seed: 5, days: 3, skus: 10 })) {
      if (out.type === 'record') {
        lines.push(out.line);
        arrivals.push(out.arrivedAt);
      }
      if (lines.length === count) break;
    }
    lines.push('{not json');
    arrivals.push(arrivals.at(-1) ?? Date.parse('2026-01-05T00:00:00Z'));
    const arn = 'arn:aws:kinesis:us-east-1:123456789012:stream/inventory';
    return {
      Records: lines.map((line, i) => ({
        eventID: `shardId-000000000000:${1000 + i}`,
        eventSourceARN: arn,
        kinesis: {
          data: Buffer.from(line).toString('base64'),
          partitionKey: `k${i % 7}`,
          sequenceNumber: String(1000 + i),
          approximateArrivalTimestamp: arrivals[i] / 1000,
        },
      })),
    };
  }

  const invoke = (env: NodeJS.ProcessEnv, event: unknown) =>
    node(
      `
      import { handler } from 'shelfwatch/lambda';
      const event = ${JSON.stringify(event)};
      const context = { getRemainingTimeInMillis: () => 60_000 };
      try {
        const first = await handler(event, context);
        const again = await handler(event, context); // Lambda re-sending the batch: nothing twice
        const { createRequire } = await import('node:module');
        const cache = Object.keys(createRequire(import.meta.url).cache);
        const sqliteLoaded = cache.some((k) => k.includes('better-sqlite3'));
        console.log(JSON.stringify({ first, again, sqliteLoaded }));
      } catch (err) {
        console.log(JSON.stringify({ error: err.message }));
      }
    `,
      env,
    );

  it('runs on SHELFWATCH_* variables: DynamoDB state, a file of alerts, bad records dead-lettered, not failed', async () => {
    const alerts = join(work, 'alerts.ndjson');
    const env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SHELFWATCH_STORE__TYPE: 'dynamodb',
      SHELFWATCH_STORE__TABLE_NAME: 'lambda-state',
      SHELFWATCH_STORE__ENDPOINT: ddb.endpoint,
      SHELFWATCH_ALERTS__SINKS__0__TYPE: 'file',
      SHELFWATCH_ALERTS__SINKS__0__PATH: alerts,
      SHELFWATCH_LOG__LEVEL: 'warn',
    };
    const r = invoke(env, kinesisEvent(400));
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    // The native SQLite addon is not even loaded: a bundle for DynamoDB or MySQL need not ship it.
    expect(out).toEqual({
      first: { batchItemFailures: [] },
      again: { batchItemFailures: [] },
      sqliteLoaded: false,
    });
    const store = createDynamoDbStore({
      tableName: 'lambda-state',
      endpoint: ddb.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await store.open();
    try {
      expect((await store.loadCheckpoint('shardId-000000000000'))?.sequenceNumber).toBe('1400');
      expect((await store.listDeadLetters()).map((d) => d.code)).toEqual(['invalid_json']);
    } finally {
      await store.close();
    }
  });

  it('refuses a SQLite store, whose file would not outlive the execution environment', () => {
    const r = invoke({ SHELFWATCH_STORE__TYPE: 'sqlite' }, kinesisEvent(1));
    expect(JSON.parse(r.stdout)).toEqual({
      error: expect.stringContaining(
        'store.type is sqlite, whose file would not outlive the execution environment',
      ),
    });
  });
});
