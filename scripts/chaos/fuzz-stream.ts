/**
 * The fuzz scenario's stream: valid generated records (one simulated day, so that nothing valid is
 * ever older than the duplicate window), fuzzed records of every wire format interleaved at seeded
 * places, and the hostile classes mixed in on top; and, once the job has run, what became of each line.
 */
import { simulateInventory } from '../../datasets/index.js';
import { Rng } from '../../detectors/random.js';
import { createNormalizer } from '../../pipeline/index.js';
import { fuzzLines } from './arbitraries.js';
import { type HostileMix, type MixedLine, mixHostile, withFate } from './hostile.js';
import { eventTime, familyOf, seriesOf, type WireRecord } from './wire-records.js';

/**
 * Builds a stream of about `total` lines: 35 % valid generated records, 55 % fuzzed, 10 % hostile.
 *
 * @example
 * ```ts
 * const mix = fuzzStream(7, 10_000);
 * writeFileSync('fuzz.ndjson', `${mix.lines.map((l) => l.text).join('\n')}\n`);
 * ```
 */
export function fuzzStream(seed: number, total: number): HostileMix {
  // ~21 records per SKU in a day over two warehouses.
  const skus = Math.max(3, Math.ceil((0.35 * total) / 21));
  const valid: string[] = [];
  for (const o of simulateInventory({
    seed,
    days: 1,
    skus,
    warehouses: 2,
    malformedRate: 0,
    duplicateRate: 0,
  }))
    if (o.type === 'record') valid.push(o.line);
  const parsed = valid.map((l) => JSON.parse(l) as WireRecord);
  const times = parsed.map((r) => eventTime(r, familyOf(r) ?? 'wms'));
  const series = parsed.map((r) => seriesOf(r, familyOf(r) ?? 'wms'));
  const from = Math.min(...times);
  // An hour inside the day at each end: a fuzzed time never puts the clock a window past a valid record.
  const space = {
    from: from + 3_600_000,
    to: Math.max(...times) - 3_600_000,
    skus: [...new Set(series.map((s) => s.sku))],
    warehouses: [...new Set(series.map((s) => s.warehouse))],
  };
  const fuzzed = fuzzLines(seed, Math.round(total * 0.55), space);
  // After the opening balances (the shard needs a clock) and before the last valid line (the file ends
  // on a record, so its checkpoint says the whole file was read).
  const rng = new Rng(seed + 17);
  const first = Math.min(valid.length - 1, 50);
  const places = fuzzed.map(() => first + rng.nextInt(valid.length - 1 - first)).sort((a, b) => a - b);
  const lines: MixedLine[] = [];
  let k = 0;
  valid.forEach((text, i) => {
    while (k < places.length && places[k] === i) lines.push({ text: fuzzed[k++], fate: { kind: 'fuzz' } });
    lines.push(...withFate([text], 'valid'));
  });
  const mix = mixHostile(lines, { seed, count: Math.round(total * 0.1), after: first });
  // mixHostile may place a blank line last: move the last valid line to the end.
  const lastValid = mix.lines.map((l) => l.fate.kind).lastIndexOf('valid');
  mix.lines.push(...mix.lines.splice(lastValid, 1));
  return mix;
}

/**
 * What became of a stream's lines, given the ones the job dead-lettered: each accepted line is
 * `applied` when it applied at least one new event, `duplicate` when every event of it had been
 * applied before (by id, as the job's duplicate window sees it).
 *
 * @example
 * ```ts
 * const fates = classify(mix.lines, new Set(outcome.deadLetters.map((d) => d.sequence)));
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
 * Accounts for every line (see {@link LineAccount}).
 *
 * @example
 * ```ts
 * const account = accountFor(mix.lines, deadLetteredLineNumbers);
 * ```
 */
export function accountFor(lines: readonly MixedLine[], deadLettered: ReadonlySet<number>): LineAccount {
  const normalizer = createNormalizer({ casePack: () => undefined });
  const encoder = new TextEncoder();
  const seen = new Set<string>();
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
  lines.forEach((line, i) => {
    if (line.text.trim() === '') {
      a.blank++;
      return;
    }
    if (deadLettered.has(i + 1)) {
      a.deadLettered++;
      if (line.fate.kind === 'fuzz') a.fuzzDeadLettered++;
      return;
    }
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
    if (!r.ok) {
      a.disagreements.push(`line ${i + 1}: accepted by the job, refused in-process: ${r.deadLetter.reason}`);
      return;
    }
    a.accepted.push(line.text);
    let fresh = 0;
    for (const e of r.events) {
      if (seen.has(e.eventId)) a.repeatEvents++;
      else {
        seen.add(e.eventId);
        a.ids.push(e.eventId);
        fresh++;
      }
    }
    a.newEvents += fresh;
    if (fresh > 0) a.applied++;
    else a.duplicate++;
    if (fresh > 0 && line.fate.kind === 'fuzz') a.fuzzApplied++;
  });
  return a;
}
