import { describe, expect, it } from 'vitest';
import { simulateInventory } from '../../datasets/generator/simulate.js';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
import { GENERATOR_SHARD_ID, GeneratorSource } from './generator.js';
import { RecordingProcessor } from './test-helpers.js';

const options = { seed: 11, days: 3, skus: 20, warehouses: 2 };
/** Every record line the simulation yields, in order: what the source must stream. */
const expected = [...simulateInventory(options)].flatMap((o) => (o.type === 'record' ? [o.line] : []));
const at = (n: number): ExtendedSequenceNumber => ({ sequenceNumber: String(n), subSequenceNumber: 0 });

describe('GeneratorSource', () => {
  it('streams every simulated record in order, unthrottled at rate 0, then ends the shard', async () => {
    // Stamped with the simulated arrival time: a synthetic stream's own clock.
    const arrivals = [...simulateInventory(options)].flatMap((o) =>
      o.type === 'record' ? [o.arrivedAt] : [],
    );
    expect(expected.length).toBeGreaterThan(500);
    const processor = new RecordingProcessor({ checkpoint: true });
    const source = new GeneratorSource({
      options,
      rate: 0,
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
      batch: { maxRecords: 200, maxWaitMs: 50 },
    });
    await source.run(() => processor, new AbortController().signal);
    expect(processor.calls[0]).toEqual({ hook: 'initialize', shardId: GENERATOR_SHARD_ID, checkpoint: null });
    expect(processor.hooks()).toEqual(['initialize', 'processRecords', 'shardEnded']);
    expect(processor.texts()).toEqual(expected);
    expect(processor.records.map((r) => r.approximateArrivalTimestamp)).toEqual(arrivals);
    expect(processor.records.map((r) => r.sequenceNumber)).toEqual(expected.map((_, i) => String(i + 1)));
    expect(processor.batchSizes().every((size) => size <= 200)).toBe(true);
    expect(source.lastCheckpoint).toEqual(at(expected.length));
  });

  it('paces records at the configured rate', async () => {
    const processor = new RecordingProcessor();
    const controller = new AbortController();
    const source = new GeneratorSource({
      options: { seed: 3 }, // the default 28-day simulation: far more records than a third of a second takes
      rate: 2000,
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
      batch: { maxRecords: 500, maxWaitMs: 50 },
    });
    const started = performance.now();
    const running = source.run(() => processor, controller.signal);
    setTimeout(() => controller.abort(), 300);
    await running;
    const elapsed = (performance.now() - started) / 1000;
    const delivered = processor.records.length;
    // About rate × time; loose bounds, because timers on a busy machine are late, never early. Records
    // read but not yet handed over when the run stops are dropped, hence the lower bound is generous.
    expect(delivered).toBeGreaterThan(100);
    expect(delivered).toBeLessThanOrEqual(2000 * elapsed + 2000 / 10 + 1);
    expect(processor.hooks()).toEqual(['initialize', 'processRecords', 'shutdownRequested']);
  });

  it('resumes after a restart exactly where the checkpoint left off', async () => {
    let stored: ExtendedSequenceNumber | null = null;
    const deps = {
      options,
      rate: 0,
      loadCheckpoint: () => stored,
      onCheckpoint: (_: string, position: ExtendedSequenceNumber) => {
        stored = position;
      },
      batch: { maxRecords: 50, maxWaitMs: 50 },
    };
    const controller = new AbortController();
    const first = new RecordingProcessor({
      checkpoint: true,
      afterBatch: (_batch, p) => {
        if (p.batchSizes().length === 3) controller.abort();
      },
    });
    await new GeneratorSource(deps).run(() => first, controller.signal);
    expect(first.hooks()).toEqual(['initialize', 'processRecords', 'shutdownRequested']);
    expect(stored).toEqual(at(150));

    const second = new RecordingProcessor({ checkpoint: true });
    await new GeneratorSource(deps).run(() => second, new AbortController().signal);
    expect(second.calls[0]).toEqual({ hook: 'initialize', shardId: 'generator-0', checkpoint: at(150) });
    expect(second.records[0].sequenceNumber).toBe('151');
    expect([...first.texts(), ...second.texts()]).toEqual(expected);
    expect(stored).toEqual(at(expected.length));
  });

  it('rejects a checkpoint past the end of the simulation, and bad options at construction', async () => {
    await expect(
      new GeneratorSource({
        options,
        rate: 0,
        loadCheckpoint: () => at(expected.length + 1),
        onCheckpoint: () => {},
        batch: { maxRecords: 50, maxWaitMs: 50 },
      }).run(() => new RecordingProcessor(), new AbortController().signal),
    ).rejects.toThrow(/did the generator options change/);
    const bad = {
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
      batch: { maxRecords: 1, maxWaitMs: 1 },
    };
    expect(() => new GeneratorSource({ ...bad, rate: -1 })).toThrow(/rate must be/);
    expect(() => new GeneratorSource({ ...bad, rate: 1, options: { days: 0 } })).toThrow(/days must be/);
  });
});
