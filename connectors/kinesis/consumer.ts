/**
 * The Kinesis source: a worker that shares a stream with other workers through a DynamoDB lease table,
 * as the Kinesis Client Library does, and drives one record processor per shard it owns.
 *
 * - **Shards → leases.** Every shard gets a lease (with its parents); a child shard is taken only once
 *   every parent that has a lease reached `SHARD_END`, so an item's events stay in order across a
 *   split or a merge.
 * - **Taking and balancing.** A lease whose counter has not moved for the failover time belongs to a
 *   dead worker and is taken; unowned leases (released on shutdown) are taken at once; a worker below
 *   its fair share (leases ÷ live workers) steals one lease from the most loaded worker — the one whose
 *   throughput best evens out the two.
 * - **Reading.** GetRecords per shard with adaptive back-off (full batches at once, partial ones after
 *   a short pause, empty ones after the poll interval; throttling backs off exponentially with jitter);
 *   an expired iterator is renewed at the last position; KPL aggregates are de-aggregated.
 * - **Checkpoints.** The state store's checkpoint (committed with the state) is where a shard resumes;
 *   the lease's checkpoint follows it, fenced by ownership, and marks `SHARD_END` for the children.
 *   The state store fences commits too: a worker that lost a shard while a batch was in flight gets
 *   {@link StaleCheckpointError}; if it still holds the lease (it was the other worker that lost it),
 *   it re-reads the checkpoint and goes on, otherwise it lets the shard go.
 */
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  ListShardsCommand,
  ProvisionedThroughputExceededException,
  type Shard,
} from '@aws-sdk/client-kinesis';
import {
  comparePositions,
  deaggregate,
  type ExtendedSequenceNumber,
  lastPosition,
  type RecordProcessorCheckpointer,
  type RecordSource,
  type ShardRecordProcessor,
  StaleCheckpointError,
} from '../../pipeline/index.js';
import { type Lease, LeaseLostError, type Leases } from './leases.js';

/** Where a worker starts reading a shard that has no checkpoint yet. */
export type InitialPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** What the worker reports, for Prometheus (see the CLI's wiring) or tests. */
export interface KinesisSourceMetrics {
  fetched?(shardId: string, records: number, bytes: number, millisBehindLatest: number | undefined): void;
  throttled?(shardId: string): void;
  leasesHeld?(count: number): void;
  leaseTransition?(kind: 'taken' | 'stolen' | 'lost' | 'released' | 'ended'): void;
}

/** The little logging the worker does (pino's signature). */
export interface KinesisSourceLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Options of {@link KinesisSource}.
 *
 * @example
 * ```ts
 * const options: KinesisSourceOptions = {
 *   kinesis, leases: new LeaseTable(ddb, 'shelfwatch'), streamName: 'inventory', workerId: 'worker-a',
 *   loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
 * };
 * ```
 */
export interface KinesisSourceOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  leases: Leases;
  streamName: string;
  /** Unique among the workers of the application (default: host name and process id). */
  workerId: string;
  /** A lease not renewed for this long is taken over, ms (KCL's failoverTimeMillis). Default 10,000. */
  failoverTimeMs?: number;
  /** Wait after an empty GetRecords, ms (KCL's idleTimeBetweenReadsInMillis). Default 1,000. */
  pollIntervalMs?: number;
  /** Records per GetRecords call (≤ 10,000). Default 10,000. */
  maxRecords?: number;
  /** Where shards without a checkpoint start. Default TRIM_HORIZON. */
  initialPosition?: InitialPosition;
  /** For AT_TIMESTAMP. */
  initialTimestamp?: Date;
  /** How often the shard list is re-read (new shards after resharding), ms. Default 60,000. */
  shardSyncIntervalMs?: number;
  /** At most this many leases per worker. Default unlimited. */
  maxLeasesPerWorker?: number;
  /** The authoritative checkpoint (the state store's, written with the state). */
  loadCheckpoint?: (shardId: string) => Promise<ExtendedSequenceNumber | null>;
  metrics?: KinesisSourceMetrics;
  log?: KinesisSourceLog;
}

const isSequenceNumber = (s: string): boolean => /^\d+$/.test(s);

/**
 * The items of a shard's batch (in stream order) after `from`: only the stale head is compared, so a
 * batch that is all new costs one comparison.
 */
