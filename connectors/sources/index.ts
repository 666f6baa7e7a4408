/** Local record sources (NDJSON file, standard input, the live generator) on the record-processor lifecycle. */
export type { BatchOptions, LoadCheckpoint, OnBlankLines, OnCheckpoint } from './batcher.js';
export {
  createLocalSource,
  isLocalSourceConfig,
  type LocalSourceConfig,
  type LocalSourceDeps,
} from './from-config.js';
export { GENERATOR_SHARD_ID, GeneratorSource, type GeneratorSourceOptions } from './generator.js';
export { FILE_SHARD_ID, NdjsonFileSource, type NdjsonFileSourceOptions } from './ndjson-file.js';
export { STDIN_SHARD_ID, StdinSource, type StdinSourceOptions } from './stdin.js';
