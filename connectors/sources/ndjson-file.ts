/**
 * An NDJSON file as a one-shard stream (`file-0`): replayed once, or tailed like `tail -f`. Records
 * are numbered by line, so a checkpoint is a line number and a restart resumes after it.
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { RecordSource, ShardRecordProcessor } from '../../pipeline/lifecycle.js';
import {
  type BatchOptions,
  driveShard,
  type LoadCheckpoint,
  type OnBlankLines,
  type OnCheckpoint,
  resumeAfter,
  ShardProgress,
  sleep,
} from './batcher.js';
import { ChunkLineReader } from './line-reader.js';

/**
 * The shard id of a file source.
 *
 * @example
 * ```ts
 * const checkpoint = await store.loadCheckpoint(FILE_SHARD_ID);
 * ```
 */
export const FILE_SHARD_ID = 'file-0';

/** Bytes read per call: large enough to amortise the call, small enough to keep memory flat. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Options of {@link NdjsonFileSource}.
 *
 * @example
 * ```ts
 * const options: NdjsonFileSourceOptions = {
 *   path: 'events.ndjson',
 *   follow: false,
 *   loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
 *   onCheckpoint: () => {},
 *   batch: { maxRecords: 500, maxWaitMs: 200 },
 * };
 * ```
 */
export interface NdjsonFileSourceOptions {
  path: string;
  /** Keep reading lines appended after the end, until the run is aborted. Default false. */
  follow?: boolean;
  loadCheckpoint: LoadCheckpoint;
  onCheckpoint: OnCheckpoint;
  batch: BatchOptions;
  /** How often a tailed file is checked for new bytes, ms. Default 200. */
  pollIntervalMs?: number;
  /**
   * The longest line handed over as a record, in bytes; a longer one becomes a `too_large` dead letter.
   * Default `MAX_RECORD_BYTES`.
   */
  maxLineBytes?: number;
  /** Told of the blank lines skipped. */
  onBlankLines?: OnBlankLines;
}

/**
 * Reads an NDJSON file line by line (LF or CRLF) and drives one processor for shard `file-0`.
 *
 * - Sequence numbers are 1-based line numbers. Blank lines keep their number but are not handed over,
 *   so numbering matches what an editor shows; they are counted to `onBlankLines`.
 * - A line longer than `maxLineBytes` is handed over as a `too_large` dead letter holding its first
 *   `maxLineBytes` bytes, after reading at most that plus one chunk of it into memory; it keeps its
 *   number, so checkpoints pass it like any line.
 * - A restart resumes after the checkpointed line; the skipped lines are split but never parsed.
 *   A checkpoint beyond the end of the file means the file was replaced: `run` rejects rather than
 *   silently process nothing.
 * - Without `follow` the last line need not end in a newline, and the end of the file ends the shard
 *   (`shardEnded`). With `follow` the file is polled for appended bytes, a last line without its
 *   newline waits for it (the writer may be mid-line), and only an abort ends the run
 *   (`shutdownRequested`). Like `tail -f` (not `-F`) it keeps reading the file it opened: a rotated
 *   file is not reopened. A file that shrinks below what was read rejects `run`, because line numbers
 *   would no longer name the same records.
 *
 * @example
 * ```ts
 * const source = new NdjsonFileSource({
 *   path: 'events.ndjson',
 *   loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
 *   onCheckpoint: (shardId, position) => metrics.setCheckpointLag(shardId, Date.now()),
 *   batch: config.batch,
 * });
 * await source.run((shardId) => new InventoryProcessor(shardId), controller.signal);
 * ```
 */
export class NdjsonFileSource implements RecordSource {
  readonly shardId = FILE_SHARD_ID;
  private progress: ShardProgress | undefined;

  constructor(private readonly options: NdjsonFileSourceOptions) {}

  /** The last checkpoint (the stored one until the processor takes one), or null. */
  get lastCheckpoint() {
    return this.progress?.checkpointed ?? null;
  }

  /** The last record handed to the processor in this run, or null. */
  get lastHandedOver() {
    return this.progress?.handedOver ?? null;
  }

  async run(createProcessor: (shardId: string) => ShardRecordProcessor, signal: AbortSignal): Promise<void> {
    const { path, follow = false, pollIntervalMs = 200 } = this.options;
    const checkpoint = await this.options.loadCheckpoint(this.shardId);
    const skip = resumeAfter(this.shardId, checkpoint);
    // Opened before the processor exists, so a missing file fails without a half-started lifecycle.
    const file = await open(path, 'r');
    const progress = new ShardProgress(this.shardId, checkpoint, this.options.onCheckpoint);
    this.progress = progress;

    const buffer = Buffer.alloc(CHUNK_BYTES);
    let position = 0;
    let checkedResume = false;
    const reader: ChunkLineReader = new ChunkLineReader(
      async () => {
        for (;;) {
          const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
          if (bytesRead > 0) {
            position += bytesRead;
            return buffer.subarray(0, bytesRead);
          }
          if (!checkedResume) {
            checkedResume = true;
            const lines = reader.linesSeen + (reader.hasPartial ? 1 : 0);
            if (lines < skip) {
              throw new Error(
                `${path}: the checkpoint of shard ${this.shardId} is at line ${skip} but the file has only ` +
                  `${lines} lines; was it replaced? Remove the checkpoint to read it from the start`,
              );
            }
          }
          if (!follow) return null;
          await assertNotTruncated(file, position, path);
          await sleep(pollIntervalMs, signal);
        }
      },
      skip,
      () => file.close(),
      {
        maxLineBytes: this.options.maxLineBytes,
        onBlankLines: (count) => this.options.onBlankLines?.(this.shardId, count),
      },
    );

    let processor: ShardRecordProcessor;
    try {
      processor = createProcessor(this.shardId);
    } catch (err) {
      await file.close();
      throw err;
    }
    await driveShard({
      shardId: this.shardId,
      processor,
      reader,
      progress,
      batch: this.options.batch,
      signal,
    });
  }
}

async function assertNotTruncated(file: FileHandle, position: number, path: string): Promise<void> {
  const { size } = await file.stat();
  if (size < position) {
    throw new Error(
      `${path}: the file shrank from ${position} to ${size} bytes while tailed (truncated or rewritten); ` +
        'line-number checkpoints no longer name the same records',
    );
  }
}
