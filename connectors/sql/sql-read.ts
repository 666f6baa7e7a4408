/**
 * The read path of the SQL state store: what the pipeline reads back (all state at start-up, the
 * series a worker meets, values, a shard's checkpoint), each as one consistent read.
 */
import type { Kysely, Selectable } from 'kysely';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
import type { AppliedEvent, SeriesKey, SeriesRow, StoredSeries, StoredState } from '../../pipeline/ports.js';
import type { AppliedEventsTable, Database, SeriesTable, SqlDialect } from './schema.js';
import { runTransaction } from './sql-transaction.js';
import { KEYS_PER_QUERY } from './sql-write.js';

/**
 * A `series` row as the port's {@link SeriesRow}.
 *
 * @example
 * ```ts
 * const row = toSeriesRow(await db.selectFrom('series').selectAll().executeTakeFirstOrThrow());
 * ```
 */
export function toSeriesRow(r: Selectable<SeriesTable>): SeriesRow {
  return {
    sku: r.sku,
    warehouse: r.warehouse,
    onHand: r.on_hand,
    reserved: r.reserved,
    inbound: r.inbound,
    lastCountQuantity: r.last_count_quantity,
    lastCountAt: r.last_count_at,
    salesVelocity: r.sales_velocity,
    lastEventAt: r.last_event_at,
    model: r.model,
  };
}

function toAppliedEvent(e: Selectable<AppliedEventsTable>): AppliedEvent {
  return { eventId: e.event_id, occurredAt: e.occurred_at, sku: e.sku, warehouse: e.warehouse };
}

/**
 * Every series row, value and applied event, in key order, in one read transaction: the three reads
 * see the same commit, even with another writer (a second worker on MySQL, the CLI on SQLite)
 * committing meanwhile.
 *
 * @example
 * ```ts
 * const { series, values, recentEvents } = await readAll(db, 'sqlite');
 * ```
 */
export async function readAll(db: Kysely<Database>, dialect: SqlDialect): Promise<StoredState> {
  const { series, values, events } = await runTransaction(db, dialect, async (trx) => ({
    series: await trx.selectFrom('series').selectAll().orderBy('sku').orderBy('warehouse').execute(),
    values: await trx.selectFrom('state_values').select(['key', 'value']).orderBy('key').execute(),
    events: await trx
      .selectFrom('applied_events')
      .select(['event_id', 'occurred_at', 'sku', 'warehouse'])
      .orderBy('event_id')
      .execute(),
  }));
  return {
    series: series.map(toSeriesRow),
    values: values.map((v) => ({ key: v.key, value: v.value })),
    recentEvents: events.map(toAppliedEvent),
  };
}

/**
 * The rows of these series that exist, and their applied events still stored, in one read
 * transaction (keys in chunks of {@link KEYS_PER_QUERY}).
 *
 * @example
 * ```ts
 * const { series, recentEvents } = await readSeries(db, 'mysql', [{ sku: 'SKU-1', warehouse: 'WH-1' }]);
 * ```
 */
export async function readSeries(
  db: Kysely<Database>,
  dialect: SqlDialect,
  keys: readonly SeriesKey[],
): Promise<StoredSeries> {
  if (keys.length === 0) return { series: [], recentEvents: [] };
  return runTransaction(db, dialect, async (trx) => {
    const series: SeriesRow[] = [];
    const recentEvents: AppliedEvent[] = [];
    for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
      const chunk = keys.slice(i, i + KEYS_PER_QUERY);
      const rows = await trx
        .selectFrom('series')
        .selectAll()
        .where((eb) =>
          eb(
            eb.refTuple('sku', 'warehouse'),
            'in',
            chunk.map((k) => eb.tuple(k.sku, k.warehouse)),
          ),
        )
        .execute();
      for (const r of rows) series.push(toSeriesRow(r));
      const events = await trx
        .selectFrom('applied_events')
        .select(['event_id', 'occurred_at', 'sku', 'warehouse'])
        .where((eb) =>
          eb(
            eb.refTuple('sku', 'warehouse'),
            'in',
            chunk.map((k) => eb.tuple(k.sku, k.warehouse)),
          ),
        )
        .execute();
      for (const e of events) recentEvents.push(toAppliedEvent(e));
    }
    return { series, recentEvents };
  });
}

/**
 * The values stored under these keys (absent keys are missing from the result).
 *
 * @example
 * ```ts
 * const [router] = await readValues(db, ['router/shardId-000000000000']);
 * ```
 */
export async function readValues(
  db: Kysely<Database>,
  keys: readonly string[],
): Promise<Array<{ key: string; value: string }>> {
  const out: Array<{ key: string; value: string }> = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
    const rows = await db
      .selectFrom('state_values')
      .select(['key', 'value'])
      .where('key', 'in', keys.slice(i, i + KEYS_PER_QUERY))
      .execute();
    for (const r of rows) out.push({ key: r.key, value: r.value });
  }
  return out;
}

/**
 * The shard's last committed checkpoint, or null when it has none.
 *
 * @example
 * ```ts
 * const from = await readCheckpoint(db, 'shardId-000000000000'); // null on a new stream
 * ```
 */
export async function readCheckpoint(
  db: Kysely<Database>,
  shardId: string,
): Promise<ExtendedSequenceNumber | null> {
  const row = await db
    .selectFrom('checkpoints')
    .select(['sequence_number', 'sub_sequence_number'])
    .where('shard_id', '=', shardId)
    .executeTakeFirst();
  return row === undefined
    ? null
    : { sequenceNumber: row.sequence_number, subSequenceNumber: row.sub_sequence_number };
}
