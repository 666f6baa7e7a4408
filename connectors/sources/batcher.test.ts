import { describe, expect, it } from 'vitest';
import { resumeAfter, ShardProgress } from './batcher.js';

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
