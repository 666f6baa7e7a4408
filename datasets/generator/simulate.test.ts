import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyCounts, type GeneratorOptions, simulateInventory } from './index.js';
import { GeneratorOptionError, parseMix, resolveGeneratorOptions } from './options.js';
import { ANOMALY_TYPES, type AnomalyLabel } from './wire-formats.js';
import { writeDataset } from './write.js';

interface Run {
  lines: string[];
  labels: AnomalyLabel[];
  counts: ReturnType<typeof emptyCounts>;
}

function run(options: Partial<GeneratorOptions>): Run {
  const counts = emptyCounts();
  const lines: string[] = [];
  const labels: AnomalyLabel[] = [];
  for (const out of simulateInventory(options, counts)) {
    if (out.type === 'record') lines.push(out.line);
    else if (out.type === 'label') labels.push(out.label);
  }
  return { lines, labels, counts };
}

/** The id and event time of a well-formed line, or null for a line a normalizer must dead-letter. */
function parseWellFormed(line: string): { id: string; time: number } | null {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (line.includes('"n/a"') || line.includes('1e999')) return null;
  if (typeof v.record_type === 'string')
    return { id: String(v.doc_id), time: Date.parse(String(v.issued_at)) };
  if (typeof v.event === 'string') return { id: String(v.eventId), time: Number(v.occurredAt) };
  if (typeof v.TXN === 'string') return { id: String(v.LOG_ID), time: Date.parse(`${String(v.TXN_TIME)}Z`) };
  return null;
}

const defaults = run({});
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('simulateInventory', () => {
  it('labels every anomaly type at the default settings', () => {
    for (const t of ANOMALY_TYPES) expect(defaults.counts.labelsByType[t], t).toBeGreaterThan(0);
    expect(defaults.labels.length).toBe(defaults.counts.labels);
  });

  it('writes the three raw kinds, with a realistic share of each', () => {
    const c = defaults.counts;
    expect(c.records).toBe(defaults.lines.length);
    expect(c.salesOrderEvents).toBeGreaterThan(c.inventoryLogRows);
    expect(c.inventoryLogRows).toBeGreaterThan(c.supplierRecords);
    expect(c.supplierRecords).toBeGreaterThan(0);
    expect(c.records).toBe(
      c.salesOrderEvents + c.inventoryLogRows + c.supplierRecords + c.duplicates + c.malformed,
    );
  });

  it('accounts for every malformed and duplicated line', () => {
    let bad = 0;
    const seen = new Map<string, number>();
    for (const line of defaults.lines) {
      const p = parseWellFormed(line);
      if (p === null) bad++;
      else seen.set(line, (seen.get(line) ?? 0) + 1);
    }
    expect(bad).toBe(defaults.counts.malformed);
    const repeats = [...seen.values()].reduce((s, n) => s + n - 1, 0);
    expect(repeats).toBe(defaults.counts.duplicates);
  });

  it('gives each label a window inside the run and event ids that are in the stream', () => {
    const ids = new Set<string>();
    for (const line of defaults.lines) {
      const p = parseWellFormed(line);
      if (p) ids.add(p.id);
    }
    const start = Date.parse('2026-01-05T00:00:00Z');
    const end = start + 28 * 86_400_000;
    for (const l of defaults.labels) {
      expect(Date.parse(l.start)).toBeGreaterThanOrEqual(start);
      expect(Date.parse(l.end)).toBeLessThanOrEqual(end);
      expect(Date.parse(l.start)).toBeLessThanOrEqual(Date.parse(l.end));
      for (const id of l.eventIds) expect(ids.has(id), `${l.id} names ${id}`).toBe(true);
      // Only a silent feed has no event to point at: its evidence is the absence of events.
      if (l.type !== 'stuck_feed') expect(l.eventIds.length, l.id).toBeGreaterThan(0);
    }
  });

  it('emits lines in arrival order: event times only go back for late deliveries', () => {
    let maxTime = 0;
    let wentBack = 0;
    for (const line of defaults.lines) {
      const p = parseWellFormed(line);
      if (!p) continue;
      if (p.time < maxTime - 5_000) wentBack++;
      maxTime = Math.max(maxTime, p.time);
    }
    // Late records (and the on-time ones overtaken by them) are a small share, never the norm.
    expect(wentBack).toBeGreaterThan(0);
    expect(wentBack).toBeLessThan(defaults.counts.late * 2 + defaults.counts.duplicates * 2);
  });

  it('is deterministic and stays well-formed for any small configuration (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          days: fc.integer({ min: 1, max: 4 }),
          skus: fc.integer({ min: 1, max: 12 }),
          warehouses: fc.integer({ min: 1, max: 3 }),
          anomalyRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
          duplicateRate: fc.double({ min: 0, max: 0.1, noNaN: true }),
          lateRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
          malformedRate: fc.double({ min: 0, max: 0.05, noNaN: true }),
        }),
        (o) => {
          const a = run(o);
          const b = run(o);
          expect(b.lines).toEqual(a.lines);
          expect(b.labels).toEqual(a.labels);
          let bad = 0;
          for (const line of a.lines) if (parseWellFormed(line) === null) bad++;
          expect(bad).toBe(a.counts.malformed);
          for (const l of a.labels) expect(Date.parse(l.start)).toBeLessThanOrEqual(Date.parse(l.end));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('changes with the seed', () => {
    const a = run({ seed: 1, days: 2, skus: 5 });
    const b = run({ seed: 2, days: 2, skus: 5 });
    expect(a.lines).not.toEqual(b.lines);
  });

  it('injects only the types the mix enables', () => {
    const r = run({ days: 10, skus: 30, anomalyRate: 0.05, mix: parseMix('only:sales_spike,shrinkage') });
    expect(r.labels.length).toBeGreaterThan(0);
    expect(new Set(r.labels.map((l) => l.type))).toEqual(new Set(['sales_spike', 'shrinkage']));
  });
});

