/**
 * Splitting a byte stream into lines, for the local sources that read bytes (file, standard input).
 */

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines, keeping an unfinished last line until its newline arrives (a writer
 * may be half-way through it). Works on bytes, not text, so that invalid UTF-8 reaches the processor
 * unchanged and can be dead-lettered as such instead of silently becoming U+FFFD.
 *
 * @example
 * ```ts
 * const splitter = new LineSplitter();
 * splitter.push(Buffer.from('a\r\nb')); // [bytes of 'a']
 * splitter.push(Buffer.from('\n'));     // [bytes of 'b']
 * splitter.end();                       // null
 * ```
 */
export class LineSplitter {
  private partial: Uint8Array = new Uint8Array(0);

  /** Whether an unfinished line is held. */
  get hasPartial(): boolean {
    return this.partial.length > 0;
  }

  /** Adds bytes; returns the lines they completed. The chunk may be reused by the caller afterwards. */
  push(chunk: Uint8Array): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let start = 0;
    let newline = chunk.indexOf(LF);
    if (newline === -1) {
      this.partial = concat(this.partial, chunk);
      return lines;
    }
    lines.push(stripCr(concat(this.partial, chunk.subarray(0, newline))));
    start = newline + 1;
    for (newline = chunk.indexOf(LF, start); newline !== -1; newline = chunk.indexOf(LF, start)) {
      lines.push(stripCr(copy(chunk.subarray(start, newline))));
      start = newline + 1;
    }
    this.partial = copy(chunk.subarray(start));
    return lines;
  }

  /** The end of input: an unfinished last line is a line after all (files need not end in a newline). */
  end(): Uint8Array | null {
    const rest = this.partial;
    this.partial = new Uint8Array(0);
    return rest.length > 0 ? stripCr(rest) : null;
  }
}

/**
 * A copy, so that a line does not change when the caller reuses its read buffer (`Buffer#slice` would
 * not copy, hence no `slice` here).
 */
function copy(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function stripCr(line: Uint8Array): Uint8Array {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}
