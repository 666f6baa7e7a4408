import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkLineReader, LineSplitter, resumeAfter, ShardProgress } from './batcher.js';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

describe('LineSplitter', () => {
  it('splits on LF and CRLF and keeps an unfinished line until its newline', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('a\r\nb')).map(text)).toEqual(['a']);
    expect(splitter.hasPartial).toBe(true);
    expect(splitter.push(Buffer.from('c\n\nd')).map(text)).toEqual(['bc', '']);
    expect(text(splitter.end())).toBe('d');
    expect(splitter.end()).toBeNull();
  });

  it('gives the same lines however the input is cut into chunks, and copes with buffer reuse', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'é', '\n', '\r\n', '{', '}'), { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (pieces, cuts) => {
          const bytes = Buffer.from(pieces.join(''));
          const whole = new LineSplitter();
          const expected = [...whole.push(bytes), whole.end()].filter((l) => l !== null).map(text);

          const chunked = new LineSplitter();
          const scratch = Buffer.alloc(bytes.length);
          const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort(
            (a, b) => a - b,
          );
          const lines: Uint8Array[] = [];
          let from = 0;
          for (const to of [...points, bytes.length]) {
            // One scratch buffer for every chunk, as a file reader does.
            bytes.copy(scratch, 0, from, to);
            lines.push(...chunked.push(scratch.subarray(0, to - from)));
            scratch.fill(0);
            from = to;
          }
          const end = chunked.end();
          if (end !== null) lines.push(end);
          expect(lines.map(text)).toEqual(expected);
        },
      ),
    );
  });
});

describe('ChunkLineReader', () => {
  it('numbers lines, skips the resumed ones and blank ones, and ends with null', async () => {
    const chunks = ['x\n', '\n  \ny\nz'];
    const reader = new ChunkLineReader(
      async () => (chunks.length > 0 ? Buffer.from(chunks.shift() ?? '') : null),
      1,
    );
    const first = await reader.next();
    expect(first?.map((l) => [l.lineNo, text(l.data)])).toEqual([[4, 'y']]);
    const second = await reader.next();
    expect(second?.map((l) => [l.lineNo, text(l.data)])).toEqual([[5, 'z']]);
    expect(await reader.next()).toBeNull();
    expect(await reader.next()).toBeNull();
  });
});

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
