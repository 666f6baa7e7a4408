/**
 * Words shared by the alert channels (console, Slack, email, SNS): what each anomaly type means to the
 * people who act on it, the subject line of a notification, the features worth showing first, and
 * numbers and text made safe to show. One place, so that a Slack message and the e-mail about the same
 * notification say the same thing.
 */
import type { AlertNotification, AnomalyType, ExplanationFeature } from '../../pipeline/ports.js';

/**
 * What each type means, in the words of the people who act on it: `Title: meaning`.
 *
 * @example
 * ```ts
 * TYPE_TEXT.shrinkage; // 'Shrinkage: stock missing against the book'
 * ```
 */
export const TYPE_TEXT: Readonly<Record<AnomalyType, string>> = {
  shrinkage: 'Shrinkage: stock missing against the book',
  phantom_stock: 'Phantom stock: the book shows stock that does not sell',
  sales_spike: 'Sales spike: demand far above normal',
  data_entry_error: 'Data-entry error: a quantity that looks mistyped',
  supplier_short_shipment: 'Supplier short shipment: fewer units than ordered',
  supplier_price_anomaly: 'Supplier price anomaly: unit cost out of line',
  stuck_feed: 'Stuck feed: no updates where updates are expected',
  negative_stock: 'Negative stock: on hand below zero',
};

/**
 * How many features a channel shows per anomaly.
 *
 * @example
 * ```ts
 * topFeatures(anomaly.explanation.features, TOP_FEATURES);
 * ```
 */
export const TOP_FEATURES = 3;

/**
 * The type as words for a subject line: `supplier_short_shipment` → `supplier short shipment`. An
 * unknown type (from a newer producer) is shown as it is, cleaned.
 *
 * @example
 * ```ts
 * typeWords('phantom_stock'); // 'phantom stock'
 * ```
 */
export function typeWords(type: AnomalyType | string): string {
  return clean(type).replace(/_/g, ' ');
}

/**
 * The type's title and meaning, falling back to its words for a type this version does not know.
 *
 * @example
 * ```ts
 * typeText('sales_spike'); // 'Sales spike: demand far above normal'
 * ```
 */
export function typeText(type: AnomalyType | string): string {
  return (TYPE_TEXT as Record<string, string>)[type] ?? typeWords(type);
}

/**
 * Control characters (ESC, NUL, CR, LF…) replaced by U+FFFD, so that data cannot drive a terminal,
 * break a header line or an XML-based API (SNS refuses most control characters).
 *
 * @example
 * ```ts
 * clean('SKU\x1b[2J'); // 'SKU\uFFFD[2J'
 * ```
 */
export function clean(text: string): string {
  return text.replace(/[\p{Cc}]/gu, '\uFFFD');
}

/**
 * At most `max` UTF-16 code units, ending with `…` when cut, never splitting a surrogate pair.
 *
 * @example
 * ```ts
 * truncate('abcdef', 4); // 'abc…'
 * ```
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max - 1;
  // A high surrogate at the cut would be left without its pair.
  const code = text.charCodeAt(end - 1);
  if (end > 0 && code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/**
 * A number for people: at most two decimals, thousands separated; non-finite values as they are.
 *
 * @example
 * ```ts
 * formatNumber(1234.567); // '1,234.57'
 * ```
 */
export function formatNumber(value: number): string {
  return Number.isFinite(value) ? NUMBER.format(value) : String(value);
}

/**
 * A feature's number with its unit (see `FeatureUnit`): `40 units`, `1 unit`, `84%` for a share,
 * `2.5×`, `5.3 h`, `2 days`; a bare number without a unit or with one this version does not know.
 *
 * @example
 * ```ts
 * formatValue(0.84, 'share'); // '84%'
 * formatValue(300, 'units'); // '300 units'
 * ```
 */
