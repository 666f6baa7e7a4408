/**
 * What the local sources (file, standard input, generator) share: the line-number checkpointer, and
 * the loop that drives one {@link ShardRecordProcessor} through its lifecycle with batches bounded by
 * size and by wait. Splitting bytes into lines is in `line-splitter.ts` and `line-reader.ts`.
 *
 * Local sources number records by line, so a checkpoint is a line number and resuming means skipping
 * that many lines: every line counts, including blank ones, so that line N is the same line on every
 * read of the same input.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type {
  ExtendedSequenceNumber,
  RecordProcessorCheckpointer,
  ShardRecordProcessor,
  StreamRecord,
} from '../../pipeline/lifecycle.js';
import type { DeadLetter } from '../../pipeline/ports.js';

/**
 * Reads a shard's stored checkpoint at start-up; the composition root wires it to the state store.
 *
 * @example
 * ```ts
 * const loadCheckpoint: LoadCheckpoint = (shardId) => store.loadCheckpoint(shardId);
 * ```
 */
export type LoadCheckpoint = (
  shardId: string,
) => Promise<ExtendedSequenceNumber | null> | ExtendedSequenceNumber | null;

/**
 * Told of every checkpoint the processor takes. The processor owns durable checkpointing (it commits
 * the position with its state in one store transaction); this callback is for the composition root to
 * observe progress (metrics, logs) or, for a processor that does not commit positions itself, persist it.
 *
 * @example
 * ```ts
 * const onCheckpoint: OnCheckpoint = (shardId, position) => {
 *   logger.debug({ shardId, position }, 'checkpoint');
 * };
 * ```
 */
export type OnCheckpoint = (shardId: string, position: ExtendedSequenceNumber) => Promise<void> | void;

/**
 * Told how many blank lines a local source skipped (they hold no record; they keep their line numbers).
 * An observer, for a metric: what it returns is ignored and an exception it throws is swallowed.
 *
 * @example
 * ```ts
 * const onBlankLines: OnBlankLines = (shard, count) => metrics.blankLinesTotal.inc({ shard }, count);
 * ```
 */
export type OnBlankLines = (shardId: string, count: number) => void;

/**
 * Batch bounds: a batch is handed over when it holds `maxRecords`, or `maxWaitMs` after its first
 * record arrived, whichever comes first (the same keys as the `batch` section of the configuration).
 *
 * @example
 * ```ts
 * const batch: BatchOptions = { maxRecords: 500, maxWaitMs: 200 };
 * ```
 */
export interface BatchOptions {
  maxRecords: number;
  maxWaitMs: number;
}

/**
 * One line of input, numbered from 1; `data` excludes the line ending (LF or CRLF).
 *
 * @example
 * ```ts
 * const line: SourceLine = { lineNo: 1, data: new TextEncoder().encode('{"kind":"x"}') };
 * ```
 */
export interface SourceLine {
  lineNo: number;
  data: Uint8Array;
  /**
   * When the record reached the source, epoch ms, for sources with a clock of their own (the
   * generator's simulated clock); default the wall clock when it is read.
   */
  arrivedAt?: number;
  /**
   * Set when the line was longer than the reader's limit: its length in bytes and that limit. `data`
   * then holds only its first `limit` bytes, and {@link driveShard} hands it over as a `too_large`
   * dead letter instead of a record.
   */
  overLimit?: { bytes: number; limit: number };
}

/**
 * Pulls lines for {@link driveShard}. `next` resolves with the next lines (at least one), or null at
 * the end of the input; it is never called again before the previous call settled. A reader that can
 * wait indefinitely (tailing, standard input) must stop waiting when `close` is called or the signal
 * it was given aborts: the driver abandons the pending call then.
 *
 * @example
 * ```ts
 * const reader: LineReader = { next: async () => null, close: async () => {} };
 * ```
 */
export interface LineReader {
  next(): Promise<SourceLine[] | null>;
  close(): Promise<void>;
}

/**
 * The resume point of a line-numbered shard: the checkpointed line number, 0 without a checkpoint.
 *
 * @throws {Error} when the checkpoint is not a line number (it was written by another kind of source).
 * @example
 * ```ts
 * resumeAfter('file-0', { sequenceNumber: '1200', subSequenceNumber: 0 }); // 1200
 * ```
 */
