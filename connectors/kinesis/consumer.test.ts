/**
 * The worker on paths kinesalite cannot produce: throttling (ProvisionedThroughputExceeded), expired
 * iterators, transient errors and outages (with what the health observer and the log are told), with a
 * fake Kinesis client and an in-memory lease table.
 */
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeCause } from '../../pipeline/errors.js';
import type { DependencyObserver, ShardRecordProcessor } from '../../pipeline/index.js';
import { RetryPolicy } from '../../pipeline/retry.js';
import { KinesisSource } from './consumer.js';
import { type Lease, LeaseLostError, type Leases } from './leases.js';

/** The lease table's contract in memory (conditional writes by counter and owner). */
class MemoryLeases implements Leases {
  readonly tableName = 'app';
  readonly items = new Map<string, Lease>();
  /** Errors the next calls throw, one per call (a DynamoDB outage). */
  readonly outage: Error[] = [];
  private down(): void {
    const err = this.outage.shift();
    if (err) throw err;
  }
  async ensure(): Promise<void> {
    this.down();
  }
  async list(): Promise<Lease[]> {
    this.down();
    return [...this.items.values()].map((l) => ({ ...l }));
  }
  async create(leaseKey: string, checkpoint: string, parentShardIds: readonly string[]): Promise<boolean> {
    if (this.items.has(leaseKey)) return false;
    this.items.set(leaseKey, {
      leaseKey,
      leaseOwner: null,
      leaseCounter: 0,
      checkpoint,
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: [...parentShardIds],
      throughput: 0,
    });
    return true;
  }
  private cas(seen: Lease, owner: string | null, what: string, change: (l: Lease) => void): Lease {
    const l = this.items.get(seen.leaseKey);
    if (!l || l.leaseCounter !== seen.leaseCounter || l.leaseOwner !== owner)
      throw new LeaseLostError(seen.leaseKey, what);
    change(l);
    l.leaseCounter++;
    return { ...l };
  }
  async take(seen: Lease, owner: string): Promise<Lease> {
    return this.cas(seen, seen.leaseOwner, 'take', (l) => {
      l.leaseOwner = owner;
    });
  }
  async renew(held: Lease, owner: string): Promise<Lease> {
    this.down();
    return this.cas(held, owner, 'renew', () => {});
  }
  async checkpoint(held: Lease, owner: string, checkpoint: string, sub: number): Promise<Lease> {
    return this.cas(held, owner, 'checkpoint', (l) => {
      l.checkpoint = checkpoint;
      l.checkpointSubSequenceNumber = sub;
    });
  }
  async release(held: Lease, owner: string): Promise<void> {
    this.cas(held, owner, 'release', (l) => {
      l.leaseOwner = null;
    });
  }
}

/**
 * A one-shard stream of `n` records whose GetRecords fails as `faults` says, call by call (past the
 * end of `faults`, as `after` says), and whose first `listFailures` ListShards calls fail.
 */
function fakeKinesis(
  n: number,
  faults: Array<'throttle' | 'expired' | 'error' | null>,
  { after = null, listFailures = 0 }: { after?: 'error' | null; listFailures?: number } = {},
) {
  const calls: string[] = [];
  let call = 0;
  let lists = 0;
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof ListShardsCommand) {
      if (lists++ < listFailures)
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4567'), { code: 'ECONNREFUSED' });
      return { Shards: [{ ShardId: 'shard-0', SequenceNumberRange: { StartingSequenceNumber: '1' } }] };
    }
    if (command instanceof GetShardIteratorCommand) {
      const i = command.input;
      calls.push(`iterator ${i.ShardIteratorType} ${i.StartingSequenceNumber ?? ''}`.trim());
      const from = i.ShardIteratorType === 'AT_SEQUENCE_NUMBER' ? Number(i.StartingSequenceNumber) : 1;
      return { ShardIterator: `it-${from}` };
    }
    if (command instanceof GetRecordsCommand) {
      const fault = faults[call++] ?? after;
      calls.push(`get ${fault ?? 'ok'}`);
      if (fault === 'throttle')
        throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
      if (fault === 'expired')
        throw new ExpiredIteratorException({ message: 'Iterator expired', $metadata: {} });
      if (fault === 'error') throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      const from = Number(String(command.input.ShardIterator).slice(3));
      const to = Math.min(n, from + 9); // 10 records per call
      const Records = [];
      for (let s = from; s <= to; s++)
        Records.push({
          SequenceNumber: String(s),
          PartitionKey: 'k',
          Data: Buffer.from(`r${s}`),
          ApproximateArrivalTimestamp: new Date(0),
        });
      // The shard is closed: past its last record the iterator ends.
      return {
        Records,
        NextShardIterator: to >= n ? undefined : `it-${to + 1}`,
        MillisBehindLatest: (n - to) * 10,
      };
    }
    throw new Error(`unexpected command ${String(command)}`);
  };
  return { client: { send } as never, calls };
}

