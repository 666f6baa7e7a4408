/**
 * The run configuration of the stream job as zod schemas: one place for every key, its type, its range
 * and its default. Every object is strict, so a misspelt key is an error rather than a silently ignored
 * setting. Each leaf carries its own "must be …" message, which {@link loadRunConfig} prefixes with the
 * key path and the place the value came from.
 *
 * Unions (`source`, `store`, `alerts.sinks`) are discriminated by `type`; adding a variant means adding
 * one strict object to the matching `*_VARIANTS` list.
 */
import { z } from 'zod';
import { ANOMALY_TYPES, type Severity } from '../ports.js';
import { DetectionConfigSchema } from './detection.js';
import { bool, int, num, oneOf, text } from './leaves.js';
import { SeriesMetricsConfigSchema, SINK_VARIANTS } from './sinks.js';
import { STORE_VARIANTS } from './stores.js';

// ---- source --------------------------------------------------------------------------------------

/** The built-in simulator, streamed live (see `datasets/generator`). */
const GeneratorSourceSchema = z.strictObject({
  type: z.literal('generator'),
  /** Seed of the simulation: the same seed streams the same records. */
  seed: int(0, 2 ** 32 - 1).default(1),
  /** Records per second on the wall clock; 0 streams as fast as the pipeline takes them. */
  rate: num(0).default(2000),
  /**
   * Simulated days. Ten years by default: at the default rate a simulated day streams in about four
   * seconds, so the demo keeps showing anomalies for hours (28 days were used up in two minutes).
   */
  days: int(1, 3650).default(3650),
  skus: int(1, 1_000_000).default(200),
  warehouses: int(1, 99).default(3),
  /** Expected injected anomalies per SKU × warehouse per day. */
  anomalyRate: num(0, 1).default(0.01),
});

/** An NDJSON file, replayed once or tailed (`follow`). */
const FileSourceSchema = z.strictObject({
  type: z.literal('file'),
  path: text('a file path'),
  follow: bool().default(false),
});

/** NDJSON on standard input. */
const StdinSourceSchema = z.strictObject({
  type: z.literal('stdin'),
});

/**
 * A Kinesis stream shared by workers through a DynamoDB lease table (the Kinesis Client Library's
 * model). Credentials and region come from AWS's standard chain (AWS_REGION, AWS_ACCESS_KEY_ID, a
 * profile, an instance or task role); endpoints from `endpoint`/`leaseTableEndpoint` or
 * AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL_DYNAMODB.
 */
