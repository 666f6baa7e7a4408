/**
 * The state store variants of the run configuration (`store:`), one strict object per `type`.
 * Add a store by adding its schema to {@link STORE_VARIANTS}. Secrets (`password`, the user info of a
 * `url`) are recognised by key name in redact.ts: name new secret keys accordingly.
 */
import { z } from 'zod';
import { bool, httpUrl, int, text } from './leaves.js';

const SqliteStoreSchema = z
  .strictObject({
    type: z.literal('sqlite'),
    path: text('a file path').default('data/shelfwatch.db').meta({
      description:
        'The database file (WAL mode: `-wal` and `-shm` files beside it); its folder is created and must be writable.',
    }),
  })
  .meta({
    description: 'SQLite: one file, any number of worker processes on one host (the default).',
  });

/**
 * What a `mysql://user:password@host:port/database` URL says; parts it leaves out are absent.
 *
 * @example
 * ```ts
 * const parts: MysqlUrlParts = { host: 'db', port: 3306, user: 'app', password: 'pw', database: 'shelfwatch' };
 * ```
 */
export interface MysqlUrlParts {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
}

/**
 * Reads a MySQL connection URL: `mysql://` or `mariadb://`, user and password URL-encoded
 * (`p%40ss` for `p@ss`), the database as the only path segment, no query parameters (TLS, pool size
 * and timeouts are settings of their own). Error messages never repeat the URL, which may hold a
 * password; they start with "must", to follow the key path in a configuration error.
 *
 * @throws {Error} when the URL does not parse or breaks one of those rules.
 * @example
 * ```ts
 * parseMysqlUrl('mysql://app:p%40ss@db.example.com:3307/shelfwatch');
 * // { host: 'db.example.com', port: 3307, user: 'app', password: 'p@ss', database: 'shelfwatch' }
 * ```
 */
export function parseMysqlUrl(value: string): MysqlUrlParts {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('must be a URL like mysql://user:password@host:3306/database');
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new Error(`must start with mysql:// or mariadb://, not ${url.protocol}//`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new Error('must not have query parameters or a fragment: set ssl, poolSize and timeouts as keys');
  }
  const path = url.pathname.replace(/^\//, '');
  if (path.includes('/')) throw new Error('must name one database as its path (mysql://host/database)');
  let parts: MysqlUrlParts;
  try {
    parts = {
      host: url.hostname === '' ? undefined : url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      user: url.username === '' ? undefined : decodeURIComponent(url.username),
      password: url.password === '' ? undefined : decodeURIComponent(url.password),
      database: path === '' ? undefined : decodeURIComponent(path),
    };
  } catch {
    throw new Error('must URL-encode its user, password and database (a stray % does not decode)');
  }
  return Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined)) as MysqlUrlParts;
}

const MysqlTlsSchema = z.union(
  [
    bool(),
    z.literal('rds'),
    z.strictObject({
      ca: text('a PEM file path').meta({
        description: 'With `ssl: { ca }`: PEM file of the authorities the server certificate must chain to.',
      }),
    }),
  ],
  { error: 'must be true, false, "rds" or { ca: <PEM file> }' },
);

/**
 * After validation every part of the MySQL connection is resolved: `host`, `port` (default 3306) and
 * `database` are always set; keys given beside a `url` override its parts, so that the password can come
 * from its own variable.
 */
