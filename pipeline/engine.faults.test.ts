/**
 * Bounded waiting (issue 11): a sink that refuses for good does not hold the checkpoint, a store that
 * refuses a row costs that record and not the shard, shutdown interrupts a wait, observers do not
 * steer.
 */
import { describe, expect, it } from 'vitest';
import { InventoryEngine } from './engine.js';
import type { InventoryEvent } from './events.js';
import type { StreamRecord } from './lifecycle.js';
import { type AlertNotification, type AlertSink, type BatchCommit, StoreRefusedError } from './ports.js';
import { RetryGiveUpError } from './retry.js';
import { MemoryStateStore } from './testing/memory-store.js';
import { passThroughRouter } from './testing/pass-through-router.js';

const HOUR = 3_600_000;
let seq = 0;

function record(e: Partial<InventoryEvent> & { eventId: string }): StreamRecord {
  seq++;
  const event: InventoryEvent = {
    sourceId: e.eventId,
    source: 'wms',
    kind: 'receipt',
    sku: 'SKU-1',
    warehouse: 'WH-1',
    occurredAt: HOUR * seq,
    quantity: 1,
    ...e,
  };
  return {
    partitionKey: 'p',
    data: Buffer.from(JSON.stringify(event)),
    sequenceNumber: String(seq),
    subSequenceNumber: 0,
    approximateArrivalTimestamp: HOUR * seq,
  };
}

/** Every record holds one event as JSON. */
const jsonNormalizer = {
  normalize: (r: StreamRecord) => ({
    ok: true as const,
    events: [JSON.parse(Buffer.from(r.data).toString('utf8')) as InventoryEvent],
  }),
};

/** A sink that refuses some notifications with a given error, and records what it accepted. */
class Sink implements AlertSink {
  readonly name = 'ops';
  readonly accepted: AlertNotification[] = [];
  refuse: ((n: AlertNotification) => Error | null) | null = null;
  async publish(ns: readonly AlertNotification[]): Promise<void> {
    for (const n of ns) {
      const err = this.refuse?.(n);
      if (err) throw err;
    }
    for (const n of ns) if (!this.accepted.some((a) => a.id === n.id)) this.accepted.push(n);
  }
  async close(): Promise<void> {}
}

function engine(
  store: MemoryStateStore,
  sink: Sink,
  extra: Partial<ConstructorParameters<typeof InventoryEngine>[0]> = {},
) {
  return new InventoryEngine({
    store,
    sinks: new Map([['ops', sink]]),
    createRouter: () => passThroughRouter('ops'),
    createNormalizer: () => jsonNormalizer,
    sleep: async () => {},
    ...extra,
  });
}

const batch = (records: StreamRecord[]) => ({
  shardId: 'shard-0',
  records,
  checkpointer: { checkpoint: async () => {} },
});

/** Two series driven below zero: a negative-stock anomaly (one notification) each. */
function alarming(): StreamRecord[] {
  seq = 0;
  return ['SKU-1', 'SKU-2'].flatMap((sku) => [
    record({ eventId: `count-${sku}`, kind: 'cycle_count', quantity: 1, sku }),
    record({ eventId: `dmg-${sku}`, kind: 'damage', quantity: 5, sku }),
  ]);
}

describe('a sink that refuses for good', () => {
  it('parks the refused notification with the reason, delivers the others, and lets the checkpoint move', async () => {
    const store = new MemoryStateStore();
    const sink = new Sink();
    const first: string[] = [];
    sink.refuse = (n) => {
      first.push(n.id);
      return n.id === first[0]
        ? Object.assign(new Error('HTTP 410 Gone: webhook deleted'), { status: 410 })
        : null;
    };
    const e = engine(store, sink);
    await e.start();
    const report = await e.processBatch(batch(alarming()));
    expect(report.undelivered).toHaveLength(1);
    expect(report.undelivered[0]).toMatchObject({
      receiver: 'ops',
      shardId: 'shard-0',
      reason: 'HTTP 410 Gone: webhook deleted',
    });
    expect(store.undelivered().map((u) => u.notification.id)).toEqual([
      report.undelivered[0].notification.id,
    ]);
    expect(sink.accepted.map((n) => n.id)).toEqual(report.notifications.map((r) => r.notification.id));
    expect(sink.accepted.length).toBeGreaterThan(0);
    expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '4', subSequenceNumber: 0 });
  });

  it('holds the checkpoint while the failure is transient, and aborting the wait abandons the batch', async () => {
    const store = new MemoryStateStore();
    const sink = new Sink();
    sink.refuse = () =>
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const stop = new AbortController();
    const retries: number[] = [];
    const e = engine(store, sink, {
      signal: stop.signal,
      sleep: undefined,
      onRetry: (_what, attempt) => {
        retries.push(attempt);
        if (attempt === 3) stop.abort(new Error('SIGTERM'));
        // An observer that throws steers nothing.
        throw new Error('observer failure');
      },
    });
    await e.start();
    const failed = await e.processBatch(batch(alarming())).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(RetryGiveUpError);
    expect(failed).toMatchObject({ reason: 'aborted', what: 'sink ops' });
    expect(retries).toEqual([1, 2, 3]);
    expect(store.commits).toBe(0);
    expect(await store.loadCheckpoint('shard-0')).toBeNull();
  });
});

