import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.js';

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
