/**
 * Splitting a byte stream into lines, for the local sources that read bytes (file, standard input),
 * in time linear in the input and memory bounded by the record-size limit whatever a line's length.
 */
import { MAX_RECORD_BYTES } from '../../pipeline/normalize/limits.js';

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);
/** First capacity of the unfinished-line buffer: most lines that span a chunk border fit at once. */
const MIN_CAPACITY = 1024;
/**
 * A buffer grown past this is released once its line is complete, so that one long line does not pin
 * up to the limit for the rest of the run; smaller ones are reused (no allocation per border line).
 */
const KEEP_CAPACITY = 64 * 1024;

/**
 * A line longer than the splitter's limit: its first `maxLineBytes` bytes and its full length. The
 * rest of its bytes were counted and discarded as they arrived.
 *
 * @example
 * ```ts
 * const [line] = new LineSplitter(4).push(Buffer.from('abcdefgh\n'));
 * if (line instanceof OverlongLine) console.log(line.bytes, line.prefix.length); // 8 4
 * ```
 */
export class OverlongLine {
  constructor(
    /** The line's first bytes, as many as the limit. */
    readonly prefix: Uint8Array,
    /** The line's length in bytes, without its line ending (LF or CRLF). */
    readonly bytes: number,
  ) {}
}

/**
 * What {@link LineSplitter} yields per line: its bytes (without the line ending), or an
 * {@link OverlongLine}. A union rather than a wrapper object so that ordinary lines cost no
 * allocation beyond their bytes.
 *
 * @example
 * ```ts
 * const data = line instanceof OverlongLine ? line.prefix : line;
 * ```
 */
export type SplitLine = Uint8Array | OverlongLine;

/**
 * Splits a byte stream into lines, keeping an unfinished last line until its newline arrives (a writer
 * may be half-way through it). Works on bytes, not text, so that invalid UTF-8 reaches the processor
 * unchanged and can be dead-lettered as such instead of silently becoming U+FFFD.
 *
 * Linear: an unfinished line is appended to one buffer that doubles as it grows, and a line is copied
 * out once when complete, so a line costs O(its length) however many chunks it spans. Bounded: of a
 * line longer than `maxLineBytes` only the first `maxLineBytes` bytes (plus one, for a CR that may turn
 * out to be its line ending) are kept; the rest is counted and dropped until the newline, and the line
 * comes out as an {@link OverlongLine}. The splitter never holds more than `maxLineBytes + 1` bytes
 * between calls, whatever the input.
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
  /** The kept bytes of the unfinished line: `partial.subarray(0, kept)`. */
  private partial: Uint8Array = EMPTY;
  private kept = 0;
  /** The unfinished line's length so far, dropped bytes included. */
  private partialBytes = 0;
  /** The unfinished line's last byte, to tell a CRLF ending once the kept bytes stop short of it. */
  private lastByte = 0;
  private readonly keepLimit: number;
  /** Bytes copied so far (into the unfinished-line buffer, while growing it, and into lines). */
  private copied = 0;

  /**
   * @param maxLineBytes the longest line, in bytes without its line ending, that comes out whole.
   * @throws {RangeError} when `maxLineBytes` is not a positive safe integer.
   */
  constructor(readonly maxLineBytes: number = MAX_RECORD_BYTES) {
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    }
    this.keepLimit = maxLineBytes + 1;
  }

  /** Whether an unfinished line is held. */
  get hasPartial(): boolean {
    return this.partialBytes > 0;
  }

  /** Bytes held for the unfinished line (the buffer's capacity): at most `maxLineBytes + 1`. */
  get retainedBytes(): number {
    return this.partial.length;
  }

  /**
   * Bytes copied since construction: about three times the input at most (into the buffer, while it
   * doubles, out into the line), never a multiple of a line's length per chunk. For tests and
   * diagnostics: it shows linearity without timing anything.
   */
  get bytesCopied(): number {
    return this.copied;
  }

  /** Adds bytes; returns the lines they completed. The chunk may be reused by the caller afterwards. */
  push(chunk: Uint8Array): SplitLine[] {
    const lines: SplitLine[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(LF); newline !== -1; newline = chunk.indexOf(LF, start)) {
      lines.push(this.complete(chunk, start, newline));
      start = newline + 1;
    }
    if (start < chunk.length) this.hold(chunk, start);
    return lines;
  }

  /** The end of input: an unfinished last line is a line after all (files need not end in a newline). */
  end(): SplitLine | null {
    return this.hasPartial ? this.complete(EMPTY, 0, 0) : null;
  }

  /** Appends `chunk[from..]` to the unfinished line, keeping no more than `keepLimit` bytes of it. */
  private hold(chunk: Uint8Array, from: number): void {
    const take = Math.min(chunk.length - from, this.keepLimit - this.kept);
    if (take > 0) {
      this.reserve(this.kept + take);
      this.partial.set(chunk.subarray(from, from + take), this.kept);
      this.kept += take;
      this.copied += take;
    }
    this.partialBytes += chunk.length - from;
    this.lastByte = chunk[chunk.length - 1];
  }

  /** Grows the buffer to hold `needed` bytes, doubling (so growth copies O(line) in all). */
  private reserve(needed: number): void {
    if (needed <= this.partial.length) return;
    const capacity = Math.min(this.keepLimit, Math.max(needed, MIN_CAPACITY, this.partial.length * 2));
    const grown = new Uint8Array(capacity);
    grown.set(this.partial.subarray(0, this.kept));
    this.copied += this.kept;
    this.partial = grown;
  }

  /** The line made of the unfinished one and `chunk[from, to)`; resets the unfinished line. */
  private complete(chunk: Uint8Array, from: number, to: number): SplitLine {
    const raw = this.partialBytes + (to - from);
    const last = to > from ? chunk[to - 1] : this.lastByte;
    const length = raw > 0 && last === CR ? raw - 1 : raw;
    const overlong = length > this.maxLineBytes;
    // A line within the limit was kept whole (raw ≤ maxLineBytes + 1 = keepLimit); only one beyond it
    // lost bytes, and it keeps exactly its first maxLineBytes.
    const out = new Uint8Array(overlong ? this.maxLineBytes : length);
    const fromPartial = Math.min(this.kept, out.length);
    out.set(this.partial.subarray(0, fromPartial));
    if (fromPartial < out.length) out.set(chunk.subarray(from, from + out.length - fromPartial), fromPartial);
    this.copied += out.length;

    this.kept = 0;
    this.partialBytes = 0;
    if (this.partial.length > KEEP_CAPACITY) this.partial = EMPTY;
    return overlong ? new OverlongLine(out, length) : out;
  }
}
