import { describe, expect, it } from 'vitest';
import { ChunkLineReader } from './line-reader.js';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

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
