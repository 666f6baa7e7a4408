/**
 * Which SQL errors mean "the store refuses this data" ({@link StoreRefusedError}): the same rows will
 * be refused again, so the engine sets aside the record that carries them instead of retrying the
 * batch forever. Everything else (an unreachable, busy, locked, full or read-only database, a deadlock,
 * a lost connection) stays the driver's error, which the engine retries.
 */
import { StoreRefusedError } from '../../pipeline/ports.js';
import type { SqlDialect } from './schema.js';

/**
 * MySQL/MariaDB errors raised by a value the column cannot hold, by errno. With strict mode
 * (STRICT_TRANS_TABLES, the default of MariaDB 10.2.4+ and MySQL 5.7+) each is an error for the
 * statement, not a warning; each names the column (and, for a conversion, the value) as the server
 * sees it.
 *
 * Not listed, because no statement of the store can raise them: ER_TOO_LONG_KEY (1071) comes from
 * DDL (an index over 3,072 bytes), never from inserting a row, and ER_CANT_CREATE_GEOMETRY_OBJECT
 * (1416) needs a geometry column, which the schema has none of.
 *
 * @example
 * ```ts
 * MYSQL_REFUSALS.get(1406); // 'ER_DATA_TOO_LONG'
 * ```
 */
export const MYSQL_REFUSALS: ReadonlyMap<number, string> = new Map([
  // NULL in a NOT NULL column: "Column 'sku' cannot be null".
  [1048, 'ER_BAD_NULL_ERROR'],
  // A number beyond the column's type: "Out of range value for column 'sub_sequence_number' at row 1".
  [1264, 'ER_WARN_DATA_OUT_OF_RANGE'],
  // A value the column's type cuts: "Data truncated for column 'x' at row 1".
  [1265, 'WARN_DATA_TRUNCATED'],
  // A conversion that loses the value: "Truncated incorrect DOUBLE value: 'x'".
  [1292, 'ER_TRUNCATED_WRONG_VALUE'],
  // A value of the wrong kind, or a string the column's character set cannot hold:
  // "Incorrect double value: 'x' for column `db`.`series`.`on_hand` at row 1".
  [1366, 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD'],
  // A string longer than its column (VARCHAR(191) keys): "Data too long for column 'sku' at row 1".
  [1406, 'ER_DATA_TOO_LONG'],
]);

/**
 * SQLite error codes raised by data rather than by the database file: a string or blob over
 * SQLITE_MAX_LENGTH, a type an INTEGER PRIMARY KEY or STRICT table cannot take, a NULL in a NOT NULL
 * column, a failed CHECK. (The schema has no CHECK nor STRICT table today; the codes are listed so
 * that adding one keeps the mapping right.)
 *
 * @example
 * ```ts
 * SQLITE_REFUSALS.has('SQLITE_TOOBIG'); // true
 * ```
 */
export const SQLITE_REFUSALS: ReadonlySet<string> = new Set([
  'SQLITE_TOOBIG',
  'SQLITE_MISMATCH',
  'SQLITE_CONSTRAINT_NOTNULL',
  'SQLITE_CONSTRAINT_CHECK',
]);

/** Server messages are short; this bounds one that quotes a long value (never the whole row). */
const MESSAGE_MAX = 300;

function shorten(message: string): string {
  return message.length <= MESSAGE_MAX ? message : `${message.slice(0, MESSAGE_MAX - 1)}…`;
}

interface DriverError {
  errno?: unknown;
  code?: unknown;
  sqlMessage?: unknown;
  message?: unknown;
  cause?: unknown;
}

/**
 * The {@link StoreRefusedError} that `error`, thrown by a commit on `dialect`, amounts to, or
 * undefined when it is not a data error (then it is to be thrown as it is). Looks through a short
 * `cause` chain, since a wrapper may carry the driver's error.
 *
 * @example
 * ```ts
 * try { await write(); }
 * catch (error) { throw refusedBySqlStore('mysql', error) ?? error; }
 * // StoreRefusedError: mysql state store refused the batch: Data too long for column 'sku' at row 1 (ER_DATA_TOO_LONG)
 * ```
 */
export function refusedBySqlStore(dialect: SqlDialect, error: unknown): StoreRefusedError | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const d = e as DriverError;
    if (e instanceof StoreRefusedError) return e;
    const text = typeof d.sqlMessage === 'string' ? d.sqlMessage : String(d.message ?? '');
    if (dialect === 'mysql' && typeof d.errno === 'number') {
      const name = MYSQL_REFUSALS.get(d.errno);
      if (name !== undefined)
        return new StoreRefusedError('mysql', `${shorten(text)} (${name})`, { cause: error });
    }
    if (dialect === 'sqlite' && typeof d.code === 'string' && SQLITE_REFUSALS.has(d.code)) {
      return new StoreRefusedError('sqlite', `${shorten(text)} (${d.code})`, { cause: error });
    }
    e = d.cause;
  }
  return undefined;
}
