/**
 * State-store write throughput: batched commits as the stream job makes them, per store. A batch is by
 * default 600 series rows (with ~600-byte model JSON), 5,000 applied events, 5 anomalies, 3 values and
 * the checkpoint, and the duplicate window holds 40 batches (200k event ids), pruned every commit as
 * the pipeline does; rates count series rows and applied events per second of commit time.
 *
 * Stores: a SQLite file (WAL, synchronous = NORMAL) and MariaDB 10.11 on loopback started here with
 * every commit flushed to disk (`innodb_flush_log_at_trx_commit = 1`, as on RDS). Add a store by adding
 * an entry to {@link STORES_UNDER_TEST}. DynamoDB Local (the jar, in memory) stands in for
 * DynamoDB: it shows the store's request pattern at work, not AWS's latency or throughput.
 *
 * `npx tsx bench/stores.ts [--quick] [--stores sqlite,mariadb] [--batches 150] [--series 600]
 *  [--events 5000] [--window 40] [--max-parameters N]` runs this suite alone and prints its table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createDynamoDbStore } from '../connectors/dynamodb/state-store.js';
import { createMysqlStore } from '../connectors/sql/mysql.js';
import { createSqliteStore } from '../connectors/sql/sqlite.js';
import type { Anomaly, BatchCommit, SeriesRow, StateStore } from '../pipeline/ports.js';
import { startDynamoDbLocal } from '../test/servers/dynamodb-local.js';
import { startMariaDb } from '../test/servers/mariadb.js';
import { type BenchRow, markdownTable, progress } from './harness.js';

/** The shape of a benchmark batch. */
export interface BatchSizes {
  series: number;
  events: number;
  anomalies: number;
}

/**
 * Builds batch number `i` of the benchmark: deterministic, with the sizes asked for. Series rotate over
 * 2,000 SKUs, as a batch of a larger catalogue would; event times advance `eventSpacingMs` per event.
 *
 * @example
 * ```ts
 * const batch = benchBatch(0, { series: 600, events: 5000, anomalies: 5 });
 * ```
 */
export function benchBatch(i: number, sizes: BatchSizes, eventSpacingMs = 10): BatchCommit {
  const t0 = 1_700_000_000_000 + i * sizes.events * eventSpacingMs;
  const model = JSON.stringify({
    v: 1,
    ewma: { rate: 0.4321, var: 0.0123, n: 1234 },
    window: Array.from({ length: 24 }, (_, h) => Math.round(Math.sin(h + i) * 1000) / 100),
    detectors: { countGap: { last: 12, seen: 3 }, zscore: { median: 4.5, mad: 1.25 }, stuck: { since: t0 } },
  }).padEnd(600, ' ');
  const series: SeriesRow[] = Array.from({ length: sizes.series }, (_, s) => ({
    sku: `SKU-${String(((i * sizes.series + s) % 2_000) + 1).padStart(5, '0')}`,
    warehouse: `WH-${(s % 3) + 1}`,
    onHand: 100 + ((i + s) % 50),
    reserved: (i + s) % 7,
    inbound: (s % 4) * 24,
    lastCountQuantity: s % 2 === 0 ? 97 : null,
    lastCountAt: s % 2 === 0 ? t0 - 3_600_000 : null,
    salesVelocity: 1.25 + (s % 10) / 10,
    lastEventAt: t0 + s,
    model,
  }));
  // Each event applied to one of the batch's series, as in the job (a batch commits what it changed).
  const appliedEvents = Array.from({ length: sizes.events }, (_, e) => ({
    eventId: `evt-${i.toString(36)}-${e.toString(36)}-7f3a9c2e4b1d`,
    occurredAt: t0 + e * eventSpacingMs,
    sku: series[e % series.length]?.sku ?? 'SKU-00001',
    warehouse: series[e % series.length]?.warehouse ?? 'WH-1',
  }));
  const anomalies: Anomaly[] = Array.from({ length: sizes.anomalies }, (_, a) => ({
    id: `shrinkage|SKU-${a}|WH-1|${appliedEvents[a]?.eventId ?? a}`,
    type: 'shrinkage',
    severity: 'warning',
    score: 0.9,
    sku: `SKU-${a}`,
    warehouse: 'WH-1',
    detectedAt: t0,
    eventIds: [appliedEvents[a]?.eventId ?? String(a)],
    detector: 'rule:count-gap',
    explanation: {
      summary: 'cycle count 4 below the book quantity 9',
      features: [{ name: 'count_gap', observed: 4, expected: 9, contribution: 1 }],
    },
  }));
  return {
    shardId: 'shardId-000000000000',
    checkpoint: {
      sequenceNumber: `4959033827149025660855969253836157109592157598913${i}`,
      subSequenceNumber: 0,
    },
    series,
    values: [
      { key: 'catalog', value: 'x'.repeat(2_000) },
      { key: 'alerts', value: JSON.stringify({ i }) },
      { key: 'suppliers', value: 'y'.repeat(500) },
    ],
    appliedEvents,
    deadLetters: [],
    anomalies,
  };
}

