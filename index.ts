/**
 * shelfwatch: real-time inventory anomaly detection. The root entry re-exports the detectors library;
 * `shelfwatch/detectors` gives the same library alone.
 */
export * from './detectors/index.js';
