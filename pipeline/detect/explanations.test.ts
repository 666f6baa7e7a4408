import { describe, expect, it } from 'vitest';
import type { Anomaly } from '../ports.js';
import { ANOMALY_TYPES } from '../ports.js';
import { detect, eventMaker, exampleAnomalies, explanationScenarios } from './testing.js';

/** Issue 12: alert text that contradicts itself. Each test names what was seen. */
describe('explanations', () => {
  const scenarios = explanationScenarios();
  const all: Array<[string, Anomaly]> = Object.entries(scenarios).flatMap(([name, as]) =>
    as.map((a): [string, Anomaly] => [name, a]),
  );

  it('raises every type in the scenarios, and every explanation variant', () => {
    for (const [name, as] of Object.entries(scenarios)) expect(as.length, name).toBeGreaterThan(0);
    expect(Object.keys(exampleAnomalies()).sort()).toEqual([...ANOMALY_TYPES].sort());
    const detectors = new Set(all.map(([, a]) => a.detector));
    for (const d of [
      'rule:entry-size',
      'robust-zscore:entry-size',
      'rule:silence',
      'rule:repeated-count',
      'dbscan:deliveries',
    ])
      expect(detectors).toContain(d);
  });

  it('seen: "adjustment of 300 … quantity: observed 300, expected 300; size_robust_z: observed 0, expected 0"', () => {
    const [cold] = scenarios.data_entry_error;
    expect(cold.explanation.summary).toMatch(/^adjustment of 300 /);
    expect(cold.explanation.summary).not.toMatch(/far larger than usual/); // there is no usual yet
    const quantity = cold.explanation.features.find((f) => f.name === 'quantity');
    expect(quantity).toMatchObject({ observed: 300, unit: 'units' });
    expect(quantity?.expected).not.toBe(300);
    // With too few entries for a spread, there is no z to show (it was a placeholder 0).
    expect(cold.explanation.features.map((f) => f.name)).not.toContain('size_robust_z');

    // Warm: the usual size is the one before this entry (1–2 units), not pulled towards it.
    const [warm] = scenarios.dataEntryWarm;
    expect(warm.explanation.features[0]).toEqual({
      name: 'quantity',
      observed: 24,
      expected: 1,
      unit: 'units',
    });
    expect(warm.explanation.summary).toContain('which are typically 1');

    // A negative entry is compared with negative entries: its expectation has its sign.
    const ev = eventMaker('neg');
    const [negative] = detect([
      ev('cycle_count', 500, 0, { reason: 'OPENING_BALANCE' }),
      ev('adjustment', -300, 1, { reason: 'LOST' }),
    ]);
    expect(negative.explanation.features[0].expected).toBeLessThan(0);
  });

  it('seen: sales spikes report "12.6 units sold"', () => {
    const spikes = scenarios.sales_spike;
    expect(spikes.length).toBeGreaterThan(1);
    for (const a of spikes) {
      expect(a.explanation.summary).toMatch(/^\d+ units sold in the last hour/);
      expect(a.explanation.summary).not.toMatch(/\d\.\d+ units/);
      const [f] = a.explanation.features;
      expect(Number.isInteger(f.observed) && Number.isInteger(f.expected)).toBe(true);
    }
  });

  it('seen: "alert_limit: observed 12, expected 12" — a threshold is said in words, never as a feature', () => {
    for (const [name, a] of all) {
      for (const f of a.explanation.features)
        expect(f.name, name).not.toMatch(/limit|threshold|eps|_over_|min_|max_/);
    }
    const [velocity] = scenarios.sales_spike;
    expect(velocity.explanation.summary).toMatch(/more than 8× the usual hourly rate \(about \d/);
    const [floor] = scenarios.salesSpikeFloor;
    expect(floor.explanation.summary).toContain('alerts start at 12 an hour for any item');
    expect(scenarios.shortShipmentDbscan[0].explanation.summary).toMatch(
      /\d× as far from the nearest group of them/,
    );
  });

  it('no feature reads "observed X, expected X"; counts are whole; every number is finite', () => {
    for (const [name, a] of all) {
      for (const f of a.explanation.features) {
        const where = `${name}: ${a.explanation.summary} / ${f.name}`;
        expect(f.observed, where).not.toBe(f.expected);
        expect(Number.isFinite(f.observed) && Number.isFinite(f.expected), where).toBe(true);
        if (f.unit === 'units') {
          expect(Number.isInteger(f.observed), where).toBe(true);
          expect(Number.isInteger(f.expected), where).toBe(true);
          expect(Object.is(f.expected, -0) || Object.is(f.observed, -0), where).toBe(false);
        }
      }
      // A count in the summary is whole: "30 units missing", never "30.4 units".
      expect(a.explanation.summary, name).not.toMatch(/\d\.\d+ units/);
    }
  });

  it('leaves out a gap z-score before the gap baseline is warm (it was a made-up 99)', () => {
    const [cold] = scenarios.shrinkageCold;
    expect(cold.explanation.features.map((f) => f.name)).toEqual(['counted']);
    const [warm] = scenarios.shrinkage;
    expect(warm.explanation.features.map((f) => f.name)).toEqual(['counted', 'count_gap_robust_z']);
    expect(warm.explanation.features[1].observed).not.toBe(99);
  });

  it('says a stuck feed by what the count should have been, not "shipped: expected 0"', () => {
    const [repeat] = scenarios.stuck_feed;
    expect(repeat.explanation.features).toEqual([
      { name: 'counted', observed: 40, expected: 35, unit: 'units' },
    ]);
    expect(repeat.explanation.summary).toBe(
      'the count repeats 40 although 5 units shipped since the last count (the book holds 35)',
    );
  });
});
