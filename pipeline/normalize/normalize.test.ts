import { describe, expect, it } from 'vitest';
import { emptyCounts, simulateInventory } from '../../datasets/generator/index.js';
import type { InventoryEvent } from '../events.js';
import type { StreamRecord } from '../lifecycle.js';
import type { DeadLetter } from '../ports.js';
import { createNormalizer, type NormalizeResult } from './normalize.js';
import { parseIsoTime, parseWmsTime } from './schemas.js';

const encoder = new TextEncoder();
const T0 = Date.UTC(2026, 0, 5, 9, 30);

function record(body: unknown, sequenceNumber = '1'): StreamRecord {
  const data =
    body instanceof Uint8Array
      ? body
      : encoder.encode(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    partitionKey: 'pk',
    data,
    sequenceNumber,
    subSequenceNumber: 3,
    // Well after every event of these tests (generated streams run for days after T0).
    approximateArrivalTimestamp: T0 + 365 * 86_400_000,
  };
}

const normalizer = createNormalizer({ casePack: (sku) => (sku === 'SKU-CASE12' ? 12 : undefined) });

function events(body: unknown): InventoryEvent[] {
  const r = normalizer.normalize(record(body), 'shard-0');
  if (!r.ok) throw new Error(`dead-lettered: ${r.deadLetter.code}: ${r.deadLetter.reason}`);
  return r.events;
}

function deadLetter(body: unknown, n = normalizer): DeadLetter {
  const r: NormalizeResult = n.normalize(record(body), 'shard-0');
  if (r.ok) throw new Error(`expected a dead letter, got ${JSON.stringify(r.events)}`);
  return r.deadLetter;
}

// ---- the three raw kinds, as the generator writes them ------------------------------------------------

const sale = {
  event: 'order.placed',
  eventId: 'SO-00000001-P',
  orderId: 'SO-00000001',
  occurredAt: T0,
  channel: 'web',
  customerId: 'C-123456',
  fulfillmentCenter: 'WH-EAST',
  items: [
    { sku: 'SKU-00017', quantity: 2, unitPrice: 12.99 },
    { sku: 'SKU-00003', quantity: 1, unitPrice: 4.5 },
  ],
  currency: 'USD',
};

const saleEvents = (kind: InventoryEvent['kind'], eventId = 'SO-00000001-P'): InventoryEvent[] => [
  {
    eventId: `storefront:${eventId}#1`,
    sourceId: eventId,
    source: 'storefront',
    kind,
    sku: 'SKU-00017',
    warehouse: 'WH-EAST',
    occurredAt: T0,
    quantity: 2,
    unitPrice: 12.99,
    documentId: 'SO-00000001',
    channel: 'web',
    customerId: 'C-123456',
    currency: 'USD',
  },
  {
    eventId: `storefront:${eventId}#2`,
    sourceId: eventId,
    source: 'storefront',
    kind,
    sku: 'SKU-00003',
    warehouse: 'WH-EAST',
    occurredAt: T0,
    quantity: 1,
    unitPrice: 4.5,
    documentId: 'SO-00000001',
    channel: 'web',
    customerId: 'C-123456',
    currency: 'USD',
  },
];

const po = {
  record_type: 'PO',
  doc_id: 'PO-0000001',
  supplier: { id: 'SUP-01', name: 'Acme Housewares' },
  ship_to: 'WH-WEST',
  issued_at: '2026-01-05T09:30:00.000Z',
  expected_at: '2026-01-12T09:30:00.000Z',
  currency: 'USD',
  lines: [
    { line_no: 1, sku: 'SKU-00017', qty_ordered: 3, uom: 'CS', case_pack: 12, unit_cost: 60 },
    { line_no: 2, sku: 'SKU-00003', qty_ordered: 40, uom: 'EA', case_pack: 1, unit_cost: 2.25 },
  ],
};

