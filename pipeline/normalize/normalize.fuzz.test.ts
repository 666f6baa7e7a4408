/**
 * Property tests: `normalize` never throws, every failure is a complete dead letter, every success is a
 * well-formed event; and the compiled fast path of each schema answers exactly as the zod interpreter.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { simulateInventory } from '../../datasets/generator/index.js';
import { INVENTORY_EVENT_KINDS, type InventoryEvent } from '../events.js';
import type { StreamRecord } from '../lifecycle.js';
import { canonicalizeWmsRow, detectFamily } from './aliases.js';
import { createNormalizer, type NormalizeResult } from './normalize.js';
import {
  compiledSchemas,
  inventoryLogRowSchema,
  MAX_EVENT_TIME,
  MAX_QUANTITY,
  MIN_EVENT_TIME,
  salesOrderEventSchema,
  supplierRecordSchema,
} from './schemas.js';

const encoder = new TextEncoder();
const normalizer = createNormalizer({ casePack: (sku) => (sku.endsWith('7') ? 6 : undefined) });

function toRecord(data: Uint8Array): StreamRecord {
  return {
    partitionKey: 'p',
    data,
    sequenceNumber: '123',
    subSequenceNumber: 2,
    // After every accepted event time: this test is about the schemas, not the event-time window.
    approximateArrivalTimestamp: MAX_EVENT_TIME,
  };
}

/** Runs normalize and checks the result's invariants; returns it for further checks. */
function check(data: Uint8Array): NormalizeResult {
  let r: NormalizeResult | undefined;
  expect(() => {
    r = normalizer.normalize(toRecord(data), 'shard-f');
  }).not.toThrow();
  const result = r as NormalizeResult;
  if (!result.ok) {
    const d = result.deadLetter;
    expect(d.code.length).toBeGreaterThan(0);
    expect(d.reason.length).toBeGreaterThan(0);
    expect(d.data).toBe(data);
    expect([d.shardId, d.sequenceNumber, d.subSequenceNumber, d.partitionKey, d.arrivalTimestamp]).toEqual([
      'shard-f',
      '123',
      2,
      'p',
      MAX_EVENT_TIME,
    ]);
    expect(['invalid_utf8', 'invalid_json', 'unknown_kind', 'schema']).toContain(d.code);
  } else {
    expect(result.events.length).toBeGreaterThan(0);
    for (const e of result.events) wellFormed(e);
  }
  return result;
}

function nonEmpty(s: unknown): void {
  expect(typeof s === 'string' && s.length > 0).toBe(true);
}

function wellFormed(e: InventoryEvent): void {
  nonEmpty(e.eventId);
  nonEmpty(e.sourceId);
  nonEmpty(e.sku);
  nonEmpty(e.warehouse);
  expect(['supplier', 'storefront', 'wms']).toContain(e.source);
  expect(INVENTORY_EVENT_KINDS).toContain(e.kind);
  expect(e.occurredAt >= MIN_EVENT_TIME && e.occurredAt < MAX_EVENT_TIME).toBe(true);
  expect(Number.isInteger(e.quantity) && Math.abs(e.quantity) <= MAX_QUANTITY).toBe(true);
  if (e.kind !== 'adjustment' && e.kind !== 'cycle_count') expect(e.quantity).toBeGreaterThanOrEqual(0);
  for (const money of [e.unitPrice, e.unitCost]) {
    if (money !== undefined) expect(Number.isFinite(money) && money >= 0).toBe(true);
  }
  if (e.orderedQuantity !== undefined) expect(Number.isInteger(e.orderedQuantity)).toBe(true);
  for (const k of Object.keys(e) as Array<keyof InventoryEvent>) expect(e[k]).not.toBeUndefined();
  for (const v of Object.values(e)) expect(Object.is(v, -0)).toBe(false);
}

// ---- templates: hand records (with aliases) and a slice of a generated stream ---------------------------

