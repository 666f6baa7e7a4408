/**
 * Which SQL errors are refusals of the data (StoreRefusedError) and which stay the driver's error:
 * the mapping table, errors SQLite itself raises (a real SqliteError for each mapped code), and a
 * commit through the SQLite store that SQLite refuses.
 */
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { StoreRefusedError } from '../../pipeline/ports.js';
import { MYSQL_REFUSALS, refusedBySqlStore, SQLITE_REFUSALS } from './refused.js';
import { createSqliteStore } from './sqlite.js';

/** An error shaped as mysql2 makes them. */
function mysqlError(errno: number, code: string, sqlMessage: string): Error {
  return Object.assign(new Error(sqlMessage), { errno, code, sqlMessage, sqlState: 'HY000' });
}

/** The error better-sqlite3 throws for `sql` (run with `params`) on a small table. */
function sqliteError(sqlText: string, params: unknown[] = []): Error {
  const db = new SQLite(':memory:');
  try {
    db.exec('create table t (id integer primary key, b text not null)');
    db.prepare(sqlText).run(...params);
  } catch (error) {
    return error as Error;
  } finally {
    db.close();
  }
  throw new Error(`${sqlText} did not fail`);
}

describe('refusedBySqlStore on MySQL errors', () => {
  it('maps each data error to a StoreRefusedError with the server’s message and the error name', () => {
    expect([...MYSQL_REFUSALS.keys()].sort()).toEqual([1048, 1264, 1265, 1292, 1366, 1406]);
    for (const [errno, name] of MYSQL_REFUSALS) {
      const cause = mysqlError(errno, name, `message of ${errno} for column 'c' at row 1`);
      const refused = refusedBySqlStore('mysql', cause);
      expect(refused).toBeInstanceOf(StoreRefusedError);
      expect(refused?.message).toBe(
        `mysql state store refused the batch: message of ${errno} for column 'c' at row 1 (${name})`,
      );
      expect(refused?.cause).toBe(cause);
      expect(refused?.retryable).toBe(false);
    }
  });

  it('leaves unavailable, busy, read-only and racing servers, and code bugs, as they are', () => {
    const others = [
      mysqlError(1213, 'ER_LOCK_DEADLOCK', 'Deadlock found when trying to get lock'),
      mysqlError(1205, 'ER_LOCK_WAIT_TIMEOUT', 'Lock wait timeout exceeded'),
      mysqlError(
        1290,
        'ER_OPTION_PREVENTS_STATEMENT',
        'The MariaDB server is running with the --read-only option',
      ),
      mysqlError(1142, 'ER_TABLEACCESS_DENIED_ERROR', 'INSERT command denied to user'),
      mysqlError(1045, 'ER_ACCESS_DENIED_ERROR', 'Access denied for user'),
      mysqlError(1054, 'ER_BAD_FIELD_ERROR', "Unknown column 'NaN' in 'field list'"),
      mysqlError(1071, 'ER_TOO_LONG_KEY', 'Specified key was too long'),
      mysqlError(2013, 'PROTOCOL_CONNECTION_LOST', 'Lost connection to MySQL server'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED', errno: -111 }),
    ];
    for (const error of others) expect(refusedBySqlStore('mysql', error)).toBeUndefined();
    // A SQLite store never reads MySQL numbers, and the other way round.
    expect(
      refusedBySqlStore('sqlite', mysqlError(1406, 'ER_DATA_TOO_LONG', 'Data too long')),
    ).toBeUndefined();
  });

  it('finds the driver’s error under a wrapper, and keeps a long message short', () => {
    const inner = mysqlError(
      1366,
      'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
      `Incorrect string value: '${'\\xF0'.repeat(200)}'`,
    );
    const refused = refusedBySqlStore('mysql', new Error('commit failed', { cause: inner }));
    expect(refused).toBeInstanceOf(StoreRefusedError);
    expect(refused?.message.length).toBeLessThan(400);
    expect(refused?.message).toMatch(/… \(ER_TRUNCATED_WRONG_VALUE_FOR_FIELD\)$/);
    const already = new StoreRefusedError('mysql', 'x');
    expect(refusedBySqlStore('mysql', already)).toBe(already);
  });
});

describe('refusedBySqlStore on errors SQLite raises', () => {
  it('maps string or blob too big, datatype mismatch and NOT NULL, each a real SqliteError', () => {
    const raised = [
      // SQLITE_MAX_LENGTH (1e9 bytes) is beyond what a test should allocate; zeroblob asks for more
      // without allocating, and SQLite refuses it with the same code a bound value that long gets.
      sqliteError('select zeroblob(2000000000)'),
      sqliteError('insert into t values (?, ?)', ['not an integer', 'b']),
      sqliteError('insert into t values (?, ?)', [1, null]),
    ];
    expect(raised.map((e) => (e as { code?: string }).code)).toEqual([
      'SQLITE_TOOBIG',
      'SQLITE_MISMATCH',
      'SQLITE_CONSTRAINT_NOTNULL',
    ]);
    expect(raised.map((e) => refusedBySqlStore('sqlite', e)?.message)).toEqual([
      'sqlite state store refused the batch: string or blob too big (SQLITE_TOOBIG)',
      'sqlite state store refused the batch: datatype mismatch (SQLITE_MISMATCH)',
      'sqlite state store refused the batch: NOT NULL constraint failed: t.b (SQLITE_CONSTRAINT_NOTNULL)',
    ]);
    expect(SQLITE_REFUSALS.has('SQLITE_CONSTRAINT_CHECK')).toBe(true);
  });

  it('leaves storage faults and key conflicts as they are', () => {
    const duplicate = (() => {
      const db = new SQLite(':memory:');
      db.exec('create table t (id integer primary key)');
      db.exec('insert into t values (1)');
      try {
        db.exec('insert into t values (1)');
      } catch (error) {
        return error as Error;
      } finally {
        db.close();
      }
      throw new Error('no conflict');
    })();
    expect((duplicate as { code?: string }).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    const faults = [
      duplicate,
      ...[
        'SQLITE_BUSY',
        'SQLITE_LOCKED',
        'SQLITE_FULL',
        'SQLITE_READONLY',
        'SQLITE_IOERR_WRITE',
        'SQLITE_CANTOPEN',
      ].map((code) => Object.assign(new Error(code), { code })),
    ];
    for (const fault of faults) expect(refusedBySqlStore('sqlite', fault)).toBeUndefined();
  });

  it('a commit SQLite refuses rejects with StoreRefusedError (through the store’s fault reporting), nothing written', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    await store.open();
    try {
      await store.commit({
        shardId: 'shard-0',
        checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 },
        series: [],
        values: [{ key: 'k', value: 'v' }],
        appliedEvents: [],
        deadLetters: [],
        anomalies: [],
      });
      const failure = await store
        .commit({
          shardId: 'shard-0',
          checkpoint: { sequenceNumber: '2', subSequenceNumber: 0 },
          series: [],
          values: [{ key: 'k', value: null as unknown as string }],
          appliedEvents: [],
          deadLetters: [],
          anomalies: [],
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(failure).toBeInstanceOf(StoreRefusedError);
      expect((failure as Error).message).toBe(
        'sqlite state store refused the batch: NOT NULL constraint failed: state_values.value (SQLITE_CONSTRAINT_NOTNULL)',
      );
      expect(await store.loadValues(['k'])).toEqual([{ key: 'k', value: 'v' }]);
      expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '1', subSequenceNumber: 0 });
    } finally {
      await store.close();
    }
  });
});
