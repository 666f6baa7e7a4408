/**
 * The ports of the stream job: what it needs from storage and from alert channels, as interfaces.
 * `connectors/` implements them (SQLite, MySQL, DynamoDB; console, file, webhook, SNS, Slack, email);
 * the pipeline never imports an SDK.
 */
import type { ExtendedSequenceNumber, StreamRecord } from './lifecycle.js';

// ---- anomalies and alerts ----------------------------------------------------------------------

/** The anomaly types shelfwatch detects (the same names as the generator's labels): the one list. */
export const ANOMALY_TYPES = [
  'shrinkage',
  'phantom_stock',
  'sales_spike',
  'data_entry_error',
  'supplier_short_shipment',
  'supplier_price_anomaly',
  'stuck_feed',
  'negative_stock',
] as const;

export type AnomalyType = (typeof ANOMALY_TYPES)[number];

export type Severity = 'critical' | 'warning' | 'info';

/**
 * What a feature's numbers measure, so that a channel can say "40 units" or "40%" rather than a bare
 * number: `units` (a count of items, whole numbers), `share` (a fraction, 0.4 = 40%), `ratio` (a
 * multiple, 2.5×), `hours`, `days`. A channel shows a unit it does not know as a bare number.
 *
 * @example
 * ```ts
 * const unit: FeatureUnit = 'units';
 * ```
 */
export type FeatureUnit = 'units' | 'share' | 'ratio' | 'hours' | 'days';

/**
 * One explaining feature: what was observed against what was expected before the event. A threshold
 * of the detector is not a feature (it is said in the summary's words), and `expected` never includes
 * the observation it is compared with.
 */
export interface ExplanationFeature {
  name: string;
  observed: number;
  expected: number;
  /** Share of the score this feature accounts for, when the detector can say (sums to ≤ 1). */
  contribution?: number;
  /** What the numbers measure; absent for a plain number (a z-score, a cost). */
  unit?: FeatureUnit;
}

/**
 * One detected anomaly. Its `id` is derived from what caused it (type, series, triggering event), so
 * replaying the same events yields the same id: sinks use it to deliver each anomaly once.
 */
export interface Anomaly {
  id: string;
  type: AnomalyType;
  severity: Severity;
  /** How sure, in [0, 1]. */
  score: number;
  sku: string;
  warehouse: string;
  /** Event time of the evidence that raised it, epoch ms. */
  detectedAt: number;
  /** The events that caused it. */
  eventIds: string[];
  /** Which detector raised it, e.g. `rule:count-gap`, `robust-zscore:sales-rate`, `iforest`, `dbscan`. */
  detector: string;
  explanation: { summary: string; features: ExplanationFeature[] };
}

/**
 * What a sink delivers: anomalies grouped by warehouse and type over a short wait (Alertmanager's
 * group_by / group_wait). Its `id` is stable under replay, so a sink can drop a repeat.
 */
export interface AlertNotification {
  id: string;
  /** `warehouse|type`. */
  groupKey: string;
  warehouse: string;
  type: AnomalyType;
  /** The highest severity in the group. */
  severity: Severity;
  anomalies: Anomaly[];
  /** Anomalies left out by the rate limit, counted so that nothing vanishes silently. */
  suppressed: number;
}

/**
 * An alert channel. `publish` resolves once the channel has accepted every notification (or they were
 * already delivered: a repeated id is a success, not an error); it rejects when delivery failed, and
 * the pipeline then holds its checkpoint back and retries.
 */
export interface AlertSink {
  readonly name: string;
  publish(notifications: readonly AlertNotification[]): Promise<void>;
  close(): Promise<void>;
}

// ---- storage -------------------------------------------------------------------------------------

/**
 * The persisted state of one SKU × warehouse. The numeric columns are what other systems query; `model`
 * holds the rest (feature and detector state) as JSON the pipeline alone reads.
 */
export interface SeriesRow {
  sku: string;
  warehouse: string;
  onHand: number;
  reserved: number;
  inbound: number;
  lastCountQuantity: number | null;
  lastCountAt: number | null;
  /** Units sold per hour, exponentially weighted. */
  salesVelocity: number;
  /** Event time of the newest event applied, epoch ms. */
  lastEventAt: number;
  model: string;
}

