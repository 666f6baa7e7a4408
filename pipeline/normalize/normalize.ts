/**
 * Normalization: one raw stream record in, its `InventoryEvent`s (or one dead letter) out.
 * It is the trust boundary: what passes is within the limits of `limits.ts` (one table for every
 * store), so nothing downstream has to distrust an event. Steps, each with the dead-letter code it
 * fails with:
 * 1. size: at most {@link MAX_RECORD_BYTES} (`too_large`);
 * 2. strict UTF-8 decode (`invalid_utf8`);
 * 3. `JSON.parse` (`invalid_json`, with the parser's message);
 * 4. the upstream family from its discriminator, see {@link detectFamily} (`unknown_kind`, listing the
 *    fields seen);
 * 5. the family's zod schema (`schema`, naming the field path and the bad value: lengths, characters,
 *    ranges), run through zod's compiled fast path (see `compiledSchemas`);
 * 6. mapping to events, one per line/item, with ids namespaced by source ({@link eventIdOf});
 * 7. event time at most `maxFutureSkewMs` after the record reached the stream (`future_event`).
 *
 * The other side of the event-time window (not older than the shard's duplicate window) needs the
 * shard's clock, which the engine holds: it dead-letters such records as `expired_event`.
 *
 * Mapping decisions worth knowing:
 * - **ASN → PO link**: an ASN event's `documentId` is the ASN's `doc_id` (the id WMS receipts cite in
 *   `REF_DOC`); the purchase order it ships (`po_ref`) goes in `reason`, verbatim (e.g. `PO-0000001`),
 *   because `InventoryEvent` has no field of its own for it.
 * - **Supplier lines** report `casePack` and `unitOfMeasure` (`uom`) as the supplier states them;
 *   quantities are eaches (`qty × case_pack` for `CS`), `unitCost` is per each (`unit_cost / case_pack`
 *   for `CS`, unrounded).
 * - **WMS rows in cases** (`UOM: 'CS'`): when `casePack(sku)` knows the pack, `quantity` is multiplied
 *   out and the event carries `casePack` (the pack used) and `unitOfMeasure: 'CS'`. When it does not,
 *   the row is NOT dead-lettered: `quantity` keeps the number as keyed, and the event has
 *   `unitOfMeasure: 'CS'` with no `casePack`. That pair is the marker of an unconverted case quantity,
 *   for downstream to treat with suspicion (it is how a data-entry error of cases-for-eaches looks).
 * - **WMS signs**: `DMG` quantities are made positive (`|QTY|`: the WMS writes write-offs negative),
 *   `ADJ` and `CC` keep their sign, `RCV`/`RTN` must be ≥ 0.
 * - Optional fields absent or `null` upstream are left off the event (never set to `undefined`), and a
 *   JSON `-0` comes out as `0` (`+ 0` below).
 *
 * One more code exists for safety: `internal`, when something throws that should not (a `casePack`
 * lookup that throws); the record is kept rather than the shard stopped.
 */
import { eventIdOf, type InventoryEvent, type InventoryEventKind } from '../events.js';
import type { StreamRecord } from '../lifecycle.js';
import { type DeadLetter, deadLetterOf } from '../ports.js';
import {
  canonicalizeWmsRow,
  detectFamily,
  STOREFRONT_EVENTS,
  SUPPLIER_RECORD_TYPES,
  WMS_TRANSACTIONS,
} from './aliases.js';
import { DEFAULT_MAX_FUTURE_SKEW_MS, MAX_RECORD_BYTES } from './limits.js';
import {
  compiledSchemas,
  formatIssues,
  type InventoryLogRowData,
  MAX_QUANTITY,
  type SalesOrderEventData,
  type SupplierRecordData,
} from './schemas.js';

/**
 * The outcome of normalizing one record: its events (one or more), or the dead letter that keeps it.
 *
 * @example
 * ```ts
 * const r: NormalizeResult = normalizer.normalize(record, shardId);
 * if (r.ok) apply(r.events); else deadLetters.push(r.deadLetter);
 * ```
 */
export type NormalizeResult = { ok: true; events: InventoryEvent[] } | { ok: false; deadLetter: DeadLetter };

/**
 * Options of {@link createNormalizer}.
 *
 * @example
 * ```ts
 * const options: NormalizerOptions = { casePack: (sku) => learnedPacks.get(sku) };
 * ```
 */
export interface NormalizerOptions {
  /**
   * Eaches per case for a SKU, when known (e.g. learned from supplier lines' `casePack`). Used for WMS
   * rows keyed in cases. A result that is not a positive integer counts as unknown. If it throws, the
   * record is dead-lettered with code `internal` rather than converted wrongly.
   */
  casePack?: (sku: string) => number | undefined;
  /**
   * How far an event's time may lie after its record's `approximateArrivalTimestamp` (when the
   * stream took it), ms; default {@link DEFAULT_MAX_FUTURE_SKEW_MS} (15 min). A later time is dead-
   * lettered as `future_event`: it would move the shard's event-time clock forward and make the
   * duplicate window forget. `Infinity` turns the check off (offline replays of labelled data whose
   * records carry no arrival time).
   */
  maxFutureSkewMs?: number;
}

