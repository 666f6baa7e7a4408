/**
 * The stream job's Prometheus metrics, on a registry of their own: the global prom-client registry
 * would make two pipelines in one process (every test file, a benchmark) fight over metric names.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Batch durations span a 1 ms in-memory batch to a 10 s batch stuck behind a slow store or webhook.
 * Roughly ×2.5 steps keep the quantile error small without many series.
 *
 * @example
 * ```ts
 * new Histogram({ name: 'x_seconds', help: 'x', buckets: [...BATCH_DURATION_BUCKETS] });
 * ```
 */
export const BATCH_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * The instruments of one pipeline, and the registry they live in.
 *
 * @example
 * ```ts
 * const metrics = createMetrics();
 * metrics.recordsTotal.inc({ shard: 'file-0' }, records.length);
 * const stop = metrics.batchDuration.startTimer();
 * // … process the batch …
 * stop();
 * ```
 */
export interface ShelfwatchMetrics {
  readonly registry: Registry;
  /** Inventory events applied, by event kind (`sale_placed`, `receipt`, …). */
  readonly eventsTotal: Counter<'kind'>;
  /** Raw records received, by shard. */
  readonly recordsTotal: Counter<'shard'>;
  /** Records that could not be turned into events, by cause (`invalid_json`, `schema`, …). */
  readonly deadLettersTotal: Counter<'code'>;
  /** Records held aside by a trust rule (valid, but outside the event-time window), by reason. */
  readonly quarantinedTotal: Counter<'reason'>;
  /** Events dropped because their id was applied before, within the duplicate window. */
  readonly duplicatesTotal: Counter<never>;
  /** Blank lines of file and standard-input sources, skipped (they hold no record). */
  readonly blankLinesTotal: Counter<'shard'>;
  /** Events applied whose anomaly detection failed (a detector threw, or the router refused an anomaly), by stage. */
  readonly detectionFailuresTotal: Counter<'stage'>;
  /** Anomalies raised, by type and severity. */
  readonly anomaliesTotal: Counter<'type' | 'severity'>;
  /** Alert notifications attempted, by receiver and outcome (`sent`, `failed`, `suppressed`, …). */
  readonly alertNotificationsTotal: Counter<'receiver' | 'outcome'>;
  /** Wall-clock time to process one batch, seconds. */
  readonly batchDuration: Histogram<never>;
  /** How far the event time of the last checkpoint lags the wall clock, seconds, by shard. */
  readonly checkpointLag: Gauge<'shard'>;
  /** How far behind the tip of the stream the last batch was, ms, by shard (when the source knows). */
  readonly millisBehindLatest: Gauge<'shard'>;
  /** SKU × warehouse series held in memory. */
  readonly trackedSeries: Gauge<never>;
  /** Kinesis records fetched (before KPL de-aggregation), by shard. */
  readonly kinesisRecordsFetched: Counter<'shard'>;
  /** Kinesis record bytes fetched, by shard. */
  readonly kinesisBytesFetched: Counter<'shard'>;
  /** GetRecords calls refused with ProvisionedThroughputExceeded, by shard. */
  readonly kinesisThrottled: Counter<'shard'>;
  /** Shard leases this worker holds. */
  readonly leasesHeld: Gauge<never>;
  /** Lease changes: taken, stolen, lost, released, ended. */
  readonly leaseTransitions: Counter<'kind'>;
  /**
   * Sets `checkpointLag` from the event time of the newest record a checkpoint covers.
   * Clamped at 0: an event stamped slightly in the future (clock skew) is not "negative lag".
   */
  setCheckpointLag(shard: string, eventTimeMs: number, nowMs?: number): void;
}

/**
 * Creates the metrics on a fresh registry, with Node's default process metrics (CPU, memory, event
 * loop lag, GC) registered alongside.
 *
 * @example
 * ```ts
 * const metrics = createMetrics();
 * metrics.eventsTotal.inc({ kind: 'receipt' });
 * console.log(await metrics.registry.metrics());
 * ```
 */
