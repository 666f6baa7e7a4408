/**
 * Exponentially weighted mean and variance z-score: cheap (O(1), two doubles of state) and quick
 * to follow level shifts, at the price of being pulled by the outliers it scores.
 */
import { DetectorConfigError, ModelSchemaError } from '../errors.js';
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

/**
 * Options of {@link EwmaDetector}. Give at most one of `alpha` and `halfLife` (default `alpha = 0.1`).
 *
 * @example
 * ```ts
 * const opts: EwmaOptions = { halfLife: 24, warmUp: 10 }; // weights halve every 24 points
 * ```
 */
export interface EwmaOptions {
  /** Weight of the newest value, in (0, 1]. Default 0.1 (an effective memory of about 10 points). */
  readonly alpha?: number;
  /** Alternative to `alpha`: number of points after which a value's weight has halved; > 0. */
  readonly halfLife?: number;
  /** Values to learn before scores are non-zero; non-negative integer. Default 10. */
  readonly warmUp?: number;
  /** Floor of the scale (√variance), so a constant series yields large but finite z. Default 1e-9. */
  readonly minScale?: number;
}

/**
 * Serialized {@link EwmaDetector}.
 *
 * @example
 * ```ts
 * const json: EwmaJSON = det.toJSON();
 * ```
 */
export interface EwmaJSON extends StreamingDetectorJSON {
  readonly kind: 'ewma';
  readonly schemaVersion: 1;
  readonly alpha: number;
  readonly warmUp: number;
  readonly minScale: number;
  readonly nSeen: number;
  readonly mean: number;
  readonly variance: number;
}

const KIND = 'ewma';
/** Upper bound of `warmUp`: a safe integer, and nobody waits longer than this. */
const MAX_WARM_UP = 1_000_000_000;

/**
 * Streaming z-score against an exponentially weighted mean and variance. The first learned value
 * sets the mean (variance 0); each later one applies the incremental form
 * `diff = x - mean; incr = alpha·diff; mean += incr; var = (1 - alpha)·(var + diff·incr)`,
 * which is numerically stable and needs no sum of squares. `z = (x - mean) / max(√var, minScale)`.
 *
 * `alpha = 1 - 2^(-1/halfLife)` when `halfLife` is given.
 *
 * @example
 * ```ts
 * const det = new EwmaDetector({ halfLife: 24 });
 * for (const level of stockLevels) {
 *   const score = det.scoreOne(level);
 *   det.learnOne(level);
 *   if (score > 4) console.log(det.explainOne(level).direction);
 * }
 * ```
 */
export class EwmaDetector implements StreamingDetector {
  readonly alpha: number;
  readonly warmUp: number;
  readonly minScale: number;
  private seen = 0;
  private m = 0;
  private v = 0;

  constructor(options: EwmaOptions = {}) {
    const { alpha, halfLife } = options;
    if (alpha !== undefined && halfLife !== undefined) {
      throw new DetectorConfigError(
        `give either alpha or halfLife, not both (got alpha=${describe(alpha)}, halfLife=${describe(halfLife)})`,
      );
    }
    if (halfLife !== undefined) {
      const h = positiveOption('halfLife', halfLife, 1);
      // -expm1(-ln2/h) is 1 - 2^(-1/h) without cancellation for long half-lives (and > 0 for any finite h).
      this.alpha = -Math.expm1(-Math.LN2 / h);
    } else {
      const a = alpha === undefined ? 0.1 : alpha;
      if (typeof a !== 'number' || !(a > 0 && a <= 1)) {
        throw new DetectorConfigError(`alpha must be a number in (0, 1], got ${describe(a)}`);
      }
      this.alpha = a;
    }
    this.warmUp = intOption('warmUp', options.warmUp, 10, 0, MAX_WARM_UP);
    this.minScale = positiveOption('minScale', options.minScale, 1e-9);
  }

  /** Values learned since construction or the last `reset()`. */
  get nSeen(): number {
    return this.seen;
  }