const KinesisSourceSchema = z
  .strictObject({
    type: z.literal('kinesis'),
    stream: text('a stream name'),
    /** Names the lease table (one per application, as KCL does). */
    applicationName: text('an application name').default('shelfwatch'),
    /** Unique per worker; default: host name and process id. */
    workerId: text('a worker id').optional(),
    /** A lease not renewed for this long moves to another worker, ms. */
    failoverTimeMs: int(500, 3_600_000).default(10_000),
    /** Wait after an empty read, ms. */
    pollIntervalMs: int(0, 60_000).default(1_000),
    /** Records per GetRecords call. */
    maxRecords: int(1, 10_000).default(10_000),
    /** Where a shard without a checkpoint starts: nothing is skipped by default. */
    initialPosition: oneOf(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']).default('TRIM_HORIZON'),
    /** ISO 8601 time, for AT_TIMESTAMP. */
    initialTimestamp: text('an ISO 8601 time').optional(),
    /** How often the shard list is re-read to find new shards, ms. */
    shardSyncIntervalMs: int(1_000).default(60_000),
    maxLeasesPerWorker: int(1).optional(),
    region: text('an AWS region').optional(),
    endpoint: text('a URL').optional(),
    leaseTableEndpoint: text('a URL').optional(),
  })
  .superRefine((k, ctx) => {
    if (k.initialPosition === 'AT_TIMESTAMP') {
      if (k.initialTimestamp === undefined || Number.isNaN(Date.parse(k.initialTimestamp))) {
        ctx.addIssue({
          code: 'custom',
          path: ['initialTimestamp'],
          message: 'must be an ISO 8601 time when initialPosition is AT_TIMESTAMP',
        });
      }
    }
  });

/** Every source variant; add a strict object with a literal `type` to add a source. */
const SOURCE_VARIANTS = [
  GeneratorSourceSchema,
  FileSourceSchema,
  StdinSourceSchema,
  KinesisSourceSchema,
] as const;
const SourceConfigSchema = z.discriminatedUnion('type', SOURCE_VARIANTS);

// ---- batching ------------------------------------------------------------------------------------

const BatchConfigSchema = z.strictObject({
  /** Most records handed to the processor at once. */
  // Bigger batches mean fewer commits (the end-to-end figure in the README is for 5,000); maxWaitMs bounds latency.
  maxRecords: int(1, 100_000).default(5000),
  /** Longest a partial batch waits for more records, ms. */
  maxWaitMs: int(0, 3_600_000).default(200),
});

// ---- store (variants in stores.ts) ----------------------------------------------------------

const StoreConfigSchema = z.discriminatedUnion('type', STORE_VARIANTS);

// ---- alerts --------------------------------------------------------------------------------------

/** The anomaly types a route can match. */
const ANOMALY_TYPE_NAMES = ANOMALY_TYPES;

const SEVERITY_NAMES = ['critical', 'warning', 'info'] as const satisfies readonly Severity[];

// Sink variants live in sinks.ts.

/** A sink, with `name` defaulting to its type (routes refer to sinks by name). */
const SinkConfigSchema = z
  .discriminatedUnion('type', SINK_VARIANTS)
  .transform((sink) => ({ ...sink, name: sink.name ?? sink.type }));

const RouteConfigSchema = z.strictObject({
  /** Which notifications the route takes; a missing list matches everything. */
  match: z
    .strictObject({
      types: z.array(oneOf(ANOMALY_TYPE_NAMES), { error: 'must be a list of anomaly types' }).optional(),
      severities: z.array(oneOf(SEVERITY_NAMES), { error: 'must be a list of severities' }).optional(),
    })
    .optional(),
  /** Names of the sinks that receive a matching notification. */
  receivers: z
    .array(text('a sink name'), { error: 'must be a list of sink names' })
    .min(1, { error: 'must name at least one sink' }),
  /** Keep evaluating later routes after this one matched (Alertmanager's `continue`). */
  continue: bool().default(false),
});

const AlertsConfigSchema = z
  .strictObject({
    sinks: z.array(SinkConfigSchema, { error: 'must be a list of sinks' }).prefault([{ type: 'console' }]),
    routes: z.array(RouteConfigSchema, { error: 'must be a list of routes' }).prefault([]),
    /** How long a new group waits for more anomalies before its first notification, ms. */
    groupWaitMs: int(0).default(300_000),
    /** How long before an unchanged group is notified again, ms. */
    repeatIntervalMs: int(0).default(21_600_000),
    /** Notifications per hour per receiver; anomalies beyond it are counted as suppressed. */
    maxPerHour: int(1).default(60),
  })
  .superRefine((alerts, ctx) => {
    // Routes refer to sinks by name, so a name used twice would make a route ambiguous.
    const seen = new Map<string, number>();
    alerts.sinks.forEach((sink, i) => {
      const first = seen.get(sink.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['sinks', i, 'name'],
          message: `is "${sink.name}", already the name of alerts.sinks[${first}]; give each sink a distinct name`,
        });
      } else {
        seen.set(sink.name, i);
      }
    });
    alerts.routes.forEach((route, r) => {
      route.receivers.forEach((receiver, i) => {
        if (!seen.has(receiver)) {
          const known = [...seen.keys()].map((n) => `"${n}"`).join(', ') || 'none';
          ctx.addIssue({
            code: 'custom',
            path: ['routes', r, 'receivers', i],
            message: `names no sink: "${receiver}" (sinks: ${known})`,
          });
        }
      });
    });
  });

// ---- metrics, log, dead letters -------------------------------------------------------

const MetricsConfigSchema = z.strictObject({
  /** Port of the /metrics, /healthz and /readyz server; 0 turns it off. */
  port: int(0, 65_535).default(9464),
  host: text('a host name or address').default('127.0.0.1'),
  /** `/readyz` answers 503, naming it, once a dependency (store, sink, stream) has failed this long, ms. */
  unreadyAfterMs: int(0).default(60_000),
});

