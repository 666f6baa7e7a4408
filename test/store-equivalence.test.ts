/**
 * Acceptance: the three state stores are interchangeable. One generated stream is run through
 * `shelfwatch run` (a child process: file source, file alert sink) once per store — SQLite, MySQL on a
 * MariaDB this file starts, DynamoDB on a DynamoDB Local this file starts — and each store is read back
 * through `createStoreFromConfig`: series rows (every field), stored values, the duplicate window,
 * anomalies, dead letters and the checkpoint, and the alert file's notification ids, must be the same
 * whichever store kept them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { FILE_SHARD_ID } from '../connectors/sources/index.js';
import { createStoreFromConfig } from '../connectors/stores.js';
import { writeDataset } from '../datasets/index.js';
import { loadRunConfig } from '../pipeline/config/load.js';
import type { ExtendedSequenceNumber } from '../pipeline/lifecycle.js';
import type { Anomaly, AppliedEvent, DeadLetter, SeriesRow } from '../pipeline/ports.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './servers/dynamodb-local.js';
import { type MariaDb, startMariaDb } from './servers/mariadb.js';

const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-equivalence-'));
/** Dummy credentials for DynamoDB Local (the store takes them from the standard AWS chain). */
const AWS_ENV = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };

let mariadb: MariaDb | undefined;
let dynamodb: DynamoDbLocal | undefined;
let records = 0;

beforeAll(async () => {
  for (const [name, value] of Object.entries(AWS_ENV)) vi.stubEnv(name, value);
  const [db, ddb, manifest] = await Promise.all([
    startMariaDb(),
    startDynamoDbLocal(),
    // A few thousand records with plenty of anomalies, duplicates, late and malformed lines.
    writeDataset(join(dir, 'data'), {
      seed: 11,
      days: 7,
      skus: 40,
      warehouses: 2,
      anomalyRate: 0.05,
      malformedRate: 0.002,
    }),
  ]);
  mariadb = db;
  dynamodb = ddb;
  const hostile = hostileLines(join(dir, 'data', 'events.ndjson'));
  appendFileSync(join(dir, 'data', 'events.ndjson'), `${hostile.join('\n')}\n`);
  records = manifest.counts.records + hostile.length;
}, 120_000);

/**
 * Issue 11's observations 1–3, appended to the stream so that every store meets them: a record dated
 * 2099 followed by a repeat of an earlier receipt (applied once), a 192-character SKU (dead-lettered
 * before any store sees it, so they cannot diverge), series whose `|`-joined keys would collide, a
 * storefront item and a WMS row with the same bare id, a lone surrogate, a record older than the
 * duplicate window, and a blank line.
 */
