/**
 * The MySQL state store against a real MariaDB 10.11 that this file starts (test/servers/mariadb.ts):
 * the `StateStore` contract on a fresh database per store, then what only a server shows — collation
 * and types, a 1 MiB dead letter, two workers racing on one checkpoint, and the server going away.
 *
 * MariaDB must be installed (`.ci/run` does it); without it every test here fails, saying so.
 */
import { randomBytes } from 'node:crypto';
import { type KyselyPlugin, type QueryId, SelectQueryNode } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlStore, type MysqlStoreOptions } from '../connectors/sql/mysql.js';
import type { SqlStateStore } from '../connectors/sql/sql-store.js';
import { createStoreFromConfig, describeStore } from '../connectors/stores.js';
import { loadRunConfig } from '../pipeline/config/load.js';
import type { ExtendedSequenceNumber } from '../pipeline/lifecycle.js';
import { type BatchCommit, type SeriesRow, StaleCheckpointError } from '../pipeline/ports.js';
import { type MariaDb, startMariaDb } from './servers/mariadb.js';
import { at, batch, stateStoreContract, T0 } from './store-contract.js';

let server: MariaDb | undefined;
let startFailure: unknown;
beforeAll(async () => {
  // Kept, not thrown: a failing beforeAll would report every test as skipped. Each test fails instead,
  // with this error (e.g. "MariaDB is not installed: run .ci/run…").
  server = await startMariaDb().catch((err: unknown) => {
    startFailure = err;
    return undefined;
  });
}, 120_000);
afterAll(async () => {
  await server?.close();
});

function mariadb(): MariaDb {
  if (server === undefined) throw startFailure ?? new Error('MariaDB was not started');
  return server;
}

const databaseOf = new WeakMap<SqlStateStore, string>();
let databases = 0;

/** A new, empty database on the server. */
async function newDatabase(): Promise<string> {
  const name = `store_${process.pid}_${++databases}`;
  await mariadb().exec(`create database \`${name}\``);
  return name;
}

/** A store on `database` (unopened), connecting as the test user over TCP, as a deployment would. */
function storeOn(database: string, options: Partial<MysqlStoreOptions> = {}): SqlStateStore {
  const store = createMysqlStore({ url: mariadb().url, database, poolSize: 2, ...options });
  databaseOf.set(store, database);
  return store;
}

async function dropDatabaseOf(store: SqlStateStore): Promise<void> {
  const database = databaseOf.get(store);
  if (database !== undefined) await mariadb().exec(`drop database if exists \`${database}\``);
}

stateStoreContract('MariaDB', async () => storeOn(await newDatabase()), dropDatabaseOf, {
  reopen: async (closed) => storeOn(databaseOf.get(closed) as string),
  propertyRuns: 25,
});

// ---- fixtures ------------------------------------------------------------------------------------

/** A bare series row: only what these tests look at is set. */
function seriesRow(sku: string, warehouse: string, onHand: number): SeriesRow {
  return {
    sku,
    warehouse,
    onHand,
    reserved: 0,
    inbound: 0,
    lastCountQuantity: null,
    lastCountAt: null,
    salesVelocity: 0,
    lastEventAt: T0,
    model: '{}',
  };
}

/** A worker's batch: everything it writes is tagged with `worker`, so its traces can be looked for. */
function workerBatch(
  worker: string,
  checkpoint: string,
  expected: ExtendedSequenceNumber | null,
): BatchCommit {
  return batch({
    checkpoint: at(checkpoint),
    expectedCheckpoint: expected,
    // The same series in both workers (they both think they own the shard), plus one of their own.
    series: [
      ...Array.from({ length: 50 }, (_, i) => seriesRow(`SKU-${i}`, 'WH-1', Number(checkpoint))),
      seriesRow(`SKU-${worker}`, 'WH-1', 1),
    ],
    values: [{ key: 'router/shard-0', value: worker }],
    appliedEvents: Array.from({ length: 200 }, (_, i) => ({
      eventId: `${worker}-evt-${i}`,
      occurredAt: T0 + i,
      sku: `SKU-${i % 50}`,
      warehouse: 'WH-1',
    })),
    deadLetters: [
      {
        shardId: 'shard-0',
        sequenceNumber: `${checkpoint}0`,
        subSequenceNumber: 0,
        partitionKey: worker,
        arrivalTimestamp: T0,
        code: 'invalid_json',
        reason: worker,
        data: new Uint8Array([1]),
      },
    ],
    anomalies: [],
  });
}

