/**
 * The Kinesis worker against real stand-ins: kinesalite (a child process) for the stream, Amazon
 * DynamoDB Local for the lease table. Records go in with PutRecords; workers read them through the
 * lease table, and a recording processor checks that each arrives once, in order per key.
 */
import {
  type KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKinesisClient,
  createLeaseTableClient,
  KinesisSource,
  type KinesisSourceOptions,
  LeaseLostError,
  LeaseTable,
} from '../connectors/kinesis/index.js';
import { putRecords } from '../connectors/kinesis/producer.js';
import type { ExtendedSequenceNumber, ShardRecordProcessor } from '../pipeline/index.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './servers/dynamodb-local.js';
import {
  createStream,
  type Kinesalite,
  LOCAL_CREDENTIALS,
  startKinesalite,
  waitActive,
} from './servers/kinesalite.js';

let kinesalite: Kinesalite;
let ddbLocal: DynamoDbLocal;
let kinesis: KinesisClient;
let tables = 0;

beforeAll(async () => {
  [kinesalite, ddbLocal] = await Promise.all([startKinesalite(), startDynamoDbLocal()]);
  kinesis = createKinesisClient({
    endpoint: kinesalite.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
}, 90_000);
afterAll(async () => {
  await Promise.all([kinesalite?.close(), ddbLocal?.close()]);
});

const ddb = () =>
  createLeaseTableClient({
    endpoint: ddbLocal.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });

/** What the recording processors saw, shared by the workers of one test. */
class Recorder {
  readonly received: Array<{ shardId: string; key: string; line: string; worker: string }> = [];
  /** The "state store" checkpoints: committed with the records, as the engine does. */
  readonly committed = new Map<string, ExtendedSequenceNumber>();
  readonly events: string[] = [];

  processor(worker: string, shardId: string): ShardRecordProcessor {
    return {
      initialize: async () => {
        this.events.push(`init ${shardId}`);
      },
      processRecords: async ({ records, checkpointer }) => {
        for (const r of records)
          this.received.push({ shardId, key: r.partitionKey, line: Buffer.from(r.data).toString(), worker });
        const last = records.at(-1);
        if (last) {
          this.committed.set(shardId, {
            sequenceNumber: last.sequenceNumber,
            subSequenceNumber: last.subSequenceNumber,
          });
          await checkpointer.checkpoint(this.committed.get(shardId));
        }
      },
      leaseLost: async () => {
        this.events.push(`lost ${shardId}`);
      },
      shardEnded: async ({ checkpointer }) => {
        this.events.push(`end ${shardId}`);
        await checkpointer.checkpoint();
      },
      shutdownRequested: async ({ checkpointer }) => {
        const at = this.committed.get(shardId);
        if (at) await checkpointer.checkpoint(at);
      },
    };
  }

  /** Lines by key, in the order received. */
  byKey(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const r of this.received) m.set(r.key, [...(m.get(r.key) ?? []), r.line]);
    return m;
  }
}

function lines(from: number, count: number, keys: number): Array<{ partitionKey: string; data: Uint8Array }> {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return { partitionKey: `SKU-${n % keys}|WH-1`, data: Buffer.from(`line-${String(n).padStart(6, '0')}`) };
  });
}

