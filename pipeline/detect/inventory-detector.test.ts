import { describe, expect, it } from 'vitest';
import type { InventoryEvent, InventoryEventKind } from '../events.js';
import type { Anomaly } from '../ports.js';
import { InventoryState } from '../state/inventory-state.js';
import { InventoryDetector } from './inventory-detector.js';

const HOUR = 3_600_000;
let n = 0;
function ev(
  kind: InventoryEventKind,
  quantity: number,
  t: number,
  extra: Partial<InventoryEvent> = {},
): InventoryEvent {
  const id = `e${++n}`;
  return {
    eventId: id,
    sourceId: id,
    source: 'wms',
    kind,
    sku: 'SKU-1',
    warehouse: 'WH-EAST',
    occurredAt: t,
    quantity,
    ...extra,
  };
}

function run(
  events: InventoryEvent[],
  thresholds = {},
): { anomalies: Anomaly[]; detector: InventoryDetector; state: InventoryState } {
  const state = new InventoryState();
  const detector = new InventoryDetector(state, thresholds);
  const anomalies: Anomaly[] = [];
  for (const e of events) {
    const before = detector.currentWatermark;
    anomalies.push(...detector.onEvent(e, state.apply(e)), ...detector.scanForSilence(before));
  }
  return { anomalies, detector, state };
}

const opening = (q: number, t = 0): InventoryEvent => ev('cycle_count', q, t, { reason: 'OPENING_BALANCE' });

