/**
 * The record-processor lifecycle, modelled on the Kinesis Client Library (v2+): a source owns shards
 * and drives one processor per shard through `initialize` → `processRecords`* → one of `leaseLost`,
 * `shardEnded`, `shutdownRequested`. Each hook takes one input object, so hooks can grow without
 * breaking callers. Kinesis, files, standard input and the generator all speak this interface.
 */

import type { DeadLetter } from './ports.js';

/** A position in a shard: a sequence number, and the sub-record of a KPL aggregate (0 otherwise). */
export interface ExtendedSequenceNumber {
  /** Kinesis sequence number (a decimal string), or the line/offset of a local source. */
  sequenceNumber: string;
  subSequenceNumber: number;
}

/** One record as the source hands it over, after KPL de-aggregation. */
export interface StreamRecord {
  partitionKey: string;
  /** The raw bytes exactly as the producer put them. */
  data: Uint8Array;
  sequenceNumber: string;
  /** Index within a KPL aggregate; 0 for a plain record. */
  subSequenceNumber: number;
  /** When the stream received it, epoch milliseconds. */
  approximateArrivalTimestamp: number;
}

/**
 * Records a shard's progress. A processor calls `checkpoint` only once every effect of the records up
 * to that position is durable (state written, alerts acknowledged): what is checkpointed is never
 * processed again, what is not may be delivered again.
 */
export interface RecordProcessorCheckpointer {
  /** Checkpoints at `position`, or at the last record handed over when omitted. */
  checkpoint(position?: ExtendedSequenceNumber): Promise<void>;
}

export interface InitializationInput {
  shardId: string;
  /** Where processing resumes: the last checkpoint, or null at the shard's start. */
  checkpoint: ExtendedSequenceNumber | null;
  /** The shards this one was split or merged from (Kinesis resharding), all ended before it starts. */
  parentShardIds?: readonly string[];
}

export interface ProcessRecordsInput {
  shardId: string;
  records: StreamRecord[];
  /**
   * Records the source itself could not decode (a corrupt KPL aggregate), to be stored with the batch:
   * never dropped. Their positions count for the checkpoint like the records'.
   */
  deadLetters?: DeadLetter[];
  checkpointer: RecordProcessorCheckpointer;
  /** How far behind the tip of the stream this batch is, when the source knows. */
  millisBehindLatest?: number;
}

/** The lease moved to another worker: stop, and do not checkpoint (the new owner will). */
export interface LeaseLostInput {
  shardId: string;
}

/** Every record of a closed shard was handed over: checkpoint so that child shards may start. */
export interface ShardEndedInput {
  shardId: string;
  checkpointer: RecordProcessorCheckpointer;
}

/** The worker is shutting down gracefully: finish, checkpoint, return. */
export interface ShutdownRequestedInput {
  shardId: string;
  checkpointer: RecordProcessorCheckpointer;
}

/**
 * What a source drives, one instance per shard.
 *
 * @example
 * ```ts
 * const processor: ShardRecordProcessor = {
 *   async initialize({ shardId, checkpoint }) {},
 *   async processRecords({ records, checkpointer }) { await checkpointer.checkpoint(); },
 *   async leaseLost() {},
 *   async shardEnded({ checkpointer }) { await checkpointer.checkpoint(); },
 *   async shutdownRequested({ checkpointer }) { await checkpointer.checkpoint(); },
 * };
 * ```
 */
export interface ShardRecordProcessor {
  initialize(input: InitializationInput): Promise<void>;
  processRecords(input: ProcessRecordsInput): Promise<void>;
  leaseLost(input: LeaseLostInput): Promise<void>;
  shardEnded(input: ShardEndedInput): Promise<void>;
  shutdownRequested(input: ShutdownRequestedInput): Promise<void>;
}

/**
 * A source of records: it decides which shards exist, reads them, and drives a processor per shard.
 * `run` resolves when the source is exhausted (a file replay) or after `signal` aborts and every
 * processor has had `shutdownRequested`.
 */
export interface RecordSource {
  run(createProcessor: (shardId: string) => ShardRecordProcessor, signal: AbortSignal): Promise<void>;
}
