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
 * - **Reading.** GetRecords per shard with adaptive polling (full batches at once, partial ones after
 *   a short pause, empty ones after the poll interval); an expired iterator is renewed at the last
 *   position; KPL aggregates are de-aggregated.
 * - **Failures.** Every wait after a failure (GetRecords, a new iterator, shard sync, lease taking and
 *   renewal, the lease table at start) is the pipeline's {@link RetryPolicy}: full jitter below 200 ms
 *   doubling to 10 s, cut short by the stop signal. Failures and recoveries of `kinesis stream <name>`
 *   and `lease table <name>` go to the `health` observer (for `/readyz`), and log lines name the part
 *   and the real cause.
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
  ListShardsCommand,
  ProvisionedThroughputExceededException,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { dependencyHint, describeCause } from '../../pipeline/errors.js';
import {
  deaggregate,
  type ExtendedSequenceNumber,
  lastPosition,
  type RecordProcessorCheckpointer,
  type RecordSource,
  type ShardRecordProcessor,
  StaleCheckpointError,
} from '../../pipeline/index.js';
import { type RetryAttempt, RetryGiveUpError, RetryPolicy } from '../../pipeline/retry.js';
import { type Lease, LeaseLostError, type Leases } from './leases.js';
import { abortableSleep, after, HeldLease } from './shard-reading.js';
import type { KinesisSourceOptions } from './source-options.js';
import { DependencyReport, observeLeases, Schedule } from './worker-faults.js';

export type {
  InitialPosition,
  KinesisSourceLog,
  KinesisSourceMetrics,
  KinesisSourceOptions,
} from './source-options.js';

/** The worker's default waits after failures: those GetRecords had (200 ms doubling to 10 s). */
const DEFAULT_RETRY = { baseDelayMs: 200, maxDelayMs: 10_000 };

