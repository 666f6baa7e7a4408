/**
 * What became of each line of a stream, given the lines the job dead-lettered (read from its store):
 * blank, dead-lettered, or accepted; and of an accepted line's events (their ids from the normalizer,
 * in-process), which were new and which repeated an id applied before, as the duplicate window sees
 * them. The fuzz scenario adds the lines up; the kills scenario compares each committed batch's logged
 * counts with the lines it covered.
 */
import { createNormalizer } from '../../pipeline/index.js';
import type { MixedLine } from './hostile.js';

/**
 * Per line (index 0 is line 1): its fate, and how many of its events were new or repeats.
 *
 * @example
 * ```ts
 * const per = lineEvents(lines, deadLettered);
 * per[41]; // { fate: 'applied', fresh: 2, repeats: 0 }
 * ```
 */
export interface LineEvents {
  fate: 'blank' | 'dead' | 'applied' | 'duplicate' | 'refused';
  fresh: number;
  repeats: number;
  /** The event ids this line applied first. */
  ids: string[];
  /** Why the normalizer refuses a line the job accepted (fate `refused`: there should be none). */
  refusal?: string;
}

/**
 * Classifies every line (see {@link LineEvents}).
 *
 * @example
 * ```ts
 * const per = lineEvents(mix.lines, new Set(outcome.deadLetters.map((d) => d.sequence)));
 * ```
 */
export function lineEvents(lines: readonly MixedLine[], deadLettered: ReadonlySet<number>): LineEvents[] {
  const normalizer = createNormalizer({ casePack: () => undefined });
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  return lines.map((line, i): LineEvents => {
    if (line.text.trim() === '') return { fate: 'blank', fresh: 0, repeats: 0, ids: [] };
    if (deadLettered.has(i + 1)) return { fate: 'dead', fresh: 0, repeats: 0, ids: [] };
    const r = normalizer.normalize(
      {
        partitionKey: 'file-0',
        data: encoder.encode(line.text),
        sequenceNumber: String(i + 1),
        subSequenceNumber: 0,
        approximateArrivalTimestamp: Date.now(),
      },
      'file-0',
    );
    if (!r.ok) return { fate: 'refused', fresh: 0, repeats: 0, ids: [], refusal: r.deadLetter.reason };
    const ids: string[] = [];
    let repeats = 0;
    for (const e of r.events) {
      if (seen.has(e.eventId)) repeats++;
      else {
        seen.add(e.eventId);
        ids.push(e.eventId);
      }
    }
    return { fate: ids.length > 0 ? 'applied' : 'duplicate', fresh: ids.length, repeats, ids };
  });
}

/**
 * The lines added up: blank + dead-lettered + applied + duplicate = lines when nothing is `refused`.
 *
 * @example
 * ```ts
 * const a: LineAccount = accountFor(mix.lines, deadLettered);
 * ```
 */
export interface LineAccount {
  lines: number;
  blank: number;
  deadLettered: number;
  applied: number;
  duplicate: number;
  /** Events applied, and events dropped as repeats. */
  newEvents: number;
  repeatEvents: number;
  /** Every event id applied, in order. */
  ids: string[];
  /** The accepted lines (applied or duplicate), in order: the "valid ones alone". */
  accepted: string[];
  /** Accepted lines the normalizer refuses in-process: there should be none. */
  disagreements: string[];
  /** Fuzzed lines applied, and dead-lettered. */
  fuzzApplied: number;
  fuzzDeadLettered: number;
}

/**
 * Adds up what became of every line (see {@link LineAccount}).
 *
 * @example
 * ```ts
 * const account = accountFor(mix.lines, deadLetteredLineNumbers);
 * ```
 */
export function accountFor(lines: readonly MixedLine[], deadLettered: ReadonlySet<number>): LineAccount {
  const a: LineAccount = {
    lines: lines.length,
    blank: 0,
    deadLettered: 0,
    applied: 0,
    duplicate: 0,
    newEvents: 0,
    repeatEvents: 0,
    ids: [],
    accepted: [],
    disagreements: [],
    fuzzApplied: 0,
    fuzzDeadLettered: 0,
  };
  lineEvents(lines, deadLettered).forEach((e, i) => {
    const fuzz = lines[i].fate.kind === 'fuzz';
    if (e.fate === 'blank') a.blank++;
    else if (e.fate === 'dead') {
      a.deadLettered++;
      if (fuzz) a.fuzzDeadLettered++;
    } else if (e.fate === 'refused') {
      a.disagreements.push(`line ${i + 1}: accepted by the job, refused in-process: ${e.refusal}`);
    } else {
      a.accepted.push(lines[i].text);
      a.newEvents += e.fresh;
      a.repeatEvents += e.repeats;
      a.ids.push(...e.ids);
      if (e.fate === 'applied') {
        a.applied++;
        if (fuzz) a.fuzzApplied++;
      } else a.duplicate++;
    }
  });
  return a;
}
