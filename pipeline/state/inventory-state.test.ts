import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InventoryEvent, InventoryEventKind } from '../events.js';
import { InventoryState, RECENT_MOVES } from './inventory-state.js';

let seq = 0;
function ev(
  kind: InventoryEventKind,
  quantity: number,
  occurredAt: number,
  extra: Partial<InventoryEvent> = {},
): InventoryEvent {
  const id = `e${++seq}`;
  return {
    eventId: id,
    sourceId: id,
    source: 'wms',
    kind,
    sku: 'SKU-1',
    warehouse: 'WH-EAST',
    occurredAt,
    quantity,
    ...extra,
  };
}

describe('InventoryState rules', () => {
  it('moves stock, reservations and inbound as each kind says', () => {
    const s = new InventoryState();
    s.apply(ev('po_issued', 48, 1));
    s.apply(ev('asn_issued', 40, 2, { orderedQuantity: 48 }));
    expect(s.get('SKU-1', 'WH-EAST')?.inbound).toBe(40);
    s.apply(ev('receipt', 40, 3));
    s.apply(ev('sale_placed', 3, 4));
    s.apply(ev('sale_placed', 2, 5));
    s.apply(ev('sale_cancelled', 2, 6));
    s.apply(ev('sale_fulfilled', 3, 7));
    s.apply(ev('return', 1, 8));
    s.apply(ev('damage', 2, 9));
    s.apply(ev('adjustment', -4, 10));
    const snap = s.get('SKU-1', 'WH-EAST')!;
    expect(snap).toMatchObject({ onHand: 40 - 3 + 1 - 2 - 4, reserved: 0, inbound: 0, lastEventAt: 10 });
    expect(snap.salesVelocity).toBeGreaterThan(0);
  });

  it('lets a count replace the book and reports the gap', () => {
    const s = new InventoryState();
    s.apply(ev('receipt', 50, 1));
    const o = s.apply(ev('cycle_count', 42, 2));
    expect(o.bookAtCount).toBe(50);
    expect(o.onHandAfter).toBe(42);
    expect(s.get('SKU-1', 'WH-EAST')?.lastCountQuantity).toBe(42);
  });

  it('does not move stock again for a movement a later count already contains', () => {
    const s = new InventoryState();
    s.apply(ev('cycle_count', 10, 100));
    const late = s.apply(ev('damage', 3, 50));
    expect(late.alreadyCounted).toBe(true);
    expect(s.get('SKU-1', 'WH-EAST')?.onHand).toBe(10);
  });

  it('places a late count before the movements that happened after it', () => {
    const s = new InventoryState();
    s.apply(ev('receipt', 30, 10));
    s.apply(ev('sale_fulfilled', 5, 30)); // after the count below
    const o = s.apply(ev('cycle_count', 28, 20));
    expect(o.bookAtCount).toBe(30); // the book as of t=20
    expect(o.onHandAfter).toBe(23); // 28 counted, then 5 shipped at t=30
  });

  it('ignores a count older than the last one', () => {
    const s = new InventoryState();
    s.apply(ev('cycle_count', 10, 100));
    const o = s.apply(ev('cycle_count', 99, 50));
    expect(o.alreadyCounted).toBe(true);
    expect(s.get('SKU-1', 'WH-EAST')?.onHand).toBe(10);
  });

  it('tracks units shipped between counts (stuck counts show as unchanged counts despite sales)', () => {
    const s = new InventoryState();
    s.apply(ev('cycle_count', 20, 1));
    s.apply(ev('sale_fulfilled', 4, 2));
    const o = s.apply(ev('cycle_count', 20, 3));
    expect(o.previousCount).toBe(20);
    expect(o.shippedSincePreviousCount).toBe(4);
  });

  it('restores a series exactly from what it persists', () => {
    const a = new InventoryState();
    for (const e of [
      ev('receipt', 9, 1),
      ev('sale_placed', 2, 2),
      ev('cycle_count', 8, 3),
      ev('damage', 1, 4),
    ])
      a.apply(e);
    const slot = a.find('SKU-1', 'WH-EAST')!;
    const b = new InventoryState();
    b.restore(a.snapshot(slot), JSON.parse(JSON.stringify(a.extraOf(slot))));
    const late = ev('cycle_count', 5, 3.5);
    expect(b.apply({ ...late }).onHandAfter).toBe(a.apply({ ...late }).onHandAfter);
    expect(b.get('SKU-1', 'WH-EAST')).toEqual(a.get('SKU-1', 'WH-EAST'));
  });

  it('reports dirty series once until taken', () => {
    const s = new InventoryState();
    s.apply(ev('receipt', 1, 1));
    s.apply(ev('receipt', 1, 2));
    s.apply({ ...ev('receipt', 1, 3), warehouse: 'WH-WEST' });
    expect(s.takeDirty()).toEqual([0, 1]);
    expect(s.takeDirty()).toEqual([]);
  });

  it('gives the same on hand in any arrival order as replaying by event time (property)', () => {
    const move = fc.record({
      kind: fc.constantFrom<InventoryEventKind>(
        'receipt',
        'damage',
        'adjustment',
        'return',
        'sale_fulfilled',
      ),
      q: fc.integer({ min: 1, max: 50 }),
      t: fc.integer({ min: 0, max: 1000 }),
    });
    const count = fc.record({
      kind: fc.constant<InventoryEventKind>('cycle_count'),
      q: fc.integer({ min: 0, max: 200 }),
      t: fc.integer({ min: 0, max: 1000 }),
    });
    fc.assert(
      fc.property(
        fc.array(move, { maxLength: RECENT_MOVES }),
        fc.uniqueArray(count, { maxLength: 4, selector: (c) => c.t }),
        fc.infiniteStream(fc.nat()),
        (moves, counts, order) => {
          const all = [...moves, ...counts].map((m) => ev(m.kind, m.kind === 'adjustment' ? -m.q : m.q, m.t));
          // Reference: by event time; at equal times a movement is inside the count.
          const sorted = [...all].sort(
            (a, b) =>
              a.occurredAt - b.occurredAt ||
              (a.kind === 'cycle_count' ? 1 : 0) - (b.kind === 'cycle_count' ? 1 : 0),
          );
          let expected = 0;
          for (const e of sorted) {
            if (e.kind === 'cycle_count') expected = e.quantity;
            else
              expected +=
                e.kind === 'receipt' || e.kind === 'return' || e.kind === 'adjustment'
                  ? e.quantity
                  : -e.quantity;
          }
          // Arrival order: a seeded shuffle.
          const shuffled = [...all];
          const it = order[Symbol.iterator]();
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = (it.next().value as number) % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
          }
          const s = new InventoryState();
          for (const e of shuffled) s.apply(e);
          expect(s.get('SKU-1', 'WH-EAST')?.onHand ?? 0).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
