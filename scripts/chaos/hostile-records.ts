/**
 * The hostile records themselves: a valid template record made future-dated, expired, huge-keyed,
 * odd-keyed, of the wrong type, truncated or over-long; and the pairs of valid records a careless key
 * would confuse.
 */
import type { Rng } from '../../detectors/random.js';
import type { HostileClass } from './hostile.js';
import {
  breakType,
  eventTime,
  type Family,
  setEventTime,
  setRecordId,
  setSku,
  type WireRecord,
} from './wire-records.js';

const DAY = 86_400_000;
const FUTURE = Date.UTC(2099, 5, 1);
/** One more byte than the record limit (`MAX_RECORD_BYTES`), whatever the rest of the line holds. */
const OVERLONG_PAD = 1_048_576 + 1;

/**
 * A valid record of the stream to make hostile variants of: where it is, and the shard's clock there.
 *
 * @example
 * ```ts
 * const t: Template = { index: 41, record, family: 'wms', clock: Date.UTC(2026, 0, 5, 9) };
 * ```
 */
export interface Template {
  index: number;
  record: WireRecord;
  family: Family;
  clock: number;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.nextInt(xs.length)];

/**
 * A hostile variant of template `t` that must be dead-lettered (its class says with which code).
 *
 * @example
 * ```ts
 * hostileText('future', template, 'CHAOS-1-7', 7, rng); // the template, dated 2099, id CHAOS-1-7
 * ```
 */
export function hostileText(what: HostileClass, t: Template, id: string, n: number, rng: Rng): string {
  const r = structuredClone(t.record);
  setRecordId(r, t.family, id);
  switch (what) {
    case 'future':
      setEventTime(r, t.family, FUTURE + n * 60_000);
      break;
    case 'expired':
      setEventTime(r, t.family, t.clock - 30 * DAY);
      break;
    case 'long_sku':
      setSku(r, t.family, `S${'K'.repeat(128 + rng.nextInt(200))}`);
      break;
    case 'mega_sku':
      setSku(r, t.family, 'M'.repeat(1_000_000));
      break;
    case 'control_key':
      setSku(r, t.family, pick(rng, ['SKU\u0000-1', 'SKU\u0007', 'SKU-\u0085', 'SKU\u001b[31m']));
      break;
    case 'bidi_key':
      setSku(r, t.family, pick(rng, ['SKU\u202e-1', '\u2066SKU\u2069', 'SKU\u200f']));
      break;
    case 'surrogate_key':
      setSku(r, t.family, pick(rng, ['SKU-\ud800', 'SKU-\udfff-1']));
      break;
    case 'wrong_type':
      breakType(r, t.family, rng.nextInt(3));
      break;
    case 'truncated': {
      const text = JSON.stringify(r);
      return text.slice(0, 1 + rng.nextInt(text.length - 1));
    }
    case 'overlong_line':
      r.pad = 'x'.repeat(OVERLONG_PAD);
      break;
    default:
      throw new Error(`not a dead-letter class: ${what}`);
  }
  return JSON.stringify(r);
}

/**
 * Two valid records that a careless key would confuse: SKU `A|B` at `C` and SKU `A` at `B|C`; or
 * storefront order event `1001` item 1 and warehouse row `1001#1`. Both of each pair must be applied.
 *
 * @example
 * ```ts
 * const { lines, ids, series } = ambiguousPair('ambiguous_id', template, 'CHAOS-1-3', 3);
 * ```
 */
export function ambiguousPair(what: 'ambiguous_series' | 'ambiguous_id', t: Template, id: string, n: number) {
  const at = new Date(eventTime(t.record, t.family)).toISOString();
  const wms = (logId: string, sku: string, loc: string, qty: number) =>
    JSON.stringify({
      LOG_ID: logId,
      TXN: 'ADJ',
      ITEM_NO: sku,
      LOC: loc,
      QTY: qty,
      UOM: 'EA',
      TXN_TIME: at.replace('T', ' ').slice(0, 19),
      REASON: 'FOUND',
      USER_ID: 'chaos',
    });
  if (what === 'ambiguous_series') {
    const series = [
      { sku: `A${n}|B`, warehouse: 'C' },
      { sku: `A${n}`, warehouse: 'B|C' },
    ];
    return {
      lines: [wms(`${id}-a`, series[0].sku, 'C', 5), wms(`${id}-b`, series[1].sku, 'B|C', 7)],
      ids: [`wms:${id}-a`, `wms:${id}-b`],
      series,
    };
  }
  const orderId = String(1001 + n * 10);
  const order = JSON.stringify({
    event: 'order.placed',
    eventId: orderId,
    orderId: `SO-${orderId}`,
    occurredAt: Date.parse(at),
    channel: 'web',
    customerId: 'C-chaos',
    fulfillmentCenter: 'WH-CHAOS',
    items: [{ sku: 'SKU-CHAOS', quantity: 1, unitPrice: 1 }],
    currency: 'USD',
  });
  return {
    lines: [order, wms(`${orderId}#1`, 'SKU-CHAOS', 'WH-CHAOS', 3)],
    ids: [`storefront:${orderId}#1`, `wms:${orderId}#1`],
    series: [{ sku: 'SKU-CHAOS', warehouse: 'WH-CHAOS' }],
  };
}
