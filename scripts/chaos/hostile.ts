/**
 * Hostile lines mixed into a stream of NDJSON lines, each with the fate the job owes it: the classes
 * of issue 11 (future-dated, older than the duplicate window, huge and odd keys, ambiguous ids and
 * series keys, over-long lines, blank lines, repeats, truncated JSON, wrong types). A hostile record
 * is made from the valid record just before its place, with a fresh id, so that if the job wrongly
 * took it, it would show in the state rather than pass as a repeat.
 */
import { Rng } from '../../detectors/random.js';
import { ambiguousPair, hostileText, type Template } from './hostile-records.js';
import { eventTime, familyOf, type WireRecord } from './wire-records.js';

/**
 * The hostile classes, each with the dead-letter code it must get (or its other fate).
 *
 * @example
 * ```ts
 * HOSTILE_CLASSES.future; // 'future_event'
 * ```
 */
export const HOSTILE_CLASSES = {
  future: 'future_event',
  expired: 'expired_event',
  long_sku: 'schema',
  mega_sku: 'schema',
  control_key: 'schema',
  bidi_key: 'schema',
  surrogate_key: 'schema',
  wrong_type: 'schema',
  truncated: 'invalid_json',
  overlong_line: 'too_large',
  blank: 'blank',
  duplicate: 'duplicate',
  ambiguous_series: 'applied',
  ambiguous_id: 'applied',
} as const;

/**
 * A hostile class.
 *
 * @example
 * ```ts
 * const what: HostileClass = 'mega_sku';
 * ```
 */
export type HostileClass = keyof typeof HOSTILE_CLASSES;

/**
 * What the job must do with a line:
 * - `source`: a line as its generator made it (the clean run says what becomes of it);
 * - `valid`: applied, never dead-lettered;
 * - `duplicate`: a repeat of line `of`: dropped (not dead-lettered) whenever `of` was applied;
 * - `blank`: skipped and counted;
 * - `dead`: dead-lettered with `code`, and a reason;
 * - `fuzz`: either applied or dead-lettered with a code and a reason.
 *
 * @example
 * ```ts
 * const fate: LineFate = { kind: 'dead', code: 'future_event', what: 'future' };
 * ```
 */
export type LineFate =
  | { kind: 'source' | 'valid' | 'blank' | 'fuzz' }
  | { kind: 'duplicate'; of: number }
  | { kind: 'dead'; code: string; what: HostileClass };

/**
 * One line of a mixed stream and what the job owes it.
 *
 * @example
 * ```ts
 * const line: MixedLine = { text: '', fate: { kind: 'blank' } };
 * ```
 */
export interface MixedLine {
  text: string;
  fate: LineFate;
}

/**
 * A mixed stream: its lines (line N of the file is `lines[N - 1]`), the event ids and series the
 * ambiguous pairs must leave applied, and how many lines of each class were mixed in.
 *
 * @example
 * ```ts
 * const mix: HostileMix = mixHostile(withFate(lines, 'source'), { seed: 7, count: 500 });
 * ```
 */
export interface HostileMix {
  lines: MixedLine[];
  /** Event ids the job must apply, with their event time (stores forget ids older than their window). */
  mustApply: Array<{ id: string; at: number }>;
  mustExist: Array<{ sku: string; warehouse: string }>;
  classes: Record<HostileClass, number>;
}

/**
 * Lines with one fate for all, to mix hostile lines into.
 *
 * @example
 * ```ts
 * const source = withFate(readFileSync('events.ndjson', 'utf8').trimEnd().split('\n'), 'source');
 * ```
 */
export const withFate = (texts: readonly string[], kind: 'source' | 'valid' | 'fuzz'): MixedLine[] =>
  texts.map((text) => ({ text, fate: { kind } }));

/**
 * Options of {@link mixHostile}.
 *
 * @example
 * ```ts
 * const options: MixOptions = { seed: 7, count: 500, caps: { overlong_line: 1 } };
 * ```
 */
export interface MixOptions {
  seed: number;
  /** How many hostile insertions (an ambiguous pair counts once). */
  count: number;
  /** Classes with a cap (default: 2 over-long lines and 2 megabyte SKUs: each is a MiB of file). */
  caps?: Partial<Record<HostileClass, number>>;
  /** Hostile lines go no earlier than after this many source lines (the shard needs a clock). Default 10. */
  after?: number;
}

/**
 * Mixes `count` hostile insertions into `source` at seeded places after the first `after` lines,
 * cycling through every class (so each is present) but capped where a class is heavy.
 *
 * @example
 * ```ts
 * const lines = readFileSync('events.ndjson', 'utf8').trimEnd().split('\n');
 * const mix = mixHostile(withFate(lines, 'source'), { seed: 7, count: 500 });
 * writeFileSync('hostile.ndjson', `${mix.lines.map((l) => l.text).join('\n')}\n`);
 * ```
 */
