/**
 * What a `shelfwatch run` with a SQLite store and a file alert sink leaves behind, read back for
 * comparison with another run: the series, anomalies, applied ids, dead letters, checkpoint and the
 * notifications delivered to the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * One dead letter as the comparison sees it: where, which code, why.
 *
 * @example
 * ```ts
 * const d: StoredDeadLetter = { sequence: 42, code: 'schema', reason: 'ITEM_NO: …' };
 * ```
 */
export interface StoredDeadLetter {
  sequence: number;
  code: string;
  reason: string;
}

/**
 * The end state of one run.
 *
 * @example
 * ```ts
 * const o: RunOutcome = readOutcome('/tmp/run.db', '/tmp/alerts.ndjson');
 * o.deadLetters.length;
 * ```
 */
export interface RunOutcome {
  /** Every series row but `updated_at` (wall clock), ordered by SKU and warehouse. */
  series: Array<Record<string, unknown>>;
  anomalies: string[];
  /**
   * Ids applied within the last duplicate window of event time: no commit of either run forgot them
   * (each series forgets on its own shard's clock, so older leftovers depend on where batches were cut).
   */
  appliedWindow: string[];
  /** Every applied id still stored. */
  appliedAll: string[];
  /** Where the last window starts: the newest event time of any series minus the window. */
  windowStart: number;
  /** Ordered by sequence number. */
  deadLetters: StoredDeadLetter[];
  /** The file shard's stored position (line number), 0 without a checkpoint. */
  checkpoint: number;
  /** Ids of the notifications in the alert file, in file order (repeats kept: they are what is counted). */
  notifications: string[];
}

/**
 * Reads the outcome of a run; the database is opened read-only (the job may still run).
 *
 * @example
 * ```ts
 * const clean = readOutcome(join(dir, 'clean.db'), join(dir, 'clean-alerts.ndjson'));
 * ```
 */
export function readOutcome(dbPath: string, alertsPath: string, windowMs = 86_400_000): RunOutcome {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const ids = (sql: string, ...params: unknown[]): string[] =>
      (db.prepare(sql).all(...params) as Array<{ id: string }>).map((r) => r.id);
    return {
      series: db
        .prepare(
          'SELECT sku, warehouse, on_hand, reserved, inbound, last_count_quantity, last_count_at, sales_velocity, last_event_at, model FROM series ORDER BY sku, warehouse',
        )
        .all() as Array<Record<string, unknown>>,
      anomalies: ids('SELECT id FROM anomalies ORDER BY id'),
      appliedWindow: ids(
        'SELECT event_id AS id FROM applied_events WHERE occurred_at >= (SELECT max(last_event_at) FROM series) - ? ORDER BY event_id',
        windowMs,
      ),
      appliedAll: ids('SELECT event_id AS id FROM applied_events ORDER BY event_id'),
      windowStart:
        ((db.prepare('SELECT max(last_event_at) AS t FROM series').get() as { t: number | null }).t ?? 0) -
        windowMs,
      deadLetters: (
        db.prepare('SELECT sequence_number, code, reason FROM dead_letters').all() as Array<{
          sequence_number: string;
          code: string;
          reason: string;
        }>
      )
        .map((r) => ({ sequence: Number(r.sequence_number), code: r.code, reason: r.reason }))
        .sort((a, b) => a.sequence - b.sequence),
      checkpoint: storedCheckpoint(db),
      notifications: notificationIds(alertsPath),
    };
  } finally {
    db.close();
  }
}

function storedCheckpoint(db: Database.Database): number {
  const row = db.prepare('SELECT max(CAST(sequence_number AS INTEGER)) AS n FROM checkpoints').get() as
    | { n: number | null }
    | undefined;
  return row?.n ?? 0;
}

/**
 * The stored position of a SQLite state file while its job runs (0 before the first commit or when
 * the file cannot be read yet). Opens and closes the file on each call: cheap at the campaign's
 * polling rate, and it never holds a read transaction that would keep the WAL from being checkpointed.
 *
 * @example
 * ```ts
 * await until('line 5,000 committed', () => checkpointOf(dbPath) >= 5_000, 60_000);
 * ```
 */
export function checkpointOf(dbPath: string): number {
  if (!existsSync(dbPath)) return 0;
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      return storedCheckpoint(db);
    } finally {
      db.close();
    }
  } catch {
    // Not created yet (no tables), or busy: no position to report this time.
    return 0;
  }
}

/**
 * Notification ids of an NDJSON alert file, in file order ([] when it does not exist).
 *
 * @example
 * ```ts
 * const ids = notificationIds('alerts.ndjson');
 * const repeats = ids.length - new Set(ids).size;
 * ```
 */
export function notificationIds(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { id: string }).id);
}

/**
 * How many entries occur more than once (each extra occurrence counts).
 *
 * @example
 * ```ts
 * repeats(['a', 'b', 'a']); // 1
 * ```
 */
export const repeats = (ids: readonly string[]): number => ids.length - new Set(ids).size;
