/**
 * The SQL state store: one implementation of `StateStore` on Kysely that SQLite (the embedded
 * default) and MySQL/MariaDB share. Both run the same migrations and the same queries; the only
 * dialect-specific SQL is the conflict clause of inserts (`sql-write.ts`) and the transaction set-up
 * (`sql-transaction.ts`). Reads are in `sql-read.ts` (state) and `sql-inspect.ts` (audit tables).
 */
import type { Kysely } from 'kysely';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
import type {
  Anomaly,
  BatchCommit,
  DeadLetter,
  SeriesKey,
  SeriesRow,
  StateStore,
  StoredSeries,
  StoredState,
  UndeliveredNotification,
} from '../../pipeline/ports.js';
import type { RetryPolicy } from '../../pipeline/retry.js';
import { migrateStoreToLatest } from './migrations.js';
import { refusedBySqlStore } from './refused.js';
import type { Database, SqlDialect } from './schema.js';
import {
  countDeadLetters,
  getSeries,
  type ListOptions,
  listAnomalies,
  listDeadLetters,
  listUndelivered,
} from './sql-inspect.js';
import { readAll, readCheckpoint, readSeries, readValues } from './sql-read.js';
import {
  conflictRetryPolicy,
  DEFAULT_CONFLICT_RETRIES,
  fence,
  retryConflicts,
  runTransaction,
} from './sql-transaction.js';
import {
  BatchWriter,
  batchRows,
  DEFAULT_MAX_PARAMETERS,
  DEFAULT_MAX_STATEMENT_BYTES,
  MIN_MAX_PARAMETERS,
} from './sql-write.js';

// The store's public API lives in its parts; it is exported from here, as it always was.
export type { ListOptions } from './sql-inspect.js';
export { DEFAULT_CONFLICT_RETRIES, isTransactionConflict } from './sql-transaction.js';
export { DEFAULT_MAX_PARAMETERS, DEFAULT_MAX_STATEMENT_BYTES, planChunks } from './sql-write.js';

/**
 * Options of {@link SqlStateStore}.
 *
 * @example
 * ```ts
 * const options: SqlStateStoreOptions = { dialect: 'mysql', maxParameters: 16_000 };
 * ```
 */
export interface SqlStateStoreOptions {
  /** Which conflict syntax and column types to use. */
  dialect: SqlDialect;
  /** Bound parameters per multi-row statement (default {@link DEFAULT_MAX_PARAMETERS}). */
  maxParameters?: number;
  /** Estimated payload bytes per multi-row statement (default {@link DEFAULT_MAX_STATEMENT_BYTES}). */
  maxStatementBytes?: number;
  /** The clock for `updated_at`/`created_at` columns (default `Date.now`). */
  now?: () => number;
  /**
   * MySQL: how many times a commit is run again, after a wait of a few milliseconds (the project's
   * `RetryPolicy`: full jitter, capped at 32 ms), when InnoDB aborted it as a deadlock victim or a
   * snapshot conflict (default {@link DEFAULT_CONFLICT_RETRIES}); see `isTransactionConflict`.
   * SQLite has one writer at a time and never needs it.
   */
  conflictRetries?: number;
}

/**
 * A `StateStore` over any Kysely database with the store's schema. It owns the Kysely instance:
 * `close()` destroys it. `open()` applies pending migrations; `commit()` writes a whole batch in one
 * transaction with multi-row statements (a handful of round trips per batch, not one per row).
 *
 * Semantics of a batch, applied in order inside the transaction: series and values are upserted (a
 * key repeated within the batch: the last wins); applied events, dead letters, anomalies and
 * undelivered notifications are inserted unless their key is already stored (a key repeated: the first wins), so replaying a batch
 * after a crash changes nothing; applied events older than `forgetEventsBefore` are then deleted,
 * including any this batch just inserted; the checkpoint is upserted last.
 *
 * @example
 * ```ts
 * import SQLite from 'better-sqlite3';
 * import { Kysely, SqliteDialect } from 'kysely';
 * const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
 * const store = new SqlStateStore(db, { dialect: 'sqlite' });
 * await store.open();
 * await store.commit({
 *   shardId: 'shard-0', checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 },
 *   series: [], values: [{ key: 'catalog', value: '{}' }], appliedEvents: [], deadLetters: [], anomalies: [],
 * });
 * console.log(await store.loadCheckpoint('shard-0')); // { sequenceNumber: '1', subSequenceNumber: 0 }
 * await store.close();
 * ```
 */
export class SqlStateStore implements StateStore {
  /** The dialect this store writes SQL for. */
  readonly dialect: SqlDialect;
  readonly #db: Kysely<Database>;
  readonly #writer: BatchWriter;
  readonly #now: () => number;
  readonly #conflictPolicy: RetryPolicy;
  #state: 'new' | 'open' | 'closed' = 'new';

