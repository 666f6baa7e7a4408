import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulateInventory } from '../../datasets/index.js';
import { createNormalizer, partitionKeyOf } from '../../pipeline/index.js';
import { partitionKeysOf } from './partition.js';

// These records carry no arrival time: the future check is not what this test is about.
const normalizer = createNormalizer({ casePack: () => 12, maxFutureSkewMs: Number.POSITIVE_INFINITY });

function seriesOf(line: string): string[] | null {
  const r = normalizer.normalize(
    {
      partitionKey: 'x',
      data: Buffer.from(line),
      sequenceNumber: '1',
      subSequenceNumber: 0,
      approximateArrivalTimestamp: 0,
    },
    'shard',
  );
  return r.ok ? [...new Set(r.events.map((e) => partitionKeyOf(e.sku, e.warehouse)))] : null;
}

describe('partitionKeysOf', () => {
  it('names exactly the series of the events a valid record yields, in their order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (seed) => {
        let checked = 0;
        for (const o of simulateInventory({ seed, days: 1, skus: 5, warehouses: 2 })) {
          if (o.type !== 'record') continue;
          const series = seriesOf(o.line);
          if (series === null) continue; // malformed on purpose: one copy, dead-lettered
          expect(partitionKeysOf(o.line)).toEqual(series);
          checked++;
        }
        expect(checked).toBeGreaterThan(0);
      }),
      { numRuns: 5 },
    );
  });

  it('gives one key for anything unparseable', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const keys = partitionKeysOf(s);
        expect(keys.length).toBeGreaterThanOrEqual(1);
        if (seriesOf(s) === null && !s.trim().startsWith('{')) expect(keys).toEqual(['unparsed']);
      }),
    );
    expect(partitionKeysOf('{"items": [], "fulfillmentCenter": "WH-1"}')).toEqual(['unparsed']);
  });
});
