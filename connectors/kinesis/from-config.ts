/** Builds the Kinesis worker from the run configuration's `source: { type: kinesis }`. */
import { hostname } from 'node:os';
import type {
  DependencyObserver,
  ExtendedSequenceNumber,
  ShelfwatchMetrics,
  SourceConfig,
} from '../../pipeline/index.js';
import { createKinesisClient, createLeaseTableClient } from './client.js';
import { KinesisSource, type KinesisSourceLog } from './consumer.js';
import { LeaseTable } from './leases.js';

/**
 * The `kinesis` variant of the source configuration.
 *
 * @example
 * ```ts
 * const k: KinesisSourceConfig = { ...loadRunConfig({ file }).source } as KinesisSourceConfig;
 * ```
 */
export type KinesisSourceConfig = Extract<SourceConfig, { type: 'kinesis' }>;

/**
 * What the worker needs besides its configuration.
 *
 * @example
 * ```ts
 * const deps: KinesisSourceDeps = { loadCheckpoint: (id) => store.loadCheckpoint(id), metrics, log, health };
 * ```
 */
export interface KinesisSourceDeps {
  /** The state store's checkpoint: where a shard resumes. */
  loadCheckpoint: (shardId: string) => Promise<ExtendedSequenceNumber | null>;
  metrics?: ShelfwatchMetrics;
  log?: KinesisSourceLog;
  /**
   * Told when `kinesis stream <stream>` or `lease table <applicationName>` fails and recovers: the
   * process's `DependencyHealth`, so that `/readyz` can name them.
   */
  health?: DependencyObserver;
}

/**
 * A worker on the configured stream and lease table (`applicationName`), its shard and lease figures
 * going to the Prometheus metrics.
 *
 * @example
 * ```ts
 * const source = createKinesisSource(config.source, { loadCheckpoint: (id) => store.loadCheckpoint(id) });
 * await source.run((shardId) => engine.createProcessor(shardId), signal);
 * ```
 */
export function createKinesisSource(config: KinesisSourceConfig, deps: KinesisSourceDeps): KinesisSource {
  const region = config.region ? { region: config.region } : {};
  const m = deps.metrics;
  return new KinesisSource({
    kinesis: createKinesisClient({ ...region, ...(config.endpoint ? { endpoint: config.endpoint } : {}) }),
    leases: new LeaseTable(
      createLeaseTableClient({
        ...region,
        ...(config.leaseTableEndpoint ? { endpoint: config.leaseTableEndpoint } : {}),
      }),
      config.applicationName,
    ),
    streamName: config.stream,
    workerId: config.workerId ?? `${hostname()}-${process.pid}`,
    failoverTimeMs: config.failoverTimeMs,
    pollIntervalMs: config.pollIntervalMs,
    maxRecords: config.maxRecords,
    initialPosition: config.initialPosition,
    ...(config.initialTimestamp ? { initialTimestamp: new Date(config.initialTimestamp) } : {}),
    shardSyncIntervalMs: config.shardSyncIntervalMs,
    ...(config.maxLeasesPerWorker ? { maxLeasesPerWorker: config.maxLeasesPerWorker } : {}),
    loadCheckpoint: deps.loadCheckpoint,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.health ? { health: deps.health } : {}),
    parts: {
      stream: {
        where: `Kinesis at ${config.endpoint ?? process.env.AWS_ENDPOINT_URL_KINESIS ?? 'AWS'}`,
        settings: ['source.endpoint', 'AWS_ENDPOINT_URL_KINESIS'],
        regionSettings: ['source.region'],
      },
      leaseTable: {
        where: `DynamoDB at ${config.leaseTableEndpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB ?? 'AWS'}`,
        settings: ['source.leaseTableEndpoint', 'AWS_ENDPOINT_URL_DYNAMODB'],
        regionSettings: ['source.region'],
      },
    },
    metrics: m
      ? {
          fetched: (shard, records, bytes, behind) => {
            m.kinesisRecordsFetched.inc({ shard }, records);
            m.kinesisBytesFetched.inc({ shard }, bytes);
            if (behind !== undefined) m.millisBehindLatest.set({ shard }, behind);
          },
          throttled: (shard) => m.kinesisThrottled.inc({ shard }),
          leasesHeld: (n) => m.leasesHeld.set(n),
          leaseTransition: (kind) => m.leaseTransitions.inc({ kind }),
        }
      : undefined,
  });
}