describe('writeDataset', () => {
  it('writes byte-identical files for the same seed, pinned by hash', async () => {
    const a = mkdtempSync(join(tmpdir(), 'sw-gen-'));
    const b = mkdtempSync(join(tmpdir(), 'sw-gen-'));
    dirs.push(a, b);
    const options = { seed: 11, days: 3, skus: 20 };
    const ma = await writeDataset(a, options);
    const mb = await writeDataset(b, options);
    expect(readFileSync(join(a, 'events.ndjson'))).toEqual(readFileSync(join(b, 'events.ndjson')));
    expect(readFileSync(join(a, 'manifest.json'), 'utf8')).toBe(
      readFileSync(join(b, 'manifest.json'), 'utf8'),
    );
    expect(ma.files.events.lines).toBe(ma.counts.records);
    expect(mb.files.labels.lines).toBe(mb.counts.labels);
    // Pinned: a change to the simulation shows up here, and must be deliberate.
    expect({ events: ma.files.events.sha256, labels: ma.files.labels.sha256 }).toMatchSnapshot();
  });
});

describe('options', () => {
  it.each([
    [{ days: 0 }, /days must be an integer from 1/],
    [{ skus: 1.5 }, /skus must be an integer/],
    [{ anomalyRate: 2 }, /anomalyRate must be a number from 0 to 1, got 2/],
    [{ start: 'yesterday' }, /start must be an ISO-8601 date/],
    [{ seed: -1 }, /seed must be an integer/],
  ])('rejects %j', (o, message) => {
    expect(() => resolveGeneratorOptions(o)).toThrow(GeneratorOptionError);
    expect(() => resolveGeneratorOptions(o)).toThrow(message);
  });

  it('parses a mix and rejects unknown types', () => {
    expect(parseMix('sales_spike=3').sales_spike).toBe(3);
    expect(parseMix('sales_spike=3').shrinkage).toBe(1);
    expect(parseMix('only:shrinkage').phantom_stock).toBe(0);
    expect(() => parseMix('theft=1')).toThrow(/unknown anomaly type 'theft'/);
    expect(() => parseMix('shrinkage=-1')).toThrow(/must be a number ≥ 0/);
  });
});