const asn = {
  ...po,
  record_type: 'ASN',
  doc_id: 'ASN-0000001',
  po_ref: 'PO-0000001',
  lines: [
    { line_no: 1, sku: 'SKU-00017', qty_ordered: 3, qty_shipped: 2, uom: 'CS', case_pack: 12, unit_cost: 60 },
    {
      line_no: 2,
      sku: 'SKU-00003',
      qty_ordered: 40,
      qty_shipped: 40,
      uom: 'EA',
      case_pack: 1,
      unit_cost: 2.25,
    },
  ],
};

const log = {
  LOG_ID: 'WMS-000000042',
  TXN: 'DMG',
  ITEM_NO: 'SKU-00017',
  LOC: 'WH-EAST',
  QTY: -2,
  UOM: 'EA',
  TXN_TIME: '2026-01-05 09:30:00',
  REASON: 'DAMAGED_IN_WAREHOUSE',
  USER_ID: 'u007',
};

const wmsEvent = (over: Partial<InventoryEvent>): InventoryEvent => ({
  eventId: 'wms:WMS-000000042',
  sourceId: 'WMS-000000042',
  source: 'wms',
  kind: 'damage',
  sku: 'SKU-00017',
  warehouse: 'WH-EAST',
  occurredAt: T0,
  quantity: 2,
  unitOfMeasure: 'EA',
  reason: 'DAMAGED_IN_WAREHOUSE',
  ...over,
});

// ---- tests --------------------------------------------------------------------------------------------

describe('normalize: a generated stream', () => {
  function run(options: Parameters<typeof simulateInventory>[0]) {
    const counts = emptyCounts();
    const n = createNormalizer();
    const dead: DeadLetter[] = [];
    const lineOf = new Map<string, string>();
    let lines = 0;
    let events = 0;
    for (const out of simulateInventory(options, counts)) {
      if (out.type !== 'record') continue;
      lines++;
      const r = n.normalize(record(out.line, String(lines)), 'shard-0');
      if (!r.ok) {
        dead.push(r.deadLetter);
        continue;
      }
      expect(r.events.length).toBeGreaterThan(0);
      const ids = new Set(r.events.map((e) => e.eventId));
      expect(ids.size).toBe(r.events.length);
      for (const e of r.events) {
        events++;
        // The same id only ever comes from the same line: a duplicate delivery, never a different record.
        const seen = lineOf.get(e.eventId);
        if (seen !== undefined) expect(seen).toBe(out.line);
        else lineOf.set(e.eventId, out.line);
        expect(Number.isInteger(e.quantity)).toBe(true);
        if (e.kind !== 'adjustment' && e.kind !== 'cycle_count') expect(e.quantity).toBeGreaterThanOrEqual(0);
      }
    }
    return { counts, dead, lines, events, distinctIds: lineOf.size };
  }

  it('normalizes every line of seed 3 (3 days, 20 SKUs); dead letters = malformed lines', () => {
    const { counts, dead, lines, events } = run({ seed: 3, days: 3, skus: 20 });
    expect(lines).toBe(counts.records);
    expect(dead.length).toBe(counts.malformed);
    expect(events).toBeGreaterThan(lines - dead.length - 1);
  });

  it('dead-letters exactly the malformed lines of a stream with many of them and every anomaly type', () => {
    const { counts, dead, distinctIds } = run({
      seed: 5,
      days: 10,
      skus: 20,
      malformedRate: 0.02,
      anomalyRate: 0.05,
    });
    expect(counts.malformed).toBeGreaterThan(20);
    expect(dead.length).toBe(counts.malformed);
    expect(new Set(dead.map((d) => d.code))).toEqual(new Set(['invalid_json', 'unknown_kind', 'schema']));
    for (const d of dead) expect(d.reason.length).toBeGreaterThan(0);
    expect(distinctIds).toBeGreaterThan(0);
  });
});

