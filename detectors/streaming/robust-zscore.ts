/**
 * Rolling robust z-score: how many robust standard deviations a value lies from the median of the
 * last `window` learned values. Median and MAD ignore up to half the window being outliers, so one
 * bulk order or stock-take correction does not mask the next anomaly (a mean and SD would).
 */
import { ModelSchemaError } from '../errors.js';
import { MAX_WINDOW, RollingWindow } from './rolling-window.js';
import type { StreamingDetector, StreamingDetectorJSON, StreamingExplanation } from './types.js';
import {
  checkEnvelope,
  checkFiniteInput,
  describe,
  directionOf,
  finiteField,
  intOption,
  positiveOption,
  restoreOptions,
} from './validation.js';

/** 1 / Φ⁻¹(3/4): makes the MAD a consistent estimator of σ for normal data. */
export const MAD_TO_SIGMA = 1.4826;
/** √(π/2): makes the mean absolute deviation a consistent estimator of σ for normal data. */
export const MEAN_AD_TO_SIGMA = 1.2533;

/**
 * Options of {@link RollingRobustZScore}.
 *
 * @example
 * ```ts
 * const opts: RollingRobustZScoreOptions = { window: 24 * 7, warmUp: 24 };
 * ```
 */
export interface RollingRobustZScoreOptions {
  /** Number of most recent learned values the median and MAD are taken over; integer >= 3. Default 168 (a week of hours). */
  readonly window?: number;
  /** Values to learn before scores are non-zero; integer in [0, window]. Default 24. */
  readonly warmUp?: number;
  /** Floor of the scale, so a perfectly flat window yields large but finite z. Default 1e-9. */
  readonly minScale?: number;
}

/**
 * Serialized {@link RollingRobustZScore}: options, the window's values oldest first, and `nSeen`.
 *
 * @example
 * ```ts
 * const json: RollingRobustZScoreJSON = det.toJSON();
 * ```
 */
export interface RollingRobustZScoreJSON extends StreamingDetectorJSON {
  readonly kind: 'rolling-robust-zscore';
  readonly schemaVersion: 1;
  readonly window: number;
  readonly warmUp: number;
  readonly minScale: number;
  readonly nSeen: number;
  readonly values: number[];
}

const KIND = 'rolling-robust-zscore';

/**
 * Streaming robust z-score over a sliding window: `z = (x - median) / scale`, with
 * `scale = 1.4826 · MAD` over the last `window` learned values.
 *
 * Scale fallback: on a flat or mostly flat series (a slow-moving SKU with many zero-sales hours)
 * more than half the window equals the median, so the MAD is 0 and every non-zero sale would get
 * an astronomically large z. The scale then falls back to `1.2533 · mean |x - median|`, which is
 * non-zero as soon as any value in the window differs, so rare sales score high but in proportion
 * to how rare and how large they are; only on a perfectly constant window does it fall to
 * `minScale` (large but finite z for any change).
 *
 * Cost per point: `learnOne` is a binary search plus one `copyWithin` over at most `window`
 * doubles, and an O(log window) MAD (plus, when the MAD is 0, a sum over the values off the
 * median); `scoreOne` is O(1) because median and scale are cached after each `learnOne`. Neither
 * allocates.
 *
 * @example
 * ```ts
 * const det = new RollingRobustZScore({ window: 168, warmUp: 24 });
 * for (const units of hourlyUnitsSold) {
 *   const score = det.scoreOne(units);
 *   det.learnOne(units);
 *   if (score > 6) console.log(det.explainOne(units));
 * }
 * ```
 */
export class RollingRobustZScore implements StreamingDetector {
  readonly window: number;
  readonly warmUp: number;
  readonly minScale: number;
  private readonly buf: RollingWindow;
  /** Scratch for `[median, MAD, mean absolute deviation]`, so that learnOne does not allocate. */
  private readonly stats = new Float64Array(3);
  private seen = 0;
  /** Cached after each learnOne so that scoring is O(1) and cannot change state. */
  private med = Number.NaN;
  private scaleValue = Number.NaN;
  private madValue = Number.NaN;

  constructor(options: RollingRobustZScoreOptions = {}) {
    this.window = intOption('window', options.window, 168, 3, MAX_WINDOW);
    this.warmUp = intOption('warmUp', options.warmUp, 24, 0, this.window);
    this.minScale = positiveOption('minScale', options.minScale, 1e-9);
    this.buf = new RollingWindow(this.window);
  }