/** What a store needs to be measured: how to set one up (fresh and empty) and what it is. */
export interface StoreUnderTest {
  /** The `--stores` name. */
  id: string;
  /** The case column: the store and its durability settings. */
  label: string;
  /** Starts whatever the store needs; `store` is unopened, `tearDown` removes everything. */
  setUp(options: { maxParameters?: number }): Promise<{ store: StateStore; tearDown(): Promise<void> }>;
}

/** The stores this suite measures, in order. */
export const STORES_UNDER_TEST: StoreUnderTest[] = [
  {
    id: 'sqlite',
    label: 'SQLite file (WAL, synchronous = NORMAL)',
    async setUp({ maxParameters }) {
      const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-bench-stores-'));
      const store = createSqliteStore({ path: join(dir, 'state.db'), maxParameters });
      return {
        store,
        tearDown: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    id: 'mariadb',
    label: 'MariaDB 10.11 on loopback (InnoDB, flush at every commit, 512 MB buffer pool)',
    async setUp({ maxParameters }) {
      // Sized as a small production server (RDS sizes these from the instance's memory), not as the
      // tests' many tiny servers: with 32 MB of buffer pool the 200k-id window does not stay cached.
      const server = await startMariaDb({
        persist: true,
        serverArgs: ['--innodb-buffer-pool-size=512M', '--innodb-log-file-size=512M'],
      });
      const store = createMysqlStore({ url: server.url, poolSize: 1, maxParameters });
      return {
        store,
        tearDown: async () => {
          await store.close();
          await server.close();
        },
      };
    },
  },
  {
    id: 'dynamodb-local',
    label: 'DynamoDB Local 3.3.1 on loopback (in memory)',
    async setUp() {
      // In memory: with -dbPath, DynamoDB Local's SQLite commits every write to disk and a batch
      // takes ~10× longer, which says nothing about DynamoDB.
      // The benchmark's duplicate window alone is 200k items: 256 MiB of heap is not enough.
      const server = await startDynamoDbLocal({ heapMiB: 2048 });
      const store = createDynamoDbStore({
        endpoint: server.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        tableName: 'bench-state',
        // A loaded two-core machine can keep the jar busy for seconds on one request.
        requestTimeoutMs: 60_000,
      });
      return {
        store,
        tearDown: async () => {
          await store.close();
          await server.close();
        },
      };
    },
  },
];

/**
 * Options of {@link benchStores}.
 *
 * @example
 * ```ts
 * const options: StoresBenchOptions = { batches: 150, sizes: { series: 600, events: 5000, anomalies: 5 } };
 * ```
 */
export interface StoresBenchOptions {
  /** Timed commits per store (after filling the duplicate window untimed). */
  batches: number;
  sizes?: BatchSizes;
  /** Batches the duplicate window holds (default 40). */
  window?: number;
  /** Which of {@link STORES_UNDER_TEST} to run, by id (default all). */
  stores?: readonly string[];
  /** Bound parameters per statement of the SQL stores (default: theirs). */
  maxParameters?: number;
}

interface Measured {
  commits: number;
  seconds: number;
  p50: number;
  p99: number;
  windowEvents: number;
}

async function measure(store: StateStore, options: StoresBenchOptions, sizes: BatchSizes): Promise<Measured> {
  const window = options.window ?? 40;
  const batchAt = (i: number): BatchCommit => {
    const b = benchBatch(i, sizes);
    if (i < window) return b;
    return { ...b, forgetEventsBefore: benchBatch(i - window, sizes).appliedEvents[0]?.occurredAt };
  };
  await store.open();
  // Untimed: fill the duplicate window (the steady state deletes as many events as it inserts), which
  // also warms caches and connections.
  for (let i = 0; i < window; i++) await store.commit(batchAt(i));
  const times: number[] = [];
  for (let i = window; i < window + options.batches; i++) {
    const batch = batchAt(i); // built outside the timing
    const t = process.hrtime.bigint();
    await store.commit(batch);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const windowEvents = (await store.load()).recentEvents.length;
  times.sort((a, b) => a - b);
  const pct = (p: number): number => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0;
  return {
    commits: times.length,
    seconds: times.reduce((a, b) => a + b, 0) / 1000,
    p50: pct(0.5),
    p99: pct(0.99),
    windowEvents,
  };
}

/**
 * Measures every selected store; two rows each (series rows/s, applied events/s).
 *
 * @example
 * ```ts
 * const rows = await benchStores({ batches: 30, stores: ['sqlite'] });
 * ```
 */
export async function benchStores(options: StoresBenchOptions): Promise<BenchRow[]> {
  const sizes = options.sizes ?? { series: 600, events: 5_000, anomalies: 5 };
  const selected = STORES_UNDER_TEST.filter((s) => options.stores?.includes(s.id) ?? true);
  const rows: BenchRow[] = [];
  const shape = `batches of ${sizes.series} series + ${sizes.events.toLocaleString('en')} events`;
  for (const candidate of selected) {
    progress(`stores: ${candidate.label}, ${options.batches} commits of ${shape}`);
    const { store, tearDown } = await candidate.setUp({ maxParameters: options.maxParameters });
    let m: Measured;
    try {
      m = await measure(store, options, sizes);
    } finally {
      await tearDown();
    }
    const note =
      `${(m.commits / m.seconds).toFixed(1)} commits/s; per commit p50 ${m.p50.toFixed(1)} ms, ` +
      `p99 ${m.p99.toFixed(1)} ms; window ${m.windowEvents.toLocaleString('en')} event ids`;
    rows.push(
      {
        suite: 'stores',
        case: `${candidate.label}, ${shape}`,
        metric: 'series rows written/s',
        unit: 'rows/s',
        ours: (m.commits * sizes.series) / m.seconds,
        note,
      },
      {
        suite: 'stores',
        case: `${candidate.label}, ${shape}`,
        metric: 'applied events committed/s',
        unit: 'ev/s',
        ours: (m.commits * sizes.events) / m.seconds,
      },
    );
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      stores: { type: 'string' },
      batches: { type: 'string' },
      series: { type: 'string', default: '600' },
      events: { type: 'string', default: '5000' },
      anomalies: { type: 'string', default: '5' },
      window: { type: 'string', default: '40' },
      'max-parameters': { type: 'string' },
    },
  });
  const rows = await benchStores({
    batches: Number(values.batches ?? (values.quick ? 30 : 150)),
    sizes: {
      series: Number(values.series),
      events: Number(values.events),
      anomalies: Number(values.anomalies),
    },
    window: Number(values.window),
    stores: values.stores?.split(',').map((s) => s.trim()),
    maxParameters: values['max-parameters'] === undefined ? undefined : Number(values['max-parameters']),
  });
  process.stdout.write(`${markdownTable(rows)}\n`);
}
