/**
 * The zod schemas of record for the three raw kinds, and the formatting of their failures into a
 * dead letter's reason. They validate exactly the fields an `InventoryEvent` is built from; other
 * fields (`supplier.name`, `expected_at`, `USER_ID`, anything an upstream adds later) are ignored, so
 * that a field nobody reads cannot dead-letter a record.
 *
 * Rules shared by all three:
 * - quantities are finite integers with |q| ≤ 1e9 (`1e999` parses to `Infinity` and fails here);
 * - money is a finite number from 0 to 1e9;
 * - times parse strictly (no day rollover: `2026-02-30` fails) and lie in the years 2000–2100;
 * - strings are non-empty, within the lengths of `limits.ts` (SKU 128, warehouse 64, any other text
 *   128 characters) and well-formed Unicode without control or bidirectional-control characters; an
 *   optional field may be absent or `null` (both mean "not given").
 *
 * @module
 */
import { z } from 'zod';
import { STOREFRONT_EVENTS, SUPPLIER_RECORD_TYPES, WMS_TRANSACTIONS } from './aliases.js';
import {
  MAX_QUANTITY,
  MAX_SKU_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_WAREHOUSE_LENGTH,
  unsafeTextReason,
} from './limits.js';

export { MAX_QUANTITY };

/**
 * The event-time window accepted: from 2000-01-01T00:00:00Z (inclusive) to 2101-01-01T00:00:00Z
 * (exclusive), i.e. the years 2000 through 2100. Outside it a time is a unit bug (seconds for
 * milliseconds) or junk, not an event.
 *
 * @example
 * ```ts
 * const ok = t >= MIN_EVENT_TIME && t < MAX_EVENT_TIME;
 * ```
 */
export const MIN_EVENT_TIME = Date.UTC(2000, 0, 1);
/**
 * The end (exclusive) of the event-time window; see {@link MIN_EVENT_TIME}.
 *
 * @example
 * ```ts
 * const ok = t >= MIN_EVENT_TIME && t < MAX_EVENT_TIME;
 * ```
 */
export const MAX_EVENT_TIME = Date.UTC(2101, 0, 1);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Epoch ms of validated calendar fields, or undefined when a field is out of its range. */
function utcMillis(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  fraction: string | undefined,
): number | undefined {
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return undefined;
  const dim = mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo - 1];
  if (d < 1 || d > dim) return undefined;
  // Sub-millisecond digits are dropped (truncated), as Date.parse does.
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

function inWindow(t: number | undefined): number | undefined {
  return t !== undefined && t >= MIN_EVENT_TIME && t < MAX_EVENT_TIME ? t : undefined;
}

const ISO_ZONED =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Parses an ISO-8601 date-time that names its zone (`Z` or `±hh:mm`), e.g. `2026-01-03T10:15:00.000Z`,
 * into epoch ms; undefined when it is malformed, names an impossible date, or lies outside
 * [{@link MIN_EVENT_TIME}, {@link MAX_EVENT_TIME}). A time without a zone is refused: it would be read
 * in the machine's zone.
 *
 * @example
 * ```ts
 * parseIsoTime('2026-01-03T10:15:00.000Z'); // 1767435300000
 * parseIsoTime('2026-02-30T00:00:00Z'); // undefined
 * ```
 */
export function parseIsoTime(s: string): number | undefined {
  const m = ISO_ZONED.exec(s);
  if (m === null) return undefined;
  const t = utcMillis(+m[1], +m[2], +m[3], +m[4], +m[5], m[6] === undefined ? 0 : +m[6], m[7]);
  if (t === undefined) return undefined;
  if (m[8] === 'Z') return inWindow(t);
  const oh = +m[10];
  const om = +m[11];
  if (oh > 23 || om > 59) return undefined;
  const offset = (oh * 60 + om) * 60_000;
  return inWindow(m[9] === '+' ? t - offset : t + offset);
}

const WMS_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?$/;

