/**
 * The three raw event kinds as the upstream systems put them on the stream, one JSON object per record.
 * Each system has its own field names, casing and timestamp format: normalizing them is the stream
 * job's work, and the generator writes exactly these shapes.
 *
 * | kind | upstream | discriminator | id field | time field (format) |
 * |---|---|---|---|---|
 * | supplier record | supplier portal (EDI-like) | `record_type`: `PO` \| `ASN` | `doc_id` | `issued_at` (ISO-8601 UTC, `Z`) |
 * | sales order | storefront | `event`: `order.placed` \| `order.fulfilled` \| `order.cancelled` | `eventId` (order in `orderId`) | `occurredAt` (epoch milliseconds) |
 * | inventory log | warehouse management system | `TXN`: `RCV` \| `ADJ` \| `CC` \| `RTN` \| `DMG` | `LOG_ID` | `TXN_TIME` (`YYYY-MM-DD HH:MM:SS`, UTC, no zone) |
 */

/** A purchase order (PO) or advance ship notice (ASN) from a supplier, with nested lines. */
export interface SupplierRecord {
  record_type: 'PO' | 'ASN';
  /** Unique per document: `PO-…` or `ASN-…`. */
  doc_id: string;
  /** On an ASN: the purchase order it ships. */
  po_ref?: string;
  supplier: { id: string; name: string };
  /** Warehouse code, e.g. `WH-EAST`. */
  ship_to: string;
  /** ISO-8601 UTC, e.g. `2026-01-03T10:15:00.000Z`. */
  issued_at: string;
  /** On a PO: when the supplier promises delivery; on an ASN: the expected arrival. */
  expected_at: string;
  currency: 'USD';
  lines: SupplierLine[];
}

export interface SupplierLine {
  line_no: number;
  sku: string;
  /** Units ordered, in `uom`. */
  qty_ordered: number;
  /** On an ASN: units actually shipped (short-shipments show here). */
  qty_shipped?: number;
  /** `EA` each, `CS` case of `case_pack` eaches. */
  uom: 'EA' | 'CS';
  case_pack: number;
  /** Price per `uom` unit, in `currency`. */
  unit_cost: number;
}

/** A storefront order event. `order.placed` reserves stock, `order.fulfilled` ships it, `order.cancelled` releases it. */
export interface SalesOrderEvent {
  event: 'order.placed' | 'order.fulfilled' | 'order.cancelled';
  /** Unique per event (an order has up to three). */
  eventId: string;
  orderId: string;
  /** Epoch milliseconds. */
  occurredAt: number;
  channel: 'web' | 'app' | 'marketplace';
  customerId: string;
  /** Warehouse code that fulfils the order. */
  fulfillmentCenter: string;
  items: Array<{ sku: string; quantity: number; unitPrice: number }>;
  currency: 'USD';
}

/**
 * A warehouse-management log row. Quantities are eaches (`UOM: 'EA'`) unless `UOM` is `CS`.
 * `RCV` receipt against an ASN (`REF_DOC`), `ADJ` signed adjustment with `REASON`, `CC` cycle count
 * (`QTY` is the counted quantity; the stream opens with one `CC` per SKU × warehouse with
 * `REASON: 'OPENING_BALANCE'`, the go-live snapshot), `RTN` customer return back to stock, `DMG` damaged
 * units written off (`QTY` negative).
 */
export interface InventoryLogRow {
  LOG_ID: string;
  TXN: 'RCV' | 'ADJ' | 'CC' | 'RTN' | 'DMG';
  ITEM_NO: string;
  /** Warehouse code. */
  LOC: string;
  QTY: number;
  UOM: 'EA' | 'CS';
  /** `YYYY-MM-DD HH:MM:SS`, UTC, no zone designator (the WMS's own format). */
  TXN_TIME: string;
  REF_DOC?: string;
  REASON?: string;
  USER_ID: string;
}

export type RawInventoryRecord = SupplierRecord | SalesOrderEvent | InventoryLogRow;

/** The names of the labelled anomaly types, as they appear in labels files. */
export const ANOMALY_TYPES = [
  'shrinkage',
  'phantom_stock',
  'sales_spike',
  'data_entry_error',
  'supplier_short_shipment',
  'supplier_price_anomaly',
  'stuck_feed',
  'negative_stock',
] as const;

export type AnomalyType = (typeof ANOMALY_TYPES)[number];

/** One line of `labels.ndjson`: an injected anomaly, the events that carry it and its time window. */
export interface AnomalyLabel {
  id: string;
  type: AnomalyType;
  sku: string;
  warehouse: string;
  /** Window in which a detector should raise it: ISO-8601 UTC, inclusive. */
  start: string;
  end: string;
  /** Ids (`doc_id`, `eventId` or `LOG_ID`) of the raw events that carry the anomaly. */
  eventIds: string[];
  /** A sentence on what was injected, for people reading the labels. */
  description: string;
}