async function runToEnd(n: number, faults: Array<'throttle' | 'expired' | 'error' | null>) {
  const { client, calls } = fakeKinesis(n, faults);
  const leases = new MemoryLeases();
  const seen: string[] = [];
  const throttled: string[] = [];
  const behind: number[] = [];
  let ended = false;
  const processor: ShardRecordProcessor = {
    initialize: async () => {},
    processRecords: async ({ records, checkpointer }) => {
      for (const r of records) seen.push(Buffer.from(r.data).toString());
      await checkpointer.checkpoint();
    },
    leaseLost: async () => {},
    shardEnded: async ({ checkpointer }) => {
      ended = true;
      await checkpointer.checkpoint();
    },
    shutdownRequested: async () => {},
  };
  const source = new KinesisSource({
    kinesis: client,
    leases,
    streamName: 's',
    workerId: 'w',
    failoverTimeMs: 300,
    pollIntervalMs: 1,
    metrics: {
      throttled: (shard) => throttled.push(shard),
      fetched: (_s, _r, _b, ms) => {
        if (ms !== undefined) behind.push(ms);
      },
    },
  });
  const stop = new AbortController();
  const run = source.run(() => processor, stop.signal);
  const deadline = Date.now() + 20_000;
  while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  stop.abort();
  await run;
  return { seen, calls, throttled, behind, lease: leases.items.get('shard-0'), ended };
}

describe('KinesisSource with a fake Kinesis', () => {
  it('reads a closed shard to its end and marks SHARD_END', async () => {
    const r = await runToEnd(25, []);
    expect(r.ended).toBe(true);
    expect(r.seen).toEqual(Array.from({ length: 25 }, (_, i) => `r${i + 1}`));
    expect(r.lease?.checkpoint).toBe('SHARD_END');
    expect(r.behind).toEqual([150, 50, 0]);
  });

  it('backs off on throttling, renews an expired iterator at the last position, survives transient errors', async () => {
    const r = await runToEnd(30, [null, 'throttle', 'throttle', 'expired', 'error', null, null]);
    expect(r.seen).toEqual(Array.from({ length: 30 }, (_, i) => `r${i + 1}`));
    expect(r.throttled).toEqual(['shard-0', 'shard-0']);
    // After the expired iterator: a new one AT the last record handed over (filtered, not repeated).
    expect(r.calls).toContain('iterator AT_SEQUENCE_NUMBER 10');
    expect(r.lease?.checkpoint).toBe('SHARD_END');
  });

  it('property: whatever the faults, every record once and in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.array(
          fc.constantFrom<'throttle' | 'expired' | 'error' | null>('throttle', 'expired', 'error', null),
          { maxLength: 8 },
        ),
        async (n, faults) => {
          const r = await runToEnd(n, faults);
          expect(r.seen).toEqual(Array.from({ length: n }, (_, i) => `r${i + 1}`));
        },
      ),
      { numRuns: 12 },
    );
  }, 60_000);
});

/** A health observer that records what it is told, consecutive repeats collapsed. */
function healthRecorder() {
  const events: string[] = [];
  const push = (e: string) => {
    if (events.at(-1) !== e) events.push(e);
  };
  const health: DependencyObserver = {
    failed: (what, err) => push(`failed ${what}: ${describeCause(err)}`),
    recovered: (what) => push(`recovered ${what}`),
  };
  return { events, health };
}

