/**
 * The state store named by the run configuration (`store:`): one switch over the variants of
 * pipeline/config/stores.ts. A new variant is one `case` line here; until it has one, the exhaustive
 * `default` makes the build fail on this file rather than the job fail at start-up.
 */
import { readFileSync } from 'node:fs';
import type { StoreConfig } from '../pipeline/config/schema.js';
import type { Anomaly, DeadLetter, StateStore } from '../pipeline/ports.js';
import { createDynamoDbStore } from './dynamodb/state-store.js';
import { createMysqlStore, describeMysqlTarget, type MysqlTls } from './sql/mysql.js';
import { createSqliteStore } from './sql/sqlite.js';

/**
 * A state store with the read side the CLI and audits use (every store offers it).
 *
 * @example
 * ```ts
 * const store: InspectableStore = createStoreFromConfig({ type: 'sqlite', path: ':memory:' });
 * ```
 */
export interface InspectableStore extends StateStore {
  countDeadLetters(): Promise<number>;
  listDeadLetters(): Promise<DeadLetter[]>;
  listAnomalies(): Promise<Anomaly[]>;
}

/**
 * Builds the configured store, unopened (nothing connects or touches the disk before `open()`).
 *
 * @throws {Error} when a file the configuration names cannot be read (`store.ssl.ca`).
 * @example
 * ```ts
 * const store = createStoreFromConfig(loadRunConfig().store);
 * await store.open();
 * ```
 */
export function createStoreFromConfig(config: StoreConfig): InspectableStore {
  switch (config.type) {
    case 'sqlite':
      return createSqliteStore({ path: config.path });
    case 'mysql':
      return createMysqlStore({
        host: config.host,
        port: config.port,
        user: config.user,
        password: config.password,
        database: config.database,
        poolSize: config.poolSize,
        ssl: mysqlTls(config.ssl),
        connectTimeoutMs: config.connectTimeoutMs,
        queryTimeoutMs: config.queryTimeoutMs,
      });
    case 'dynamodb':
      return createDynamoDbStore({
        tableName: config.tableName,
        auditTableName: config.auditTableName,
        region: config.region,
        endpoint: config.endpoint,
        createTables: config.createTables,
        appliedEventTtlSeconds: config.appliedEventTtlHours * 3_600,
        maxAttempts: config.maxAttempts,
        requestTimeoutMs: config.requestTimeoutMs,
      });
    default:
      return unknownStore(config);
  }
}

/**
 * Where the configured store keeps its state, for the start-up line and logs: never a password.
 *
 * @example
 * ```ts
 * describeStore({ type: 'sqlite', path: 'data/shelfwatch.db' }); // 'SQLite data/shelfwatch.db'
 * ```
 */
export function describeStore(config: StoreConfig): string {
  switch (config.type) {
    case 'sqlite':
      return `SQLite ${config.path}`;
    case 'mysql':
      return `MySQL ${describeMysqlTarget(config)}${config.ssl ? ' (TLS)' : ''}`;
    case 'dynamodb':
      return `DynamoDB ${config.tableName}${config.region ? ` in ${config.region}` : ''}${config.endpoint ? ` at ${config.endpoint}` : ''}`;
    default:
      return unknownStore(config);
  }
}

function mysqlTls(ssl: Extract<StoreConfig, { type: 'mysql' }>['ssl']): MysqlTls | undefined {
  if (ssl === undefined || typeof ssl === 'boolean' || ssl === 'rds') return ssl;
  try {
    return { ca: readFileSync(ssl.ca, 'utf8') };
  } catch (err) {
    throw new Error(`store.ssl.ca: cannot read ${ssl.ca} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

/** Compile-time exhaustiveness: a variant without a `case` makes `config` not `never` here. */
function unknownStore(config: never): never {
  throw new Error(`no state store for store.type ${JSON.stringify((config as { type?: unknown }).type)}`);
}
