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
import { LOG_FORMATS } from '../observability/log-format.js';
import { ANOMALY_TYPES, type Severity } from '../ports.js';
import { DetectionConfigSchema } from './detection.js';
import { bool, int, num, oneOf, text } from './leaves.js';
import { SeriesMetricsConfigSchema, SINK_VARIANTS } from './sinks.js';
import { STORE_VARIANTS } from './stores.js';

// ---- source --------------------------------------------------------------------------------------
// Descriptions are zod metadata (`.meta`), not TSDoc, so that docs/configuration.md can be generated
// from them (pipeline/config/reference.ts); `//` comments say why the code is as it is.

const GeneratorSourceSchema = z
  .strictObject({
    type: z.literal('generator'),
    seed: int(0, 2 ** 32 - 1)
      .default(1)
      .meta({ description: 'Seed of the simulation: the same seed streams the same records.' }),
    rate: num(0).default(2000).meta({
      description: 'Records per second on the wall clock; 0 streams as fast as the pipeline takes them.',
    }),
    // Ten years by default: at the default rate a simulated day streams in about four seconds, so the
    // demo keeps showing anomalies for hours (28 days were used up in two minutes).
    days: int(1, 3650).default(3650).meta({
      description:
        'Simulated days; the stream ends when the simulation does (ten years stream for hours at the default rate).',
    }),
    skus: int(1, 1_000_000).default(200).meta({ description: 'Simulated SKUs (items).' }),
    warehouses: int(1, 99)
      .default(3)
      .meta({ description: 'Simulated warehouses; every SKU is stocked in each.' }),
    anomalyRate: num(0, 1)
      .default(0.01)
      .meta({ description: 'Expected injected anomalies per SKU × warehouse per day.' }),
  })
  .meta({
    description: 'The built-in simulator of an inventory stream (see `datasets/generator`), streamed live.',
  });

const FileSourceSchema = z
  .strictObject({
    type: z.literal('file'),
    path: text('a file path').meta({ description: 'The NDJSON file of records, one per line.' }),
    follow: bool().default(false).meta({
      description:
        'Keep reading lines appended to the file, like `tail -f`, until stopped; without it the end of the file ends the run.',
    }),
  })
  .meta({
    description:
      'An NDJSON file, replayed once or tailed (`follow`); a restart resumes after the checkpointed line.',
  });

const StdinSourceSchema = z
  .strictObject({
    type: z.literal('stdin'),
  })
  .meta({ description: 'NDJSON records on standard input.' });

const KinesisSourceSchema = z
  .strictObject({
    type: z.literal('kinesis'),
    stream: text('a stream name').meta({ description: 'The Kinesis stream name.' }),
    applicationName: text('an application name').default('shelfwatch').meta({
      description:
        'Names the DynamoDB lease table, one per application as the KCL does: workers with the same name share the shards.',
    }),
    workerId: text('a worker id')
      .optional()
      .meta({ description: 'Unique per worker; default: host name and process id.' }),
    failoverTimeMs: int(500, 3_600_000)
      .default(10_000)
      .meta({ description: 'A lease not renewed for this long moves to another worker, ms.' }),
    pollIntervalMs: int(0, 60_000).default(1_000).meta({ description: 'Wait after an empty read, ms.' }),
    maxRecords: int(1, 10_000).default(10_000).meta({ description: 'Records per GetRecords call.' }),
    initialPosition: oneOf(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']).default('TRIM_HORIZON').meta({
      description:
        'Where a shard without a checkpoint starts: the oldest record (nothing is skipped), new records only, or `initialTimestamp`.',
    }),
    initialTimestamp: text('an ISO 8601 time')
      .optional()
      .meta({ description: 'ISO 8601 time to start from; required with `initialPosition: AT_TIMESTAMP`.' }),
    shardSyncIntervalMs: int(1_000)
      .default(60_000)
      .meta({ description: 'How often the shard list is re-read to find new shards after resharding, ms.' }),
    maxLeasesPerWorker: int(1)
      .optional()
      .meta({ description: 'At most this many shard leases per worker; default: no limit.' }),
    region: text('an AWS region')
      .optional()
      .meta({ description: 'AWS region of the stream and the lease table; default: `AWS_REGION`.' }),
    endpoint: text('a URL').optional().meta({
      description: 'Kinesis endpoint (kinesalite, LocalStack); default: `AWS_ENDPOINT_URL_KINESIS` or AWS.',
    }),
    leaseTableEndpoint: text('a URL').optional().meta({
      description: 'DynamoDB endpoint of the lease table; default: `AWS_ENDPOINT_URL_DYNAMODB` or AWS.',
    }),
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
  })
  .meta({
    description:
      "A Kinesis stream shared by workers through a DynamoDB lease table (the Kinesis Client Library's model). Credentials come from AWS's standard chain (`AWS_ACCESS_KEY_ID`, a profile, an instance or task role).",
  });

