/** Local record sources (NDJSON file, standard input, the live generator) on the record-processor lifecycle. */
export type { BatchOptions, LoadCheckpoint, OnCheckpoint } from './batcher.js';
export * from './from-config.js';
export * from './generator.js';
export * from './ndjson-file.js';
export * from './stdin.js';
