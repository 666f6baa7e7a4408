import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES } from '../../pipeline/normalize/limits.js';
import { LineSplitter, OverlongLine, type SplitLine } from './line-splitter.js';

/** A line as text, an over-long one as `{ bytes, prefix }`: comparable with `toEqual`. */
type Shown = string | { bytes: number; prefix: string };
const show = (line: SplitLine): Shown =>
  line instanceof OverlongLine
    ? { bytes: line.bytes, prefix: Buffer.from(line.prefix).toString('latin1') }
    : Buffer.from(line).toString('latin1');

/**
 * The reference: what the lines of `input` are, written the obvious way (split the whole input on LF,
 * drop the empty piece after a final LF, strip one CR), then cut to the limit.
 */
function expectedLines(input: Buffer, limit: number): Shown[] {
  const pieces = input.toString('latin1').split('\n');
  if (pieces.at(-1) === '') pieces.pop();
  return pieces.map((piece) => {
    const line = piece.endsWith('\r') ? piece.slice(0, -1) : piece;
    return line.length > limit ? { bytes: line.length, prefix: line.slice(0, limit) } : line;
  });
}

/** Pushes `input` cut at `cuts` through one reused scratch buffer, as the file reader does. */
function splitChunked(
  splitter: LineSplitter,
  input: Buffer,
  cuts: number[],
  afterPush?: () => void,
): Shown[] {
  const scratch = Buffer.alloc(input.length);
  const points = [...new Set(cuts.map((c) => (input.length === 0 ? 0 : c % input.length)))].sort(
    (a, b) => a - b,
  );
  const lines: Shown[] = [];
  let from = 0;
  for (const to of [...points, input.length]) {
    input.copy(scratch, 0, from, to);
    lines.push(...splitter.push(scratch.subarray(0, to - from)).map(show));
    afterPush?.();
    scratch.fill(0); // a line that kept a view of the chunk would change here
    from = to;
  }
  const end = splitter.end();
  if (end !== null) lines.push(show(end));
  return lines;
}

describe('LineSplitter', () => {
  it('splits on LF and CRLF and keeps an unfinished line until its newline', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('a\r\nb')).map(show)).toEqual(['a']);
    expect(splitter.hasPartial).toBe(true);
    expect(splitter.push(Buffer.from('c\n\nd')).map(show)).toEqual(['bc', '']);
    expect(show(splitter.end() as SplitLine)).toBe('d');
    expect(splitter.end()).toBeNull();
  });

  it('marks a line over the limit, with its length and its first bytes, however it ends', () => {
    const splitter = new LineSplitter(4);
    expect(splitter.push(Buffer.from('abcd\r\nabcde\nab')).map(show)).toEqual([
      'abcd', // 4 bytes and a CRLF: within the limit
      { bytes: 5, prefix: 'abcd' },
    ]);
    expect(splitter.push(Buffer.from('cdefg\r')).map(show)).toEqual([]);
    expect(splitter.push(Buffer.from('\n')).map(show)).toEqual([{ bytes: 7, prefix: 'abcd' }]);
    splitter.push(Buffer.from('abcdefghij'));
    expect(show(splitter.end() as SplitLine)).toEqual({ bytes: 10, prefix: 'abcd' });
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new LineSplitter(0)).toThrow(RangeError);
    expect(() => new LineSplitter(1.5)).toThrow(RangeError);
    expect(new LineSplitter().maxLineBytes).toBe(MAX_RECORD_BYTES);
  });

  it('property: yields exactly the lines of any input for any chunking, over-long ones marked', () => {
    const piece = fc.oneof(
      fc.constantFrom('a', 'é', '{', ' ', '\t', '\n', '\r\n', '\r', '\n\n'),
      // Runs long enough to cross small limits, so that over-long lines are common.
      fc.integer({ min: 1, max: 200 }).map((n) => 'x'.repeat(n)),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.oneof(fc.constant(64), fc.integer({ min: 1, max: 80 })),
        (pieces, cuts, limit) => {
          const input = Buffer.from(pieces.join(''));
          const splitter = new LineSplitter(limit);
          const lines = splitChunked(splitter, input, cuts, () => {
            expect(splitter.retainedBytes).toBeLessThanOrEqual(limit + 1);
          });
          expect(lines).toEqual(expectedLines(input, limit));
          expect(splitter.bytesCopied).toBeLessThanOrEqual(4 * input.length);
        },
      ),
    );
  });

  it('holds at most the limit (plus a CR) of a line 50 times as long, pushed chunk by chunk', () => {
    const limit = 4096;
    const chunk = Buffer.alloc(1000, 'x');
    const splitter = new LineSplitter(limit);
    let pushed = 0;
    while (pushed < 50 * limit) {
      expect(splitter.push(chunk)).toEqual([]);
      pushed += chunk.length;
      expect(splitter.retainedBytes).toBeLessThanOrEqual(limit + 1);
    }
    const [line] = splitter.push(Buffer.from('\r\n'));
    expect(line).toBeInstanceOf(OverlongLine);
    expect((line as OverlongLine).bytes).toBe(pushed);
    expect((line as OverlongLine).prefix).toEqual(new Uint8Array(limit).fill(0x78));
    // The next line starts from nothing; the big buffer was let go.
    expect(splitter.retainedBytes).toBeLessThanOrEqual(limit + 1);
    expect(splitter.push(Buffer.from('ok\n')).map(show)).toEqual(['ok']);
  });

  it('copies a line spanning many chunks a bounded number of times, not once per chunk', () => {
    // 256 KiB in 64-byte chunks: joining on every chunk would copy ~512 MiB, linear joining < 1 MiB.
    const line = 256 * 1024;
    const chunk = Buffer.alloc(64, 'y');
    const splitter = new LineSplitter();
    for (let pushed = 0; pushed < line; pushed += chunk.length) splitter.push(chunk);
    const [out] = splitter.push(Buffer.from('\n'));
    expect(out).toHaveLength(line);
    expect(splitter.bytesCopied).toBeLessThanOrEqual(4 * line);
  });
});
