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

/** `name`, shared by every sink: what routes and logs call it. */
function sinkName() {
  return text('a sink name')
    .optional()
    .meta({ description: 'What routes (`receivers`) and log lines call this sink; default: its `type`.' });
}

const ConsoleSinkSchema = z
  .strictObject({
    type: z.literal('console'),
    name: sinkName(),
  })
  .meta({ description: 'Human-readable notifications on standard output.' });

const FileSinkSchema = z
  .strictObject({
    type: z.literal('file'),
    name: sinkName(),
    path: text('a file path').meta({
      description: 'NDJSON file the notifications are appended to, one JSON object per line.',
    }),
  })
  .meta({ description: 'Notifications appended to an NDJSON file.' });

const WebhookSinkSchema = z
  .strictObject({
    type: z.literal('webhook'),
    name: sinkName(),
    // Secret by key name: Slack-style webhook URLs carry their credential in the path.
    url: httpUrl().meta({
      description:
        'http(s) endpoint each notification is POSTed to as JSON. Treat it as a secret: many carry their credential; pass user and password in `headers`, not the URL.',
    }),
    headers: z
      .record(z.string(), z.string({ error: 'must be a string' }))
      .optional()
      .meta({ description: 'Extra request headers (typically `authorization`); every value is a secret.' }),
  })
  .meta({
    description: 'An HTTP POST of each notification as JSON, with its id as `Idempotency-Key`.',
  });

const SnsSinkSchema = z
  .strictObject({
    type: z.literal('sns'),
    name: sinkName(),
    topicArn: snsTopicArn().meta({
      description: 'The topic (a FIFO topic drops repeats itself by the notification id).',
    }),
    region: text('an AWS region such as eu-west-1')
      .optional()
      .meta({ description: "AWS region to call; default: the topic ARN's region." }),
    endpoint: httpUrl().optional().meta({
      description: 'A local stand-in (fauxqs, LocalStack); default: `AWS_ENDPOINT_URL_SNS` or AWS.',
    }),
  })
  .meta({
    description:
      'An Amazon SNS topic (PublishBatch), with message attributes for subscription filters. Credentials from the standard AWS chain.',
  });

const SlackSinkSchema = z
  .strictObject({
    type: z.literal('slack'),
    name: sinkName(),
    // Secret (its path is the credential): redacted whole by key name (`webhookUrl`).
    webhookUrl: httpUrl().meta({
      description: 'The Slack incoming-webhook URL (its path is the credential).',
    }),
    linkTemplate: text('a URL template such as https://dash.example/anomalies/{id}').optional().meta({
      description:
        'A dashboard link in each message; placeholders `{id}`, `{groupKey}`, `{warehouse}`, `{type}`, `{anomalyId}`, `{sku}`.',
    }),
    channel: text('a channel name such as #inventory')
      .optional()
      .meta({ description: "A channel override (legacy webhooks only); default: the webhook's channel." }),
  })
  .meta({ description: 'A Slack incoming webhook: one Block Kit message per notification.' });

const EmailSinkSchema = z
  .strictObject({
    type: z.literal('email'),
    name: sinkName(),
    host: text('a host name or address').meta({ description: 'The SMTP server.' }),
    port: int(1, 65_535).default(587).meta({ description: 'The SMTP port.' }),
    secure: bool().optional().meta({
      description:
        'TLS from the first byte; default: true on port 465, else STARTTLS when the server offers it.',
    }),
    user: text('a user name').optional().meta({ description: 'SMTP login user; default: no login.' }),
    password: text('a password').optional().meta({ description: 'SMTP login password.' }),
    from: emailAddress().meta({ description: 'The sender.' }),
    to: z
      .array(emailAddress(), { error: 'must be a list of e-mail addresses' })
      .min(1, { error: 'must name at least one recipient' })
      .meta({ description: 'Recipients.' }),
    cc: z
      .array(emailAddress(), { error: 'must be a list of e-mail addresses' })
      .optional()
      .meta({ description: 'Copy recipients.' }),
  })
  .meta({ description: 'E-mail over SMTP (plain text and HTML), one message per notification.' });

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

const TimestreamMetricsSchema = z
  .strictObject({
    type: z.literal('timestream'),
    name: text('a sink name')
      .optional()
      .meta({ description: 'What log lines and metrics call this sink; default: its `type`.' }),
    database: text('a Timestream database name').meta({ description: 'The Timestream database.' }),
    table: text('a Timestream table name').meta({ description: 'The Timestream table.' }),
    region: text('an AWS region such as eu-west-1')
      .optional()
      .meta({ description: 'AWS region; default: `AWS_REGION`.' }),
    endpoint: httpUrl().optional().meta({ description: 'A fixed endpoint, skipping endpoint discovery.' }),
  })
  .meta({
    description:
      'Amazon Timestream for LiveAnalytics: one multi-measure record per changed series per batch. Credentials from the standard AWS chain.',
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