/**
 * Turns raw stream records into inventory events. Stateless apart from its options, so one instance
 * may serve every shard.
 *
 * @example
 * ```ts
 * const normalizer: Normalizer = createNormalizer();
 * ```
 */
export interface Normalizer {
  /**
   * Normalizes one record. Never throws: every failure is a dead letter carrying the record's bytes,
   * position, a `code` and a reason.
   */
  normalize(record: StreamRecord, shardId: string): NormalizeResult;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A span of time for a reason: `12 min`, `3.5 h`, `73 days`. */
function describeSpan(ms: number): string {
  const minutes = ms / 60_000;
  if (minutes < 120) return `${Math.round(minutes)} min`;
  const hours = minutes / 60;
  if (hours < 48) return `${Math.round(hours * 10) / 10} h`;
  return `${Math.round(hours / 24)} days`;
}

function errorMessage(e: unknown): string {
  if (e instanceof Error && e.message) return e.message;
  const s = String(e);
  return s.length > 0 ? s : 'unknown error';
}

/** Where strict decoding failed: the offset and value of the first byte that breaks UTF-8. */
function firstInvalidUtf8(b: Uint8Array): string {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return `byte 0x${c.toString(16).padStart(2, '0')} at offset ${i}`;
    if (i + n >= b.length) return `truncated sequence at offset ${i}`;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if ((cc & 0xc0) !== 0x80) return `byte 0x${cc.toString(16).padStart(2, '0')} at offset ${i + k}`;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return `invalid sequence at offset ${i}`;
    }
    i += n + 1;
  }
  return `${b.length} bytes`;
}

/**
 * Creates a normalizer. See the module documentation for the mapping, and `aliases.ts` for the
 * spellings accepted besides the generator's.
 *
 * @example
 * ```ts
 * const normalizer = createNormalizer({ casePack: (sku) => packs.get(sku) });
 * const r = normalizer.normalize(
 *   { partitionKey: 'k', data: new TextEncoder().encode(line), sequenceNumber: '1', subSequenceNumber: 0,
 *     approximateArrivalTimestamp: Date.now() },
 *   'shardId-000000000000',
 * );
 * if (r.ok) for (const e of r.events) console.log(e.eventId, e.kind, e.quantity);
 * else console.log(r.deadLetter.code, r.deadLetter.reason);
 * ```
 */
