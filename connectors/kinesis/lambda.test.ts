/**
 * The Lambda entry, in process: Lambda events built by hand, the real engine and normalizer on a
 * MemoryStateStore, a recording sink, and failures injected where a batch must fail (a normalizer that
 * throws on chosen records, a sink or store that is down).
 */
import { aggregate } from 'aws-kinesis-agg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulateInventory } from '../../datasets/index.js';
import { InventoryEngine } from '../../pipeline/engine.js';
import type { ExtendedSequenceNumber, StreamRecord } from '../../pipeline/lifecycle.js';
import { createNormalizer } from '../../pipeline/normalize/normalize.js';
import type { AlertNotification, AlertSink, BatchCommit } from '../../pipeline/ports.js';
import { MemoryStateStore } from '../../pipeline/testing/memory-store.js';
import { passThroughRouter } from '../../pipeline/testing/pass-through-router.js';
import {
  createKinesisHandler,
  type EngineRetryHooks,
  InvalidKinesisEventError,
  type KinesisEvent,
  type KinesisEventRecord,
  type KinesisHandlerOptions,
  LambdaRetryBudget,
} from './lambda.js';
import { partitionKeyOf } from './producer.js';

const ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/inventory';
const SHARDS = ['shardId-000000000000', 'shardId-000000000001'] as const;
const BASE = 49590338271490256608559692538361571095921575989136588898n;

/** Generated raw lines: a few days of two SKUs with many injected anomalies (so alerts go out). */
const LINES: string[] = [];
for (const o of simulateInventory({ seed: 3, days: 3, skus: 2, anomalyRate: 1 }))
  if (o.type === 'record') LINES.push(o.line);
const KEYS = [...new Set(LINES.map(partitionKeyOf))].sort();

/** One Kinesis record as a producer put it, on the shard its key maps to. */
interface Put {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
}

/** Puts lines on the two shards (keys alternate between them), with increasing sequence numbers. */
function stream(lines: readonly string[]): Put[] {
  return lines.map((line, i) => {
    const partitionKey = partitionKeyOf(line);
    return {
      shardId: SHARDS[KEYS.indexOf(partitionKey) % 2],
      sequenceNumber: String(BASE + BigInt(i) * 1000n),
      partitionKey,
      data: Buffer.from(line),
    };
  });
}

const lambdaRecord = (p: Put): KinesisEventRecord => ({
  kinesis: {
    data: p.data.toString('base64'),
    partitionKey: p.partitionKey,
    sequenceNumber: p.sequenceNumber,
    approximateArrivalTimestamp: 1780272000.25, // 2026-06-01: after every generated event (they start 2026-01-05)
    kinesisSchemaVersion: '1.0',
  },
  eventID: `${p.shardId}:${p.sequenceNumber}`,
  eventSourceARN: ARN,
  eventSource: 'aws:kinesis',
  eventName: 'aws:kinesis:record',
});

const eventOf = (puts: readonly Put[]): KinesisEvent => ({ Records: puts.map(lambdaRecord) });
const onShard = (puts: readonly Put[], shardId: string): Put[] => puts.filter((p) => p.shardId === shardId);
const pos = (sequenceNumber: string, subSequenceNumber = 0): ExtendedSequenceNumber => ({
  sequenceNumber,
  subSequenceNumber,
});
const key = (p: ExtendedSequenceNumber | { sequenceNumber: string; subSequenceNumber: number }): string =>
  `${p.sequenceNumber}/${p.subSequenceNumber}`;

/** Records every notification it is handed (repeats included); `down` makes it throw. */
class RecordingSink implements AlertSink {
  readonly name = 'alerts';
  readonly delivered: string[] = [];
  calls = 0;
  down: ((n: AlertNotification) => boolean) | null = null;
  async publish(ns: readonly AlertNotification[]): Promise<void> {
    this.calls++;
    const down = this.down;
    if (down && ns.some((n) => down(n))) throw new Error('sink down');
    for (const n of ns) this.delivered.push(n.id);
  }
  async close(): Promise<void> {}
}

class PoisonError extends Error {
  override readonly name = 'PoisonError';
}

