/**
 * Numbered lines from a chunked byte input: what the file and standard-input sources hand to
 * {@link driveShard}.
 */
import type { LineReader, SourceLine } from './batcher.js';
import { LineSplitter } from './line-splitter.js';

const CR = 0x0d;

/** Spaces, tabs and carriage returns only: such a line holds no record. */
function isBlank(line: Uint8Array): boolean {
  return line.every((b) => b === 0x20 || b === 0x09 || b === CR);
}

/**
 * Numbers the lines of a chunked byte input, drops the ones at or before the resume point (without
 * looking at them) and the blank ones (they keep their number, so numbering never shifts).
 *
 * @example
 * ```ts
 * const reader = new ChunkLineReader(async () => null, 0);
 * await reader.next(); // null
 * ```
 */
export class ChunkLineReader implements LineReader {
  private readonly splitter = new LineSplitter();
  private finished = false;
  /** Complete lines seen so far, skipped ones included. */
  linesSeen = 0;

  /**
   * @param readChunk the next bytes, or null at the end of input.
   * @param resumeAfter lines numbered up to this are skipped (the checkpoint).
   * @param onClose releases the input.
   */
  constructor(
    private readonly readChunk: () => Promise<Uint8Array | null>,
    private readonly resumeAfter: number,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  /** Whether an unfinished last line is held. */
  get hasPartial(): boolean {
    return this.splitter.hasPartial;
  }

  async next(): Promise<SourceLine[] | null> {
    while (!this.finished) {
      const chunk = await this.readChunk();
      const raw =
        chunk === null
          ? [this.splitter.end()].filter((l): l is Uint8Array => l !== null)
          : this.splitter.push(chunk);
      if (chunk === null) this.finished = true;
      const lines: SourceLine[] = [];
      for (const data of raw) {
        const lineNo = ++this.linesSeen;
        if (lineNo > this.resumeAfter && !isBlank(data)) lines.push({ lineNo, data });
      }
      if (lines.length > 0) return lines;
    }
    return null;
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