export function createMetrics(): ShelfwatchMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const checkpointLag = new Gauge({
    name: 'shelfwatch_checkpoint_lag_seconds',
    help: 'Event time of the last checkpointed record behind the wall clock (the generator: behind its simulated clock), seconds',
    labelNames: ['shard'] as const,
    registers,
  });

  return {
    registry,
    eventsTotal: new Counter({
      name: 'shelfwatch_events_total',
      help: 'Inventory events applied, by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    recordsTotal: new Counter({
      name: 'shelfwatch_records_total',
      help: 'Raw stream records received, by shard',
      labelNames: ['shard'] as const,
      registers,
    }),
    deadLettersTotal: new Counter({
      name: 'shelfwatch_dead_letters_total',
      help: 'Records that could not be turned into inventory events, by cause',
      labelNames: ['code'] as const,
      registers,
    }),
    quarantinedTotal: new Counter({
      name: 'shelfwatch_quarantined_total',
      help: 'Valid records held aside by a trust rule (event time outside the window), by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    duplicatesTotal: new Counter({
      name: 'shelfwatch_duplicates_total',
      help: 'Events dropped as repeats of an event applied within the duplicate window',
      registers,
    }),
    blankLinesTotal: new Counter({
      name: 'shelfwatch_blank_lines_total',
      help: 'Blank lines of file and standard-input sources, skipped',
      labelNames: ['shard'] as const,
      registers,
    }),
    detectionFailuresTotal: new Counter({
      name: 'shelfwatch_detection_failures_total',
      help: 'Events applied whose anomaly detection failed, by stage (detect, route)',
      labelNames: ['stage'] as const,
      registers,
    }),
    anomaliesTotal: new Counter({
      name: 'shelfwatch_anomalies_total',
      help: 'Anomalies raised, by type and severity',
      labelNames: ['type', 'severity'] as const,
      registers,
    }),
    alertNotificationsTotal: new Counter({
      name: 'shelfwatch_alert_notifications_total',
      help: 'Alert notifications attempted, by receiver and outcome',
      labelNames: ['receiver', 'outcome'] as const,
      registers,
    }),
    batchDuration: new Histogram({
      name: 'shelfwatch_batch_duration_seconds',
      help: 'Wall-clock time to process one batch of records, seconds',
      buckets: [...BATCH_DURATION_BUCKETS],
      registers,
    }),
    checkpointLag,
    millisBehindLatest: new Gauge({
      name: 'shelfwatch_millis_behind_latest',
      help: 'How far behind the tip of the stream the last batch was, milliseconds',
      labelNames: ['shard'] as const,
      registers,
    }),
    trackedSeries: new Gauge({
      name: 'shelfwatch_tracked_series',
      help: 'SKU x warehouse series held in memory',
      registers,
    }),
    kinesisRecordsFetched: new Counter({
      name: 'shelfwatch_kinesis_records_fetched_total',
      help: 'Kinesis records fetched (before KPL de-aggregation), by shard',
      labelNames: ['shard'] as const,
      registers,
    }),
    kinesisBytesFetched: new Counter({
      name: 'shelfwatch_kinesis_bytes_fetched_total',
      help: 'Kinesis record bytes fetched, by shard',
      labelNames: ['shard'] as const,
      registers,
    }),
    kinesisThrottled: new Counter({
      name: 'shelfwatch_kinesis_throttled_total',
      help: 'GetRecords calls refused with ProvisionedThroughputExceeded, by shard',
      labelNames: ['shard'] as const,
      registers,
    }),
    leasesHeld: new Gauge({
      name: 'shelfwatch_leases_held',
      help: 'Shard leases this worker holds',
      registers,
    }),
    leaseTransitions: new Counter({
      name: 'shelfwatch_lease_transitions_total',
      help: 'Lease changes of this worker: taken, stolen, lost, released, ended',
      labelNames: ['kind'] as const,
      registers,
    }),
    setCheckpointLag(shard, eventTimeMs, nowMs = Date.now()) {
      checkpointLag.set({ shard }, Math.max(0, (nowMs - eventTimeMs) / 1000));
    },
  };
}