function hostileLines(events: string): string[] {
  let end = 0;
  for (const line of readFileSync(events, 'utf8').split('\n')) {
    const m = /"(?:TXN_TIME|occurredAt|issued_at)":("[^"]+"|\d+)/.exec(line);
    if (!m) continue;
    const v = JSON.parse(m[1]) as string | number;
    const t = typeof v === 'number' ? v : Date.parse(v.includes('T') ? v : `${v.replace(' ', 'T')}Z`);
    if (t > end) end = t;
  }
  const wms = (id: string, sku: string, wh: string, qty: number, t: number): string =>
    JSON.stringify({
      LOG_ID: id,
      TXN: 'RCV',
      ITEM_NO: sku,
      LOC: wh,
      QTY: qty,
      UOM: 'EA',
      TXN_TIME: new Date(t).toISOString().replace('T', ' ').slice(0, 19),
    });
  const receipt = wms('EQ-R1', 'EQ-1', 'WH-EQ', 10, end - 3_600_000);
  return [
    receipt,
    wms('EQ-R2', 'EQ-1', 'WH-EQ', 6, Date.UTC(2099, 0, 1)),
    receipt,
    wms('EQ-R3', 'S'.repeat(192), 'WH-EQ', 1, end),
    wms('EQ-R4', 'A|B', 'C', 3, end),
    wms('EQ-R5', 'A', 'B|C', 4, end),
    JSON.stringify({
      event: 'order.placed',
      eventId: '1001',
      orderId: 'SO-EQ',
      occurredAt: end,
      fulfillmentCenter: 'WH-EQ',
      items: [{ sku: 'EQ-2', quantity: 1, unitPrice: 2 }],
    }),
    wms('1001#1', 'EQ-2', 'WH-EQ', 5, end),
    // JSON.stringify writes a lone surrogate as the escape \\ud800: valid JSON, not well-formed text.
    wms('EQ-R6', 'EQ-\ud800', 'WH-EQ', 1, end),
    '',
    wms('EQ-R7', 'EQ-1', 'WH-EQ', 2, end - 30 * 86_400_000),
  ];
}

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.allSettled([mariadb?.close(), dynamodb?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

type StoreName = 'sqlite' | 'mysql' | 'dynamodb';

function storeSection(name: StoreName): Record<string, unknown> {
  switch (name) {
    case 'sqlite':
      return { type: 'sqlite', path: join(dir, 'state.db') };
    case 'mysql':
      if (!mariadb) throw new Error('MariaDB was not started');
      return { type: 'mysql', url: mariadb.url };
    case 'dynamodb':
      if (!dynamodb) throw new Error('DynamoDB Local was not started');
      return { type: 'dynamodb', tableName: 'equivalence', endpoint: dynamodb.endpoint, region: 'us-east-1' };
  }
}

const alertsPath = (name: StoreName): string => join(dir, `${name}-alerts.ndjson`);

/** The run configuration for one store (YAML; every path absolute). */
function configFile(name: StoreName): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    stringify({
      source: { type: 'file', path: join(dir, 'data', 'events.ndjson') },
      // Batches of exactly 500 records (a file is read far faster than the wait): every store gets
      // the same commits, so even the duplicate window, which forgets per commit, must agree.
      batch: { maxRecords: 500, maxWaitMs: 60_000 },
      store: storeSection(name),
      alerts: { sinks: [{ type: 'file', path: alertsPath(name) }] },
      metrics: { port: 0 },
      log: { level: 'warn' },
    }),
  );
  return path;
}

/** Runs `shelfwatch run --config …` to its end; resolves with its exit code and standard error. */
function runJob(config: string): Promise<{ code: number | null; stderr: string; seconds: number }> {
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli/index.ts'), 'run', '--config', config],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...AWS_ENV } },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-8_000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shelfwatch run (${config}) did not finish in 60 s\n${stderr}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

interface EndState {
  series: SeriesRow[];
  values: Array<{ key: string; value: string }>;
  recentEvents: AppliedEvent[];
  anomalyIds: string[];
  anomalies: Anomaly[];
  deadLetterCount: number;
  deadLetters: Array<Omit<DeadLetter, 'arrivalTimestamp'>>;
  checkpoint: ExtendedSequenceNumber | null;
  notificationIds: string[];
}

const by =
  <T>(key: (x: T) => string) =>
  (a: T, b: T): number => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };

