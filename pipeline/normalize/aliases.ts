/**
 * How a raw record's kind is told, and the spellings accepted besides the generator's own. Upstreams
 * drift (a new storefront release says `order.created`, a second WMS exports `SKU` instead of
 * `ITEM_NO`); each alias here is one such spelling we map rather than dead-letter.
 *
 * | upstream | what | canonical | also accepted |
 * |---|---|---|---|
 * | storefront | `event` | `order.placed` | `order.created` |
 * | storefront | `event` | `order.fulfilled` | `order.shipped` |
 * | storefront | `event` | `order.cancelled` | `order.canceled` |
 * | storefront | `occurredAt` | epoch milliseconds | an ISO-8601 string with `Z` or an offset |
 * | supplier | `record_type` | `PO`, `ASN` | `po`, `asn` |
 * | WMS | `TXN` | `RCV`, `ADJ`, `CC`, `RTN`, `DMG` | `RECEIPT`, `ADJUSTMENT`, `CYCLE_COUNT`, `RETURN`, `DAMAGE` |
 * | WMS | field `ITEM_NO` | `ITEM_NO` | `SKU`, `ITEM` |
 * | WMS | field `LOC` | `LOC` | `SITE`, `WAREHOUSE` |
 * | WMS | `TXN_TIME` | `YYYY-MM-DD HH:MM:SS` (UTC) | `T` for the space, fractional seconds, a trailing `Z` |
 *
 * When a record carries both the canonical field and an alias, the canonical one wins and the alias is
 * ignored like any other extra field.
 */
import type { InventoryEventKind } from '../events.js';

/**
 * The three upstream families a raw record can belong to (the `source` of its events).
 *
 * @example
 * ```ts
 * const family: RecordFamily = 'wms';
 * ```
 */
export type RecordFamily = 'supplier' | 'storefront' | 'wms';

/**
 * Storefront `event` values and the event kind each maps to (canonical names and aliases).
 *
 * @example
 * ```ts
 * STOREFRONT_EVENTS.get('order.shipped'); // 'sale_fulfilled'
 * ```
 */
export const STOREFRONT_EVENTS: ReadonlyMap<string, InventoryEventKind> = new Map<string, InventoryEventKind>(
  [
    ['order.placed', 'sale_placed'],
    ['order.created', 'sale_placed'],
    ['order.fulfilled', 'sale_fulfilled'],
    ['order.shipped', 'sale_fulfilled'],
    ['order.cancelled', 'sale_cancelled'],
    ['order.canceled', 'sale_cancelled'],
  ],
);

/**
 * Supplier `record_type` values and the document type each means.
 *
 * @example
 * ```ts
 * SUPPLIER_RECORD_TYPES.get('asn'); // 'ASN'
 * ```
 */
export const SUPPLIER_RECORD_TYPES: ReadonlyMap<string, 'PO' | 'ASN'> = new Map<string, 'PO' | 'ASN'>([
  ['PO', 'PO'],
  ['ASN', 'ASN'],
  ['po', 'PO'],
  ['asn', 'ASN'],
]);

/**
 * WMS `TXN` codes (short and long) and the event kind each maps to.
 *
 * @example
 * ```ts
 * WMS_TRANSACTIONS.get('DAMAGE'); // 'damage'
 * ```
 */
export const WMS_TRANSACTIONS: ReadonlyMap<string, InventoryEventKind> = new Map<string, InventoryEventKind>([
  ['RCV', 'receipt'],
  ['RECEIPT', 'receipt'],
  ['ADJ', 'adjustment'],
  ['ADJUSTMENT', 'adjustment'],
  ['CC', 'cycle_count'],
  ['CYCLE_COUNT', 'cycle_count'],
  ['RTN', 'return'],
  ['RETURN', 'return'],
  ['DMG', 'damage'],
  ['DAMAGE', 'damage'],
]);

/**
 * WMS field names accepted for a canonical field, in order of preference after the canonical one.
 *
 * @example
 * ```ts
 * WMS_FIELD_ALIASES.ITEM_NO; // ['SKU', 'ITEM']
 * ```
 */
export const WMS_FIELD_ALIASES: Readonly<Record<'ITEM_NO' | 'LOC', readonly string[]>> = {
  ITEM_NO: ['SKU', 'ITEM'],
  LOC: ['SITE', 'WAREHOUSE'],
};

