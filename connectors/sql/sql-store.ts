/**
 * The SQL state store: one implementation of `StateStore` on Kysely that SQLite (the embedded
 * default) and MySQL/MariaDB share. Both run the same migrations and the same queries; the only
 * dialect-specific SQL is the conflict clause of inserts, isolated in {@link conflictClause}.
 */
import {
  CompiledQuery,
  type InsertQueryBuilder,
  type InsertResult,
  type Kysely,
  type Selectable,
  sql,
  type Transaction,
} from 'kysely';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
import {
  type Anomaly,
  type AppliedEvent,
  type BatchCommit,
  type DeadLetter,
  type SeriesKey,
  type SeriesRow,
  StaleCheckpointError,
  type StateStore,
  type StoredSeries,
  type StoredState,
} from '../../pipeline/ports.js';
import { migrateStoreToLatest } from './migrations.js';
import type {
  AnomaliesTable,
  AppliedEventsTable,
  Database,
  DeadLettersTable,
  SeriesTable,
  SqlDialect,
} from './schema.js';
import { keepRollbackError } from './store-error.js';

/**
 * The most bound parameters one statement may carry: SQLite (3.32+, and the copy better-sqlite3
 * bundles) allows 32,766 and MySQL 65,535; staying well below both leaves room and keeps each
 * statement's SQL text, which SQLite must parse, of a reasonable size. (Measured: from ~100 rows per
 * statement up, the size hardly changes commit time; the per-row work dominates.)
 *
 * @example
 * ```ts
 * const store = new SqlStateStore(db, { dialect: 'sqlite', maxParameters: DEFAULT_MAX_PARAMETERS / 2 });
 * ```
 */
export const DEFAULT_MAX_PARAMETERS = 8_000;

/**
 * The most payload one statement may carry, estimated as 3 bytes per UTF-16 unit of text (UTF-8's
 * worst case) and 2 per byte of binary (hex in MySQL's text protocol): 4 MiB stays under the 16 MiB
 * `max_allowed_packet` of MariaDB 10.11 and MySQL even for a batch of 1 MiB dead-letter records.
 *
 * @example
 * ```ts
 * // A server with max_allowed_packet = 64 MiB can take bigger statements.
 * const store = new SqlStateStore(db, { dialect: 'mysql', maxStatementBytes: 4 * DEFAULT_MAX_STATEMENT_BYTES });
 * ```
 */
export const DEFAULT_MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

/** Series keys (or value keys) per `IN` list: 2 parameters each, far below every dialect's limit. */
const KEYS_PER_QUERY = 500;

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
   * MySQL: how many times a commit is run again, at once, when InnoDB aborted it as a deadlock victim
   * or a snapshot conflict (default {@link DEFAULT_CONFLICT_RETRIES}); see {@link isTransactionConflict}.
   * SQLite has one writer at a time and never needs it.
   */
  conflictRetries?: number;
}

/**
 * How many times a MySQL commit aborted by a deadlock or snapshot conflict is retried by the store
 * itself before the error reaches the caller.
 *
 * @example
 * ```ts
 * const store = new SqlStateStore(db, { dialect: 'mysql', conflictRetries: DEFAULT_CONFLICT_RETRIES * 2 });
 * ```
 */
export const DEFAULT_CONFLICT_RETRIES = 3;

/**
 * Whether a MySQL/MariaDB error means "this transaction lost a race and was rolled back, run it again":
 * `ER_LOCK_DEADLOCK` (1213: InnoDB chose it as a deadlock victim and rolled the whole transaction back)
 * or `ER_CHECKREAD` (1020: a locking read met a row changed after the transaction's snapshot, which
 * MariaDB reports when `innodb_snapshot_isolation` is on, the default from 11.6). Both are what InnoDB
 * expects the application to retry. Not a lock wait timeout (1205): that transaction waited the whole
 * `innodb_lock_wait_timeout` and is still open; that error goes to the caller (the engine retries the
 * batch with back-off).
 *
 * @example
 * ```ts
 * if (isTransactionConflict(err)) return commit(batch); // safe: nothing of the first try remains
 * ```
 */
export function isTransactionConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_CHECKREAD';
}

/**
 * Options of {@link SqlStateStore.listAnomalies} and {@link SqlStateStore.listDeadLetters}.
 *
 * @example
 * ```ts
 * const newest: ListOptions = { limit: 20, order: 'desc' };
 * ```
 */