/** A log that keeps its warnings' messages and fields. */
function warnings() {
  const warned: Array<{ msg: string; obj: Record<string, unknown> }> = [];
  const log = {
    info: () => {},
    warn: (obj: object, msg: string) => warned.push({ msg, obj: obj as Record<string, unknown> }),
  };
  return { warned, log };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const recordProcessor = (seen: string[], onEnd: () => void): ShardRecordProcessor => ({
  initialize: async () => {},
  processRecords: async ({ records, checkpointer }) => {
    for (const r of records) seen.push(Buffer.from(r.data).toString());
    await checkpointer.checkpoint();
  },
  leaseLost: async () => {},
  shardEnded: async ({ checkpointer }) => {
    onEnd();
    await checkpointer.checkpoint();
  },
  shutdownRequested: async () => {},
});

describe('KinesisSource and its health observer', () => {
  it('names the failing part and the real cause, in the observer and the log, and reports recovery', async () => {
    const { client } = fakeKinesis(12, ['error', 'error'], { listFailures: 2 });
    const leases = new MemoryLeases();
    leases.outage.push(
      Object.assign(new Error('Throughput exceeds the current capacity of your table'), {
        name: 'ProvisionedThroughputExceededException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const { events, health } = healthRecorder();
    const { warned, log } = warnings();
    const seen: string[] = [];
    let ended = false;
    const source = new KinesisSource({
      kinesis: client,
      leases,
      streamName: 's',
      workerId: 'w',
      failoverTimeMs: 300,
      pollIntervalMs: 1,
      health,
      log,
      retryPolicy: new RetryPolicy({ baseDelayMs: 1, maxDelayMs: 5 }),
    });
    const stop = new AbortController();
    const run = source.run(
      () =>
        recordProcessor(seen, () => {
          ended = true;
        }),
      stop.signal,
    );
    await until(() => ended, 'the shard is read to its end');
    stop.abort();
    await run;

    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `r${i + 1}`));
    expect(events).toEqual([
      'failed lease table app: Throughput exceeds the current capacity of your table (HTTP 400)',
      'recovered lease table app',
      'failed kinesis stream s: connect ECONNREFUSED 127.0.0.1:4567',
      'recovered kinesis stream s',
      'failed kinesis stream s: socket hang up',
      'recovered kinesis stream s',
    ]);
    const messages = warned.map((w) => w.msg);
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^lease table app: creating or reading the lease table failed: Throughput exceeds .* \(HTTP 400\); retrying in \d+ ms$/,
      ),
    );
    expect(messages).toContain(
      'kinesis stream s: shard sync failed: connect ECONNREFUSED 127.0.0.1:4567; retrying',
    );
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^kinesis stream s: GetRecords on shard-0 failed: socket hang up; retrying in \d+ ms$/,
      ),
    );
    for (const w of warned)
      expect(w.obj).toMatchObject({ what: expect.any(String), cause: expect.any(String) });
  });

  it('cuts a back-off wait short on shutdown and hands the lease back', async () => {
    // GetRecords fails for good: the default policy waits up to 10 s between attempts.
    const { client } = fakeKinesis(5, [], { after: 'error' });
    const leases = new MemoryLeases();
    const { events, health } = healthRecorder();
    let failures = 0;
    const source = new KinesisSource({
      kinesis: client,
      leases,
      streamName: 's',
      workerId: 'w',
      failoverTimeMs: 300,
      health: {
        failed: (what, err) => {
          failures++;
          health.failed(what, err);
        },
        recovered: (what) => health.recovered(what),
      },
    });
    const stop = new AbortController();
    const run = source.run(() => recordProcessor([], () => {}), stop.signal);
    await until(() => failures >= 4, 'GetRecords has failed four times');
    const stopping = Date.now();
    stop.abort();
    await run;
    // The fourth wait alone may last up to 1.6 s; shutdown does not wait for it.
    expect(Date.now() - stopping).toBeLessThan(1_000);
    expect(leases.items.get('shard-0')).toMatchObject({ leaseOwner: null, checkpoint: 'TRIM_HORIZON' });
    // Failing until the shard was let go; nobody reads it here any more.
    expect(events).toEqual(['failed kinesis stream s: socket hang up', 'recovered kinesis stream s']);
  });
});
