/**
 * Numbered lines from a chunked byte input: what the file and standard-input sources hand to
 * {@link driveShard}.
 */
import type { LineReader, SourceLine } from './batcher.js';
import { LineSplitter, OverlongLine, type SplitLine } from './line-splitter.js';

const CR = 0x0d;

/** Spaces, tabs and carriage returns only: such a line holds no record. A loop: this runs per line. */
function isBlank(line: Uint8Array): boolean {
  for (let i = 0; i < line.length; i++) {
    const b = line[i];
    if (b !== 0x20 && b !== 0x09 && b !== CR) return false;
  }
  return true;
}

/**
 * Options of {@link ChunkLineReader}.
 *
 * @example
 * ```ts
 * const options: ChunkLineReaderOptions = { maxLineBytes: 64, onBlankLines: (n) => void (blank += n) };
 * ```
 */
export interface ChunkLineReaderOptions {
  /**
   * The longest line handed over whole, in bytes; a longer one comes out marked `overLimit`. Default
   * `MAX_RECORD_BYTES`.
   */
  maxLineBytes?: number;
  /**
   * Told how many blank lines (after the resume point) a read skipped, when there were any. An observer:
   * what it returns is ignored and an exception it throws is swallowed, so counting cannot stop reading.
   */
  onBlankLines?: (count: number) => void;
}

/**
 * Numbers the lines of a chunked byte input, drops the ones at or before the resume point (without
 * looking at them) and the blank ones (they keep their number, so numbering never shifts, and are
 * reported to `onBlankLines`). A line longer than `maxLineBytes` keeps its number too and comes out
 * with `overLimit` set and only its first `maxLineBytes` bytes, whatever its content (a megabyte of
 * spaces is not a blank line): {@link driveShard} dead-letters it.
 *
 * @example
 * ```ts
 * const reader = new ChunkLineReader(async () => null, 0);
 * await reader.next(); // null
 * ```
 */
export class ChunkLineReader implements LineReader {
  private readonly splitter: LineSplitter;
  private finished = false;
  /** Complete lines seen so far, skipped ones included. */
  linesSeen = 0;

  /**
   * @param readChunk the next bytes, or null at the end of input.
   * @param resumeAfter lines numbered up to this are skipped (the checkpoint).
   * @param onClose releases the input.
   * @param options the line limit and the blank-line observer.
   */
  constructor(
    private readonly readChunk: () => Promise<Uint8Array | null>,
    private readonly resumeAfter: number,
    private readonly onClose: () => Promise<void> = async () => {},
    private readonly options: ChunkLineReaderOptions = {},
  ) {
    this.splitter = new LineSplitter(options.maxLineBytes);
  }

  /** Whether an unfinished last line is held. */
  get hasPartial(): boolean {
    return this.splitter.hasPartial;
  }

  async next(): Promise<SourceLine[] | null> {
    while (!this.finished) {
      const chunk = await this.readChunk();
      let raw: SplitLine[];
      if (chunk === null) {
        this.finished = true;
        const last = this.splitter.end();
        raw = last === null ? [] : [last];
      } else {
        raw = this.splitter.push(chunk);
      }
      const lines: SourceLine[] = [];
      let blank = 0;
      for (const line of raw) {
        const lineNo = ++this.linesSeen;
        if (lineNo <= this.resumeAfter) continue;
        if (line instanceof OverlongLine) {
          const limit = this.splitter.maxLineBytes;
          lines.push({ lineNo, data: line.prefix, overLimit: { bytes: line.bytes, limit } });
        } else if (isBlank(line)) {
          blank++;
        } else {
          lines.push({ lineNo, data: line });
        }
      }
      if (blank > 0) this.reportBlank(blank);
      if (lines.length > 0) return lines;
    }
    return null;
  }

  close(): Promise<void> {
    return this.onClose();
  }

  private reportBlank(count: number): void {
    try {
      this.options.onBlankLines?.(count);
    } catch {
      // An observer (a metric): its failure must not stop or change reading.
    }
  }
}
