/**
 * The worker on paths kinesalite cannot produce: throttling (ProvisionedThroughputExceeded), expired
 * iterators and transient errors, with a fake Kinesis client and an in-memory lease table.
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
import type { ShardRecordProcessor } from '../../pipeline/index.js';
import { KinesisSource } from './consumer.js';
import { type Lease, LeaseLostError, type Leases } from './leases.js';

/** The lease table's contract in memory (conditional writes by counter and owner). */
class MemoryLeases implements Leases {
  readonly items = new Map<string, Lease>();
  async ensure(): Promise<void> {}
  async list(): Promise<Lease[]> {
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

/** A one-shard stream of `n` records whose GetRecords fails as `faults` says, call by call. */
function fakeKinesis(n: number, faults: Array<'throttle' | 'expired' | 'error' | null>) {
  const calls: string[] = [];
  let call = 0;
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof ListShardsCommand) {
      return { Shards: [{ ShardId: 'shard-0', SequenceNumberRange: { StartingSequenceNumber: '1' } }] };
    }
    if (command instanceof GetShardIteratorCommand) {
      const i = command.input;
      calls.push(`iterator ${i.ShardIteratorType} ${i.StartingSequenceNumber ?? ''}`.trim());
      const from = i.ShardIteratorType === 'AT_SEQUENCE_NUMBER' ? Number(i.StartingSequenceNumber) : 1;
      return { ShardIterator: `it-${from}` };
    }
    if (command instanceof GetRecordsCommand) {
      const fault = faults[call++] ?? null;
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
