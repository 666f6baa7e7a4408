/**
 * `pipeline/`: the stream job. Records in (through the record-processor lifecycle), inventory state and
 * explained anomalies out, exactly once in effect. It depends on interfaces (`StateStore`, `AlertSink`,
 * `RecordSource`), never on a cloud SDK: `connectors/` implements them.
 */
export * from './alerts/index.js';
export * from './config/load.js';
export * from './config/redact.js';
export * from './config/schema.js';
export { type DeaggregateResult, deaggregate, type KinesisLikeRecord } from './decode.js';
export {
  DEFAULT_THRESHOLDS,
  type DetectionThresholds,
  InventoryDetector,
  type InventoryDetectorJSON,
} from './detect/inventory-detector.js';
export {
  type AlertRouting,
  type BatchReport,
  type EngineOptions,
  InventoryEngine,
  type RecordNormalizer,
} from './engine.js';
export { type DependencyPart, dependencyHint, describeCause, describeDependencyFailure } from './errors.js';
export * from './events.js';
export * from './lifecycle.js';
export {
  DEFAULT_MAX_FUTURE_SKEW_MS,
  MAX_QUANTITY,
  MAX_RECORD_BYTES,
  MAX_SKU_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_WAREHOUSE_LENGTH,
  unsafeTextReason,
} from './normalize/limits.js';
export {
  createNormalizer,
  type NormalizeResult,
  type Normalizer,
  type NormalizerOptions,
} from './normalize/normalize.js';
export * from './observability/health.js';
export * from './observability/http.js';
export * from './observability/logger.js';
export * from './observability/metrics.js';
export * from './ports.js';
export { comparePositions, lastPosition, samePosition } from './positions.js';
export {
  classifyError,
  classifyStatus,
  type ErrorKind,
  type GiveUpReason,
  type RetryAttempt,
  RetryGiveUpError,
  RetryPolicy,
  type RetryPolicyOptions,
  type RunOptions,
} from './retry.js';
export {
  type ApplyOutcome,
  InventoryState,
  RECENT_MOVES,
  type SeriesSnapshot,
} from './state/inventory-state.js';
export { MemoryStateStore } from './testing/memory-store.js';
