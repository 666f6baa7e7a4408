/**
 * The comparisons every scenario makes: a disturbed run against a clean one (state, applied ids,
 * anomalies, dead letters, alerts), and each line of a mixed stream against the fate the job owes it.
 */
import type { Checks } from './checks.js';
import { n } from './checks.js';
import type { HostileMix } from './hostile.js';
import { type RunOutcome, repeats, type StoredDeadLetter } from './sqlite-outcome.js';

/**
 * A dead letter's reason without what depends on the wall clock: a `future_event` reason names the
 * arrival time, which differs between two runs of the same file.
 *
 * @example
 * ```ts
 * stableReason({ sequence: 7, code: 'schema', reason: 'QTY: expected a number' }); // unchanged
 * ```
 */
export function stableReason(d: StoredDeadLetter): StoredDeadLetter {
  if (d.code !== 'future_event') return d;
  return {
    ...d,
    reason: d.reason.replace(/ is .*? after the record reached the stream \([^)]*\)/, ' is … after …'),
  };
}

/**
 * Dead letters counted by code, as `code n, code n` (most first).
 *
 * @example
 * ```ts
 * byCode(outcome.deadLetters); // 'schema 210, future_event 36, …'
 * ```
 */
export function byCode(letters: readonly StoredDeadLetter[]): string {
  const counts = new Map<string, number>();
  for (const d of letters) counts.set(d.code, (counts.get(d.code) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([code, k]) => `${code} ${n(k)}`)
    .join(', ');
}

/**
 * Checks that `run` ended as `clean` did: series rows, applied ids of the last window, anomalies, dead
 * letters (each with code and reason), alerts delivered exactly once. Returns the figures.
 *
 * @example
 * ```ts
 * const { figures, lost } = compareWithClean(checks, readOutcome(chaosDb, chaosAlerts), readOutcome(cleanDb, cleanAlerts));
 * ```
 */
export function compareWithClean(
  checks: Checks,
  run: RunOutcome,
  clean: RunOutcome,
): { figures: Array<[string, string]>; lost: number; duplicateAlerts: number } {
  checks.that(
    'the clean run applied events',
    clean.appliedWindow.length > 0,
    `${n(clean.appliedWindow.length)} ids`,
  );
  checks.equal(
    'stored checkpoint equals the clean run',
    run.checkpoint,
    clean.checkpoint,
    `line ${n(clean.checkpoint)}`,
  );
  checks.equal(
    'series rows equal to the clean run',
    run.series,
    clean.series,
    `${n(clean.series.length)} rows`,
  );
  const chaosIds = new Set(run.appliedWindow);
  const lost = clean.appliedWindow.filter((id) => !chaosIds.has(id));
  const cleanIds = new Set(clean.appliedWindow);
  const extra = run.appliedWindow.filter((id) => !cleanIds.has(id));
  checks.that(
    'events lost (applied ids of the last window missing)',
    lost.length === 0,
    `${lost.length} of ${n(clean.appliedWindow.length)}${lost.length ? `: ${lost.slice(0, 5).join(', ')}` : ''}`,
  );
  checks.that(
    'applied ids not applied by the clean run',
    extra.length === 0,
    `${extra.length}${extra.length ? `: ${extra.slice(0, 5).join(', ')}` : ''}`,
  );
  checks.equal(
    'anomalies equal to the clean run',
    run.anomalies,
    clean.anomalies,
    `${n(clean.anomalies.length)}`,
  );
  checks.equal(
    'dead letters equal to the clean run (line, code, reason)',
    run.deadLetters.map(stableReason),
    clean.deadLetters.map(stableReason),
    `${n(clean.deadLetters.length)}`,
  );
  const unexplained = run.deadLetters.filter((d) => d.code === '' || d.reason.trim().length < 10);
  checks.that(
    'every dead letter has a code and a reason',
    unexplained.length === 0,
    `${unexplained.length} without`,
  );
  const dupAlerts = repeats(run.notifications);
  checks.that('duplicate alerts', dupAlerts === 0, String(dupAlerts));
  checks.equal(
    'alerts delivered equal to the clean run',
    [...new Set(run.notifications)].sort(),
    [...clean.notifications].sort(),
    `${n(clean.notifications.length)} alerts`,
  );
  checks.that('the clean run sent alerts', clean.notifications.length > 0, `${clean.notifications.length}`);
  const figures: Array<[string, string]> = [
    ['series rows', `${n(run.series.length)} (clean ${n(clean.series.length)})`],
    ['events lost', `${lost.length} (of ${n(clean.appliedWindow.length)} ids applied in the last window)`],
    ['anomalies', `${n(run.anomalies.length)} (clean ${n(clean.anomalies.length)})`],
    [
      'dead letters',
      `${n(run.deadLetters.length)} (clean ${n(clean.deadLetters.length)}): ${byCode(run.deadLetters)}`,
    ],
    ['alerts delivered', `${n(run.notifications.length)}, duplicate alerts ${dupAlerts}`],
  ];
  return { figures, lost: lost.length, duplicateAlerts: dupAlerts };
}

/**
 * Checks each line of a mixed stream against its fate: hostile lines dead-lettered with their code and
 * a reason, valid and blank lines never, a repeat dead-lettered exactly when its original was; the
 * ambiguous pairs applied as distinct events of distinct series. Returns the figures.
 *
 * @example
 * ```ts
 * const figures = checkFates(checks, mix, readOutcome(db, alerts));
 * ```
 */
export function checkFates(checks: Checks, mix: HostileMix, run: RunOutcome): Array<[string, string]> {
  const letters = new Map(run.deadLetters.map((d) => [d.sequence, d]));
  const wrong: string[] = [];
  let hostile = 0;
  mix.lines.forEach((line, i) => {
    const lineNo = i + 1;
    const d = letters.get(lineNo);
    const fate = line.fate;
    if (fate.kind === 'dead') {
      hostile++;
      if (d?.code !== fate.code || d.reason.trim().length < 10)
        wrong.push(
          `line ${lineNo} (${fate.what}): expected ${fate.code}, got ${d ? `${d.code}: ${d.reason.slice(0, 120)}` : 'no dead letter'}`,
        );
    } else if (fate.kind === 'valid' || fate.kind === 'blank') {
      if (d)
        wrong.push(`line ${lineNo} (${fate.kind}) was dead-lettered: ${d.code}: ${d.reason.slice(0, 160)}`);
    } else if (fate.kind === 'duplicate') {
      if (Boolean(d) !== letters.has(fate.of))
        wrong.push(
          `line ${lineNo} (repeat of line ${fate.of}): ${d ? `dead-lettered ${d.code}` : 'not dead-lettered'} unlike its original`,
        );
    }
  });
  checks.that(
    'every line met its fate (hostile: dead-lettered with its code and reason; valid, blank, repeats: not)',
    wrong.length === 0,
    `${hostile} hostile lines${wrong.length ? `; ${wrong.length} wrong: ${wrong.slice(0, 5).join(' | ')}` : ''}`,
  );
  const applied = new Set(run.appliedAll);
  // Older ids were forgotten with their window: the state comparison stands for them.
  const stored = mix.mustApply.filter((e) => e.at >= run.windowStart);
  const missing = stored.filter((e) => !applied.has(e.id)).map((e) => e.id);
  checks.that(
    'ambiguous ids applied as distinct events',
    missing.length === 0,
    `${stored.length - missing.length}/${stored.length} within the stored window${missing.length ? `; missing ${missing.slice(0, 4).join(', ')}` : ''}`,
  );
  const rows = new Set(run.series.map((s) => JSON.stringify([s.sku, s.warehouse])));
  const absent = mix.mustExist.filter((s) => !rows.has(JSON.stringify([s.sku, s.warehouse])));
  checks.that(
    'ambiguous series keys kept apart',
    absent.length === 0,
    `${mix.mustExist.length - absent.length}/${mix.mustExist.length} series present`,
  );
  const classes = Object.entries(mix.classes)
    .filter(([, k]) => k > 0)
    .map(([c, k]) => `${c} ${k}`)
    .join(', ');
  return [['hostile insertions', classes]];
}
