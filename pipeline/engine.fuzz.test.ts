/**
 * Acceptance: arbitrary bytes, truncated JSON, wrong types, huge values and unknown kinds never crash
 * the job, and every bad record is in the dead-letter store with its bytes and a reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulateInventory } from '../datasets/index.js';
import { InventoryEngine } from './engine.js';
import type { StreamRecord } from './lifecycle.js';
import { createNormalizer } from './normalize/normalize.js';
import { MemoryStateStore } from './testing/memory-store.js';

const ARRIVED = Date.UTC(2026, 1, 1);
const valid: string[] = [];
for (const o of simulateInventory({ seed: 2, days: 2, skus: 5, malformedRate: 0 }))
  if (o.type === 'record') valid.push(o.line);

const mutated = fc
  .tuple(
    fc.constantFrom(...valid),
    fc.nat(),
    fc.constantFrom('"n/a"', '1e999', 'null', '-1e308', '[]', '{}', '"x"', 'true'),
  )
  .map(([line, at, junk]) =>
    line.replace(/:(-?\d+(\.\d+)?|"[^"]*")/g, (m, _v, _f, offset: number) =>
      offset % 7 === at % 7 ? `:${junk}` : m,
    ),
  );

const bytes = fc.oneof(
  fc.constantFrom(...valid).map((l) => Buffer.from(l)),
  fc.constantFrom(...valid).chain((l) => fc.nat({ max: l.length }).map((n) => Buffer.from(l.slice(0, n)))),
  mutated.map((l) => Buffer.from(l)),
  fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
  fc.string().map((s) => Buffer.from(s)),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'undefined')),
  fc
    .record({ event: fc.string(), TXN: fc.string(), record_type: fc.string() }, { requiredKeys: [] })
    .map((v) => Buffer.from(JSON.stringify(v))),
);

describe('the stream job against hostile input', () => {
  it('never crashes, and dead-letters exactly the records that cannot be normalized (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(bytes, { minLength: 1, maxLength: 60 }), async (payloads) => {
        const store = new MemoryStateStore();
        const engine = new InventoryEngine({
          store,
          sinks: new Map(),
          createRouter: () => ({ add: () => {}, advance: () => [], flushAll: () => [], toJSON: () => ({}) }),
          createNormalizer: (casePack) => createNormalizer({ casePack }),
        });
        await engine.start();
        const records: StreamRecord[] = payloads.map((data, i) => ({
          partitionKey: 'fuzz',
          data,
          sequenceNumber: String(i + 1),
          subSequenceNumber: 0,
          // After every generated event: the valid lines are not future-dated.
          approximateArrivalTimestamp: ARRIVED,
        }));
        const reference = createNormalizer();
        const bad = new Set(records.filter((r) => !reference.normalize(r, 'fuzz').ok));
        const report = await engine.processBatch({
          shardId: 'fuzz',
          records,
          checkpointer: { checkpoint: async () => {} },
        });
        const letters = store.deadLetters();
        expect(report.deadLetters).toHaveLength(letters.length);
        const lettered = new Map(letters.map((d) => [d.sequenceNumber, d]));
        for (const r of records) {
          const d = lettered.get(r.sequenceNumber);
          if (bad.has(r)) {
            // Every record the normalizer refuses is kept, bytes and all, with a reason.
            expect(d).toBeDefined();
            expect(d?.code.length).toBeGreaterThan(0);
            expect(d?.reason.length).toBeGreaterThan(0);
            expect(Buffer.from(d?.data ?? []).equals(Buffer.from(r.data))).toBe(true);
          } else if (d !== undefined) {
            // A valid record is refused only for lying before the shard's duplicate window (the
            // arbitrary order of this test reaches two days back).
            expect(d.code).toBe('expired_event');
          }
        }
        expect(await store.loadCheckpoint('fuzz')).toEqual({
          sequenceNumber: String(records.length),
          subSequenceNumber: 0,
        });
      }),
      { numRuns: 150 },
    );
  });
});