/**
 * Parses the WMS's `YYYY-MM-DD HH:MM:SS` (no zone designator: the WMS writes UTC) into epoch ms; also
 * accepts a `T` for the space, fractional seconds and a trailing `Z`. Undefined when malformed,
 * impossible or outside the event-time window.
 *
 * @example
 * ```ts
 * parseWmsTime('2026-01-05 09:00:00'); // Date.UTC(2026, 0, 5, 9)
 * ```
 */
export function parseWmsTime(s: string): number | undefined {
  const m = WMS_TIME.exec(s);
  if (m === null) return undefined;
  return inWindow(utcMillis(+m[1], +m[2], +m[3], +m[4], +m[5], +m[6], m[7]));
}

// ---- field schemas ---------------------------------------------------------------------------------

const FINITE = 'expected a finite number';
const TEXT = 'expected a non-empty string';

/**
 * A non-empty string of at most `max` characters that is safe as a key (see `limits.ts`): every text
 * field is an id, a key or a label somewhere downstream.
 */
function boundedText(max: number): z.ZodString {
  return z
    .string({ error: TEXT })
    .min(1, { error: TEXT })
    .max(max, { error: (iss) => `expected at most ${max} characters, got ${(iss.input as string).length}` })
    .check((ctx) => {
      const reason = unsafeTextReason(ctx.value);
      if (reason !== undefined) ctx.issues.push({ code: 'custom', input: ctx.value, message: reason });
    });
}

const text = boundedText(MAX_TEXT_LENGTH);
const sku = boundedText(MAX_SKU_LENGTH);
const warehouse = boundedText(MAX_WAREHOUSE_LENGTH);
/** Absent, `null` (upstreams write it for "none") or a non-empty string; `null` reads as absent. */
const optionalText = text.nullish();

function integer(min: number, max: number): z.ZodNumber {
  const range = `expected an integer from ${min === -MAX_QUANTITY ? '-1e9' : min} to ${max === MAX_QUANTITY ? '1e9' : max}`;
  return z
    .number({ error: FINITE })
    .int({ error: range })
    .min(min, { error: range })
    .max(max, { error: range });
}

const signedQuantity = integer(-MAX_QUANTITY, MAX_QUANTITY);
const countQuantity = integer(0, MAX_QUANTITY);
const positiveQuantity = integer(1, MAX_QUANTITY);
const money = z
  .number({ error: FINITE })
  .min(0, { error: 'expected an amount from 0 to 1e9' })
  .max(MAX_QUANTITY, { error: 'expected an amount from 0 to 1e9' });

const epochOrIsoTime = z
  .union([z.number(), z.string()], { error: 'expected epoch milliseconds or an ISO-8601 time' })
  .transform((v, ctx) => {
    const t = typeof v === 'number' ? inWindow(v) : parseIsoTime(v);
    if (t === undefined) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        message:
          typeof v === 'number'
            ? 'expected epoch milliseconds in the years 2000–2100'
            : 'expected an ISO-8601 time with a zone, in the years 2000–2100',
      });
      return z.NEVER;
    }
    return t;
  });

const isoTime = z.string({ error: 'expected an ISO-8601 time string' }).transform((v, ctx) => {
  const t = parseIsoTime(v);
  if (t === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: v,
      message: 'expected an ISO-8601 time with a zone, in the years 2000–2100',
    });
    return z.NEVER;
  }
  return t;
});

const wmsTime = z.string({ error: 'expected a time string' }).transform((v, ctx) => {
  const t = parseWmsTime(v);
  if (t === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: v,
      message: 'expected YYYY-MM-DD HH:MM:SS (UTC) in the years 2000–2100',
    });
    return z.NEVER;
  }
  return t;
});

function oneOf(values: Iterable<string>): z.ZodEnum<Record<string, string>> {
  const list = [...values];
  return z.enum(list as [string, ...string[]], { error: `expected one of ${list.join(', ')}` });
}

const unitOfMeasure = z.enum(['EA', 'CS'], { error: 'expected EA or CS' });

// ---- record schemas --------------------------------------------------------------------------------

/**
 * A storefront order event (`event` canonical or alias). `occurredAt` comes out as epoch ms whichever
 * form it came in.
 *
 * @example
 * ```ts
 * const r = salesOrderEventSchema.safeParse(JSON.parse(line));
 * if (r.success) console.log(r.data.items.length);
 * ```
 */
