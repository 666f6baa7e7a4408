/**
 * Event-level evaluation of a stream detector: labelled anomaly windows against alert times.
 */
import { MetricError } from './errors.js';

/**
 * A labelled anomaly window, inclusive at both ends (same time unit as the alerts).
 *
 * @example
 * ```ts
 * const w: AnomalyWindow = { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 2), type: 'spike' };
 * ```
 */
export interface AnomalyWindow {
  readonly start: number;
  readonly end: number;
  /** The anomaly type, for the per-type breakdown. */
  readonly type?: string;
  /** An identifier carried through to `perWindow`. */
  readonly id?: string;
}

/**
 * How one window fared; see {@link WindowEvaluation.perWindow}.
 *
 * @example
 * ```ts
 * const missed = evaluateWindows(windows, alerts).perWindow.filter((w: WindowOutcome) => !w.found);
 * ```
 */
export interface WindowOutcome {
  readonly start: number;
  readonly end: number;
  readonly type?: string;
  readonly id?: string;
  readonly found: boolean;
  /** The first alert time t with start ≤ t ≤ end, or `null`. */
  readonly firstAlert: number | null;
  /** `firstAlert − start`, or `null`. */
  readonly delay: number | null;
}

/**
 * Per-type counts of {@link WindowEvaluation.perType}.
 *
 * @example
 * ```ts
 * const spikes: WindowTypeStats | undefined = evaluateWindows(windows, alerts).perType.spike;
 * ```
 */
export interface WindowTypeStats {
  readonly windows: number;
  readonly found: number;
  readonly recall: number;
  /** Mean delay over the found windows of this type, or `null` if none was found. */
  readonly meanDelay: number | null;
}

/**
 * The result of {@link evaluateWindows}.
 *
 * @example
 * ```ts
 * const { windowRecall, falseAlerts }: WindowEvaluation = evaluateWindows(windows, alerts);
 * ```
 */
export interface WindowEvaluation {
  /** Number of windows. */
  readonly windows: number;
  /** Windows with at least one alert inside. */
  readonly found: number;
  /** found / windows; 0 when there are no windows (scikit-learn's zero-division convention). */
  readonly windowRecall: number;
  /** Number of alerts. */
  readonly alerts: number;
  /** Alerts inside at least one window. */
  readonly truePositiveAlerts: number;
  /** Alerts outside every window. */
  readonly falseAlerts: number;
  /** truePositiveAlerts / alerts; 0 when there are no alerts (zero-division convention). */
  readonly alertPrecision: number;
  /** For each found window, in input order: first alert in the window − window start. */
  readonly delays: number[];
  /** Mean of `delays`, or `null` when no window was found. */
  readonly meanDelay: number | null;
  /** Median of `delays` (mean of the middle two for an even count), or `null`. */
  readonly medianDelay: number | null;
  /** Breakdown by `type`; windows without a type are counted only in the totals. */
  readonly perType: Record<string, WindowTypeStats>;
  /** One entry per window, in input order. */
  readonly perWindow: WindowOutcome[];
}