export interface ListOptions {
  /** At most this many rows (default: all). */
  limit?: number;
  /** Oldest first (default) or newest first. */
  order?: 'asc' | 'desc';
}

type Table = keyof Database;
type Column<T extends Table> = keyof Database[T] & string;
type Row<T extends Table> = Database[T];

/** How to write one table: its columns (in bind order), its key, and what a key conflict does. */
interface WriteSpec<T extends Table> {
  table: T;
  columns: readonly Column<T>[];
  key: readonly Column<T>[];
  /** `upsert` replaces the non-key columns; `ignore` keeps the row already there. */
  onConflict: 'upsert' | 'ignore';
}

const SERIES: WriteSpec<'series'> = {
  table: 'series',
  columns: [
    'sku',
    'warehouse',
    'on_hand',
    'reserved',
    'inbound',
    'last_count_quantity',
    'last_count_at',
    'sales_velocity',
    'last_event_at',
    'model',
    'updated_at',
  ],
  key: ['sku', 'warehouse'],
  onConflict: 'upsert',
};
const VALUES: WriteSpec<'state_values'> = {
  table: 'state_values',
  columns: ['key', 'value'],
  key: ['key'],
  onConflict: 'upsert',
};
const APPLIED_EVENTS: WriteSpec<'applied_events'> = {
  table: 'applied_events',
  columns: ['event_id', 'occurred_at', 'sku', 'warehouse'],
  key: ['event_id'],
  onConflict: 'ignore',
};
const DEAD_LETTERS: WriteSpec<'dead_letters'> = {
  table: 'dead_letters',
  columns: [
    'shard_id',
    'sequence_number',
    'sub_sequence_number',
    'partition_key',
    'arrival_timestamp',
    'code',
    'reason',
    'data',
    'created_at',
  ],
  key: ['shard_id', 'sequence_number', 'sub_sequence_number'],
  onConflict: 'ignore',
};
const ANOMALIES: WriteSpec<'anomalies'> = {
  table: 'anomalies',
  columns: [
    'id',
    'type',
    'severity',
    'score',
    'sku',
    'warehouse',
    'detected_at',
    'detector',
    'event_ids',
    'explanation',
    'created_at',
  ],
  key: ['id'],
  onConflict: 'ignore',
};
const CHECKPOINTS: WriteSpec<'checkpoints'> = {
  table: 'checkpoints',
  columns: ['shard_id', 'sequence_number', 'sub_sequence_number', 'updated_at'],
  key: ['shard_id'],
  onConflict: 'upsert',
};

/**
 * The one place where the dialects' SQL differs: what an insert does on a duplicate key.
 *
 * - SQLite: `ON CONFLICT (key) DO UPDATE SET c = excluded.c` / `ON CONFLICT (key) DO NOTHING`.
 *   Not `INSERT OR IGNORE`, which would also swallow NOT NULL violations and so break atomicity.
 * - MySQL/MariaDB: `ON DUPLICATE KEY UPDATE c = VALUES(c)`. `VALUES()` is deprecated in MySQL 8.0.20+
 *   in favour of a row alias, but MariaDB has no row alias and both still accept `VALUES()`. To
 *   ignore, a no-op `key = key` assignment, not `INSERT IGNORE`, which downgrades errors (NOT NULL,
 *   truncation) to warnings.
 */
function conflictClause<T extends Table>(
  insert: InsertQueryBuilder<Database, T, InsertResult>,
  dialect: SqlDialect,
  spec: WriteSpec<T>,
): InsertQueryBuilder<Database, T, InsertResult> {
  const keys = new Set<string>(spec.key);
  const updated = spec.onConflict === 'upsert' ? spec.columns.filter((c) => !keys.has(c)) : [];
  // Kysely cannot relate a column name held in a variable to the generic table T; the names come
  // from the WriteSpec constants above, which are typed against the schema.
  type Update = Parameters<typeof insert.onDuplicateKeyUpdate>[0];
  switch (dialect) {
    case 'sqlite':
      return insert.onConflict((oc) => {
        const target = oc.columns(spec.key as never[]);
        if (updated.length === 0) return target.doNothing();
        const set = Object.fromEntries(updated.map((c) => [c, sql.ref(`excluded.${c}`)]));
        return target.doUpdateSet(set as never);
      });
    case 'mysql': {
      const set =
        updated.length === 0
          ? { [spec.key[0]]: sql.ref(spec.key[0]) }
          : Object.fromEntries(updated.map((c) => [c, sql`values(${sql.ref(c)})`]));
      return insert.onDuplicateKeyUpdate(set as Update);
    }
  }
}