describe('normalize: storefront orders', () => {
  it('makes one event per item, with line-numbered ids', () => {
    expect(events(sale)).toEqual(saleEvents('sale_placed'));
  });

  it.each([
    ['order.placed', 'sale_placed'],
    ['order.created', 'sale_placed'],
    ['order.fulfilled', 'sale_fulfilled'],
    ['order.shipped', 'sale_fulfilled'],
    ['order.cancelled', 'sale_cancelled'],
    ['order.canceled', 'sale_cancelled'],
  ] as const)('maps event %s to %s', (event, kind) => {
    expect(events({ ...sale, event, eventId: 'SO-00000001-X' })).toEqual(saleEvents(kind, 'SO-00000001-X'));
  });

  it('accepts occurredAt as an ISO-8601 string (Z or offset)', () => {
    expect(events({ ...sale, occurredAt: '2026-01-05T09:30:00Z' })).toEqual(saleEvents('sale_placed'));
    expect(events({ ...sale, occurredAt: '2026-01-05T10:30:00.000+01:00' })).toEqual(
      saleEvents('sale_placed'),
    );
  });

  it('ignores extra fields and leaves absent or null optional fields off', () => {
    const [e] = events({
      ...sale,
      channel: null,
      customerId: undefined,
      currency: null,
      promo: { code: 'X' },
    });
    expect(e).toStrictEqual({
      eventId: 'storefront:SO-00000001-P#1',
      sourceId: 'SO-00000001-P',
      source: 'storefront',
      kind: 'sale_placed',
      sku: 'SKU-00017',
      warehouse: 'WH-EAST',
      occurredAt: T0,
      quantity: 2,
      unitPrice: 12.99,
      documentId: 'SO-00000001',
    });
  });
});

describe('normalize: supplier documents', () => {
  const poLine1: InventoryEvent = {
    eventId: 'supplier:PO-0000001#1',
    sourceId: 'PO-0000001',
    source: 'supplier',
    kind: 'po_issued',
    sku: 'SKU-00017',
    warehouse: 'WH-WEST',
    occurredAt: T0,
    quantity: 36,
    unitCost: 5,
    supplierId: 'SUP-01',
    documentId: 'PO-0000001',
    casePack: 12,
    unitOfMeasure: 'CS',
    currency: 'USD',
  };
  const poLine2: InventoryEvent = {
    ...poLine1,
    eventId: 'supplier:PO-0000001#2',
    sku: 'SKU-00003',
    quantity: 40,
    unitCost: 2.25,
    casePack: 1,
    unitOfMeasure: 'EA',
  };

  it('makes one po_issued per line, cases multiplied out and cost per each', () => {
    expect(events(po)).toEqual([poLine1, poLine2]);
  });

  it('makes one asn_issued per line: shipped and ordered eaches, the PO in reason', () => {
    const asnBase = {
      ...poLine1,
      sourceId: 'ASN-0000001',
      documentId: 'ASN-0000001',
      kind: 'asn_issued' as const,
    };
    expect(events(asn)).toEqual([
      {
        ...asnBase,
        eventId: 'supplier:ASN-0000001#1',
        quantity: 24,
        orderedQuantity: 36,
        reason: 'PO-0000001',
      },
      {
        ...asnBase,
        eventId: 'supplier:ASN-0000001#2',
        sku: 'SKU-00003',
        quantity: 40,
        orderedQuantity: 40,
        unitCost: 2.25,
        casePack: 1,
        unitOfMeasure: 'EA',
        reason: 'PO-0000001',
      },
    ]);
  });

  it('accepts lower-case po and asn', () => {
    expect(events({ ...po, record_type: 'po' })).toEqual([poLine1, poLine2]);
    expect(events({ ...asn, record_type: 'asn' }).map((e) => e.kind)).toEqual(['asn_issued', 'asn_issued']);
  });

  it('keeps the supplier line number in the id, whatever the order of lines', () => {
    const lines = [{ ...po.lines[1], line_no: 7 }, po.lines[0]];
    expect(events({ ...po, lines }).map((e) => e.eventId)).toEqual([
      'supplier:PO-0000001#7',
      'supplier:PO-0000001#1',
    ]);
  });
});