  constructor(db: Kysely<Database>, options: SqlStateStoreOptions) {
    const maxParameters = options.maxParameters ?? DEFAULT_MAX_PARAMETERS;
    if (!Number.isInteger(maxParameters) || maxParameters < MIN_MAX_PARAMETERS) {
      throw new RangeError(
        `maxParameters must be an integer ≥ ${MIN_MAX_PARAMETERS} (one series row), got ${maxParameters}`,
      );
    }
    this.#db = db;
    this.dialect = options.dialect;
    this.#writer = new BatchWriter(
      db,
      options.dialect,
      maxParameters,
      options.maxStatementBytes ?? DEFAULT_MAX_STATEMENT_BYTES,
    );
    this.#now = options.now ?? Date.now;
    const retries = options.conflictRetries ?? DEFAULT_CONFLICT_RETRIES;
    if (!Number.isInteger(retries) || retries < 0) {
      throw new RangeError(`conflictRetries must be an integer ≥ 0, got ${retries}`);
    }
    this.#conflictPolicy = conflictRetryPolicy(retries);
  }

  /**
   * Connects and applies pending migrations. Calling it again on an open store re-checks the
   * migrations (a no-op) and returns.
   *
   * @example
   * ```ts
   * await store.open();
   * ```
   */
  async open(): Promise<void> {
    if (this.#state === 'closed') throw new Error('SqlStateStore: open() after close(); create a new store');
    await migrateStoreToLatest(this.#db, this.dialect);
    this.#state = 'open';
  }

  /**
   * Every series row, every value and every applied event still stored (the pipeline prunes the
   * latter through `forgetEventsBefore`), from one read transaction. Rows come in key order.
   *
   * @example
   * ```ts
   * const { series, values, recentEvents } = await store.load();
   * ```
   */
  async load(): Promise<StoredState> {
    return readAll(this.#openDb(), this.dialect);
  }

  /**
   * The rows of these series that exist, and their applied events still stored, in one read
   * transaction.
   *
   * @example
   * ```ts
   * const { series, recentEvents } = await store.loadSeries([{ sku: 'SKU-1', warehouse: 'WH-1' }]);
   * ```
   */
  async loadSeries(keys: readonly SeriesKey[]): Promise<StoredSeries> {
    return readSeries(this.#openDb(), this.dialect, keys);
  }

  /**
   * The values stored under these keys (absent keys are missing from the result).
   *
   * @example
   * ```ts
   * const [router] = await store.loadValues(['router/shardId-000000000000']);
   * ```
   */
  async loadValues(keys: readonly string[]): Promise<Array<{ key: string; value: string }>> {
    return readValues(this.#openDb(), keys);
  }

  /**
   * The shard's last committed checkpoint, or null when it has none.
   *
   * @example
   * ```ts
   * const from = await store.loadCheckpoint('shardId-000000000000'); // null on a new stream
   * ```
   */
  async loadCheckpoint(shardId: string): Promise<ExtendedSequenceNumber | null> {
    return readCheckpoint(this.#openDb(), shardId);
  }

  /**
   * Writes the whole batch in one transaction, fencing first and checkpoint last: if any statement
   * fails, the transaction rolls back and neither state nor checkpoint moves. Committing the same
   * batch twice leaves the same state. Rejects with `StaleCheckpointError` when fenced off, with
   * `StoreRefusedError` when the database refuses a value (too long for its column, NULL where none
   * may be: see `refused.ts`), and with the driver's error otherwise.
   *
   * @example
   * ```ts
   * await store.commit({
   *   shardId: 'shard-0', checkpoint: { sequenceNumber: '7', subSequenceNumber: 0 },
   *   series: [], values: [], appliedEvents: [{ eventId: 'e1', occurredAt: Date.now() }],
   *   forgetEventsBefore: Date.now() - 86_400_000, deadLetters: [], anomalies: [],
   * });
   * ```
   */
  async commit(batch: BatchCommit): Promise<void> {
    const db = this.#openDb();
    const rows = batchRows(batch, this.#now());
    try {
      await retryConflicts(this.dialect, this.#conflictPolicy, () =>
        runTransaction(db, this.dialect, async (trx) => {
          await fence(trx, this.dialect, batch.shardId, batch.expectedCheckpoint);
          await this.#writer.write(trx, rows, batch.forgetEventsBefore);
        }),
      );
    } catch (error) {
      // A value no column holds is refused again on every retry: say so (see refused.ts).
      throw refusedBySqlStore(this.dialect, error) ?? error;
    }
  }

  /**
   * Closes the connection (pool). Idempotent; the store cannot be opened again.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    await this.#db.destroy();
  }

  /**
   * How many dead letters are stored.
   *
   * @example
   * ```ts
   * if ((await store.countDeadLetters()) > 0) console.warn('some records could not be parsed');
   * ```
   */
  async countDeadLetters(): Promise<number> {
    return countDeadLetters(this.#openDb());
  }

  /**
   * The stored dead letters, by shard and then position in the shard (numeric order of the decimal
   * sequence numbers).
   *
   * @example
   * ```ts
   * for (const d of await store.listDeadLetters({ limit: 10 })) console.log(d.code, d.reason);
   * ```
   */
  async listDeadLetters(options: ListOptions = {}): Promise<DeadLetter[]> {
    return listDeadLetters(this.#openDb(), options);
  }

  /**
   * The anomaly log, by detection time (then id, so the order is total).
   *
   * @example
   * ```ts
   * const latest = await store.listAnomalies({ limit: 20, order: 'desc' });
   * ```
   */
  async listAnomalies(options: ListOptions = {}): Promise<Anomaly[]> {
    return listAnomalies(this.#openDb(), options);
  }

  /**
   * The notifications sinks refused for good ("parked"), with their reasons: oldest first.
   *
   * @example
   * ```ts
   * for (const u of await store.listUndelivered()) console.log(u.receiver, u.notification.id, u.reason);
   * ```
   */
  async listUndelivered(options: ListOptions = {}): Promise<UndeliveredNotification[]> {
    return listUndelivered(this.#openDb(), options);
  }

  /**
   * One series row, or null when the SKU × warehouse has none.
   *
   * @example
   * ```ts
   * const row = await store.getSeries('SKU-1', 'WH-1');
   * console.log(row?.onHand);
   * ```
   */
  async getSeries(sku: string, warehouse: string): Promise<SeriesRow | null> {
    return getSeries(this.#openDb(), sku, warehouse);
  }

  #openDb(): Kysely<Database> {
    if (this.#state === 'open') return this.#db;
    throw new Error(
      this.#state === 'new' ? 'SqlStateStore: call open() first' : 'SqlStateStore: the store is closed',
    );
  }
}