const HAND: object[] = [
  {
    event: 'order.created',
    eventId: 'SO-1-P',
    orderId: 'SO-1',
    occurredAt: '2026-01-05T09:30:00+01:00',
    channel: 'app',
    customerId: 'C-1',
    fulfillmentCenter: 'WH-EAST',
    items: [
      { sku: 'SKU-7', quantity: 2, unitPrice: 3.5 },
      { sku: 'SKU-8', quantity: 1, unitPrice: 0 },
    ],
    currency: 'USD',
  },
  {
    record_type: 'asn',
    doc_id: 'ASN-1',
    po_ref: 'PO-1',
    supplier: { id: 'SUP-1', name: 'x' },
    ship_to: 'WH-WEST',
    issued_at: '2026-01-05T09:30:00.000Z',
    lines: [
      { line_no: 1, sku: 'SKU-7', qty_ordered: 3, qty_shipped: 2, uom: 'CS', case_pack: 12, unit_cost: 60 },
      { line_no: 2, sku: 'SKU-8', qty_ordered: 5, qty_shipped: 5, uom: 'EA', case_pack: 4, unit_cost: 1.25 },
    ],
  },
  {
    LOG_ID: 'W-1',
    TXN: 'DAMAGE',
    SKU: 'SKU-7',
    SITE: 'WH-1',
    QTY: -3,
    UOM: 'CS',
    TXN_TIME: '2026-01-05T09:30:00Z',
  },
  {
    LOG_ID: 'W-2',
    TXN: 'CC',
    ITEM: 'SKU-9',
    WAREHOUSE: 'WH-1',
    QTY: -1,
    UOM: 'EA',
    TXN_TIME: '2026-01-05 09:30:00',
    REF_DOC: null,
  },
];

function generatedSample(): object[] {
  const byFamily: Record<string, object[]> = { supplier: [], storefront: [], wms: [] };
  for (const out of simulateInventory({ seed: 11, days: 8, skus: 15, anomalyRate: 0.08, malformedRate: 0 })) {
    if (out.type !== 'record') continue;
    const v = JSON.parse(out.line) as Record<string, unknown>;
    const f = detectFamily(v);
    if (f.ok && byFamily[f.family].length < 60) byFamily[f.family].push(v);
  }
  return [...byFamily.supplier, ...byFamily.storefront, ...byFamily.wms];
}

const TEMPLATES: object[] = [...HAND, ...generatedSample()];
const LINES: string[] = TEMPLATES.map((t) => JSON.stringify(t));

type Path = Array<string | number>;

function paths(v: unknown, prefix: Path = []): Path[] {
  const out: Path[] = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) out.push(...paths(x, [...prefix, i]));
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  }
  return out;
}

const INF = '__fuzz_infinity__';
const MISSING = Symbol('missing');

/** A copy of `template` with the value at `path` replaced (or removed), as JSON text. */
function mutate(template: object, path: Path, value: unknown): string {
  const copy = structuredClone(template) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === MISSING) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = value;
  return JSON.stringify(copy).replaceAll(`"${INF}"`, '1e999');
}