describe('normalize: WMS log rows', () => {
  it('turns a negative DMG into a positive damage', () => {
    expect(events(log)).toEqual([wmsEvent({})]);
  });

  it.each([
    ['RCV', 'receipt', 5, 5],
    ['RECEIPT', 'receipt', 5, 5],
    ['ADJ', 'adjustment', -3, -3],
    ['ADJUSTMENT', 'adjustment', 4, 4],
    ['CC', 'cycle_count', 17, 17],
    ['CYCLE_COUNT', 'cycle_count', -2, -2],
    ['RTN', 'return', 1, 1],
    ['RETURN', 'return', 1, 1],
    ['DMG', 'damage', -2, 2],
    ['DAMAGE', 'damage', 3, 3],
  ] as const)('maps TXN %s to %s (QTY %d → %d)', (TXN, kind, QTY, quantity) => {
    expect(events({ ...log, TXN, QTY, REF_DOC: 'ASN-0000001' })).toEqual([
      wmsEvent({ kind, quantity, documentId: 'ASN-0000001' }),
    ]);
  });

  it.each([
    [{ SKU: 'SKU-00017' }, {}],
    [{ ITEM: 'SKU-00017' }, {}],
    [{}, { SITE: 'WH-EAST' }],
    [{}, { WAREHOUSE: 'WH-EAST' }],
  ])('accepts the item alias %o and site alias %o', (item, site) => {
    const { ITEM_NO, LOC, ...rest } = log;
    const row = { ...rest, ITEM_NO: Object.keys(item).length ? undefined : ITEM_NO, ...item };
    const withSite = Object.keys(site).length ? { ...row, ...site } : { ...row, LOC };
    expect(events(withSite)).toEqual([wmsEvent({})]);
  });

  it('prefers the canonical field when the alias is present too', () => {
    expect(events({ ...log, SKU: 'OTHER', SITE: 'OTHER' })).toEqual([wmsEvent({})]);
  });

  it('multiplies a case quantity by a known case pack', () => {
    expect(events({ ...log, ITEM_NO: 'SKU-CASE12', QTY: -2, UOM: 'CS' })).toEqual([
      wmsEvent({ sku: 'SKU-CASE12', quantity: 24, unitOfMeasure: 'CS', casePack: 12 }),
    ]);
  });

  it('keeps an unconvertible case quantity as keyed, flagged by unitOfMeasure CS without casePack', () => {
    expect(events({ ...log, QTY: -2, UOM: 'CS' })).toEqual([wmsEvent({ quantity: 2, unitOfMeasure: 'CS' })]);
    const noLookup = createNormalizer().normalize(record({ ...log, UOM: 'CS' }), 's');
    expect(noLookup).toEqual({ ok: true, events: [wmsEvent({ unitOfMeasure: 'CS' })] });
  });

  it('ignores a case pack lookup that answers nonsense', () => {
    for (const pack of [0, -3, 1.5, Number.NaN]) {
      const n = createNormalizer({ casePack: () => pack });
      expect(n.normalize(record({ ...log, UOM: 'CS' }), 's')).toEqual({
        ok: true,
        events: [wmsEvent({ unitOfMeasure: 'CS' })],
      });
    }
  });

  it('reads TXN_TIME as UTC, in the WMS format and its variants', () => {
    for (const t of [
      '2026-01-05 09:30:00',
      '2026-01-05T09:30:00',
      '2026-01-05T09:30:00Z',
      '2026-01-05 09:30:00.000',
    ]) {
      expect(events({ ...log, TXN_TIME: t })[0].occurredAt).toBe(T0);
    }
  });
});

