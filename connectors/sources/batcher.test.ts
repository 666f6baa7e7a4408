import { describe, expect, it } from 'vitest';
import { driveShard, type LineReader, resumeAfter, ShardProgress, type SourceLine } from './batcher.js';
import { RecordingProcessor } from './test-helpers.js';

describe('checkpoints', () => {
  it('reads line-number checkpoints and rejects others', () => {
    expect(resumeAfter('s', null)).toBe(0);
    expect(resumeAfter('s', { sequenceNumber: '42', subSequenceNumber: 0 })).toBe(42);
    expect(() => resumeAfter('s', { sequenceNumber: '-1', subSequenceNumber: 0 })).toThrow(
      /not a line number/,
    );
    expect(() => resumeAfter('s', { sequenceNumber: '1e3', subSequenceNumber: 0 })).toThrow(
      /not a line number/,
    );
  });

  it('checkpoints the last record handed over, tells the callback, and refuses to run ahead', async () => {
    const told: string[] = [];
    const progress = new ShardProgress('s', { sequenceNumber: '10', subSequenceNumber: 0 }, (_, p) => {
      told.push(p.sequenceNumber);
    });
    const checkpointer = progress.checkpointer();
    await checkpointer.checkpoint(); // nothing handed over yet
    expect(told).toEqual([]);
    progress.handedOver = { sequenceNumber: '15', subSequenceNumber: 0 };
    await checkpointer.checkpoint({ sequenceNumber: '12', subSequenceNumber: 0 });
    await checkpointer.checkpoint();
    await expect(checkpointer.checkpoint({ sequenceNumber: '16', subSequenceNumber: 0 })).rejects.toThrow(
      RangeError,
    );
    expect(told).toEqual(['12', '15']);
    expect(progress.checkpointed).toEqual({ sequenceNumber: '15', subSequenceNumber: 0 });
  });

  it('does not record a checkpoint whose callback failed', async () => {
    const progress = new ShardProgress('s', null, () => {
      throw new Error('store down');
    });
    progress.handedOver = { sequenceNumber: '3', subSequenceNumber: 0 };
    await expect(progress.checkpointer().checkpoint()).rejects.toThrow('store down');
    expect(progress.checkpointed).toBeNull();
  });
});

describe('driveShard with lines over the limit', () => {
  /** A reader over fixed reads of lines; `long` marks an over-long line with its length. */
  function reader(reads: Array<Array<number | { long: number; bytes: number }>>): LineReader {
    return {
      next: async () => {
        const read = reads.shift();
        if (read === undefined) return null;
        return read.map((l): SourceLine => {
          if (typeof l === 'number') return { lineNo: l, data: Buffer.from(`{"n":${l}}`) };
          return { lineNo: l.long, data: Buffer.alloc(64, 'x'), overLimit: { bytes: l.bytes, limit: 64 } };
        });
      },
      close: async () => {},
    };
  }

  it('hands dead letters over in line order with the records, counting toward maxRecords', async () => {
    const processor = new RecordingProcessor();
    const progress = new ShardProgress('file-0', null, () => {});
    const before = Date.now();
    await driveShard({
      shardId: 'file-0',
      processor,
      reader: reader([
        [1, { long: 2, bytes: 5000 }, 3],
        [{ long: 4, bytes: 70 }, 6],
      ]),
      progress,
      batch: { maxRecords: 2, maxWaitMs: 1_000 },
      signal: new AbortController().signal,
    });
    expect(processor.hooks()).toEqual(['initialize', 'processRecords', 'shardEnded']);
    expect(processor.calls.filter((c) => c.hook === 'processRecords')).toEqual([
      { hook: 'processRecords', shardId: 'file-0', records: 1, deadLetters: 1 },
      { hook: 'processRecords', shardId: 'file-0', records: 1, deadLetters: 1 },
      { hook: 'processRecords', shardId: 'file-0', records: 1, deadLetters: 0 },
    ]);
    expect(processor.lines()).toEqual([1, 2, 3, 4, 6]);
    const [letter] = processor.deadLetters;
    expect(letter).toEqual({
      shardId: 'file-0',
      sequenceNumber: '2',
      subSequenceNumber: 0,
      partitionKey: 'file-0',
      arrivalTimestamp: expect.any(Number),
      code: 'too_large',
      reason: 'line 2 of 5000 bytes exceeds the limit of 64 bytes (first 64 bytes kept)',
      data: Buffer.alloc(64, 'x'),
    });
    expect(letter.arrivalTimestamp).toBeGreaterThanOrEqual(before);
    expect(letter.arrivalTimestamp).toBeLessThanOrEqual(Date.now());
    expect(progress.handedOver).toEqual({ sequenceNumber: '6', subSequenceNumber: 0 });
  });

  it('lets a checkpoint without a position reach a dead letter that ends a batch', async () => {
    const checkpoints: string[] = [];
    const progress = new ShardProgress('file-0', null, (_, p) => void checkpoints.push(p.sequenceNumber));
    await driveShard({
      shardId: 'file-0',
      processor: new RecordingProcessor({ checkpoint: true }),
      reader: reader([[1, { long: 2, bytes: 100 }], [{ long: 3, bytes: 100 }]]),
      progress,
      batch: { maxRecords: 2, maxWaitMs: 1_000 },
      signal: new AbortController().signal,
    });
    // A batch of [1, dead 2], then one of only the dead letter 3, then the shard's end.
    expect(checkpoints).toEqual(['2', '3', '3']);
    expect(progress.checkpointed).toEqual({ sequenceNumber: '3', subSequenceNumber: 0 });
  });
});