/**
 * Keeps the last row of each key, in batch order. An upsert statement would apply repeated keys in
 * order too, but doing it here keeps "last wins" independent of how a dialect treats one statement
 * that touches a row twice (PostgreSQL, for one, refuses).
 */
function lastByKey<R>(rows: readonly R[], key: (row: R) => string): readonly R[] {
  const byKey = new Map<string, R>();
  for (const row of rows) {
    const k = key(row);
    byKey.delete(k); // re-inserting moves it to the end
    byKey.set(k, row);
  }
  return byKey.size === rows.length ? rows : [...byKey.values()];
}

/** The payload estimate of one bound value (see {@link DEFAULT_MAX_STATEMENT_BYTES}). */
function estimateBytes(value: unknown): number {
  if (typeof value === 'string') return value.length * 3;
  if (value instanceof Uint8Array) return value.byteLength * 2;
  return 8;
}

/**
 * Splits `rowBytes.length` rows, in order, into `[start, count]` statements of at most `maxRows` rows
 * and `maxBytes` estimated bytes (a single larger row goes alone). A group cut short by the end or by
 * the byte limit is split further into powers of two, so that every count is `maxRows` or a power of
 * two: a batch of any size then reuses a few prepared statements instead of preparing a new one.
 *
 * @example
 * ```ts
 * planChunks(new Array(1000).fill(10), 400, 1e6); // [[0, 400], [400, 400], [800, 128], [928, 64], [992, 8]]
 * ```
 */
export function planChunks(
  rowBytes: readonly number[],
  maxRows: number,
  maxBytes: number,
): Array<[start: number, count: number]> {
  const chunks: Array<[number, number]> = [];
  let start = 0;
  while (start < rowBytes.length) {
    let count = 0;
    let bytes = 0;
    while (start + count < rowBytes.length && count < maxRows) {
      const next = rowBytes[start + count] as number;
      if (count > 0 && bytes + next > maxBytes) break;
      bytes += next;
      count++;
    }
    if (count === maxRows) {
      chunks.push([start, count]);
    } else {
      let offset = start;
      for (let power = 2 ** Math.floor(Math.log2(count)); power >= 1; power /= 2) {
        if (offset + power <= start + count) {
          chunks.push([offset, power]);
          offset += power;
        }
      }
    }
    start += count;
  }
  return chunks;
}

function toSeriesRow(r: Selectable<SeriesTable>): SeriesRow {
  return {
    sku: r.sku,
    warehouse: r.warehouse,
    onHand: r.on_hand,
    reserved: r.reserved,
    inbound: r.inbound,
    lastCountQuantity: r.last_count_quantity,
    lastCountAt: r.last_count_at,
    salesVelocity: r.sales_velocity,
    lastEventAt: r.last_event_at,
    model: r.model,
  };
}

function toAppliedEvent(e: Selectable<AppliedEventsTable>): AppliedEvent {
  return { eventId: e.event_id, occurredAt: e.occurred_at, sku: e.sku, warehouse: e.warehouse };
}

function toDeadLetter(r: Selectable<DeadLettersTable>): DeadLetter {
  return {
    shardId: r.shard_id,
    sequenceNumber: r.sequence_number,
    subSequenceNumber: r.sub_sequence_number,
    partitionKey: r.partition_key,
    arrivalTimestamp: r.arrival_timestamp,
    code: r.code,
    reason: r.reason,
    // Drivers return a Buffer (a pooled view); a plain copy is what the port promises.
    data: new Uint8Array(r.data),
  };
}

function toAnomaly(r: Selectable<AnomaliesTable>): Anomaly {
  return {
    id: r.id,
    type: r.type as Anomaly['type'],
    severity: r.severity as Anomaly['severity'],
    score: r.score,
    sku: r.sku,
    warehouse: r.warehouse,
    detectedAt: r.detected_at,
    eventIds: JSON.parse(r.event_ids) as string[],
    detector: r.detector,
    explanation: JSON.parse(r.explanation) as Anomaly['explanation'],
  };
}