/** How a SIGTERM or SIGINT ends the job. */
const ShutdownConfigSchema = z.strictObject({
  /**
   * The batch in flight may finish (and checkpoint) for this long, ms; then it is abandoned, uncommitted
   * (the next start processes it again), and the job exits non-zero saying what was left.
   */
  timeoutMs: int(0, 3_600_000).default(30_000),
});

/** The trust boundary's settings; the fixed limits are in `pipeline/normalize/limits.ts`. */
const LimitsConfigSchema = z.strictObject({
  /** How far an event may be dated after its record reached the stream, ms. */
  maxFutureSkewMs: int(0).default(900_000),
  /**
   * A valid record dated outside the window (too far ahead, or older than the duplicate window):
   * `dead-letter` it, or `quarantine` it (kept the same way, counted apart, for review and replay).
   */
  outOfWindow: oneOf(['dead-letter', 'quarantine']).default('dead-letter'),
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const LogConfigSchema = z.strictObject({
  level: oneOf(LOG_LEVELS).default('info'),
});

const DeadLettersConfigSchema = z.strictObject({
  /**
   * Also append every dead letter to this NDJSON file, before its batch commits (they are always kept
   * in the store). At least once: after a crash a batch's dead letters may be appended again.
   */
  path: text('a file path').optional(),
});

// ---- the whole configuration ---------------------------------------------------------------------

/**
 * The whole run configuration. `prefault` (rather than `default`) parses the default through the
 * schema, so an absent section gets every inner default too.
 *
 * @example
 * ```ts
 * const config = RunConfigSchema.parse({ source: { type: 'file', path: 'events.ndjson' } });
 * config.batch.maxRecords; // 5000
 * ```
 */
export const RunConfigSchema = z.strictObject({
  source: SourceConfigSchema.prefault({ type: 'generator' }),
  batch: BatchConfigSchema.prefault({}),
  store: StoreConfigSchema.prefault({ type: 'sqlite' }),
  alerts: AlertsConfigSchema.prefault({}),
  /** Per-series metrics written after every batch (Timestream), before the batch commits. */
  metricsSinks: z.array(SeriesMetricsConfigSchema, { error: 'must be a list of metrics sinks' }).prefault([]),
  detection: DetectionConfigSchema.prefault({}),
  metrics: MetricsConfigSchema.prefault({}),
  log: LogConfigSchema.prefault({}),
  deadLetters: DeadLettersConfigSchema.prefault({}),
  limits: LimitsConfigSchema.prefault({}),
  shutdown: ShutdownConfigSchema.prefault({}),
});

/**
 * The validated configuration, every default filled in.
 *
 * @example
 * ```ts
 * function describe(config: RunConfig): string {
 *   return config.source.type === 'file' ? config.source.path : config.source.type;
 * }
 * ```
 */
export type RunConfig = z.output<typeof RunConfigSchema>;
/**
 * What a configuration file may contain (every key optional where it has a default).
 *
 * @example
 * ```ts
 * const input: RunConfigInput = { source: { type: 'generator', rate: 0 } };
 * ```
 */
export type RunConfigInput = z.input<typeof RunConfigSchema>;
/**
 * One source variant.
 *
 * @example
 * ```ts
 * const source: SourceConfig = { type: 'file', path: 'events.ndjson', follow: true };
 * ```
 */
export type SourceConfig = RunConfig['source'];
/**
 * One store variant.
 *
 * @example
 * ```ts
 * const store: StoreConfig = { type: 'sqlite', path: 'data/shelfwatch.db' };
 * ```
 */
export type StoreConfig = RunConfig['store'];
/**
 * One alert sink, with its resolved name.
 *
 * @example
 * ```ts
 * const sink: SinkConfig = { type: 'file', name: 'audit', path: 'alerts.ndjson' };
 * ```
 */
export type SinkConfig = RunConfig['alerts']['sinks'][number];
/**
 * One alert route.
 *
 * @example
 * ```ts
 * const route: RouteConfig = { match: { severities: ['critical'] }, receivers: ['pager'], continue: false };
 * ```
 */
export type RouteConfig = RunConfig['alerts']['routes'][number];
/**
 * The log level names pino accepts.
 *
 * @example
 * ```ts
 * const level: LogLevel = 'debug';
 * ```
 */
export type LogLevel = (typeof LOG_LEVELS)[number];