/** What the store behind `config` holds, read back through the same factory `shelfwatch run` uses. */
async function endState(name: StoreName, config: string): Promise<EndState> {
  const store = createStoreFromConfig(loadRunConfig({ file: config, env: {} }).store);
  await store.open();
  try {
    const state = await store.load();
    const anomalies = (await store.listAnomalies()).sort(by((a) => a.id));
    return {
      series: [...state.series].sort(by((s) => `${s.sku}|${s.warehouse}`)),
      values: [...state.values].sort(by((v) => v.key)),
      recentEvents: [...state.recentEvents].sort(by((e) => e.eventId)),
      anomalyIds: anomalies.map((a) => a.id),
      anomalies,
      deadLetterCount: await store.countDeadLetters(),
      // A Buffer and a Uint8Array with the same bytes are the same dead letter; the arrival time is
      // the wall clock of each run, not something a store decides.
      deadLetters: (await store.listDeadLetters())
        .map(({ arrivalTimestamp: _arrival, ...d }) => ({ ...d, data: new Uint8Array(d.data) }))
        .sort(by((d) => `${d.shardId}|${d.sequenceNumber.padStart(40, '0')}|${d.subSequenceNumber}`)),
      checkpoint: await store.loadCheckpoint(FILE_SHARD_ID),
      notificationIds: readFileSync(alertsPath(name), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    };
  } finally {
    await store.close();
  }
}

describe('the state stores are interchangeable', () => {
  it('a generated stream run with each store ends in the same state', async () => {
    const names: StoreName[] = ['sqlite', 'mysql', 'dynamodb'];
    const configs = names.map(configFile);
    // The runs are independent (each has its own store and alert file): run them side by side.
    const runs = await Promise.all(configs.map(runJob));
    runs.forEach((run, i) => {
      expect(run.code, `${names[i]}: ${run.stderr}`).toBe(0);
    });
    const [sqlite, mysql, dynamodb] = await Promise.all(
      names.map((n, i) => endState(n, configs[i] as string)),
    );
    if (!sqlite || !mysql || !dynamodb) throw new Error('three end states expected');

    // The stream was worth comparing: all of it went through, with anomalies, alerts and dead letters.
    expect(sqlite.checkpoint).toEqual({ sequenceNumber: String(records), subSequenceNumber: 0 });
    // 80 generated series and 4 of the hostile lines'.
    expect(sqlite.series.length).toBe(84);
    const row = (sku: string, warehouse: string) =>
      sqlite.series.find((r) => r.sku === sku && r.warehouse === warehouse);
    // Observation 1: the 2099 record did not make the window forget; the repeated receipt counts once.
    expect(row('EQ-1', 'WH-EQ')?.onHand).toBe(10);
    // Observation 3: keys and ids that a `|` join or a bare id would confuse stay apart.
    expect(row('A|B', 'C')?.onHand).toBe(3);
    expect(row('A', 'B|C')?.onHand).toBe(4);
    expect(row('EQ-2', 'WH-EQ')).toMatchObject({ onHand: 5, reserved: 1 });
    // Hostile line i (1-based) is line records − 11 + i of the file.
    const hostileCodes = sqlite.deadLetters
      .map((d) => [Number(d.sequenceNumber) - records + 11, d.code] as const)
      .filter(([i]) => i >= 1);
    // Observation 2 and the rest: each hostile line dead-lettered before any store saw it, no other.
    expect(hostileCodes).toEqual([
      [2, 'future_event'],
      [4, 'schema'],
      [9, 'schema'],
      [11, 'expired_event'],
    ]);
    expect(sqlite.anomalyIds.length).toBeGreaterThan(20);
    expect(sqlite.notificationIds.length).toBeGreaterThan(5);
    expect(sqlite.deadLetterCount).toBeGreaterThan(0);
    expect(sqlite.recentEvents.length).toBeGreaterThan(100);
    // Every notification once in each alert file.
    for (const s of [sqlite, mysql, dynamodb])
      expect(new Set(s.notificationIds).size).toBe(s.notificationIds.length);

    for (const [name, other] of [
      ['mysql', mysql],
      ['dynamodb', dynamodb],
    ] as const) {
      expect(other.checkpoint, `${name}: checkpoint`).toEqual(sqlite.checkpoint);
      expect(other.series, `${name}: series rows`).toEqual(sqlite.series);
      expect(other.values, `${name}: values`).toEqual(sqlite.values);
      expect(other.recentEvents, `${name}: duplicate window`).toEqual(sqlite.recentEvents);
      expect(other.anomalyIds, `${name}: anomaly ids`).toEqual(sqlite.anomalyIds);
      expect(other.anomalies, `${name}: anomalies`).toEqual(sqlite.anomalies);
      expect(other.deadLetterCount, `${name}: dead-letter count`).toBe(sqlite.deadLetterCount);
      expect(other.deadLetters, `${name}: dead letters`).toEqual(sqlite.deadLetters);
      expect([...other.notificationIds].sort(), `${name}: notification ids`).toEqual(
        [...sqlite.notificationIds].sort(),
      );
    }
    console.log(
      `store equivalence: ${records} records, ${sqlite.series.length} series, ${sqlite.anomalyIds.length} anomalies, ` +
        `${sqlite.notificationIds.length} notifications, ${sqlite.deadLetterCount} dead letters; run time ` +
        names.map((n, i) => `${n} ${runs[i]?.seconds.toFixed(1)} s`).join(', '),
    );
  }, 90_000);
});
