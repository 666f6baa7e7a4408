/**
 * Alert sinks: console, NDJSON file, webhook, SNS, Slack and e-mail, the retry wrapper they share;
 * the Timestream per-series metrics writer; and the NDJSON dead-letter file.
 */
export * from './alert-text.js';
export * from './aws-errors.js';
export * from './console.js';
export * from './dead-letter-file.js';
export * from './delivered-ids.js';
export * from './email.js';
export * from './from-config.js';
export * from './ndjson-append.js';
export * from './ndjson-file.js';
export * from './retry.js';
export * from './slack.js';
export * from './sns.js';
export * from './timestream.js';
export * from './webhook.js';
