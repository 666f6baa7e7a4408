/**
 * The error a state store throws for a storage fault (disk full, a read-only file, a lock held too
 * long, an I/O error): the cause as a code, where, and whether waiting can fix it. Faults of the
 * caller's data or of the code (a NOT NULL violation, a fenced checkpoint) are not StoreErrors.
 */

/**
 * Fields of a {@link StoreError}.
 *
 * @example
 * ```ts
 * const fields: StoreErrorOptions = { code: 'SQLITE_FULL', store: 'sqlite', location: 'data/state.db', retryable: true };
 * ```
 */
export interface StoreErrorOptions {
  /** The store's own code (`SQLITE_FULL`, `SQLITE_IOERR_WRITE`, …) or the OS errno (`EROFS`, `EACCES`, …). */
  code: string;
  /** Which kind of store: `'sqlite'`. */
  store: string;
  /** Where it keeps its state: the database file of SQLite. */
  location: string;
  /** True when the same operation may succeed later without anyone acting (space freed, a lock released). */
  retryable: boolean;
  /** The driver's or the OS's error. */
  cause?: unknown;
  /** The error of the ROLLBACK that followed, when that failed too: secondary information. */
  rollbackError?: unknown;
}

/**
 * A storage fault of a state store. The message names the store, its location, the cause and what to
 * do, because that message is all the job's retry log shows.
 *
 * `retryable` is false for faults that last until an operator acts (a read-only file or folder, a
 * corrupt file, a missing path) and true for those that may pass (disk full, busy, an I/O error).
 *
 * @example
 * ```ts
 * try { await store.commit(batch); }
 * catch (e) { if (e instanceof StoreError && !e.retryable) alertOperator(e.message); throw e; }
 * ```
 */
export class StoreError extends Error {
  readonly code: string;
  readonly store: string;
  readonly location: string;
  readonly retryable: boolean;
  readonly rollbackError: unknown;

  constructor(message: string, options: StoreErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = options.code;
    this.store = options.store;
    this.location = options.location;
    this.retryable = options.retryable;
    this.rollbackError = options.rollbackError;
  }
}

/** Rollback errors kept beside the error that made the transaction roll back (see below). */
const rollbackErrors = new WeakMap<object, unknown>();

/**
 * Records that rolling back after `error` failed as well. The transaction code throws `error`, the
 * first and real cause; the rollback's failure (often "cannot rollback - no transaction is active",
 * because SQLite already rolled back on SQLITE_FULL or an I/O error) stays reachable through
 * {@link rollbackErrorOf} without replacing it.
 *
 * @example
 * ```ts
 * try { await trx.rollback().execute(); } catch (rollbackError) { keepRollbackError(error, rollbackError); }
 * throw error;
 * ```
 */
export function keepRollbackError(error: unknown, rollbackError: unknown): void {
  if (typeof error === 'object' && error !== null) rollbackErrors.set(error, rollbackError);
}

/**
 * The failed rollback recorded for `error` by {@link keepRollbackError}, or undefined.
 *
 * @example
 * ```ts
 * const secondary = rollbackErrorOf(error); // e.g. SqliteError: cannot rollback - no transaction is active
 * ```
 */
export function rollbackErrorOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? rollbackErrors.get(error) : undefined;
}
