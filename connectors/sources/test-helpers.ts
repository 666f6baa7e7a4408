/**
 * Test doubles for the sources: a processor that records every lifecycle call it receives.
 */
import type {
  ExtendedSequenceNumber,
  InitializationInput,
  ProcessRecordsInput,
  ShardEndedInput,
  ShardRecordProcessor,
  ShutdownRequestedInput,
  StreamRecord,
} from '../../pipeline/lifecycle.js';
import type { DeadLetter } from '../../pipeline/ports.js';

/**
 * One lifecycle call as recorded by {@link RecordingProcessor}.
 *
 * @example
 * ```ts
 * const call: LifecycleCall = { hook: 'processRecords', shardId: 'file-0', records: 3, deadLetters: 0 };
 * ```
 */
export type LifecycleCall =
  | { hook: 'initialize'; shardId: string; checkpoint: ExtendedSequenceNumber | null }
  | { hook: 'processRecords'; shardId: string; records: number; deadLetters: number }
  | { hook: 'leaseLost' | 'shardEnded' | 'shutdownRequested'; shardId: string };

/**
 * A processor that records its calls and the records it was given, optionally checkpointing after
 * every batch and at the end, and running a hook after each batch (to abort mid-run).
 *
 * @example
 * ```ts
 * const processor = new RecordingProcessor({ checkpoint: true });
 * await source.run(() => processor, new AbortController().signal);
 * expect(processor.hooks()).toEqual(['initialize', 'processRecords', 'shardEnded']);
 * ```
 */
export class RecordingProcessor implements ShardRecordProcessor {
  readonly calls: LifecycleCall[] = [];
  readonly records: StreamRecord[] = [];
  readonly deadLetters: DeadLetter[] = [];
  private readonly handed: number[] = [];

  constructor(
    private readonly behaviour: {
      checkpoint?: boolean;
      afterBatch?: (batch: StreamRecord[], processor: RecordingProcessor) => void | Promise<void>;
    } = {},
  ) {}

  /** The hook names in call order, with consecutive `processRecords` collapsed into one. */
  hooks(): string[] {
    return this.calls
      .map((c) => c.hook)
      .filter((h, i, all) => !(h === 'processRecords' && all[i - 1] === 'processRecords'));
  }

  /** Sizes of the batches handed over, dead letters included (both count toward `maxRecords`). */
  batchSizes(): number[] {
    return this.calls.flatMap((c) => (c.hook === 'processRecords' ? [c.records + c.deadLetters] : []));
  }

  /** Every position handed over (records and dead letters), in the order received, as line numbers. */
  lines(): number[] {
    return this.handed.slice();
  }

  /** The records' data as text. */
  texts(): string[] {
    return this.records.map((r) => new TextDecoder().decode(r.data));
  }

  async initialize({ shardId, checkpoint }: InitializationInput): Promise<void> {
    this.calls.push({ hook: 'initialize', shardId, checkpoint });
  }

  async processRecords({
    shardId,
    records,
    deadLetters = [],
    checkpointer,
  }: ProcessRecordsInput): Promise<void> {
    this.calls.push({
      hook: 'processRecords',
      shardId,
      records: records.length,
      deadLetters: deadLetters.length,
    });
    this.records.push(...records);
    this.deadLetters.push(...deadLetters);
    // Merged by position: a batch's records and dead letters are interleaved lines.
    const positions = [...records, ...deadLetters].map((r) => Number(r.sequenceNumber)).sort((a, b) => a - b);
    this.handed.push(...positions);
    if (this.behaviour.checkpoint) await checkpointer.checkpoint();
    await this.behaviour.afterBatch?.(records, this);
  }

  async leaseLost({ shardId }: { shardId: string }): Promise<void> {
    this.calls.push({ hook: 'leaseLost', shardId });
  }

  async shardEnded({ shardId, checkpointer }: ShardEndedInput): Promise<void> {
    this.calls.push({ hook: 'shardEnded', shardId });
    if (this.behaviour.checkpoint) await checkpointer.checkpoint();
  }

  async shutdownRequested({ shardId, checkpointer }: ShutdownRequestedInput): Promise<void> {
    this.calls.push({ hook: 'shutdownRequested', shardId });
    if (this.behaviour.checkpoint) await checkpointer.checkpoint();
  }
}

/**
 * Polls `condition` until it holds, failing after `timeoutMs`.
 *
 * @example
 * ```ts
 * await waitFor(() => processor.records.length === 3);
 * ```
 */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
