/**
 * The Lambda face of the stream job (`shelfwatch/lambda`): a Kinesis event-source mapping's handler
 * built from the same configuration as `shelfwatch run` — the `SHELFWATCH_*` environment variables,
 * over an optional file named by `SHELFWATCH_CONFIG` bundled with the function. `source:` is ignored
 * (Lambda is the source); the store must outlive an execution environment, so SQLite is refused.
 *
 * The composition happens at the first invocation, not at import: a configuration error then fails
 * that invocation with its message (Lambda retries the batch), instead of a cold start that says only
 * `Runtime.ImportModuleError`.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import {
  createKinesisHandler,
  type KinesisHandler,
  type KinesisHandlerOptions,
  LambdaRetryBudget,
} from '../connectors/kinesis/lambda.js';
import {
  createSeriesMetricsSinkFromConfig,
  createSinkFromConfig,
  NdjsonDeadLetterFile,
} from '../connectors/sinks/index.js';
import { createStoreFromConfig } from '../connectors/stores.js';
import { type CountModel, loadCountModel } from '../pipeline/detect/count-model.js';
import {
  type AlertSink,
  ConfigError,
  createLogger,
  describeDependencyFailure,
  loadRunConfig,
  type RunConfig,
} from '../pipeline/index.js';
import { partNamed } from './dependencies.js';
import { createEngineFromConfig } from './engine-from-config.js';

/**
 * Options of {@link createKinesisHandlerFromConfig}; everything has a default from the environment.
 *
 * @example
 * ```ts
 * const options: LambdaFromConfigOptions = { env: { SHELFWATCH_STORE__TYPE: 'dynamodb' } };
 * ```
 */
export interface LambdaFromConfigOptions {
  /** The configuration; default: loaded from `env` (and the file `env.SHELFWATCH_CONFIG` names). */
  config?: RunConfig;
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Default: pino JSON lines on standard output at `log.level` (CloudWatch Logs keeps them). */
  logger?: Logger;
  /** Bounds the engine's retries within an invocation; default `new LambdaRetryBudget()`. */
  retry?: LambdaRetryBudget;
  /** Passed on to {@link createKinesisHandler}; default `false`. */
  stopAtFirstFailure?: boolean;
}

/**
 * The configuration a Lambda runs on, or a {@link ConfigError}-style error naming what is wrong.
 *
 * @throws {Error} when the configuration is invalid or names a SQLite store.
 * @example
 * ```ts
 * const config = lambdaConfig({ SHELFWATCH_STORE__TYPE: 'dynamodb', SHELFWATCH_STORE__TABLE_NAME: 'state' });
 * ```
 */
export function lambdaConfig(env: NodeJS.ProcessEnv): RunConfig {
  let config: RunConfig;
  try {
    config = loadRunConfig({ file: env.SHELFWATCH_CONFIG, env });
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`shelfwatch lambda: ${err.message}`, { cause: err });
    throw err;
  }
  if (config.store.type === 'sqlite') {
    throw new Error(
      'shelfwatch lambda: store.type is sqlite, whose file would not outlive the execution environment: set SHELFWATCH_STORE__TYPE to dynamodb or mysql (and its table or URL)',
    );
  }
  return config;
}

function countModelOf(config: RunConfig): CountModel | undefined {
  if (!config.detection.model) return undefined;
  try {
    return loadCountModel(JSON.parse(readFileSync(config.detection.model, 'utf8')));
  } catch (err) {
    throw new Error(
      `shelfwatch lambda: detection.model ${config.detection.model}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/**
 * A Kinesis handler composed from the run configuration: its store, sinks, routes, detection and
 * limits, with the engine's retries bounded by the invocation's deadline.
 *
 * @throws {Error} at once when the configuration is invalid (see {@link lambdaConfig}).
 * @example
 * ```ts
 * // handler.ts, bundled with esbuild; the function's environment holds SHELFWATCH_* variables
 * import { createKinesisHandlerFromConfig } from 'shelfwatch/lambda';
 * export const handler = createKinesisHandlerFromConfig({ stopAtFirstFailure: true });
 * ```
 */
export function createKinesisHandlerFromConfig(options: LambdaFromConfigOptions = {}): KinesisHandler {
  const env = options.env ?? process.env;
  const config = options.config ?? lambdaConfig(env);
  const logger = options.logger ?? createLogger({ level: config.log.level, format: 'json' });
  const countModel = countModelOf(config);
  const store = createStoreFromConfig(config.store);
  const handlerOptions: KinesisHandlerOptions = {
    store,
    logger,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.stopAtFirstFailure !== undefined ? { stopAtFirstFailure: options.stopAtFirstFailure } : {}),
    engine: async (hooks) => {
      const sinks = new Map<string, AlertSink>(
        config.alerts.sinks.map((s) => [s.name, createSinkFromConfig(s)]),
      );
      const deadLetterSinks =
        config.deadLetters.path === undefined
          ? []
          : [await NdjsonDeadLetterFile.open(config.deadLetters.path)];
      return createEngineFromConfig(config, {
        store,
        sinks,
        countModel,
        seriesSinks: config.metricsSinks.map((m) => createSeriesMetricsSinkFromConfig(m)),
        deadLetterSinks,
        retryPolicy: hooks.retryPolicy,
        onRetry: (what, attempt, error) => {
          hooks.onRetry?.(what, attempt, error);
          logger.warn(
            { what, attempt, err: describeDependencyFailure(partNamed(config, what), error) },
            'retrying',
          );
        },
      });
    },
  };
  return createKinesisHandler(handlerOptions);
}

let composed: KinesisHandler | undefined;

/**
 * The ready handler (`handler` of `shelfwatch/lambda`): configured from the function's environment
 * at its first invocation, then kept for the execution environment's life. Deploy the bundle with
 * the handler `index.handler` and `SHELFWATCH_*` variables (see README, "AWS Lambda").
 *
 * @example
 * ```ts
 * export { handler } from 'shelfwatch/lambda';
 * ```
 */
export const handler: KinesisHandler = (event, context) => {
  composed ??= createKinesisHandlerFromConfig();
  return composed(event, context);
};

export type {
  KinesisBatchResponse,
  KinesisEvent,
  KinesisEventRecord,
  KinesisHandler,
  KinesisHandlerOptions,
  LambdaContextLike,
} from '../connectors/kinesis/lambda.js';
export { createKinesisHandler, LambdaRetryBudget };
