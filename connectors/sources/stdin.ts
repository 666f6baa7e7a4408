/**
 * NDJSON on standard input as a one-shard stream (`stdin-0`), for `producer | shelfwatch run`.
 */
import type { Readable } from 'node:stream';
import type { RecordSource, ShardRecordProcessor } from '../../pipeline/lifecycle.js';
import {
  type BatchOptions,
  driveShard,
  type OnBlankLines,
  type OnCheckpoint,
  ShardProgress,
} from './batcher.js';
import { ChunkLineReader } from './line-reader.js';

/**
 * The shard id of the standard-input source.
 *
 * @example
 * ```ts
 * metrics.recordsTotal.inc({ shard: STDIN_SHARD_ID });
 * ```
 */
export const STDIN_SHARD_ID = 'stdin-0';

/**
 * Options of {@link StdinSource}.
 *
 * @example
 * ```ts
 * const options: StdinSourceOptions = { onCheckpoint: () => {}, batch: { maxRecords: 500, maxWaitMs: 200 } };
 * ```
 */
export interface StdinSourceOptions {
  onCheckpoint: OnCheckpoint;
  batch: BatchOptions;
  /** The stream to read; default `process.stdin`. Tests pass a PassThrough. */
  input?: Readable;
  /**
   * The longest line handed over as a record, in bytes; a longer one becomes a `too_large` dead letter.
   * Default `MAX_RECORD_BYTES`.
   */
  maxLineBytes?: number;
  /** Told of the blank lines skipped. */
  onBlankLines?: OnBlankLines;
}

/**
 * Reads NDJSON lines from standard input (or `input`) and drives one processor for shard `stdin-0`,
 * with the same line numbering, blank-line, line-limit and batching rules as the file source.
 *
 * A pipe cannot be rewound, so this source cannot resume: it takes no `loadCheckpoint`, `initialize`
 * always receives a null checkpoint, and a checkpoint only counts lines within the current run (line
 * 1 is the first line of this run's input, whatever an earlier run stored). End of input ends the shard
 * (`shardEnded`); an abort stops reading and destroys the input stream, so that a pending read does
 * not keep the process alive.
 *
 * @example
 * ```ts
 * const source = new StdinSource({ onCheckpoint: () => {}, batch: config.batch });
 * await source.run((shardId) => new InventoryProcessor(shardId), controller.signal);
 * ```
 */
export class StdinSource implements RecordSource {
  readonly shardId = STDIN_SHARD_ID;
  private progress: ShardProgress | undefined;

  constructor(private readonly options: StdinSourceOptions) {}

  /** The last checkpoint taken in this run, or null. */
  get lastCheckpoint() {
    return this.progress?.checkpointed ?? null;
  }

  /** The last record handed to the processor, or null. */
  get lastHandedOver() {
    return this.progress?.handedOver ?? null;
  }

  async run(createProcessor: (shardId: string) => ShardRecordProcessor, signal: AbortSignal): Promise<void> {
    const processor = createProcessor(this.shardId);
    const input = this.options.input ?? process.stdin;
    const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    const progress = new ShardProgress(this.shardId, null, this.options.onCheckpoint);
    this.progress = progress;
    const reader = new ChunkLineReader(
      async () => {
        const { done, value } = await chunks.next();
        if (done) return null;
        // A stream with an encoding set yields strings; lines are split on bytes either way.
        return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      },
      0,
      async () => {
        if (!input.readableEnded) input.destroy();
      },
      {
        maxLineBytes: this.options.maxLineBytes,
        onBlankLines: (count) => this.options.onBlankLines?.(this.shardId, count),
      },
    );
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
