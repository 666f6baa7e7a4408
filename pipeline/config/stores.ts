/**
 * The state store variants of the run configuration (`store:`), one strict object per `type`.
 * Add a store by adding its schema to {@link STORE_VARIANTS}. Secrets (`password`, the user info of a
 * `url`) are recognised by key name in redact.ts: name new secret keys accordingly.
 */
import { z } from 'zod';
import { bool, httpUrl, int, text } from './leaves.js';

const SqliteStoreSchema = z.strictObject({
  type: z.literal('sqlite'),
  path: text('a file path').default('data/shelfwatch.db'),
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

/**
 * TLS towards MySQL: `false` (default) none; `true` verified against Node's trusted CAs; `rds` verified
 * against the Amazon RDS CA bundle (RDS, Aurora); `{ ca: file }` verified against the PEM file given.
 */
const MysqlTlsSchema = z.union([bool(), z.literal('rds'), z.strictObject({ ca: text('a PEM file path') })], {
  error: 'must be true, false, "rds" or { ca: <PEM file> }',
});

/**
 * MySQL / MariaDB / Amazon RDS / Aurora MySQL. The server is a `url` or `host` (+ `port`, `user`,
 * `password`, `database`); keys given beside a `url` override its parts, so that the password can come
 * from its own variable (`SHELFWATCH_STORE__PASSWORD`). After validation every part is resolved:
 * `host`, `port` (default 3306) and `database` are always set.
 */
const MysqlStoreSchema = z
  .strictObject({
    type: z.literal('mysql'),
    /** Secret (its user info): `mysql://user:password@host:port/database`. */
    url: text('a mysql:// URL').optional(),
    host: text('a host name').optional(),
    port: int(1, 65_535).optional(),
    user: text('a user name').optional(),
    /** Secret. A password YAML reads as a number must be quoted (`"0123"`), or it would lose digits. */
    password: z.string({ error: 'must be a string (quote a password that looks like a number)' }).optional(),
    database: text('a database name').optional(),
    poolSize: int(1, 1_000).default(4),
    ssl: MysqlTlsSchema.optional(),
    connectTimeoutMs: int(1, 600_000).default(10_000),
    queryTimeoutMs: int(1, 3_600_000).default(30_000),
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

/**
 * Amazon DynamoDB (or DynamoDB Local): a state table and an audit table (`<tableName>-audit`), created
 * on demand. Region, endpoint and credentials come from the standard AWS chain (`AWS_REGION`,
 * `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ACCESS_KEY_ID` …, profiles, instance roles) unless set here.
 */
const DynamoDbStoreSchema = z.strictObject({
  type: z.literal('dynamodb'),
  tableName: dynamoDbTableName().default('shelfwatch-state'),
  auditTableName: dynamoDbTableName().optional(),
  region: text('a region such as eu-west-1').optional(),
  endpoint: httpUrl().optional(),
  /** Create missing tables at start-up (off where tables are managed as infrastructure). */
  createTables: bool().default(true),
  /** Applied events expire (TTL) this long after they were written: keep it above the duplicate window. */
  appliedEventTtlHours: int(1, 8_760).default(168),
  maxAttempts: int(1, 20).default(5),
  requestTimeoutMs: int(100, 600_000).default(10_000),
});

/**
 * Every store variant (SQLite, MySQL, DynamoDB). A variant is a strict object with a literal `type`
 * (a transform after it, as MySQL has, is fine).
 */
export const STORE_VARIANTS = [SqliteStoreSchema, MysqlStoreSchema, DynamoDbStoreSchema] as const;