/** A MemoryStateStore whose commits can be refused (`down`), as a store outage beyond any retry. */
class FlakyStore extends MemoryStateStore {
  down: ((b: BatchCommit) => boolean) | null = null;
  override async commit(b: BatchCommit): Promise<void> {
    if (this.down?.(b)) throw new Error('store down');
    await super.commit(b);
  }
}

/**
 * What the Lambda containers share (the store, the sink) and what the test controls: records whose
 * position is in `poison` make the normalizer throw; `normalized` lists the positions normalized, and
 * the handler's log messages (as `log:<msg>`) in between, to tell what happened after what.
 */
class World {
  readonly store = new FlakyStore();
  readonly sink = new RecordingSink();
  readonly poison = new Set<string>();
  readonly normalized: string[] = [];
  readonly logs: Array<{ level: string; obj: object; msg: string }> = [];

  engine(hooks?: EngineRetryHooks): InventoryEngine {
    return new InventoryEngine({
      store: this.store,
      sinks: new Map([['alerts', this.sink]]),
      createRouter: () => passThroughRouter('alerts'),
      createNormalizer: (casePack) => {
        const n = createNormalizer({ casePack });
        return {
          normalize: (r: StreamRecord, shardId: string) => {
            this.normalized.push(key(r));
            if (this.poison.has(key(r))) throw new PoisonError(`poisoned record ${key(r)}`);
            return n.normalize(r, shardId);
          },
        };
      },
      ...hooks,
    });
  }

  /** A new container: its own handler and engine, over the shared store and sink. */
  container(options: Partial<KinesisHandlerOptions> = {}) {
    const log = (level: string) => (obj: object, msg: string) => {
      this.logs.push({ level, obj, msg });
      this.normalized.push(`log:${msg}`);
    };
    return createKinesisHandler({
      engine: async (hooks) => this.engine(hooks),
      store: this.store,
      retry: new LambdaRetryBudget({ sleep: async () => {} }),
      logger: { info: log('info'), warn: log('warn'), error: log('error') },
      ...options,
    });
  }
}

/** What the stream job should end with: every record through a plain engine, one batch per shard. */
async function reference(puts: readonly Put[]) {
  const world = new World();
  const engine = world.engine();
  await engine.start();
  for (const shardId of SHARDS) {
    const records = onShard(puts, shardId).map(
      (p): StreamRecord => ({
        partitionKey: p.partitionKey,
        data: p.data,
        sequenceNumber: p.sequenceNumber,
        subSequenceNumber: 0,
        approximateArrivalTimestamp: 1780272000250, // as lambdaRecord stamps them
      }),
    );
    if (records.length > 0)
      await engine.processBatch({ shardId, records, checkpointer: { checkpoint: async () => {} } });
  }
  return outcome(world);
}

/** The observable result: state, anomalies, dead letters, checkpoints, alerts delivered. */
async function outcome(world: World) {
  return {
    series: world.store.seriesRows(),
    anomalies: world.store
      .anomalies()
      .map((a) => a.id)
      .sort(),
    deadLetters: world.store
      .deadLetters()
      .map((d) => `${d.shardId}|${key(d)}|${d.code}`)
      .sort(),
    checkpoints: await Promise.all(SHARDS.map((s) => world.store.loadCheckpoint(s))),
    alerts: [...world.sink.delivered].sort(),
  };
}