function after<T extends ExtendedSequenceNumber>(items: T[], from: ExtendedSequenceNumber | null): T[] {
  if (from === null) return items;
  let i = 0;
  while (i < items.length && !(comparePositions(items[i] as T, from) > 0)) i++;
  return i === 0 ? items : items.slice(i);
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One lease held by this worker, with its writes serialized (renewals and checkpoints race otherwise). */
class HeldLease {
  private chain: Promise<unknown> = Promise.resolve();
  lost = false;
  constructor(public lease: Lease) {}

  /** Runs a conditional write with the latest stored version of the lease, and keeps the result. */
  write(task: (lease: Lease) => Promise<Lease | undefined>): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.lost) throw new LeaseLostError(this.lease.leaseKey, 'write after loss');
      try {
        const updated = await task(this.lease);
        if (updated) this.lease = updated;
      } catch (err) {
        if (err instanceof LeaseLostError) this.lost = true;
        throw err;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}

type ConsumerEnd = 'ended' | 'lost' | 'shutdown';

/**
 * A worker of a Kinesis application: implements the pipeline's {@link RecordSource}.
 *
 * @example
 * ```ts
 * const source = new KinesisSource({ kinesis, leases, streamName: 'inventory', workerId: 'a' });
 * await source.run((shardId) => engine.createProcessor(shardId), controller.signal);
 * ```
 */
export class KinesisSource implements RecordSource {
  private readonly failover: number;
  private readonly poll: number;
  private readonly limit: number;
  private readonly held = new Map<string, HeldLease>();
  private readonly consumers = new Map<string, Promise<ConsumerEnd>>();
  /** Counter last seen per lease, and when it changed (the heartbeat). */
  private readonly seen = new Map<string, { counter: number; at: number }>();
  private syncRequested = true;

  constructor(private readonly o: KinesisSourceOptions) {
    this.failover = o.failoverTimeMs ?? 10_000;
    this.poll = o.pollIntervalMs ?? 1_000;
    this.limit = Math.min(10_000, Math.max(1, o.maxRecords ?? 10_000));
  }

  /** The leases this worker holds now. */
  get heldShards(): string[] {
    return [...this.held.keys()].sort();
  }

  async run(createProcessor: (shardId: string) => ShardRecordProcessor, signal: AbortSignal): Promise<void> {
    await this.o.leases.ensure();
    // Consumers stop on their own signal: the worker's, or a lease loss.
    const stops = new Map<string, AbortController>();
    let lastSync = 0;
    let lastTake = 0;
    let lastRenew = Date.now();
    const renewEvery = Math.max(50, Math.floor(this.failover / 3));
    const takeEvery = Math.max(100, Math.floor(this.failover / 2));
    while (!signal.aborted) {
      const now = Date.now();
      if (this.syncRequested || now - lastSync >= (this.o.shardSyncIntervalMs ?? 60_000)) {
        this.syncRequested = false;
        lastSync = now;
        await this.guard('shard sync', () => this.syncShards());
      }
      if (now - lastRenew >= renewEvery) {
        lastRenew = now;
        await this.renewAll(stops);
      }
      if (now - lastTake >= takeEvery || lastTake === 0) {
        lastTake = now;
        await this.guard('lease taking', () => this.takeLeases());
      }
      for (const [shardId, held] of this.held) {
        if (this.consumers.has(shardId)) continue;
        const stop = new AbortController();
        stops.set(shardId, stop);
        const run = this.consume(held, createProcessor(shardId), stop.signal, createProcessor)
          .catch((err: unknown) => {
            this.o.log?.warn({ shardId, err: String(err) }, 'shard consumer failed; the lease is given up');
            return 'lost' as ConsumerEnd;
          })
          .then(async (end) => {
            this.consumers.delete(shardId);
            stops.delete(shardId);
            this.held.delete(shardId);
            if (end === 'ended') {
              this.syncRequested = true; // children may be ready now
              this.o.metrics?.leaseTransition?.('ended');
            } else if (end === 'lost') {
              this.o.metrics?.leaseTransition?.('lost');
            }
            this.o.metrics?.leasesHeld?.(this.held.size);
            return end;
          });
        this.consumers.set(shardId, run);
      }
      this.o.metrics?.leasesHeld?.(this.held.size);
      await abortableSleep(Math.min(renewEvery, takeEvery, 250), signal);
    }
    // Graceful shutdown: every consumer finishes its batch and checkpoints; then the leases go back.
    for (const stop of stops.values()) stop.abort();
    await Promise.allSettled([...this.consumers.values()]);
  }

  private async guard(what: string, task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (err) {
      // DynamoDB or Kinesis briefly unavailable: the next round tries again; held leases keep going.
      this.o.log?.warn({ what, err: String(err) }, 'lease coordination failed; retrying');
    }
  }

  /** Creates leases for shards that have none (with their parents), per the initial position. */
  private async syncShards(): Promise<void> {
    const shards: Shard[] = [];
    let token: string | undefined;
    do {
      const page = await this.o.kinesis.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.o.streamName }),
      );
      shards.push(...(page.Shards ?? []));
      token = page.NextToken;
    } while (token);
    const existing = await this.o.leases.list();
    const known = new Set(existing.map((l) => l.leaseKey));
    const firstStart = existing.length === 0;
    const initial = this.o.initialPosition ?? 'TRIM_HORIZON';
    for (const shard of shards) {
      const id = shard.ShardId;
      if (!id || known.has(id)) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter(
        (p): p is string => typeof p === 'string' && p.length > 0,
      );
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      let checkpoint: string;
      if (firstStart) {
        // LATEST means "from now": shards that closed before the application first started hold
        // only the past, so they get no lease (and their children do not wait for them).
        if (initial === 'LATEST' && closed) continue;
        checkpoint = initial;
      } else {
        // A shard born after the application started (a resharding) is read from its beginning,
        // whatever the initial position: its parents' readers stopped exactly where it starts.
        checkpoint = 'TRIM_HORIZON';
      }
      await this.o.leases.create(id, checkpoint, parents);
    }
  }

  private async renewAll(stops: Map<string, AbortController>): Promise<void> {
    await Promise.all(
      [...this.held].map(async ([shardId, held]) => {
        try {
          await held.write((lease) =>
            this.o.leases.renew(lease, this.o.workerId, this.throughputOf(shardId)),
          );
        } catch (err) {
          if (err instanceof LeaseLostError) {
            this.o.log?.info({ shardId }, 'lease lost to another worker');
            stops.get(shardId)?.abort();
          } else {
            // Transient: renew again next round (the lease expires only after the failover time).
            this.o.log?.warn({ shardId, err: String(err) }, 'lease renewal failed; retrying');
          }
        }
      }),
    );
  }

  private readonly rates = new Map<string, { records: number; since: number }>();

  private countRecords(shardId: string, n: number): void {
    const r = this.rates.get(shardId);
    if (r) r.records += n;
    else this.rates.set(shardId, { records: n, since: Date.now() });
  }

  /** Records per second on a shard since the last renewal (then the count starts over). */
  private throughputOf(shardId: string): number {
    const r = this.rates.get(shardId);
    if (!r) return 0;
    const seconds = Math.max(0.001, (Date.now() - r.since) / 1000);
    this.rates.set(shardId, { records: 0, since: Date.now() });
    return r.records / seconds;
  }

  /** Takes expired and unowned leases up to a fair share, and steals one if still below it. */
  private async takeLeases(): Promise<void> {
    const me = this.o.workerId;
    const now = Date.now();
    const all = await this.o.leases.list();
    const byKey = new Map(all.map((l) => [l.leaseKey, l]));
    for (const l of all) {
      const s = this.seen.get(l.leaseKey);
      if (!s || s.counter !== l.leaseCounter) this.seen.set(l.leaseKey, { counter: l.leaseCounter, at: now });
    }
    const expired = (l: Lease): boolean =>
      l.leaseOwner !== null && now - (this.seen.get(l.leaseKey)?.at ?? now) > this.failover;
    const ready = (l: Lease): boolean =>
      l.checkpoint !== 'SHARD_END' &&
      l.parentShardIds.every((p) => {
        const parent = byKey.get(p);
        return parent === undefined || parent.checkpoint === 'SHARD_END';
      });
    const workable = all.filter(ready);
    const live = new Map<string, Lease[]>();
    live.set(me, []);
    for (const l of workable) {
      if (l.leaseOwner === null || expired(l) || this.held.has(l.leaseKey)) continue;
      if (l.leaseOwner === me) continue; // our own from an earlier run: ours to take back
      const list = live.get(l.leaseOwner) ?? [];
      list.push(l);
      live.set(l.leaseOwner, list);
    }
    const cap = this.o.maxLeasesPerWorker ?? Number.POSITIVE_INFINITY;
    const target = Math.min(cap, Math.ceil(workable.length / live.size));
    let need = target - this.held.size;
    if (need <= 0) return;
    const free = workable.filter(
      (l) => !this.held.has(l.leaseKey) && (l.leaseOwner === null || l.leaseOwner === me || expired(l)),
    );
    for (const l of free) {
      if (need <= 0) break;
      if (await this.tryTake(l, 'taken')) need--;
    }
    if (need <= 0 || free.length > 0) return;
    // Nothing free: steal one lease from the most loaded worker, if it holds more than its share.
    let victim: string | null = null;
    for (const [owner, list] of live) {
      if (owner === me) continue;
      if (list.length > target && (victim === null || list.length > (live.get(victim)?.length ?? 0)))
        victim = owner;
    }
    if (victim === null) return;
    const theirs = live.get(victim) ?? [];
    const myLoad = [...this.held.values()].reduce((t, h) => t + h.lease.throughput, 0);
    const theirLoad = theirs.reduce((t, l) => t + l.throughput, 0);
    // The lease that best evens out the two workers' throughput.
    const ideal = (theirLoad - myLoad) / 2;
    const pick = [...theirs].sort(
      (a, b) =>
        Math.abs(a.throughput - ideal) - Math.abs(b.throughput - ideal) ||
        a.leaseKey.localeCompare(b.leaseKey),
    )[0];
    if (pick) await this.tryTake(pick, 'stolen');
  }

  private async tryTake(l: Lease, kind: 'taken' | 'stolen'): Promise<boolean> {
    try {
      const taken = await this.o.leases.take(l, this.o.workerId);
      this.held.set(l.leaseKey, new HeldLease(taken));
      this.seen.set(l.leaseKey, { counter: taken.leaseCounter, at: Date.now() });
      this.o.metrics?.leaseTransition?.(kind);
      this.o.log?.info({ shardId: l.leaseKey, from: l.leaseOwner, kind }, 'lease taken');
      return true;
    } catch (err) {
      if (err instanceof LeaseLostError) return false; // another worker was quicker
      throw err;
    }
  }

  private async iterator(
    shardId: string,
    from: ExtendedSequenceNumber | null,
    lease: Lease,
  ): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = {
      StreamName: this.o.streamName,
      ShardId: shardId,
      ShardIteratorType: 'TRIM_HORIZON',
    };
    if (from) {
      // AT, not AFTER: the sub-records of an aggregate after the checkpoint share its sequence number.
      input.ShardIteratorType = 'AT_SEQUENCE_NUMBER';
      input.StartingSequenceNumber = from.sequenceNumber;
    } else if (lease.checkpoint === 'LATEST') {
      input.ShardIteratorType = 'LATEST';
    } else if (lease.checkpoint === 'AT_TIMESTAMP') {
      input.ShardIteratorType = 'AT_TIMESTAMP';
      input.Timestamp = this.o.initialTimestamp ?? new Date(0);
    }
    const res = await this.o.kinesis.send(new GetShardIteratorCommand(input));
    return res.ShardIterator;
  }

  /** Reads one shard until it ends, the lease is lost, or the worker stops. */
  private async consume(
    held: HeldLease,
    first: ShardRecordProcessor,
    stop: AbortSignal,
    createProcessor: (shardId: string) => ShardRecordProcessor,
  ): Promise<ConsumerEnd> {
    const shardId = held.lease.leaseKey;
    let processor = first;
    const me = this.o.workerId;
    const leaseCheckpoint = (): ExtendedSequenceNumber | null =>
      isSequenceNumber(held.lease.checkpoint)
        ? { sequenceNumber: held.lease.checkpoint, subSequenceNumber: held.lease.checkpointSubSequenceNumber }
        : null;
    if (held.lease.checkpoint === 'SHARD_END') return 'ended';

    let position: ExtendedSequenceNumber | null = null;
    let handedOver: ExtendedSequenceNumber | null = null;
    let ended = false;
    const checkpointer: RecordProcessorCheckpointer = {
      checkpoint: async (at?: ExtendedSequenceNumber) => {
        const p = at ?? (ended ? null : handedOver);
        if (p === null && !ended) return; // nothing handed over yet: nothing to record
        await held.write((lease) =>
          p === null
            ? this.o.leases.checkpoint(lease, me, 'SHARD_END', 0)
            : this.o.leases.checkpoint(lease, me, p.sequenceNumber, p.subSequenceNumber),
        );
      },
    };
    const start = async (): Promise<string | undefined> => {
      // The state store's checkpoint is authoritative (it commits with the state); the lease's may
      // lag it by the batch whose lease write a crash interrupted.
      position = (await this.o.loadCheckpoint?.(shardId)) ?? leaseCheckpoint();
      handedOver = position;
      await processor.initialize({
        shardId,
        checkpoint: position,
        parentShardIds: held.lease.parentShardIds,
      });
      return this.iterator(shardId, position, held.lease);
    };
    let iterator = await start();
    let backoff = 0;
    while (!stop.aborted) {
      if (held.lost) {
        await processor.leaseLost({ shardId });
        return 'lost';
      }
      if (iterator === undefined) {
        // The shard is closed and fully read: let children start.
        ended = true;
        try {
          await processor.shardEnded({ shardId, checkpointer });
        } catch (err) {
          if (err instanceof LeaseLostError || err instanceof StaleCheckpointError) {
            await processor.leaseLost({ shardId });
            return 'lost';
          }
          throw err;
        }
        return 'ended';
      }
      let res: GetRecordsCommandOutput;
      try {
        res = await this.o.kinesis.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: this.limit }),
        );
        backoff = 0;
      } catch (err) {
        if (err instanceof ExpiredIteratorException) {
          iterator = await this.iterator(shardId, handedOver, held.lease);
          continue;
        }
        if (err instanceof ProvisionedThroughputExceededException) this.o.metrics?.throttled?.(shardId);
        else this.o.log?.warn({ shardId, err: String(err) }, 'GetRecords failed; backing off');
        backoff = Math.min(10_000, Math.max(200, backoff * 2));
        await abortableSleep(backoff / 2 + Math.random() * (backoff / 2), stop);
        continue;
      }
      const raw = res.Records ?? [];
      const { records, deadLetters } = deaggregate(shardId, raw);
      const from = handedOver;
      const fresh = after(records, from);
      const freshLetters = after(deadLetters, from);
      let bytes = 0;
      for (const r of raw) bytes += r.Data?.byteLength ?? 0;
      this.o.metrics?.fetched?.(shardId, raw.length, bytes, res.MillisBehindLatest);
      this.countRecords(shardId, raw.length);
      if (fresh.length > 0 || freshLetters.length > 0) {
        try {
          await processor.processRecords({
            shardId,
            records: fresh,
            deadLetters: freshLetters,
            checkpointer,
            millisBehindLatest: res.MillisBehindLatest,
          });
          const last = lastPosition(fresh, freshLetters);
          if (last) handedOver = last;
        } catch (err) {
          if (err instanceof StaleCheckpointError || err instanceof LeaseLostError) {
            // Did *we* lose the shard, or was it the other worker? Ask the lease table.
            const stillOurs = await held
              .write((lease) => this.o.leases.renew(lease, me))
              .then(() => true)
              .catch(() => false);
            if (!stillOurs) {
              await processor.leaseLost({ shardId });
              return 'lost';
            }
            processor = createProcessor(shardId);
            iterator = await start();
            continue;
          }
          throw err;
        }
      }
      iterator = res.NextShardIterator;
      // Adaptive polling: a full batch means more is waiting; an empty one, that the shard is idle.
      const pause = raw.length >= this.limit ? 0 : raw.length > 0 ? Math.min(200, this.poll) : this.poll;
      // Kinesis allows 5 GetRecords per second per shard: never call more often than every 200 ms.
      await abortableSleep(Math.max(pause, raw.length >= this.limit ? 200 : 0), stop);
    }
    // Shutdown: checkpoint what is done, then hand the lease back so another worker starts at once.
    try {
      await processor.shutdownRequested({ shardId, checkpointer });
    } catch (err) {
      // Lost while stopping: the new owner resumes from the store's checkpoint.
      if (err instanceof LeaseLostError || err instanceof StaleCheckpointError) return 'lost';
      throw err;
    }
    try {
      await held.write(async (lease) => {
        await this.o.leases.release(lease, me);
        return undefined;
      });
      this.o.metrics?.leaseTransition?.('released');
    } catch (err) {
      this.o.log?.warn({ shardId, err: String(err) }, 'lease release failed; it will expire instead');
    }
    return 'shutdown';
  }
}
