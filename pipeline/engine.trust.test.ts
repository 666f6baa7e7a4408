/**
 * Exactly once under hostile event times (issue 11, observation 1) and across the upgrade to
 * namespaced ids: the engine with the real normalizer and the in-memory store.
 */
import { describe, expect, it } from 'vitest';
import { InventoryEngine } from './engine.js';
import type { StreamRecord } from './lifecycle.js';
import { createNormalizer } from './normalize/normalize.js';
import { MemoryStateStore } from './testing/memory-store.js';
import { passThroughRouter } from './testing/pass-through-router.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);
const wmsTime = (t: number): string => new Date(t).toISOString().replace('T', ' ').slice(0, 19);

let seq = 0;
/** A WMS row as a record that reached the stream a minute after it happened. */
function row(id: string, txn: string, qty: number, t: number, arrival = t + 60_000): StreamRecord {
  seq++;
  const line = {
    LOG_ID: id,
    TXN: txn,
    ITEM_NO: 'SKU-1',
    LOC: 'WH-1',
    QTY: qty,
    UOM: 'EA',
    TXN_TIME: wmsTime(t),
  };
  return {
    partitionKey: 'SKU-1|WH-1',
    data: Buffer.from(JSON.stringify(line)),
    sequenceNumber: String(seq),
    subSequenceNumber: 0,
    approximateArrivalTimestamp: arrival,
  };
}

function engine(store: MemoryStateStore): InventoryEngine {
  return new InventoryEngine({
    store,
    sinks: new Map([['test', { name: 'test', publish: async () => {}, close: async () => {} }]]),
    createRouter: () => passThroughRouter('test'),
    createNormalizer: (casePack) => createNormalizer({ casePack }),
    sleep: async () => {},
  });
}

async function run(e: InventoryEngine, records: StreamRecord[]) {
  return e.processBatch({ shardId: 'shard-0', records, checkpointer: { checkpoint: async () => {} } });
}

describe('exactly once under hostile event times', () => {
  it('a record dated 2099 is dead-lettered and does not make the duplicate window forget', async () => {
    seq = 0;
    const store = new MemoryStateStore();
    const e = engine(store);
    await e.start();
    const first = row('R-1', 'RCV', 10, T0);
    await run(e, [first]);
    // Arrives now, claims 2099: before issue 11 it moved the shard's clock 73 years on.
    const report = await run(e, [row('R-2', 'RCV', 6, Date.UTC(2099, 0, 1), T0 + HOUR)]);
    expect(report.deadLetters.map((d) => d.code)).toEqual(['future_event']);
    // The first receipt, delivered again (at least once): dropped, in memory and after a restart.
    expect((await run(e, [{ ...first, sequenceNumber: String(++seq) }])).duplicates).toBe(1);
    const restarted = engine(store);
    await restarted.start();
    expect((await run(restarted, [{ ...first, sequenceNumber: String(++seq) }])).duplicates).toBe(1);
    expect(store.seriesRows()[0].onHand).toBe(10);
  });

  it('an event older than the duplicate window is dead-lettered as expired_event, not applied', async () => {
    seq = 0;
    const store = new MemoryStateStore();
    const e = engine(store);
    await e.start();
    const old = row('R-1', 'RCV', 10, T0);
    await run(e, [old, row('R-2', 'RCV', 1, T0 + 30 * HOUR)]);
    const report = await run(e, [
      { ...old, sequenceNumber: String(++seq) },
      row('R-3', 'RCV', 2, T0 + 5 * HOUR),
    ]);
    expect(report.deadLetters.map((d) => d.code)).toEqual(['expired_event', 'expired_event']);
    expect(report.deadLetters[0].reason).toMatch(
      /is 30 h behind the shard's event time .* beyond the 24 h duplicate window/,
    );
    expect(store.seriesRows()[0].onHand).toBe(11);
    // Inside the window, late is fine.
    expect((await run(e, [row('R-4', 'RCV', 1, T0 + 7 * HOUR)])).events).toBe(1);
  });

  it('says when a late count finds the series has forgotten movements after it', async () => {
    seq = 0;
    const e = engine(new MemoryStateStore());
    await e.start();
    const moves = Array.from({ length: 9 }, (_, i) => row(`S-${i}`, 'ADJ', -1, T0 + (i + 2) * HOUR));
    await run(e, [row('C-0', 'CC', 50, T0), ...moves]);
    const late = await run(e, [row('C-1', 'CC', 40, T0 + HOUR, T0 + 12 * HOUR)]);
    expect(late.countsBeyondMemory.map((c) => c.eventId)).toEqual(['wms:C-1']);
    // A late count that the memory covers is placed without a word.
    const covered = await run(e, [row('C-2', 'CC', 40, T0 + 9.5 * HOUR, T0 + 12 * HOUR)]);
    expect(covered.countsBeyondMemory).toEqual([]);
  });
});

describe('upgrading a store written with bare event ids', () => {
  it('drops a repeat of an event applied before the upgrade, for one duplicate window', async () => {
    seq = 0;
    const store = new MemoryStateStore();
    const e = engine(store);
    await e.start();
    const receipt = row('R-1', 'RCV', 10, T0);
    await run(e, [receipt]);
    // What the previous version left: the same state, ids stored bare, no `ids/` value.
    const now = await store.load();
    const legacy = new MemoryStateStore();
    await legacy.commit({
      shardId: 'shard-0',
      checkpoint: (await store.loadCheckpoint('shard-0')) ?? { sequenceNumber: '0', subSequenceNumber: 0 },
      series: now.series,
      values: now.values.filter((v) => !v.key.startsWith('ids/')),
      appliedEvents: now.recentEvents.map((a) => ({ ...a, eventId: a.eventId.replace(/^wms:/, '') })),
      deadLetters: [],
      anomalies: [],
    });
    const upgraded = engine(legacy);
    await upgraded.start();
    expect((await run(upgraded, [{ ...receipt, sequenceNumber: String(++seq) }])).duplicates).toBe(1);
    expect(legacy.seriesRows()[0].onHand).toBe(10);
    // The clock at the upgrade is kept: bare ids are looked up only for events up to it.
    expect(await legacy.loadValues(['ids/shard-0'])).toEqual([
      { key: 'ids/shard-0', value: JSON.stringify({ legacyUntil: T0 }) },
    ]);
    // Without the transition the repeat would have been applied a second time.
    const naive = new MemoryStateStore();
    await naive.commit({
      shardId: 'shard-0',
      checkpoint: { sequenceNumber: '0', subSequenceNumber: 0 },
      series: now.series,
      values: [
        ...now.values.filter((v) => !v.key.startsWith('ids/')),
        { key: 'ids/shard-0', value: '{"legacyUntil":null}' },
      ],
      appliedEvents: now.recentEvents.map((a) => ({ ...a, eventId: a.eventId.replace(/^wms:/, '') })),
      deadLetters: [],
      anomalies: [],
    });
    const unaware = engine(naive);
    await unaware.start();
    expect((await run(unaware, [{ ...receipt, sequenceNumber: String(++seq) }])).duplicates).toBe(0);
  });
});
