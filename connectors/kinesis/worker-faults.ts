/**
 * How the Kinesis worker meets failing dependencies: when it tries a periodic task again (the
 * pipeline's {@link RetryPolicy} back-off instead of the task's period), and who is told which part
 * fails and why (a {@link DependencyObserver}, for `/readyz`, and the logs).
 */
import type { DependencyObserver } from '../../pipeline/observability/health.js';
import type { RetryPolicy } from '../../pipeline/retry.js';
import { LeaseLostError, type Leases } from './leases.js';

/**
 * Failures and recoveries of the worker's dependencies, told to an observer. A dependency may have
 * several parts that fail apart (a stream's shards, its shard listing): it is failing while any part
 * is, and recovered once none is, so one healthy shard does not hide another that keeps failing. It
 * also remembers which dependency an error came from, so that a caller far from the call can name it.
 *
 * @example
 * ```ts
 * const report = new DependencyReport(health);
 * report.failed('kinesis stream inventory', 'shardId-000000000000', err);
 * report.recovered('kinesis stream inventory', 'shardId-000000000000'); // health.recovered(…)
 * ```
 */
export class DependencyReport {
  private readonly failing = new Map<string, Set<string>>();
  private readonly blame = new WeakMap<object, string>();

  constructor(private readonly observer?: DependencyObserver) {}

  /** `part` of `what` failed with `error`. */
  failed(what: string, part: string, error: unknown): void {
    const parts = this.failing.get(what) ?? new Set<string>();
    parts.add(part);
    this.failing.set(what, parts);
    if (typeof error === 'object' && error !== null) this.blame.set(error, what);
    try {
      this.observer?.failed(what, error);
    } catch {
      // An observer cannot steer the worker.
    }
  }

  /** `part` of `what` worked (or no longer matters: its shard was let go). */
  recovered(what: string, part: string): void {
    const parts = this.failing.get(what);
    if (!parts?.delete(part) || parts.size > 0) return;
    this.failing.delete(what);
    try {
      this.observer?.recovered(what);
    } catch {
      // An observer cannot steer the worker.
    }
  }

  /** The dependency `error` came from, when it was reported here. */
  blamed(error: unknown): string | undefined {
    return typeof error === 'object' && error !== null ? this.blame.get(error) : undefined;
  }
}

/**
 * A lease table whose calls are reported to `report` as dependency `what`: an error is a failure of
 * the table, an answer (a refused conditional write, {@link LeaseLostError}, included) shows it works.
 *
 * @example
 * ```ts
 * const leases = observeLeases(new LeaseTable(ddb, 'shelfwatch'), 'lease table shelfwatch', report);
 * ```
 */
export function observeLeases(leases: Leases, what: string, report: DependencyReport): Leases {
  const observed = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      const out = await call();
      report.recovered(what, 'table');
      return out;
    } catch (err) {
      if (err instanceof LeaseLostError) report.recovered(what, 'table');
      else report.failed(what, 'table', err);
      throw err;
    }
  };
  return {
    tableName: leases.tableName,
    ensure: (...a) => observed(() => leases.ensure(...a)),
    list: () => observed(() => leases.list()),
    create: (...a) => observed(() => leases.create(...a)),
    take: (...a) => observed(() => leases.take(...a)),
    renew: (...a) => observed(() => leases.renew(...a)),
    checkpoint: (...a) => observed(() => leases.checkpoint(...a)),
    release: (...a) => observed(() => leases.release(...a)),
  };
}

/**
 * When a periodic task of the worker's loop (shard sync, lease taking, lease renewal) is next due:
 * once per `periodMs` while it works; after n failures in a row, after the policy's wait before retry n
 * (full jitter, capped), never later than the period, so that an outage is retried soon but not
 * hammered.
 *
 * @example
 * ```ts
 * const renewals = new Schedule(3_000, policy, Date.now() + 3_000);
 * if (renewals.due(Date.now())) (await renewAll()) ? renewals.succeeded(Date.now()) : renewals.failed(Date.now());
 * ```
 */
export class Schedule {
  private failures = 0;

  constructor(
    private readonly periodMs: number,
    private readonly policy: RetryPolicy,
    /** Epoch ms of the first run; 0: at once. */
    private next = 0,
  ) {}

  due(now: number): boolean {
    return now >= this.next;
  }

  /** Runs again at once (e.g. a shard ended: its children may be ready). */
  now(): void {
    this.next = 0;
  }

  succeeded(now: number): void {
    this.failures = 0;
    this.next = now + this.periodMs;
  }

  /** Returns the wait before the next try, ms. */
  failed(now: number): number {
    this.failures++;
    const wait = Math.min(this.periodMs, this.policy.delayBefore(this.failures));
    this.next = now + wait;
    return wait;
  }
}
