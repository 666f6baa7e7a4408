/**
 * Test fixtures of the detector and the alert channels: one anomaly of each type, raised by the real
 * detector on a small event sequence, so that a channel's snapshot shows what the detector really says.
 * Not part of the public API.
 */
import type { InventoryEvent, InventoryEventKind } from '../events.js';
import type { Anomaly, AnomalyType } from '../ports.js';
import { InventoryState } from '../state/inventory-state.js';
import { type DetectionThresholds, InventoryDetector } from './inventory-detector.js';

const HOUR = 3_600_000;
/** 2026-01-05T00:00:00Z, the generator's default start. */
const T0 = Date.UTC(2026, 0, 5);

/** Makes one event; `hours` counts from 2026-01-05T00:00:00Z. */
export type EventMaker = (
  kind: InventoryEventKind,
  quantity: number,
  hours: number,
  extra?: Partial<InventoryEvent>,
) => InventoryEvent;

/**
 * Builds events of one series (SKU-1 at WH-EAST unless overridden), with ids `x1`, `x2`… in order.
 *
 * @example
 * ```ts
 * const ev = eventMaker();
 * const e = ev('cycle_count', 40, 0, { reason: 'OPENING_BALANCE' });
 * ```
 */
export function eventMaker(prefix = 'x'): EventMaker {
  let n = 0;
  return (kind, quantity, hours, extra = {}) => {
    const id = `${prefix}${++n}`;
    return {
      eventId: id,
      sourceId: id,
      source: 'wms',
      kind,
      sku: 'SKU-1',
      warehouse: 'WH-EAST',
      occurredAt: T0 + hours * HOUR,
      quantity,
      ...extra,
    };
  };
}

/**
 * Runs a fresh detector over events and returns every anomaly it raised (the silence scan included).
 *
 * @example
 * ```ts
 * const anomalies = detect([opening, count]);
 * ```
 */
export function detect(
  events: readonly InventoryEvent[],
  thresholds: Partial<DetectionThresholds> = {},
): Anomaly[] {
  const state = new InventoryState();
  const detector = new InventoryDetector(state, thresholds);
  const out: Anomaly[] = [];
  for (const e of events) {
    const before = detector.currentWatermark;
    out.push(...detector.onEvent(e, state.apply(e)), ...detector.scanForSilence(before));
  }
  return out;
}

/**
 * Scenarios that raise each explanation the detector can give (each type, and its cold and warm
 * variants), by name: every anomaly each raises, in order.
 *
 * @example
 * ```ts
 * for (const [name, anomalies] of Object.entries(explanationScenarios())) check(name, anomalies);
 * ```
 */