/**
 * A WMS row with its aliased fields under their canonical names, and which alias each came from (so
 * that an error can name the field the upstream actually sent).
 *
 * @example
 * ```ts
 * const { row, renamed }: CanonicalWmsRow = canonicalizeWmsRow(raw);
 * ```
 */
export interface CanonicalWmsRow {
  row: Record<string, unknown>;
  /** Canonical field name → the alias it was read from, for the fields that were aliased. */
  renamed: Record<string, string>;
}

const NO_RENAMES: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Moves aliased WMS fields to their canonical names. The row is returned as is (no copy) when it
 * already uses the canonical names, which is the hot path.
 *
 * @example
 * ```ts
 * canonicalizeWmsRow({ LOG_ID: 'WMS-1', SKU: 'SKU-1', SITE: 'WH-EAST' }).row;
 * // { LOG_ID: 'WMS-1', SKU: 'SKU-1', SITE: 'WH-EAST', ITEM_NO: 'SKU-1', LOC: 'WH-EAST' }
 * ```
 */
export function canonicalizeWmsRow(raw: Record<string, unknown>): CanonicalWmsRow {
  let row = raw;
  let renamed = NO_RENAMES;
  for (const canonical of ['ITEM_NO', 'LOC'] as const) {
    if (Object.hasOwn(raw, canonical)) continue;
    for (const alias of WMS_FIELD_ALIASES[canonical]) {
      if (!Object.hasOwn(raw, alias)) continue;
      if (row === raw) {
        row = { ...raw };
        renamed = {};
      }
      row[canonical] = raw[alias];
      renamed[canonical] = alias;
      break;
    }
  }
  return { row, renamed };
}

/**
 * The outcome of {@link detectFamily}: a family, or why none fits.
 *
 * @example
 * ```ts
 * const d: FamilyDetection = detectFamily(obj);
 * if (!d.ok) console.log(d.reason);
 * ```
 */
export type FamilyDetection = { ok: true; family: RecordFamily } | { ok: false; reason: string };

const DISCRIMINATORS: ReadonlyArray<{
  field: string;
  family: RecordFamily;
  values: ReadonlyMap<string, unknown>;
  what: string;
}> = [
  { field: 'record_type', family: 'supplier', values: SUPPLIER_RECORD_TYPES, what: 'supplier record type' },
  { field: 'event', family: 'storefront', values: STOREFRONT_EVENTS, what: 'storefront event' },
  { field: 'TXN', family: 'wms', values: WMS_TRANSACTIONS, what: 'WMS transaction' },
];

const MAX_FIELDS_LISTED = 20;

function fieldsSeen(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj);
  if (keys.length === 0) return 'none';
  const listed = keys.slice(0, MAX_FIELDS_LISTED).map((k) => (k.length > 40 ? `${k.slice(0, 40)}…` : k));
  const more = keys.length > MAX_FIELDS_LISTED ? ` (+${keys.length - MAX_FIELDS_LISTED} more)` : '';
  return listed.join(', ') + more;
}

function shortValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/**
 * Tells a parsed JSON object's upstream family by its discriminator: `record_type` (supplier),
 * `event` (storefront) or `TXN` (WMS), checked in that order; the first whose value is a known one
 * (canonical or alias) decides. A discriminator with an unknown value (say `event: 'order.refunded'`)
 * does not decide: a kind we do not know is `unknown_kind`, not a broken record of a known kind.
 *
 * @example
 * ```ts
 * detectFamily({ TXN: 'DMG', LOG_ID: 'WMS-1' }); // { ok: true, family: 'wms' }
 * detectFamily({ heartbeat: true }); // { ok: false, reason: 'no record_type, event or TXN …; fields seen: heartbeat' }
 * ```
 */
export function detectFamily(obj: Record<string, unknown>): FamilyDetection {
  for (const d of DISCRIMINATORS) {
    const v = obj[d.field];
    if (typeof v === 'string' && d.values.has(v) && Object.hasOwn(obj, d.field)) {
      return { ok: true, family: d.family };
    }
  }
  const present = DISCRIMINATORS.filter((d) => Object.hasOwn(obj, d.field));
  const head =
    present.length === 0
      ? 'no record_type (supplier), event (storefront) or TXN (WMS) field'
      : present
          .map(
            (d) =>
              `${d.field} ${shortValue(obj[d.field])} is not a known ${d.what} (${[...d.values.keys()].join(', ')})`,
          )
          .join('; ');
  return { ok: false, reason: `${head}; fields seen: ${fieldsSeen(obj)}` };
}
