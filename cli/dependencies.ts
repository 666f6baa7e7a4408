/**
 * The job's dependencies as people know them — which part, where, and which settings point at it —
 * and the start-up checks that stop a run with that in words: an AWS part without a region, a state
 * store that cannot be opened, a metrics port in use. Everything else a dependency does wrong is
 * retried and named while the job runs (`/readyz`, the retry warnings).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeStore } from '../connectors/stores.js';
import { type DependencyPart, describeDependencyFailure, type RunConfig } from '../pipeline/index.js';
import { UsageError } from './args.js';

/**
 * The state store as a dependency part.
 *
 * @example
 * ```ts
 * storePart(config.store); // { name: 'state store', where: 'SQLite data/shelfwatch.db', settings: ['store.path', …] }
 * ```
 */
export function storePart(store: RunConfig['store']): DependencyPart {
  const where = describeStore(store);
  switch (store.type) {
    case 'sqlite':
      return { name: 'state store', where, settings: ['store.path', 'SHELFWATCH_STORE__PATH'] };
    case 'mysql':
      return {
        name: 'state store',
        where,
        settings: [
          'store.url (or store.host, store.port)',
          'SHELFWATCH_STORE__URL',
          'SHELFWATCH_STORE__PASSWORD',
        ],
      };
    case 'dynamodb':
      return {
        name: 'state store',
        where,
        settings: ['store.endpoint', 'AWS_ENDPOINT_URL_DYNAMODB'],
        regionSettings: ['store.region'],
      };
  }
}

type SinkConfig = RunConfig['alerts']['sinks'][number];

/** Scheme and host of a URL: its path and query may carry a credential (Slack's do). */
function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'an unreadable URL';
  }
}

/**
 * An alert sink as a dependency part: `sink slack` at its host (never the secret path), with the
 * configuration keys that point at it.
 *
 * @example
 * ```ts
 * sinkPart({ type: 'slack', name: 'ops', webhookUrl: 'https://hooks.slack.com/services/T/B/X' }, 0);
 * // { name: 'sink ops', where: 'Slack at https://hooks.slack.com', settings: ['alerts.sinks[0].webhookUrl'] }
 * ```
 */
export function sinkPart(sink: SinkConfig, index: number): DependencyPart {
  const key = `alerts.sinks[${index}]`;
  const name = `sink ${sink.name}`;
  switch (sink.type) {
    case 'webhook':
      return { name, where: `webhook at ${hostOf(sink.url)}`, settings: [`${key}.url`] };
    case 'slack':
      return { name, where: `Slack at ${hostOf(sink.webhookUrl)}`, settings: [`${key}.webhookUrl`] };
    case 'sns':
      return {
        name,
        where: `SNS topic ${sink.topicArn}${sink.endpoint ? ` at ${hostOf(sink.endpoint)}` : ''}`,
        settings: [`${key}.endpoint`, 'AWS_ENDPOINT_URL_SNS'],
        regionSettings: [`${key}.region`],
      };
    case 'email':
      return { name, where: `SMTP ${sink.host}:${sink.port}`, settings: [`${key}.host`, `${key}.port`] };
    case 'file':
      return { name, where: `file ${sink.path}`, settings: [`${key}.path`] };
    case 'console':
      return { name, where: 'standard output' };
  }
}

/**
 * The dependency part the engine calls `what` (`state store`, `sink <name>`), for the retry warnings
 * and `/readyz`; a part it does not know stays as named.
 *
 * @example
 * ```ts
 * log.warn({ err: describeDependencyFailure(partNamed(config, 'sink slack'), error) }, 'retrying: checkpoint held');
 * ```
 */
export function partNamed(config: RunConfig, what: string): DependencyPart {
  if (what === 'state store') return storePart(config.store);
  const i = config.alerts.sinks.findIndex((s) => `sink ${s.name}` === what);
  return i >= 0 ? sinkPart(config.alerts.sinks[i], i) : { name: what };
}

/**
 * Every AWS part of the configuration that needs a region and has none of its own, found before
 * anything starts: the SDK would say only `Region is missing`, at the first call, and retrying would
 * not help.
 *
 * @throws {UsageError} naming the part and the settings that give it a region.
 * @example
 * ```ts
 * await checkAwsRegions(config); // throws when e.g. a Kinesis source has no region anywhere
 * ```
 */
export async function checkAwsRegions(config: RunConfig): Promise<void> {
  const needs: DependencyPart[] = [];
  if (config.source.type === 'kinesis' && config.source.region === undefined) {
    needs.push({ name: `kinesis stream ${config.source.stream}`, regionSettings: ['source.region'] });
  }
  if (config.store.type === 'dynamodb' && config.store.region === undefined)
    needs.push(storePart(config.store));
  for (const [i, s] of config.alerts.sinks.entries()) {
    if (s.type === 'sns' && s.region === undefined) needs.push(sinkPart(s, i));
  }
  for (const [i, m] of config.metricsSinks.entries()) {
    if (m.region === undefined)
      needs.push({ name: `metrics sink ${m.name ?? m.type}`, regionSettings: [`metricsSinks[${i}].region`] });
  }
  if (needs.length === 0) return;
  try {
    // The SDK's own region chain (AWS_REGION, AWS_DEFAULT_REGION, the profile): the same for every client.
    await new DynamoDBClient({}).config.region();
  } catch (err) {
    throw new UsageError(needs.map((p) => describeDependencyFailure(p, err)).join('\n'));
  }
}

/**
 * Opens what the job cannot run without, turning a failure into one line that names the part.
 *
 * @throws {Error} `state store (MySQL shelfwatch@db:3306/shelfwatch): connect ECONNREFUSED …; nothing answers there: check store.url …`
 * @example
 * ```ts
 * await opening(storePart(config.store), () => engine.start());
 * ```
 */
export async function opening<T>(part: DependencyPart, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw new Error(describeDependencyFailure(part, err), { cause: err });
  }
}