export function formatValue(value: number, unit?: string): string {
  if (!Number.isFinite(value)) return String(value);
  const n = formatNumber(value);
  switch (unit) {
    case 'units':
      return `${n} ${Math.abs(value) === 1 ? 'unit' : 'units'}`;
    case 'share':
      return `${formatNumber(value * 100)}%`;
    case 'ratio':
      return `${n}×`;
    case 'hours':
      return `${n} h`;
    case 'days':
      return `${n} ${Math.abs(value) === 1 ? 'day' : 'days'}`;
    default:
      return n;
  }
}

/**
 * An epoch-ms time as `2026-01-05 00:00:00 UTC`.
 *
 * @example
 * ```ts
 * formatTime(Date.UTC(2026, 0, 5)); // '2026-01-05 00:00:00 UTC'
 * ```
 */
export function formatTime(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, ' UTC')
    : String(ms);
}

/**
 * The most telling features first: those with a stated contribution by it, then the rest in the
 * detector's order (it lists its evidence first). Not by distance from the expectation: numbers in
 * different units do not compare (a z-score of 19 against 0 would push aside the count it sums up).
 *
 * @example
 * ```ts
 * for (const f of topFeatures(anomaly.explanation.features)) console.log(f.name);
 * ```
 */
export function topFeatures(
  features: readonly ExplanationFeature[],
  count = TOP_FEATURES,
): ExplanationFeature[] {
  // Array.prototype.sort is stable: equal keys keep the detector's order.
  return [...features].sort((a, b) => (b.contribution ?? -1) - (a.contribution ?? -1)).slice(0, count);
}

/**
 * One feature as `name: observed 40 units, expected 52 units (20% of the score)`, numbers with their
 * unit (see {@link formatValue}).
 *
 * @example
 * ```ts
 * featureLine({ name: 'on_hand', observed: 40, expected: 52 }); // 'on_hand: observed 40, expected 52'
 * featureLine({ name: 'fill_rate', observed: 0.4, expected: 1, unit: 'share' }); // 'fill_rate: observed 40%, expected 100%'
 * ```
 */
export function featureLine(f: ExplanationFeature): string {
  const share = f.contribution === undefined ? '' : ` (${Math.round(f.contribution * 100)}% of the score)`;
  return `${clean(f.name)}: observed ${formatValue(f.observed, f.unit)}, expected ${formatValue(f.expected, f.unit)}${share}`;
}

/**
 * The distinct SKUs of a notification, in the order its anomalies name them.
 *
 * @example
 * ```ts
 * skusOf(notification); // ['SKU-1', 'SKU-2']
 * ```
 */
export function skusOf(n: AlertNotification): string[] {
  return [...new Set(n.anomalies.map((a) => a.sku))];
}

/**
 * `1 SKU` / `3 SKUs` style counts.
 *
 * @example
 * ```ts
 * plural(3, 'SKU'); // '3 SKUs'
 * plural(1, 'anomaly', 'anomalies'); // '1 anomaly'
 * ```
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * The subject line of a notification, for e-mail and SNS:
 * `[shelfwatch] CRITICAL shrinkage at WH-EAST (3 SKUs)`, `(SKU SKU-1)` for one SKU, and for a
 * rate-limit summary `(5 held back by the rate limit)`. Control characters are replaced; length is the
 * caller's business (each channel has its own limit).
 *
 * @example
 * ```ts
 * alertSubject(notification); // '[shelfwatch] WARNING sales spike at WH1 (SKU SKU-9)'
 * ```
 */
export function alertSubject(n: AlertNotification): string {
  const skus = skusOf(n);
  const what =
    skus.length === 1
      ? `SKU ${clean(skus[0])}`
      : skus.length > 1
        ? plural(skus.length, 'SKU')
        : `${n.suppressed} held back by the rate limit`;
  return `[shelfwatch] ${n.severity.toUpperCase()} ${typeWords(n.type)} at ${clean(n.warehouse)} (${what})`;
}