const MysqlStoreSchema = z
  .strictObject({
    type: z.literal('mysql'),
    // Secret (its user info), by key name.
    url: text('a mysql:// URL').optional().meta({
      description:
        '`mysql://user:password@host:port/database` (user and password URL-encoded, no query parameters); keys given beside it override its parts.',
    }),
    host: text('a host name').optional().meta({ description: 'The server; required unless `url` names it.' }),
    port: int(1, 65_535)
      .optional()
      .meta({ description: "The server's port; default: the `url`'s, else 3306." }),
    user: text('a user name').optional().meta({ description: "The user; default: the `url`'s." }),
    password: z
      .string({ error: 'must be a string (quote a password that looks like a number)' })
      .optional()
      .meta({
        description:
          'The user\'s password; default: the `url`\'s. Quote one YAML would read as a number (`"0123"`).',
      }),
    database: text('a database name')
      .optional()
      .meta({ description: 'The database (schema); required unless `url` ends in `/database`.' }),
    poolSize: int(1, 1_000).default(4).meta({ description: 'Connections in the pool.' }),
    ssl: MysqlTlsSchema.optional().meta({
      description:
        "TLS: `false` none (default); `true` verified against Node's trusted CAs; `rds` verified against the Amazon RDS CA bundle (RDS, Aurora); `{ ca: file }` verified against that PEM file.",
    }),
    connectTimeoutMs: int(1, 600_000)
      .default(10_000)
      .meta({ description: 'Connecting gives up after this long, ms.' }),
    queryTimeoutMs: int(1, 3_600_000).default(30_000).meta({
      description:
        'A statement gives up after this long and its connection is closed (the server rolls back), ms; the engine then retries.',
    }),
  })
  .superRefine((config, ctx) => {
    let fromUrl: MysqlUrlParts = {};
    if (config.url !== undefined) {
      try {
        fromUrl = parseMysqlUrl(config.url);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: (err as Error).message });
        return;
      }
    }
    if (config.host === undefined && fromUrl.host === undefined) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'is required (or a url with a host)' });
    }
    if (config.database === undefined && fromUrl.database === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['database'],
        message: 'is required (or a url ending in /database)',
      });
    }
  })
  .meta({
    description:
      'MySQL 8 / MariaDB 10.5+ / Amazon RDS / Aurora MySQL, given as a `url` or as `host`, `port`, `user`, `password`, `database`.',
  })
  .transform((config) => {
    const fromUrl = config.url === undefined ? {} : parseMysqlUrl(config.url);
    const user = config.user ?? fromUrl.user;
    const password = config.password ?? fromUrl.password;
    return {
      ...config,
      host: (config.host ?? fromUrl.host) as string,
      port: config.port ?? fromUrl.port ?? 3306,
      ...(user === undefined ? {} : { user }),
      ...(password === undefined ? {} : { password }),
      database: (config.database ?? fromUrl.database) as string,
    };
  });

/** A DynamoDB table name: 3–249 characters (the audit table adds `-audit`, and 255 is the limit). */
const dynamoDbTableName = () =>
  z
    .string({ error: 'must be a DynamoDB table name: 3 to 249 of a-z A-Z 0-9 _ - .' })
    .regex(/^[A-Za-z0-9_.-]{3,249}$/, {
      error: 'must be a DynamoDB table name: 3 to 249 of a-z A-Z 0-9 _ - .',
    });

const DynamoDbStoreSchema = z
  .strictObject({
    type: z.literal('dynamodb'),
    tableName: dynamoDbTableName()
      .default('shelfwatch-state')
      .meta({ description: 'The state table (series, applied events, values, checkpoints).' }),
    auditTableName: dynamoDbTableName().optional().meta({
      description:
        'The audit table (dead letters, anomalies, undelivered notifications); default: `<tableName>-audit`.',
    }),
    region: text('a region such as eu-west-1')
      .optional()
      .meta({ description: 'AWS region; default: `AWS_REGION`.' }),
    endpoint: httpUrl().optional().meta({
      description: 'DynamoDB endpoint (DynamoDB Local); default: `AWS_ENDPOINT_URL_DYNAMODB` or AWS.',
    }),
    createTables: bool().default(true).meta({
      description:
        'Create missing tables (on-demand capacity, TTL on `expiresAt`) at start-up; turn it off where tables are managed as infrastructure.',
    }),
    appliedEventTtlHours: int(1, 8_760).default(168).meta({
      description:
        'Applied event ids expire (DynamoDB TTL) this long after they were written, hours; keep it above `detection.duplicateWindowHours`.',
    }),
    maxAttempts: int(1, 20)
      .default(5)
      .meta({ description: 'Tries per request, the first included, on throttling and network errors.' }),
    requestTimeoutMs: int(100, 600_000)
      .default(10_000)
      .meta({ description: 'A request whose response has not come after this long is abandoned, ms.' }),
  })
  .meta({
    description:
      'Amazon DynamoDB (or DynamoDB Local): a state table and an audit table, created on demand. Credentials from the standard AWS chain.',
  });

/**
 * Every store variant (SQLite, MySQL, DynamoDB). A variant is a strict object with a literal `type`
 * (a transform after it, as MySQL has, is fine).
 */
export const STORE_VARIANTS = [SqliteStoreSchema, MysqlStoreSchema, DynamoDbStoreSchema] as const;
