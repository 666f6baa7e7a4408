/** Alert sinks: console, NDJSON file, webhook; and the retry wrapper they share. */
export * from './console.js';
export * from './from-config.js';
export * from './ndjson-file.js';
export * from './retry.js';
export * from './webhook.js';