  /** True once `nSeen >= warmUp` and at least one value was learned (there is nothing to compare to before). */
  get isWarm(): boolean {
    return this.seen >= this.warmUp && this.seen > 0;
  }

  /** Exponentially weighted mean; `NaN` before the first `learnOne`. */
  get mean(): number {
    return this.seen > 0 ? this.m : Number.NaN;
  }

  /** Exponentially weighted variance; `NaN` before the first `learnOne`. */
  get variance(): number {
    return this.seen > 0 ? this.v : Number.NaN;
  }

  /** The scale z is divided by, `max(√variance, minScale)`; `NaN` before the first `learnOne`. */
  get scale(): number {
    return this.seen > 0 ? this.currentScale() : Number.NaN;
  }

  /** `|z|` of `x` against the weighted mean and variance, 0 during warm-up. Does not change state. */
  scoreOne(x: number): number {
    checkFiniteInput(x, 'EwmaDetector.scoreOne');
    if (!this.isWarm) return 0;
    return Math.abs((x - this.m) / this.currentScale());
  }

  /** Updates the weighted mean and variance with `x`. */
  learnOne(x: number): this {
    checkFiniteInput(x, 'EwmaDetector.learnOne');
    x += 0; // store +0 for -0: JSON drops the sign, and a round trip must be exact
    if (this.seen === 0) {
      this.m = x;
      this.v = 0;
    } else {
      const diff = x - this.m;
      const incr = this.alpha * diff;
      this.m += incr;
      this.v = (1 - this.alpha) * (this.v + diff * incr);
    }
    this.seen++;
    return this;
  }

  /** The score of `x` with signed z, weighted mean and scale. Does not change state. */
  explainOne(x: number): StreamingExplanation {
    checkFiniteInput(x, 'EwmaDetector.explainOne');
    const warm = this.isWarm;
    const scale = this.scale;
    const z = warm ? (x - this.m) / scale : 0;
    return { score: Math.abs(z), z, expected: this.mean, scale, direction: directionOf(z), warm };
  }

  /** Forgets the learned mean and variance; options are kept. */
  reset(): void {
    this.seen = 0;
    this.m = 0;
    this.v = 0;
  }

  /** Options and state; `fromJSON` of it continues bit-identically. */
  toJSON(): EwmaJSON {
    return {
      kind: KIND,
      schemaVersion: 1,
      alpha: this.alpha,
      warmUp: this.warmUp,
      minScale: this.minScale,
      nSeen: this.seen,
      mean: this.m,
      variance: this.v,
    };
  }

  /**
   * Restores a detector saved by `toJSON` (also after a trip through `JSON.stringify`/`parse`).
   * Throws `ModelSchemaError` for another kind, another schema version, or malformed fields.
   *
   * @example
   * ```ts
   * const restored = EwmaDetector.fromJSON(JSON.parse(checkpointText));
   * ```
   */
  static fromJSON(json: unknown): EwmaDetector {
    const rec = checkEnvelope(json, KIND, 1);
    const alpha = finiteField(rec, 'alpha', KIND);
    const warmUp = finiteField(rec, 'warmUp', KIND);
    const minScale = finiteField(rec, 'minScale', KIND);
    const nSeen = finiteField(rec, 'nSeen', KIND);
    const mean = finiteField(rec, 'mean', KIND);
    const variance = finiteField(rec, 'variance', KIND);
    const det = restoreOptions(KIND, () => new EwmaDetector({ alpha, warmUp, minScale }));
    if (!Number.isSafeInteger(nSeen) || nSeen < 0) {
      throw new ModelSchemaError(
        `${KIND}: field nSeen must be a non-negative integer, got ${describe(nSeen)}`,
      );
    }
    if (variance < 0) {
      throw new ModelSchemaError(`${KIND}: field variance must be >= 0, got ${describe(variance)}`);
    }
    det.seen = nSeen;
    det.m = mean + 0;
    det.v = variance;
    return det;
  }

  private currentScale(): number {
    const s = Math.sqrt(this.v);
    return Math.max(s, this.minScale);
  }
}