describe('InventoryDetector', () => {
  it('flags shrinkage when a count finds far less than the book, and explains it', () => {
    const { anomalies } = run([
      opening(100),
      ev('sale_fulfilled', 10, HOUR),
      ev('cycle_count', 60, 2 * HOUR),
    ]);
    expect(anomalies).toHaveLength(1);
    const a = anomalies[0];
    expect(a.type).toBe('shrinkage');
    expect(a.explanation.summary).toContain('counted 60 where the book held 90: 30 units missing');
    expect(a.explanation.features[0]).toEqual({
      name: 'counted',
      observed: 60,
      expected: 90,
      unit: 'units',
    });
    expect(a.score).toBeGreaterThan(0.5);
  });

  it('flags phantom stock when a count finds far more than the book', () => {
    const { anomalies } = run([opening(10), ev('cycle_count', 70, HOUR)]);
    expect(anomalies.map((a) => a.type)).toEqual(['phantom_stock']);
  });

  it('accepts honest counting noise and says nothing before a baseline exists', () => {
    expect(run([opening(100), ev('cycle_count', 99, HOUR)]).anomalies).toEqual([]);
    // No opening balance: the first count cannot be judged, nor can stock "below zero".
    expect(run([ev('sale_fulfilled', 5, HOUR), ev('cycle_count', 80, 2 * HOUR)]).anomalies).toEqual([]);
  });

  it('flags stock driven below zero, and a negative count', () => {
    expect(run([opening(5), ev('damage', 9, HOUR)]).anomalies.map((a) => a.type)).toEqual(['negative_stock']);
    const neg = run([ev('cycle_count', -4, HOUR)]).anomalies;
    expect(neg.map((a) => [a.type, a.severity])).toEqual([['negative_stock', 'critical']]);
  });

  it('flags a count that repeats although units shipped (a stuck feed)', () => {
    const { anomalies } = run([
      opening(40),
      ev('sale_fulfilled', 2, HOUR),
      ev('sale_fulfilled', 3, 2 * HOUR),
      ev('cycle_count', 40, 3 * HOUR),
    ]);
    expect(anomalies.map((a) => a.type)).toEqual(['stuck_feed']);
  });

  it('flags a burst of sales far above the item’s rate', () => {
    const events = [opening(500)];
    for (let d = 0; d < 5; d++)
      events.push(ev('sale_placed', 1, d * 24 * HOUR + 12 * HOUR, { source: 'storefront' }));
    for (let i = 0; i < 20; i++)
      events.push(ev('sale_placed', 1, 6 * 24 * HOUR + i * 60_000, { source: 'storefront' }));
    const spikes = run(events).anomalies.filter((a) => a.type === 'sales_spike');
    expect(spikes.length).toBeGreaterThan(0);
    expect(spikes[0].explanation.summary).toMatch(/units sold in the last hour/);
  });

  it('flags an entry far larger than usual for its kind and reason', () => {
    const events = [opening(100)];
    for (let i = 0; i < 30; i++)
      events.push(ev('damage', 1 + (i % 2), (i + 1) * HOUR, { reason: 'DAMAGED_IN_WAREHOUSE' }));
    events.push(ev('receipt', 200, 40 * HOUR));
    events.push(ev('damage', 24, 41 * HOUR, { reason: 'DAMAGED_IN_WAREHOUSE', unitOfMeasure: 'CS' }));
    const a = run(events).anomalies;
    expect(a.map((x) => x.type)).toEqual(['data_entry_error']);
    expect(a[0].explanation.summary).toContain('keyed in cases');
  });

  it('flags a short shipment and an out-of-line supplier price', () => {
    const sup = { source: 'supplier' as const, supplierId: 'SUP-001', casePack: 12 };
    const { anomalies, detector } = run([
      ev('po_issued', 120, 0, { ...sup, unitCost: 2 }),
      ev('po_issued', 120, HOUR, { ...sup, unitCost: 2.1 }),
      ev('asn_issued', 48, 2 * HOUR, { ...sup, orderedQuantity: 120 }),
      ev('po_issued', 120, 3 * HOUR, { ...sup, unitCost: 5.5, documentId: 'PO-9' }),
    ]);
    expect(anomalies.map((a) => a.type)).toEqual(['supplier_short_shipment', 'supplier_price_anomaly']);
    expect(anomalies[1].explanation.summary).toContain('PO-9');
    expect(detector.casePack('SKU-1')).toBe(12);
  });

  it('flags a delivery unlike recent ones with DBSCAN, where the fixed fill rule stays quiet', () => {
    const sup = { source: 'supplier' as const, supplierId: 'SUP-001' };
    const events: InventoryEvent[] = [ev('po_issued', 100, 0, { ...sup, unitCost: 2 })];
    for (let i = 0; i < 40; i++)
      events.push(
        ev('asn_issued', i % 4 === 0 ? 96 : 100, (i + 1) * HOUR, {
          ...sup,
          orderedQuantity: 100,
          unitCost: 2,
        }),
      );
    events.push(
      ev('asn_issued', 84, 50 * HOUR, { ...sup, orderedQuantity: 100, unitCost: 2, documentId: 'ASN-7' }),
    );
    const { anomalies, detector } = run(events);
    expect(anomalies.map((a) => [a.type, a.detector])).toEqual([
      ['supplier_short_shipment', 'dbscan:deliveries'],
    ]);
    expect(anomalies[0].explanation.summary).toContain('ASN-7');
    // The delivery window is part of the persisted state.
    expect(JSON.parse(JSON.stringify(detector.toJSON())).deliveries.count).toBe(41);
  });

  it('judges no delivery against recent ones that form no dense group (every explanation stays finite)', () => {
    const sup = { source: 'supplier' as const, supplierId: 'SUP-001' };
    const events: InventoryEvent[] = [ev('po_issued', 100, 0, { ...sup, unitCost: 2 })];
    // 40 over-shipments, each 10 % apart: farther than DBSCAN's reach from one another, so no core point.
    for (let i = 0; i < 40; i++)
      events.push(
        ev('asn_issued', 100 + 10 * i, (i + 1) * HOUR, { ...sup, orderedQuantity: 100, unitCost: 2 }),
      );
    // Then one at 2.5× the usual cost, which the DBSCAN rule alone would judge.
    events.push(ev('asn_issued', 100, 50 * HOUR, { ...sup, orderedQuantity: 100, unitCost: 5 }));
    const { anomalies } = run(events);
    expect(anomalies.filter((a) => a.detector === 'dbscan:deliveries')).toEqual([]);
    for (const a of anomalies)
      for (const f of a.explanation.features)
        expect([f.observed, f.expected].every(Number.isFinite)).toBe(true);
  });

  it('gives the same ids on a replay, and survives a JSON round trip of its state', () => {
    const events = [opening(100), ev('cycle_count', 50, HOUR), ev('damage', 80, 2 * HOUR)];
    const a = run(events).anomalies.map((x) => x.id);
    const b = run(events).anomalies.map((x) => x.id);
    expect(b).toEqual(a);
    const { detector, state } = run(events.slice(0, 2));
    const restored = new InventoryDetector(state);
    restored.restore(JSON.parse(JSON.stringify(detector.toJSON())));
    const e = events[2];
    expect(restored.onEvent(e, state.apply(e)).map((x) => x.id)).toEqual([a[1]]);
  });
});
