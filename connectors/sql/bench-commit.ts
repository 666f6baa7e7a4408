/**
 * Commit throughput of the SQLite state store on a realistic batch: by default 600 series rows (with
 * ~600-byte model JSON), 5,000 applied events, 5 anomalies, 3 values, and a duplicate window of 40
 * batches (200k event ids), pruned every commit as the pipeline does.
 *
 * `npx tsx connectors/sql/bench-commit.ts [--batches 200] [--path file|:memory:] [--max-parameters N]
 *  [--series 600] [--events 5000] [--window 40]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kysely, SqliteDialect } from 'kysely';
import type { Anomaly, BatchCommit, SeriesRow } from '../../pipeline/ports.js';
import type { Database } from './schema.js';
import { SqlStateStore } from './sql-store.js';
import { cachingSqliteDatabase, openSqliteDatabase } from './sqlite.js';

/**
 * Builds batch number `i` of the benchmark: deterministic, with the sizes asked for.
 *
 * @example
 * ```ts
 * const batch = benchBatch(0, { series: 600, events: 5000, anomalies: 5 });
 * ```
 */
export function benchBatch(
  i: number,
  sizes: { series: number; events: number; anomalies: number },
  eventSpacingMs = 10,
): BatchCommit {
  const t0 = 1_700_000_000_000 + i * sizes.events * eventSpacingMs;
  const model = JSON.stringify({
    v: 1,
    ewma: { rate: 0.4321, var: 0.0123, n: 1234 },
    window: Array.from({ length: 24 }, (_, h) => Math.round(Math.sin(h + i) * 1000) / 100),
    detectors: { countGap: { last: 12, seen: 3 }, zscore: { median: 4.5, mad: 1.25 }, stuck: { since: t0 } },
  }).padEnd(600, ' ');
  const series: SeriesRow[] = Array.from({ length: sizes.series }, (_, s) => ({
    // Rotating over 6,000 series, as a batch of a larger catalogue would.
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
  const appliedEvents = Array.from({ length: sizes.events }, (_, e) => ({
    eventId: `evt-${i.toString(36)}-${e.toString(36)}-7f3a9c2e4b1d`,
    occurredAt: t0 + e * eventSpacingMs,
    sku: `SKU-${e % sizes.series}`,
    warehouse: 'WH-1',
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

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      batches: { type: 'string', default: '200' },
      path: { type: 'string' },
      'max-parameters': { type: 'string' },
      series: { type: 'string', default: '600' },
      events: { type: 'string', default: '5000' },
      anomalies: { type: 'string', default: '5' },
      window: { type: 'string', default: '40' },
    },
  });
  const batches = Number(args.batches);
  const sizes = {
    series: Number(args.series),
    events: Number(args.events),
    anomalies: Number(args.anomalies),
  };
  const windowBatches = Number(args.window);
  const dir = args.path === undefined ? mkdtempSync(join(tmpdir(), 'shelfwatch-bench-')) : undefined;
  const path = args.path ?? join(dir as string, 'state.db');
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: async () => cachingSqliteDatabase(openSqliteDatabase({ path })) }),
  });
  const maxParameters = args['max-parameters'] === undefined ? undefined : Number(args['max-parameters']);
  const store = new SqlStateStore(db, { dialect: 'sqlite', maxParameters });
  await store.open();
  const prepared = Array.from({ length: batches }, (_, i) => {
    const b = benchBatch(i, sizes);
    const forget = benchBatch(Math.max(0, i - windowBatches), sizes).appliedEvents[0]?.occurredAt;
    return i >= windowBatches ? { ...b, forgetEventsBefore: forget } : b;
  });
  // Warm-up outside the timing (statement cache, page cache), then fill the window.
  const warm = Math.min(windowBatches, Math.floor(batches / 4));
  for (let i = 0; i < warm; i++) await store.commit(prepared[i] as BatchCommit);
  const times: number[] = [];
  const started = process.hrtime.bigint();
  for (let i = warm; i < batches; i++) {
    const t = process.hrtime.bigint();
    await store.commit(prepared[i] as BatchCommit);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const n = batches - warm;
  const rowsPerBatch = sizes.series + sizes.events + sizes.anomalies + 3 + 1;
  times.sort((a, b) => a - b);
  const state = await store.load();
  await store.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  const pct = (p: number): string =>
    (times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0).toFixed(2);
  process.stdout.write(
    `${path === ':memory:' ? ':memory:' : 'file (WAL, synchronous=NORMAL)'}; batch = ${sizes.series} series + ` +
      `${sizes.events} applied events + ${sizes.anomalies} anomalies + 3 values + checkpoint; ` +
      `window ${windowBatches} batches (${state.recentEvents.length} event ids at the end)\n` +
      `${n} commits in ${seconds.toFixed(2)} s: ${(n / seconds).toFixed(1)} commits/s, ` +
      `${Math.round((n * rowsPerBatch) / seconds).toLocaleString('en')} rows/s, ` +
      `${Math.round((n * sizes.events) / seconds).toLocaleString('en')} applied events/s; ` +
      `per commit p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
