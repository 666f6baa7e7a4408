/**
 * Builds the alert sinks (and per-series metrics sinks) a run configuration names. The CLI's
 * composition root calls it; each new sink type adds one case here and one schema in
 * `pipeline/config/sinks.ts`.
 */
import type { SeriesMetricsConfig } from '../../pipeline/config/sinks.js';
import type { AlertSink, SeriesMetricsSink, SinkConfig } from '../../pipeline/index.js';
import { ConsoleSink } from './console.js';
import { EmailSink } from './email.js';
import { NdjsonFileSink } from './ndjson-file.js';
import { withRetry } from './retry.js';
import { SlackSink } from './slack.js';
import { SnsSink } from './sns.js';
import { TimestreamSeriesWriter } from './timestream.js';
import { WebhookSink } from './webhook.js';

/**
 * One sink from its configuration.
 *
 * @example
 * ```ts
 * const sink = createSinkFromConfig({ type: 'file', name: 'audit', path: 'data/alerts.ndjson' });
 * await sink.publish(notifications);
 * ```
 */
export function createSinkFromConfig(s: SinkConfig): AlertSink {
  switch (s.type) {
    case 'console':
      return new ConsoleSink({ name: s.name });
    case 'file':
      return new NdjsonFileSink({ name: s.name, path: s.path });
    case 'webhook':
      return withRetry(new WebhookSink({ name: s.name, url: s.url, headers: s.headers }));
    case 'sns':
      return withRetry(
        new SnsSink({ name: s.name, topicArn: s.topicArn, region: s.region, endpoint: s.endpoint }),
      );
    case 'slack':
      return withRetry(
        new SlackSink({
          name: s.name,
          webhookUrl: s.webhookUrl,
          linkTemplate: s.linkTemplate,
          channel: s.channel,
        }),
      );
    case 'email':
      return withRetry(
        new EmailSink({
          name: s.name,
          host: s.host,
          port: s.port,
          secure: s.secure,
          user: s.user,
          password: s.password,
          from: s.from,
          to: s.to,
          cc: s.cc,
        }),
      );
  }
}

/**
 * One per-series metrics sink from its configuration (credentials from the standard AWS chain).
 *
 * @example
 * ```ts
 * const metrics = createSeriesMetricsSinkFromConfig({ type: 'timestream', database: 'shelfwatch', table: 'series' });
 * await metrics.write(changedRows);
 * ```
 */
export function createSeriesMetricsSinkFromConfig(m: SeriesMetricsConfig): SeriesMetricsSink {
  switch (m.type) {
    case 'timestream':
      return new TimestreamSeriesWriter({
        name: m.name ?? m.type,
        database: m.database,
        table: m.table,
        region: m.region,
        endpoint: m.endpoint,
      });
  }
}
