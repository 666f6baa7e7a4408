/**
 * The one validated inventory event every raw record is normalized into. A raw record with several
 * lines (a multi-item order, a purchase order) becomes one event per line.
 */

/** What happened to stock. */
export type InventoryEventKind =
  /** A customer order reserved stock (`quantity` units). */
  | 'sale_placed'
  /** The order shipped: on hand and reserved both drop by `quantity`. */
  | 'sale_fulfilled'
  /** The order was cancelled: reserved drops by `quantity`. */
  | 'sale_cancelled'
  /** A purchase order line: `quantity` eaches become inbound. */
  | 'po_issued'
  /** An advance ship notice line: `quantity` eaches shipped of `orderedQuantity` ordered. */
  | 'asn_issued'
  /** Goods received: on hand rises by `quantity`. */
  | 'receipt'
  /** A signed manual adjustment (`quantity` < 0 removes stock). */
  | 'adjustment'
  /** A cycle count: `quantity` is the counted stock, which replaces the book value. */
  | 'cycle_count'
  /** A customer return back to stock: on hand rises by `quantity`. */
  | 'return'
  /** Damaged units written off: on hand drops by `quantity` (positive). */
  | 'damage';

export const INVENTORY_EVENT_KINDS: readonly InventoryEventKind[] = [
  'sale_placed',
  'sale_fulfilled',
  'sale_cancelled',
  'po_issued',
  'asn_issued',
  'receipt',
  'adjustment',
  'cycle_count',
  'return',
  'damage',
];

/** Which upstream system a record came from. */
export type EventSource = 'supplier' | 'storefront' | 'wms';

/**
 * A normalized inventory event. Quantities are always in eaches (case quantities are multiplied out);
 * money is per each, in `currency`.
 *
 * @example
 * ```ts
 * const e: InventoryEvent = {
 *   eventId: 'wms:WMS-000000042', sourceId: 'WMS-000000042', source: 'wms', kind: 'damage',
 *   sku: 'SKU-00017', warehouse: 'WH-EAST', occurredAt: Date.UTC(2026, 0, 5, 9), quantity: 2,
 * };
 * ```
 */
export interface InventoryEvent {
  /**
   * Unique per effect, stable across re-deliveries: the idempotency key, namespaced by source (see
   * {@link eventIdOf}). For records with lines (orders, POs, ASNs) the record's id plus `#<line number>`
   * (e.g. `storefront:SO-00000001-P#1`, `supplier:PO-0000001#2`); for a warehouse log row its `LOG_ID`
   * (`wms:WMS-000000042`).
   */
  eventId: string;
  /** The raw record's own id (`eventId` of an order event, `doc_id`, `LOG_ID`). */
  sourceId: string;
  source: EventSource;
  kind: InventoryEventKind;
  sku: string;
  warehouse: string;
  /** When it happened (not when it arrived), epoch milliseconds. */
  occurredAt: number;
  /** Eaches; signed only for `adjustment`; the counted stock for `cycle_count` (may be wrong, even negative). */
  quantity: number;
  /** Sales: price per each. */
  unitPrice?: number;
  /** Supplier lines: cost per each. */
  unitCost?: number;
  /** ASN lines: eaches ordered on the purchase order (`quantity` is what shipped). */
  orderedQuantity?: number;
  supplierId?: string;
  /** The business document: order id, PO, ASN, or a WMS reference. */
  documentId?: string;
  /** WMS reason code, e.g. `SHORT_PICK`, `CORRECTION`, `FOUND`. */
  reason?: string;
  /** Supplier lines: eaches per case, as the supplier states it (the pipeline learns packs from these). */
  casePack?: number;
  /** The unit the upstream keyed (`EA`/`CS`); quantities here are already eaches. */
  unitOfMeasure?: 'EA' | 'CS';
  channel?: string;
  customerId?: string;
  currency?: string;
}

/**
 * The in-memory key of one tracked stock position (SKU × warehouse). Length-prefixed, so that no two
 * distinct pairs share a key whatever characters they hold (`A|B` × `C` and `A` × `B|C` differ).
 *
 * @example
 * ```ts
 * seriesKey('SKU-1', 'WH-EAST'); // '5:SKU-1WH-EAST'
 * ```
 */
export function seriesKey(sku: string, warehouse: string): string {
  return `${sku.length}:${sku}${warehouse}`;
}

/**
 * The Kinesis partition key of a series, `SKU|warehouse`: what producers put and what the pipeline
 * reads back to keep, from a record of several series, the events of the copy's own series. Not a
 * unique key in general (`|` may occur in either part), but the events of one record share one
 * warehouse, and with the warehouse fixed the SKU is what precedes `|warehouse`: among one record's
 * series, the key is unambiguous.
 *
 * @example
 * ```ts
 * partitionKeyOf('SKU-1', 'WH-EAST'); // 'SKU-1|WH-EAST'
 * ```
 */
export function partitionKeyOf(sku: string, warehouse: string): string {
  return `${sku}|${warehouse}`;
}

/**
 * The idempotency key of an event: `<source>:<record id>` for a record without lines (a WMS row),
 * `<source>:<record id>#<line>` for the lines of an order or a supplier document. No two distinct
 * events share one: the source names are fixed and contain no `:`, whether a source's records have
 * lines is fixed, and a line number is all digits after the last `#`. Before namespacing, storefront
 * order `1001` item 1 and the WMS row `1001#1` had the same id, and one was dropped as a duplicate.
 *
 * @example
 * ```ts
 * eventIdOf('storefront', 'SO-1-P', 1); // 'storefront:SO-1-P#1'
 * eventIdOf('wms', '1001#1');           // 'wms:1001#1'
 * ```
 */
export function eventIdOf(source: EventSource, recordId: string, line?: number): string {
  return line === undefined ? `${source}:${recordId}` : `${source}:${recordId}#${line}`;
}

/**
 * The id the same event had before ids were namespaced by source (the record id, plus `#<line>`):
 * applied ids stored by an earlier version are in this form, and are honoured for one duplicate
 * window after an upgrade.
 *
 * @example
 * ```ts
 * legacyEventId('storefront:SO-1-P#1'); // 'SO-1-P#1'
 * ```
 */
export function legacyEventId(eventId: string): string {
  return eventId.slice(eventId.indexOf(':') + 1);
}