describe('a sink that asks to be called back later', () => {
  it('is not retried before its Retry-After', async () => {
    const store = new MemoryStateStore();
    const sink = new Sink();
    let refusals = 2;
    sink.refuse = () =>
      refusals-- > 0 ? Object.assign(new Error('HTTP 429'), { status: 429, retryAfterMs: 7_000 }) : null;
    const waits: number[] = [];
    const e = engine(store, sink, { sleep: async (ms) => void waits.push(ms) });
    await e.start();
    await e.processBatch(batch(alarming()));
    expect(waits).toHaveLength(2);
    for (const ms of waits) expect(ms).toBeGreaterThanOrEqual(7_000);
    expect(sink.accepted.length).toBeGreaterThan(0);
  });
});

describe('a store that refuses a row', () => {
  it('dead-letters the record that carries it, with the store reason, and commits everything else', async () => {
    const store = new MemoryStateStore();
    const commit = store.commit.bind(store);
    // As MariaDB refusing a value too long for its column: whatever batch carries SKU-BAD.
    store.commit = async (b: BatchCommit) => {
      if (b.series.some((s) => s.sku === 'SKU-BAD')) {
        throw new StoreRefusedError('mysql', "Data too long for column 'sku' at row 1");
      }
      await commit(b);
    };
    seq = 0;
    const records = [
      record({ eventId: 'r1' }),
      record({ eventId: 'r2' }),
      record({ eventId: 'bad', sku: 'SKU-BAD' }),
      record({ eventId: 'r3' }),
      record({ eventId: 'r4', sku: 'SKU-2' }),
    ];
    const e = engine(store, new Sink());
    await e.start();
    const report = await e.processBatch(batch(records));
    expect(report.deadLetters.map((d) => [d.sequenceNumber, d.code])).toEqual([['3', 'store_refused']]);
    expect(report.deadLetters[0].reason).toBe(
      "mysql state store refused the batch: Data too long for column 'sku' at row 1",
    );
    expect(store.deadLetters().map((d) => d.sequenceNumber)).toEqual(['3']);
    expect(store.seriesRows().map((r) => [r.sku, r.onHand])).toEqual([
      ['SKU-1', 3],
      ['SKU-2', 1],
    ]);
    expect(report.events).toBe(4);
    expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '5', subSequenceNumber: 0 });
  });
});

describe('quarantine', () => {
  it('marks out-of-window records as quarantined when configured, and only those', async () => {
    const store = new MemoryStateStore();
    seq = 0;
    const e = engine(store, new Sink(), { outOfWindow: 'quarantine' });
    await e.start();
    const old = record({ eventId: 'old', occurredAt: 0 });
    const report = await e.processBatch(batch([record({ eventId: 'now', occurredAt: 40 * HOUR }), old]));
    expect(report.deadLetters.map((d) => [d.code, d.disposition])).toEqual([['expired_event', 'quarantine']]);
  });
});

describe('a detector or router that throws on one event', () => {
  it('costs that event its judgement, reported, never the batch: the event is applied and the rest judged', async () => {
    const store = new MemoryStateStore();
    const routed: string[] = [];
    const e = new InventoryEngine({
      store,
      sinks: new Map([['ops', new Sink()]]),
      // A router that refuses the first series' anomaly, as it refuses one with a non-finite explanation.
      createRouter: () => {
        const inner = passThroughRouter('ops');
        return {
          ...inner,
          add: (a) => {
            if (a.sku === 'SKU-1')
              throw new Error(
                'anomaly.explanation.features[0] must have finite observed and expected values',
              );
            routed.push(a.sku);
            inner.add(a);
          },
        };
      },
      createNormalizer: () => jsonNormalizer,
      sleep: async () => {},
    });
    await e.start();
    const report = await e.processBatch(batch(alarming()));
    expect(report.detectionFailures.map((f) => [f.event.eventId, f.stage])).toEqual([['dmg-SKU-1', 'route']]);
    expect(report.detectionFailures[0].reason).toContain('must have finite observed and expected values');
    expect(routed).toEqual(['SKU-2']);
    expect(store.seriesRows().map((r) => [r.sku, r.onHand])).toEqual([
      ['SKU-1', -4],
      ['SKU-2', -4],
    ]);
    expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '4', subSequenceNumber: 0 });
  });
});