export const salesOrderEventSchema = z.object({
  event: oneOf(STOREFRONT_EVENTS.keys()),
  eventId: text,
  orderId: text,
  occurredAt: epochOrIsoTime,
  channel: optionalText,
  customerId: optionalText,
  fulfillmentCenter: warehouse,
  items: z
    .array(z.object({ sku, quantity: positiveQuantity, unitPrice: money }, { error: 'expected an object' }), {
      error: 'expected an array of items',
    })
    .min(1, { error: 'expected at least one item' }),
  currency: optionalText,
});

/**
 * A validated storefront event, as its schema outputs it (times as epoch ms).
 *
 * @example
 * ```ts
 * const r: SalesOrderEventData = salesOrderEventSchema.parse(value);
 * ```
 */
export type SalesOrderEventData = z.output<typeof salesOrderEventSchema>;

const supplierLine = z.object(
  {
    line_no: positiveQuantity,
    sku,
    qty_ordered: countQuantity,
    /** Required on an ASN (checked on the record, which knows its type). */
    qty_shipped: countQuantity.nullish(),
    uom: unitOfMeasure,
    case_pack: positiveQuantity,
    unit_cost: money,
  },
  { error: 'expected an object' },
);

/**
 * A supplier PO or ASN (`record_type` canonical or alias). Beyond the field rules: line numbers are
 * unique within the document (they make the event ids), every ASN line states `qty_shipped`, and
 * quantities stay within 1e9 once cases are multiplied out.
 *
 * @example
 * ```ts
 * const r = supplierRecordSchema.safeParse(JSON.parse(line));
 * if (r.success) console.log(r.data.doc_id, r.data.lines.length);
 * ```
 */
export const supplierRecordSchema = z
  .object({
    record_type: oneOf(SUPPLIER_RECORD_TYPES.keys()),
    doc_id: text,
    po_ref: optionalText,
    supplier: z.object({ id: text }, { error: 'expected an object with an id' }),
    ship_to: warehouse,
    issued_at: isoTime,
    currency: optionalText,
    lines: z
      .array(supplierLine, { error: 'expected an array of lines' })
      .min(1, { error: 'expected at least one line' }),
  })
  .superRefine((r, ctx) => {
    const asn = SUPPLIER_RECORD_TYPES.get(r.record_type) === 'ASN';
    const lineNos = new Set<number>();
    r.lines.forEach((l, i) => {
      if (lineNos.has(l.line_no)) {
        ctx.addIssue({ code: 'custom', path: ['lines', i, 'line_no'], message: 'duplicate line number' });
      }
      lineNos.add(l.line_no);
      const pack = l.uom === 'CS' ? l.case_pack : 1;
      if (asn && (l.qty_shipped === undefined || l.qty_shipped === null)) {
        ctx.addIssue({ code: 'custom', path: ['lines', i, 'qty_shipped'], message: 'required on an ASN' });
      }
      for (const f of ['qty_ordered', 'qty_shipped'] as const) {
        const q = l[f];
        // A quantity already over 1e9 has its own issue; this one is about the multiplication.
        if (typeof q === 'number' && q <= MAX_QUANTITY && q * pack > MAX_QUANTITY) {
          ctx.addIssue({
            code: 'custom',
            path: ['lines', i, f],
            message: `${q} cases of ${pack} exceed 1e9 eaches`,
          });
        }
      }
    });
  });

/**
 * A validated supplier record, as its schema outputs it (times as epoch ms).
 *
 * @example
 * ```ts
 * const r: SupplierRecordData = supplierRecordSchema.parse(value);
 * ```
 */
export type SupplierRecordData = z.output<typeof supplierRecordSchema>;

/**
 * A WMS log row, with aliased fields already moved to `ITEM_NO`/`LOC` (see `canonicalizeWmsRow`).
 * `QTY` is signed (ADJ, CC, and DMG which the WMS writes negative); receipts and returns must not be
 * negative, since their events add `quantity` to stock.
 *
 * @example
 * ```ts
 * const r = inventoryLogRowSchema.safeParse(canonicalizeWmsRow(JSON.parse(line)).row);
 * ```
 */