const replacement: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(MISSING),
  fc.constant(null),
  fc.constant(INF),
  fc.constantFrom(
    'n/a',
    'NaN',
    '',
    ' ',
    '-1',
    '2026-01-05 09:30:00',
    '2026-01-05T09:30:00Z',
    'order.placed',
    'CS',
  ),
  fc.constantFrom(
    0,
    -0,
    -1,
    1.5,
    1e9,
    1e9 + 1,
    -1e9 - 1,
    2 ** 53,
    1e308,
    946684799999,
    4133980800000,
    1767605400,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const mutatedLine: fc.Arbitrary<string> = fc
  .nat({ max: TEMPLATES.length - 1 })
  .chain((i) => {
    const template = TEMPLATES[i];
    return fc.tuple(fc.constant(template), fc.constantFrom(...paths(template)), replacement);
  })
  .map(([template, path, value]) => mutate(template, path, value));

/** Objects that carry a discriminator, with arbitrary values under the fields the schemas read. */
const discriminatedObject: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(
      { record_type: 'PO' },
      { record_type: 'asn' },
      { event: 'order.placed' },
      { event: 'order.shipped' },
      { TXN: 'ADJ' },
      { TXN: 'RECEIPT' },
    ),
    fc.dictionary(
      fc.constantFrom(
        ...[
          'doc_id',
          'po_ref',
          'supplier',
          'ship_to',
          'issued_at',
          'lines',
          'currency',
          'eventId',
          'orderId',
        ],
        ...['occurredAt', 'channel', 'customerId', 'fulfillmentCenter', 'items', 'LOG_ID', 'ITEM_NO', 'SKU'],
        ...['LOC', 'SITE', 'QTY', 'UOM', 'TXN_TIME', 'REF_DOC', 'REASON', '__proto__', 'constructor'],
      ),
      fc.jsonValue({ maxDepth: 3 }),
    ),
  )
  .map(([d, rest]) => JSON.stringify({ ...rest, ...d }));

// ---- properties -------------------------------------------------------------------------------------------

describe('normalize never throws and always accounts for the record', () => {
  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        check(b);
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 120 }), fc.json()), (s) => {
        check(encoder.encode(s));
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary JSON values, including objects that carry a discriminator', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
          discriminatedObject,
        ),
        (s) => {
          check(encoder.encode(s));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('every template is valid, and every truncation of it is invalid JSON', () => {
    for (const line of LINES) expect(check(encoder.encode(line)).ok, line).toBe(true);
    fc.assert(
      fc.property(
        fc.constantFrom(...LINES),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (line, f) => {
          const cut = encoder.encode(line.slice(0, Math.floor(line.length * f)));
          const r = check(cut);
          expect(r.ok ? 'ok' : r.deadLetter.code).toBe('invalid_json');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('valid records with one field replaced by a wrong type, a huge number, NaN text, 1e999 or nothing', () => {
    let failures = 0;
    fc.assert(
      fc.property(mutatedLine, (line) => {
        if (!check(encoder.encode(line)).ok) failures++;
      }),
      { numRuns: 3000 },
    );
    // Most single-field damage must be caught (extra fields being ignored, some replacements are valid).
    expect(failures).toBeGreaterThan(1000);
  });
});

describe('the compiled fast path answers exactly as the zod interpreter', () => {
  const pairs = [
    { name: 'storefront', runtime: salesOrderEventSchema, compiled: compiledSchemas.storefront },
    { name: 'supplier', runtime: supplierRecordSchema, compiled: compiledSchemas.supplier },
    { name: 'wms', runtime: inventoryLogRowSchema, compiled: compiledSchemas.wms },
  ] as const;

  it('zod compiles every schema (none silently stays on the interpreter)', () => {
    for (const p of pairs) expect(() => z.compile(p.runtime, { strict: true }), p.name).not.toThrow();
  });

  function same(value: unknown): void {
    for (const p of pairs) {
      const input =
        p.name === 'wms' && typeof value === 'object' && value !== null && !Array.isArray(value)
          ? canonicalizeWmsRow(value as Record<string, unknown>).row
          : value;
      const a = p.runtime.safeParse(input);
      const b = p.compiled.safeParse(input);
      expect(b.success).toBe(a.success);
      if (a.success && b.success) expect(b.data).toStrictEqual(a.data);
      if (!a.success && !b.success) expect(b.error.issues).toStrictEqual(a.error.issues);
    }
  }

  it('on valid, mutated, truncated-free arbitrary and discriminated input', () => {
    for (const t of TEMPLATES) same(JSON.parse(JSON.stringify(t)));
    fc.assert(
      fc.property(
        fc.oneof(
          mutatedLine,
          discriminatedObject,
          fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
        ),
        (s) => {
          same(JSON.parse(s));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