function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mean(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = Float64Array.from(xs).sort();
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/**
 * Scores alerts against labelled windows. A window is found when some alert t has
 * start ≤ t ≤ end (both ends inclusive, as in the NAB windows); its delay is the first such alert
 * minus start. An alert inside at least one window is a true-positive alert (overlapping windows do
 * not count it twice); any other alert is a false alert. Every alert counts, duplicates included.
 *
 * O((n + m) log(n + m)) for n windows and m alerts: alerts are sorted once and each window finds its
 * first alert by binary search; the true-positive alerts are counted with two pointers over the
 * sorted alerts and the merged windows.
 *
 * @throws MetricError on a non-finite time, a window with start > end, or a non-string type/id.
 *
 * @example
 * ```ts
 * const r = evaluateWindows([{ start: 10, end: 20, type: 'spike' }, { start: 50, end: 60 }], [12, 15, 30]);
 * // r.found 1, r.windowRecall 0.5, r.truePositiveAlerts 2, r.falseAlerts 1, r.delays [2]
 * ```
 */
export function evaluateWindows(
  windows: readonly AnomalyWindow[],
  alertTimes: ArrayLike<number>,
): WindowEvaluation {
  if (!Array.isArray(windows)) throw new MetricError('windows must be an array of { start, end } objects');
  if (alertTimes === null || typeof alertTimes !== 'object' || typeof alertTimes.length !== 'number') {
    throw new MetricError('alertTimes must be an array of numbers');
  }
  const n = windows.length;
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w: unknown = windows[i];
    if (w === null || typeof w !== 'object')
      throw new MetricError(`windows[${i}] is not a { start, end } object`);
    const { start, end, type, id } = w as AnomalyWindow;
    if (typeof start !== 'number' || start - start !== 0) {
      throw new MetricError(`windows[${i}].start is ${String(start)}; it must be a finite number`);
    }
    if (typeof end !== 'number' || end - end !== 0) {
      throw new MetricError(`windows[${i}].end is ${String(end)}; it must be a finite number`);
    }
    if (start > end) throw new MetricError(`windows[${i}] starts at ${start}, after its end ${end}`);
    if (type !== undefined && typeof type !== 'string')
      throw new MetricError(`windows[${i}].type must be a string`);
    if (id !== undefined && typeof id !== 'string')
      throw new MetricError(`windows[${i}].id must be a string`);
    starts[i] = start;
    ends[i] = end;
  }
  const m = alertTimes.length;
  const alerts = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const t: unknown = alertTimes[j];
    if (typeof t !== 'number' || t - t !== 0) {
      throw new MetricError(`alertTimes[${j}] is ${String(t)}; every alert time must be a finite number`);
    }
    alerts[j] = t;
  }
  alerts.sort();

  const perWindow: WindowOutcome[] = [];
  const delays: number[] = [];
  const byType = new Map<string, { windows: number; delays: number[] }>();
  for (let i = 0; i < n; i++) {
    const w = windows[i];
    const k = lowerBound(alerts, starts[i]);
    const found = k < m && alerts[k] <= ends[i];
    const firstAlert = found ? alerts[k] : null;
    const delay = found ? alerts[k] - starts[i] : null;
    if (delay !== null) delays.push(delay);
    const outcome: WindowOutcome = { start: starts[i], end: ends[i], found, firstAlert, delay };
    perWindow.push({
      ...outcome,
      ...(w.type !== undefined ? { type: w.type } : {}),
      ...(w.id !== undefined ? { id: w.id } : {}),
    });
    if (w.type !== undefined) {
      let t = byType.get(w.type);
      if (t === undefined) {
        t = { windows: 0, delays: [] };
        byType.set(w.type, t);
      }
      t.windows++;
      if (delay !== null) t.delays.push(delay);
    }
  }

  // Alerts inside the union of windows: merge the windows sorted by start, then one pass.
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => starts[a] - starts[b]);
  let truePositiveAlerts = 0;
  let j = 0;
  let r = 0;
  while (r < n) {
    const lo = starts[order[r]];
    let hi = ends[order[r]];
    r++;
    while (r < n && starts[order[r]] <= hi) {
      if (ends[order[r]] > hi) hi = ends[order[r]];
      r++;
    }
    while (j < m && alerts[j] < lo) j++;
    while (j < m && alerts[j] <= hi) {
      truePositiveAlerts++;
      j++;
    }
  }

  const found = delays.length;
  const perType = Object.fromEntries(
    [...byType.keys()].sort().map((type) => {
      const t = byType.get(type)!;
      const stats: WindowTypeStats = {
        windows: t.windows,
        found: t.delays.length,
        recall: t.delays.length / t.windows,
        meanDelay: mean(t.delays),
      };
      return [type, stats];
    }),
  );
  return {
    windows: n,
    found,
    windowRecall: n === 0 ? 0 : found / n,
    alerts: m,
    truePositiveAlerts,
    falseAlerts: m - truePositiveAlerts,
    alertPrecision: m === 0 ? 0 : truePositiveAlerts / m,
    delays,
    meanDelay: mean(delays),
    medianDelay: median(delays),
    perType,
    perWindow,
  };
}
