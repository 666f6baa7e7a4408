/**
 * Mapping of unbounded z-scores to [0, 1], for outputs that must share a scale with other
 * detectors (probabilities, isolation-forest scores) and for thresholds a planner can read.
 */
import { errorFunction } from 'simple-statistics';
import { DetectorInputError } from '../errors.js';
import { describe } from './validation.js';

/**
 * Maps `|z|` to `2Φ(|z|) - 1 = erf(|z| / √2)`: the probability mass of a standard normal closer to
 * its mean than `z`, i.e. one minus the two-sided p-value. So `zToUnit(1.96) ≈ 0.95`,
 * `zToUnit(3) ≈ 0.9973`, and `zToUnit(0) = 0`.
 *
 * Monotone non-decreasing in `|z|`, sign-blind. Mathematically the range is [0, 1); in double
 * precision (with `simple-statistics`' `errorFunction`, accurate to ~1.2e-7) it reaches exactly 1
 * for `|z|` above about 8.4, so the output lies in [0, 1]. That saturation is why ranking among
 * extreme anomalies should use the raw `|z|`, not this value. `±Infinity` maps to 1.
 *
 * Throws `DetectorInputError` on `NaN`.
 *
 * @example
 * ```ts
 * zToUnit(det.scoreOne(x)); // 0.95 for a point 1.96 robust SDs from the median
 * ```
 */
export function zToUnit(z: number): number {
  if (typeof z !== 'number' || Number.isNaN(z)) {
    throw new DetectorInputError(`zToUnit: z must be a number, got ${describe(z)}`);
  }
  const u = errorFunction(Math.abs(z) * Math.SQRT1_2);
  // The erf approximation is off by ~3e-8 at 0 (it would return a tiny negative); clamp into [0, 1].
  return u > 0 ? Math.min(u, 1) : 0;
}
