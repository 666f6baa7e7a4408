/**
 * The engine's options, the interfaces it needs from its collaborators, and what it reports per batch.
 */
import type { RoutedNotification } from './alert-delivery.js';
import type { DetectionThresholds, InventoryDetector } from './detect/inventory-detector.js';
import type { InventoryEvent, InventoryEventKind } from './events.js';
import type { ExtendedSequenceNumber, StreamRecord } from './lifecycle.js';
import type {
  AlertSink,
  Anomaly,
  DeadLetter,
  DeadLetterSink,
  SeriesMetricsSink,
  StateStore,
  UndeliveredNotification,
} from './ports.js';
import type { RetryPolicy } from './retry.js';

/** What the engine needs from the alert router (dedup, grouping, routing, rate limit). */
export interface AlertRouting {
  add(anomaly: Anomaly): void;
  advance(watermark: number): RoutedNotification[];
  flushAll(): RoutedNotification[];
  toJSON(): unknown;
}

/** What the engine needs from the normalizer. */
export interface RecordNormalizer {
  normalize(
    record: StreamRecord,
    shardId: string,
  ): { ok: true; events: InventoryEvent[] } | { ok: false; deadLetter: DeadLetter };
}

/**
 * An event whose detection failed: it was applied to state, but a detector threw on it (`detect`) or
 * the router refused an anomaly it raised (`route`).
 *
 * @example
 * ```ts
 * const f: DetectionFailure = { event, stage: 'route', reason: 'anomaly.explanation.features[2] must have finite observed and expected values' };
 * ```
 */
export interface DetectionFailure {
  event: InventoryEvent;
  stage: 'detect' | 'route';
  reason: string;
}

/** Figures of one committed batch, for metrics and logs. */
export interface BatchReport {
  shardId: string;
  records: number;
  events: number;
  eventsByKind: Partial<Record<InventoryEventKind, number>>;
  /** Events dropped because their id was applied before (within the duplicate window). */
  duplicates: number;
  /**
   * Late cycle counts placed with an incomplete memory: the series had forgotten movements that
   * happened after the count (it remembers the last `RECENT_MOVES`), so on hand may be off by them.
   */
  countsBeyondMemory: InventoryEvent[];
  /** Events applied whose judgement failed (a detector or the router threw): counted and logged. */
  detectionFailures: DetectionFailure[];
  deadLetters: DeadLetter[];
  anomalies: Anomaly[];
  notifications: RoutedNotification[];
  /** Notifications a sink refused for good, parked in the store with the reason (not in `notifications`). */
  undelivered: UndeliveredNotification[];
  seconds: number;
  /**
   * When the newest record of the batch reached the stream (`approximateArrivalTimestamp`), epoch ms;
   * −Infinity without records. For a synthetic source it is the source's own clock.
   */
  arrivedUntil: number;
  /** Newest event time seen, epoch ms. */
  watermark: number;
  checkpoint: ExtendedSequenceNumber | null;
}

/**
 * What {@link InventoryEngine} is built from.
 *
 * @example
 * ```ts
 * const options: EngineOptions = { store, sinks, createRouter, createNormalizer, duplicateWindowMs: 86_400_000 };
 * ```
 */
export interface EngineOptions {
  store: StateStore;
  /** Sinks by name (the router's receivers). */
  sinks: ReadonlyMap<string, AlertSink>;
  createRouter: (stored: unknown | undefined) => AlertRouting;
  createNormalizer: (casePack: (sku: string) => number | undefined) => RecordNormalizer;
  thresholds?: Partial<DetectionThresholds>;
  /** A count model trained by `shelfwatch train`, and/or a collector of count features (for training). */
  models?: ConstructorParameters<typeof InventoryDetector>[2];
  /** How long (event time) an applied id is remembered to drop duplicates. Default 24 h. */
  duplicateWindowMs?: number;
  /**
   * Per-series metrics sinks (Timestream): each batch's changed series are written to them before the
   * batch commits, retried like alert sinks (a failure holds the checkpoint back).
   */
  seriesSinks?: readonly SeriesMetricsSink[];
  /**
   * Where dead letters go besides the store (an NDJSON file): each batch's dead letters are written to
   * them before the batch commits, retried like the store (a failure holds the checkpoint back).
   */
  deadLetterSinks?: readonly DeadLetterSink[];
  /**
   * What happens to a valid record whose event time lies outside the window (`future_event`,
   * `expired_event`): `dead-letter` (default) or `quarantine` (kept the same way, counted apart, to be
   * reviewed and replayed).
   */
  outOfWindow?: 'dead-letter' | 'quarantine';
  /**
   * How the engine waits on a failing store or sink (default: unbounded attempts, 100 ms doubling to
   * 30 s, full jitter). A bounded policy (a Lambda invocation's deadline) makes the batch fail with a
   * `RetryGiveUpError` instead; nothing of it is committed.
   */
  retryPolicy?: RetryPolicy;
  /** Waits between retries of the default policy; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Aborting it stops every wait at once (shutdown): the batch in flight is abandoned, uncommitted,
   * and its `processRecords` rejects with a `RetryGiveUpError` of reason `aborted`.
   */
  signal?: AbortSignal;
  /** Observer: after each committed batch. */
  onBatch?: (report: BatchReport) => void;
  /** Observer: a sink or the store failed and the engine waits to try again. It cannot steer. */
  onRetry?: (what: string, attempt: number, error: unknown) => void;
  /** Observer: a sink or the store that had failed succeeded, after `attempts` attempts. */
  onRecovered?: (what: string, attempts: number) => void;
}
