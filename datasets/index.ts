/**
 * `datasets/`: the seeded generator of labelled inventory streams, and loaders for labelled data that
 * others publish (tabular CSV with a label column, time series CSV, anomaly windows JSON).
 */
export * from './errors.js';
export * from './generator/index.js';
export * from './loaders.js';
export { labelsFromWindows, loadWindowsJson, type WindowsByFile } from './windows.js';
