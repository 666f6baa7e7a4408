/**
 * A fixed-capacity sliding window over a stream that keeps its values sorted, so the median is
 * O(1) and the MAD O(log n) at any time, and adding a value costs one binary search plus one
 * `copyWithin` (a memmove of at most `capacity` doubles) with no allocation.
 */
import { DetectorConfigError } from '../errors.js';
import { checkFiniteInput, describe } from './validation.js';

/** Largest window accepted: 1e6 values is over a century of hourly data, and 16 MB of state. */
export const MAX_WINDOW = 1_000_000;

/**
 * The last `capacity` values of a stream, in arrival order (a ring buffer, for eviction) and in
 * sorted order (for order statistics).
 *
 * Median and MAD follow `simple-statistics` 7 exactly (bit for bit): for an even count the median
 * is `lo + 0.5 * (hi - lo)` of the two middle values.
 *
 * @example
 * ```ts
 * const w = new RollingWindow(3);
 * for (const x of [5, 1, 9, 2]) w.push(x); // 5 is evicted
 * w.median(); // 2
 * w.mad(); // 1 (deviations 1, 0, 7)
 * ```
 */
export class RollingWindow {
  readonly capacity: number;
  /** Arrival order; `ring[head]` is the oldest value once the window is full. */
  private readonly ring: Float64Array;
  /** The same values, ascending, in `sorted[0..count)`. */
  private readonly sorted: Float64Array;
  private head = 0;
  private count = 0;

  constructor(capacity: number) {
    if (
      typeof capacity !== 'number' ||
      !Number.isInteger(capacity) ||
      capacity < 1 ||
      capacity > MAX_WINDOW
    ) {
      throw new DetectorConfigError(
        `capacity must be an integer in [1, ${MAX_WINDOW}], got ${describe(capacity)}`,
      );
    }
    this.capacity = capacity;
    this.ring = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
  }

  /** Number of values held, `min(pushed, capacity)`. */
  get size(): number {
    return this.count;
  }

  /** Whether the next `push` evicts the oldest value. */
  get isFull(): boolean {
    return this.count === this.capacity;
  }

  /**
   * Adds `x`, evicting the oldest value when full. Throws `DetectorInputError` on non-finite `x`.
   * `-0` is stored as `0`, so that serialization through JSON (which drops the sign) is lossless.
   */
  push(x: number): void {
    checkFiniteInput(x, 'RollingWindow.push');
    x += 0; // -0 + 0 === +0
    const s = this.sorted;
    const n = this.count;
    if (n < this.capacity) {
      this.ring[(this.head + n) % this.capacity] = x;
      const q = upperBound(s, n, x);
      s.copyWithin(q + 1, q, n);
      s[q] = x;
      this.count = n + 1;
      return;
    }
    const old = this.ring[this.head];
    this.ring[this.head] = x;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    // Replace `old` by `x` in one shift of the values between them, instead of a delete and an
    // insert that would each move up to half the array.
    const p = lowerBound(s, n, old); // s[p] === old: it is in the window
    if (x > old) {
      const q = upperBound(s, n, x); // q > p
      s.copyWithin(p, p + 1, q);
      s[q - 1] = x;
    } else if (x < old) {
      const q = lowerBound(s, n, x); // q <= p
      s.copyWithin(q + 1, q, p);
      s[q] = x;
    }
  }

  /** Median of the values held; `NaN` when empty. */
  median(): number {
    return this.count === 0 ? Number.NaN : this.medianOf();
  }

  /**
   * Median absolute deviation from the median (unscaled); `NaN` when empty. O(log n): the
   * deviations left and right of the median are two sorted runs of the sorted array, so their
   * k-th smallest is found by binary search, with no scratch array and no worst case on the
   * many-ties series (all zeros) where a quickselect can degrade.
   */
  mad(): number {
    return this.count === 0 ? Number.NaN : this.madOf(this.medianOf());
  }

  /** Mean of `|x - median|` over the values held; `NaN` when empty. O(n). */
  meanAbsDeviationFromMedian(): number {
    return this.count === 0 ? Number.NaN : this.meanAbsDeviationOf(this.medianOf());
  }

