/** `shelfwatch run`: the continuous stream job. */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { createKinesisSource } from '../connectors/kinesis/from-config.js';
import {
  createSeriesMetricsSinkFromConfig,
  createSinkFromConfig,
  NdjsonDeadLetterFile,
} from '../connectors/sinks/index.js';
import { createLocalSource } from '../connectors/sources/index.js';
import { createStoreFromConfig, describeStore } from '../connectors/stores.js';
import { type CountModel, loadCountModel } from '../pipeline/detect/count-model.js';
import {
  type AlertSink,
  type BatchReport,
  ConfigError,
  createLogger,
  createMetrics,
  DependencyHealth,
  type DependencyPart,
  describeCause,
  describeDependencyFailure,
  type FailingDependency,
  loadRunConfig,
  RetryGiveUpError,
  type RunConfig,
  redactConfig,
  startHttpServer,
} from '../pipeline/index.js';
import { parseCommandArgs, UsageError } from './args.js';
import { batchObserver, type RunTotals } from './batch-log.js';
import type { Command } from './commands.js';
import { checkAwsRegions, opening, partNamed, storePart } from './dependencies.js';
import { createEngineFromConfig } from './engine-from-config.js';
import { RUN_HELP } from './help.js';
import { Shutdown } from './shutdown.js';

export const runCommand: Command = {
  name: 'run',
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
    // Alerts go to standard output; logs to standard error (human lines on a terminal, else JSON).
    const log = createLogger({
      level: config.log.level,
      format: config.log.format,
      destination: pino.destination(2),
    });
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
    const totals: RunTotals = { records: 0, anomalies: 0 };
    const health = new DependencyHealth();
    const shutdown = new Shutdown({ timeoutMs: config.shutdown.timeoutMs, log });
    // The engine says `state store`; people need to know which one.
    const named = (what: string): string =>
      what === 'state store' ? `state store ${describeStore(config.store)}` : what;
    const seriesSinks = config.metricsSinks.map((m) => createSeriesMetricsSinkFromConfig(m));
    let deadLetterFile: NdjsonDeadLetterFile | undefined;
    if (config.deadLetters.path !== undefined) {
      try {
        deadLetterFile = await NdjsonDeadLetterFile.open(config.deadLetters.path);
      } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err));
      }
    }
    const engine = createEngineFromConfig(config, {
      store,
      sinks,
      seriesSinks,
      ...(deadLetterFile ? { deadLetterSinks: [deadLetterFile] } : {}),
      countModel,
      signal: shutdown.abandoning,
      onRetry: (what, attempt, error) => {
        healthy = attempt < 20;
        health.failed(named(what), error);
        // A fixed message to search for; what failed and why are in the fields.
        log.warn(
          { what: named(what), attempt, err: describeDependencyFailure(partNamed(config, what), error) },
          'retrying: checkpoint held',
        );
      },
      onRecovered: (what, attempts) => {
        health.recovered(named(what));
        log.info({ what: named(what), attempts }, `${named(what)} works again`);
      },
      onBatch: (() => {
        // The generator's records carry its simulated clock: its lag is read against that.
        const synthetic = config.source.type === 'generator';
        const observe = batchObserver(
          metrics,
          log,
          totals,
          () => engine.state.size,
          (r) => (synthetic ? r.arrivedUntil : Date.now()),
        );
        return (r: BatchReport) => {
          healthy = true;
          observe(r);
        };
      })(),
    });
    await checkAwsRegions(config);
    await opening(storePart(config.store), () => engine.start());
    const unready = (): FailingDependency[] => health.failingFor(config.metrics.unreadyAfterMs);
    const metricsServer: DependencyPart = {
      name: 'metrics server',
      where: `${config.metrics.host}:${config.metrics.port}`,
      settings: ['metrics.port (0 turns it off)', 'SHELFWATCH_METRICS__PORT'],
    };
    const http =
      config.metrics.port > 0
        ? await startHttpServer({
            port: config.metrics.port,
            host: config.metrics.host,
            metrics,
            ready: () => ready && unready().length === 0,
            unreadyReason: () => (ready ? health.describe(unready()) : 'starting or stopping'),
            healthy: () => healthy,
          }).catch((err: unknown) => {
            throw new UsageError(describeDependencyFailure(metricsServer, err));
          })
        : null;
    const source =
      config.source.type === 'kinesis'
        ? createKinesisSource(config.source, {
            loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
            metrics,
            log,
            health,
          })
        : createLocalSource(config.source, {
            batch: config.batch,
            loadCheckpoint: async (shardId) => {
              const checkpoint = await store.loadCheckpoint(shardId);
              // A restart goes on where the last run stopped: say so, and how to start over.
              if (checkpoint) {
                log.info(
                  { shard: shardId, after: checkpoint.sequenceNumber },
                  `resuming after record ${checkpoint.sequenceNumber} from the checkpoint in ${describeStore(config.store)} (${startOverHint(config)})`,
                );
              }
              return checkpoint;
            },
            // The durable checkpoint is written by the engine, in the same transaction as the state.
            onCheckpoint: () => {},
            onBlankLines: (shard, count) => metrics.blankLinesTotal.inc({ shard }, count),
          });
    process.stderr.write(
      `shelfwatch run: ${config.source.type} source, state in ${describeStore(config.store)}, alerts → ${[...sinks.keys()].join(', ')}${
        http ? `; metrics ${http.url}/metrics` : ''
      }. Ctrl-C stops cleanly.\n`,
    );
    ready = true;
    let abandoned: RetryGiveUpError | undefined;
    try {
      await source.run((shardId) => engine.createProcessor(shardId), shutdown.stopping);
    } catch (err) {
      // The shutdown timeout abandoned the batch in flight: expected, and said below.
      if (!(shutdown.abandoning.aborted && err instanceof RetryGiveUpError && err.reason === 'aborted'))
        throw err;
      abandoned = err;
    } finally {
      ready = false;
      shutdown.dispose();
      await Promise.allSettled(
        [...sinks.values(), ...seriesSinks, ...(deadLetterFile ? [deadLetterFile] : [])].map((s) =>
          s.close(),
        ),
      );
      await store.close();
      await http?.close();
    }
    const { records, anomalies } = totals;
    if (abandoned) {
      log.error(
        { records, anomalies, waitingOn: named(abandoned.what), cause: describeCause(abandoned.cause) },
        `stopped after the shutdown timeout (${config.shutdown.timeoutMs} ms) with a batch not acknowledged by ${named(abandoned.what)}: nothing of it was checkpointed, it is processed again at the next start`,
      );
      return 1;
    }
    if (config.source.type === 'generator' && !shutdown.stopping.aborted) {
      log.info(
        { days: config.source.days },
        `the generator's ${config.source.days} simulated days are used up (${startOverHint(config)}, or raise source.days)`,
      );
    }
    log.info({ records, anomalies, trackedSeries: engine.state.size }, 'stopped');
    return 0;
  },
};

/** How to make the next start begin from nothing. */
function startOverHint(config: RunConfig): string {
  return config.store.type === 'sqlite'
    ? `delete ${config.store.path} and its -wal and -shm files to start over`
    : 'clear the state store or use another one to start over';
}
