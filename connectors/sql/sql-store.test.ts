/**
 * SqlStateStore beyond the shared contract: chunking under the parameter limit, failures injected at
 * the driver, repeated keys within a batch, the read helpers, and the SQL the MySQL dialect would run
 * (compiled against a recording driver, so that this runs without a server).
 */
import SQLite from 'better-sqlite3';
import fc from 'fast-check';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  type QueryResult,
  type SqliteDatabase,
  SqliteDialect,
} from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { Anomaly, BatchCommit, DeadLetter, SeriesRow } from '../../pipeline/ports.js';
import type { Database } from './schema.js';
import { planChunks, SqlStateStore } from './sql-store.js';
import { cachingSqliteDatabase } from './sqlite.js';
import { rollbackErrorOf } from './store-error.js';

interface Executed {
  sql: string;
  parameters: number;
}

/** An in-memory SQLite store whose driver records every statement and can be told to fail. */
function instrumentedStore(options: { maxParameters?: number; maxStatementBytes?: number } = {}) {
  const executed: Executed[] = [];
  const control: { failWhen: ((sql: string) => boolean) | null } = { failWhen: null };
  const prepared: string[] = [];
  const raw = new SQLite(':memory:');
  const inner = cachingSqliteDatabase({
    close: () => raw.close(),
    prepare(sqlText) {
      prepared.push(sqlText);
      return raw.prepare(sqlText);
    },
  });
  const database: SqliteDatabase = {
    close: () => inner.close(),
    prepare(sqlText) {
      if (control.failWhen?.(sqlText)) throw new Error(`injected failure: ${sqlText.slice(0, 40)}`);
      const statement = inner.prepare(sqlText);
      return {
        reader: statement.reader,
        all(parameters) {
          executed.push({ sql: sqlText, parameters: parameters.length });
          return statement.all(parameters);
        },
        run(parameters) {
          executed.push({ sql: sqlText, parameters: parameters.length });
          return statement.run(parameters);
        },
        iterate: (parameters) => statement.iterate(parameters),
      };
    },
  };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  const store = new SqlStateStore(db, { dialect: 'sqlite', ...options });
  return { store, executed, prepared, control, raw };
}

const stores: SqlStateStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});
async function open<T extends { store: SqlStateStore }>(made: T): Promise<T> {
  stores.push(made.store);
  await made.store.open();
  return made;
}

function series(i: number, overrides: Partial<SeriesRow> = {}): SeriesRow {
  return {
    sku: `SKU-${i}`,
    warehouse: `WH-${i % 3}`,
    onHand: i,
    reserved: 0,
    inbound: 0,
    lastCountQuantity: null,
    lastCountAt: null,
    salesVelocity: i / 10,
    lastEventAt: 1_000 + i,
    model: `{"i":${i}}`,
    ...overrides,
  };
}

function deadLetter(sequenceNumber: string, overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    shardId: 'shard-0',
    sequenceNumber,
    subSequenceNumber: 0,
    partitionKey: 'pk',
    arrivalTimestamp: 1,
    code: 'invalid_json',
    reason: 'bad',
    data: new Uint8Array([1, 2, 3]),
    ...overrides,
  };
}

function anomaly(id: string, overrides: Partial<Anomaly> = {}): Anomaly {
  return {
    id,
    type: 'sales_spike',
    severity: 'info',
    score: 0.5,
    sku: 'SKU-1',
    warehouse: 'WH-1',
    detectedAt: 10,
    eventIds: ['e1'],
    detector: 'robust-zscore:sales-rate',
    explanation: { summary: 's', features: [] },
    ...overrides,
  };
}

function batch(overrides: Partial<BatchCommit> = {}): BatchCommit {
  return {
    shardId: 'shard-0',
    checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 },
    series: [],
    values: [],
    appliedEvents: [],
    deadLetters: [],
    anomalies: [],
    ...overrides,
  };
}

