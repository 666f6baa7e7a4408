/**
 * Issue 11's acceptance property: for any stream of valid records mixed with hostile ones — dated in
 * the future or before the duplicate window, with huge or odd keys, repeated, reordered across series
 * — cut into any batches and with restarts anywhere, the final inventory state equals a clean replay of
 * the valid records alone, and every hostile record is dead-lettered with a reason (repeats are
 * dropped as duplicates instead).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulateInventory } from '../datasets/index.js';
import { InventoryEngine } from './engine.js';
import type { StreamRecord } from './lifecycle.js';
import { createNormalizer } from './normalize/normalize.js';
import { MemoryStateStore } from './testing/memory-store.js';

const DAY = 86_400_000;
const valid: string[] = [];
for (const o of simulateInventory({
  seed: 7,
  days: 3,
  skus: 6,
  warehouses: 2,
  malformedRate: 0,
  duplicateRate: 0,
}))
  if (o.type === 'record') valid.push(o.line);
const timeOf = (line: Record<string, unknown>): number => {
  if (typeof line.TXN_TIME === 'string') return Date.parse(`${line.TXN_TIME.replace(' ', 'T')}Z`);
  if (typeof line.occurredAt === 'number') return line.occurredAt;
  return Date.parse(String(line.issued_at));
};
const parsed = valid.map((l) => JSON.parse(l) as Record<string, unknown>);
const END = Math.max(...parsed.map(timeOf));
/** Every record reached the stream after the last event: only hostile dates are in the future. */
const ARRIVED = END + DAY;

type Hostile = 'future' | 'past' | 'huge_key' | 'odd_key';
const ODD = ['SKU\u202e-1', 'SKU\u0000', 'SKU-\ud800', 'W\u0085H', '\u2066X\u2069'];

/** A hostile variant of valid line `i`: a new record (fresh id) with one bad property. */
function hostile(i: number, kind: Hostile, n: number): string {
  const r = structuredClone(parsed[i]);
  const id = `H${n}`;
  const setTime = (t: number) => {
    if ('TXN_TIME' in r) r.TXN_TIME = new Date(t).toISOString().replace('T', ' ').slice(0, 19);
    else if ('occurredAt' in r) r.occurredAt = t;
    else r.issued_at = new Date(t).toISOString();
  };
  const setKey = (k: string) => {
    if ('ITEM_NO' in r) r.ITEM_NO = k;
    else if (Array.isArray(r.items)) (r.items as Array<{ sku: string }>)[0].sku = k;
    else (r.lines as Array<{ sku: string }>)[0].sku = k;
  };
  if ('LOG_ID' in r) r.LOG_ID = id;
  else if ('eventId' in r) r.eventId = id;
  else r.doc_id = id;
  if (kind === 'future') setTime(ARRIVED + 16 * 60_000 + n * 3_600_000);
  if (kind === 'past') setTime(END - 30 * DAY);
  if (kind === 'huge_key') setKey('S'.repeat(129 + n * 97));
  if (kind === 'odd_key') setKey(ODD[n % ODD.length]);
  return JSON.stringify(r);
}

const EXPECTED_CODE: Record<Hostile, string> = {
  future: 'future_event',
  past: 'expired_event',
  huge_key: 'schema',
  odd_key: 'schema',
};

interface Item {
  line: string;
  hostile?: Hostile;
  duplicate?: boolean;
}

const seriesOf = (line: string): string => {
  const r = JSON.parse(line) as Record<string, unknown>;
  return JSON.stringify(r.ITEM_NO ?? r.fulfillmentCenter ?? r.ship_to);
};

