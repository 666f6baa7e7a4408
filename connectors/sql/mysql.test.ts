/**
 * The MySQL store's connection settings, without a server: URL and fields, TLS, the type settings.
 * Everything that needs a server is in test/mysql-store.test.ts (a MariaDB started there).
 */
import { describe, expect, it } from 'vitest';
import { createMysqlStore, describeMysqlTarget, mysqlPoolOptions, mysqlTarget } from './mysql.js';

describe('mysqlTarget', () => {
  it('reads a URL, with fields overriding its parts', () => {
    expect(mysqlTarget({ url: 'mysql://app:s%40cret@db.example.com:3307/shelfwatch' })).toEqual({
      host: 'db.example.com',
      port: 3307,
      user: 'app',
      password: 's@cret',
      database: 'shelfwatch',
    });
    expect(
      mysqlTarget({ url: 'mariadb://app@db/shelfwatch', password: 'from-secret', database: 'other' }),
    ).toEqual({ host: 'db', port: 3306, user: 'app', password: 'from-secret', database: 'other' });
    expect(mysqlTarget({ host: '::1', database: 'd' })).toEqual({ host: '::1', port: 3306, database: 'd' });
    expect(describeMysqlTarget(mysqlTarget({ host: '::1', user: 'u', database: 'd', password: 'pw' }))).toBe(
      'u@[::1]:3306/d',
    );
  });

  it('refuses what it cannot use, without echoing the URL', () => {
    const secret = 'mysql://app:hunter2@db/shelfwatch';
    for (const [options, message] of [
      [{ url: 'not a url' }, /^MySQL store: url must be a URL like mysql:\/\//],
      [{ url: secret.replace('mysql:', 'postgres:') }, /must start with mysql:\/\/ or mariadb:\/\//],
      [{ url: `${secret}?ssl=true` }, /must not have query parameters/],
      [{ url: 'mysql://app:hunter2@db' }, /no database/],
      [{ database: 'd' }, /no host/],
    ] as const) {
      let failure: unknown;
      try {
        mysqlTarget(options);
      } catch (err) {
        failure = err;
      }
      expect((failure as Error).message).toMatch(message);
      expect((failure as Error).message).not.toContain('hunter2');
    }
  });
});

describe('mysqlPoolOptions', () => {
  it('returns numbers for BIGINT, exact doubles through typeCast, utf8mb4, bounded waits', () => {
    const options = mysqlPoolOptions({ url: 'mysql://u:p@h/d', poolSize: 3, connectTimeoutMs: 1234 });
    expect(options).toMatchObject({
      host: 'h',
      port: 3306,
      user: 'u',
      password: 'p',
      database: 'd',
      connectionLimit: 3,
      connectTimeout: 1234,
      supportBigNumbers: true,
      bigNumberStrings: false,
      charset: 'UTF8MB4_BIN',
      multipleStatements: false,
    });
    expect(options.ssl).toBeUndefined();
    const typeCast = options.typeCast as (field: object, next: () => unknown) => unknown;
    const field = (type: string, text: string | null) => ({ type, string: () => text });
    expect(typeCast(field('DOUBLE', '99913074.19777851'), () => 'mysql2')).toBe(99913074.19777851);
    expect(typeCast(field('DOUBLE', null), () => 'mysql2')).toBeNull();
    expect(typeCast(field('LONGLONG', '1'), () => 'mysql2')).toBe('mysql2');
    expect(() => mysqlPoolOptions({ host: 'h', database: 'd', poolSize: 0 })).toThrow(/poolSize/);
  });

  it('maps ssl: true verifies with Node CAs, rds with the RDS bundle, an object as given', () => {
    expect(mysqlPoolOptions({ host: 'h', database: 'd', ssl: true }).ssl).toEqual({
      rejectUnauthorized: true,
    });
    expect(mysqlPoolOptions({ host: 'h', database: 'd', ssl: 'rds' }).ssl).toBe('Amazon RDS');
    expect(mysqlPoolOptions({ host: 'h', database: 'd', ssl: { ca: 'PEM' } }).ssl).toEqual({
      ca: 'PEM',
      rejectUnauthorized: true,
    });
  });

  it('builds an unopened store that never connects until open()', async () => {
    const store = createMysqlStore({ host: '127.0.0.1', port: 1, database: 'd', ssl: 'rds' });
    expect(store.dialect).toBe('mysql');
    await store.close();
  });
});