  /** Values learned since construction or the last `reset()` (not capped at `window`). */
  get nSeen(): number {
    return this.seen;
  }

  /** True once `nSeen >= warmUp` and at least one value was learned (there is nothing to compare to before). */
  get isWarm(): boolean {
    return this.seen >= this.warmUp && this.seen > 0;
  }

  /** Median of the window; `NaN` before the first `learnOne`. */
  get median(): number {
    return this.med;
  }

  /** Unscaled median absolute deviation of the window; `NaN` before the first `learnOne`. */
  get mad(): number {
    return this.madValue;
  }

  /** The scale z is divided by (after fallbacks and the `minScale` floor); `NaN` before the first `learnOne`. */
  get scale(): number {
    return this.scaleValue;
  }

  /** `|z|` of `x` against the window, 0 during warm-up. Does not change state. */
  scoreOne(x: number): number {
    checkFiniteInput(x, 'RollingRobustZScore.scoreOne');
    if (!this.isWarm) return 0;
    return Math.abs((x - this.med) / this.scaleValue);
  }

  /** Adds `x` to the window (evicting the oldest value once full). */
  learnOne(x: number): this {
    checkFiniteInput(x, 'RollingRobustZScore.learnOne');
    this.buf.push(x);
    this.seen++;
    this.refresh();
    return this;
  }

  /** The score of `x` with signed z, median and scale. Does not change state. */
  explainOne(x: number): StreamingExplanation {
    checkFiniteInput(x, 'RollingRobustZScore.explainOne');
    const warm = this.isWarm;
    const z = warm ? (x - this.med) / this.scaleValue : 0;
    return {
      score: Math.abs(z),
      z,
      expected: this.med,
      scale: this.scaleValue,
      direction: directionOf(z),
      warm,
    };
  }

  /** Forgets every learned value; options are kept. */
  reset(): void {
    this.buf.clear();
    this.seen = 0;
    this.med = Number.NaN;
    this.madValue = Number.NaN;
    this.scaleValue = Number.NaN;
  }

  /** Options and window contents; `fromJSON` of it continues bit-identically. */
  toJSON(): RollingRobustZScoreJSON {
    return {
      kind: KIND,
      schemaVersion: 1,
      window: this.window,
      warmUp: this.warmUp,
      minScale: this.minScale,
      nSeen: this.seen,
      values: this.buf.values(),
    };
  }

  /**
   * Restores a detector saved by `toJSON` (also after a trip through `JSON.stringify`/`parse`).
   * Throws `ModelSchemaError` for another kind, another schema version, or malformed fields.
   *
   * @example
   * ```ts
   * const restored = RollingRobustZScore.fromJSON(JSON.parse(JSON.stringify(det)));
   * ```
   */
  static fromJSON(json: unknown): RollingRobustZScore {
    const rec = checkEnvelope(json, KIND, 1);
    const window = finiteField(rec, 'window', KIND);
    const warmUp = finiteField(rec, 'warmUp', KIND);
    const minScale = finiteField(rec, 'minScale', KIND);
    const nSeen = finiteField(rec, 'nSeen', KIND);
    const det = restoreOptions(KIND, () => new RollingRobustZScore({ window, warmUp, minScale }));
    const values = rec.values;
    if (!Array.isArray(values) || values.length > window) {
      throw new ModelSchemaError(
        `${KIND}: field values must be an array of at most window=${window} numbers`,
      );
    }
    if (!Number.isSafeInteger(nSeen) || values.length !== Math.min(nSeen, window)) {
      throw new ModelSchemaError(
        `${KIND}: field nSeen=${describe(nSeen)} does not match ${values.length} values`,
      );
    }
    for (const v of values) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ModelSchemaError(`${KIND}: field values must hold finite numbers, got ${describe(v)}`);
      }
      det.buf.push(v);
    }
    det.seen = nSeen;
    if (values.length > 0) det.refresh();
    return det;
  }

  private refresh(): void {
    const st = this.stats;
    this.buf.statsInto(st);
    this.med = st[0];
    this.madValue = st[1];
    let scale = MAD_TO_SIGMA * st[1];
    if (scale === 0) scale = MEAN_AD_TO_SIGMA * st[2];
    this.scaleValue = Math.max(scale, this.minScale);
  }
}