export function resumeAfter(shardId: string, checkpoint: ExtendedSequenceNumber | null): number {
  if (checkpoint === null) return 0;
  const n = Number(checkpoint.sequenceNumber);
  if (!/^(0|[1-9][0-9]*)$/.test(checkpoint.sequenceNumber) || !Number.isSafeInteger(n)) {
    throw new Error(
      `shard ${shardId}: checkpoint ${JSON.stringify(checkpoint.sequenceNumber)} is not a line number; ` +
        'was it written by another kind of source?',
    );
  }
  return n;
}

/**
 * Where a shard is: the last record handed to the processor and the last checkpoint it took.
 *
 * @example
 * ```ts
 * const progress = new ShardProgress('file-0', null, async () => {});
 * progress.checkpointer().checkpoint(); // nothing handed over yet: a no-op
 * ```
 */
export class ShardProgress {
  /** The last record handed to the processor in this run. */
  handedOver: ExtendedSequenceNumber | null = null;
  /** The last checkpoint: the stored one at start, then every one the processor takes. */
  checkpointed: ExtendedSequenceNumber | null;

  constructor(
    readonly shardId: string,
    initial: ExtendedSequenceNumber | null,
    private readonly onCheckpoint: OnCheckpoint,
  ) {
    this.checkpointed = initial;
  }

  /**
   * A checkpointer: without a position it checkpoints the last record handed over (a no-op when none
   * was handed over in this run); a position beyond that record is a processor bug and throws.
   */
  checkpointer(): RecordProcessorCheckpointer {
    return {
      checkpoint: async (position?: ExtendedSequenceNumber) => {
        const target = position ?? this.handedOver;
        if (target === null) return;
        const line = resumeAfter(this.shardId, target);
        const limit = Math.max(
          this.handedOver ? Number(this.handedOver.sequenceNumber) : 0,
          this.checkpointed ? Number(this.checkpointed.sequenceNumber) : 0,
        );
        if (line > limit) {
          throw new RangeError(
            `shard ${this.shardId}: cannot checkpoint at line ${line}, only lines up to ${limit} were handed over`,
          );
        }
        const copy = { sequenceNumber: target.sequenceNumber, subSequenceNumber: target.subSequenceNumber };
        await this.onCheckpoint(this.shardId, copy);
        this.checkpointed = copy;
      },
    };
  }
}

/**
 * Options of {@link driveShard}.
 *
 * @example
 * ```ts
 * const options: DriveShardOptions = { shardId, processor, reader, progress, batch, signal };
 * ```
 */
export interface DriveShardOptions {
  shardId: string;
  processor: ShardRecordProcessor;
  reader: LineReader;
  progress: ShardProgress;
  batch: BatchOptions;
  signal: AbortSignal;
}

/**
 * Drives one processor: `initialize`, then `processRecords` for every batch, awaiting each before
 * handing over the next (back-pressure: a slow processor slows reading, memory stays bounded), then
 * `shardEnded` at the end of input or `shutdownRequested` once `signal` aborts. Records read but not
 * yet handed over when the signal aborts are dropped, as the KCL does: they were not checkpointed, so
 * a resumable source reads them again. Closes the reader in every case. If a hook throws, no further
 * hook is called and the error propagates.
 *
 * A line marked `overLimit` is handed over as a `too_large` dead letter (`deadLetters` of the batch,
 * stored with it) rather than a record: never a crash, never silently dropped. Records and dead letters
 * of a batch are consecutive lines in order, both count toward `maxRecords`, and the batch's last line
 * (whichever kind) is what a checkpoint without a position reaches, so a checkpoint can pass a dead
 * letter and a restart resumes after it.
 *
 * @returns how the shard finished.
 * @example
 * ```ts
 * const how = await driveShard({ shardId, processor, reader, progress, batch, signal });
 * ```
 */