export function mixHostile(source: readonly MixedLine[], options: MixOptions): HostileMix {
  const rng = new Rng(options.seed);
  const caps: Partial<Record<HostileClass, number>> = { overlong_line: 2, mega_sku: 2, ...options.caps };
  const templates = templatesOf(source);
  const after = Math.max(options.after ?? 10, templates[0]?.index ?? 0);
  const classes = Object.fromEntries(Object.keys(HOSTILE_CLASSES).map((k) => [k, 0])) as Record<
    HostileClass,
    number
  >;
  const names = Object.keys(HOSTILE_CLASSES) as HostileClass[];
  const inserts: Array<{ at: number; make: (originalLineNo: (i: number) => number) => MixedLine[] }> = [];
  const mustApply: Array<{ id: string; at: number }> = [];
  const mustExist: Array<{ sku: string; warehouse: string }> = [];
  for (let n = 0, c = 0; n < options.count; c++) {
    const what = names[c % names.length];
    if (caps[what] !== undefined && classes[what] >= (caps[what] ?? 0)) {
      if (names.every((k) => caps[k] !== undefined && classes[k] >= (caps[k] ?? 0))) break;
      continue;
    }
    const at = after + rng.nextInt(Math.max(1, source.length - after));
    const t = templateBefore(templates, at);
    if (t === undefined) continue;
    classes[what]++;
    n++;
    const id = `CHAOS-${options.seed}-${n}`;
    if (what === 'ambiguous_series' || what === 'ambiguous_id') {
      const pair = ambiguousPair(what, t, id, n);
      mustApply.push(...pair.ids.map((id) => ({ id, at: eventTime(t.record, t.family) })));
      mustExist.push(...pair.series);
      inserts.push({ at, make: () => pair.lines.map((text) => ({ text, fate: { kind: 'valid' } })) });
    } else if (what === 'duplicate') {
      inserts.push({
        at,
        make: (lineNo) => [{ text: source[t.index].text, fate: { kind: 'duplicate', of: lineNo(t.index) } }],
      });
    } else if (what === 'blank') {
      inserts.push({
        at,
        make: () => [{ text: rng.nextInt(2) === 0 ? '' : ' \t ', fate: { kind: 'blank' } }],
      });
    } else {
      const text = hostileText(what, t, id, n, rng);
      inserts.push({ at, make: () => [{ text, fate: { kind: 'dead', code: HOSTILE_CLASSES[what], what } }] });
    }
  }
  return { lines: merge(source, inserts), mustApply, mustExist, classes };
}

/**
 * Every record of a known format among the lines owed no other fate (a fuzzed record may be invalid in
 * ways a hostile variant would inherit), with the shard's clock (newest event time) once it is read.
 */
function templatesOf(source: readonly MixedLine[]): Template[] {
  const out: Template[] = [];
  let clock = Number.NEGATIVE_INFINITY;
  source.forEach((line, index) => {
    if (line.fate.kind !== 'source' && line.fate.kind !== 'valid') return;
    let record: unknown;
    try {
      record = JSON.parse(line.text);
    } catch {
      return;
    }
    const family = familyOf(record);
    if (family === undefined) return;
    const t = eventTime(record as WireRecord, family);
    if (!Number.isFinite(t)) return;
    clock = Math.max(clock, t);
    out.push({ index, record: record as WireRecord, family, clock });
  });
  return out;
}

/** The last template at or before source index `at - 1` (binary search: templates are by index). */
function templateBefore(templates: readonly Template[], at: number): Template | undefined {
  let lo = 0;
  let hi = templates.length - 1;
  let found: Template | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (templates[mid].index < at) {
      found = templates[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The source lines with the insertions before their places; line numbers resolved once known. */
function merge(
  source: readonly MixedLine[],
  inserts: Array<{ at: number; make: (lineNo: (i: number) => number) => MixedLine[] }>,
): MixedLine[] {
  inserts.sort((a, b) => a.at - b.at);
  const out: MixedLine[] = [];
  /** File line number of each source line: its 1-based position in `out`. */
  const lineOf: number[] = [];
  let k = 0;
  for (let i = 0; i <= source.length; i++) {
    while (k < inserts.length && inserts[k].at === i) out.push(...inserts[k++].make((j) => lineOf[j]));
    if (i === source.length) break;
    out.push(source[i]);
    lineOf.push(out.length);
  }
  return out;
}