const isSequenceNumber = (s: string): boolean => /^\d+$/.test(s);

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
  private readonly leases: Leases;
  private readonly report: DependencyReport;
  private readonly policy: RetryPolicy;
  /** GetRecords: every error is waited out but an expired iterator, which a new iterator cures. */
  private readonly readPolicy: RetryPolicy;
  /** `kinesis stream <name>`: how logs and the health observer name the stream. */
  private readonly stream: string;
  /** `lease table <name>`. */
  private readonly leaseTable: string;

  constructor(private readonly o: KinesisSourceOptions) {
    this.failover = o.failoverTimeMs ?? 10_000;
    this.poll = o.pollIntervalMs ?? 1_000;
    this.limit = Math.min(10_000, Math.max(1, o.maxRecords ?? 10_000));
    this.policy = o.retryPolicy ?? new RetryPolicy(DEFAULT_RETRY);
    this.readPolicy = this.policy.with({
      classify: (e) => (e instanceof ExpiredIteratorException ? 'permanent' : 'transient'),
    });
    this.report = new DependencyReport(o.health);
    this.stream = `kinesis stream ${o.streamName}`;
    this.leaseTable = `lease table ${o.leases.tableName ?? 'leases'}`;
    this.leases = observeLeases(o.leases, this.leaseTable, this.report);
  }

  /** The leases this worker holds now. */
  get heldShards(): string[] {
    return [...this.held.keys()].sort();
  }

  async run(createProcessor: (shardId: string) => ShardRecordProcessor, signal: AbortSignal): Promise<void> {
    try {
      // Waits out a lease table that is not reachable yet; a permanent error (no permission) fails.
      await this.policy.run(this.leaseTable, () => this.leases.ensure(), {
        signal,
        onRetry: (a) => this.warnRetry(a, 'creating or reading the lease table failed'),
      });
    } catch (err) {
      if (err instanceof RetryGiveUpError && err.reason === 'aborted') return;
      throw err;
    }
    // Consumers stop on their own signal: the worker's, or a lease loss.
    const stops = new Map<string, AbortController>();
    const renewEvery = Math.max(50, Math.floor(this.failover / 3));
    const takeEvery = Math.max(100, Math.floor(this.failover / 2));
    // Each task runs once per period; after a failure, again after the retry policy's wait.
    const sync = new Schedule(this.o.shardSyncIntervalMs ?? 60_000, this.policy);
    const renewals = new Schedule(renewEvery, this.policy, Date.now() + renewEvery);
    const taking = new Schedule(takeEvery, this.policy);
    const step = async (schedule: Schedule, task: () => Promise<boolean>): Promise<void> => {
      if (!schedule.due(Date.now())) return;
      if (await task()) schedule.succeeded(Date.now());
      else schedule.failed(Date.now());
    };
    while (!signal.aborted) {
      if (this.syncRequested) {
        this.syncRequested = false;
        sync.now();
      }
      await step(sync, () => this.guard('shard sync', () => this.syncShards()));
      await step(renewals, () => this.renewAll(stops));
      await step(taking, () => this.guard('lease taking', () => this.takeLeases()));
      for (const [shardId, held] of this.held) {
        if (this.consumers.has(shardId)) continue;
        const stop = new AbortController();
        stops.set(shardId, stop);
        const run = this.consume(held, createProcessor(shardId), stop.signal, createProcessor)
          .catch((err: unknown) => {
            const what = this.report.blamed(err) ?? `shard consumer ${shardId}`;
            const cause = describeCause(err);
            this.o.log?.warn(
              { what, shardId, cause },
              `${what}: ${cause}; the shard consumer stopped and the lease is given up`,
            );
            return 'lost' as ConsumerEnd;
          })
          .then(async (end) => {
            // Nobody reads the shard here any more: its reads no longer say anything about the stream.
            this.report.recovered(this.stream, shardId);
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

  /** Runs a coordination task; a failure is logged (naming the part that failed) and retried later. */
  private async guard(task: string, run: () => Promise<void>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (err) {
      // DynamoDB or Kinesis unavailable: the task's schedule retries it; held leases keep going.
      const what = this.report.blamed(err) ?? 'kinesis worker';
      const cause = describeCause(err);
      this.o.log?.warn({ what, task, cause }, `${what}: ${task} failed: ${cause}; retrying`);
      return false;
    }
  }

  /** Logs a failure the retry policy is about to wait out, naming the part and the cause. */
  private warnRetry(a: RetryAttempt, doing: string, shardId?: string): void {
    const cause = describeCause(a.error);
    const part = a.what === this.leaseTable ? this.o.parts?.leaseTable : this.o.parts?.stream;
    const where = part?.where ? ` (${part.where})` : '';
    const hint = dependencyHint({ name: a.what, ...part }, a.error);
    this.o.log?.warn(
      { what: a.what, ...(shardId ? { shardId } : {}), cause, attempt: a.attempt, delayMs: a.delayMs },
      `${a.what}${where}: ${doing}: ${cause}${hint}; retrying in ${a.delayMs} ms`,
    );
  }

  /** Creates leases for shards that have none (with their parents), per the initial position. */
  private async syncShards(): Promise<void> {
    const shards: Shard[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.o.kinesis.send(
          new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.o.streamName }),
        );
        shards.push(...(page.Shards ?? []));
        token = page.NextToken;
      } while (token);
      this.report.recovered(this.stream, 'shard list');
    } catch (err) {
      this.report.failed(this.stream, 'shard list', err);
      throw err;
    }
    const existing = await this.leases.list();
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
      await this.leases.create(id, checkpoint, parents);
    }
  }

  /** Renews every held lease; false when a renewal failed (not lost: failed) and is to be retried. */
  private async renewAll(stops: Map<string, AbortController>): Promise<boolean> {
    const renewed = await Promise.all(
      [...this.held].map(async ([shardId, held]) => {
        try {
          await held.write((lease) => this.leases.renew(lease, this.o.workerId, this.throughputOf(shardId)));
          return true;
        } catch (err) {
          if (err instanceof LeaseLostError) {
            this.o.log?.info({ shardId }, 'lease lost to another worker');
            stops.get(shardId)?.abort();
            return true;
          }
          // Retried after the policy's wait (the lease expires only after the failover time).
          const cause = describeCause(err);
          this.o.log?.warn(
            { what: this.leaseTable, shardId, cause },
            `${this.leaseTable}: lease renewal of ${shardId} failed: ${cause}; retrying`,
          );
          return false;
        }
      }),
    );
    return renewed.every(Boolean);
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
    const all = await this.leases.list();
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
      const taken = await this.leases.take(l, this.o.workerId);
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

  /** A shard iterator, failures waited out through the retry policy (until `stop`). */
  private async openIterator(
    shardId: string,
    from: ExtendedSequenceNumber | null,
    lease: Lease,
    stop: AbortSignal,
  ): Promise<string | undefined> {
    const iterator = await this.policy.run(this.stream, () => this.iterator(shardId, from, lease), {
      signal: stop,
      onRetry: (a) => {
        this.report.failed(this.stream, shardId, a.error);
        this.warnRetry(a, `GetShardIterator on ${shardId} failed`, shardId);
      },
    });
    this.report.recovered(this.stream, shardId);
    return iterator;
  }

  /** One GetRecords call, failures waited out through the retry policy (until `stop`). */
  private async getRecords(
    shardId: string,
    iterator: string,
    stop: AbortSignal,
  ): Promise<GetRecordsCommandOutput> {
    const res = await this.readPolicy.run(
      this.stream,
      () => this.o.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.limit })),
      {
        signal: stop,
        onRetry: (a) => {
          this.report.failed(this.stream, shardId, a.error);
          // Throttling is counted, not logged: a busy shard would flood the log.
          if (a.error instanceof ProvisionedThroughputExceededException) this.o.metrics?.throttled?.(shardId);
          else this.warnRetry(a, `GetRecords on ${shardId} failed`, shardId);
        },
      },
    );
    this.report.recovered(this.stream, shardId);
    return res;
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
            ? this.leases.checkpoint(lease, me, 'SHARD_END', 0)
            : this.leases.checkpoint(lease, me, p.sequenceNumber, p.subSequenceNumber),
        );
      },
    };
    const start = async (): Promise<void> => {
      // The state store's checkpoint is authoritative (it commits with the state); the lease's may
      // lag it by the batch whose lease write a crash interrupted.
      position = (await this.o.loadCheckpoint?.(shardId)) ?? leaseCheckpoint();
      handedOver = position;
      await processor.initialize({
        shardId,
        checkpoint: position,
        parentShardIds: held.lease.parentShardIds,
      });
    };
    // A wait the stop signal cut short: the loop ends and the shard is handed back.
    const stopped = (err: unknown): boolean =>
      stop.aborted && err instanceof RetryGiveUpError && err.reason === 'aborted';
    await start();
    /** null: an iterator is to be opened at what was handed over; undefined: the shard ended. */
    let iterator: string | undefined | null = null;
    while (!stop.aborted) {
      if (held.lost) {
        await processor.leaseLost({ shardId });
        return 'lost';
      }
      if (iterator === null) {
        try {
          iterator = await this.openIterator(shardId, handedOver, held.lease, stop);
        } catch (err) {
          if (stopped(err)) continue;
          throw err;
        }
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
        res = await this.getRecords(shardId, iterator, stop);
      } catch (err) {
        if (stopped(err)) continue;
        if (err instanceof RetryGiveUpError && err.cause instanceof ExpiredIteratorException) {
          iterator = null; // a new one at the last position handed over
          continue;
        }
        throw err;
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
              .write((lease) => this.leases.renew(lease, me))
              .then(() => true)
              .catch(() => false);
            if (!stillOurs) {
              await processor.leaseLost({ shardId });
              return 'lost';
            }
            processor = createProcessor(shardId);
            await start();
            iterator = null;
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
        await this.leases.release(lease, me);
        return undefined;
      });
      this.o.metrics?.leaseTransition?.('released');
    } catch (err) {
      const cause = describeCause(err);
      this.o.log?.warn(
        { what: this.leaseTable, shardId, cause },
        `${this.leaseTable}: lease release of ${shardId} failed: ${cause}; it will expire instead`,
      );
    }
    return 'shutdown';
  }
}
