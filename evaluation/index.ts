/**
 * `evaluation/`: metrics computed scikit-learn's way (confusion matrix, precision, recall, F1, ROC-AUC,
 * average precision, curves), thresholds and stream-window scoring.
 */
export * from './errors.js';
export * from './metrics.js';
export * from './thresholds.js';
export * from './windows.js';
