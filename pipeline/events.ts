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
 *   eventId: 'WMS-000000042', sourceId: 'WMS-000000042', source: 'wms', kind: 'damage',
 *   sku: 'SKU-00017', warehouse: 'WH-EAST', occurredAt: Date.UTC(2026, 0, 5, 9), quantity: 2,
 * };
 * ```
 */
export interface InventoryEvent {
  /**
   * Unique per effect, stable across re-deliveries: the idempotency key. For records with lines (orders,
   * POs, ASNs) the record's id plus `#<line number>` (e.g. `SO-00000001-P#1`, `PO-0000001#2`); for a
   * warehouse log row its `LOG_ID`.
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

/** The key of one tracked stock position. */
export function seriesKey(sku: string, warehouse: string): string {
  return `${sku}|${warehouse}`;
}
