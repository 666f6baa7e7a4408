/**
 * fast-check arbitraries of the three wire formats (`datasets/generator/wire-formats.ts`): records
 * that are mostly well-formed, with any field now and then of a wrong type, out of range, missing or
 * hostile, dated inside the stream's span, far in the future, or before the duplicate window. Sampled
 * with a seed (`fuzzLines`), so a campaign's fuzzed stream is reproducible.
 */
import fc from 'fast-check';

/**
 * Where fuzzed records live: their event-time span (inside it they are neither future nor expired) and
 * the SKUs and warehouses of the stream they join (so that they touch its series).
 *
 * @example
 * ```ts
 * const space: FuzzSpace = { from: Date.UTC(2026, 0, 5, 1), to: Date.UTC(2026, 0, 5, 23), skus: ['SKU-00001'], warehouses: ['WH-EAST'] };
 * ```
 */
export interface FuzzSpace {
  from: number;
  to: number;
  skus: readonly string[];
  warehouses: readonly string[];
}

/** Values no field should accept, of every JSON type. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, '', ' ', 'n/a', -1, 1.5, 1e10, -1e12, true, false, [], {}, 'x'.repeat(200)),
  fc.constantFrom('\u202e', 'A\u0000B', '\ud800', '1e999', '2026-13-45 25:61:00', 'NaN'),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/**
 * A field that is right `weight` times in `weight + 1`, junk otherwise. A record has about ten fields:
 * at 30 to 1, about two fuzzed records in three are valid, so both sides of the boundary are exercised.
 */
const mostly = <T>(good: fc.Arbitrary<T>, weight = 30): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: good, weight }, { arbitrary: junk, weight: 1 });

/** Event times: mostly in the span, else years ahead (future), before the window (expired), or junk. */
function times(space: FuzzSpace): fc.Arbitrary<number | 'junk'> {
  return fc.oneof(
    { arbitrary: fc.integer({ min: space.from, max: space.to }), weight: 40 },
    { arbitrary: fc.integer({ min: Date.UTC(2030, 0, 1), max: Date.UTC(2099, 11, 31) }), weight: 1 },
    { arbitrary: fc.integer({ min: Date.UTC(2000, 0, 1), max: space.from - 3 * 86_400_000 }), weight: 1 },
    { arbitrary: fc.constant('junk' as const), weight: 1 },
  );
}

const keyOf = (good: readonly string[], fresh: string): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...good), weight: 24 },
    { arbitrary: fc.nat(40).map((k) => `${fresh}-${k}`), weight: 6 },
    { arbitrary: junk, weight: 1 },
  );

const quantity = mostly(fc.integer({ min: 0, max: 40 }));
const money = mostly(fc.integer({ min: 0, max: 50_000 }).map((c) => c / 100));

const iso = (t: number): string => new Date(t).toISOString();

/** A warehouse log row (`TXN`, `LOG_ID`, `TXN_TIME` as `YYYY-MM-DD HH:MM:SS`). */
function wmsRow(space: FuzzSpace) {
  return fc
    .record({
      TXN: mostly(fc.constantFrom('RCV', 'ADJ', 'CC', 'RTN', 'DMG')),
      ITEM_NO: keyOf(space.skus, 'FZ-SKU'),
      LOC: keyOf(space.warehouses, 'WH-FZ'),
      QTY: mostly(fc.integer({ min: -20, max: 60 })),
      UOM: mostly(fc.constantFrom('EA', 'EA', 'CS')),
      time: times(space),
      REF_DOC: fc.option(fc.constantFrom('ASN-0000001', 'PO-0000009'), { nil: undefined }),
      REASON: fc.option(fc.constantFrom('FOUND', 'SHORT_PICK', 'CORRECTION', 'CYCLE'), { nil: undefined }),
      USER_ID: mostly(fc.constantFrom('u001', 'u002')),
    })
    .map(({ time, ...r }) => ({
      ...r,
      TXN_TIME: time === 'junk' ? 'yesterday' : iso(time).replace('T', ' ').slice(0, 19),
    }));
}

