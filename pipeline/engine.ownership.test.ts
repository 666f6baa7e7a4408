/**
 * The engine when shards move between workers: two engines (two workers) share one store; a shard
 * moves from one to the other, comes back, or is resharded. Whatever the moves, the final state is
 * the one a single worker reaches, each effect applied once, and a worker that lost a shard can
 * neither commit nor alert for it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InventoryEngine, type RecordNormalizer, type RoutedNotification } from './engine.js';
import type { InventoryEvent } from './events.js';
import type { ProcessRecordsInput, ShardRecordProcessor, StreamRecord } from './lifecycle.js';
import { type AlertNotification, type AlertSink, StaleCheckpointError } from './ports.js';
import { RetryGiveUpError } from './retry.js';
import { MemoryStateStore } from './testing/memory-store.js';

const normalizer: RecordNormalizer = {
  normalize(record) {
    return { ok: true, events: [JSON.parse(Buffer.from(record.data).toString('utf8')) as InventoryEvent] };
  },
};

class Sink implements AlertSink {
  readonly name = 'test';
  readonly received: AlertNotification[] = [];
  async publish(ns: readonly AlertNotification[]): Promise<void> {
    this.received.push(...ns);
  }
  async close(): Promise<void> {}
}

function worker(store: MemoryStateStore, sink = new Sink()): InventoryEngine {
  return new InventoryEngine({
    store,
    sinks: new Map([['test', sink]]),
    createRouter: () => {
      const pending: RoutedNotification[] = [];
      return {
        add: (a) =>
          pending.push({
            receiver: 'test',
            notification: {
              id: a.id,
              groupKey: a.type,
              warehouse: a.warehouse,
              type: a.type,
              severity: a.severity,
              anomalies: [a],
              suppressed: 0,
            },
          }),
        advance: () => pending.splice(0),
        flushAll: () => pending.splice(0),
        toJSON: () => ({}),
      };
    },
    createNormalizer: () => normalizer,
    sleep: async () => {},
  });
}

const HOUR = 3_600_000;

/** A shard's records: per item an opening count, sales, a duplicate delivery and a short count. */
function shardRecords(items: number, salesPerItem: number, tag: string): StreamRecord[] {
  const out: StreamRecord[] = [];
  const push = (e: InventoryEvent): void => {
    out.push({
      partitionKey: `${e.sku}|${e.warehouse}`,
      data: Buffer.from(JSON.stringify(e)),
      sequenceNumber: String(out.length + 1),
      subSequenceNumber: 0,
      approximateArrivalTimestamp: 0,
    });
  };
  const ev = (i: number, kind: InventoryEvent['kind'], q: number, t: number, id: string): InventoryEvent => ({
    eventId: `${tag}-${id}`,
    sourceId: id,
    source: 'wms',
    kind,
    sku: `SKU-${tag}-${i}`,
    warehouse: 'WH-1',
    occurredAt: t,
    quantity: q,
  });
  for (let i = 0; i < items; i++) push(ev(i, 'cycle_count', 100, HOUR, `open-${i}`));
  for (let k = 0; k < salesPerItem; k++) {
    for (let i = 0; i < items; i++) push(ev(i, 'sale_fulfilled', 1, (2 + k) * HOUR, `s-${i}-${k}`));
    // A producer retry: the first sale of item 0 again, much later in the shard.
    if (k === salesPerItem - 1) push(ev(0, 'sale_fulfilled', 1, 2 * HOUR, 's-0-0'));
  }
  for (let i = 0; i < items; i++) push(ev(i, 'cycle_count', 100 - salesPerItem - 5, 60 * HOUR, `count-${i}`));
  return out;
}

function batchInput(shardId: string, records: StreamRecord[]): ProcessRecordsInput {
  return { shardId, records, checkpointer: { checkpoint: async () => {} } };
}

async function reference(shards: Record<string, StreamRecord[]>) {
  const store = new MemoryStateStore();
  const sink = new Sink();
  const w = worker(store, sink);
  for (const [shardId, records] of Object.entries(shards)) await w.processBatch(batchInput(shardId, records));
  return { store, sink };
}

const init = async (p: ShardRecordProcessor, shardId: string, parentShardIds?: string[]) =>
  p.initialize({ shardId, checkpoint: null, parentShardIds });