export function explanationScenarios(): Record<string, Anomaly[]> {
  const ev = eventMaker();
  const opening = (q: number, h = 0) => ev('cycle_count', q, h, { reason: 'OPENING_BALANCE' });
  const sup = { source: 'supplier' as const, supplierId: 'SUP-001', casePack: 12 };
  const store = { source: 'storefront' as const };

  // Shrinkage against a warm gap baseline: 40 weekly counts off by a unit or two, then 30 missing.
  const shrink: InventoryEvent[] = [ev('po_issued', 120, 0, { ...sup, unitCost: 4 }), opening(100, 1)];
  for (let w = 1; w <= 40; w++) {
    shrink.push(ev('receipt', 10, w * 168 - 2));
    shrink.push(ev('sale_fulfilled', 10, w * 168 - 1));
    shrink.push(ev('cycle_count', 100 - (w % 3), w * 168));
    shrink.push(ev('adjustment', w % 3, w * 168 + 0.5, { reason: 'CORRECTION' }));
  }
  shrink.push(ev('sale_fulfilled', 10, 41 * 168 - 1), ev('cycle_count', 60, 41 * 168));

  // A steady seller (2 an hour for three days), then 30 in the hour after 72:30, across a clock hour.
  const spike: InventoryEvent[] = [opening(2000)];
  for (let h = 1; h < 72; h++) spike.push(ev('sale_placed', 2, h + 0.5, store));
  for (let i = 0; i < 30; i++) spike.push(ev('sale_placed', 1, 72.5 + i / 30, store));

  // A slow seller (one a day), then 14 within a quarter of an hour: the floor of the spike rule.
  const floor: InventoryEvent[] = [opening(500)];
  for (let d = 0; d < 5; d++) floor.push(ev('sale_placed', 1, d * 24 + 12, store));
  for (let i = 0; i < 14; i++) floor.push(ev('sale_placed', 1, 6 * 24 + i / 60, store));

  // Damage entries of 1 or 2 units, then one of 24 keyed in cases (a warm baseline).
  const entryWarm: InventoryEvent[] = [opening(100)];
  for (let i = 0; i < 30; i++)
    entryWarm.push(ev('damage', 1 + (i % 2), i + 1, { reason: 'DAMAGED_IN_WAREHOUSE' }));
  entryWarm.push(
    ev('receipt', 200, 40),
    ev('damage', 24, 41, { reason: 'DAMAGED_IN_WAREHOUSE', unitOfMeasure: 'CS' }),
  );

  // 40 deliveries nearly complete, then one at 84%: DBSCAN's view.
  const deliveries: InventoryEvent[] = [ev('po_issued', 100, 0, { ...sup, unitCost: 2 })];
  for (let i = 0; i < 40; i++) {
    const shipped = i % 4 === 0 ? 96 : 100;
    deliveries.push(ev('asn_issued', shipped, i + 1, { ...sup, orderedQuantity: 100, unitCost: 2 }));
  }
  deliveries.push(
    ev('asn_issued', 84, 50, { ...sup, orderedQuantity: 100, unitCost: 2, documentId: 'ASN-7' }),
  );

  // A seller of 4 an hour for two days that goes quiet with stock on hand (the silence scan, when on).
  const silent: InventoryEvent[] = [opening(500)];
  for (let h = 1; h < 48; h++) silent.push(ev('sale_placed', 4, h, store));
  silent.push(ev('receipt', 5, 60));

  return {
    shrinkage: detect(shrink),
    shrinkageCold: detect([opening(100), ev('sale_fulfilled', 10, 1), ev('cycle_count', 60, 2)]),
    phantom_stock: detect([opening(10), ev('cycle_count', 70, 1)]),
    sales_spike: detect(spike),
    salesSpikeFloor: detect(floor),
    // The case: a first FOUND adjustment of 300, with no usual size yet.
    data_entry_error: detect([opening(500), ev('adjustment', 300, 1, { reason: 'FOUND' })]),
    dataEntryWarm: detect(entryWarm),
    supplier_short_shipment: detect([
      ev('po_issued', 120, 0, { ...sup, unitCost: 2 }),
      ev('asn_issued', 48, 2, { ...sup, orderedQuantity: 120, documentId: 'ASN-3' }),
    ]),
    shortShipmentDbscan: detect(deliveries),
    supplier_price_anomaly: detect([
      ev('po_issued', 120, 0, { ...sup, unitCost: 2 }),
      ev('po_issued', 120, 1, { ...sup, unitCost: 2.1 }),
      ev('po_issued', 120, 3, { ...sup, unitCost: 5.5, documentId: 'PO-9' }),
    ]),
    stuck_feed: detect([
      opening(40),
      ev('sale_fulfilled', 2, 1),
      ev('sale_fulfilled', 3, 2),
      ev('cycle_count', 40, 3),
    ]),
    stuckFeedSilence: detect(silent, { silenceExpectedSales: 10 }),
    negative_stock: detect([opening(5), ev('damage', 9, 1, { reason: 'DAMAGED_IN_WAREHOUSE' })]),
    negativeCount: detect([ev('cycle_count', -4, 1)]),
  };
}

/**
 * One anomaly of each type as the real detector raises it (the first of its scenario), for snapshots.
 *
 * @example
 * ```ts
 * const a = exampleAnomalies().sales_spike;
 * ```
 */
export function exampleAnomalies(): Record<AnomalyType, Anomaly> {
  const s = explanationScenarios();
  const first = (type: AnomalyType): Anomaly => {
    const a = s[type].find((x) => x.type === type);
    if (!a) throw new Error(`the ${type} scenario raised no ${type} anomaly`);
    return a;
  };
  return {
    shrinkage: first('shrinkage'),
    phantom_stock: first('phantom_stock'),
    sales_spike: first('sales_spike'),
    data_entry_error: first('data_entry_error'),
    supplier_short_shipment: first('supplier_short_shipment'),
    supplier_price_anomaly: first('supplier_price_anomaly'),
    stuck_feed: first('stuck_feed'),
    negative_stock: first('negative_stock'),
  };
}
