/**
 * The write path of the SQL state store: how a batch becomes rows, and how rows become few multi-row
 * inserts. The only dialect-specific SQL of the store is here, in {@link conflictClause}.
 */
import {
  CompiledQuery,
  type InsertQueryBuilder,
  type InsertResult,
  type Kysely,
  sql,
  type Transaction,
} from 'kysely';
import type { BatchCommit } from '../../pipeline/ports.js';
import type { Database, SqlDialect } from './schema.js';

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

/**
 * Series keys (or value keys) per `IN` list: 2 parameters each, far below every dialect's limit.
 *
 * @example
 * ```ts
 * for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) read(keys.slice(i, i + KEYS_PER_QUERY));
 * ```
 */
export const KEYS_PER_QUERY = 500;

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
    'disposition',
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
const UNDELIVERED: WriteSpec<'undelivered_notifications'> = {
  table: 'undelivered_notifications',
  columns: ['receiver', 'notification_id', 'shard_id', 'reason', 'notification', 'created_at'],
  key: ['receiver', 'notification_id'],
  onConflict: 'ignore',
};
const CHECKPOINTS: WriteSpec<'checkpoints'> = {
  table: 'checkpoints',
  columns: ['shard_id', 'sequence_number', 'sub_sequence_number', 'updated_at'],
  key: ['shard_id'],
  onConflict: 'upsert',
};

/**
 * The widest row the store writes (a series row), in bound parameters: a statement must hold one.
 *
 * @example
 * ```ts
 * if (maxParameters < MIN_MAX_PARAMETERS) throw new RangeError('too small');
 * ```
 */
export const MIN_MAX_PARAMETERS = SERIES.columns.length;

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

/**
 * A batch as table rows, de-duplicated as it is applied (see {@link batchRows}).
 *
 * @example
 * ```ts
 * const rows: BatchRows = batchRows(batch, Date.now());
 * ```
 */
export interface BatchRows {
  series: readonly Row<'series'>[];
  values: readonly Row<'state_values'>[];
  events: readonly Row<'applied_events'>[];
  deadLetters: readonly Row<'dead_letters'>[];
  anomalies: readonly Row<'anomalies'>[];
  undelivered: readonly Row<'undelivered_notifications'>[];
  checkpoint: Row<'checkpoints'>;
}

/**
 * The rows a batch writes, stamped `now`. Series and values keep the last of a repeated key (they
 * are upserted); the inserts that ignore a stored key need no de-duplication: the conflict clause
 * applies row by row, in order, within a statement as across statements, so the first wins.
 *
 * @example
 * ```ts
 * const { series, checkpoint } = batchRows(batch, Date.now());
 * ```
 */
export function batchRows(batch: BatchCommit, now: number): BatchRows {
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
    disposition: d.disposition ?? 'dead_letter',
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
  const undelivered = (batch.undelivered ?? []).map((u) => ({
    receiver: u.receiver,
    notification_id: u.notification.id,
    shard_id: u.shardId,
    reason: u.reason,
    notification: JSON.stringify(u.notification),
    created_at: now,
  }));
  const checkpoint = {
    shard_id: batch.shardId,
    sequence_number: batch.checkpoint.sequenceNumber,
    sub_sequence_number: batch.checkpoint.subSequenceNumber,
    updated_at: now,
  };
  return { series, values, events, deadLetters, anomalies, undelivered, checkpoint };
}

/**
 * Multi-row inserts in chunks that stay under the parameter and payload limits. Each chunk's SQL
 * depends only on the table and the row count, so it is compiled by Kysely once per size and then
 * run with the row values bound in column order (building and compiling a Kysely query of 5,000
 * rows on every commit cost about as much as SQLite's work). Chunk sizes are the full size or
 * powers of two, a small fixed set whose statements the driver can keep prepared.
 *
 * @example
 * ```ts
 * const writer = new BatchWriter(db, 'sqlite', DEFAULT_MAX_PARAMETERS, DEFAULT_MAX_STATEMENT_BYTES);
 * await db.transaction().execute((trx) => writer.write(trx, batchRows(batch, Date.now()), batch.forgetEventsBefore));
 * ```
 */
export class BatchWriter {
  /** Insert SQL by table and row count: a few dozen entries at most (see {@link planChunks}). */
  readonly #sqlCache = new Map<string, string>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
    private readonly maxParameters: number,
    private readonly maxStatementBytes: number,
  ) {}

  /**
   * Writes a batch's rows in order inside `trx`: series and values upserted, applied events inserted,
   * the batch's series' applied events older than `forgetEventsBefore` deleted (including those just
   * inserted), dead letters, anomalies and undelivered notifications inserted, the checkpoint
   * upserted last.
   */
  async write(trx: Transaction<Database>, rows: BatchRows, forgetEventsBefore?: number): Promise<void> {
    await this.#insert(trx, SERIES, rows.series);
    await this.#insert(trx, VALUES, rows.values);
    await this.#insert(trx, APPLIED_EVENTS, rows.events);
    if (forgetEventsBefore !== undefined) {
      // Only the batch's series forget: each shard has its own event-time clock (see BatchCommit).
      for (let i = 0; i < rows.series.length; i += KEYS_PER_QUERY) {
        const chunk = rows.series.slice(i, i + KEYS_PER_QUERY);
        await trx
          .deleteFrom('applied_events')
          .where('occurred_at', '<', forgetEventsBefore)
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
    await this.#insert(trx, DEAD_LETTERS, rows.deadLetters);
    await this.#insert(trx, ANOMALIES, rows.anomalies);
    await this.#insert(trx, UNDELIVERED, rows.undelivered);
    await this.#insert(trx, CHECKPOINTS, [rows.checkpoint]);
  }

  async #insert<T extends Table>(
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
    const maxRows = Math.max(1, Math.floor(this.maxParameters / width));
    for (const [start, count] of planChunks(bytes, maxRows, this.maxStatementBytes)) {
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
    // row by row in `spec.columns` order, the order #insert fills the parameters in.
    const width = spec.columns.length;
    const rows = Array.from({ length: count }, (_, r) =>
      Object.fromEntries(spec.columns.map((column, c) => [column, r * width + c])),
    );
    const insert = this.db.insertInto(spec.table).values(rows as never);
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