/**
 * A Kysely plugin that holds every commit's `SELECT … FOR UPDATE` of the checkpoint until `parties`
 * commits have run theirs (or `maxWaitMs` passed): the interleaving in which two workers both read
 * the checkpoint before either writes, which a plain race only hits now and then.
 */
function rendezvous(parties: number, maxWaitMs: number): KyselyPlugin {
  const locking = new WeakSet<QueryId>();
  let arrived = 0;
  let releaseAll: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    releaseAll = resolve;
  });
  return {
    transformQuery({ node, queryId }) {
      if (SelectQueryNode.is(node) && node.endModifiers?.some((m) => m.modifier === 'ForUpdate')) {
        locking.add(queryId);
      }
      return node;
    },
    async transformResult({ queryId, result }) {
      if (locking.has(queryId)) {
        if (++arrived >= parties) releaseAll();
        await Promise.race([all, new Promise((resolve) => setTimeout(resolve, maxWaitMs))]);
      }
      return result;
    },
  };
}

/** Two workers, each its own store (pool) on one database, commit at once; returns both outcomes. */
async function race(
  database: string,
  expected: ExtendedSequenceNumber | null,
  options: Partial<MysqlStoreOptions> = {},
): Promise<{ outcomes: PromiseSettledResult<void>[]; batches: BatchCommit[]; stores: SqlStateStore[] }> {
  const plugin = rendezvous(2, 300);
  const stores = [
    storeOn(database, { ...options, plugins: [plugin] }),
    storeOn(database, { ...options, plugins: [plugin] }),
  ];
  for (const store of stores) await store.open();
  const batches = [workerBatch('A', '20', expected), workerBatch('B', '30', expected)];
  const outcomes = await Promise.allSettled(batches.map((b, i) => (stores[i] as SqlStateStore).commit(b)));
  return { outcomes, batches, stores };
}

/** Exactly one commit won; the other was refused as stale and left no trace. */
async function expectOneWinner(
  store: SqlStateStore,
  outcomes: PromiseSettledResult<void>[],
  batches: BatchCommit[],
  expected: ExtendedSequenceNumber | null,
): Promise<void> {
  const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
  expect(
    winners,
    JSON.stringify(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))),
  ).toHaveLength(1);
  const w = winners[0] as number;
  const winner = batches[w] as BatchCommit;
  const loser = outcomes[1 - w] as PromiseRejectedResult;
  expect(loser.reason).toBeInstanceOf(StaleCheckpointError);
  expect(loser.reason).toMatchObject({ shardId: 'shard-0', expected, actual: winner.checkpoint });

  expect(await store.loadCheckpoint('shard-0')).toEqual(winner.checkpoint);
  const state = await store.load();
  expect(state.values).toEqual([{ key: 'router/shard-0', value: winner.values[0]?.value }]);
  const tag = winner.values[0]?.value as string;
  expect(state.series.map((s) => s.sku)).toContain(`SKU-${tag}`);
  expect(state.series.map((s) => s.sku)).not.toContain(`SKU-${tag === 'A' ? 'B' : 'A'}`);
  expect(state.series.find((s) => s.sku === 'SKU-0')?.onHand).toBe(Number(winner.checkpoint.sequenceNumber));
  expect(state.recentEvents.every((e) => e.eventId.startsWith(`${tag}-`))).toBe(true);
  expect((await store.listDeadLetters()).map((d) => d.reason)).toEqual([tag]);
}

// ---- MariaDB specifics ---------------------------------------------------------------------------