/** Every source variant; add a strict object with a literal `type` (and a description) to add a source. */
const SOURCE_VARIANTS = [
  GeneratorSourceSchema,
  FileSourceSchema,
  StdinSourceSchema,
  KinesisSourceSchema,
] as const;
const SourceConfigSchema = z.discriminatedUnion('type', SOURCE_VARIANTS);

// ---- batching ------------------------------------------------------------------------------------

const BatchConfigSchema = z.strictObject({
  // Bigger batches mean fewer commits (the end-to-end figure in the README is for 5,000); maxWaitMs bounds latency.
  maxRecords: int(1, 100_000)
    .default(5000)
    .meta({ description: 'Most records handed to the processor, and committed, at once.' }),
  maxWaitMs: int(0, 3_600_000)
    .default(200)
    .meta({ description: 'Longest a partial batch waits for more records, ms.' }),
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
  match: z
    .strictObject({
      types: z
        .array(oneOf(ANOMALY_TYPE_NAMES), { error: 'must be a list of anomaly types' })
        .optional()
        .meta({ description: 'Anomaly types the route takes; default: every type.' }),
      severities: z
        .array(oneOf(SEVERITY_NAMES), { error: 'must be a list of severities' })
        .optional()
        .meta({ description: 'Severities the route takes; default: every severity.' }),
    })
    .optional()
    .meta({
      description:
        'Which notifications the route takes (both lists must match); default: every notification.',
    }),
  receivers: z
    .array(text('a sink name'), { error: 'must be a list of sink names' })
    .min(1, { error: 'must name at least one sink' })
    .meta({
      description: 'Names of the sinks (`alerts.sinks[].name`) that receive a matching notification.',
    }),
  continue: bool().default(false).meta({
    description:
      "Keep evaluating later routes after this one matched (Alertmanager's `continue`); else the first match wins.",
  }),
});

const AlertsConfigSchema = z
  .strictObject({
    sinks: z
      .array(SinkConfigSchema, { error: 'must be a list of sinks' })
      .prefault([{ type: 'console' }])
      .meta({
        description: 'Where notifications go; each sink has a distinct `name`, which routes refer to.',
      }),
    routes: z.array(RouteConfigSchema, { error: 'must be a list of routes' }).prefault([]).meta({
      description:
        'Ordered routes from notifications to sinks; without routes, or when none matches, every sink receives every notification.',
    }),
    groupWaitMs: int(0).default(300_000).meta({
      description:
        'How long a new group (per route, warehouse and type) waits for more anomalies before it is notified, ms of event time.',
    }),
    repeatIntervalMs: int(0).default(21_600_000).meta({
      description:
        'An anomaly of the same type × SKU × warehouse within this long of the last one accepted is dropped as a repeat, unless its severity is higher; ms of event time.',
    }),
    maxPerHour: int(1).default(60).meta({
      description:
        'Notifications per receiver per sliding hour of event time; anomalies beyond it are counted as suppressed, not silently dropped.',
    }),
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
  port: int(0, 65_535)
    .default(9464)
    .meta({ description: 'Port of the `/metrics`, `/healthz` and `/readyz` server; 0 turns it off.' }),
  host: text('a host name or address')
    .default('127.0.0.1')
    .meta({ description: 'Address the metrics server listens on; `0.0.0.0` for every interface.' }),
  unreadyAfterMs: int(0).default(60_000).meta({
    description:
      '`/readyz` answers 503, naming it, once a dependency (store, sink, stream) has failed for this long, ms.',
  }),
});