  /**
   * Writes `[median, MAD, mean |x - median|]` into `out[0..3)`, the last one only when the MAD is
   * 0 (it costs O(n) and is only needed then; `NaN` otherwise). All `NaN` when empty. This is the
   * detectors' per-point path: results go through a caller's buffer rather than return values,
   * because a double returned from a call V8 does not inline is boxed into a fresh heap number.
   *
   * @example
   * ```ts
   * const stats = new Float64Array(3);
   * w.statsInto(stats); // stats[0] median, stats[1] MAD
   * ```
   */
  statsInto(out: Float64Array): void {
    if (this.count === 0) {
      out[0] = Number.NaN;
      out[1] = Number.NaN;
      out[2] = Number.NaN;
      return;
    }
    const med = this.medianOf();
    const mad = this.madOf(med);
    out[0] = med;
    out[1] = mad;
    out[2] = mad === 0 ? this.meanAbsDeviationOf(med) : Number.NaN;
  }

  /** The values held, oldest first (allocates: for serialization and tests, not the hot path). */
  values(): number[] {
    const out = new Array<number>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.ring[(this.head + i) % this.capacity];
    return out;
  }

  /** Removes every value. */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private medianOf(): number {
    const s = this.sorted;
    const n = this.count;
    const mid = n >>> 1;
    if (n & 1) return s[mid];
    const lo = s[mid - 1];
    return lo + 0.5 * (s[mid] - lo);
  }

  private madOf(med: number): number {
    const s = this.sorted;
    const n = this.count;
    if (n & 1) return Math.abs(s[this.kthDeviationIndex((n - 1) >>> 1, med)] - med);
    const lo = Math.abs(s[this.kthDeviationIndex((n >>> 1) - 1, med)] - med);
    return lo + 0.5 * (Math.abs(s[this.kthDeviationIndex(n >>> 1, med)] - med) - lo);
  }

  private meanAbsDeviationOf(med: number): number {
    const s = this.sorted;
    const n = this.count;
    // Values equal to the median add exactly 0, so skip their run: when this is needed (MAD 0)
    // that run is over half the window, e.g. the zero-sales hours of a slow mover.
    const eqFrom = lowerBound(s, n, med);
    const eqTo = upperBound(s, n, med);
    let sum = 0;
    for (let i = 0; i < eqFrom; i++) sum += med - s[i];
    for (let i = eqTo; i < n; i++) sum += s[i] - med;
    return sum / n;
  }

  /**
   * Index in `sorted` of the value whose `|s[i] - med|` is the k-th smallest (0-based); an index,
   * not the double, so that nothing is boxed. With `c = floor(n / 2)`, `s[0..c)` lie at or below
   * `med` and `s[c..n)` at or above it, so `A[t] = med - s[c-1-t]` and `B[t] = s[c+t] - med` are
   * both ascending (and equal `|s - med|` exactly: IEEE subtraction is sign-symmetric).
   */
  private kthDeviationIndex(k: number, med: number): number {
    const s = this.sorted;
    const c = this.count >>> 1;
    const nB = this.count - c;
    const need = k + 1;
    // Find how many of the `need` smallest come from A: the least `a` with A[a] >= B[need-a-1].
    let lo = need > nB ? need - nB : 0;
    let hi = Math.min(need, c);
    while (lo < hi) {
      const a = (lo + hi) >>> 1;
      if (med - s[c - 1 - a] < s[c + need - a - 1] - med) lo = a + 1;
      else hi = a;
    }
    const b = need - lo;
    if (lo === 0) return c + b - 1;
    if (b === 0) return c - lo;
    // The k-th smallest is the larger of the last taken from each run.
    return med - s[c - lo] >= s[c + b - 1] - med ? c - lo : c + b - 1;
  }
}

/** First index in `s[0..n)` with `s[i] >= x`. */
function lowerBound(s: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in `s[0..n)` with `s[i] > x`. */
function upperBound(s: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
