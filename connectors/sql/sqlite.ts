/**
 * The embedded default: the SQL state store on a SQLite file through better-sqlite3.
 *
 * Durability: the file runs in WAL mode with `synchronous = NORMAL`. A committed transaction is in the
 * WAL as soon as `commit()` resolves, so it survives the process crashing or being killed (SIGKILL,
 * OOM): that is the failure the stream job guards against, and what its crash test does. Only a power
 * loss or OS crash can lose the last transactions (never corrupt the file, never split one): the WAL
 * is synced at checkpoints rather than at every commit, which is what makes commits cheap.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement } from 'kysely';
import type { Database } from './schema.js';
import { SqlStateStore } from './sql-store.js';

/**
 * Options of {@link createSqliteStore}.
 *
 * @example
 * ```ts
 * const options: SqliteStoreOptions = { path: 'data/state.db', busyTimeoutMs: 10_000 };
 * ```
 */
export interface SqliteStoreOptions {
  /** The database file (its folder is created), or `':memory:'` for a private in-memory database. */
  path: string;
  /**
   * How long a statement waits for another connection's write lock before failing with SQLITE_BUSY
   * (default 5,000 ms): a CLI reading the file while the job runs must not make a commit fail.
   */
  busyTimeoutMs?: number;
  /** Prepared statements kept for reuse (default 128: the store uses about 70). */
  statementCacheSize?: number;
  /** Passed on to {@link SqlStateStore} (default: `Date.now`). */
  now?: () => number;
  /** Bound parameters per statement, passed on to {@link SqlStateStore} (default 8,000). */
  maxParameters?: number;
}

/**
 * Opens a better-sqlite3 connection configured for the store: WAL, `synchronous = NORMAL`,
 * `busy_timeout`. Creates the parent folder of a file path.
 *
 * @example
 * ```ts
 * const db = openSqliteDatabase({ path: '/tmp/shelfwatch/state.db' });
 * console.log(db.pragma('journal_mode', { simple: true })); // 'wal'
 * db.close();
 * ```
 */
export function openSqliteDatabase(options: SqliteStoreOptions): SQLite.Database {
  const inMemory = options.path === ':memory:' || options.path === '';
  if (!inMemory) mkdirSync(dirname(options.path), { recursive: true });
  const db = new SQLite(options.path);
  try {
    // busy_timeout first: switching to WAL itself needs a lock another process may hold.
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5_000))}`);
    // WAL lets readers (the CLI, a dashboard) read while the job writes. An in-memory database has
    // no WAL and stays in 'memory' mode, which is fine: it does not outlive the process anyway.
    if (!inMemory) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Wraps a better-sqlite3 connection so that Kysely's driver, which prepares every query it runs,
 * reuses prepared statements: the store runs the same few statements over and over, and preparing
 * (parsing and planning) a multi-row insert costs as much as running it. Least-recently-used
 * statements beyond `capacity` are dropped (better-sqlite3 finalises them when collected or closed).
 *
 * Safe because Kysely's SQLite driver runs one query at a time and never streams with these
 * statements; a statement that is still iterating cannot be run again, so do not use the wrapper
 * with `stream()`.
 *
 * @example
 * ```ts
 * const dialect = new SqliteDialect({ database: cachingSqliteDatabase(new SQLite(':memory:'), 128) });
 * ```
 */
export function cachingSqliteDatabase(db: SqliteDatabase, capacity = 128): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(sqlText: string): SqliteStatement {
      let statement = cache.get(sqlText);
      if (statement !== undefined) {
        cache.delete(sqlText); // re-inserted below: Map order is the recency order
      } else {
        statement = db.prepare(sqlText);
        if (cache.size >= capacity) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sqlText, statement);
      return statement;
    },
  };
}

/**
 * The SQLite state store: a {@link SqlStateStore} over a file (created with its folder on `open()`)
 * or `':memory:'`. Nothing touches the disk before `open()`.
 *
 * @example
 * ```ts
 * const store = createSqliteStore({ path: 'data/state.db' });
 * await store.open();
 * const state = await store.load();
 * const checkpoint = await store.loadCheckpoint('shardId-000000000000');
 * await store.close();
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): SqlStateStore {
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({
      // A factory: Kysely calls it on first use, i.e. in open().
      database: async () => cachingSqliteDatabase(openSqliteDatabase(options), options.statementCacheSize),
    }),
  });
  return new SqlStateStore(db, { dialect: 'sqlite', now: options.now, maxParameters: options.maxParameters });
}