describe('MySQL store on MariaDB', () => {
  const opened: SqlStateStore[] = [];
  async function fresh(options: Partial<MysqlStoreOptions> = {}): Promise<SqlStateStore> {
    const store = storeOn(await newDatabase(), options);
    opened.push(store);
    await store.open();
    return store;
  }
  afterAll(async () => {
    for (const store of opened) {
      await store.close();
      await dropDatabaseOf(store);
    }
  });

  it('creates its tables in utf8mb4 with a binary NO PAD collation, whatever the server default', async () => {
    const store = await fresh();
    const rows = await queryRows(
      `select table_name as t, column_name as c, collation_name as k from information_schema.columns
       where table_schema = '${databaseOf.get(store)}' and collation_name is not null
       and table_name not like 'kysely%'`,
    );
    expect(rows.length).toBeGreaterThan(20);
    expect(new Set(rows.map((r) => r.k))).toEqual(new Set(['utf8mb4_nopad_bin']));
    // The server's own default is latin1: the store must not depend on it.
    expect((await queryRows('select @@character_set_server as cs'))[0]?.cs).toBe('latin1');
  });

  it('keeps keys apart that differ only in case, accents or a trailing space, and utf8mb4 text whole', async () => {
    const store = await fresh();
    const skus = ['SKU-a', 'SKU-A', 'SKU-á', 'SKU-a ', '货品-😀', '😀'.repeat(191)];
    await store.commit(
      batch({
        series: skus.map((sku, i) => ({ ...seriesRow(sku, 'WH-1', i), model: `{"name":"${sku}","x":"𝄞"}` })),
        values: [
          { key: 'catalog', value: 'lower' },
          { key: 'Catalog', value: 'upper' },
          { key: 'catalog ', value: 'space' },
        ],
        appliedEvents: [
          { eventId: 'evt-a', occurredAt: T0, sku: 'SKU-a', warehouse: 'WH-1' },
          { eventId: 'evt-A', occurredAt: T0 + 1, sku: 'SKU-A', warehouse: 'WH-1' },
          { eventId: 'evt-a ', occurredAt: T0 + 2, sku: 'SKU-a ', warehouse: 'WH-1' },
        ],
        anomalies: [],
      }),
    );
    const state = await store.load();
    expect(state.series.map((s) => [s.sku, s.onHand]).sort()).toEqual(skus.map((sku, i) => [sku, i]).sort());
    expect(state.series.find((s) => s.sku === '货品-😀')?.model).toBe('{"name":"货品-😀","x":"𝄞"}');
    expect(state.values).toHaveLength(3);
    expect(state.recentEvents.map((e) => e.eventId).sort()).toEqual(['evt-A', 'evt-a', 'evt-a ']);
    expect((await store.getSeries('SKU-A', 'WH-1'))?.onHand).toBe(1);
    expect((await store.getSeries('SKU-a ', 'WH-1'))?.onHand).toBe(3);
    expect((await store.getSeries('sku-a', 'WH-1'))?.onHand).toBeUndefined();
    const some = await store.loadSeries([
      { sku: 'SKU-A', warehouse: 'WH-1' },
      { sku: 'SKU-a ', warehouse: 'WH-1' },
    ]);
    expect(some.series.map((s) => s.sku).sort()).toEqual(['SKU-A', 'SKU-a ']);
    expect(some.recentEvents.map((e) => e.eventId).sort()).toEqual(['evt-A', 'evt-a ']);
    expect(await store.loadValues(['Catalog', 'catalog '])).toEqual(
      expect.arrayContaining([
        { key: 'Catalog', value: 'upper' },
        { key: 'catalog ', value: 'space' },
      ]),
    );
  });

  it('returns numbers exactly: random doubles, epoch-ms times up to 2^53 − 1, and counts as numbers', async () => {
    const store = await fresh();
    // A fixed pseudo-random sequence over many magnitudes (mysql2's own text parser gets some wrong).
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const doubles = Array.from(
      { length: 2_000 },
      () => (random() - 0.5) * 10 ** Math.floor(random() * 20 - 5) + random() * 1e-6,
    );
    const series = doubles.map((d, i) => ({
      ...seriesRow(`SKU-${i}`, 'WH-1', d),
      reserved: -d,
      salesVelocity: d / 3,
      lastEventAt: Number.MAX_SAFE_INTEGER - i,
      lastCountAt: T0 + i,
    }));
    await store.commit(batch({ series }));
    const byKey = new Map((await store.load()).series.map((s) => [s.sku, s]));
    for (const expected of series) expect(byKey.get(expected.sku)).toEqual(expected);
    expect(typeof (await store.countDeadLetters())).toBe('number');
  });

  it('stores 1 MiB dead letters byte for byte, several per batch (split under max_allowed_packet)', async () => {
    const store = await fresh();
    const letters = Array.from({ length: 6 }, (_, i) => ({
      shardId: 'shard-0',
      sequenceNumber: String(100 + i),
      subSequenceNumber: 0,
      partitionKey: 'SKU-1',
      arrivalTimestamp: T0,
      code: 'invalid_utf8',
      reason: 'not UTF-8',
      // Every byte value, in random order: 1 MiB, the largest Kinesis record.
      data: new Uint8Array(randomBytes(1024 * 1024)),
    }));
    await store.commit(batch({ deadLetters: letters }));
    const stored = await store.listDeadLetters();
    expect(stored).toHaveLength(6);
    for (const [i, letter] of letters.entries()) {
      const got = stored[i];
      expect(got?.data).toBeInstanceOf(Uint8Array);
      expect(got?.data.byteLength).toBe(1024 * 1024);
      expect(Buffer.from(got?.data ?? []).equals(Buffer.from(letter.data))).toBe(true);
    }
  });

  it('is built from the run configuration (SHELFWATCH_STORE__*, the password on its own)', async () => {
    const db = mariadb();
    const database = await newDatabase();
    const env = {
      SHELFWATCH_STORE__TYPE: 'mysql',
      SHELFWATCH_STORE__URL: `mysql://${db.user}@127.0.0.1:${db.port}/${database}`,
      SHELFWATCH_STORE__PASSWORD: db.password,
      SHELFWATCH_STORE__POOL_SIZE: '2',
    };
    const config = loadRunConfig({ env });
    expect(describeStore(config.store)).toBe(`MySQL shelfwatch@127.0.0.1:${db.port}/${database}`);
    const store = createStoreFromConfig(config.store);
    try {
      await store.open();
      await store.commit(batch({ checkpoint: at('7'), values: [{ key: 'k', value: 'v' }] }));
      expect(await store.loadCheckpoint('shard-0')).toEqual(at('7'));
    } finally {
      await store.close();
    }

    // A wrong password: open() fails saying where it connected and why, without the password.
    const wrong = createStoreFromConfig(
      loadRunConfig({ env: { ...env, SHELFWATCH_STORE__PASSWORD: 'not-the-password' } }).store,
    );
    const failure = await wrong.open().then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    await wrong.close();
    expect(failure?.message).toMatch(
      new RegExp(`^MySQL shelfwatch@127\\.0\\.0\\.1:${db.port}/${database}: cannot connect: Access denied`),
    );
    expect(failure?.code).toBe('ER_ACCESS_DENIED_ERROR');
    expect(failure?.message).not.toContain('not-the-password');
    await mariadb().exec(`drop database \`${database}\``);
  });

  describe('fencing: two workers commit on the same expected checkpoint, exactly one wins', () => {
    it('with no checkpoint stored yet (both lock the gap, InnoDB picks a deadlock victim, the store retries it)', async () => {
      const database = await newDatabase();
      const { outcomes, batches, stores } = await race(database, null);
      try {
        await expectOneWinner(stores[0] as SqlStateStore, outcomes, batches, null);
      } finally {
        for (const store of stores) await store.close();
      }
    });

    it('with a checkpoint stored (the second waits for the row lock, then sees the winner’s checkpoint)', async () => {
      const database = await newDatabase();
      const setup = storeOn(database);
      await setup.open();
      await setup.commit(batch({ checkpoint: at('10') }));
      await setup.close();
      const { outcomes, batches, stores } = await race(database, at('10'));
      try {
        await expectOneWinner(stores[0] as SqlStateStore, outcomes, batches, at('10'));
      } finally {
        for (const store of stores) await store.close();
      }
    });

    it('without conflict retries, the loser of the gap race gets the deadlock itself (why the store retries)', async () => {
      const database = await newDatabase();
      const { outcomes, stores } = await race(database, null, { conflictRetries: 0 });
      try {
        const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(rejected).toHaveLength(1);
        expect(rejected[0]?.reason).toMatchObject({ code: 'ER_LOCK_DEADLOCK', errno: 1213 });
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      } finally {
        for (const store of stores) await store.close();
      }
    });

    it('with innodb_snapshot_isolation on (MariaDB 11.6+ default), in both interleavings', async () => {
      await mariadb().exec('set global innodb_snapshot_isolation = on');
      try {
        const empty = await newDatabase();
        const first = await race(empty, null);
        try {
          await expectOneWinner(first.stores[0] as SqlStateStore, first.outcomes, first.batches, null);
        } finally {
          for (const store of first.stores) await store.close();
        }
        const stored = await newDatabase();
        const setup = storeOn(stored);
        await setup.open();
        await setup.commit(batch({ checkpoint: at('10') }));
        await setup.close();
        const second = await race(stored, at('10'));
        try {
          await expectOneWinner(second.stores[0] as SqlStateStore, second.outcomes, second.batches, at('10'));
        } finally {
          for (const store of second.stores) await store.close();
        }
      } finally {
        await mariadb().exec('set global innodb_snapshot_isolation = off');
      }
    });

    it('four workers, twenty rounds of free-running races: one winner per round', async () => {
      const database = await newDatabase();
      const stores = Array.from({ length: 4 }, () => storeOn(database));
      try {
        for (const store of stores) await store.open();
        let expected: ExtendedSequenceNumber | null = null;
        for (let round = 1; round <= 20; round++) {
          const outcomes = await Promise.allSettled(
            stores.map((store, w) => store.commit(workerBatch(`W${w}`, String(round * 10 + w), expected))),
          );
          const won = outcomes.flatMap((o, w) => (o.status === 'fulfilled' ? [w] : []));
          expect(won).toHaveLength(1);
          for (const o of outcomes) {
            if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(StaleCheckpointError);
          }
          expected = at(String(round * 10 + (won[0] as number)));
          expect(await stores[0]?.loadCheckpoint('shard-0')).toEqual(expected);
        }
      } finally {
        for (const store of stores) await store.close();
      }
    });
  });

  describe('the server going away', () => {
    const options = { connectTimeoutMs: 1_500, queryTimeoutMs: 2_000 };

    it('stopped: a commit fails at once with an error naming the server; after a restart the retry commits', async () => {
      const db = mariadb();
      const store = await fresh(options);
      await store.commit(
        batch({
          checkpoint: at('1'),
          series: [seriesRow('SKU-1', 'WH-1', 1)],
          values: [{ key: 'v', value: '1' }],
        }),
      );
      await db.stop();
      const second = batch({
        checkpoint: at('2'),
        expectedCheckpoint: at('1'),
        series: [seriesRow('SKU-1', 'WH-1', 2), seriesRow('SKU-2', 'WH-1', 2)],
        values: [{ key: 'v', value: '2' }],
        appliedEvents: [{ eventId: 'e2', occurredAt: T0, sku: 'SKU-1', warehouse: 'WH-1' }],
      });
      try {
        const started = Date.now();
        const failure = await store.commit(second).then(
          () => null,
          (e: unknown) => e as Error & { code?: string },
        );
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(failure).toBeInstanceOf(Error);
        expect(failure?.message).toMatch(
          /^MySQL shelfwatch@127\.0\.0\.1:\d+\/store_\d+_\d+: (cannot connect|connection lost)/,
        );
        expect(failure?.message).not.toContain(db.password);
        // Reads fail the same way, and the store stays usable.
        await expect(store.loadCheckpoint('shard-0')).rejects.toThrow(/^MySQL shelfwatch@/);
      } finally {
        await db.restart();
      }
      // What the engine does: retry the same batch until it goes through.
      await retry(() => store.commit(second));
      expect(await store.loadCheckpoint('shard-0')).toEqual(at('2'));
      const state = await store.load();
      expect(state.series.map((s) => [s.sku, s.onHand])).toEqual([
        ['SKU-1', 2],
        ['SKU-2', 2],
      ]);
      expect(state.values).toEqual([{ key: 'v', value: '2' }]);
      expect(state.recentEvents.map((e) => e.eventId)).toEqual(['e2']);
    });

    it('killed in the middle of commits (SIGKILL): after crash recovery each commit is all there or not at all', async () => {
      const db = mariadb();
      const store = await fresh(options);
      // Big enough batches (~100 ms each) that the kill lands inside one.
      const big = (i: number, expected: ExtendedSequenceNumber | null): BatchCommit =>
        batch({
          checkpoint: at(String(i)),
          expectedCheckpoint: expected,
          series: Array.from({ length: 300 }, (_, s) => seriesRow(`SKU-${s}`, 'WH-1', i)),
          values: [{ key: 'batch', value: String(i) }],
          appliedEvents: Array.from({ length: 3_000 }, (_, e) => ({
            eventId: `b${i}-e${e}`,
            occurredAt: T0 + i,
            sku: `SKU-${e % 300}`,
            warehouse: 'WH-1',
          })),
        });
      await store.commit(big(1, null));
      let acknowledged = 1;
      // The failure handler is attached at once: the commit may fail while crash() is still waiting
      // for the server to exit, and a rejection nobody handles yet is reported as unhandled.
      const writer = (async () => {
        for (let i = 2; ; i++) {
          await store.commit(big(i, at(String(i - 1))));
          acknowledged = i;
        }
      })().then(
        () => null,
        (e: unknown) => e as Error,
      );
      await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 100));
      await db.crash();
      const failure = await writer;
      expect(failure?.message).toMatch(
        /^MySQL shelfwatch@127\.0\.0\.1:\d+\/store_\d+_\d+: (connection lost|cannot connect)/,
      );
      await db.restart();

      // The stored checkpoint is the last acknowledged commit, or the one in flight if its COMMIT had
      // reached the server; either way series, values and events agree with it exactly.
      const stored = Number((await store.loadCheckpoint('shard-0'))?.sequenceNumber);
      expect([acknowledged, acknowledged + 1]).toContain(stored);
      const state = await store.load();
      expect(new Set(state.series.map((s) => s.onHand))).toEqual(new Set([stored]));
      expect(state.values).toEqual([{ key: 'batch', value: String(stored) }]);
      expect(state.recentEvents).toHaveLength(3_000 * stored);
      // The engine's retry of the batch in flight: committed once, or refused as already past it.
      const next = stored + 1;
      await retry(() => store.commit(big(next, at(String(stored)))));
      expect(await store.loadCheckpoint('shard-0')).toEqual(at(String(next)));
    });

    it('frozen (SIGSTOP, as behind a network partition): a commit fails within the timeouts, then recovers', async () => {
      const db = mariadb();
      const store = await fresh(options);
      await store.commit(batch({ checkpoint: at('1'), series: [seriesRow('SKU-1', 'WH-1', 1)] }));
      const next = batch({
        checkpoint: at('2'),
        expectedCheckpoint: at('1'),
        series: [seriesRow('SKU-1', 'WH-1', 2)],
      });
      db.pause();
      try {
        const started = Date.now();
        const failure = await store.commit(next).then(
          () => null,
          (e: unknown) => e as Error,
        );
        const elapsed = Date.now() - started;
        expect(failure?.message).toMatch(
          /^MySQL shelfwatch@127\.0\.0\.1:\d+\/store_\d+_\d+: no answer within 2000 ms/,
        );
        expect(elapsed).toBeGreaterThanOrEqual(1_900);
        expect(elapsed).toBeLessThan(2_000 + 1_500 + 1_000);
      } finally {
        db.resume();
      }
      await retry(() => store.commit(next));
      expect(await store.loadCheckpoint('shard-0')).toEqual(at('2'));
      expect((await store.getSeries('SKU-1', 'WH-1'))?.onHand).toBe(2);
    });
  });
});

/** Runs `task` until it succeeds, as the engine does with a failed commit (here: 20 tries, 100 ms apart). */
async function retry(task: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await task();
      return;
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Rows of an administrative query, as root over the socket. */
async function queryRows(sql: string): Promise<Array<Record<string, unknown>>> {
  const { createConnection } = await import('mysql2/promise');
  const connection = await createConnection({
    host: '127.0.0.1',
    port: mariadb().port,
    user: mariadb().user,
    password: mariadb().password,
  });
  try {
    const [rows] = await connection.query(sql);
    return rows as Array<Record<string, unknown>>;
  } finally {
    await connection.end();
  }
}
