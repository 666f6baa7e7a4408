/**
 * The embedded default: the SQL state store on a SQLite file through better-sqlite3.
 *
 * Durability: the file runs in WAL mode with `synchronous = NORMAL`. A committed transaction is in the
 * WAL as soon as `commit()` resolves, so it survives the process crashing or being killed (SIGKILL,
 * OOM): that is the failure the stream job guards against, and what its crash test does. Only a power
 * loss or OS crash can lose the last transactions (never corrupt the file, never split one): the WAL
 * is synced at checkpoints rather than at every commit, which is what makes commits cheap.
 */
import { mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type SQLite from 'better-sqlite3';
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement, sql } from 'kysely';
import type { BatchCommit, SeriesKey, SeriesRow } from '../../pipeline/ports.js';
import type { Database } from './schema.js';
import { type ListOptions, SqlStateStore } from './sql-store.js';
import { checkSqliteFilesWritable, type SqliteOperation, sqliteStoreError } from './sqlite-faults.js';
import type { StoreError } from './store-error.js';

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
  /**
   * WAL size beyond which a commit first checks that checkpoints still work (default 64 MiB; see
   * {@link SqliteStateStore}). The threshold doubles after each check that passes.
   */
  walCheckBytes?: number;
}

/** Default of {@link SqliteStoreOptions.walCheckBytes}: far above what autocheckpoints leave (~4 MiB). */
const DEFAULT_WAL_CHECK_BYTES = 64 * 1024 * 1024;

/**
 * better-sqlite3, loaded at the first open rather than at import: a deployment without SQLite (a
 * Lambda bundle on DynamoDB or MySQL) does not ship the native addon, and must still import the stores.
 */
function loadBetterSqlite3(): typeof SQLite {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as typeof SQLite;
  } catch (err) {
    throw new Error(
      'the SQLite store needs the better-sqlite3 package, which this installation lacks: install it, or use store.type dynamodb or mysql',
      { cause: err },
    );
  }
}

/**
 * Opens a better-sqlite3 connection configured for the store: WAL, `synchronous = NORMAL`,
 * `busy_timeout`. Creates the parent folder of a file path, and first checks that the folder and the
 * database's files are writable ({@link checkSqliteFilesWritable}).
 *
 * @throws {StoreError} naming the file and the cause when it cannot be opened for writing.
 *
 * @example
 * ```ts
 * const db = openSqliteDatabase({ path: '/tmp/shelfwatch/state.db' });
 * console.log(db.pragma('journal_mode', { simple: true })); // 'wal'
 * db.close();
 * ```
 */
export function openSqliteDatabase(options: SqliteStoreOptions): SQLite.Database {
  const Database = loadBetterSqlite3();
  const { path } = options;
  const inMemory = path === ':memory:' || path === '';
  let db: SQLite.Database | undefined;
  try {
    if (!inMemory) {
      mkdirSync(dirname(path), { recursive: true });
      // Before SQLite maps the -shm file: a folder or file it cannot write fails here, named.
      checkSqliteFilesWritable(path);
    }
    db = new Database(path);
    // busy_timeout first: switching to WAL itself needs a lock another process may hold.
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5_000))}`);
    // WAL lets readers (the CLI, a dashboard) read while the job writes. An in-memory database has
    // no WAL and stays in 'memory' mode, which is fine: it does not outlive the process anyway.
    if (!inMemory) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  } catch (error) {
    db?.close();
    throw sqliteStoreError(error, { path, operation: 'open' });
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
 * or `':memory:'`, whose storage faults are {@link StoreError}s that name the file and the cause.
 *
 * It also watches the one fault SQLite keeps quiet: after a commit, SQLite copies the WAL into the
 * database file (a checkpoint) and ignores a checkpoint that fails. If the database file stops being
 * writable while the job runs (made immutable, say), commits still succeed, into a WAL that grows
 * without end. So once the WAL is larger than `walCheckBytes`, a commit first runs a checkpoint itself;
 * if that fails, the commit fails with its cause before writing anything.
 *
 * @example
 * ```ts
 * const store = new SqliteStateStore({ path: 'data/state.db' });
 * await store.open(); // StoreError "… the folder /srv/data is not writable (EACCES) …" if it is not
 * ```
 */
export class SqliteStateStore extends SqlStateStore {
  /** The database file, as configured. */
  readonly path: string;
  readonly #kysely: Kysely<Database>;
  readonly #inMemory: boolean;
  #walCheckBytes: number;
  #open = false;

  constructor(options: SqliteStoreOptions) {
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({
        // A factory: Kysely calls it on first use, i.e. in open().
        database: async () => cachingSqliteDatabase(openSqliteDatabase(options), options.statementCacheSize),
      }),
    });
    super(db, { dialect: 'sqlite', now: options.now, maxParameters: options.maxParameters });
    this.path = options.path;
    this.#kysely = db;
    this.#inMemory = options.path === ':memory:' || options.path === '';
    this.#walCheckBytes = options.walCheckBytes ?? DEFAULT_WAL_CHECK_BYTES;
  }

  override async open(): Promise<void> {
    await this.#reported('open', () => super.open());
    this.#open = true;
  }

  override async commit(batch: BatchCommit): Promise<void> {
    return this.#reported('commit', async () => {
      if (this.#open) await this.#checkCheckpoints();
      await super.commit(batch);
    });
  }

  override async close(): Promise<void> {
    this.#open = false;
    await super.close();
  }

  override load() {
    return this.#reported('read', () => super.load());
  }

  override loadSeries(keys: readonly SeriesKey[]) {
    return this.#reported('read', () => super.loadSeries(keys));
  }

  override loadValues(keys: readonly string[]) {
    return this.#reported('read', () => super.loadValues(keys));
  }

  override loadCheckpoint(shardId: string) {
    return this.#reported('read', () => super.loadCheckpoint(shardId));
  }

  override countDeadLetters() {
    return this.#reported('read', () => super.countDeadLetters());
  }

  override listDeadLetters(options?: ListOptions) {
    return this.#reported('read', () => super.listDeadLetters(options));
  }

  override listAnomalies(options?: ListOptions) {
    return this.#reported('read', () => super.listAnomalies(options));
  }

  override listUndelivered(options?: ListOptions) {
    return this.#reported('read', () => super.listUndelivered(options));
  }

  override getSeries(sku: string, warehouse: string): Promise<SeriesRow | null> {
    return this.#reported('read', () => super.getSeries(sku, warehouse));
  }

  async #reported<T>(operation: SqliteOperation, task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } catch (error) {
      throw sqliteStoreError(error, { path: this.path, operation });
    }
  }

  /** See the class comment: a WAL past the threshold means checkpoints fail, or a reader holds them up. */
  async #checkCheckpoints(): Promise<void> {
    if (this.#inMemory) return;
    const size = statSync(`${this.path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= this.#walCheckBytes) return;
    try {
      // PASSIVE waits for no one: a reader holding old frames makes it stop short, without an error.
      await sql`PRAGMA wal_checkpoint(PASSIVE)`.execute(this.#kysely);
    } catch (error) {
      throw sqliteStoreError(error, { path: this.path, operation: 'checkpoint' });
    }
    // The WAL file keeps its size after a checkpoint (SQLite reuses it), so check again only if it grows.
    this.#walCheckBytes = size * 2;
  }
}

/**
 * The SQLite state store ({@link SqliteStateStore}) over a file (created with its folder on `open()`)
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
export function createSqliteStore(options: SqliteStoreOptions): SqliteStateStore {
  return new SqliteStateStore(options);
}