export async function driveShard(options: DriveShardOptions): Promise<'ended' | 'shutdown'> {
  const { shardId, processor, reader, progress, batch, signal } = options;
  const maxRecords = Math.max(1, batch.maxRecords);
  const checkpointer = progress.checkpointer();

  let pending: Promise<Wake> | undefined;
  try {
    await processor.initialize({ shardId, checkpoint: progress.checkpointed });

    // Records and dead letters in line order, so a batch is a run of consecutive lines.
    const buffered: Array<StreamRecord | DeadLetter> = [];
    let lettersBuffered = 0;
    let batchStartedAt: number | undefined;
    let ended = false;

    const handOver = async (count: number) => {
      const items = buffered.splice(0, count);
      batchStartedAt = buffered.length > 0 ? Date.now() : undefined;
      const last = items[items.length - 1];
      progress.handedOver = { sequenceNumber: last.sequenceNumber, subSequenceNumber: 0 };
      if (lettersBuffered === 0) {
        // No dead letter anywhere in the buffer, so these are all records: no second array.
        await processor.processRecords({
          shardId,
          records: items as StreamRecord[],
          deadLetters: [],
          checkpointer,
        });
        return;
      }
      const records: StreamRecord[] = [];
      const deadLetters: DeadLetter[] = [];
      for (const item of items) {
        if (isDeadLetter(item)) deadLetters.push(item);
        else records.push(item);
      }
      lettersBuffered -= deadLetters.length;
      await processor.processRecords({ shardId, records, deadLetters, checkpointer });
    };

    for (;;) {
      if (signal.aborted) break;
      if (buffered.length >= maxRecords) {
        await handOver(maxRecords);
        continue;
      }
      if (ended) {
        if (buffered.length > 0) {
          await handOver(buffered.length);
          continue;
        }
        await processor.shardEnded({ shardId, checkpointer });
        return 'ended';
      }

      pending ??= reader.next().then((lines): Wake => ({ kind: 'lines', lines }));
      const wait =
        batchStartedAt === undefined ? undefined : Math.max(0, batchStartedAt + batch.maxWaitMs - Date.now());
      const wake = await nextWake(pending, signal, wait);

      if (wake.kind === 'abort') break;
      if (wake.kind === 'timeout') {
        await handOver(buffered.length);
        continue;
      }
      pending = undefined;
      if (wake.lines === null) {
        ended = true;
        continue;
      }
      const arrivedAt = Date.now();
      if (buffered.length === 0) batchStartedAt = arrivedAt;
      for (const line of wake.lines) {
        if (line.overLimit) {
          buffered.push(tooLargeLetter(shardId, line, line.overLimit, arrivedAt));
          lettersBuffered++;
          continue;
        }
        buffered.push({
          partitionKey: shardId,
          data: line.data,
          sequenceNumber: String(line.lineNo),
          subSequenceNumber: 0,
          approximateArrivalTimestamp: line.arrivedAt ?? arrivedAt,
        });
      }
    }

    await processor.shutdownRequested({ shardId, checkpointer });
    return 'shutdown';
  } finally {
    // An abandoned read may still fail (its input is being closed): that is not an error any more.
    pending?.catch(() => {});
    await reader.close();
  }
}

function isDeadLetter(item: StreamRecord | DeadLetter): item is DeadLetter {
  return 'code' in item;
}

/** The dead letter of a line over the limit: numbered and keyed as its record would have been. */
function tooLargeLetter(
  shardId: string,
  line: SourceLine,
  overLimit: { bytes: number; limit: number },
  arrivedAt: number,
): DeadLetter {
  return {
    shardId,
    sequenceNumber: String(line.lineNo),
    subSequenceNumber: 0,
    partitionKey: shardId,
    arrivalTimestamp: arrivedAt,
    // The normalizer's code for a record over the limit: one code whichever stage saw it.
    code: 'too_large',
    reason:
      `line ${line.lineNo} of ${overLimit.bytes} bytes exceeds the limit of ${overLimit.limit} bytes ` +
      `(first ${line.data.length} bytes kept)`,
    data: line.data,
  };
}

type Wake = { kind: 'lines'; lines: SourceLine[] | null } | { kind: 'timeout' } | { kind: 'abort' };

/**
 * The first of: the pending read, the abort, the batch deadline. Hand-rolled rather than
 * `Promise.race` with one long-lived abort promise, because every race would leave a reaction on that
 * promise until it settles: a tail running for weeks would grow without bound.
 */
function nextWake(pending: Promise<Wake>, signal: AbortSignal, waitMs: number | undefined): Promise<Wake> {
  return new Promise<Wake>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const cleanUp = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanUp();
      resolve({ kind: 'abort' });
    };
    if (signal.aborted) {
      resolve({ kind: 'abort' });
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    if (waitMs !== undefined) {
      timer = setTimeout(() => {
        cleanUp();
        resolve({ kind: 'timeout' });
      }, waitMs);
    }
    pending.then(
      (wake) => {
        cleanUp();
        resolve(wake);
      },
      (err: unknown) => {
        cleanUp();
        reject(err);
      },
    );
  });
}

/**
 * Waits `ms`, or rejects with the signal's reason once it aborts (so a tailing reader stops waiting).
 *
 * @example
 * ```ts
 * await sleep(100, signal);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}
