/**
 * The fuzz scenario's stream: valid generated records (one simulated day, so that nothing valid is
 * ever older than the duplicate window), fuzzed records of every wire format interleaved at seeded
 * places, and the hostile classes mixed in on top.
 */
import { simulateInventory } from '../../datasets/index.js';
import { Rng } from '../../detectors/random.js';
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