export function createNormalizer(options: NormalizerOptions = {}): Normalizer {
  const lookupPack = options.casePack;
  const maxFutureSkewMs = options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS;
  if (!(maxFutureSkewMs >= 0)) throw new RangeError(`maxFutureSkewMs must be ≥ 0, got ${maxFutureSkewMs}`);

  function dead(record: StreamRecord, shardId: string, code: string, reason: string): NormalizeResult {
    return { ok: false, deadLetter: deadLetterOf(record, shardId, code, reason) };
  }

  function sales(r: SalesOrderEventData): InventoryEvent[] {
    const kind = STOREFRONT_EVENTS.get(r.event) as InventoryEventKind;
    const events: InventoryEvent[] = [];
    for (let i = 0; i < r.items.length; i++) {
      const item = r.items[i];
      const e: InventoryEvent = {
        eventId: eventIdOf('storefront', r.eventId, i + 1),
        sourceId: r.eventId,
        source: 'storefront',
        kind,
        sku: item.sku,
        warehouse: r.fulfillmentCenter,
        occurredAt: r.occurredAt,
        quantity: item.quantity,
        unitPrice: item.unitPrice + 0,
        documentId: r.orderId,
      };
      if (r.channel != null) e.channel = r.channel;
      if (r.customerId != null) e.customerId = r.customerId;
      if (r.currency != null) e.currency = r.currency;
      events.push(e);
    }
    return events;
  }

  function supplier(r: SupplierRecordData): InventoryEvent[] {
    const asn = SUPPLIER_RECORD_TYPES.get(r.record_type) === 'ASN';
    const events: InventoryEvent[] = [];
    for (const l of r.lines) {
      const pack = l.uom === 'CS' ? l.case_pack : 1;
      const e: InventoryEvent = {
        eventId: eventIdOf('supplier', r.doc_id, l.line_no),
        sourceId: r.doc_id,
        source: 'supplier',
        kind: asn ? 'asn_issued' : 'po_issued',
        sku: l.sku,
        warehouse: r.ship_to,
        occurredAt: r.issued_at,
        // The schema guarantees qty_shipped on ASN lines.
        quantity: (asn ? (l.qty_shipped as number) : l.qty_ordered) * pack + 0,
        unitCost: l.unit_cost / pack + 0,
        supplierId: r.supplier.id,
        documentId: r.doc_id,
        casePack: l.case_pack,
        unitOfMeasure: l.uom,
      };
      if (asn) {
        e.orderedQuantity = l.qty_ordered * pack + 0;
        if (r.po_ref != null) e.reason = r.po_ref;
      }
      if (r.currency != null) e.currency = r.currency;
      events.push(e);
    }
    return events;
  }

  /** The event, or a reason when a case quantity overflows once multiplied out. */
  function wms(r: InventoryLogRowData): InventoryEvent | string {
    const kind = WMS_TRANSACTIONS.get(r.TXN) as InventoryEventKind;
    let quantity = (kind === 'damage' ? Math.abs(r.QTY) : r.QTY) + 0;
    let pack: number | undefined;
    if (r.UOM === 'CS' && lookupPack !== undefined) {
      const p = lookupPack(r.ITEM_NO);
      if (typeof p === 'number' && Number.isInteger(p) && p >= 1) {
        pack = p;
        quantity *= p;
        if (Math.abs(quantity) > MAX_QUANTITY) {
          return `QTY: expected at most 1e9 eaches once cases of ${p} are multiplied out, got ${r.QTY}`;
        }
      }
    }
    const e: InventoryEvent = {
      eventId: eventIdOf('wms', r.LOG_ID),
      sourceId: r.LOG_ID,
      source: 'wms',
      kind,
      sku: r.ITEM_NO,
      warehouse: r.LOC,
      occurredAt: r.TXN_TIME,
      quantity,
      unitOfMeasure: r.UOM,
    };
    if (pack !== undefined) e.casePack = pack;
    if (r.REF_DOC != null) e.documentId = r.REF_DOC;
    if (r.REASON != null) e.reason = r.REASON;
    return e;
  }

  function normalizeValue(record: StreamRecord, shardId: string, value: unknown): NormalizeResult {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      return dead(record, shardId, 'unknown_kind', `expected a JSON object, got ${what}`);
    }
    const obj = value as Record<string, unknown>;
    const family = detectFamily(obj);
    if (!family.ok) return dead(record, shardId, 'unknown_kind', family.reason);
    switch (family.family) {
      case 'storefront': {
        const r = compiledSchemas.storefront.safeParse(obj);
        if (!r.success) return dead(record, shardId, 'schema', formatIssues(r.error.issues, obj));
        return { ok: true, events: sales(r.data) };
      }
      case 'supplier': {
        const r = compiledSchemas.supplier.safeParse(obj);
        if (!r.success) return dead(record, shardId, 'schema', formatIssues(r.error.issues, obj));
        return { ok: true, events: supplier(r.data) };
      }
      case 'wms': {
        const { row, renamed } = canonicalizeWmsRow(obj);
        const r = compiledSchemas.wms.safeParse(row);
        if (!r.success) return dead(record, shardId, 'schema', formatIssues(r.error.issues, row, renamed));
        const e = wms(r.data);
        if (typeof e === 'string') return dead(record, shardId, 'schema', e);
        return { ok: true, events: [e] };
      }
    }
  }

  return {
    normalize(record: StreamRecord, shardId: string): NormalizeResult {
      try {
        if (record.data.length > MAX_RECORD_BYTES) {
          return dead(
            record,
            shardId,
            'too_large',
            `record of ${record.data.length} bytes exceeds the limit of ${MAX_RECORD_BYTES} bytes`,
          );
        }
        let text: string;
        try {
          text = utf8.decode(record.data);
        } catch {
          return dead(record, shardId, 'invalid_utf8', `not valid UTF-8: ${firstInvalidUtf8(record.data)}`);
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (e) {
          return dead(record, shardId, 'invalid_json', `invalid JSON: ${errorMessage(e)}`);
        }
        const res = normalizeValue(record, shardId, value);
        if (res.ok) {
          // Every event of a record shares its time: one check covers them all.
          const t = res.events[0].occurredAt;
          const limit = record.approximateArrivalTimestamp + maxFutureSkewMs;
          if (t > limit) {
            return dead(
              record,
              shardId,
              'future_event',
              // Said without the arrival time (it is the dead letter's arrivalTimestamp), so that the
              // reason depends on the record alone, whenever it is read.
              `event time ${new Date(t).toISOString()} is more than ${describeSpan(maxFutureSkewMs)} after the record reached the stream (limits.maxFutureSkewMs): a record cannot be put on a stream before it happened`,
            );
          }
        }
        return res;
      } catch (e) {
        // Unreachable for any input we know of; kept so that a bug (or a throwing casePack lookup)
        // dead-letters one record instead of stopping the shard.
        return dead(record, shardId, 'internal', `normalizer failed: ${errorMessage(e)}`);
      }
    },
  };
}