function worker(
  stream: string,
  table: string,
  id: string,
  recorder: Recorder,
  extra: Partial<KinesisSourceOptions> = {},
) {
  const source = new KinesisSource({
    kinesis,
    leases: new LeaseTable(ddb(), table),
    streamName: stream,
    workerId: id,
    failoverTimeMs: 1_500,
    pollIntervalMs: 100,
    shardSyncIntervalMs: 500,
    loadCheckpoint: async (shardId) => recorder.committed.get(shardId) ?? null,
    ...extra,
  });
  const stop = new AbortController();
  const done = source.run((shardId) => recorder.processor(id, shardId), stop.signal);
  return {
    source,
    stop: async () => {
      stop.abort();
      await done;
    },
  };
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectOrderedOnce(
  recorder: Recorder,
  sent: Array<{ partitionKey: string; data: Uint8Array }>,
): void {
  const expected = new Map<string, string[]>();
  for (const r of sent)
    expected.set(r.partitionKey, [...(expected.get(r.partitionKey) ?? []), Buffer.from(r.data).toString()]);
  expect(recorder.received).toHaveLength(sent.length);
  expect(recorder.byKey()).toEqual(expected);
}

describe('LeaseTable on DynamoDB Local', () => {
  it('fences every write by owner and counter: a worker that lost its lease cannot checkpoint', async () => {
    const table = new LeaseTable(ddb(), `leases-${++tables}`);
    await table.ensure();
    await table.ensure(); // a second worker starting: no error
    expect(await table.create('shardId-000000000000', 'TRIM_HORIZON', [])).toBe(true);
    expect(await table.create('shardId-000000000000', 'LATEST', [])).toBe(false);
    const [fresh] = await table.list();
    expect(fresh).toMatchObject({
      leaseOwner: null,
      leaseCounter: 0,
      checkpoint: 'TRIM_HORIZON',
      parentShardIds: [],
    });
    const a = await table.take(fresh!, 'worker-a');
    expect(a).toMatchObject({ leaseOwner: 'worker-a', leaseCounter: 1, ownerSwitchesSinceCheckpoint: 1 });
    const renewed = await table.renew(a, 'worker-a', 12.5);
    expect(renewed).toMatchObject({ leaseCounter: 2, throughput: 12.5 });
    // B saw the lease at counter 2 and takes it (A is presumed dead).
    const b = await table.take(renewed, 'worker-b');
    expect(b.leaseOwner).toBe('worker-b');
    // A wakes up: its checkpoint and renewal are refused.
    await expect(table.checkpoint(renewed, 'worker-a', '49590', 0)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(table.renew(renewed, 'worker-a')).rejects.toBeInstanceOf(LeaseLostError);
    // A second taker with the same stale view loses the race.
    await expect(table.take(renewed, 'worker-c')).rejects.toBeInstanceOf(LeaseLostError);
    const cp = await table.checkpoint(b, 'worker-b', '49590', 3);
    expect(cp).toMatchObject({
      checkpoint: '49590',
      checkpointSubSequenceNumber: 3,
      ownerSwitchesSinceCheckpoint: 0,
    });
    await table.release(cp, 'worker-b');
    const [released] = await table.list();
    expect(released).toMatchObject({ leaseOwner: null, checkpoint: '49590' });
  });
});

describe('KinesisSource on kinesalite + DynamoDB Local', () => {
  it('one worker reads every shard: each record once, in order per key; a restart resumes from checkpoints', async () => {
    const stream = 'consume-one';
    const table = `leases-${++tables}`;
    await createStream(kinesis, stream, 3);
    const first = lines(0, 900, 40);
    await putRecords(kinesis, first, { streamName: stream });
    const recorder = new Recorder();
    const w = worker(stream, table, 'w1', recorder);
    await until('900 records', () => recorder.received.length >= 900);
    await w.stop();
    expectOrderedOnce(recorder, first);
    // Graceful stop released the leases and left the lease checkpoints at the store's.
    const leases = await new LeaseTable(ddb(), table).list();
    expect(leases).toHaveLength(3);
    for (const l of leases) {
      expect(l.leaseOwner).toBeNull();
      expect(l.checkpoint).toBe(recorder.committed.get(l.leaseKey)?.sequenceNumber);
    }
    // Restart: nothing is read again; only new records arrive.
    const more = lines(900, 300, 40);
    await putRecords(kinesis, more, { streamName: stream });
    const again = worker(stream, table, 'w1-restarted', recorder);
    await until('1200 records', () => recorder.received.length >= 1200);
    await new Promise((r) => setTimeout(r, 400)); // anything read twice would show up now
    await again.stop();
    expectOrderedOnce(recorder, [...first, ...more]);
  }, 60_000);

  it('two workers split the shards evenly; when one stops, the other takes its leases at once', async () => {
    const stream = 'consume-two';
    const table = `leases-${++tables}`;
    await createStream(kinesis, stream, 4);
    const recorder = new Recorder();
    const a = worker(stream, table, 'a', recorder);
    const b = worker(stream, table, 'b', recorder);
    await until(
      '2 leases each',
      () => a.source.heldShards.length === 2 && b.source.heldShards.length === 2,
      20_000,
    );
    // Renewals keep the leases: over twice the failover time, nothing moves.
    await new Promise((r) => setTimeout(r, 3_200));
    expect([a.source.heldShards.length, b.source.heldShards.length]).toEqual([2, 2]);
    expect(recorder.events.filter((e) => e.startsWith('lost'))).toEqual([]);
    const sent = lines(0, 800, 50);
    await putRecords(kinesis, sent, { streamName: stream });
    await until('800 records', () => recorder.received.length >= 800);
    expect(new Set(recorder.received.map((r) => r.worker))).toEqual(new Set(['a', 'b']));
    await a.stop();
    await until('b holds all 4', () => b.source.heldShards.length === 4, 10_000);
    const more = lines(800, 400, 50);
    await putRecords(kinesis, more, { streamName: stream });
    await until('1200 records', () => recorder.received.length >= 1200);
    await b.stop();
    expectOrderedOnce(recorder, [...sent, ...more]);
  }, 60_000);

  it('follows a split and a merge while consuming: parents end before children start, nothing skipped or repeated', async () => {
    const stream = 'reshard';
    const table = `leases-${++tables}`;
    await createStream(kinesis, stream, 2);
    const recorder = new Recorder();
    const w = worker(stream, table, 'w', recorder);
    const sent = lines(0, 400, 30);
    await putRecords(kinesis, sent, { streamName: stream });
    await until('400 records', () => recorder.received.length >= 400);
    // Split shard 0 at the middle of its hash range, while the worker reads.
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    const s0 = shards[0]!;
    const lo = BigInt(s0.HashKeyRange!.StartingHashKey!);
    const hi = BigInt(s0.HashKeyRange!.EndingHashKey!);
    await kinesis.send(
      new SplitShardCommand({
        StreamName: stream,
        ShardToSplit: s0.ShardId,
        NewStartingHashKey: String((lo + hi) / 2n),
      }),
    );
    await waitActive(kinesis, stream);
    const afterSplit = lines(400, 400, 30);
    await putRecords(kinesis, afterSplit, { streamName: stream });
    // Merge the upper child with the old shard 1 (adjacent hash ranges).
    const open = ((await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? []).filter(
      (s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined,
    );
    const sorted = [...open].sort((x, y) =>
      BigInt(x.HashKeyRange!.StartingHashKey!) < BigInt(y.HashKeyRange!.StartingHashKey!) ? -1 : 1,
    );
    await kinesis.send(
      new MergeShardsCommand({
        StreamName: stream,
        ShardToMerge: sorted[1]!.ShardId,
        AdjacentShardToMerge: sorted[2]!.ShardId,
      }),
    );
    await waitActive(kinesis, stream);
    const afterMerge = lines(800, 400, 30);
    await putRecords(kinesis, afterMerge, { streamName: stream });
    await until('1200 records', () => recorder.received.length >= 1200, 45_000);
    await new Promise((r) => setTimeout(r, 500));
    await w.stop();
    expectOrderedOnce(recorder, [...sent, ...afterSplit, ...afterMerge]);
    // Every child initialized only after each of its parents ended.
    const leases = await new LeaseTable(ddb(), table).list();
    for (const l of leases) {
      for (const p of l.parentShardIds) {
        const ended = recorder.events.indexOf(`end ${p}`);
        const started = recorder.events.indexOf(`init ${l.leaseKey}`);
        if (started >= 0) {
          expect(ended, `${p} ended before ${l.leaseKey} started`).toBeGreaterThanOrEqual(0);
          expect(ended).toBeLessThan(started);
        }
      }
    }
    expect(
      leases
        .filter((l) => l.checkpoint === 'SHARD_END')
        .map((l) => l.leaseKey)
        .sort(),
    ).toHaveLength(3);
  }, 90_000);
});
