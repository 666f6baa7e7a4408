/**
 * The names and one-line summaries of the detectors `shelfwatch evaluate` can score, apart from their
 * code: `--help` lists them without loading a detector (see `cli/help.ts`).
 */

/**
 * Tabular detectors by name, in the order `evaluate` runs and lists them.
 *
 * @example
 * ```ts
 * Object.keys(TABULAR_DETECTOR_SUMMARIES); // ['iforest', 'dbscan', 'zscore']
 * ```
 */
export const TABULAR_DETECTOR_SUMMARIES = {
  iforest: 'Isolation Forest, 100 trees, ψ = 256 (scikit-learn defaults)',
  dbscan: 'DBSCAN on robust-scaled columns, minPts = 2·d, eps from the k-distance knee',
  zscore: 'largest robust |z| over the columns (median / 1.4826·MAD)',
} as const;

/**
 * Streaming (series) detectors by name, in the order `evaluate` runs and lists them.
 *
 * @example
 * ```ts
 * SERIES_DETECTOR_SUMMARIES.ewma; // 'EWMA mean and variance z-score, α = 0.1, warm-up 10'
 * ```
 */
export const SERIES_DETECTOR_SUMMARIES = {
  'robust-zscore': 'rolling median / MAD z-score, window 168, warm-up 24',
  ewma: 'EWMA mean and variance z-score, α = 0.1, warm-up 10',
} as const;

/**
 * The streaming detector `score-series` uses when none is named; chosen on generated inventory series.
 *
 * @example
 * ```ts
 * pickDetectors(SERIES_DETECTORS, DEFAULT_SERIES_DETECTOR);
 * ```
 */
export const DEFAULT_SERIES_DETECTOR: keyof typeof SERIES_DETECTOR_SUMMARIES = 'robust-zscore';