export const inventoryLogRowSchema = z
  .object({
    LOG_ID: text,
    TXN: oneOf(WMS_TRANSACTIONS.keys()),
    ITEM_NO: sku,
    LOC: warehouse,
    QTY: signedQuantity,
    UOM: unitOfMeasure,
    TXN_TIME: wmsTime,
    REF_DOC: optionalText,
    REASON: optionalText,
  })
  .superRefine((r, ctx) => {
    const kind = WMS_TRANSACTIONS.get(r.TXN);
    if ((kind === 'receipt' || kind === 'return') && r.QTY < 0) {
      ctx.addIssue({ code: 'custom', path: ['QTY'], message: `expected a quantity ≥ 0 for ${r.TXN}` });
    }
  });

/**
 * A validated WMS row, as its schema outputs it (times as epoch ms).
 *
 * @example
 * ```ts
 * const r: InventoryLogRowData = inventoryLogRowSchema.parse(value);
 * ```
 */
export type InventoryLogRowData = z.output<typeof inventoryLogRowSchema>;

// ---- the fast path ---------------------------------------------------------------------------------

/**
 * The three schemas compiled by zod's own ahead-of-time compiler (`z.compile`, zod ≥ 4.6): a generated
 * parser runs first and answers valid records about 9× faster than the interpreter; anything it does
 * not accept is handed to the interpreter, which then decides and writes the issues. So the schemas
 * above stay the one definition of what is valid, and reasons are unchanged. `normalize.test.ts`
 * checks by property that each compiled schema gives exactly the interpreter's result (success,
 * output and issues) on valid, mutated and arbitrary input.
 *
 * @example
 * ```ts
 * const r = compiledSchemas.storefront.safeParse(JSON.parse(line));
 * ```
 */
export const compiledSchemas = {
  storefront: z.compile(salesOrderEventSchema),
  supplier: z.compile(supplierRecordSchema),
  wms: z.compile(inventoryLogRowSchema),
} as const;

// ---- failure reasons -------------------------------------------------------------------------------

/**
 * A value as a reason quotes it: strings JSON-quoted and cut at 60 characters, numbers as JavaScript
 * prints them (so `1e999` reads `Infinity`, not JSON's `null`), containers by their kind.
 *
 * @example
 * ```ts
 * describeValue('n/a'); // '"n/a"'
 * describeValue(undefined); // 'nothing'
 * ```
 */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function formatPath(path: readonly PropertyKey[], renamed: Readonly<Record<string, string>>): string {
  let out = '';
  path.forEach((k, i) => {
    if (typeof k === 'number') out += `[${k}]`;
    else {
      const name = i === 0 && typeof k === 'string' && Object.hasOwn(renamed, k) ? renamed[k] : String(k);
      out += out === '' ? name : `.${name}`;
    }
  });
  return out === '' ? '(record)' : out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || typeof k === 'symbol') return undefined;
    if (!Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

const MAX_ISSUES = 3;

/**
 * Turns zod issues into a dead letter's reason: each names the field path (as the upstream spelled
 * it, via `renamed`) and the bad value, e.g. `items[0].quantity: expected a finite number, got "n/a"`.
 * At most three issues are spelled out; the rest are counted.
 *
 * @example
 * ```ts
 * const r = salesOrderEventSchema.safeParse(value);
 * if (!r.success) console.log(formatIssues(r.error.issues, value));
 * ```
 */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  renamed: Readonly<Record<string, string>> = {},
): string {
  const parts = issues
    .slice(0, MAX_ISSUES)
    .map(
      (iss) =>
        `${formatPath(iss.path, renamed)}: ${iss.message}, got ${describeValue(valueAt(input, iss.path))}`,
    );
  if (issues.length > MAX_ISSUES) parts.push(`(+${issues.length - MAX_ISSUES} more)`);
  return parts.length > 0 ? parts.join('; ') : 'invalid record';
}
