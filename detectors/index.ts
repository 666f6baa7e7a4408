/**
 * shelfwatch's detectors library: Isolation Forest, DBSCAN and streaming robust baselines in plain
 * TypeScript. It imports nothing else of the project, so it can be taken alone:
 * `import { IsolationForest } from 'shelfwatch/detectors'`.
 */
export { Dbscan, type DbscanAlgorithm, type DbscanOptions, GRID_MAX_DIM } from './dbscan.js';
export {
  DetectorConfigError,
  DetectorError,
  DetectorInputError,
  ModelSchemaError,
  NotFittedError,
} from './errors.js';
export {
  type Explanation,
  type FeatureContribution,
  IsolationForest,
  type IsolationForestJSON,
  type IsolationForestOptions,
} from './isolation-forest.js';
export { type EpsSuggestion, findKnee, type KDistanceOptions, kDistances, suggestEps } from './k-distance.js';
export { type Matrix, type MatrixInput, type RowMajor, toMatrix, toVector } from './matrix.js';
export { DEFAULT_SEED, Rng } from './random.js';
export { METRICS, type Metric } from './spatial/common.js';
export { GridIndex } from './spatial/grid.js';
export { KdTree } from './spatial/kd-tree.js';
export * from './streaming/index.js';
