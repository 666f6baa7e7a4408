import { describe, expect, it } from 'vitest';
import type { SourceLine } from './batcher.js';
import { ChunkLineReader } from './line-reader.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const show = (lines: SourceLine[] | null) =>
  lines?.map((l) => (l.overLimit ? [l.lineNo, text(l.data), l.overLimit] : [l.lineNo, text(l.data)])) ?? null;

/** A chunk source over fixed chunks. */
function chunks(...parts: string[]): () => Promise<Uint8Array | null> {
  return async () => (parts.length > 0 ? Buffer.from(parts.shift() ?? '') : null);
}

describe('ChunkLineReader', () => {
  it('numbers lines, skips the resumed ones and blank ones, and ends with null', async () => {
    const reader = new ChunkLineReader(chunks('x\n', '\n  \ny\nz'), 1);
    expect(show(await reader.next())).toEqual([[4, 'y']]);
    expect(show(await reader.next())).toEqual([[5, 'z']]);
    expect(await reader.next()).toBeNull();
    expect(await reader.next()).toBeNull();
  });

  it('hands over a line over the limit marked, with its number, length and first bytes', async () => {
    const reader = new ChunkLineReader(
      chunks('ok\nabcdefgh', 'ij\r\n', 'fine\n', 'tail-too-long'),
      0,
      undefined,
      {
        maxLineBytes: 4,
      },
    );
    expect(show(await reader.next())).toEqual([[1, 'ok']]);
    expect(show(await reader.next())).toEqual([[2, 'abcd', { bytes: 10, limit: 4 }]]);
    expect(show(await reader.next())).toEqual([[3, 'fine']]);
    // At the end of input, an unfinished last line over the limit is marked too.
    expect(show(await reader.next())).toEqual([[4, 'tail', { bytes: 13, limit: 4 }]]);
    expect(await reader.next()).toBeNull();
  });

  it('marks an over-long line of spaces too: only a line within the limit can be blank', async () => {
    const reader = new ChunkLineReader(chunks('        \n'), 0, undefined, { maxLineBytes: 4 });
    expect(show(await reader.next())).toEqual([[1, '    ', { bytes: 8, limit: 4 }]]);
  });

  it('skips an over-long line before the resume point like any other', async () => {
    const reader = new ChunkLineReader(chunks('a\nxxxxxxxxxx\nb\n'), 2, undefined, { maxLineBytes: 4 });
    expect(show(await reader.next())).toEqual([[3, 'b']]);
  });

  it('reports the blank lines it skips after the resume point, once per read', async () => {
    const counts: number[] = [];
    const reader = new ChunkLineReader(chunks('\n\na\n', ' \n\t\r\n\nb\n', '\n', '\n'), 1, undefined, {
      onBlankLines: (n) => counts.push(n),
    });
    expect(show(await reader.next())).toEqual([[3, 'a']]);
    expect(show(await reader.next())).toEqual([[7, 'b']]);
    expect(await reader.next()).toBeNull();
    // Line 1 is before the resume point; then 2 | 4, 5, 6 | 8 | 9.
    expect(counts).toEqual([1, 3, 1, 1]);
  });

  it('keeps reading when the blank-line observer throws', async () => {
    const reader = new ChunkLineReader(chunks('\na\n'), 0, undefined, {
      onBlankLines: () => {
        throw new Error('metrics down');
      },
    });
    expect(show(await reader.next())).toEqual([[2, 'a']]);
  });
});
