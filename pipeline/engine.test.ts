import { describe, expect, it } from 'vitest';
import { InventoryEngine, type RecordNormalizer } from './engine.js';
import type { InventoryEvent } from './events.js';
import type { ProcessRecordsInput, StreamRecord } from './lifecycle.js';
import type { AlertNotification, AlertSink } from './ports.js';
import { MemoryStateStore } from './testing/memory-store.js';
import { passThroughRouter } from './testing/pass-through-router.js';

/** Records carry an InventoryEvent as JSON; anything else is a dead letter. */
const jsonNormalizer: RecordNormalizer = {
  normalize(record: StreamRecord, shardId: string) {
    try {
      return { ok: true, events: [JSON.parse(Buffer.from(record.data).toString('utf8')) as InventoryEvent] };
    } catch (err) {
      return {
        ok: false,
        deadLetter: {
          shardId,
          sequenceNumber: record.sequenceNumber,
          subSequenceNumber: record.subSequenceNumber,
          partitionKey: record.partitionKey,
          arrivalTimestamp: record.approximateArrivalTimestamp,
          code: 'invalid_json',
          reason: String(err),
          data: record.data,
        },
      };
    }
  },
};

class RecordingSink implements AlertSink {
  readonly name = 'test';
  readonly received: AlertNotification[] = [];
  failures = 0;
  async publish(ns: readonly AlertNotification[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('sink down');
    }
    for (const n of ns) if (!this.received.some((r) => r.id === n.id)) this.received.push(n);
  }
  async close(): Promise<void> {}
}

let seq = 0;
function record(payload: unknown): StreamRecord {
  seq++;
  return {
    partitionKey: 'p',
    data: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    sequenceNumber: String(seq),
    subSequenceNumber: 0,
    approximateArrivalTimestamp: 0,
  };
}

function event(kind: InventoryEvent['kind'], quantity: number, t: number, id: string): InventoryEvent {
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

function engine(store: MemoryStateStore, sink: RecordingSink): InventoryEngine {
  return new InventoryEngine({
    store,
    sinks: new Map([['test', sink]]),
    createRouter: () => passThroughRouter('test'),
    createNormalizer: () => jsonNormalizer,
    sleep: async () => {},
  });
}

function input(records: StreamRecord[], checkpoints: unknown[] = []): ProcessRecordsInput {
  return { shardId: 'shard-0', records, checkpointer: { checkpoint: async (p) => void checkpoints.push(p) } };
}

const HOUR = 3_600_000;
const stream = (): StreamRecord[] => {
  seq = 0;
  const out: StreamRecord[] = [];
  out.push(record(event('cycle_count', 100, 1 * HOUR, 'opening')));
  for (let i = 0; i < 40; i++) out.push(record(event('sale_fulfilled', 1, (2 + i) * HOUR, `f${i}`)));
  out.push(record('{"truncated'));
  out.push(record(event('sale_fulfilled', 1, 32 * HOUR, 'f30'))); // a duplicate delivery, inside the 24 h window
  out.push(record(event('cycle_count', 40, 50 * HOUR, 'c1'))); // 60 on the book: 20 missing
  out.push(record(event('damage', 70, 51 * HOUR, 'd1'))); // below zero
  return out;
};

describe('InventoryEngine', () => {
  it('applies each event once, dead-letters bad records, and raises explained anomalies', async () => {
    const store = new MemoryStateStore();
    const sink = new RecordingSink();
    const e = engine(store, sink);
    await e.start();
    const checkpoints: unknown[] = [];
    const report = await e.processBatch(input(stream(), checkpoints));
    expect(report.duplicates).toBe(1);
    expect(report.deadLetters.map((d) => d.code)).toEqual(['invalid_json']);
    expect(store.deadLetters()).toHaveLength(1);
    const row = store.seriesRows()[0];
    expect(row.onHand).toBe(40 - 70);
    expect(sink.received.map((n) => n.type).sort()).toEqual(['negative_stock', 'shrinkage']);
    const shrink = sink.received.find((n) => n.type === 'shrinkage')!.anomalies[0];
    expect(shrink.explanation.summary).toContain('20 units missing');
    expect(checkpoints).toEqual([{ sequenceNumber: String(stream().length), subSequenceNumber: 0 }]);
  });

  it('ends in the same state and sends the same alerts once, however the stream is cut and restarted', async () => {
    const clean = new MemoryStateStore();
    const cleanSink = new RecordingSink();
    const a = engine(clean, cleanSink);
    await a.start();
    await a.processBatch(input(stream()));

    const store = new MemoryStateStore();
    const sink = new RecordingSink();
    const all = stream();
    for (const [from, to] of [
      [0, 10],
      [10, 25],
      [25, all.length],
    ]) {
      // A new engine per part: a restart that resumes from the store.
      const e = engine(store, sink);
      await e.start();
      await e.processBatch(input(all.slice(from, to)));
    }
    // And a crash after publishing the last batch but before its commit: replaying it changes nothing.
    const replay = engine(store, sink);
    await replay.start();
    await replay.processBatch(input(all.slice(25)));
    expect(store.seriesRows()).toEqual(clean.seriesRows());
    expect(sink.received.map((n) => n.id).sort()).toEqual(cleanSink.received.map((n) => n.id).sort());
  });

  it('holds the checkpoint while a sink is down, retries, and loses nothing', async () => {
    const store = new MemoryStateStore();
    const sink = new RecordingSink();
    sink.failures = 3;
    const retries: string[] = [];
    const e = new InventoryEngine({
      store,
      sinks: new Map([['test', sink]]),
      createRouter: () => passThroughRouter('test'),
      createNormalizer: () => jsonNormalizer,
      sleep: async () => {
        // While the sink is down, nothing has been committed.
        expect(store.commits).toBe(0);
      },
      onRetry: (what) => retries.push(what),
    });
    await e.start();
    await e.processBatch(input(stream()));
    expect(retries).toEqual(['sink test', 'sink test', 'sink test']);
    expect(store.commits).toBe(1);
    expect(sink.received).toHaveLength(2);
  });

  it('retries a failed commit without applying anything twice', async () => {
    const store = new MemoryStateStore();
    store.failNextCommit = new Error('database is locked');
    const sink = new RecordingSink();
    const e = engine(store, sink);
    await e.start();
    await e.processBatch(input(stream()));
    expect(store.commits).toBe(1);
    expect(store.seriesRows()[0].onHand).toBe(-30);
  });
});
