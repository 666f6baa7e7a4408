/**
 * Which dependencies are failing, since when, and why: fed by the retry observers of the engine and
 * the sources, read by `/readyz` (503 once one has failed for longer than a configured time, naming
 * it) and by the shutdown message.
 */
import { describeCause } from '../errors.js';

/**
 * Told of failures and recoveries of a named dependency (`state store`, `sink slack`, `kinesis
 * stream inventory`, `lease table shelfwatch`). An observer: it never changes what the caller does.
 *
 * @example
 * ```ts
 * const observer: DependencyObserver = { failed: (what, err) => log.warn({ what, err }), recovered: () => {} };
 * ```
 */
export interface DependencyObserver {
  failed(what: string, error: unknown): void;
  recovered(what: string): void;
}

/**
 * One failing dependency.
 *
 * @example
 * ```ts
 * const f: FailingDependency = { what: 'sink slack', since: Date.now() - 61_000, cause: 'fetch failed: connect ECONNREFUSED 127.0.0.1:9' };
 * ```
 */
export interface FailingDependency {
  what: string;
  /** When it started failing (the first failure since it last worked), epoch ms. */
  since: number;
  /** The last failure's cause, in a few words. */
  cause: string;
}

/**
 * The failing dependencies of a process.
 *
 * @example
 * ```ts
 * const health = new DependencyHealth();
 * health.failed('sink slack', err);
 * health.failingFor(60_000); // [] for a minute, then [{ what: 'sink slack', since, cause }]
 * ```
 */
export class DependencyHealth implements DependencyObserver {
  private readonly failing = new Map<string, FailingDependency>();

  constructor(private readonly now: () => number = Date.now) {}

  failed(what: string, error: unknown): void {
    const known = this.failing.get(what);
    this.failing.set(what, { what, since: known?.since ?? this.now(), cause: describeCause(error) });
  }

  recovered(what: string): void {
    this.failing.delete(what);
  }

  /** Dependencies failing for at least `ms`, longest first. */
  failingFor(ms: number): FailingDependency[] {
    const limit = this.now() - ms;
    return [...this.failing.values()].filter((f) => f.since <= limit).sort((a, b) => a.since - b.since);
  }

  /** `sink slack failing for 75 s: fetch failed: connect ECONNREFUSED 127.0.0.1:9; …` */
  describe(failing: readonly FailingDependency[]): string {
    const now = this.now();
    return failing
      .map((f) => `${f.what} failing for ${Math.round((now - f.since) / 1000)} s: ${f.cause}`)
      .join('; ');
  }
}