/** A storefront order event (`event`, `eventId`, `occurredAt` in epoch ms, items). */
function orderEvent(space: FuzzSpace) {
  const item = fc.record({ sku: keyOf(space.skus, 'FZ-SKU'), quantity, unitPrice: money });
  return fc
    .record({
      event: mostly(fc.constantFrom('order.placed', 'order.fulfilled', 'order.cancelled')),
      orderId: mostly(fc.nat(9_999).map((k) => `SO-FZ-${k}`)),
      time: times(space),
      channel: mostly(fc.constantFrom('web', 'app', 'marketplace')),
      customerId: mostly(fc.constantFrom('C-1', 'C-2', 'C-3')),
      fulfillmentCenter: keyOf(space.warehouses, 'WH-FZ'),
      items: mostly(fc.array(item, { minLength: 1, maxLength: 3 }), 60),
      currency: mostly(fc.constant('USD')),
    })
    .map(({ time, ...r }) => ({ ...r, occurredAt: time === 'junk' ? String(space.from) : time }));
}

/** A supplier purchase order or ship notice (`record_type`, `doc_id`, `issued_at` ISO, lines). */
function supplierDocument(space: FuzzSpace) {
  const line = fc.record({
    line_no: mostly(fc.integer({ min: 1, max: 9 })),
    sku: keyOf(space.skus, 'FZ-SKU'),
    qty_ordered: quantity,
    qty_shipped: fc.option(quantity, { nil: undefined }),
    uom: mostly(fc.constantFrom('EA', 'CS')),
    case_pack: mostly(fc.constantFrom(1, 6, 12, 24)),
    unit_cost: money,
  });
  return fc
    .record({
      record_type: mostly(fc.constantFrom('PO', 'ASN')),
      po_ref: fc.option(fc.constant('PO-FZ-1'), { nil: undefined }),
      supplier: mostly(fc.record({ id: fc.constantFrom('SUP-1', 'SUP-2'), name: fc.constant('Fuzz Ltd') })),
      ship_to: keyOf(space.warehouses, 'WH-FZ'),
      time: times(space),
      currency: mostly(fc.constant('USD')),
      lines: mostly(fc.array(line, { minLength: 1, maxLength: 3 }), 60),
    })
    .map(({ time, ...r }) => {
      const at = time === 'junk' ? 'Jan 5th' : iso(time);
      return { ...r, issued_at: at, expected_at: at };
    });
}

/** How a fuzzed record gets its id: a fresh one, an earlier record's (a repeat of its id), or junk. */
const idMode = fc.oneof(
  { arbitrary: fc.constant<'fresh' | 'reuse'>('fresh'), weight: 18 },
  { arbitrary: fc.constant<'fresh' | 'reuse'>('reuse'), weight: 1 },
  { arbitrary: junk.map((value) => ({ value })), weight: 1 },
);

/** One fuzzed wire record with its family, a field perhaps dropped, and how to id it. */
function fuzzRecord(space: FuzzSpace) {
  return fc.record({
    family: fc.constantFrom('wms', 'storefront', 'supplier'),
    wms: wmsRow(space),
    storefront: orderEvent(space),
    supplier: supplierDocument(space),
    // One record in twelve loses a field (fc.option's `freq` is the odds of nil, not of a value).
    drop: fc.oneof({ arbitrary: fc.constant(undefined), weight: 11 }, { arbitrary: fc.nat(20), weight: 1 }),
    id: idMode,
    /** With `reuse`: how many records back the id comes from. */
    back: fc.nat(300),
  });
}

const ID_FIELD = { wms: 'LOG_ID', storefront: 'eventId', supplier: 'doc_id' } as const;

/**
 * `count` fuzzed NDJSON lines, reproducible from `seed`: every format, with fresh ids (`FZ-<seed>-<i>`),
 * now and then an earlier record's id, junk values, a dropped field, a wrong date.
 *
 * @example
 * ```ts
 * const lines = fuzzLines(7, 5_000, space);
 * ```
 */
export function fuzzLines(seed: number, count: number, space: FuzzSpace): string[] {
  const samples = fc.sample(fuzzRecord(space), { seed, numRuns: count });
  return samples.map((s, i) => {
    const record: Record<string, unknown> = { ...s[s.family as keyof typeof ID_FIELD] };
    const field = ID_FIELD[s.family as keyof typeof ID_FIELD];
    if (s.id === 'fresh' || (s.id === 'reuse' && i === 0)) record[field] = `FZ-${seed}-${i}`;
    else if (s.id === 'reuse') record[field] = `FZ-${seed}-${Math.max(0, i - 1 - s.back)}`;
    else record[field] = s.id.value;
    if (s.drop !== undefined) {
      const keys = Object.keys(record);
      delete record[keys[s.drop % keys.length]];
    }
    return JSON.stringify(record);
  });
}
