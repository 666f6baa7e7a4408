import { describe, expect, it } from 'vitest';
import { Rng } from '../../detectors/index.js';
import type { InventoryEvent, InventoryEventKind } from '../events.js';
import { InventoryState } from '../state/inventory-state.js';
import {
  COUNT_FEATURES,
  CountModelError,
  countFeatureShown,
  loadCountModel,
  trainCountModel,
} from './count-model.js';
import { InventoryDetector } from './inventory-detector.js';

const DAY = 86_400_000;
let n = 0;
function ev(kind: InventoryEventKind, quantity: number, t: number): InventoryEvent {
  const id = `c${++n}`;
  return {
    eventId: id,
    sourceId: id,
    source: 'wms',
    kind,
    sku: 'SKU-1',
    warehouse: 'WH-EAST',
    occurredAt: t,
    quantity,
  };
}

/** Feature rows of honest weekly counts: tiny gaps, a week apart, steady sales. */
function history(rows: number): Float64Array {
  const rng = new Rng(3);
  const cols = COUNT_FEATURES.length;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const book = 20 + rng.nextInt(80);
    const gap = rng.nextInt(3) - 1;
    out.set(
      [
        gap / book,
        Math.sign(gap) * Math.log1p(Math.abs(gap)),
        Math.log1p(book),
        6 + rng.nextFloat() * 2,
        Math.log1p(3 + rng.nextInt(5)),
        Math.log1p(20 + rng.nextInt(20)),
      ],
      i * cols,
    );
  }
  return out;
}

describe('count model', () => {
  it('round-trips through its JSON and refuses other kinds, versions and feature sets', () => {
    const json = JSON.parse(JSON.stringify(trainCountModel(history(300), { seed: 1 })));
    const model = loadCountModel(json);
    expect(model.trainedOn).toBe(300);
    expect(() => loadCountModel({ ...json, kind: 'other' })).toThrow(CountModelError);
    expect(() => loadCountModel({ ...json, schemaVersion: 2 })).toThrow(/schema version 2/);
    expect(() => loadCountModel({ ...json, features: ['x'] })).toThrow(/retrain it/);
  });

  it('flags a count the gap rule lets pass when it is unlike the history', () => {
    const model = loadCountModel(trainCountModel(history(500), { seed: 1, contamination: 0.01 }));
    const state = new InventoryState();
    const detector = new InventoryDetector(state, {}, { countModel: model });
    const apply = (e: InventoryEvent) => detector.onEvent(e, state.apply(e));
    apply(ev('cycle_count', 10, 0));
    // Three short of a book of ten, an hour after the last count: below the rule's 4 units, odd all the same.
    const out = apply(ev('cycle_count', 7, DAY / 24));
    expect(out.map((a) => [a.type, a.detector])).toEqual([['shrinkage', 'iforest:count']]);
    const features = out[0].explanation.features;
    expect(features.length).toBeGreaterThan(0);
    expect(COUNT_FEATURES).toContain(features[0].name);
    expect(features[0].contribution).toBeGreaterThan(0);
    // Shown as people count, not as the logs the model sees ("book: 2.4", "shipped: 3.43").
    const shipped = features.find((f) => f.name === 'shipped_since_last_count');
    expect(shipped).toMatchObject({ observed: 0, unit: 'units' });
    expect(shipped?.expected).toBeGreaterThanOrEqual(20);
    expect(Number.isInteger(shipped?.expected)).toBe(true);
    expect(features.find((f) => f.name === 'gap_share')).toMatchObject({ observed: 0.3, unit: 'share' });
    for (const f of features) expect(f.observed).not.toBe(f.expected);
    expect(out[0].explanation.summary).toContain('7 against a book of 10');
  });

  it('shows each model feature in the units people count in', () => {
    const shown = COUNT_FEATURES.map((_, i) => countFeatureShown(i, Math.log1p(90), Math.log1p(40)));
    expect(shown.map((s) => s.unit)).toEqual(['share', 'units', 'units', 'days', undefined, 'units']);
    expect(shown[2]).toEqual({ observed: 90, expected: 40, unit: 'units' });
    expect(countFeatureShown(1, -Math.log1p(12), 0)).toEqual({ observed: -12, expected: 0, unit: 'units' });
  });

  it('hands every judgeable count to a collector (what training uses)', () => {
    const rows: number[][] = [];
    const state = new InventoryState();
    const detector = new InventoryDetector(state, {}, { onCountFeatures: (x) => rows.push(Array.from(x)) });
    for (const e of [ev('cycle_count', 10, 0), ev('sale_fulfilled', 2, DAY), ev('cycle_count', 8, 7 * DAY)])
      detector.onEvent(e, state.apply(e));
    expect(rows).toHaveLength(1); // the first count has no previous one to judge against
    expect(rows[0][3]).toBeCloseTo(7, 9); // days since the last count
    expect(rows[0][0]).toBe(0); // no gap
  });
});
