/**
 * Per-SKU metrics to Amazon Timestream for LiveAnalytics, for dashboards and ad-hoc queries over stock
 * levels: after each batch, one multi-measure record per series the batch changed.
 *
 * Record layout: dimensions `sku` and `warehouse`; measure name `inventory` (multi-measure) with the
 * DOUBLE measures `on_hand`, `reserved`, `inbound`, `sales_velocity` (units per hour) and, once a count
 * is known, `last_count_quantity`; time = the series' `lastEventAt` (event time, ms).
 *
 * Idempotency: the pipeline re-writes a batch it retries (after a crash or a failed commit), so a write
 * must be safe to repeat. Timestream accepts a record identical to the stored one (same dimensions,
 * time, measure name and values) whatever its version, so a repeat of the same values succeeds. A record
 * with the same identity and *different* values (a late event older than the newest one changes the
 * stock but not `lastEventAt`) is only accepted with a higher `Version`: versions are the writer's
 * clock in ms, never going backwards within a process. When Timestream still reports a stored version at
 * least as high as ours (`ExistingVersion`: another writer's clock ran ahead, or a retry raced one), the
 * writer holding the series is the authority on its current state: the record is sent again once with
 * `ExistingVersion + 1`. Any other rejection (a time outside the memory store's retention, a value over a
 * limit) is reported in a {@link TimestreamRejectedRecordsError} naming each record.
 *
 * No local Timestream exists: this module is contract-tested with aws-sdk-client-mock.
 */
import {
  type _Record,
  type MeasureValue,
  RejectedRecordsException,
  TimestreamWriteClient,
  type TimestreamWriteClientConfig,
  WriteRecordsCommand,
} from '@aws-sdk/client-timestream-write';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SeriesMetricsSink, SeriesRow } from '../../pipeline/ports.js';
import { awsDeliveryError } from './aws-errors.js';
import { SinkConfigError, SinkDeliveryError } from './retry.js';

/**
 * Options of {@link TimestreamSeriesWriter}. Region, endpoint and credentials follow the standard AWS
 * chain (`AWS_REGION`, `AWS_ACCESS_KEY_ID`…, profiles, instance roles) unless given.
 *
 * @example
 * ```ts
 * const options: TimestreamSeriesWriterOptions = { database: 'shelfwatch', table: 'series', region: 'eu-west-1' };
 * ```
 */
