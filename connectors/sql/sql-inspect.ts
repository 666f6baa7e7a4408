/**
 * The read side of the SQL store's audit tables, for the CLI and audits: dead letters, the anomaly
 * log, one series. The pipeline itself never reads them.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Anomaly, DeadLetter, SeriesRow, UndeliveredNotification } from '../../pipeline/ports.js';
import type { AnomaliesTable, Database, DeadLettersTable, UndeliveredNotificationsTable } from './schema.js';
import { toSeriesRow } from './sql-read.js';

/**
 * Options of the store's list methods (`listAnomalies`, `listDeadLetters`).
 *
 * @example
 * ```ts
 * const newest: ListOptions = { limit: 20, order: 'desc' };
 * ```
 */
export interface ListOptions {
  /** At most this many rows (default: all). */
  limit?: number;
  /** Oldest first (default) or newest first. */
  order?: 'asc' | 'desc';
}

function toDeadLetter(r: Selectable<DeadLettersTable>): DeadLetter {
  return {
    shardId: r.shard_id,
    sequenceNumber: r.sequence_number,
    subSequenceNumber: r.sub_sequence_number,
    partitionKey: r.partition_key,
    arrivalTimestamp: r.arrival_timestamp,
    code: r.code,
    reason: r.reason,
    // Drivers return a Buffer (a pooled view); a plain copy is what the port promises.
    data: new Uint8Array(r.data),
    // Absent means a dead letter (the port's convention), so only a quarantine is spelled out.
    ...(r.disposition === 'quarantine' ? { disposition: 'quarantine' as const } : {}),
  };
}

function toUndelivered(r: Selectable<UndeliveredNotificationsTable>): UndeliveredNotification {
  return {
    receiver: r.receiver,
    notification: JSON.parse(r.notification) as UndeliveredNotification['notification'],
    shardId: r.shard_id,
    reason: r.reason,
  };
}

function toAnomaly(r: Selectable<AnomaliesTable>): Anomaly {
  return {
    id: r.id,
    type: r.type as Anomaly['type'],
    severity: r.severity as Anomaly['severity'],
    score: r.score,
    sku: r.sku,
    warehouse: r.warehouse,
    detectedAt: r.detected_at,
    eventIds: JSON.parse(r.event_ids) as string[],
    detector: r.detector,
    explanation: JSON.parse(r.explanation) as Anomaly['explanation'],
  };
}

/**
 * How many dead letters are stored.
 *
 * @example
 * ```ts
 * const n = await countDeadLetters(db);
 * ```
 */
export async function countDeadLetters(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('dead_letters')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  // MySQL drivers may return COUNT(*) as a string or bigint.
  return Number(row.n);
}

/**
 * The stored dead letters, by shard and then position in the shard (numeric order of the decimal
 * sequence numbers, which a plain string sort would get wrong for different lengths).
 *
 * @example
 * ```ts
 * for (const d of await listDeadLetters(db, { limit: 10 })) console.log(d.code, d.reason);
 * ```
 */
export async function listDeadLetters(
  db: Kysely<Database>,
  options: ListOptions = {},
): Promise<DeadLetter[]> {
  const dir = options.order ?? 'asc';
  let query = db
    .selectFrom('dead_letters')
    .selectAll()
    .orderBy('shard_id', dir)
    .orderBy(sql`length(sequence_number)`, dir)
    .orderBy('sequence_number', dir)
    .orderBy('sub_sequence_number', dir);
  if (options.limit !== undefined) query = query.limit(options.limit);
  return (await query.execute()).map(toDeadLetter);
}

/**
 * The anomaly log, by detection time (then id, so the order is total).
 *
 * @example
 * ```ts
 * const latest = await listAnomalies(db, { limit: 20, order: 'desc' });
 * ```
 */
export async function listAnomalies(db: Kysely<Database>, options: ListOptions = {}): Promise<Anomaly[]> {
  const dir = options.order ?? 'asc';
  let query = db.selectFrom('anomalies').selectAll().orderBy('detected_at', dir).orderBy('id', dir);
  if (options.limit !== undefined) query = query.limit(options.limit);
  return (await query.execute()).map(toAnomaly);
}

/**
 * The notifications sinks refused for good, oldest first (then by receiver and id, so the order is
 * total).
 *
 * @example
 * ```ts
 * for (const u of await listUndelivered(db)) console.log(u.receiver, u.notification.id, u.reason);
 * ```
 */
export async function listUndelivered(
  db: Kysely<Database>,
  options: ListOptions = {},
): Promise<UndeliveredNotification[]> {
  const dir = options.order ?? 'asc';
  let query = db
    .selectFrom('undelivered_notifications')
    .selectAll()
    .orderBy('created_at', dir)
    .orderBy('receiver', dir)
    .orderBy('notification_id', dir);
  if (options.limit !== undefined) query = query.limit(options.limit);
  return (await query.execute()).map(toUndelivered);
}

/**
 * One series row, or null when the SKU × warehouse has none.
 *
 * @example
 * ```ts
 * const row = await getSeries(db, 'SKU-1', 'WH-1');
 * ```
 */
export async function getSeries(
  db: Kysely<Database>,
  sku: string,
  warehouse: string,
): Promise<SeriesRow | null> {
  const row = await db
    .selectFrom('series')
    .selectAll()
    .where('sku', '=', sku)
    .where('warehouse', '=', warehouse)
    .executeTakeFirst();
  return row === undefined ? null : toSeriesRow(row);
}
