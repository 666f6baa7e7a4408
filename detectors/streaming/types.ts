/**
 * Shared shapes of the streaming univariate detectors (River / Random Cut Forest style): for each
 * new value call `scoreOne(x)` first, then `learnOne(x)`, so a value is judged against the past only.
 */

/**
 * Which side of the expected value a point lies on. `'none'` when it is exactly on it, or when the
 * detector is still warming up and so makes no claim.
 *
 * @example
 * ```ts
 * const d: Direction = detector.explainOne(42).direction; // 'above' | 'below' | 'none'
 * ```
 */
export type Direction = 'above' | 'below' | 'none';

/**
 * Why a point got its score, in the units of the series, for alert messages and dashboards.
 *
 * Invariants: `score === Math.abs(z)`; while `warm` is false, `score` and `z` are 0 and
 * `direction` is `'none'`. `expected` and `scale` are the detector's current estimates (`NaN` when
 * nothing has been learned yet); `z = (x - expected) / scale`.
 *
 * @example
 * ```ts
 * const e = detector.explainOne(120);
 * if (e.warm && e.score > 4) console.log(`${e.direction} expected ${e.expected} ± ${e.scale}`);
 * ```
 */
export interface StreamingExplanation {
  /** Non-negative anomaly score, `|z|` (0 during warm-up). */
  readonly score: number;
  /** Signed standardized deviation: positive when the value is above what was expected. */
  readonly z: number;
  /** The value the detector expected (rolling median, exponentially weighted mean, ...). */
  readonly expected: number;
  /** The spread used to standardize, already floored at the detector's `minScale`. */
  readonly scale: number;
  readonly direction: Direction;
  /** Whether the detector had learned enough values to score (`isWarm` at explanation time). */
  readonly warm: boolean;
}

/**
 * The serialized form every streaming detector's `toJSON()` produces: a discriminating `kind`, a
 * `schemaVersion`, then detector-specific options and state. Plain JSON (finite numbers, arrays), so
 * `JSON.parse(JSON.stringify(d.toJSON()))` restores through the detector's `fromJSON`.
 *
 * @example
 * ```ts
 * const saved: StreamingDetectorJSON = detector.toJSON();
 * if (saved.kind === 'ewma') EwmaDetector.fromJSON(saved);
 * ```
 */
export interface StreamingDetectorJSON {
  readonly kind: string;
  readonly schemaVersion: number;
}

/**
 * A detector for one univariate stream (one SKU in one warehouse, say).
 *
 * Contract: `scoreOne` and `explainOne` never change state (calling them twice gives the same
 * answer); only `learnOne` does. Non-finite input throws `DetectorInputError` and is never learned.
 * `scoreOne`/`learnOne` do not allocate, so millions of streams can run without GC pressure.
 *
 * @example
 * ```ts
 * const det: StreamingDetector = new RollingRobustZScore({ window: 168 });
 * for (const units of hourlySales) {
 *   const score = det.scoreOne(units); // judge against the past...
 *   det.learnOne(units); // ...then remember it
 *   if (score > 5) alert(det.explainOne(units));
 * }
 * ```
 */
export interface StreamingDetector {
  /** Non-negative anomaly score of `x` against what was learned so far (`|z|`; 0 during warm-up). */
  scoreOne(x: number): number;
  /** Adds `x` to the detector's state. Returns `this` for chaining. */
  learnOne(x: number): this;
  /** Number of values learned since construction or the last `reset()`. */
  readonly nSeen: number;
  /** Whether enough values were learned for `scoreOne` to return non-zero scores. */
  readonly isWarm: boolean;
  /** Forgets everything learned; options are kept. */
  reset(): void;
  /** The score of `x` with its signed z, expected value and scale. Does not change state. */
  explainOne(x: number): StreamingExplanation;
  /** Options and full state, enough to continue bit-identically after `fromJSON`. */
  toJSON(): StreamingDetectorJSON;
}
