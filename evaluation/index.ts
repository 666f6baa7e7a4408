/**
 * `evaluation/`: metrics computed scikit-learn's way (confusion matrix, precision, recall, F1, ROC-AUC,
 * average precision, curves), thresholds, stream-window scoring, and report rendering.
 */
export {
  DEFAULT_SERIES_DETECTOR,
  SERIES_DETECTOR_SUMMARIES,
  TABULAR_DETECTOR_SUMMARIES,
} from './detector-catalog.js';
export * from './detectors.js';
export * from './errors.js';
export * from './evaluate.js';
export * from './inventory-stream.js';
export * from './metrics.js';
export * from './report.js';
export * from './thresholds.js';
export * from './windows.js';