describe('planChunks', () => {
  it('cuts at maxRows, then splits the rest into powers of two', () => {
    expect(planChunks(new Array(1000).fill(10), 400, 1e9)).toEqual([
      [0, 400],
      [400, 400],
      [800, 128],
      [928, 64],
      [992, 8],
    ]);
    expect(planChunks([], 400, 1e9)).toEqual([]);
  });

  it('cuts at the byte budget, and lets a row larger than the budget go alone', () => {
    expect(planChunks([5, 5, 5, 50, 5], 10, 12)).toEqual([
      [0, 2],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
  });

  it('property: covers every row once, in order, within both limits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 500 }),
        (bytes, maxRows, maxBytes) => {
          const chunks = planChunks(bytes, maxRows, maxBytes);
          let next = 0;
          for (const [start, count] of chunks) {
            expect(start).toBe(next);
            expect(count).toBeGreaterThan(0);
            expect(count).toBeLessThanOrEqual(maxRows);
            expect(count === maxRows || Number.isInteger(Math.log2(count))).toBe(true);
            const size = bytes.slice(start, start + count).reduce((a, b) => a + b, 0);
            if (count > 1) expect(size).toBeLessThanOrEqual(maxBytes);
            next = start + count;
          }
          expect(next).toBe(bytes.length);
        },
      ),
    );
  });
});

