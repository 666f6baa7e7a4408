/**
 * The trust boundary (issue 11): every limit of `limits.ts` is enforced by the normalizer, before
 * state, with a reason naming the field; ids and keys are unambiguous.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventIdOf, seriesKey } from '../events.js';
import type { StreamRecord } from '../lifecycle.js';
import {
  DEFAULT_MAX_FUTURE_SKEW_MS,
  MAX_RECORD_BYTES,
  MAX_SKU_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_WAREHOUSE_LENGTH,
  unsafeTextReason,
} from './limits.js';
import { createNormalizer, type NormalizeResult } from './normalize.js';

const ARRIVED = Date.UTC(2026, 0, 5, 12);
const encoder = new TextEncoder();

function record(body: unknown, arrival = ARRIVED): StreamRecord {
  return {
    partitionKey: 'pk',
    data: encoder.encode(typeof body === 'string' ? body : JSON.stringify(body)),
    sequenceNumber: '7',
    subSequenceNumber: 0,
    approximateArrivalTimestamp: arrival,
  };
}

const wms = (over: Record<string, unknown> = {}) => ({
  LOG_ID: 'WMS-1',
  TXN: 'RCV',
  ITEM_NO: 'SKU-1',
  LOC: 'WH-1',
  QTY: 10,
  UOM: 'EA',
  TXN_TIME: '2026-01-05 09:00:00',
  ...over,
});

const order = (over: Record<string, unknown> = {}) => ({
  event: 'order.placed',
  eventId: '1001',
  orderId: 'SO-1',
  occurredAt: Date.UTC(2026, 0, 5, 9),
  fulfillmentCenter: 'WH-1',
  items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 3 }],
  ...over,
});

const normalizer = createNormalizer();
const run = (body: unknown, arrival?: number): NormalizeResult =>
  normalizer.normalize(record(body, arrival), 's');

function deadLetter(res: NormalizeResult): { code: string; reason: string } {
  if (res.ok) throw new Error(`expected a dead letter, got ${res.events.length} events`);
  return res.deadLetter;
}

describe('trust boundary: event time', () => {
  it('dead-letters a record dated 2099 instead of letting it move the clock', () => {
    const d = deadLetter(run(wms({ TXN_TIME: '2099-01-01 00:00:00' })));
    expect(d.code).toBe('future_event');
    expect(d.reason).toMatch(
      /^event time 2099-01-01T00:00:00.000Z is more than 15 min after the record reached the stream/,
    );
    expect(d.reason).toContain('limits.maxFutureSkewMs');
  });

  it('accepts up to maxFutureSkewMs after arrival, and not a millisecond more', () => {
    const t = Date.UTC(2026, 0, 5, 9);
    const at = (arrival: number) => run(wms(), arrival);
    expect(at(t - DEFAULT_MAX_FUTURE_SKEW_MS).ok).toBe(true);
    expect(deadLetter(at(t - DEFAULT_MAX_FUTURE_SKEW_MS - 1)).code).toBe('future_event');
    const strict = createNormalizer({ maxFutureSkewMs: 0 });
    expect(strict.normalize(record(wms(), t), 's').ok).toBe(true);
    expect(strict.normalize(record(wms(), t - 1), 's').ok).toBe(false);
  });

  it('refuses a negative skew', () => {
    expect(() => createNormalizer({ maxFutureSkewMs: -1 })).toThrow(/maxFutureSkewMs must be ≥ 0/);
  });
});

describe('trust boundary: keys and text', () => {
  it('dead-letters a 192-character SKU that MariaDB would refuse, naming the field', () => {
    const d = deadLetter(run(wms({ ITEM_NO: 'S'.repeat(192) })));
    expect(d.code).toBe('schema');
    expect(d.reason).toContain(`ITEM_NO: expected at most ${MAX_SKU_LENGTH} characters, got 192`);
    const o = deadLetter(run(order({ items: [{ sku: 'S'.repeat(129), quantity: 1, unitPrice: 1 }] })));
    expect(o.reason).toContain('items[0].sku: expected at most 128 characters, got 129');
  });

  it('holds warehouses to 64 and other ids to 128 characters', () => {
    expect(run(wms({ LOC: 'W'.repeat(MAX_WAREHOUSE_LENGTH) })).ok).toBe(true);
    expect(deadLetter(run(wms({ LOC: 'W'.repeat(65) }))).reason).toContain('LOC: expected at most 64');
    expect(run(wms({ LOG_ID: 'L'.repeat(MAX_TEXT_LENGTH) })).ok).toBe(true);
    expect(deadLetter(run(wms({ LOG_ID: 'L'.repeat(129) }))).reason).toContain(
      'LOG_ID: expected at most 128',
    );
    expect(deadLetter(run(order({ orderId: 'O'.repeat(129) }))).reason).toContain('orderId');
  });

  it('dead-letters a lone surrogate (stored as U+FFFD by SQL drivers, so the series would change key)', () => {
    const d = deadLetter(
      run(
        `{"LOG_ID":"W-1","TXN":"RCV","ITEM_NO":"SKU-\\ud800","LOC":"WH-1","QTY":1,"UOM":"EA","TXN_TIME":"2026-01-05 09:00:00"}`,
      ),
    );
    expect(d.reason).toContain('ITEM_NO: contains U+D800 (a lone surrogate (not well-formed Unicode)) at 4');
    // A proper pair is fine.
    expect(run(wms({ ITEM_NO: 'SKU-😀' })).ok).toBe(true);
  });

  it('dead-letters control and bidirectional-control characters in any text', () => {
    expect(deadLetter(run(wms({ LOC: 'WH\u202e1' }))).reason).toContain(
      'LOC: contains U+202E (a bidirectional control)',
    );
    expect(deadLetter(run(wms({ ITEM_NO: 'SKU\u00001' }))).reason).toContain('U+0000 (a control character)');
    expect(deadLetter(run(wms({ REASON: 'x\u0085' }))).reason).toContain('REASON: contains U+0085');
  });

  it('dead-letters a record over 1 MiB before decoding it', () => {
    const big = { ...wms(), pad: 'x'.repeat(MAX_RECORD_BYTES) };
    const d = deadLetter(run(big));
    expect(d.code).toBe('too_large');
    expect(d.reason).toMatch(/^record of \d+ bytes exceeds the limit of 1048576 bytes$/);
  });

  it('property: a SKU passes exactly when it is within the limits, and then comes out unchanged', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 140, unit: 'grapheme' }),
          fc.string({ minLength: 1, maxLength: 140, unit: 'binary' }),
          fc.string({
            maxLength: 140,
            unit: fc.constantFrom('a', '|', '\u202e', '\ud800', '\udc00', '\u0007', 'é'),
          }),
        ),
        (sku) => {
          const res = run(wms({ ITEM_NO: sku }));
          const valid =
            sku.length >= 1 && sku.length <= MAX_SKU_LENGTH && unsafeTextReason(sku) === undefined;
          expect(res.ok).toBe(valid);
          if (res.ok) expect(res.events[0].sku).toBe(sku);
          else expect(res.deadLetter.reason).toMatch(/^ITEM_NO: /);
        },
      ),
    );
  });
});

describe('identities', () => {
  it('storefront order 1001 item 1 and WMS row 1001#1 get different event ids', () => {
    const sale = run(order({ eventId: '1001' }));
    const row = run(wms({ LOG_ID: '1001#1' }));
    if (!sale.ok || !row.ok) throw new Error('both are valid');
    expect(sale.events[0].eventId).toBe('storefront:1001#1');
    expect(row.events[0].eventId).toBe('wms:1001#1');
  });

  it('series keys of (A|B, C) and (A, B|C) differ', () => {
    expect(seriesKey('A|B', 'C')).not.toBe(seriesKey('A', 'B|C'));
  });

  it('property: distinct series and distinct events never share a key', () => {
    const part = fc.string({ maxLength: 6, unit: fc.constantFrom('a', '|', '#', ':', '1', '5') });
    fc.assert(
      fc.property(part, part, part, part, (a, b, c, d) => {
        if (a !== c || b !== d) expect(seriesKey(a, b)).not.toBe(seriesKey(c, d));
      }),
    );
    const event = fc.record({
      source: fc.constantFrom('storefront', 'supplier', 'wms') as fc.Arbitrary<
        'storefront' | 'supplier' | 'wms'
      >,
      id: part.filter((s) => s.length > 0),
      line: fc.integer({ min: 1, max: 20 }),
    });
    // Which sources have lines is fixed: storefront and supplier records always do, WMS rows never.
    const idOf = (e: { source: 'storefront' | 'supplier' | 'wms'; id: string; line: number }) =>
      e.source === 'wms' ? eventIdOf('wms', e.id) : eventIdOf(e.source, e.id, e.line);
    fc.assert(
      fc.property(event, event, (x, y) => {
        const same = x.source === y.source && x.id === y.id && (x.source === 'wms' || x.line === y.line);
        expect(idOf(x) === idOf(y)).toBe(same);
      }),
    );
  });
});

describe('the README', () => {
  it('states the limits this module enforces (a test keeps the two equal)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const row = (what: string): string => readme.split('\n').find((l) => l.startsWith(`| ${what} |`)) ?? '';
    expect(row('record')).toContain(`at most ${MAX_RECORD_BYTES.toLocaleString('en-US')} bytes`);
    expect(row('SKU')).toContain(`1–${MAX_SKU_LENGTH} characters`);
    expect(row('warehouse')).toContain(`1–${MAX_WAREHOUSE_LENGTH} characters`);
    expect(row('ids and other text')).toContain(`1–${MAX_TEXT_LENGTH} characters`);
    expect(readme).toContain(`\`limits.maxFutureSkewMs\` (${DEFAULT_MAX_FUTURE_SKEW_MS / 60_000} min)`);
  });
});
