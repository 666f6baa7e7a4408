/** `shelfwatch run`: the continuous stream job. */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { createKinesisSource } from '../connectors/kinesis/from-config.js';
import { createSeriesMetricsSinkFromConfig, createSinkFromConfig } from '../connectors/sinks/index.js';
import { createLocalSource } from '../connectors/sources/index.js';
import { createStoreFromConfig, describeStore } from '../connectors/stores.js';
import { type CountModel, loadCountModel } from '../pipeline/detect/count-model.js';
import {
  type AlertSink,
  ConfigError,
  createLogger,
  createMetrics,
  loadRunConfig,
  type RunConfig,
  redactConfig,
  startHttpServer,
} from '../pipeline/index.js';
import { parseCommandArgs, UsageError } from './args.js';
import type { Command } from './commands.js';
import { createEngineFromConfig } from './engine-from-config.js';

export const RUN_HELP = `Usage: shelfwatch run [--config FILE]

Runs the stream job: reads records from the configured source, normalizes them (bad records go to the
dead-letter table with their reason), keeps per-SKU × warehouse inventory state exactly once in effect,
detects anomalies and sends explained alerts, checkpointing only what every sink has acknowledged.

With no configuration it runs the embedded default: the generator as a live source (2,000 events/s),
SQLite state in data/shelfwatch.db, alerts on the console, metrics on http://127.0.0.1:9464/metrics.
Stop it with Ctrl-C (it finishes the batch and checkpoints); a second start resumes from the checkpoint.

Options:
  --config FILE   YAML run configuration (also SHELFWATCH_CONFIG); every key can be overridden by an
                  environment variable SHELFWATCH_<PATH>, e.g. SHELFWATCH_SOURCE__RATE=500,
                  SHELFWATCH_STORE__PATH=/var/lib/shelfwatch/state.db
  -h, --help      this help

Sources (source.type): generator (default), file, stdin, kinesis. Kinesis shares shards among every
worker with the same applicationName through a DynamoDB lease table of that name:
  source: { type: kinesis, stream: inventory, applicationName: shelfwatch, workerId: host-1,
            initialPosition: TRIM_HORIZON, failoverTimeMs: 10000, pollIntervalMs: 1000 }
State stores (store.type): sqlite (default), mysql (also RDS: ssl: rds), dynamodb:
  store: { type: mysql, url: mysql://shelfwatch@db.internal:3306/shelfwatch }
  store: { type: dynamodb, tableName: shelfwatch-state, region: eu-west-1 }
Alert sinks (alerts.sinks[].type): console, file, webhook, sns, slack, email:
  alerts:
    sinks: [{ type: console }, { type: sns, topicArn: arn:aws:sns:eu-west-1:123456789012:alerts },
            { type: slack }]   # webhookUrl from SHELFWATCH_ALERTS__SINKS__2__WEBHOOKURL
    routes: [{ match: { severities: [critical] }, receivers: [console, sns] }]
Per-series metrics (metricsSinks[].type): timestream.
AWS clients read the standard chain (AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, instance roles…);
put secrets (passwords, webhook URLs) in SHELFWATCH_<PATH> variables rather than the file; they are
redacted from every log line.

Example configuration:
  source: { type: file, path: data/demo/events.ndjson }
  store: { type: sqlite, path: data/shelfwatch.db }
  alerts:
    sinks: [{ type: console }, { type: file, path: data/alerts.ndjson }]
    routes: [{ match: { severities: [critical] }, receivers: [console, file] }]
  metrics: { port: 9464 }`;