describe('SqlStateStore on SQLite', () => {
  it('rejects a maxParameters below one series row', () => {
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
    expect(() => new SqlStateStore(db, { dialect: 'sqlite', maxParameters: 10 })).toThrow(RangeError);
    return db.destroy();
  });

  it('refuses to work before open() and after close()', async () => {
    const { store } = instrumentedStore();
    await expect(store.load()).rejects.toThrow('call open() first');
    await store.open();
    await store.close();
    await store.close(); // idempotent
    await expect(store.commit(batch())).rejects.toThrow('closed');
    await expect(store.open()).rejects.toThrow('after close()');
  });

  it('chunks multi-row inserts under maxParameters and still writes every row', async () => {
    const { store, executed } = await open(instrumentedStore({ maxParameters: 25 }));
    const rows = Array.from({ length: 37 }, (_, i) => series(i));
    const events = Array.from({ length: 1_001 }, (_, i) => ({
      eventId: `e${i}`,
      occurredAt: i,
      sku: 'SKU-1',
      warehouse: 'WH-1',
    }));
    const letters = Array.from({ length: 9 }, (_, i) => deadLetter(String(i)));
    executed.length = 0;
    await store.commit(batch({ series: rows, appliedEvents: events, deadLetters: letters }));

    const inserts = executed.filter((e) => e.sql.startsWith('insert'));
    expect(Math.max(...inserts.map((e) => e.parameters))).toBeLessThanOrEqual(25);
    // Series: 2 rows (22 parameters) per statement; events: 12 rows (24) per statement.
    expect(inserts.filter((e) => e.sql.startsWith('insert into "series"'))).toHaveLength(19);
    const state = await store.load();
    expect(state.series).toHaveLength(37);
    expect(state.recentEvents).toHaveLength(1_001);
    expect(await store.countDeadLetters()).toBe(9);
    expect(await store.getSeries('SKU-36', 'WH-0')).toEqual(series(36));
  });

  it('cuts statements by payload size too (1 MiB records stay in separate statements)', async () => {
    const { store, executed } = await open(instrumentedStore({ maxStatementBytes: 3 * 1024 * 1024 }));
    const big = new Uint8Array(1024 * 1024).fill(7);
    executed.length = 0;
    await store.commit(batch({ deadLetters: [0, 1, 2, 3].map((i) => deadLetter(String(i), { data: big })) }));
    // 2 MiB estimated per record (hex), budget 3 MiB: one record per statement.
    expect(executed.filter((e) => e.sql.startsWith('insert into "dead_letters"'))).toHaveLength(4);
    const stored = await store.listDeadLetters();
    expect(stored.map((d) => d.data.byteLength)).toEqual([big.length, big.length, big.length, big.length]);
    expect(stored[3]?.data.every((b) => b === 7)).toBe(true);
  });

  it('reuses the compiled SQL: a second commit of the same shape prepares nothing new', async () => {
    const { store, prepared } = await open(instrumentedStore());
    const shape = (n: number) =>
      batch({
        checkpoint: { sequenceNumber: String(n), subSequenceNumber: 0 },
        series: Array.from({ length: 600 }, (_, i) => series(i, { onHand: n })),
        appliedEvents: Array.from({ length: 5_000 }, (_, i) => ({
          eventId: `e${n}-${i}`,
          occurredAt: i,
          sku: `SKU-${i % 7}`,
          warehouse: 'WH-1',
        })),
      });
    await store.commit(shape(1));
    const before = prepared.length;
    await store.commit(shape(2));
    expect(prepared.length).toBe(before);
    expect((await store.getSeries('SKU-5', 'WH-2'))?.onHand).toBe(2);
  });

  for (const [where, failWhen] of [
    ['the checkpoint upsert, the last statement', (s: string) => s.startsWith('insert into "checkpoints"')],
    ['the pruning delete', (s: string) => s.startsWith('delete from "applied_events"')],
    ['COMMIT itself', (s: string) => s === 'commit'],
  ] as const) {
    it(`rolls back everything when ${where} fails`, async () => {
      const { store, control } = await open(instrumentedStore());
      await store.commit(
        batch({
          series: [series(1)],
          values: [{ key: 'k', value: 'v1' }],
          appliedEvents: [{ eventId: 'a', occurredAt: 1, sku: 'SKU-1', warehouse: 'WH-1' }],
        }),
      );
      const state = await store.load();
      control.failWhen = failWhen;
      await expect(
        store.commit(
          batch({
            checkpoint: { sequenceNumber: '2', subSequenceNumber: 0 },
            series: [series(1, { onHand: 99 }), series(2)],
            values: [{ key: 'k', value: 'v2' }],
            appliedEvents: [{ eventId: 'b', occurredAt: 5, sku: 'SKU-1', warehouse: 'WH-1' }],
            forgetEventsBefore: 3,
            deadLetters: [deadLetter('5')],
            anomalies: [anomaly('x')],
          }),
        ),
      ).rejects.toThrow('injected failure');
      control.failWhen = null;
      expect(await store.load()).toEqual(state);
      expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '1', subSequenceNumber: 0 });
      expect(await store.countDeadLetters()).toBe(0);
      expect(await store.listAnomalies()).toEqual([]);
    });
  }

  it('reports the statement that failed, not the ROLLBACK that failed after it', async () => {
    const { store, control, raw } = await open(instrumentedStore());
    await store.commit(batch({ series: [series(1)] }));
    control.failWhen = (sqlText) => {
      if (!sqlText.startsWith('insert into "series"')) return false;
      // What SQLite does itself on SQLITE_FULL or an I/O error: the transaction is gone, so the
      // ROLLBACK that follows fails with "cannot rollback - no transaction is active".
      raw.exec('ROLLBACK');
      return true;
    };
    const error = await store
      .commit(batch({ checkpoint: { sequenceNumber: '2', subSequenceNumber: 0 }, series: [series(2)] }))
      .catch((e: unknown) => e);
    control.failWhen = null;
    expect(String(error)).toMatch(/^Error: injected failure: insert into "series"/);
    expect(String(rollbackErrorOf(error))).toContain('cannot rollback - no transaction is active');
    // The connection is free again and the store usable.
    await store.commit(batch({ checkpoint: { sequenceNumber: '3', subSequenceNumber: 0 } }));
    expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '3', subSequenceNumber: 0 });
  });

  it('applies a batch in order: a repeated upsert key keeps the last, a repeated insert key the first', async () => {
    const { store } = await open(instrumentedStore({ maxParameters: 22 }));
    await store.commit(
      batch({
        series: [series(1, { onHand: 1 }), series(2), series(1, { onHand: 3 })],
        values: [
          { key: 'k', value: 'first' },
          { key: 'k', value: 'last' },
        ],
        appliedEvents: [
          { eventId: 'e', occurredAt: 1, sku: 'SKU-1', warehouse: 'WH-1' },
          { eventId: 'e', occurredAt: 2, sku: 'SKU-1', warehouse: 'WH-1' },
        ],
        deadLetters: [deadLetter('1', { reason: 'first' }), deadLetter('1', { reason: 'second' })],
        anomalies: [anomaly('a', { score: 0.1 }), anomaly('a', { score: 0.9 })],
      }),
    );
    const state = await store.load();
    expect(state.series.map((s) => [s.sku, s.onHand])).toEqual([
      ['SKU-1', 3],
      ['SKU-2', 2],
    ]);
    expect(state.values).toEqual([{ key: 'k', value: 'last' }]);
    expect(state.recentEvents).toEqual([{ eventId: 'e', occurredAt: 1, sku: 'SKU-1', warehouse: 'WH-1' }]);
    expect((await store.listDeadLetters()).map((d) => d.reason)).toEqual(['first']);
    expect((await store.listAnomalies()).map((a) => a.score)).toEqual([0.1]);
  });

  it('lists dead letters in numeric sequence order and anomalies by detection time, with limits', async () => {
    const { store } = await open(instrumentedStore());
    await store.commit(
      batch({
        deadLetters: [
          deadLetter('100'),
          deadLetter('9'),
          deadLetter('10', { subSequenceNumber: 2 }),
          deadLetter('10'),
        ],
        anomalies: [
          anomaly('b', { detectedAt: 5 }),
          anomaly('a', { detectedAt: 5 }),
          anomaly('c', { detectedAt: 1 }),
        ],
      }),
    );
    const letters = await store.listDeadLetters();
    expect(letters.map((d) => `${d.sequenceNumber}/${d.subSequenceNumber}`)).toEqual([
      '9/0',
      '10/0',
      '10/2',
      '100/0',
    ]);
    expect(letters[0]?.data).toEqual(new Uint8Array([1, 2, 3]));
    expect(letters[0]?.data.constructor).toBe(Uint8Array);
    expect((await store.listDeadLetters({ limit: 1, order: 'desc' })).map((d) => d.sequenceNumber)).toEqual([
      '100',
    ]);
    expect((await store.listAnomalies()).map((a) => a.id)).toEqual(['c', 'a', 'b']);
    expect((await store.listAnomalies({ limit: 2, order: 'desc' })).map((a) => a.id)).toEqual(['b', 'a']);
    expect(await store.getSeries('nope', 'WH-1')).toBeNull();
  });

  it('stamps updated_at/created_at with the injected clock', async () => {
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
    const store = new SqlStateStore(db, { dialect: 'sqlite', now: () => 42 });
    stores.push(store);
    await store.open();
    await store.commit(
      batch({ series: [series(1)], deadLetters: [deadLetter('1')], anomalies: [anomaly('a')] }),
    );
    const stamps = await Promise.all([
      db.selectFrom('series').select('updated_at').executeTakeFirst(),
      db.selectFrom('checkpoints').select('updated_at').executeTakeFirst(),
      db.selectFrom('dead_letters').select('created_at').executeTakeFirst(),
      db.selectFrom('anomalies').select('created_at').executeTakeFirst(),
    ]);
    expect(stamps.map((s) => Object.values(s ?? {})[0])).toEqual([42, 42, 42, 42]);
  });
});

