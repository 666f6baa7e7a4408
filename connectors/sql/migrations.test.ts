/** The store's migrations on SQLite: the schema they create, idempotence, failure reporting, down. */
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, NO_MIGRATIONS, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  migrateStoreToLatest,
  StoreMigrationError,
  StoreMigrationProvider,
  storeMigrations,
} from './migrations.js';
import type { Database } from './schema.js';

let raw: SQLite.Database;
let db: Kysely<Database>;
afterEach(async () => {
  await db.destroy();
});
function fresh(): void {
  raw = new SQLite(':memory:');
  db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
}

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  pk: number;
}

function columns(table: string): Record<string, string> {
  const rows = raw.prepare(`pragma table_info(${table})`).all() as ColumnInfo[];
  return Object.fromEntries(
    rows.map((c) => [
      c.name,
      `${c.type.toLowerCase()}${c.notnull ? ' not null' : ''}${c.pk ? ` pk${c.pk}` : ''}`,
    ]),
  );
}

describe('store migrations', () => {
  it('create every table with its keys, nullability and indexes', async () => {
    fresh();
    expect(await migrateStoreToLatest(db, 'sqlite')).toEqual([
      '0001_initial',
      '0002_applied_events_series',
      '0003_applied_events_series_time',
      '0004_dead_letter_disposition',
      '0005_undelivered_notifications',
    ]);
    expect(columns('series')).toEqual({
      sku: 'varchar(191) not null pk1',
      warehouse: 'varchar(191) not null pk2',
      on_hand: 'double precision not null',
      reserved: 'double precision not null',
      inbound: 'double precision not null',
      last_count_quantity: 'double precision',
      last_count_at: 'bigint',
      sales_velocity: 'double precision not null',
      last_event_at: 'bigint not null',
      model: 'text not null',
      updated_at: 'bigint not null',
    });
    expect(columns('state_values')).toEqual({ key: 'varchar(191) not null pk1', value: 'text not null' });
    expect(columns('applied_events')).toEqual({
      event_id: 'varchar(191) not null pk1',
      occurred_at: 'bigint not null',
      sku: 'varchar(191) not null',
      warehouse: 'varchar(191) not null',
    });
    expect(columns('checkpoints')).toEqual({
      shard_id: 'varchar(191) not null pk1',
      sequence_number: 'varchar(191) not null',
      sub_sequence_number: 'integer not null',
      updated_at: 'bigint not null',
    });
    expect(columns('dead_letters')).toMatchObject({
      shard_id: 'varchar(191) not null pk1',
      sequence_number: 'varchar(191) not null pk2',
      sub_sequence_number: 'integer not null pk3',
      data: 'blob not null',
      disposition: 'varchar(191) not null',
    });
    expect(columns('undelivered_notifications')).toEqual({
      receiver: 'varchar(191) not null pk1',
      notification_id: 'varchar(191) not null pk2',
      shard_id: 'varchar(191) not null',
      reason: 'text not null',
      notification: 'text not null',
      created_at: 'bigint not null',
    });
    expect(columns('anomalies')).toMatchObject({
      id: 'varchar(191) not null pk1',
      event_ids: 'text not null',
      explanation: 'text not null',
      score: 'double precision not null',
    });
    const indexes = raw
      .prepare("select name, tbl_name from sqlite_master where type = 'index' and name not like 'sqlite_%'")
      .all();
    expect(indexes).toEqual(
      expect.arrayContaining([
        { name: 'applied_events_occurred_at', tbl_name: 'applied_events' },
        { name: 'applied_events_series_time', tbl_name: 'applied_events' },
        { name: 'anomalies_detected_at', tbl_name: 'anomalies' },
      ]),
    );
    // The duplicate window is clustered on its key (no rowid b-tree to maintain).
    const ddl = raw
      .prepare("select sql from sqlite_master where name = 'applied_events'")
      .pluck()
      .get() as string;
    expect(ddl.toLowerCase()).toContain('without rowid');
  });

  it('are recorded in Kysely’s migration table and applied once', async () => {
    fresh();
    await migrateStoreToLatest(db, 'sqlite');
    expect(await migrateStoreToLatest(db, 'sqlite')).toEqual([]);
    const recorded = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    expect(recorded.rows.map((r) => r.name)).toEqual(Object.keys(storeMigrations('sqlite')));
  });

  it('report a failure as StoreMigrationError and roll the migration back (SQLite DDL is transactional)', async () => {
    fresh();
    raw.exec('create table anomalies (x integer)'); // the last table the migration creates
    const failure = await migrateStoreToLatest(db, 'sqlite').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreMigrationError);
    const error = failure as StoreMigrationError;
    expect(error.message).toContain('0001_initial');
    expect(error.results).toEqual([
      { migrationName: '0001_initial', direction: 'Up', status: 'Error' },
      { migrationName: '0002_applied_events_series', direction: 'Up', status: 'NotExecuted' },
      { migrationName: '0003_applied_events_series_time', direction: 'Up', status: 'NotExecuted' },
      { migrationName: '0004_dead_letter_disposition', direction: 'Up', status: 'NotExecuted' },
      { migrationName: '0005_undelivered_notifications', direction: 'Up', status: 'NotExecuted' },
    ]);
    const tables = raw
      .prepare("select name from sqlite_master where type = 'table' and name = 'series'")
      .all();
    expect(tables).toEqual([]);
  });

  it('0004 keeps the dead letters of an existing store, as dead letters (not quarantined)', async () => {
    fresh();
    const migrator = new Migrator({ db, provider: new StoreMigrationProvider('sqlite') });
    expect((await migrator.migrateTo('0003_applied_events_series_time')).error).toBeUndefined();
    raw
      .prepare(
        `insert into dead_letters (shard_id, sequence_number, sub_sequence_number, partition_key,
         arrival_timestamp, code, reason, data, created_at) values ('s', '1', 0, 'p', 1, 'schema', 'r', x'00', 1)`,
      )
      .run();
    expect(await migrateStoreToLatest(db, 'sqlite')).toEqual([
      '0004_dead_letter_disposition',
      '0005_undelivered_notifications',
    ]);
    expect(raw.prepare('select disposition from dead_letters').pluck().all()).toEqual(['dead_letter']);
    expect(raw.prepare('select count(*) from undelivered_notifications').pluck().get()).toBe(0);
  });

  it('go down cleanly', async () => {
    fresh();
    await migrateStoreToLatest(db, 'sqlite');
    const migrator = new Migrator({ db, provider: new StoreMigrationProvider('sqlite') });
    const { error } = await migrator.migrateTo(NO_MIGRATIONS);
    expect(String(error ?? '')).toBe('');
    const tables = raw
      .prepare("select name from sqlite_master where type = 'table' and name not like 'kysely%'")
      .pluck()
      .all();
    expect(tables).toEqual([]);
  });
});
