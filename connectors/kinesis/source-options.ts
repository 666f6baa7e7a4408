/** The options of the Kinesis worker ({@link KinesisSource}), and what it reports through them. */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DependencyPart } from '../../pipeline/errors.js';
import type { DependencyObserver, ExtendedSequenceNumber } from '../../pipeline/index.js';
import type { RetryPolicy } from '../../pipeline/retry.js';
import type { KinesisSource } from './consumer.js';
import type { Leases } from './leases.js';

/**
 * Where a worker starts reading a shard that has no checkpoint yet.
 *
 * @example
 * ```ts
 * const from: InitialPosition = 'LATEST';
 * ```
 */
export type InitialPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/**
 * What the worker reports, for Prometheus (see `createKinesisSource`) or tests.
 *
 * @example
 * ```ts
 * const metrics: KinesisSourceMetrics = { throttled: (shardId) => throttles.inc({ shard: shardId }) };
 * ```
 */
export interface KinesisSourceMetrics {
  fetched?(shardId: string, records: number, bytes: number, millisBehindLatest: number | undefined): void;
  throttled?(shardId: string): void;
  leasesHeld?(count: number): void;
  leaseTransition?(kind: 'taken' | 'stolen' | 'lost' | 'released' | 'ended'): void;
}

/**
 * The little logging the worker does (pino's signature). Warnings name the failing part (`what`:
 * `kinesis stream inventory`, `lease table shelfwatch`) and the real cause (`cause`).
 *
 * @example
 * ```ts
 * const log: KinesisSourceLog = pino();
 * ```
 */
export interface KinesisSourceLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Options of {@link KinesisSource}.
 *
 * @example
 * ```ts
 * const options: KinesisSourceOptions = {
 *   kinesis, leases: new LeaseTable(ddb, 'shelfwatch'), streamName: 'inventory', workerId: 'worker-a',
 *   loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
 * };
 * ```
 */
export interface KinesisSourceOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  leases: Leases;
  streamName: string;
  /** Unique among the workers of the application (default: host name and process id). */
  workerId: string;
  /** A lease not renewed for this long is taken over, ms (KCL's failoverTimeMillis). Default 10,000. */
  failoverTimeMs?: number;
  /** Wait after an empty GetRecords, ms (KCL's idleTimeBetweenReadsInMillis). Default 1,000. */
  pollIntervalMs?: number;
  /** Records per GetRecords call (≤ 10,000). Default 10,000. */
  maxRecords?: number;
  /** Where shards without a checkpoint start. Default TRIM_HORIZON. */
  initialPosition?: InitialPosition;
  /** For AT_TIMESTAMP. */
  initialTimestamp?: Date;
  /** How often the shard list is re-read (new shards after resharding), ms. Default 60,000. */
  shardSyncIntervalMs?: number;
  /** At most this many leases per worker. Default unlimited. */
  maxLeasesPerWorker?: number;
  /** The authoritative checkpoint (the state store's, written with the state). */
  loadCheckpoint?: (shardId: string) => Promise<ExtendedSequenceNumber | null>;
  metrics?: KinesisSourceMetrics;
  log?: KinesisSourceLog;
  /**
   * Told when `kinesis stream <name>` (GetRecords, ListShards, GetShardIterator) or `lease table <name>`
   * fails and recovers, e.g. the process's `DependencyHealth` behind `/readyz`. It cannot steer.
   */
  health?: DependencyObserver;
  /**
   * Where the stream and the lease table are and which settings point at them, for log lines that
   * say what to change (`…: nothing answers there: check source.endpoint, AWS_ENDPOINT_URL_KINESIS`).
   */
  parts?: { stream?: Omit<DependencyPart, 'name'>; leaseTable?: Omit<DependencyPart, 'name'> };
  /**
   * How the worker waits after a failure. Default: full jitter below 200 ms doubling to 10 s, with no
   * bound in attempts (a stream worker waits out an outage). Its signal is the worker's stop signal.
   */
  retryPolicy?: RetryPolicy;
}