export const runCommand: Command = {
  name: 'run',
  summary: 'run the stream job (default: live generator, SQLite state, alerts on the console)',
  async run(argv) {
    const values = parseCommandArgs(argv, { config: { type: 'string' } }, RUN_HELP);
    if (values === null) return 0;
    let config: RunConfig;
    try {
      config = loadRunConfig({ file: values.config ?? process.env.SHELFWATCH_CONFIG });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    // Alerts are for people on standard output; the JSON logs go to standard error.
    const log = createLogger({ level: config.log.level, destination: pino.destination(2) });
    log.info({ config: redactConfig(config) }, 'starting');
    let countModel: CountModel | undefined;
    if (config.detection.model) {
      try {
        countModel = loadCountModel(JSON.parse(readFileSync(config.detection.model, 'utf8')));
      } catch (err) {
        throw new UsageError(
          `detection.model ${config.detection.model}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      log.info({ model: config.detection.model, trainedOn: countModel.trainedOn }, 'count model loaded');
    }
    const metrics = createMetrics();
    const store = createStoreFromConfig(config.store);
    const sinks = new Map<string, AlertSink>(
      config.alerts.sinks.map((s) => [s.name, createSinkFromConfig(s)]),
    );
    let ready = false;
    let healthy = true;
    let records = 0;
    let anomalies = 0;
    let lastProgress = Date.now();
    const seriesSinks = config.metricsSinks.map((m) => createSeriesMetricsSinkFromConfig(m));
    const engine = createEngineFromConfig(config, {
      store,
      sinks,
      seriesSinks,
      countModel,
      onRetry: (what, attempt, error) => {
        healthy = attempt < 20;
        log.warn(
          { what, attempt, err: error instanceof Error ? error.message : String(error) },
          'retrying: checkpoint held',
        );
      },
      onBatch: (r) => {
        healthy = true;
        records += r.records;
        anomalies += r.anomalies.length;
        metrics.recordsTotal.inc({ shard: r.shardId }, r.records);
        for (const [kind, n] of Object.entries(r.eventsByKind)) metrics.eventsTotal.inc({ kind }, n);
        for (const d of r.deadLetters) metrics.deadLettersTotal.inc({ code: d.code });
        if (r.duplicates > 0) {
          metrics.duplicatesTotal.inc(r.duplicates);
          log.debug({ shard: r.shardId, duplicates: r.duplicates }, 'repeats dropped');
        }
        for (const e of r.countsBeyondMemory)
          log.warn(
            {
              shard: r.shardId,
              eventId: e.eventId,
              sku: e.sku,
              warehouse: e.warehouse,
              countedAt: e.occurredAt,
            },
            'late cycle count: the series no longer remembers every movement after it, so on hand may miss some until the next count',
          );
        for (const a of r.anomalies) metrics.anomaliesTotal.inc({ type: a.type, severity: a.severity });
        for (const n of r.notifications)
          metrics.alertNotificationsTotal.inc({ receiver: n.receiver, outcome: 'sent' });
        metrics.batchDuration.observe(r.seconds);
        metrics.trackedSeries.set(engine.state.size);
        if (Number.isFinite(r.watermark))
          metrics.checkpointLag.set({ shard: r.shardId }, Math.max(0, (Date.now() - r.watermark) / 1000));
        for (const d of r.deadLetters)
          log.warn(
            { shard: d.shardId, sequence: d.sequenceNumber, code: d.code, reason: d.reason },
            'dead letter',
          );
        log.debug(
          {
            shard: r.shardId,
            records: r.records,
            events: r.events,
            anomalies: r.anomalies.length,
            seconds: r.seconds,
          },
          'batch',
        );
        if (Date.now() - lastProgress >= 10_000) {
          lastProgress = Date.now();
          log.info(
            {
              records,
              anomalies,
              trackedSeries: engine.state.size,
              eventTime: new Date(r.watermark).toISOString(),
            },
            'progress',
          );
        }
      },
    });
    await engine.start();
    const http =
      config.metrics.port > 0
        ? await startHttpServer({
            port: config.metrics.port,
            host: config.metrics.host,
            metrics,
            ready: () => ready,
            healthy: () => healthy,
          })
        : null;
    const source =
      config.source.type === 'kinesis'
        ? createKinesisSource(config.source, {
            loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
            metrics,
            log,
          })
        : createLocalSource(config.source, {
            batch: config.batch,
            loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
            // The durable checkpoint is written by the engine, in the same transaction as the state.
            onCheckpoint: () => {},
            onBlankLines: (shard, count) => metrics.blankLinesTotal.inc({ shard }, count),
          });
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stop.signal.aborted) {
        log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(130);
      }
      log.info({ signal }, 'stopping: finishing the batch and checkpointing');
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.stderr.write(
      `shelfwatch run: ${config.source.type} source, state in ${describeStore(config.store)}, alerts → ${[...sinks.keys()].join(', ')}${
        http ? `; metrics ${http.url}/metrics` : ''
      }. Ctrl-C stops cleanly.\n`,
    );
    ready = true;
    try {
      await source.run((shardId) => engine.createProcessor(shardId), stop.signal);
    } finally {
      ready = false;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await Promise.allSettled([...sinks.values(), ...seriesSinks].map((s) => s.close()));
      await store.close();
      await http?.close();
    }
    log.info({ records, anomalies, trackedSeries: engine.state.size }, 'stopped');
    return 0;
  },
};