/** A record that could not be turned into inventory events: kept with its bytes, position and reason. */
export interface DeadLetter {
  shardId: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  partitionKey: string;
  arrivalTimestamp: number;
  /**
   * A short machine-readable cause: `too_large`, `invalid_utf8`, `invalid_json`, `unknown_kind`,
   * `schema`, `kpl`, `future_event` (dated after it reached the stream, beyond the allowed skew),
   * `expired_event` (older than the shard's duplicate window: it could be a repeat no one remembers),
   * `store_refused` (the state store refused what it carried), `internal`.
   */
  code: string;
  /** What was wrong, for people: names the field and the value where it can. */
  reason: string;
  data: Uint8Array;
  /**
   * `quarantine`: a valid record held aside by a trust rule (its event time lies outside the window,
   * `future_event` / `expired_event`, with `limits.outOfWindow: quarantine`), to be reviewed and
   * replayed; counted as quarantined, not as a dead letter. Absent means `dead_letter`.
   */
  disposition?: 'dead_letter' | 'quarantine';
}

/**
 * The dead letter of a stream record: its bytes and position, with a code and a reason.
 *
 * @example
 * ```ts
 * const d = deadLetterOf(record, 'shardId-000000000000', 'schema', 'QTY: expected a finite number, got "n/a"');
 * ```
 */
export function deadLetterOf(
  record: StreamRecord,
  shardId: string,
  code: string,
  reason: string,
): DeadLetter {
  return {
    shardId,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: record.subSequenceNumber,
    partitionKey: record.partitionKey,
    arrivalTimestamp: record.approximateArrivalTimestamp,
    code,
    reason,
    data: record.data,
  };
}

/**
 * A notification a sink refused for good (a 4xx other than 408/429, a missing topic, a refused
 * login): parked with the reason so that the checkpoint may move, kept for people to see and resend.
 */
export interface UndeliveredNotification {
  /** The sink (receiver) that refused it. */
  receiver: string;
  notification: AlertNotification;
  shardId: string;
  /** What the sink said, secret-free. */
  reason: string;
}

/** One SKU × warehouse: the unit of state, and of a Kinesis partition key. */
export interface SeriesKey {
  sku: string;
  warehouse: string;
}

/** An event whose effect is in the state: remembered for the duplicate window, by series. */
export interface AppliedEvent {
  eventId: string;
  /** Event time, epoch ms. */
  occurredAt: number;
  sku: string;
  warehouse: string;
}

/**
 * Everything one batch changes, written atomically: a store commits all of it or none, so that the
 * checkpoint never runs ahead of the state (exactly once in effect).
 */
export interface BatchCommit {
  shardId: string;
  checkpoint: ExtendedSequenceNumber;
  /**
   * Fencing: when present, the store commits only if the shard's stored checkpoint is exactly this
   * (null: none stored yet), and otherwise rejects with {@link StaleCheckpointError} and writes nothing.
   * A worker that lost its lease while a batch was in flight thus cannot overwrite the new owner's state.
   */
  expectedCheckpoint?: ExtendedSequenceNumber | null;
  /** Upserts of the series this batch changed. */
  series: SeriesRow[];
  /** Upserts of pipeline-wide state (per-shard detector and alert-router state), by key. */
  values: Array<{ key: string; value: string }>;
  /** The events applied by this batch, with their series and event time (for the duplicate window). */
  appliedEvents: AppliedEvent[];
  /**
   * Forget the applied events **of this batch's series** (those in `series`) older than this event time:
   * their duplicate window moved on. Scoped to the series because each shard has its own clock (event
   * time): a shard far ahead must not forget what a lagging shard still needs to drop its duplicates.
   */
  forgetEventsBefore?: number;
  deadLetters: DeadLetter[];
  /** The anomalies raised by this batch, for audit and evaluation. */
  anomalies: Anomaly[];
  /** Notifications a sink refused for good while this batch was published (stored once per receiver and id). */
  undelivered?: UndeliveredNotification[];
}

