/**
 * The alert sink variants of the run configuration (`alerts.sinks[]`), one strict object per `type`,
 * and the per-series metrics sinks ({@link SeriesMetricsConfigSchema}).
 * Secrets (webhook URLs, passwords, headers) are recognised by key name in redact.ts: name new secret
 * keys accordingly. Add a sink by adding its schema to {@link SINK_VARIANTS}.
 *
 * AWS credentials never appear here: the SNS and Timestream clients take them from the standard chain
 * (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, SSO, container and instance roles).
 */
import { z } from 'zod';
import { bool, httpUrl, int, text } from './leaves.js';

/** An SNS topic ARN; the region in it is the one the client must call. */
function snsTopicArn() {
  const error =
    'must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME, NAME ending in .fifo for a FIFO topic)';
  return z
    .string({ error })
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, { error });
}

/** `name@example.com` or `Name <name@example.com>`, on one line. */
function emailAddress() {
  const error = 'must be an e-mail address (name@example.com or "Name <name@example.com>")';
  return z.string({ error }).regex(/^(?:[^\s@<>]+@[^\s@<>]+|[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>)$/, { error });
}

const ConsoleSinkSchema = z.strictObject({
  type: z.literal('console'),
  name: text('a sink name').optional(),
});

const FileSinkSchema = z.strictObject({
  type: z.literal('file'),
  name: text('a sink name').optional(),
  path: text('a file path'),
});

const WebhookSinkSchema = z.strictObject({
  type: z.literal('webhook'),
  name: text('a sink name').optional(),
  /** Secret: Slack-style webhook URLs carry their credential in the path. */
  url: httpUrl(),
  /** Extra request headers (typically an authorization header): every value is treated as secret. */
  headers: z.record(z.string(), z.string({ error: 'must be a string' })).optional(),
});

/** An SNS topic; region and endpoint default to the topic ARN's region and `AWS_ENDPOINT_URL_SNS`. */
const SnsSinkSchema = z.strictObject({
  type: z.literal('sns'),
  name: text('a sink name').optional(),
  topicArn: snsTopicArn(),
  region: text('an AWS region such as eu-west-1').optional(),
  /** A local stand-in (fauxqs, LocalStack); not a secret, but only its host is ever logged. */
  endpoint: httpUrl().optional(),
});

/** A Slack incoming webhook. */
const SlackSinkSchema = z.strictObject({
  type: z.literal('slack'),
  name: text('a sink name').optional(),
  /** Secret (its path is the credential): redacted whole by key name (`webhookUrl`). */
  webhookUrl: httpUrl(),
  /** A dashboard link; placeholders `{id}`, `{groupKey}`, `{warehouse}`, `{type}`, `{anomalyId}`, `{sku}`. */
  linkTemplate: text('a URL template such as https://dash.example/anomalies/{id}').optional(),
  /** A channel override (legacy webhooks only). */
  channel: text('a channel name such as #inventory').optional(),
});

/** E-mail over SMTP. */
const EmailSinkSchema = z.strictObject({
  type: z.literal('email'),
  name: text('a sink name').optional(),
  host: text('a host name or address'),
  port: int(1, 65_535).default(587),
  /** TLS from the first byte; default: true on port 465, else STARTTLS when the server offers it. */
  secure: bool().optional(),
  user: text('a user name').optional(),
  /** Secret: set it from the environment, e.g. SHELFWATCH_ALERTS__SINKS__0__PASSWORD. */
  password: text('a password').optional(),
  from: emailAddress(),
  to: z
    .array(emailAddress(), { error: 'must be a list of e-mail addresses' })
    .min(1, { error: 'must name at least one recipient' }),
  cc: z.array(emailAddress(), { error: 'must be a list of e-mail addresses' }).optional(),
});

/** Every sink variant. */
export const SINK_VARIANTS = [
  ConsoleSinkSchema,
  FileSinkSchema,
  WebhookSinkSchema,
  SnsSinkSchema,
  SlackSinkSchema,
  EmailSinkSchema,
] as const;

// ---- per-series metrics (not alert sinks) ----------------------------------------------------------

/** Amazon Timestream for LiveAnalytics: one multi-measure record per changed series per batch. */
const TimestreamMetricsSchema = z.strictObject({
  type: z.literal('timestream'),
  name: text('a sink name').optional(),
  database: text('a Timestream database name'),
  table: text('a Timestream table name'),
  region: text('an AWS region such as eu-west-1').optional(),
  /** A fixed endpoint (skips endpoint discovery). */
  endpoint: httpUrl().optional(),
});

/**
 * Every series-metrics sink variant.
 *
 * @example
 * ```ts
 * const types = SERIES_METRICS_VARIANTS.map((v) => v.shape.type.value); // ['timestream']
 * ```
 */
export const SERIES_METRICS_VARIANTS = [TimestreamMetricsSchema] as const;

/**
 * One per-series metrics sink (`SeriesMetricsSink` in ports.ts), discriminated by `type` like the alert
 * sinks; meant for a list under a top-level key.
 *
 * @example
 * ```ts
 * const metricsSinks = z.array(SeriesMetricsConfigSchema).prefault([]);
 * SeriesMetricsConfigSchema.parse({ type: 'timestream', database: 'shelfwatch', table: 'series' });
 * ```
 */
export const SeriesMetricsConfigSchema = z.discriminatedUnion('type', SERIES_METRICS_VARIANTS);

/**
 * A validated series-metrics sink configuration.
 *
 * @example
 * ```ts
 * const m: SeriesMetricsConfig = { type: 'timestream', database: 'shelfwatch', table: 'series', region: 'eu-west-1' };
 * ```
 */
export type SeriesMetricsConfig = z.output<typeof SeriesMetricsConfigSchema>;
