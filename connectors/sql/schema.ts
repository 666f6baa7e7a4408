/**
 * The tables of the SQL state store, as Kysely sees them. One row type per table, with the column
 * names of the database (snake_case) and the JavaScript types both SQLite (better-sqlite3) and MySQL
 * (mysql2) return for them: times are epoch milliseconds in BIGINT columns, quantities are DOUBLE,
 * sequence numbers are strings because Kinesis sequence numbers are decimal strings of up to 128 bits
 * (more than a double or a BIGINT holds).
 */

/**
 * The SQL dialects the store speaks. They share migrations and queries; only column types and the
 * upsert syntax differ.
 *
 * @example
 * ```ts
 * const dialect: SqlDialect = process.env.SHELFWATCH_DB === 'mysql' ? 'mysql' : 'sqlite';
 * ```
 */
export type SqlDialect = 'sqlite' | 'mysql';

/**
 * One row of `series`: the state of one SKU × warehouse (primary key `sku, warehouse`).
 *
 * @example
 * ```ts
 * const row: SeriesTable = {
 *   sku: 'SKU-1', warehouse: 'WH-1', on_hand: 12, reserved: 0, inbound: 24,
 *   last_count_quantity: null, last_count_at: null, sales_velocity: 0.5,
 *   last_event_at: 1_700_000_000_000, model: '{}', updated_at: Date.now(),
 * };
 * ```
 */
export interface SeriesTable {
  sku: string;
  warehouse: string;
  on_hand: number;
  reserved: number;
  inbound: number;
  last_count_quantity: number | null;
  last_count_at: number | null;
  sales_velocity: number;
  last_event_at: number;
  /** JSON the pipeline alone reads (feature and detector state). */
  model: string;
  updated_at: number;
}

/**
 * One row of `state_values`: pipeline-wide state by key (catalog, supplier history, alert state).
 *
 * @example
 * ```ts
 * const row: StateValuesTable = { key: 'catalog', value: '{"SKU-1":{"price":3.5}}' };
 * ```
 */
export interface StateValuesTable {
  key: string;
  value: string;
}

/**
 * One row of `applied_events`: an event id already applied, kept while inside the duplicate window
 * (indexed by `occurred_at` so that pruning the window is a range delete).
 *
 * @example
 * ```ts
 * const row: AppliedEventsTable = {
 *   event_id: 'evt-1', occurred_at: 1_700_000_000_000, sku: 'SKU-1', warehouse: 'WH-1',
 * };
 * ```
 */
export interface AppliedEventsTable {
  event_id: string;
  occurred_at: number;
  /** The series the event applied to (indexed with `warehouse`): migration 0002. */
  sku: string;
  warehouse: string;
}

/**
 * One row of `checkpoints`: how far a shard's state is durable.
 *
 * @example
 * ```ts
 * const row: CheckpointsTable = {
 *   shard_id: 'shardId-000000000000', sequence_number: '49590338271490256608559692538361571095921575989136588898',
 *   sub_sequence_number: 0, updated_at: Date.now(),
 * };
 * ```
 */
export interface CheckpointsTable {
  shard_id: string;
  sequence_number: string;
  sub_sequence_number: number;
  updated_at: number;
}

/**
 * One row of `dead_letters`: a record that could not be parsed, with its bytes and position
 * (primary key `shard_id, sequence_number, sub_sequence_number`, so a replay cannot duplicate it).
 *
 * @example
 * ```ts
 * const row: DeadLettersTable = {
 *   shard_id: 'shard-0', sequence_number: '42', sub_sequence_number: 0, partition_key: 'SKU-1',
 *   arrival_timestamp: 1_700_000_000_000, code: 'invalid_json', reason: 'line 1: unexpected end',
 *   data: new Uint8Array([0x7b]), created_at: Date.now(), disposition: 'dead_letter',
 * };
 * ```
 */
export interface DeadLettersTable {
  shard_id: string;
  sequence_number: string;
  sub_sequence_number: number;
  partition_key: string;
  arrival_timestamp: number;
  code: string;
  reason: string;
  data: Uint8Array;
  created_at: number;
  /**
   * `dead_letter` or `quarantine` (a valid record held aside by a trust rule): migration 0004, which
   * gave the rows before it `dead_letter`.
   */
  disposition: string;
}

/**
 * One row of `anomalies`: the audit log of raised anomalies (primary key `id`, which is stable under
 * replay). `event_ids` and `explanation` are JSON text, because MariaDB's JSON is LONGTEXT anyway and
 * SQLite has no JSON column type.
 *
 * @example
 * ```ts
 * const row: AnomaliesTable = {
 *   id: 'shrinkage|SKU-1|WH-1|evt-9', type: 'shrinkage', severity: 'warning', score: 0.91,
 *   sku: 'SKU-1', warehouse: 'WH-1', detected_at: 1_700_000_000_000, detector: 'rule:count-gap',
 *   event_ids: '["evt-9"]', explanation: '{"summary":"count 4 below book 9","features":[]}',
 *   created_at: Date.now(),
 * };
 * ```
 */
export interface AnomaliesTable {
  id: string;
  type: string;
  severity: string;
  score: number;
  sku: string;
  warehouse: string;
  detected_at: number;
  detector: string;
  event_ids: string;
  explanation: string;
  created_at: number;
}

/**
 * One row of `undelivered_notifications`: a notification a sink refused for good, parked with the
 * sink's reason (primary key `receiver, notification_id`, so a replayed batch stores it once).
 * `notification` is the `AlertNotification` as JSON text. Migration 0005.
 *
 * @example
 * ```ts
 * const row: UndeliveredNotificationsTable = {
 *   receiver: 'ops-webhook', notification_id: '3f2a…', shard_id: 'shardId-000000000000',
 *   reason: 'HTTP 410 Gone', notification: '{"id":"3f2a…","anomalies":[]}', created_at: Date.now(),
 * };
 * ```
 */
export interface UndeliveredNotificationsTable {
  receiver: string;
  notification_id: string;
  shard_id: string;
  reason: string;
  notification: string;
  created_at: number;
}

/**
 * The whole schema, for `Kysely<Database>`.
 *
 * @example
 * ```ts
 * import { Kysely, SqliteDialect } from 'kysely';
 * import SQLite from 'better-sqlite3';
 * const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
 * ```
 */
export interface Database {
  series: SeriesTable;
  state_values: StateValuesTable;
  applied_events: AppliedEventsTable;
  checkpoints: CheckpointsTable;
  dead_letters: DeadLettersTable;
  anomalies: AnomaliesTable;
  undelivered_notifications: UndeliveredNotificationsTable;
}