describe('InventoryEngine across workers', () => {
  it('a shard moved mid-stream ends in the single-worker state; the old owner is fenced off', async () => {
    const records = shardRecords(5, 12, 'a');
    const ref = await reference({ 'shard-0': records });

    const store = new MemoryStateStore();
    const sinkA = new Sink();
    const sinkB = new Sink();
    const a = worker(store, sinkA);
    const b = worker(store, sinkB);
    const pa = a.createProcessor('shard-0');
    await init(pa, 'shard-0');
    await a.processBatch(batchInput('shard-0', records.slice(0, 20)));
    // A's lease expires; B takes the shard and goes on from the stored checkpoint.
    const pb = b.createProcessor('shard-0');
    await init(pb, 'shard-0');
    await b.processBatch(batchInput('shard-0', records.slice(20, 45)));
    // A still believes it owns the shard and processes what it had fetched: refused, nothing written.
    const before = store.seriesRows();
    await expect(a.processBatch(batchInput('shard-0', records.slice(20, 30)))).rejects.toBeInstanceOf(
      StaleCheckpointError,
    );
    expect(store.seriesRows()).toEqual(before);
    expect(a.ownedShards).toEqual([]);
    await b.processBatch(batchInput('shard-0', records.slice(45)));

    expect(store.seriesRows()).toEqual(ref.store.seriesRows());
    expect(
      store
        .anomalies()
        .map((x) => x.id)
        .sort(),
    ).toEqual(
      ref.store
        .anomalies()
        .map((x) => x.id)
        .sort(),
    );
    // Every alert once, across both workers' sinks.
    const sent = [...sinkA.received, ...sinkB.received].map((n) => n.id).sort();
    expect(sent).toEqual(ref.sink.received.map((n) => n.id).sort());
    expect(new Set(sent).size).toBe(sent.length);
  });

  it('a duplicate delivered after the move is dropped: the new owner reads the duplicate window', async () => {
    const records = shardRecords(2, 6, 'd');
    const store = new MemoryStateStore();
    const a = worker(store);
    const b = worker(store);
    await a.processBatch(batchInput('shard-0', records.slice(0, 8)));
    await init(b.createProcessor('shard-0'), 'shard-0');
    const report = await b.processBatch(batchInput('shard-0', records.slice(8)));
    expect(report.duplicates).toBe(1);
    const ref = await reference({ 'shard-0': records });
    expect(store.seriesRows()).toEqual(ref.store.seriesRows());
  });

  it('a worker that gets a shard back re-reads what changed while another worker owned it', async () => {
    const records = shardRecords(3, 10, 'r');
    const store = new MemoryStateStore();
    const a = worker(store);
    const b = worker(store);
    const pa = a.createProcessor('shard-0');
    await init(pa, 'shard-0');
    await a.processBatch(batchInput('shard-0', records.slice(0, 12)));
    await pa.leaseLost({ shardId: 'shard-0' });
    await init(b.createProcessor('shard-0'), 'shard-0');
    await b.processBatch(batchInput('shard-0', records.slice(12, 25)));
    await init(a.createProcessor('shard-0'), 'shard-0');
    await a.processBatch(batchInput('shard-0', records.slice(25)));
    const ref = await reference({ 'shard-0': records });
    expect(store.seriesRows()).toEqual(ref.store.seriesRows());
  });

  it('resharding: a child shard carries on the series of its ended parent, on another worker', async () => {
    const records = shardRecords(4, 8, 'p');
    const store = new MemoryStateStore();
    const a = worker(store);
    const b = worker(store);
    const parent = a.createProcessor('shard-0');
    await init(parent, 'shard-0');
    await a.processBatch(batchInput('shard-0', records.slice(0, 20)));
    let ended = false;
    await parent.shardEnded({
      shardId: 'shard-0',
      checkpointer: {
        checkpoint: async (p) => {
          ended = p === undefined;
        },
      },
    });
    expect(ended).toBe(true);
    // The child's sequence numbers start over; its records continue the same items.
    const child = b.createProcessor('shard-1');
    await init(child, 'shard-1', ['shard-0']);
    await b.processBatch(batchInput('shard-1', records.slice(20)));
    const ref = await reference({ 'shard-0': records });
    expect(store.seriesRows()).toEqual(ref.store.seriesRows());
    // The child started from its parent's learned baselines.
    const values = await store.loadValues(['detector/shard-0', 'detector/shard-1']);
    expect(values).toHaveLength(2);
  });

  it("a batch refused by the fence leaves nothing behind: another shard's commit does not carry it", async () => {
    const s0 = shardRecords(3, 8, 'a');
    const s1 = shardRecords(3, 8, 'b');
    const ref = await reference({ 'shard-0': s0, 'shard-1': s1 });
    const store = new MemoryStateStore();
    const w = worker(store);
    const thief = worker(store);
    await w.processBatch(batchInput('shard-0', s0.slice(0, 10)));
    await w.processBatch(batchInput('shard-1', s1.slice(0, 10)));
    // Another worker takes shard-0 and commits first; W's next shard-0 batch is refused...
    await init(thief.createProcessor('shard-0'), 'shard-0');
    await thief.processBatch(batchInput('shard-0', s0.slice(10, 15)));
    await expect(w.processBatch(batchInput('shard-0', s0.slice(10, 20)))).rejects.toBeInstanceOf(
      StaleCheckpointError,
    );
    // ...and W's next shard-1 commit must not write W's stale shard-0 series.
    await w.processBatch(batchInput('shard-1', s1.slice(10)));
    await thief.processBatch(batchInput('shard-0', s0.slice(15)));
    expect(store.seriesRows()).toEqual(ref.store.seriesRows());
  });

  it('a batch that fails after changing memory is forgotten: the shard resumes from the store', async () => {
    const s0 = shardRecords(3, 8, 'f');
    const s1 = shardRecords(3, 8, 'g');
    const ref = await reference({ 'shard-0': s0, 'shard-1': s1 });
    const store = new MemoryStateStore();
    let giveUp = false;
    // An engine whose retries give up (as a Lambda near its deadline does): the store is down once.
    const w = new InventoryEngine({
      store,
      sinks: new Map(),
      createRouter: () => ({ add: () => {}, advance: () => [], flushAll: () => [], toJSON: () => ({}) }),
      createNormalizer: () => normalizer,
      sleep: async () => {
        if (giveUp) throw new Error('deadline');
      },
    });
    await w.processBatch(batchInput('shard-0', s0.slice(0, 10)));
    giveUp = true;
    store.failNextCommit = new Error('store down');
    await expect(w.processBatch(batchInput('shard-0', s0.slice(10)))).rejects.toThrow(RetryGiveUpError);
    giveUp = false;
    // Another shard's commit must not carry the failed batch's series, and the shard starts over.
    await w.processBatch(batchInput('shard-1', s1));
    await w.processBatch(batchInput('shard-0', s0.slice(10)));
    expect(store.seriesRows()).toEqual(ref.store.seriesRows());
  });

  it('a commit whose answer was lost, retried, finds its own checkpoint stored and counts as done', async () => {
    const s0 = shardRecords(2, 6, 'l');
    const ref = await reference({ 'shard-0': s0 });
    const store = new MemoryStateStore();
    const w = worker(store);
    await w.processBatch(batchInput('shard-0', s0.slice(0, 8)));
    // The commit lands, but its answer is lost (the connection died after COMMIT): the engine retries.
    const commit = store.commit.bind(store);
    let lost = 1;
    store.commit = async (b) => {
      await commit(b);
      if (lost-- > 0) throw new Error('connection lost');
    };
    await w.processBatch(batchInput('shard-0', s0.slice(8)));
    expect(store.seriesRows()).toEqual(ref.store.seriesRows());
    expect(w.ownedShards).toEqual(['shard-0']);
  });

  it('the same batch committed first by the worker that stole the shard is refused, not counted as done', async () => {
    const s0 = shardRecords(2, 6, 'd');
    const store = new MemoryStateStore();
    const a = worker(store);
    const b = worker(store);
    // Both start the shard at the same checkpoint (B stole it while A's first batch was in flight),
    // fetch the same records, and B commits first: A's commit finds B's checkpoint, equal to its own.
    await init(a.createProcessor('shard-0'), 'shard-0');
    await init(b.createProcessor('shard-0'), 'shard-0');
    await b.processBatch(batchInput('shard-0', s0.slice(0, 10)));
    await expect(a.processBatch(batchInput('shard-0', s0.slice(0, 10)))).rejects.toBeInstanceOf(
      StaleCheckpointError,
    );
    expect(a.ownedShards).toEqual([]);
    expect(b.ownedShards).toEqual(['shard-0']);
  });

  it('property: any cut of a shard into ownership periods, on either worker, ends in the single-worker state', async () => {
    const records = shardRecords(3, 9, 'x');
    const ref = await reference({ 'shard-0': records });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: records.length - 1 }), { maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
        async (cuts, onA) => {
          const store = new MemoryStateStore();
          const workers = [worker(store), worker(store)];
          const bounds = [0, ...[...cuts].sort((x, y) => x - y), records.length];
          for (let i = 0; i + 1 < bounds.length; i++) {
            const w = workers[onA[i] ? 0 : 1] as InventoryEngine;
            // Each period begins with a (re)initialization of the shard on its worker.
            await init(w.createProcessor('shard-0'), 'shard-0');
            await w.processBatch(batchInput('shard-0', records.slice(bounds[i], bounds[i + 1])));
          }
          expect(store.seriesRows()).toEqual(ref.store.seriesRows());
        },
      ),
      { numRuns: 40 },
    );
  });
});
