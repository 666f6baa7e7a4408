/**
 * The built-in simulator as a live one-shard stream (`generator-0`): `simulateInventory` lines in
 * arrival order, paced on the wall clock, so a demo or a load test needs no producer at all.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type GeneratorOptions, resolveGeneratorOptions } from '../../datasets/generator/options.js';
import {
  emptyCounts,
  type GeneratorCounts,
  type GeneratorOutput,
  simulateInventory,
} from '../../datasets/generator/simulate.js';
import type { RecordSource, ShardRecordProcessor } from '../../pipeline/lifecycle.js';
import {
  type BatchOptions,
  driveShard,
  type LineReader,
  type LoadCheckpoint,
  type OnCheckpoint,
  resumeAfter,
  ShardProgress,
  type SourceLine,
  sleep,
} from './batcher.js';

/**
 * The shard id of the generator source.
 *
 * @example
 * ```ts
 * const checkpoint = await store.loadCheckpoint(GENERATOR_SHARD_ID);
 * ```
 */
export const GENERATOR_SHARD_ID = 'generator-0';

/** Most lines produced per read: keeps a fast producer from starving timers and the abort. */
const MAX_LINES_PER_READ = 1024;

/**
 * Options of {@link GeneratorSource}.
 *
 * @example
 * ```ts
 * const options: GeneratorSourceOptions = {
 *   options: { seed: 7, days: 7 },
 *   rate: 2000,
 *   loadCheckpoint: () => null,
 *   onCheckpoint: () => {},
 *   batch: { maxRecords: 500, maxWaitMs: 200 },
 * };
 * ```
 */
export interface GeneratorSourceOptions {
  /** What to simulate; defaults as in `resolveGeneratorOptions`. */
  options?: Partial<GeneratorOptions>;
  /** Records per second on the wall clock; 0 produces as fast as the processor takes them. */
  rate: number;
  loadCheckpoint: LoadCheckpoint;
  onCheckpoint: OnCheckpoint;
  batch: BatchOptions;
}

/**
 * Streams the simulator's records (labels and day ticks are not records and are left out) and drives
 * one processor for shard `generator-0`. Sequence numbers are 1-based record numbers.
 *
 * Pacing is a token bucket on the wall clock holding at most a tenth of a second of records, so after
 * a slow batch the source catches up by that much, not by the whole delay. A restart resumes after the
 * checkpoint by regenerating and skipping that many records, unpaced: the simulation is deterministic
 * for its options, so record N is the same record (a checkpoint past the end means the options
 * changed, and `run` rejects). Exhausting the simulation ends the shard (`shardEnded`).
 *
 * @example
 * ```ts
 * const source = new GeneratorSource({
 *   options: { seed: config.source.seed, days: config.source.days },
 *   rate: config.source.rate,
 *   loadCheckpoint: (shardId) => store.loadCheckpoint(shardId),
 *   onCheckpoint: () => {},
 *   batch: config.batch,
 * });
 * await source.run((shardId) => new InventoryProcessor(shardId), controller.signal);
 * ```
 */
export class GeneratorSource implements RecordSource {
  readonly shardId = GENERATOR_SHARD_ID;
  private readonly generatorOptions: GeneratorOptions;
  private progress: ShardProgress | undefined;

  constructor(private readonly options: GeneratorSourceOptions) {
    if (!(Number.isFinite(options.rate) && options.rate >= 0)) {
      throw new RangeError(`rate must be a number of records per second ≥ 0, got ${String(options.rate)}`);
    }
    // Validate now, not at the first record: a bad option should fail start-up, not the shard loop.
    this.generatorOptions = resolveGeneratorOptions(options.options);
  }

  /** The last checkpoint (the stored one until the processor takes one), or null. */
  get lastCheckpoint() {
    return this.progress?.checkpointed ?? null;
  }

  /** The last record handed to the processor in this run, or null. */
  get lastHandedOver() {
    return this.progress?.handedOver ?? null;
  }

  async run(createProcessor: (shardId: string) => ShardRecordProcessor, signal: AbortSignal): Promise<void> {
    const checkpoint = await this.options.loadCheckpoint(this.shardId);
    const skip = resumeAfter(this.shardId, checkpoint);
    const progress = new ShardProgress(this.shardId, checkpoint, this.options.onCheckpoint);
    this.progress = progress;
    const processor = createProcessor(this.shardId);
    const reader = new GeneratorReader(this.generatorOptions, this.options.rate, skip, signal);
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

class GeneratorReader implements LineReader {
  private readonly outputs: Generator<GeneratorOutput, GeneratorCounts>;
  private readonly encoder = new TextEncoder();
  private recordNo = 0;
  private exhausted = false;
  private skipped = false;
  /** Token bucket: tokens are records allowed now; refilled at `rate` per second up to `capacity`. */
  private tokens = 1;
  private readonly capacity: number;
  private refilledAt = performance.now();

  constructor(
    options: GeneratorOptions,
    private readonly rate: number,
    private readonly skip: number,
    private readonly signal: AbortSignal,
  ) {
    this.outputs = simulateInventory(options);
    this.capacity = Math.max(1, rate / 10);
  }

  async next(): Promise<SourceLine[] | null> {
    if (!this.skipped) {
      this.skipped = true;
      await this.skipResumed();
    }
    if (this.exhausted) return null;
    let allowed = MAX_LINES_PER_READ;
    if (this.rate > 0) {
      this.refill();
      while (this.tokens < 1) {
        // Sleep until one record is due; timers are ~1 ms coarse, so several may be due on waking.
        await sleep(Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate)), this.signal);
        this.refill();
      }
      allowed = Math.min(allowed, Math.floor(this.tokens));
    } else {
      // Unpaced: the loop would otherwise run on microtasks only and never let a timer or signal in.
      await yieldToEventLoop();
    }
    const lines: SourceLine[] = [];
    while (lines.length < allowed) {
      const record = this.nextRecord();
      if (record === undefined) break;
      // Arrival on the simulated clock: a synthetic stream's records reach it when the simulation
      // says, so the event-time window and the lag read against the simulation, not the wall clock.
      lines.push({
        lineNo: ++this.recordNo,
        data: this.encoder.encode(record.line),
        arrivedAt: record.arrivedAt,
      });
    }
    this.tokens -= lines.length;
    if (lines.length === 0) {
      this.exhausted = true;
      return null;
    }
    return lines;
  }

  async close(): Promise<void> {
    this.outputs.return(emptyCounts());
  }

  private async skipResumed(): Promise<void> {
    while (this.recordNo < this.skip) {
      if (this.nextRecord() === undefined) {
        throw new Error(
          `shard ${GENERATOR_SHARD_ID}: the checkpoint is at record ${this.skip} but the simulation has only ` +
            `${this.recordNo} records; did the generator options change? Remove the checkpoint to start over`,
        );
      }
      this.recordNo++;
      if (this.recordNo % 50_000 === 0) await yieldToEventLoop();
    }
  }

  private nextRecord(): { line: string; arrivedAt: number } | undefined {
    for (;;) {
      const out = this.outputs.next();
      if (out.done) return undefined;
      if (out.value.type === 'record') return out.value;
    }
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
  }
}
