/**
 * Transactions of the SQL state store: how one is run on each dialect, the fence a commit checks
 * first, and the retry of a MySQL transaction that lost a race (deadlock victim, snapshot conflict).
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
import { StaleCheckpointError } from '../../pipeline/ports.js';
import { RetryPolicy } from '../../pipeline/retry.js';
import { retryStoreOperation } from '../store-retry.js';
import type { Database, SqlDialect } from './schema.js';
import { keepRollbackError } from './store-error.js';

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
 * Runs `body` in a transaction and commits it.
 *
 * MySQL: REPEATABLE READ whatever the server's default (an RDS parameter group may say READ
 * COMMITTED), because the fencing relies on its gap locks and `load()` on one snapshot for its reads.
 *
 * SQLite (serializable anyway): when a statement (or COMMIT) fails with SQLITE_FULL, an I/O error and
 * a few others, SQLite has already rolled the transaction back, so the ROLLBACK that follows fails with
 * "cannot rollback - no transaction is active"; Kysely's `transaction().execute()` throws that error
 * in place of the real one. Here the first error is thrown and a failed rollback is kept beside it
 * ({@link keepRollbackError}).
 *
 * @example
 * ```ts
 * const n = await runTransaction(db, 'sqlite', (trx) => trx.selectFrom('series').selectAll().execute());
 * ```
 */
export async function runTransaction<T>(
  db: Kysely<Database>,
  dialect: SqlDialect,
  body: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  if (dialect !== 'sqlite') return db.transaction().setIsolationLevel('repeatable read').execute(body);
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
 * What a commit's transaction does before it writes: on SQLite, take the write lock; with an
 * `expected` checkpoint, check that the stored one is exactly that, holding its row.
 *
 * SQLite: a transaction that reads first and writes later cannot wait for the lock once another
 * process has committed since its read (WAL's SQLITE_BUSY_SNAPSHOT: "database is locked" at once,
 * busy_timeout or not); taking the lock first lets busy_timeout queue the writers of several worker
 * processes instead. An UPDATE that matches no row still starts the write transaction.
 *
 * MySQL: `FOR UPDATE`, which under REPEATABLE READ also locks the gap where a missing row would go, so
 * two workers expecting "no checkpoint yet" cannot both insert one.
 *
 * @throws {StaleCheckpointError} when the stored checkpoint is not `expected`.
 * @example
 * ```ts
 * await runTransaction(db, dialect, async (trx) => {
 *   await fence(trx, dialect, batch.shardId, batch.expectedCheckpoint);
 *   await writer.write(trx, rows);
 * });
 * ```
 */
export async function fence(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  shardId: string,
  expected: ExtendedSequenceNumber | null | undefined,
): Promise<void> {
  if (dialect === 'sqlite') await sql`UPDATE checkpoints SET shard_id = shard_id WHERE 0`.execute(trx);
  if (expected === undefined) return;
  let query = trx
    .selectFrom('checkpoints')
    .select(['sequence_number', 'sub_sequence_number'])
    .where('shard_id', '=', shardId);
  if (dialect === 'mysql') query = query.forUpdate();
  const row = await query.executeTakeFirst();
  const actual =
    row === undefined
      ? null
      : { sequenceNumber: row.sequence_number, subSequenceNumber: row.sub_sequence_number };
  const same =
    actual === null || expected === null
      ? actual === expected
      : actual.sequenceNumber === expected.sequenceNumber &&
        actual.subSequenceNumber === expected.subSequenceNumber;
  if (!same) throw new StaleCheckpointError(shardId, expected, actual);
}

/**
 * The upper bound of the wait before the first re-run of a transaction that lost a race: a few
 * milliseconds, jittered, so that two retrying workers do not collide again in step.
 */
const CONFLICT_BASE_DELAY_MS = 12;
/** The largest wait between re-runs (what the third re-run waited at most before the one policy). */
const CONFLICT_MAX_DELAY_MS = 32;

/**
 * The retry policy of a commit that lost a race: `retries` re-runs after the first attempt, waits
 * uniform in [0, min(32, 12 · 2^(n−1))) ms, and only {@link isTransactionConflict} errors retried.
 *
 * @example
 * ```ts
 * const policy = conflictRetryPolicy(DEFAULT_CONFLICT_RETRIES); // 4 attempts in all
 * ```
 */
export function conflictRetryPolicy(retries: number): RetryPolicy {
  return new RetryPolicy({
    maxAttempts: retries + 1,
    baseDelayMs: CONFLICT_BASE_DELAY_MS,
    maxDelayMs: CONFLICT_MAX_DELAY_MS,
    classify: (error) => (isTransactionConflict(error) ? 'transient' : 'permanent'),
  });
}

/**
 * Runs `transaction` and, on MySQL, runs it again under `policy` ({@link conflictRetryPolicy}) when
 * InnoDB aborted it as a deadlock victim or snapshot conflict: it was rolled back whole, so running it
 * again is safe; with fencing, the second run then sees the winner's checkpoint and reports
 * StaleCheckpointError, which is what the loser of the race must get. Rejects with the transaction's
 * own last error.
 *
 * @example
 * ```ts
 * await retryConflicts('mysql', conflictRetryPolicy(3), () => runTransaction(db, 'mysql', body));
 * ```
 */
export async function retryConflicts(
  dialect: SqlDialect,
  policy: RetryPolicy,
  transaction: () => Promise<void>,
): Promise<void> {
  // SQLite has one writer at a time: no race to lose.
  if (dialect !== 'mysql') return transaction();
  return retryStoreOperation(policy, 'state store commit', transaction);
}
