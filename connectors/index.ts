/**
 * `connectors/`: implementations of the stream job's ports — state stores, alert sinks and record
 * sources. They may import `pipeline/` types; the pipeline never imports them.
 */
export * from './dynamodb/index.js';
export * from './kinesis/index.js';
export * from './sinks/index.js';
export * from './sources/index.js';
export * from './sql/index.js';
