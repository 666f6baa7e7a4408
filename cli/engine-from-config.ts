/**
 * The stream job's engine as a run configuration describes it (router, normalizer, duplicate window,
 * count model): one construction for `shelfwatch run` and for the tests that compute what a run
 * should end in.
 */
import type { CountModel } from '../pipeline/detect/count-model.js';
import {
  AlertRouter,
  type AlertSink,
  createNormalizer,
  type DeadLetterSink,
  type EngineOptions,
  InventoryEngine,
  type RunConfig,
  type SeriesMetricsSink,
  type StateStore,
} from '../pipeline/index.js';

/**
 * The parts of an engine that are not in the configuration.
 *
 * @example
 * ```ts
 * const parts: EngineParts = { store: createSqliteStore({ path: ':memory:' }), sinks: new Map() };
 * ```
 */
export interface EngineParts {
  store: StateStore;
  /** Sinks by name: the receivers of the configured routes. */
  sinks: ReadonlyMap<string, AlertSink>;
  countModel?: CountModel;
  /** Per-series metrics sinks (the configuration's `metricsSinks`, built by the caller). */
  seriesSinks?: readonly SeriesMetricsSink[];
  /** Where dead letters go besides the store (`deadLetters.path`, built by the caller). */
  deadLetterSinks?: readonly DeadLetterSink[];
  /** The store's and sinks' retry policy; default the engine's own (unbounded, as a long-running job wants). */
  retryPolicy?: EngineOptions['retryPolicy'];
  onRetry?: EngineOptions['onRetry'];
  onRecovered?: EngineOptions['onRecovered'];
  onBatch?: EngineOptions['onBatch'];
  /** Aborting it abandons the batch in flight (the shutdown timeout). */
  signal?: AbortSignal;
}

/**
 * An engine configured as `config` says.
 *
 * @example
 * ```ts
 * const engine = createEngineFromConfig(loadRunConfig({ file: 'shelfwatch.yaml' }), { store, sinks });
 * await engine.start();
 * ```
 */
export function createEngineFromConfig(config: RunConfig, parts: EngineParts): InventoryEngine {
  const routerOptions = {
    routes: config.alerts.routes,
    defaultReceivers: [...parts.sinks.keys()],
    groupWaitMs: config.alerts.groupWaitMs,
    repeatIntervalMs: config.alerts.repeatIntervalMs,
    maxPerHour: config.alerts.maxPerHour,
  };
  return new InventoryEngine({
    store: parts.store,
    sinks: parts.sinks,
    createRouter: (stored) =>
      stored === undefined ? new AlertRouter(routerOptions) : AlertRouter.fromJSON(stored, routerOptions),
    createNormalizer: (casePack) =>
      createNormalizer({ casePack, maxFutureSkewMs: config.limits.maxFutureSkewMs }),
    duplicateWindowMs: config.detection.duplicateWindowHours * 3_600_000,
    outOfWindow: config.limits.outOfWindow,
    models: { countModel: parts.countModel },
    ...(parts.seriesSinks ? { seriesSinks: parts.seriesSinks } : {}),
    ...(parts.deadLetterSinks ? { deadLetterSinks: parts.deadLetterSinks } : {}),
    ...(parts.retryPolicy ? { retryPolicy: parts.retryPolicy } : {}),
    ...(parts.onRetry ? { onRetry: parts.onRetry } : {}),
    ...(parts.onRecovered ? { onRecovered: parts.onRecovered } : {}),
    ...(parts.signal ? { signal: parts.signal } : {}),
    ...(parts.onBatch ? { onBatch: parts.onBatch } : {}),
  });
}