const scenario = fc.record({
  /** Hostile records: class and where (after which valid record) they come. */
  hostiles: fc.array(
    fc.record({
      kind: fc.constantFrom<Hostile>('future', 'past', 'huge_key', 'odd_key'),
      after: fc.nat(),
      source: fc.nat(),
    }),
    { maxLength: 40 },
  ),
  /** Repeats of valid records, up to 150 records after their original. */
  duplicates: fc.array(fc.record({ of: fc.nat(), later: fc.integer({ min: 1, max: 150 }) }), {
    maxLength: 40,
  }),
  /** Adjacent swaps of records of different series (per-series order is the stream's promise). */
  swaps: fc.array(fc.nat(), { maxLength: 200 }),
  batches: fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 30 }),
  restarts: fc.array(fc.nat(), { maxLength: 3 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function build(s: Scenario): Item[] {
  const items: Item[] = valid.map((line) => ({ line }));
  for (const sw of s.swaps) {
    const i = sw % (items.length - 1);
    if (seriesOf(items[i].line) !== seriesOf(items[i + 1].line))
      [items[i], items[i + 1]] = [items[i + 1], items[i]];
  }
  const inserts: Array<{ at: number; item: Item }> = [];
  // The shard's clock (newest event time) after each record: a repeat must come while its original
  // is still inside the 24 h window, or it is rightly refused as expired.
  const clock: number[] = [];
  items.forEach((it, i) => {
    clock.push(Math.max(i > 0 ? clock[i - 1] : Number.NEGATIVE_INFINITY, timeOf(JSON.parse(it.line))));
  });
  for (const d of s.duplicates) {
    const of = d.of % items.length;
    const t = timeOf(JSON.parse(items[of].line));
    let at = of + 1;
    while (at < Math.min(items.length, of + d.later) && clock[at] < t + 20 * 3_600_000) at++;
    inserts.push({ at, item: { line: items[of].line, duplicate: true } });
  }
  s.hostiles.forEach((h, n) => {
    // After the first valid record: a shard has no clock before its first event, and a record dated
    // 30 days back is only "old" against one.
    inserts.push({
      at: 1 + (h.after % items.length),
      item: { line: hostile(h.source % parsed.length, h.kind, n), hostile: h.kind },
    });
  });
  inserts.sort((a, b) => b.at - a.at);
  for (const { at, item } of inserts) items.splice(at, 0, item);
  return items;
}

function records(items: readonly Item[]): StreamRecord[] {
  return items.map((it, i) => ({
    partitionKey: 'p',
    data: Buffer.from(it.line),
    sequenceNumber: String(i + 1),
    subSequenceNumber: 0,
    approximateArrivalTimestamp: ARRIVED,
  }));
}

const engineOn = (store: MemoryStateStore) =>
  new InventoryEngine({
    store,
    sinks: new Map(),
    createRouter: () => ({ add: () => {}, advance: () => [], flushAll: () => [], toJSON: () => ({}) }),
    createNormalizer: (casePack) => createNormalizer({ casePack }),
  });

/** The inventory a store holds: the numbers that must not depend on arrival order or batching. */
function inventory(store: MemoryStateStore) {
  return store.seriesRows().map((r) => ({
    sku: r.sku,
    warehouse: r.warehouse,
    onHand: r.onHand,
    reserved: r.reserved,
    inbound: r.inbound,
    lastCountQuantity: r.lastCountQuantity,
    lastCountAt: r.lastCountAt,
  }));
}

async function replay(store: MemoryStateStore, recs: StreamRecord[], batches: number[], restarts: number[]) {
  let engine = engineOn(store);
  await engine.start();
  let i = 0;
  let b = 0;
  const restartAt = new Set(restarts.map((r) => r % Math.max(1, batches.length)));
  while (i < recs.length) {
    const size = batches[b % batches.length];
    await engine.processBatch({
      shardId: 'shard-0',
      records: recs.slice(i, i + size),
      checkpointer: { checkpoint: async () => {} },
    });
    i += size;
    if (restartAt.has(b++ % batches.length)) {
      engine = engineOn(store);
      await engine.start();
    }
  }
}

const reference = (async () => {
  const store = new MemoryStateStore();
  const sorted = build({ hostiles: [], duplicates: [], swaps: [], batches: [100_000], restarts: [] });
  await replay(store, records(sorted), [100_000], []);
  return inventory(store);
})();

describe('the engine against a hostile stream', () => {
  it('ends in the clean state of the valid records, and dead-letters every hostile one with its reason (property)', async () => {
    expect((await reference).length).toBeGreaterThan(5);
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const items = build(s);
        const store = new MemoryStateStore();
        await replay(store, records(items), s.batches, s.restarts);
        expect(inventory(store)).toEqual(await reference);
        const letters = new Map(store.deadLetters().map((d) => [Number(d.sequenceNumber), d]));
        items.forEach((it, i) => {
          const d = letters.get(i + 1);
          if (it.hostile) {
            expect(d?.code, `${it.hostile} record ${i + 1}`).toBe(EXPECTED_CODE[it.hostile]);
            expect(d?.reason.length).toBeGreaterThan(10);
          } else {
            expect(d, `valid record ${i + 1} was dead-lettered: ${d?.reason}`).toBeUndefined();
          }
        });
      }),
      { numRuns: 40 },
    );
  });
});