/**
 * A commit was refused because the shard's stored checkpoint is not the one the committer expected:
 * another worker has processed the shard since (the lease moved). The committer must stop processing
 * the shard; nothing of the batch was written.
 *
 * @example
 * ```ts
 * try {
 *   await store.commit({ ...batch, expectedCheckpoint: previous });
 * } catch (err) {
 *   if (err instanceof StaleCheckpointError) return; // lease lost: the new owner goes on
 *   throw err;
 * }
 * ```
 */
export class StaleCheckpointError extends Error {
  override readonly name = 'StaleCheckpointError';
  constructor(
    readonly shardId: string,
    readonly expected: ExtendedSequenceNumber | null,
    readonly actual: ExtendedSequenceNumber | null,
  ) {
    const show = (p: ExtendedSequenceNumber | null): string =>
      p ? `${p.sequenceNumber}/${p.subSequenceNumber}` : 'none';
    super(
      `shard ${shardId}: stored checkpoint is ${show(actual)}, expected ${show(expected)}; another worker processed this shard`,
    );
  }
}

/**
 * The store refused what a batch carries — a value too long for a column, an item too large, a string
 * its collation cannot hold — rather than failing to reach the server. The same data will be refused
 * again, so the engine isolates the record that carries it and dead-letters that one
 * (`store_refused`, with this message) instead of holding the shard forever. Stores throw it only for
 * such data errors; an unreachable or read-only store is an ordinary error, retried.
 *
 * @example
 * ```ts
 * if (mysqlError.errno === 1406) throw new StoreRefusedError('mysql', "Data too long for column 'sku'", { cause: mysqlError });
 * ```
 */
export class StoreRefusedError extends Error {
  override readonly name = 'StoreRefusedError';
  /** Trying the same batch again will fail the same way. */
  readonly retryable = false;
  constructor(
    /** Which store: `sqlite`, `mysql`, `dynamodb`. */
    readonly store: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${store} state store refused the batch: ${message}`, options);
  }
}

/** The stored state of some series: their rows and their applied events still in the duplicate window. */
export interface StoredSeries {
  series: SeriesRow[];
  recentEvents: AppliedEvent[];
}

/** What the pipeline reads back at start-up. */
export interface StoredState {
  series: SeriesRow[];
  values: Array<{ key: string; value: string }>;
  /** Applied events still inside the duplicate window. */
  recentEvents: AppliedEvent[];
}

/**
 * Where state, checkpoints, dead letters and the anomaly log live. SQLite is the embedded default;
 * MySQL and DynamoDB implement the same contract.
 */
export interface StateStore {
  /** Connects and applies pending migrations. */
  open(): Promise<void>;
  /** Everything (start-up of a single process, tools, audits). */
  load(): Promise<StoredState>;
  /**
   * The rows of these series that exist (absent ones are simply missing) and their applied events still
   * stored. A worker that takes over a shard reads the series it meets this way, lazily, in one call
   * per batch.
   */
  loadSeries(keys: readonly SeriesKey[]): Promise<StoredSeries>;
  /** The pipeline-wide values stored under these keys (absent ones are missing). */
  loadValues(keys: readonly string[]): Promise<Array<{ key: string; value: string }>>;
  loadCheckpoint(shardId: string): Promise<ExtendedSequenceNumber | null>;
  commit(batch: BatchCommit): Promise<void>;
  close(): Promise<void>;
}

/**
 * A second home for dead letters besides the store (`deadLetters.path`: an NDJSON file): given each
 * batch's dead letters before the batch commits, retried like the store (a failure holds the
 * checkpoint back), so that it holds every dead letter the store holds. Writes must be idempotent: a
 * batch replayed after a crash gives the same dead letters again.
 *
 * @example
 * ```ts
 * const sink: DeadLetterSink = { name: 'file', write: async (letters) => appendAll(letters), close: async () => {} };
 * ```
 */
export interface DeadLetterSink {
  readonly name: string;
  write(letters: readonly DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

// ---- per-series metrics ------------------------------------------------------------------------

/**
 * A time-series sink for per-SKU metrics (Timestream): after each batch it receives the rows of the
 * series the batch changed, before the batch commits. Like an alert sink, a failure holds the
 * checkpoint back and the batch is retried, so writes must be idempotent (same series, same event
 * time, same values).
 */
export interface SeriesMetricsSink {
  readonly name: string;
  write(rows: readonly SeriesRow[]): Promise<void>;
  close(): Promise<void>;
}
