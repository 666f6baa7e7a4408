/**
 * Builds the alert sinks a run configuration names. The CLI's composition root calls it; each new
 * sink type adds one case here and one schema in `pipeline/config/sinks.ts`.
 */
import type { AlertSink, SinkConfig } from '../../pipeline/index.js';
import { ConsoleSink } from './console.js';
import { NdjsonFileSink } from './ndjson-file.js';
import { withRetry } from './retry.js';
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
  }
}