describe('normalize: dead letters', () => {
  it('keeps the record with its position, code and reason', () => {
    const data = encoder.encode('{"event":');
    const r = normalizer.normalize(record(data, '77'), 'shard-9');
    expect(r).toEqual({
      ok: false,
      deadLetter: {
        shardId: 'shard-9',
        sequenceNumber: '77',
        subSequenceNumber: 3,
        partitionKey: 'pk',
        arrivalTimestamp: T0 + 365 * 86_400_000,
        code: 'invalid_json',
        reason: expect.stringMatching(/^invalid JSON: .+/),
        data,
      },
    });
    if (!r.ok) expect(r.deadLetter.data).toBe(data);
  });

  it('invalid_utf8 names the offending byte', () => {
    const d = deadLetter(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x7d]));
    expect([d.code, d.reason]).toEqual(['invalid_utf8', 'not valid UTF-8: byte 0xff at offset 2']);
    expect(deadLetter(Uint8Array.from([0x22, 0xe2, 0x82])).reason).toBe(
      'not valid UTF-8: truncated sequence at offset 1',
    );
    expect(deadLetter(Uint8Array.from([0xed, 0xa0, 0x80])).reason).toBe(
      'not valid UTF-8: invalid sequence at offset 0',
    );
  });

  it('invalid_json carries the parser message', () => {
    expect(deadLetter('').code).toBe('invalid_json');
    expect(deadLetter('\\xdeadbeef').reason).toContain('is not valid JSON');
  });

  it('unknown_kind lists the fields seen', () => {
    const d = deadLetter({ heartbeat: true, source: 'edge-gateway-7', seq: 5 });
    expect(d.code).toBe('unknown_kind');
    expect(d.reason).toBe(
      'no record_type (supplier), event (storefront) or TXN (WMS) field; fields seen: heartbeat, source, seq',
    );
    expect(deadLetter({ ...sale, event: 'order.refunded' }).reason).toMatch(
      /^event "order.refunded" is not a known storefront event \(order.placed, .*\); fields seen: event, eventId/,
    );
    expect(deadLetter([sale]).reason).toBe('expected a JSON object, got an array');
    expect(deadLetter('42').reason).toBe('expected a JSON object, got a number');
    expect(deadLetter('null').reason).toBe('expected a JSON object, got null');
    expect(deadLetter({ TXN: 'constructor' }).code).toBe('unknown_kind');
  });

  it.each([
    [
      { ...sale, items: [{ sku: 'SKU-1', quantity: 'n/a', unitPrice: 1 }] },
      'items[0].quantity: expected a finite number, got "n/a"',
    ],
    [
      `${JSON.stringify(sale).replace(`"occurredAt":${T0}`, '"occurredAt":1e999')}`,
      'occurredAt: expected epoch milliseconds or an ISO-8601 time, got Infinity',
    ],
    [
      { ...sale, occurredAt: T0 / 1000 },
      'occurredAt: expected epoch milliseconds in the years 2000–2100, got 1767605400',
    ],
    [
      { ...sale, occurredAt: '2026-02-30T00:00:00Z' },
      'occurredAt: expected an ISO-8601 time with a zone, in the years 2000–2100, got "2026-02-30T00:00:00Z"',
    ],
    [
      { ...sale, occurredAt: '2026-01-05T09:30:00' },
      'occurredAt: expected an ISO-8601 time with a zone, in the years 2000–2100, got "2026-01-05T09:30:00"',
    ],
    [{ ...sale, items: [] }, 'items: expected at least one item, got []'],
    [
      { ...sale, items: [{ sku: '', quantity: 0, unitPrice: -1 }] },
      'items[0].sku: expected a non-empty string, got ""; items[0].quantity: expected an integer from 1 to 1e9, got 0; items[0].unitPrice: expected an amount from 0 to 1e9, got -1',
    ],
    [
      { ...sale, fulfillmentCenter: undefined },
      'fulfillmentCenter: expected a non-empty string, got nothing',
    ],
    [
      { ...po, lines: [{ ...po.lines[0], qty_ordered: 2e9 }] },
      'lines[0].qty_ordered: expected an integer from 0 to 1e9, got 2000000000',
    ],
    [
      { ...po, lines: [{ ...po.lines[0], qty_ordered: 1e8 }] },
      'lines[0].qty_ordered: 100000000 cases of 12 exceed 1e9 eaches, got 100000000',
    ],
    [
      { ...po, lines: [po.lines[0], { ...po.lines[1], line_no: 1 }] },
      'lines[1].line_no: duplicate line number, got 1',
    ],
    [
      { ...asn, lines: [{ ...asn.lines[0], qty_shipped: undefined }] },
      'lines[0].qty_shipped: required on an ASN, got nothing',
    ],
    [{ ...po, supplier: 'SUP-01' }, 'supplier: expected an object with an id, got "SUP-01"'],
    [{ ...po, issued_at: 1767605400000 }, 'issued_at: expected an ISO-8601 time string, got 1767605400000'],
    [{ ...log, QTY: 1.5 }, 'QTY: expected an integer from -1e9 to 1e9, got 1.5'],
    [{ ...log, TXN: 'RCV', QTY: -1 }, 'QTY: expected a quantity ≥ 0 for RCV, got -1'],
    [{ ...log, UOM: 'PK' }, 'UOM: expected EA or CS, got "PK"'],
    [
      { ...log, TXN_TIME: '1999-12-31 23:59:59' },
      'TXN_TIME: expected YYYY-MM-DD HH:MM:SS (UTC) in the years 2000–2100, got "1999-12-31 23:59:59"',
    ],
    [{ ...log, ITEM_NO: undefined, SKU: '' }, 'SKU: expected a non-empty string, got ""'],
    [{ ...log, LOC: undefined, WAREHOUSE: 7 }, 'WAREHOUSE: expected a non-empty string, got 7'],
    [{ ...log, REF_DOC: '' }, 'REF_DOC: expected a non-empty string, got ""'],
  ])('schema: %# → %s', (body, reason) => {
    const d = deadLetter(body);
    expect([d.code, d.reason]).toEqual(['schema', reason]);
  });

  it('counts issues beyond the third', () => {
    const d = deadLetter({ event: 'order.placed' });
    expect(d.reason).toMatch(/^eventId: .*; orderId: .*; occurredAt: .*; \(\+2 more\)$/);
  });

  it('dead-letters a case quantity that overflows once multiplied out', () => {
    const d = deadLetter({ ...log, ITEM_NO: 'SKU-CASE12', QTY: 1e9, UOM: 'CS' });
    expect([d.code, d.reason]).toEqual([
      'schema',
      'QTY: expected at most 1e9 eaches once cases of 12 are multiplied out, got 1000000000',
    ]);
  });

  it('dead-letters (code internal) instead of throwing when the case pack lookup throws', () => {
    const n = createNormalizer({
      casePack: () => {
        throw new Error('catalog offline');
      },
    });
    const d = deadLetter({ ...log, UOM: 'CS' }, n);
    expect([d.code, d.reason]).toEqual(['internal', 'normalizer failed: catalog offline']);
  });
});

