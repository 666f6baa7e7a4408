/** Streaming detectors for univariate series: `scoreOne(x)` first, then `learnOne(x)`. */
export { EwmaDetector, type EwmaJSON, type EwmaOptions } from './ewma.js';
export {
  MAD_TO_SIGMA,
  MEAN_AD_TO_SIGMA,
  RollingRobustZScore,
  type RollingRobustZScoreJSON,
  type RollingRobustZScoreOptions,
} from './robust-zscore.js';
export { MAX_WINDOW, RollingWindow } from './rolling-window.js';
export type { Direction, StreamingDetector, StreamingDetectorJSON, StreamingExplanation } from './types.js';
export { zToUnit } from './unit-score.js';
