/**
 * Reading and rewriting the fields the campaign varies (id, event time, SKU, warehouse) on a record of
 * any of the three wire formats (`datasets/generator/wire-formats.ts`), so that a hostile variant can
 * be made of whatever valid record stands at a point of the stream.
 */

/**
 * A parsed wire record (one of the three formats, or anything else a line held).
 *
 * @example
 * ```ts
 * const r: WireRecord = JSON.parse(line) as WireRecord;
 * ```
 */
export type WireRecord = Record<string, unknown>;

/**
 * The three upstream formats, by their discriminator.
 *
 * @example
 * ```ts
 * const family: Family = familyOf(record) ?? 'wms';
 * ```
 */
export type Family = 'supplier' | 'storefront' | 'wms';

/**
 * The format of a parsed record, or undefined for anything else (junk, a malformed generator line).
 *
 * @example
 * ```ts
 * familyOf({ TXN: 'CC', LOG_ID: 'W-1' }); // 'wms'
 * ```
 */
export function familyOf(r: unknown): Family | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return undefined;
  const o = r as WireRecord;
  if (typeof o.TXN === 'string' && typeof o.TXN_TIME === 'string') return 'wms';
  if (typeof o.event === 'string' && typeof o.occurredAt === 'number' && Array.isArray(o.items))
    return 'storefront';
  if (typeof o.record_type === 'string' && typeof o.issued_at === 'string' && Array.isArray(o.lines))
    return 'supplier';
  return undefined;
}

/** The first line (item) of a record with lines: where its SKU lives. */
const firstLine = (r: WireRecord): Record<string, unknown> =>
  ((r.items ?? r.lines) as Array<Record<string, unknown>>)[0];

/**
 * The event time of a valid record, epoch ms.
 *
 * @example
 * ```ts
 * eventTime({ TXN: 'CC', TXN_TIME: '2026-01-05 00:00:00' }, 'wms'); // 1767571200000
 * ```
 */
export function eventTime(r: WireRecord, family: Family): number {
  if (family === 'wms') return Date.parse(`${String(r.TXN_TIME).replace(' ', 'T')}Z`);
  if (family === 'storefront') return r.occurredAt as number;
  return Date.parse(String(r.issued_at));
}

/**
 * Rewrites the event time, in the format's own notation.
 *
 * @example
 * ```ts
 * setEventTime(row, 'wms', Date.UTC(2099, 0, 1)); // TXN_TIME '2099-01-01 00:00:00'
 * ```
 */
export function setEventTime(r: WireRecord, family: Family, t: number): void {
  const iso = new Date(t).toISOString();
  if (family === 'wms') r.TXN_TIME = iso.replace('T', ' ').slice(0, 19);
  else if (family === 'storefront') r.occurredAt = t;
  else r.issued_at = iso;
}

/**
 * Rewrites the record's own id (`LOG_ID`, `eventId`, `doc_id`).
 *
 * @example
 * ```ts
 * setRecordId(order, 'storefront', 'CHAOS-7');
 * ```
 */
export function setRecordId(r: WireRecord, family: Family, id: string): void {
  if (family === 'wms') r.LOG_ID = id;
  else if (family === 'storefront') r.eventId = id;
  else r.doc_id = id;
}

/**
 * Rewrites the SKU (of the first line, for orders and supplier documents).
 *
 * @example
 * ```ts
 * setSku(row, 'wms', 'S'.repeat(129));
 * ```
 */
export function setSku(r: WireRecord, family: Family, sku: string): void {
  if (family === 'wms') r.ITEM_NO = sku;
  else firstLine(r).sku = sku;
}

/**
 * The SKU and warehouse of a valid record's (first) event.
 *
 * @example
 * ```ts
 * seriesOf(row, 'wms'); // { sku: 'SKU-00014', warehouse: 'WH-EAST' }
 * ```
 */
export function seriesOf(r: WireRecord, family: Family): { sku: string; warehouse: string } {
  if (family === 'wms') return { sku: String(r.ITEM_NO), warehouse: String(r.LOC) };
  const warehouse = family === 'storefront' ? r.fulfillmentCenter : r.ship_to;
  return { sku: String(firstLine(r).sku), warehouse: String(warehouse) };
}

/** Sets `key` of the record (or of its first line) to what `to` makes of the old value. */
const field =
  (key: string, to: (old: unknown) => unknown, onLine = false) =>
  (r: WireRecord): void => {
    const target = onLine ? firstLine(r) : r;
    target[key] = to(target[key]);
  };

/** Per format: ways to give a field the wrong type, named. */
const WRONG_TYPES: Record<Family, Array<[string, (r: WireRecord) => void]>> = {
  wms: [
    ['QTY as text', field('QTY', String)],
    ['TXN_TIME as a number', field('TXN_TIME', () => 20260105)],
    ['LOC as an object', field('LOC', (code) => ({ code }))],
  ],
  storefront: [
    ['occurredAt as words', field('occurredAt', () => 'yesterday')],
    ['items as text', field('items', () => 'two boxes')],
    ['quantity as a boolean', field('quantity', () => true, true)],
  ],
  supplier: [
    ['issued_at as a number', field('issued_at', () => 1767571200)],
    ['lines as an object', field('lines', (lines) => ({ ...(lines as object) }))],
    ['qty_ordered as text', field('qty_ordered', () => 'ten', true)],
  ],
};

/**
 * Makes a field the wrong type: a quantity as text, a time as words, a list as an object; returns
 * which.
 *
 * @example
 * ```ts
 * breakType(row, 'wms', 0); // 'QTY as text': QTY '12'
 * ```
 */
export function breakType(r: WireRecord, family: Family, variant: number): string {
  const choices = WRONG_TYPES[family];
  const [what, apply] = choices[variant % choices.length];
  apply(r);
  return what;
}