/**
 * A `StateStore` over any Kysely database with the store's schema. It owns the Kysely instance:
 * `close()` destroys it. `open()` applies pending migrations; `commit()` writes a whole batch in one
 * transaction with multi-row statements (a handful of round trips per batch, not one per row).
 *
 * Semantics of a batch, applied in order inside the transaction: series and values are upserted (a
 * key repeated within the batch: the last wins); applied events, dead letters and anomalies are
 * inserted unless their key is already stored (a key repeated: the first wins), so replaying a batch
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
  readonly #maxParameters: number;
  readonly #maxStatementBytes: number;
  readonly #now: () => number;
  readonly #conflictRetries: number;
  /** Insert SQL by table and row count: a few dozen entries at most (see {@link planChunks}). */
  readonly #sqlCache = new Map<string, string>();
  #state: 'new' | 'open' | 'closed' = 'new';

  constructor(db: Kysely<Database>, options: SqlStateStoreOptions) {
    const maxParameters = options.maxParameters ?? DEFAULT_MAX_PARAMETERS;
    if (!Number.isInteger(maxParameters) || maxParameters < SERIES.columns.length) {
      throw new RangeError(
        `maxParameters must be an integer ≥ ${SERIES.columns.length} (one series row), got ${maxParameters}`,
      );
    }
    this.#db = db;
    this.dialect = options.dialect;
    this.#maxParameters = maxParameters;
    this.#maxStatementBytes = options.maxStatementBytes ?? DEFAULT_MAX_STATEMENT_BYTES;
    this.#now = options.now ?? Date.now;
    this.#conflictRetries = options.conflictRetries ?? DEFAULT_CONFLICT_RETRIES;
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
   * latter through `forgetEventsBefore`). Rows come in key order.
   *
   * @example
   * ```ts
   * const { series, values, recentEvents } = await store.load();
   * ```
   */
  async load(): Promise<StoredState> {
    // One read transaction: the three reads see the same commit, even with another writer (a second
    // worker on MySQL, the CLI on SQLite) committing meanwhile.
    const { series, values, events } = await this.#inTransaction(this.#openDb(), async (trx) => ({
      series: await trx.selectFrom('series').selectAll().orderBy('sku').orderBy('warehouse').execute(),
      values: await trx.selectFrom('state_values').select(['key', 'value']).orderBy('key').execute(),
      events: await trx
        .selectFrom('applied_events')
        .select(['event_id', 'occurred_at', 'sku', 'warehouse'])
        .orderBy('event_id')
        .execute(),
    }));
    return {
      series: series.map(toSeriesRow),
      values: values.map((v) => ({ key: v.key, value: v.value })),
      recentEvents: events.map(toAppliedEvent),
    };
  }

  /**
   * The rows of these series that exist, and their applied events still stored, in one read
   * transaction (keys in chunks of {@link KEYS_PER_QUERY}).
   *
   * @example
   * ```ts
   * const { series, recentEvents } = await store.loadSeries([{ sku: 'SKU-1', warehouse: 'WH-1' }]);
   * ```
   */
  async loadSeries(keys: readonly SeriesKey[]): Promise<StoredSeries> {
    const db = this.#openDb();
    if (keys.length === 0) return { series: [], recentEvents: [] };
    return this.#inTransaction(db, async (trx) => {
      const series: SeriesRow[] = [];
      const recentEvents: AppliedEvent[] = [];
      for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
        const chunk = keys.slice(i, i + KEYS_PER_QUERY);
        const rows = await trx
          .selectFrom('series')
          .selectAll()
          .where((eb) =>
            eb(
              eb.refTuple('sku', 'warehouse'),
              'in',
              chunk.map((k) => eb.tuple(k.sku, k.warehouse)),
            ),
          )
          .execute();
        for (const r of rows) series.push(toSeriesRow(r));
        const events = await trx
          .selectFrom('applied_events')
          .select(['event_id', 'occurred_at', 'sku', 'warehouse'])
          .where((eb) =>
            eb(
              eb.refTuple('sku', 'warehouse'),
              'in',
              chunk.map((k) => eb.tuple(k.sku, k.warehouse)),
            ),
          )
          .execute();
        for (const e of events) recentEvents.push(toAppliedEvent(e));
      }
      return { series, recentEvents };
    });
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
    const db = this.#openDb();
    const out: Array<{ key: string; value: string }> = [];
    for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
      const rows = await db
        .selectFrom('state_values')
        .select(['key', 'value'])
        .where('key', 'in', keys.slice(i, i + KEYS_PER_QUERY))
        .execute();
      for (const r of rows) out.push({ key: r.key, value: r.value });
    }
    return out;
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
    const row = await this.#openDb()
      .selectFrom('checkpoints')
      .select(['sequence_number', 'sub_sequence_number'])
      .where('shard_id', '=', shardId)
      .executeTakeFirst();
    return row === undefined
      ? null
      : { sequenceNumber: row.sequence_number, subSequenceNumber: row.sub_sequence_number };
  }

  /**
   * Writes the whole batch in one transaction, checkpoint last: if any statement fails, the
   * transaction rolls back and neither state nor checkpoint moves. Committing the same batch twice
   * leaves the same state.
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
    const now = this.#now();
    // Length-prefixed, so that no pair of strings can spell another pair's key.
    const series = lastByKey(batch.series, (s) => `${s.sku.length}:${s.sku}${s.warehouse}`).map((s) => ({
      sku: s.sku,
      warehouse: s.warehouse,
      on_hand: s.onHand,
      reserved: s.reserved,
      inbound: s.inbound,
      last_count_quantity: s.lastCountQuantity,
      last_count_at: s.lastCountAt,
      sales_velocity: s.salesVelocity,
      last_event_at: s.lastEventAt,
      model: s.model,
      updated_at: now,
    }));
    const values = lastByKey(batch.values, (v) => v.key);
    // Inserts that ignore a stored key need no de-duplication: the conflict clause applies row by row,
    // in order, within a statement as across statements, so the first of a repeated key wins.
    const events = batch.appliedEvents.map((e) => ({
      event_id: e.eventId,
      occurred_at: e.occurredAt,
      sku: e.sku,
      warehouse: e.warehouse,
    }));
    const deadLetters = batch.deadLetters.map((d) => ({
      shard_id: d.shardId,
      sequence_number: d.sequenceNumber,
      sub_sequence_number: d.subSequenceNumber,
      partition_key: d.partitionKey,
      arrival_timestamp: d.arrivalTimestamp,
      code: d.code,
      reason: d.reason,
      // A Buffer view (no copy): mysql2 escapes a Buffer as bytes but a plain Uint8Array as an object.
      data: Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength),
      created_at: now,
    }));
    const anomalies = batch.anomalies.map((a) => ({
      id: a.id,
      type: a.type,
      severity: a.severity,
      score: a.score,
      sku: a.sku,
      warehouse: a.warehouse,
      detected_at: a.detectedAt,
      detector: a.detector,
      event_ids: JSON.stringify(a.eventIds),
      explanation: JSON.stringify(a.explanation),
      created_at: now,
    }));
    const checkpoint = {
      shard_id: batch.shardId,
      sequence_number: batch.checkpoint.sequenceNumber,
      sub_sequence_number: batch.checkpoint.subSequenceNumber,
      updated_at: now,
    };

    const write = (trx: Transaction<Database>) =>
      this.#transactionBody(trx, batch, { series, values, events, deadLetters, anomalies, checkpoint });
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#inTransaction(db, write);
        return;
      } catch (error) {
        // MySQL only: a deadlock victim or snapshot conflict was rolled back whole, so running the
        // transaction again is safe; with fencing, the second run then sees the winner's checkpoint
        // and reports StaleCheckpointError, which is what the loser of the race must get.
        if (this.dialect !== 'mysql' || attempt >= this.#conflictRetries || !isTransactionConflict(error)) {
          throw error;
        }
        // A few milliseconds, jittered, so that two retrying workers do not collide again in step.
        await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 10 * (attempt + 1)));
      }
    }
  }

  /** Everything {@link commit} does inside its transaction, in order: fencing first, checkpoint last. */
  async #transactionBody(
    trx: Transaction<Database>,
    batch: BatchCommit,
    rows: {
      series: readonly Row<'series'>[];
      values: readonly Row<'state_values'>[];
      events: readonly Row<'applied_events'>[];
      deadLetters: readonly Row<'dead_letters'>[];
      anomalies: readonly Row<'anomalies'>[];
      checkpoint: Row<'checkpoints'>;
    },
  ): Promise<void> {
    if (this.dialect === 'sqlite') {
      // Take SQLite's write lock before the first read. A transaction that reads first and writes
      // later cannot wait for the lock once another process has committed since its read (WAL's
      // SQLITE_BUSY_SNAPSHOT: "database is locked" at once, busy_timeout or not); taking the lock
      // first lets busy_timeout queue the writers of several worker processes instead. An UPDATE that
      // matches no row still starts the write transaction.
      await sql`UPDATE checkpoints SET shard_id = shard_id WHERE 0`.execute(trx);
    }
    if (batch.expectedCheckpoint !== undefined) {
      // Fencing first, holding the checkpoint row (MySQL: FOR UPDATE, which under REPEATABLE READ also
      // locks the gap where a missing row would go, so two workers expecting "no checkpoint yet"
      // cannot both insert one; SQLite: the write lock is taken by the first write below, and SQLite
      // has one writer at a time anyway).
      let query = trx
        .selectFrom('checkpoints')
        .select(['sequence_number', 'sub_sequence_number'])
        .where('shard_id', '=', batch.shardId);
      if (this.dialect === 'mysql') query = query.forUpdate();
      const row = await query.executeTakeFirst();
      const actual =
        row === undefined
          ? null
          : { sequenceNumber: row.sequence_number, subSequenceNumber: row.sub_sequence_number };
      const expected = batch.expectedCheckpoint;
      const same =
        actual === null || expected === null
          ? actual === expected
          : actual.sequenceNumber === expected.sequenceNumber &&
            actual.subSequenceNumber === expected.subSequenceNumber;
      if (!same) throw new StaleCheckpointError(batch.shardId, expected, actual);
    }
    await this.#write(trx, SERIES, rows.series);
    await this.#write(trx, VALUES, rows.values);
    await this.#write(trx, APPLIED_EVENTS, rows.events);
    if (batch.forgetEventsBefore !== undefined) {
      // Only the batch's series forget: each shard has its own event-time clock (see BatchCommit).
      const before = batch.forgetEventsBefore;
      for (let i = 0; i < rows.series.length; i += KEYS_PER_QUERY) {
        const chunk = rows.series.slice(i, i + KEYS_PER_QUERY);
        await trx
          .deleteFrom('applied_events')
          .where('occurred_at', '<', before)
          .where((eb) =>
            eb(
              eb.refTuple('sku', 'warehouse'),
              'in',
              chunk.map((r) => eb.tuple(r.sku, r.warehouse)),
            ),
          )
          .execute();
      }
    }
    await this.#write(trx, DEAD_LETTERS, rows.deadLetters);
    await this.#write(trx, ANOMALIES, rows.anomalies);
    await this.#write(trx, CHECKPOINTS, [rows.checkpoint]);
  }

  /**
   * Runs `body` in a transaction and commits it. MySQL: Kysely's transaction, as before.
   *
   * SQLite: when a statement (or COMMIT) fails with SQLITE_FULL, an I/O error and a few others, SQLite
   * has already rolled the transaction back, so the ROLLBACK that follows fails with "cannot rollback -
   * no transaction is active"; Kysely's `transaction().execute()` throws that error in place of the
   * real one. Here the first error is thrown and a failed rollback is kept beside it
   * ({@link keepRollbackError}).
   */
  async #inTransaction<T>(
    db: Kysely<Database>,
    body: (trx: Transaction<Database>) => Promise<T>,
  ): Promise<T> {
    if (this.dialect !== 'sqlite') return this.#transaction(db).execute(body);
    const trx = await db.startTransaction().execute();
    let result: T;
    try {
      result = await body(trx);
      await trx.commit().execute();
    } catch (error) {
      try {
        await trx.rollback().execute(); // releases the connection even when it fails
      } catch (rollbackError) {
        keepRollbackError(error, rollbackError);
      }
      throw error;
    }
    return result;
  }

  /**
   * A transaction builder. MySQL: REPEATABLE READ whatever the server's default (an RDS parameter
   * group may say READ COMMITTED), because the fencing above relies on its gap locks and `load()` on
   * one snapshot for its three reads. SQLite transactions are serializable anyway.
   */
  #transaction(db: Kysely<Database>) {
    const builder = db.transaction();
    return this.dialect === 'mysql' ? builder.setIsolationLevel('repeatable read') : builder;
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
    const row = await this.#openDb()
      .selectFrom('dead_letters')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    // MySQL drivers may return COUNT(*) as a string or bigint.
    return Number(row.n);
  }

  /**
   * The stored dead letters, by shard and then position in the shard (numeric order of the decimal
   * sequence numbers, which a plain string sort would get wrong for different lengths).
   *
   * @example
   * ```ts
   * for (const d of await store.listDeadLetters({ limit: 10 })) console.log(d.code, d.reason);
   * ```
   */
  async listDeadLetters(options: ListOptions = {}): Promise<DeadLetter[]> {
    const dir = options.order ?? 'asc';
    let query = this.#openDb()
      .selectFrom('dead_letters')
      .selectAll()
      .orderBy('shard_id', dir)
      .orderBy(sql`length(sequence_number)`, dir)
      .orderBy('sequence_number', dir)
      .orderBy('sub_sequence_number', dir);
    if (options.limit !== undefined) query = query.limit(options.limit);
    return (await query.execute()).map(toDeadLetter);
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
    const dir = options.order ?? 'asc';
    let query = this.#openDb()
      .selectFrom('anomalies')
      .selectAll()
      .orderBy('detected_at', dir)
      .orderBy('id', dir);
    if (options.limit !== undefined) query = query.limit(options.limit);
    return (await query.execute()).map(toAnomaly);
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
    const row = await this.#openDb()
      .selectFrom('series')
      .selectAll()
      .where('sku', '=', sku)
      .where('warehouse', '=', warehouse)
      .executeTakeFirst();
    return row === undefined ? null : toSeriesRow(row);
  }

  #openDb(): Kysely<Database> {
    if (this.#state === 'open') return this.#db;
    throw new Error(
      this.#state === 'new' ? 'SqlStateStore: call open() first' : 'SqlStateStore: the store is closed',
    );
  }

  /**
   * Multi-row inserts in chunks that stay under the parameter and payload limits. Each chunk's SQL
   * depends only on the table and the row count, so it is compiled by Kysely once per size and then
   * run with the row values bound in column order (building and compiling a Kysely query of 5,000
   * rows on every commit cost about as much as SQLite's work). Chunk sizes are the full size or
   * powers of two, a small fixed set whose statements the driver can keep prepared.
   */
  async #write<T extends Table>(
    trx: Transaction<Database>,
    spec: WriteSpec<T>,
    rows: readonly Row<T>[],
  ): Promise<void> {
    if (rows.length === 0) return;
    const columns = spec.columns;
    const width = columns.length;
    const params: unknown[] = new Array(rows.length * width);
    const bytes: number[] = new Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r] as Row<T>;
      let size = 0;
      for (let c = 0; c < width; c++) {
        const value = row[columns[c] as Column<T>];
        params[r * width + c] = value;
        size += estimateBytes(value);
      }
      bytes[r] = size;
    }
    const maxRows = Math.max(1, Math.floor(this.#maxParameters / width));
    for (const [start, count] of planChunks(bytes, maxRows, this.#maxStatementBytes)) {
      const compiled = CompiledQuery.raw(
        this.#insertSql(spec, count),
        params.slice(start * width, (start + count) * width),
      );
      await trx.executeQuery(compiled);
    }
  }

  /** The SQL of a `count`-row insert into `spec.table`, compiled by Kysely and kept. */
  #insertSql<T extends Table>(spec: WriteSpec<T>, count: number): string {
    const cacheKey = `${spec.table}|${count}`;
    const cached = this.#sqlCache.get(cacheKey);
    if (cached !== undefined) return cached;
    // Placeholder rows whose values are their own bind positions: checking them proves Kysely binds
    // row by row in `spec.columns` order, the order #write fills the parameters in.
    const width = spec.columns.length;
    const rows = Array.from({ length: count }, (_, r) =>
      Object.fromEntries(spec.columns.map((column, c) => [column, r * width + c])),
    );
    const insert = this.#db.insertInto(spec.table).values(rows as never);
    const compiled = conflictClause(insert, this.dialect, spec).compile();
    if (
      compiled.parameters.length !== count * width ||
      compiled.parameters.some((value, position) => value !== position)
    ) {
      throw new Error(`SqlStateStore: unexpected parameter order compiling the insert into ${spec.table}`);
    }
    this.#sqlCache.set(cacheKey, compiled.sql);
    return compiled.sql;
  }
}