describe('time parsing', () => {
  it('parses zoned ISO-8601 strictly', () => {
    expect(parseIsoTime('2026-01-05T09:30:00.000Z')).toBe(T0);
    expect(parseIsoTime('2026-01-05T09:30Z')).toBe(T0);
    expect(parseIsoTime('2026-01-05T04:30:00-0500')).toBe(T0);
    expect(parseIsoTime('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    for (const bad of [
      '2025-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01 00:00:00Z',
      '1999-12-31T23:59:59Z',
      '2101-01-01T00:00:00Z',
      ' 2026-01-01T00:00:00Z',
    ]) {
      expect(parseIsoTime(bad), bad).toBeUndefined();
    }
    expect(parseIsoTime('2100-12-31T23:59:59.999Z')).toBe(Date.UTC(2101, 0, 1) - 1);
    expect(parseIsoTime('2000-01-01T00:00:00Z')).toBe(Date.UTC(2000, 0, 1));
  });

  it('parses the WMS format as UTC', () => {
    expect(parseWmsTime('2026-01-05 09:30:00')).toBe(T0);
    expect(parseWmsTime('2026-01-05 09:30:00.5')).toBe(T0 + 500);
    expect(parseWmsTime('2026-01-05 09:30')).toBeUndefined();
    expect(parseWmsTime('2026-01-05 09:30:00+01:00')).toBeUndefined();
  });
});
