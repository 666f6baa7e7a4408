/**
 * Builds the local source a run configuration names, so the composition root does not repeat the
 * mapping from configuration keys to constructor options.
 */
import type { RecordSource } from '../../pipeline/lifecycle.js';
import type { BatchOptions, LoadCheckpoint, OnBlankLines, OnCheckpoint } from './batcher.js';
import { GeneratorSource } from './generator.js';
import { NdjsonFileSource } from './ndjson-file.js';
import { StdinSource } from './stdin.js';

/**
 * The `source` section of a run configuration, for the source types this folder implements (the same
 * shape as `RunConfig['source']` for those types; declared here so that adding a remote source type to
 * the configuration does not touch this file).
 *
 * @example
 * ```ts
 * const source: LocalSourceConfig = { type: 'file', path: 'events.ndjson', follow: false };
 * ```
 */
export type LocalSourceConfig =
  | {
      type: 'generator';
      seed: number;
      rate: number;
      days: number;
      skus: number;
      warehouses: number;
      anomalyRate: number;
    }
  | { type: 'file'; path: string; follow: boolean }
  | { type: 'stdin' };

/**
 * What every local source needs besides its own section.
 *
 * @example
 * ```ts
 * const deps: LocalSourceDeps = {
 *   batch: config.batch,
 *   loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
 *   onCheckpoint: () => {},
 *   onBlankLines: (shard, count) => metrics.blankLinesTotal.inc({ shard }, count),
 * };
 * ```
 */
export interface LocalSourceDeps {
  batch: BatchOptions;
  loadCheckpoint: LoadCheckpoint;
  onCheckpoint: OnCheckpoint;
  /** Told of the blank lines the file and standard-input sources skip (the generator writes none). */
  onBlankLines?: OnBlankLines;
}

/**
 * Whether a configured source is one of the local ones.
 *
 * @example
 * ```ts
 * if (isLocalSourceConfig(config.source)) source = createLocalSource(config.source, deps);
 * ```
 */
export function isLocalSourceConfig(source: { type: string }): source is LocalSourceConfig {
  return source.type === 'generator' || source.type === 'file' || source.type === 'stdin';
}

/**
 * Creates the source for a `generator`, `file` or `stdin` configuration.
 *
 * @example
 * ```ts
 * const source = createLocalSource(config.source, {
 *   batch: config.batch,
 *   loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
 *   onCheckpoint: () => {},
 * });
 * await source.run(createProcessor, controller.signal);
 * ```
 */
export function createLocalSource(source: LocalSourceConfig, deps: LocalSourceDeps): RecordSource {
  switch (source.type) {
    case 'generator': {
      const { seed, days, skus, warehouses, anomalyRate } = source;
      return new GeneratorSource({
        batch: deps.batch,
        loadCheckpoint: deps.loadCheckpoint,
        onCheckpoint: deps.onCheckpoint,
        rate: source.rate,
        options: { seed, days, skus, warehouses, anomalyRate },
      });
    }
    case 'file':
      return new NdjsonFileSource({ ...deps, path: source.path, follow: source.follow });
    case 'stdin':
      return new StdinSource({
        batch: deps.batch,
        onCheckpoint: deps.onCheckpoint,
        onBlankLines: deps.onBlankLines,
      });
  }
}