export interface TimestreamSeriesWriterOptions {
  database: string;
  table: string;
  region?: string;
  /** A fixed endpoint (skips endpoint discovery); default: discovered for the region. */
  endpoint?: string;
  /** Extra SDK client settings (credentials, maxAttempts); `region`/`endpoint` above win. */
  clientConfig?: TimestreamWriteClientConfig;
  /** A ready client (tests); the writer then neither configures nor destroys it. */
  client?: TimestreamWriteClient;
  /** The multi-measure record name. Default `inventory`. */
  measureName?: string;
  /** The name metrics and logs use. Default `timestream`. */
  name?: string;
  /** The version clock, ms; injectable for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * One record Timestream refused, by its index in the rows given to `write`.
 *
 * @example
 * ```ts
 * const r: RejectedSeriesRecord = { index: 3, sku: 'SKU-1', warehouse: 'WH1', reason: 'The record timestamp is outside the time range' };
 * ```
 */
export interface RejectedSeriesRecord {
  index: number;
  sku: string;
  warehouse: string;
  reason: string;
  /** The stored record's version, when the rejection was a version conflict. */
  existingVersion?: number;
}

/**
 * Timestream refused some records for a reason another attempt will not fix (the others were written).
 *
 * @example
 * ```ts
 * try { await writer.write(rows); }
 * catch (err) { if (err instanceof TimestreamRejectedRecordsError) for (const r of err.rejected) log.warn(r); }
 * ```
 */
export class TimestreamRejectedRecordsError extends SinkDeliveryError {
  constructor(
    sink: string,
    readonly rejected: readonly RejectedSeriesRecord[],
  ) {
    const list = rejected
      .slice(0, 5)
      .map((r) => `#${r.index} ${r.sku}@${r.warehouse}: ${r.reason}`)
      .join('; ');
    super(
      `timestream writer "${sink}": Timestream rejected ${rejected.length} ${rejected.length === 1 ? 'record' : 'records'} (${list}${rejected.length > 5 ? '; …' : ''}) (not retried)`,
      { sink, retryable: false },
    );
    this.name = 'TimestreamRejectedRecordsError';
  }
}

/** WriteRecords takes at most 100 records per call. */
const MAX_RECORDS_PER_CALL = 100;

/** One row's record, and where it came from. */
interface Pending {
  index: number;
  row: SeriesRow;
  record: _Record;
}

function measures(row: SeriesRow): MeasureValue[] {
  const values: Array<[string, number | null]> = [
    ['on_hand', row.onHand],
    ['reserved', row.reserved],
    ['inbound', row.inbound],
    ['sales_velocity', row.salesVelocity],
    ['last_count_quantity', row.lastCountQuantity],
  ];
  // Timestream refuses NaN and infinities; an unknown last count is simply absent.
  return values
    .filter((v): v is [string, number] => v[1] !== null && Number.isFinite(v[1]))
    .map(([Name, v]) => ({ Name, Value: String(v), Type: 'DOUBLE' }));
}

/**
 * The multi-measure record of one series row (without `Version`, which the writer sets).
 *
 * @example
 * ```ts
 * seriesRecord(row, 'inventory').Dimensions; // [{ Name: 'sku', Value: 'SKU-1' }, { Name: 'warehouse', Value: 'WH1' }]
 * ```
 */
export function seriesRecord(row: SeriesRow, measureName = 'inventory'): _Record {
  return {
    Dimensions: [
      { Name: 'sku', Value: row.sku, DimensionValueType: 'VARCHAR' },
      { Name: 'warehouse', Value: row.warehouse, DimensionValueType: 'VARCHAR' },
    ],
    MeasureName: measureName,
    MeasureValueType: 'MULTI',
    MeasureValues: measures(row),
    Time: String(Math.trunc(row.lastEventAt)),
    TimeUnit: 'MILLISECONDS',
  };
}

/**
 * Writes the rows of the series each batch changed to a Timestream table (see the module
 * documentation for the layout and why repeats are safe).
 *
 * @example
 * ```ts
 * const writer = new TimestreamSeriesWriter({ database: 'shelfwatch', table: 'series', region: 'eu-west-1' });
 * await writer.write(changedRows);
 * ```
 */
export class TimestreamSeriesWriter implements SeriesMetricsSink {
  readonly name: string;
  readonly database: string;
  readonly table: string;
  private readonly measureName: string;
  private readonly client: TimestreamWriteClient;
  private readonly ownsClient: boolean;
  private readonly now: () => number;
  private lastVersion = 0;
  private closed = false;