describe('createKinesisHandler', () => {
  it('processes a clean batch of two shards completely and reports nothing', async () => {
    const puts = stream(LINES.slice(0, 150));
    const world = new World();
    const handler = world.container();
    const res = await handler(eventOf(puts), { getRemainingTimeInMillis: () => 60_000 });
    expect(res).toEqual({ batchItemFailures: [] });
    const got = await outcome(world);
    expect(got).toEqual(await reference(puts));
    for (const [i, shardId] of SHARDS.entries()) {
      expect(got.checkpoints[i]).toEqual(pos(onShard(puts, shardId).at(-1)?.sequenceNumber ?? ''));
    }
    expect(got.anomalies.length).toBeGreaterThan(0);
    // One batch per shard: no isolation was needed.
    expect(world.store.commits).toBe(2);
  });

  it('counts a record that fails to parse and a corrupt KPL aggregate as dead letters, not failures', async () => {
    const puts = stream(LINES.slice(0, 20));
    const shard0 = onShard(puts, SHARDS[0]);
    shard0[3] = { ...shard0[3], data: Buffer.from('{"truncated') };
    // KPL magic followed by junk: de-aggregation cannot read it.
    shard0[5] = { ...shard0[5], data: Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 1, 2, 3, 4, 5]) };
    const world = new World();
    const res = await world.container()(eventOf(shard0));
    expect(res.batchItemFailures).toEqual([]);
    expect(
      world.store
        .deadLetters()
        .map((d) => [d.sequenceNumber, d.code])
        .sort(),
    ).toEqual([
      [shard0[3].sequenceNumber, 'invalid_json'],
      [shard0[5].sequenceNumber, 'kpl'],
    ]);
    expect(await world.store.loadCheckpoint(SHARDS[0])).toEqual(pos(shard0.at(-1)?.sequenceNumber ?? ''));
  });

  it('reports a poisoned record alone by default, committing what came before it', async () => {
    const puts = onShard(stream(LINES.slice(0, 80)), SHARDS[0]);
    const world = new World();
    world.poison.add(key(pos(puts[17].sequenceNumber)));
    const res = await world.container()(eventOf(puts));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: puts[17].sequenceNumber }]);
    expect(await world.store.loadCheckpoint(SHARDS[0])).toEqual(pos(puts[16].sequenceNumber));
    expect(world.logs.some((l) => l.level === 'error' && l.msg === 'record failed')).toBe(true);
  });

  it('with stopAtFirstFailure reports the poisoned record and every later record of its shard only', async () => {
    const puts = stream(LINES.slice(0, 80));
    const shard0 = onShard(puts, SHARDS[0]);
    const world = new World();
    world.poison.add(key(pos(shard0[9].sequenceNumber)));
    const res = await world.container({ stopAtFirstFailure: true })(eventOf(puts));
    expect(res.batchItemFailures).toEqual(shard0.slice(9).map((p) => ({ itemIdentifier: p.sequenceNumber })));
    expect(await world.store.loadCheckpoint(SHARDS[0])).toEqual(pos(shard0[8].sequenceNumber));
    // The other shard went through.
    expect(await world.store.loadCheckpoint(SHARDS[1])).toEqual(
      pos(onShard(puts, SHARDS[1]).at(-1)?.sequenceNumber ?? ''),
    );
  });

  it('reports and commits correctly for any poisoned records, and converges once they are fixed (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.uniqueArray(fc.nat({ max: 59 }), { maxLength: 4 }),
        fc.boolean(),
        async (n, poisoned, stopAtFirstFailure) => {
          const puts = stream(LINES.slice(0, n));
          const world = new World();
          for (const i of poisoned) if (i < n) world.poison.add(key(pos(puts[i].sequenceNumber)));
          const handler = world.container({ stopAtFirstFailure });
          // Lambda: one event per shard.
          for (const shardId of SHARDS) {
            const mine = onShard(puts, shardId);
            if (mine.length === 0) continue;
            const res = await handler(eventOf(mine));
            const first = mine.findIndex((p) => world.poison.has(key(pos(p.sequenceNumber))));
            const expected = first < 0 ? [] : stopAtFirstFailure ? mine.slice(first) : [mine[first]];
            expect(res.batchItemFailures).toEqual(
              expected.map((p) => ({ itemIdentifier: p.sequenceNumber })),
            );
            // Committed: exactly the records before the first poisoned one; none of them is reported.
            const checkpoint = await world.store.loadCheckpoint(shardId);
            const committedUpTo = first < 0 ? mine.length - 1 : first - 1;
            expect(checkpoint).toEqual(committedUpTo < 0 ? null : pos(mine[committedUpTo].sequenceNumber));
            for (const f of res.batchItemFailures) {
              expect(
                checkpoint === null || BigInt(f.itemIdentifier) > BigInt(checkpoint.sequenceNumber),
              ).toBe(true);
            }
          }
          // The poison is fixed; Lambda re-sends each shard from its lowest reported record.
          world.poison.clear();
          for (const shardId of SHARDS) {
            const mine = onShard(puts, shardId);
            const checkpoint = await world.store.loadCheckpoint(shardId);
            const from = checkpoint === null ? -1n : BigInt(checkpoint.sequenceNumber);
            const rest = mine.filter((p) => BigInt(p.sequenceNumber) > from);
            if (rest.length > 0) expect((await handler(eventOf(rest))).batchItemFailures).toEqual([]);
          }
          expect(await outcome(world)).toEqual(await reference(puts));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('changes nothing when Lambda re-sends a batch that was committed (warm or cold container)', async () => {
    const puts = onShard(stream(LINES.slice(0, 120)), SHARDS[1]);
    const world = new World();
    const warm = world.container();
    expect((await warm(eventOf(puts))).batchItemFailures).toEqual([]);
    const before = await outcome(world);
    const commits = world.store.commits;
    const alerts = world.sink.delivered.length;
    expect(alerts).toBeGreaterThan(0);

    world.normalized.length = 0;
    expect((await warm(eventOf(puts))).batchItemFailures).toEqual([]);
    expect((await world.container()(eventOf(puts))).batchItemFailures).toEqual([]);
    expect(await outcome(world)).toEqual(before);
    expect(world.store.commits).toBe(commits);
    expect(world.sink.delivered).toHaveLength(alerts);
    expect(world.normalized.filter((n) => !n.startsWith('log:'))).toEqual([]);

    // A batch that overlaps the committed one: only the new records are processed.
    const more = onShard(stream(LINES.slice(0, 200)), SHARDS[1]);
    const overlap = more.slice(puts.length - 5);
    expect((await warm(eventOf(overlap))).batchItemFailures).toEqual([]);
    expect(new Set(world.normalized.filter((n) => !n.startsWith('log:')))).toEqual(
      new Set(more.slice(puts.length).map((p) => key(pos(p.sequenceNumber)))),
    );
    expect(await outcome(world)).toEqual(await reference(more));
  });

  it('re-initializes a shard another container moved, and retries once on a stale checkpoint', async () => {
    const puts = onShard(stream(LINES.slice(0, 150)), SHARDS[0]);
    const [b1, b2, b3, b4, b5] = [0, 15, 30, 45, 60].map((from) => puts.slice(from, from + 15));
    const rest = puts.slice(75);
    const world = new World();
    // Container A reads the checkpoint through a view that can be made to lag behind the store once.
    let lagging: ExtendedSequenceNumber | null | undefined;
    const a = world.container({
      store: {
        loadCheckpoint: async (shardId) => {
          const stale = lagging;
          lagging = undefined;
          return stale !== undefined ? stale : world.store.loadCheckpoint(shardId);
        },
      },
    });
    const b = world.container();
    expect((await a(eventOf(b1))).batchItemFailures).toEqual([]);
    expect((await b(eventOf(b2))).batchItemFailures).toEqual([]);
    // A sees that the checkpoint moved, and takes the shard again before processing.
    expect((await a(eventOf(b3))).batchItemFailures).toEqual([]);
    expect(world.logs.filter((l) => l.msg === 'checkpoint moved elsewhere')).toHaveLength(1);
    // B commits b4 while A, reading a lagging checkpoint, gets b4 and b5: A's commit is fenced off
    // (StaleCheckpointError), A takes the shard again, skips b4 (committed by B) and retries with b5.
    expect((await b(eventOf(b4))).batchItemFailures).toEqual([]);
    lagging = pos(b3[b3.length - 1].sequenceNumber);
    world.normalized.length = 0;
    expect((await a(eventOf([...b4, ...b5]))).batchItemFailures).toEqual([]);
    // After the refused commit, only b5 was processed again.
    const moved = world.normalized.indexOf('log:shard moved elsewhere');
    expect(moved).toBeGreaterThan(0);
    const again = new Set(world.normalized.slice(moved + 1));
    for (const p of b4) expect(again.has(key(pos(p.sequenceNumber)))).toBe(false);
    for (const p of b5) expect(again.has(key(pos(p.sequenceNumber)))).toBe(true);
    expect(await world.store.loadCheckpoint(SHARDS[0])).toEqual(pos(b5[b5.length - 1].sequenceNumber));
    expect((await a(eventOf(rest))).batchItemFailures).toEqual([]);
    expect(await outcome(world)).toEqual(await reference(puts));
  });

  it('bounds the engine retries of a sink that stays down, reports the record, and recovers', async () => {
    const all = stream(LINES);
    // The shard with the most alerts.
    const counts = await Promise.all(
      SHARDS.map(async (s) => (await reference(onShard(all, s))).alerts.length),
    );
    const shardId = counts[0] >= counts[1] ? SHARDS[0] : SHARDS[1];
    const puts = onShard(all, shardId);
    const ref = await reference(puts);
    expect(ref.alerts.length).toBeGreaterThan(2);
    const world = new World();
    // The sink refuses the second notification the stream raises, whatever batch carries it.
    const refused = ref.alerts[1];
    world.sink.down = (n) => n.id === refused;
    const retries: Array<{ what: string; attempt: number }> = [];
    const handler = world.container({
      retry: new LambdaRetryBudget({
        maxAttempts: 2,
        sleep: async () => {},
        onRetry: (what, attempt) => void retries.push({ what, attempt }),
      }),
    });
    const res = await handler(eventOf(puts), { getRemainingTimeInMillis: () => 60_000 });
    expect(res.batchItemFailures).toHaveLength(1);
    const failed = BigInt(res.batchItemFailures[0].itemIdentifier);
    const checkpoint = await world.store.loadCheckpoint(shardId);
    // Committed up to the record before the failing one, exactly.
    const before = puts.filter((p) => BigInt(p.sequenceNumber) < failed).at(-1);
    expect(checkpoint).toEqual(before ? pos(before.sequenceNumber) : null);
    expect(world.sink.delivered).not.toContain(refused);
    // Every give-up came after two attempts of the sink (one wait between them), never more.
    expect(retries.every((r) => r.what === 'sink alerts' && r.attempt === 1)).toBe(true);
    expect(retries.length).toBeGreaterThan(0);
    expect(
      world.logs.some(
        (l) => l.msg === 'record failed' && JSON.stringify(l.obj).includes('gave up after 2 attempts'),
      ),
    ).toBe(true);
    // The sink is back: Lambda retries from the reported record, and the result is as if nothing failed.
    world.sink.down = null;
    const rest = puts.filter((p) => BigInt(p.sequenceNumber) >= failed);
    expect((await handler(eventOf(rest))).batchItemFailures).toEqual([]);
    const got = await outcome(world);
    expect(got.series).toEqual(ref.series);
    expect(got.anomalies).toEqual(ref.anomalies);
    expect(new Set(got.alerts)).toEqual(new Set(ref.alerts));
  });

  it('keeps what a failed attempt applied in memory out of the store (a series met only after the failure)', async () => {
    let n = 0;
    const wms = (sku: string, txn: 'CC' | 'DMG' | 'RCV', qty: number, hour: number): string =>
      JSON.stringify({
        LOG_ID: `WMS-T${++n}`,
        TXN: txn,
        ITEM_NO: sku,
        LOC: 'WH-EAST',
        QTY: qty,
        UOM: 'EA',
        TXN_TIME: `2026-01-05 ${String(hour).padStart(2, '0')}:${String(n).padStart(2, '0')}:00`,
      });
    // SKU-A: ten quiet counts, then a damage far beyond the stock (an anomaly); SKU-Z in between.
    const lines = [
      ...Array.from({ length: 10 }, (_, h) => wms('SKU-A', 'CC', 100, h)),
      wms('SKU-Z', 'RCV', 5, 10),
      wms('SKU-Z', 'RCV', 5, 11),
      wms('SKU-Z', 'RCV', 5, 12),
      wms('SKU-A', 'DMG', -500, 13),
    ];
    const puts = lines.map(
      (line, i): Put => ({
        shardId: SHARDS[0],
        sequenceNumber: String(BASE + BigInt(i)),
        partitionKey: partitionKeyOf(line),
        data: Buffer.from(line),
      }),
    );
    const ref = await reference(puts);
    // Only the last record raises alerts (so a sink refusing SKU-A fails exactly the batches holding it).
    const before = await reference(puts.slice(0, -1));
    expect(before.alerts).toEqual([]);
    expect(ref.alerts.length).toBeGreaterThan(0);

    const world = new World();
    world.sink.down = (note) => note.anomalies.some((a) => a.sku === 'SKU-A');
    const handler = world.container({ retry: new LambdaRetryBudget({ maxAttempts: 1 }) });
    // The whole batch applies everything, SKU-Z included, then fails to publish; the first half (SKU-A
    // only) then commits: it must not carry SKU-Z's uncommitted state along.
    const res = await handler(eventOf(puts));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: puts[13].sequenceNumber }]);
    expect((await outcome(world)).series).toEqual(before.series);
    world.sink.down = null;
    expect((await handler(eventOf(puts.slice(13)))).batchItemFailures).toEqual([]);
    expect(await outcome(world)).toEqual(ref);
  });

  it('answers before the deadline when the store is down, reporting what it did not commit', async () => {
    const puts = onShard(stream(LINES.slice(0, 64)), SHARDS[1]);
    for (const stopAtFirstFailure of [false, true]) {
      const world = new World();
      world.store.down = () => true;
      let clock = 0;
      const budget = new LambdaRetryBudget({
        maxAttempts: 1_000,
        reserveMs: 2_000,
        now: () => clock,
        // Time passes only while the engine backs off.
        sleep: async (ms) => {
          clock += ms;
        },
      });
      const handler = world.container({ retry: budget, stopAtFirstFailure });
      const res = await handler(eventOf(puts), { getRemainingTimeInMillis: () => 30_000 });
      expect(res.batchItemFailures).toEqual(
        (stopAtFirstFailure ? puts : puts.slice(0, 1)).map((p) => ({ itemIdentifier: p.sequenceNumber })),
      );
      expect(world.store.commits).toBe(0);
      // Once the reserve was reached, nothing more was tried.
      expect(world.logs.filter((l) => l.msg === 'out of time')).toHaveLength(1);
      // The engine's back-off never ran into the reserve kept for the answer.
      expect(clock).toBeLessThanOrEqual(30_000 - 2_000);
      expect(clock).toBeGreaterThan(0);
    }
  });

  it('gives up at once on an error that says it is permanent, and retries a transient one', async () => {
    const budget = new LambdaRetryBudget({ maxAttempts: 10, sleep: async () => {} });
    budget.begin({ getRemainingTimeInMillis: () => 60_000 });
    const policy = budget.hooks.retryPolicy;
    let calls = 0;
    await policy.run('sink alerts', async () => {
      if (++calls < 3) throw new Error('timeout');
    });
    expect(calls).toBe(3);
    const permanent = Object.assign(new Error('HTTP 400'), { retryable: false });
    await expect(
      policy.run('sink alerts', async () => {
        throw permanent;
      }),
    ).rejects.toMatchObject({ name: 'RetryGiveUpError', reason: 'permanent', attempts: 1 });
  });

  it('keeps at most a fifth of a short invocation as its reserve', async () => {
    let clock = 0;
    const slept: number[] = [];
    const budget = new LambdaRetryBudget({
      reserveMs: 5_000,
      now: () => clock,
      sleep: async (ms) => void slept.push(ms),
    });
    budget.begin({ getRemainingTimeInMillis: () => 3_000 });
    expect(budget.exhausted).toBe(false);
    // Waits stop at the reserve of 600 ms (a fifth of 3 s): one last attempt there, then it gives up.
    const failing = budget.hooks.retryPolicy.with({
      maxAttempts: 1_000,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    });
    await expect(
      failing.run('state store', async () => {
        throw new Error('x');
      }),
    ).rejects.toMatchObject({ reason: 'deadline' });
    expect(clock).toBe(2_400);
    expect(slept.length).toBeGreaterThan(0);
    clock = 2_500;
    expect(budget.exhausted).toBe(true);
  });

  it('de-aggregates KPL records and checkpoints them with sub-sequence numbers', async () => {
    const puts = onShard(stream(LINES.slice(0, 90)), SHARDS[0]);
    // KPL aggregates of 7 user records each (mixed keys), built with aws-kinesis-agg's own aggregate().
    const outer: Put[] = [];
    for (let i = 0; i < puts.length; i += 7) {
      const chunk = puts.slice(i, i + 7);
      const encoded = await kplAggregate(chunk.map((p) => ({ partitionKey: p.partitionKey, data: p.data })));
      expect(encoded).toHaveLength(1);
      outer.push({ ...chunk[0], partitionKey: encoded[0].partitionKey, data: encoded[0].data });
    }
    const subs = (o: number): number => Math.min(7, puts.length - o * 7);
    const world = new World();
    const handler = world.container();
    // A poisoned sub-record: the whole aggregate is reported, its earlier sub-records are committed.
    world.poison.add(key(pos(outer[4].sequenceNumber, 3)));
    const res = await handler(eventOf(outer));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: outer[4].sequenceNumber }]);
    expect(await world.store.loadCheckpoint(SHARDS[0])).toEqual(pos(outer[4].sequenceNumber, 2));
    // Fixed; Lambda re-sends from the aggregate: its committed sub-records are skipped.
    world.poison.clear();
    world.normalized.length = 0;
    expect((await handler(eventOf(outer.slice(4)))).batchItemFailures).toEqual([]);
    expect(world.normalized).not.toContain(key(pos(outer[4].sequenceNumber, 2)));
    expect(world.normalized).toContain(key(pos(outer[4].sequenceNumber, 3)));
    const last = outer.length - 1;
    expect(await world.store.loadCheckpoint(SHARDS[0])).toEqual(
      pos(outer[last].sequenceNumber, subs(last) - 1),
    );
    const got = await outcome(world);
    const ref = await reference(puts);
    // Same state and anomalies as the plain records gave (positions differ, so not the checkpoints).
    expect(got.series).toEqual(ref.series);
    expect(got.anomalies).toEqual(ref.anomalies);
    expect(got.alerts).toEqual(ref.alerts);
  });

  it('refuses an event whose records do not name their shard, or come from another stream', async () => {
    const world = new World();
    const handler = world.container();
    const [p] = stream(LINES.slice(0, 1));
    await expect(handler({ Records: [{ ...lambdaRecord(p), eventID: 'garbage' }] })).rejects.toThrow(
      InvalidKinesisEventError,
    );
    expect((await handler(eventOf([p]))).batchItemFailures).toEqual([]);
    await expect(
      handler({ Records: [{ ...lambdaRecord(p), eventSourceARN: `${ARN}-other` }] }),
    ).rejects.toThrow(/one handler serves one stream/);
  });

  it('fails the invocation when the engine cannot be built, and builds it again next time', async () => {
    const world = new World();
    let builds = 0;
    const handler = world.container({
      engine: async (hooks) => {
        builds++;
        if (builds === 1) throw new Error('no database');
        return world.engine(hooks);
      },
    });
    const puts = stream(LINES.slice(0, 5));
    await expect(handler(eventOf(puts))).rejects.toThrow('no database');
    expect((await handler(eventOf(puts))).batchItemFailures).toEqual([]);
    expect(builds).toBe(2);
  });
});

/** aws-kinesis-agg's callback API as a promise: the encoded (aggregated) records, in order. */
function kplAggregate(records: Array<{ partitionKey: string; data: Buffer }>) {
  return new Promise<Array<{ partitionKey: string; data: Buffer }>>((resolve, reject) => {
    const out: Array<{ partitionKey: string; data: Buffer }> = [];
    aggregate(
      records,
      (encoded, done) => {
        out.push({ partitionKey: encoded.partitionKey, data: encoded.data });
        done();
      },
      () => resolve(out),
      (err) => reject(err),
    );
  });
}