const ShutdownConfigSchema = z.strictObject({
  timeoutMs: int(0, 3_600_000).default(30_000).meta({
    description:
      'After SIGTERM or SIGINT the batch in flight may finish and checkpoint for this long, ms; then it is abandoned uncommitted (the next start processes it again) and the job exits 1 saying what was left.',
  }),
});

// The fixed limits are in `pipeline/normalize/limits.ts`.
const LimitsConfigSchema = z.strictObject({
  maxFutureSkewMs: int(0)
    .default(900_000)
    .meta({ description: 'How far an event may be dated after its record reached the stream, ms.' }),
  outOfWindow: oneOf(['dead-letter', 'quarantine']).default('dead-letter').meta({
    description:
      'What happens to a valid record dated outside the window (too far ahead, or older than the duplicate window): `dead-letter` it, or `quarantine` it (kept the same way, counted apart, for review and replay).',
  }),
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const LogConfigSchema = z.strictObject({
  level: oneOf(LOG_LEVELS).default('info').meta({
    description: 'Least severe level of the log lines written to standard error.',
  }),
  format: oneOf(LOG_FORMATS).default('auto').meta({
    description:
      '`json`: one JSON object per line, for log systems; `pretty`: one short human line per event (time, level, message, key fields), coloured unless `NO_COLOR` is set; `auto`: pretty when standard error is a terminal, JSON otherwise (a pipe, a file, a container log driver).',
  }),
});

const DeadLettersConfigSchema = z.strictObject({
  path: text('a file path').optional().meta({
    description:
      'Also append every dead letter to this NDJSON file before its batch commits (they are always kept in the store). At least once: after a crash a batch may be appended again.',
  }),
});

// ---- the whole configuration ---------------------------------------------------------------------

/**
 * The whole run configuration. `prefault` (rather than `default`) parses the default through the
 * schema, so an absent section gets every inner default too. Every key carries a description
 * (`.meta`), from which docs/configuration.md is generated (`npm run docs:config`).
 *
 * @example
 * ```ts
 * const config = RunConfigSchema.parse({ source: { type: 'file', path: 'events.ndjson' } });
 * config.batch.maxRecords; // 5000
 * ```
 */
export const RunConfigSchema = z.strictObject({
  source: SourceConfigSchema.prefault({ type: 'generator' }).meta({
    description: 'Where records come from, chosen by `type`.',
  }),
  batch: BatchConfigSchema.prefault({}).meta({
    description: 'How records are grouped: a batch is processed and committed at once.',
  }),
  store: StoreConfigSchema.prefault({ type: 'sqlite' }).meta({
    description:
      'Where state, applied event ids, checkpoints, dead letters and anomalies are kept, chosen by `type` (see docs/state-schema.md).',
  }),
  alerts: AlertsConfigSchema.prefault({}).meta({
    description: 'How anomalies become notifications: sinks, routes, grouping and rate limits.',
  }),
  metricsSinks: z
    .array(SeriesMetricsConfigSchema, { error: 'must be a list of metrics sinks' })
    .prefault([])
    .meta({ description: 'Per-series metrics written after every batch, before the batch commits.' }),
  detection: DetectionConfigSchema.prefault({}).meta({ description: 'Anomaly detection settings.' }),
  metrics: MetricsConfigSchema.prefault({}).meta({
    description: 'The Prometheus metrics and health-check HTTP server.',
  }),
  log: LogConfigSchema.prefault({}).meta({ description: 'Logging (JSON lines on standard error).' }),
  deadLetters: DeadLettersConfigSchema.prefault({}).meta({
    description: "Records that could not be used, besides the store's `dead_letters` table.",
  }),
  limits: LimitsConfigSchema.prefault({}).meta({
    description: "The trust boundary's settings: which records are accepted.",
  }),
  shutdown: ShutdownConfigSchema.prefault({}).meta({ description: 'How a SIGTERM or SIGINT ends the job.' }),
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