  /** @throws {SinkConfigError} when the database or table name is empty. */
  constructor(options: TimestreamSeriesWriterOptions) {
    this.name = options.name ?? 'timestream';
    if (!options.database || !options.table) {
      throw new SinkConfigError(`timestream writer "${this.name}": database and table are required`);
    }
    this.database = options.database;
    this.table = options.table;
    this.measureName = options.measureName ?? 'inventory';
    this.now = options.now ?? Date.now;
    this.ownsClient = options.client === undefined;
    this.client =
      options.client ??
      new TimestreamWriteClient({
        // HTTP/1.1 with bounded waits: a hung connection must fail the write, not hold the checkpoint forever.
        requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 15_000 }),
        ...options.clientConfig,
        ...(options.region ? { region: options.region } : {}),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      });
  }

  /** Safe to log. */
  toString(): string {
    return `TimestreamSeriesWriter(${this.name} → ${this.database}.${this.table})`;
  }

  async write(rows: readonly SeriesRow[]): Promise<void> {
    if (this.closed) {
      throw new SinkDeliveryError(`timestream writer "${this.name}" is closed`, {
        sink: this.name,
        retryable: false,
      });
    }
    // One record per series: two with the same identity in one call could conflict with each other.
    const latest = new Map<string, Pending>();
    rows.forEach((row, index) => {
      latest.set(JSON.stringify([row.sku, row.warehouse]), {
        index,
        row,
        record: seriesRecord(row, this.measureName),
      });
    });
    const pending = [...latest.values()];
    const rejected: RejectedSeriesRecord[] = [];
    for (let i = 0; i < pending.length; i += MAX_RECORDS_PER_CALL) {
      const chunk = pending.slice(i, i + MAX_RECORDS_PER_CALL);
      const version = this.nextVersion();
      const conflicts = await this.send(
        chunk.map((p) => ({ ...p, record: { ...p.record, Version: version } })),
        rejected,
      );
      if (conflicts.length > 0) {
        // Once, above the highest stored version: this writer holds the series and its state is current.
        const top = Math.max(...conflicts.map((c) => c.existingVersion));
        this.lastVersion = Math.max(this.lastVersion, top);
        const again = this.nextVersion();
        const still = await this.send(
          conflicts.map((c) => ({ ...c.pending, record: { ...c.pending.record, Version: again } })),
          rejected,
        );
        for (const c of still) rejected.push(rejectedOf(c.pending, c.reason, c.existingVersion));
      }
    }
    if (rejected.length > 0) {
      rejected.sort((a, b) => a.index - b.index);
      throw new TimestreamRejectedRecordsError(this.name, rejected);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
  }

  /** The writer's clock in ms, strictly increasing. */
  private nextVersion(): number {
    this.lastVersion = Math.max(this.now(), this.lastVersion + 1);
    return this.lastVersion;
  }

  /**
   * One WriteRecords call. Records rejected for a reason other than a version conflict go to
   * `rejected`; the conflicts are returned for the caller to settle.
   */
  private async send(
    chunk: readonly Pending[],
    rejected: RejectedSeriesRecord[],
  ): Promise<Array<{ pending: Pending; reason: string; existingVersion: number }>> {
    try {
      await this.client.send(
        new WriteRecordsCommand({
          DatabaseName: this.database,
          TableName: this.table,
          Records: chunk.map((p) => p.record),
        }),
      );
      return [];
    } catch (err) {
      if (
        !(err instanceof RejectedRecordsException) &&
        (err as { name?: unknown })?.name !== 'RejectedRecordsException'
      ) {
        throw awsDeliveryError(err, {
          sink: this.name,
          what: `timestream writer "${this.name}": WriteRecords to ${this.database}.${this.table}`,
        });
      }
      const entries = (err as RejectedRecordsException).RejectedRecords ?? [];
      if (!entries.some((r) => r.RecordIndex !== undefined && chunk[r.RecordIndex] !== undefined)) {
        // Rejected without saying which records: nothing can be counted as written.
        throw awsDeliveryError(err, {
          sink: this.name,
          what: `timestream writer "${this.name}": WriteRecords to ${this.database}.${this.table}`,
        });
      }
      const conflicts: Array<{ pending: Pending; reason: string; existingVersion: number }> = [];
      for (const r of entries) {
        const p = r.RecordIndex === undefined ? undefined : chunk[r.RecordIndex];
        if (!p) continue;
        const reason = r.Reason ?? 'rejected';
        if (typeof r.ExistingVersion === 'number')
          conflicts.push({ pending: p, reason, existingVersion: r.ExistingVersion });
        else rejected.push(rejectedOf(p, reason));
      }
      return conflicts;
    }
  }
}

function rejectedOf(p: Pending, reason: string, existingVersion?: number): RejectedSeriesRecord {
  return {
    index: p.index,
    sku: p.row.sku,
    warehouse: p.row.warehouse,
    reason: reason.replace(/[\p{Cc}]/gu, ' ').slice(0, 300),
    ...(existingVersion === undefined ? {} : { existingVersion }),
  };
}