// ---- MySQL: the SQL the dialect produces, recorded without a server --------------------------------

/**
 * A driver that records every compiled query and answers with no rows, except the migration's lookup
 * of the key collation, answered as MariaDB would.
 */
class RecordingDriver implements Driver {
  readonly queries: CompiledQuery[] = [];
  readonly #connection: DatabaseConnection = {
    executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
      this.queries.push(query);
      if (query.sql.includes('information_schema.collations')) {
        return { rows: [{ name: 'utf8mb4_nopad_bin' } as R] };
      }
      return { rows: [] };
    },
    streamQuery: async function* <R>(): AsyncIterableIterator<QueryResult<R>> {},
  };
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return this.#connection;
  }
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

function mysqlRecorder(): { store: SqlStateStore; driver: RecordingDriver } {
  const driver = new RecordingDriver();
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new MysqlAdapter(),
      createDriver: () => driver,
      createIntrospector: (k) => new MysqlIntrospector(k),
      createQueryCompiler: () => new MysqlQueryCompiler(),
    },
  });
  return { store: new SqlStateStore(db, { dialect: 'mysql' }), driver };
}

describe('SqlStateStore SQL on the MySQL dialect', () => {
  it('migrates with MariaDB-compatible types and a binary NO PAD collation, and no SQLite-only DDL', async () => {
    const { store, driver } = await open(mysqlRecorder());
    const ddl = driver.queries.map((q) => q.sql).filter((s) => /^create (table|index) `(?!kysely)/.test(s));
    expect(ddl).toHaveLength(11);
    const series = ddl.find((s) => s.startsWith('create table `series`')) ?? '';
    expect(series).toContain('`sku` varchar(191) not null');
    expect(series).toContain('`on_hand` double precision not null');
    expect(series).toContain('`last_count_at` bigint,');
    expect(series).toContain('`model` longtext not null');
    expect(series).toContain('constraint `series_pk` primary key (`sku`, `warehouse`)');
    expect(ddl.find((s) => s.startsWith('create table `dead_letters`'))).toContain(
      '`data` longblob not null',
    );
    const parked = ddl.find((s) => s.startsWith('create table `undelivered_notifications`')) ?? '';
    expect(parked).toContain('`notification` longtext not null');
    expect(parked).toContain('primary key (`receiver`, `notification_id`)');
    expect(driver.queries.map((q) => q.sql)).toContain(
      "alter table `dead_letters` add column `disposition` varchar(191) default 'dead_letter' not null",
    );
    for (const s of ddl.filter((d) => d.startsWith('create table'))) {
      expect(s).toMatch(/engine = InnoDB default charset = utf8mb4 collate = utf8mb4_nopad_bin$/);
      expect(s).not.toContain('without rowid');
    }
    await store.close();
  });

  it('upserts with ON DUPLICATE KEY UPDATE col = VALUES(col), and ignores with a no-op assignment', async () => {
    const { store, driver } = await open(mysqlRecorder());
    driver.queries.length = 0;
    await store.commit(
      batch({
        series: [series(1)],
        values: [{ key: 'k', value: 'v' }],
        appliedEvents: [{ eventId: 'e', occurredAt: 1, sku: 'SKU-1', warehouse: 'WH-1' }],
        forgetEventsBefore: 0,
        deadLetters: [deadLetter('1')],
        anomalies: [anomaly('a')],
      }),
    );
    const sqls = driver.queries.map((q) => q.sql);
    expect(sqls[0]).toBe('begin');
    expect(sqls.at(-1)).toBe('commit');
    const insertInto = (table: string) => sqls.find((s) => s.startsWith(`insert into \`${table}\``)) ?? '';
    expect(insertInto('series')).toMatch(
      /on duplicate key update `on_hand` = values\(`on_hand`\), .* `updated_at` = values\(`updated_at`\)$/,
    );
    expect(insertInto('series')).not.toContain('`sku` = values');
    expect(insertInto('state_values')).toMatch(/on duplicate key update `value` = values\(`value`\)$/);
    expect(insertInto('applied_events')).toMatch(/on duplicate key update `event_id` = `event_id`$/);
    expect(insertInto('dead_letters')).toMatch(/on duplicate key update `shard_id` = `shard_id`$/);
    expect(insertInto('anomalies')).toMatch(/on duplicate key update `id` = `id`$/);
    expect(insertInto('checkpoints')).toMatch(/on duplicate key update `sequence_number` = values/);
    expect(sqls).toContain(
      'delete from `applied_events` where `occurred_at` < ? and (`sku`, `warehouse`) in ((?, ?))',
    );
    for (const s of sqls) expect(s).not.toMatch(/excluded|on conflict|insert or|insert ignore/i);
    // mysql2 escapes Buffers as bytes (a plain Uint8Array would be escaped as an object).
    const letters = driver.queries.find((q) => q.sql.startsWith('insert into `dead_letters`'));
    expect(letters?.parameters.filter((p) => Buffer.isBuffer(p))).toHaveLength(1);
    await store.close();
  });
});
