/**
 * "Applied twice", counted: each batch the job committed (its debug `batch` log line: events applied,
 * repeats dropped, the checkpoint it reached) is compared with the lines it covered, from the run's
 * resume point or the previous commit to its checkpoint. A commit that applied more events than its
 * lines carry new ids applied something twice; fewer, it lost some; a commit that starts before the
 * previous one ended re-committed records. The job logs asynchronously (pino), so a SIGKILL can take
 * the line of the last commit with it: that stretch (from the last logged commit to the stored
 * checkpoint) is reported as unlogged and is covered by the final comparison with the clean run.
 */
import type { CommittedBatch } from './job.js';
import type { LineEvents } from './line-account.js';

/**
 * One run as the audit sees it: the stored checkpoint before and after, and its logged commits.
 *
 * @example
 * ```ts
 * const run: AuditedRun = { from: 0, to: 5_000, batches: committedBatches(job.stderr()) };
 * ```
 */
export interface AuditedRun {
  from: number;
  to: number;
  batches: readonly CommittedBatch[];
}

/**
 * What the audit found.
 *
 * @example
 * ```ts
 * const a: CommitAudit = auditCommits(runs, per);
 * if (a.twice > 0) console.log(a.mismatches);
 * ```
 */
export interface CommitAudit {
  /** Logged commits audited. */
  commits: number;
  /** Events applied by logged commits: what their lines carry, plus `twice`, minus `lost`. */
  applied: number;
  twice: number;
  lost: number;
  /** Logged repeats that differ from the repeats the lines carry. */
  repeatMismatch: number;
  /** Commits that began before the previous commit's checkpoint. */
  overlaps: number;
  /** Stretches committed but not logged: `[from, to]` line numbers. */
  unlogged: Array<[number, number]>;
  /** The first few disagreements, in words. */
  mismatches: string[];
}

/**
 * Audits the commits of `runs` (in order) against `per` (what each line carries).
 *
 * @example
 * ```ts
 * const audit = auditCommits([{ from: 0, to: lines, batches }], lineEvents(mix.lines, deadLettered));
 * ```
 */
export function auditCommits(runs: readonly AuditedRun[], per: readonly LineEvents[]): CommitAudit {
  const fresh = [0];
  const repeats = [0];
  for (const e of per) {
    fresh.push(fresh[fresh.length - 1] + e.fresh);
    repeats.push(repeats[repeats.length - 1] + e.repeats);
  }
  const a: CommitAudit = {
    commits: 0,
    applied: 0,
    twice: 0,
    lost: 0,
    repeatMismatch: 0,
    overlaps: 0,
    unlogged: [],
    mismatches: [],
  };
  const note = (text: string) => {
    if (a.mismatches.length < 5) a.mismatches.push(text);
  };
  for (const run of runs) {
    let start = run.from;
    for (const b of run.batches) {
      if (b.checkpoint === null) continue;
      a.commits++;
      a.applied += b.events;
      if (b.checkpoint < start) {
        a.overlaps++;
        note(`a commit to line ${b.checkpoint} after one to line ${start}`);
        continue;
      }
      const expected = fresh[b.checkpoint] - fresh[start];
      if (b.events > expected) a.twice += b.events - expected;
      if (b.events < expected) a.lost += expected - b.events;
      if (b.events !== expected)
        note(`lines ${start + 1}–${b.checkpoint}: ${b.events} events applied, ${expected} new`);
      const repeated = repeats[b.checkpoint] - repeats[start];
      if (b.duplicates !== repeated) {
        a.repeatMismatch += Math.abs(b.duplicates - repeated);
        note(`lines ${start + 1}–${b.checkpoint}: ${b.duplicates} repeats dropped, ${repeated} carried`);
      }
      start = b.checkpoint;
    }
    if (start < run.to) a.unlogged.push([start + 1, run.to]);
  }
  return a;
}
