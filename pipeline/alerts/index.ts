/** Alert routing with Alertmanager's ideas (dedup, grouping, routes, rate limit), in event time. */
export * from './errors.js';
export * from './options.js';
export * from './router.js';
