/**
 * AWS Lambda entry for a Kinesis event-source mapping: the same record processor as the KCL-style
 * worker, driven from Lambda invocations, answering with a partial batch response
 * (`ReportBatchItemFailures`) in the manner of Powertools for AWS Lambda's batch package.
 *
 * Lambda hands over a batch of records per shard and, given `batchItemFailures`, resumes each shard at
 * the LOWEST sequence number reported, re-sending everything from there. The engine commits a batch
 * atomically, with one checkpoint per shard (a high-water mark). Together these fix the rules here:
 *
 * - a shard's records are committed strictly in order, and never past a record that failed: were a
 *   later record committed, the checkpoint would pass the failed one, and the retry would skip it;
 * - hence everything at or before the stored checkpoint is committed, and a record Lambda re-sends at
 *   or before it (a retry after a timeout or crash that followed a commit) is skipped;
 * - a reported record was never committed (an aggregate is reported by its outer sequence number
 *   once a sub-record of it fails; its committed sub-records are skipped on the retry).
 *
 * The engine retries a failing sink or store forever; inside Lambda that would end in a timeout, so
 * {@link LambdaRetryBudget} bounds it with a deadline-aware retry policy (see {@link createKinesisHandler}).
 */
import { deaggregate } from '../../pipeline/decode.js';
import type { EngineOptions, InventoryEngine } from '../../pipeline/engine.js';
import type { ExtendedSequenceNumber, ShardRecordProcessor, StreamRecord } from '../../pipeline/lifecycle.js';
import { type DeadLetter, StaleCheckpointError, type StateStore } from '../../pipeline/ports.js';
import { comparePositions, samePosition } from '../../pipeline/positions.js';
import { RetryPolicy } from '../../pipeline/retry.js';

// ---- the Lambda event (a local subset of the `aws-lambda` types) ------------------------------------

/**
 * One record of a Kinesis event as Lambda delivers it.
 *
 * @example
 * ```ts
 * const r: KinesisEventRecord = {
 *   eventID: 'shardId-000000000000:49590338271490256608559692538361571095921575989136588898',
 *   eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/inventory',
 *   kinesis: { data: 'eyJJVEVNX05PIjoiU0tVLTEifQ==', partitionKey: 'SKU-1|WH-EAST',
 *     sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
 *     approximateArrivalTimestamp: 1767571200.123 },
 * };
 * ```
 */
export interface KinesisEventRecord {
  kinesis: {
    /** The record's bytes, base64 (a KPL aggregate as the producer put it). */
    data: string;
    partitionKey: string;
    sequenceNumber: string;
    /** When the stream received it: epoch SECONDS, with a fraction. */
    approximateArrivalTimestamp: number;
    kinesisSchemaVersion?: string;
    encryptionType?: string;
  };
  /** `<shardId>:<sequenceNumber>`. */
  eventID: string;
  eventSourceARN: string;
  eventSource?: string;
  eventName?: string;
  eventVersion?: string;
  awsRegion?: string;
  invokeIdentityArn?: string;
}

/**
 * The event of a Kinesis event-source mapping.
 *
 * @example
 * ```ts
 * const event: KinesisEvent = { Records: [record] };
 * ```
 */
export interface KinesisEvent {
  Records: KinesisEventRecord[];
}

/**
 * The partial batch response: the sequence numbers to retry (with `ReportBatchItemFailures` on).
 *
 * @example
 * ```ts
 * const response: KinesisBatchResponse = { batchItemFailures: [{ itemIdentifier: '4959…' }] };
 * ```
 */
export interface KinesisBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/**
 * The part of the Lambda context used here.
 *
 * @example
 * ```ts
 * const context: LambdaContextLike = { getRemainingTimeInMillis: () => 30_000 };
 * ```
 */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
  awsRequestId?: string;
}

// ---- errors ----------------------------------------------------------------------------------

/**
 * The event cannot be processed as it is: a record does not say which shard it comes from (`eventID`
 * is not `<shardId>:<seq>`), or it comes from another stream than the one this handler has served
 * (shard ids repeat across streams). The invocation fails as a whole, before anything is processed.
 *
 * @example
 * ```ts
 * await handler({ Records: [{ ...record, eventID: 'garbage' }] }); // rejects with InvalidKinesisEventError
 * ```
 */
export class InvalidKinesisEventError extends Error {
  override readonly name = 'InvalidKinesisEventError';
}

// ---- bounding the engine's retries -------------------------------------------------------------

/**
 * Options of {@link LambdaRetryBudget}.
 *
 * @example
 * ```ts
 * const options: LambdaRetryBudgetOptions = { maxAttempts: 3, reserveMs: 5_000 };
 * ```
 */
export interface LambdaRetryBudgetOptions {
  /**
   * Attempts of one sink publish or store commit before the batch is given up. Default 3. A sink's
   * permanent error (a 400) is not retried: the notification is parked, as in the worker.
   */
  maxAttempts?: number;
  /**
   * Time kept back for answering Lambda, ms: no retry (and no new attempt of a batch) starts with less
   * than this left of the invocation, and no back-off wait runs into it. Default 5,000, and never more
   * than a fifth of the time the invocation started with (so that a short function timeout still
   * leaves room to work).
   */
  reserveMs?: number;
  /** Observer of every retry (logs, metrics). */
  onRetry?: EngineOptions['onRetry'];
  /** Clock, ms; injectable for tests. */
  now?: () => number;
  /** Waits; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Bounds the engine's retries inside a Lambda invocation. The engine retries a failing sink or store
 * until it succeeds (right for a long-running worker: the checkpoint waits); in Lambda that would run
 * into the function's timeout, which fails the whole batch without a response. The budget is a
 * {@link RetryPolicy} whose deadline is the invocation's end less a reserve, and whose attempts are
 * bounded: the engine gives up with a `RetryGiveUpError`, nothing of the batch is committed, and the
 * handler reports the records for Lambda to retry.
 *
 * {@link createKinesisHandler} calls {@link LambdaRetryBudget.begin} at each invocation with the Lambda
 * context, so the deadline is the invocation's.
 *
 * @example
 * ```ts
 * const retry = new LambdaRetryBudget({ maxAttempts: 3, reserveMs: 5_000 });
 * const engine = new InventoryEngine({ store, sinks, createRouter, createNormalizer, ...retry.hooks });
 * export const handler = createKinesisHandler({ engine, store, retry });
 * ```
 */
export class LambdaRetryBudget {
  private deadline = Number.POSITIVE_INFINITY;
  /** The reserve of the current invocation (at most a fifth of its time). */
  private reserve: number;
  private readonly reserveMs: number;
  private readonly now: () => number;
  /** What to hand the engine: the bounded policy, and the observer. */
  readonly hooks: EngineRetryHooks;

  constructor(options: LambdaRetryBudgetOptions = {}) {
    this.reserveMs = Math.max(0, options.reserveMs ?? 5_000);
    this.reserve = this.reserveMs;
    this.now = options.now ?? Date.now;
    const sleep = options.sleep;
    this.hooks = {
      retryPolicy: new RetryPolicy({
        maxAttempts: Math.max(1, options.maxAttempts ?? 3),
        deadline: () => this.deadline - this.reserve,
        now: this.now,
        ...(sleep ? { sleep: (ms: number) => sleep(ms) } : {}),
      }),
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    };
  }

  /** Starts an invocation: its deadline comes from the context (none without one). */
  begin(context?: LambdaContextLike): void {
    const left = context?.getRemainingTimeInMillis();
    const known = left !== undefined && Number.isFinite(left);
    this.deadline = known ? this.now() + left : Number.POSITIVE_INFINITY;
    this.reserve = known ? Math.min(this.reserveMs, left / 5) : this.reserveMs;
  }

  /** Time left of the invocation, ms (Infinity without a deadline). */
  remainingMs(): number {
    return this.deadline - this.now();
  }

  /** Less than the reserve is left: start nothing new. */
  get exhausted(): boolean {
    return this.remainingMs() <= this.reserve;
  }
}

// ---- the handler ------------------------------------------------------------------------------

/**
 * What the handler hands to an engine factory: spread it into the engine's options so that its
 * retries end within the invocation (the bounded policy) and are observed.
 *
 * @example
 * ```ts
 * const engine = async (hooks: EngineRetryHooks) => new InventoryEngine({ ...options, ...hooks });
 * ```
 */
export interface EngineRetryHooks {
  retryPolicy: RetryPolicy;
  onRetry?: EngineOptions['onRetry'];
}

/**
 * The little logging the handler does (pino's signature).
 *
 * @example
 * ```ts
 * const logger: KinesisHandlerLog = pino();
 * ```
 */
export interface KinesisHandlerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Options of {@link createKinesisHandler}.
 *
 * @example
 * ```ts
 * const options: KinesisHandlerOptions = { engine: async (hooks) => makeEngine(hooks), store, stopAtFirstFailure: true };
 * ```
 */
export interface KinesisHandlerOptions {
  /**
   * The engine, or a factory called once per warm container (at the first invocation; again after it
   * failed). A factory receives the retry hooks to pass into `EngineOptions`; an engine built outside
   * must have been given `retry.hooks` itself, or its retries are unbounded.
   */
  engine: InventoryEngine | ((hooks: EngineRetryHooks) => InventoryEngine | Promise<InventoryEngine>);
  /**
   * Where the engine's checkpoints are read: its state store. Called only after the engine has started
   * (opened the store), so a store created by the factory can be reached through a closure.
   */
  store: Pick<StateStore, 'loadCheckpoint'>;
  /**
   * `true`: at a shard's first failing record, report it and every later record of that shard.
   * `false` (default): report the records that failed (the first failing record of each shard; the
   * records after it were not tried, and Lambda re-sends them anyway, from the lowest reported).
   * Either way nothing after the failure is committed, so each key's order holds.
   */
  stopAtFirstFailure?: boolean;
  /** Bounds the engine's retries; default `new LambdaRetryBudget()`. */
  retry?: LambdaRetryBudget;
  logger?: KinesisHandlerLog;
}

/**
 * A Lambda handler for a Kinesis event-source mapping.
 *
 * @example
 * ```ts
 * export const handler: KinesisHandler = createKinesisHandler({ engine, store });
 * ```
 */
export type KinesisHandler = (
  event: KinesisEvent,
  context?: LambdaContextLike,
) => Promise<KinesisBatchResponse>;

/** One user record or one undecodable aggregate of a shard, with the Lambda record it came in. */
interface Item {
  /** The outer (Lambda) record's sequence number: what a failure reports. */
  outer: string;
  position: ExtendedSequenceNumber;
  record?: StreamRecord;
  deadLetter?: DeadLetter;
}

/** What this container holds for a shard it has processed. */
interface ShardHandle {
  processor: ShardRecordProcessor;
  /** The checkpoint as this container last knew it (loaded, or committed by it). */
  position: ExtendedSequenceNumber | null;
}

type Attempt =
  | { kind: 'committed' }
  | { kind: 'stale'; error: StaleCheckpointError }
  | { kind: 'failed'; error: unknown };

const SILENT: KinesisHandlerLog = { info() {}, warn() {}, error() {} };

/**
 * Creates the handler for a Kinesis event-source mapping. Per invocation and per shard (records
 * grouped by the shard in `eventID`, in order):
 *
 * 1. decode base64 and de-aggregate KPL records (sub-sequence numbers; a corrupt aggregate becomes a
 *    dead letter, stored with the batch like a record that fails to parse: neither is a failure);
 * 2. initialize the engine's processor for the shard once per warm container, and again when the
 *    stored checkpoint is not the one this container last saw (another container moved it);
 * 3. skip records at or before the stored checkpoint (Lambda re-sending a batch that committed);
 * 4. process the rest as one batch; if it throws, isolate in order: halves, then quarters, … of what
 *    is left, committing every piece that succeeds, down to the first record that fails on its own;
 *    on {@link StaleCheckpointError} re-initialize the shard and go on, once;
 * 5. report that record (and with `stopAtFirstFailure` every later one) by its outer sequence number.
 *
 * Before each attempt the handler checks the retry budget's reserve: with too little time left, the
 * records not yet committed are reported instead of tried. An engine factory that throws fails the
 * invocation (Lambda retries the whole batch).
 *
 * Deploy with `FunctionResponseTypes: ["ReportBatchItemFailures"]` and `ParallelizationFactor: 1` (one
 * invocation per shard at a time, so each key's order holds); `BisectBatchOnFunctionError` is not
 * needed (the handler isolates failures itself and always answers).
 *
 * @example
 * ```ts
 * // handler.ts, bundled (esbuild) and deployed with the handler `handler.handler`
 * const store = createDynamoDbStore({ tableName: process.env.STATE_TABLE });
 * const routing = { routes: [], defaultReceivers: ['sns'] };
 * export const handler = createKinesisHandler({
 *   store,
 *   stopAtFirstFailure: true,
 *   retry: new LambdaRetryBudget({ maxAttempts: 3, reserveMs: 5_000 }),
 *   engine: (hooks) =>
 *     new InventoryEngine({
 *       store,
 *       sinks: new Map([['sns', new SnsSink({ topicArn: process.env.TOPIC_ARN! })]]),
 *       createRouter: (stored) => (stored ? AlertRouter.fromJSON(stored, routing) : new AlertRouter(routing)),
 *       createNormalizer: (casePack) => createNormalizer({ casePack }),
 *       ...hooks, // the bounded retry policy: the engine's retries end within the invocation
 *     }),
 * });
 * ```
 */
export function createKinesisHandler(options: KinesisHandlerOptions): KinesisHandler {
  const log = options.logger ?? SILENT;
  const retry = options.retry ?? new LambdaRetryBudget();
  const stopAtFirstFailure = options.stopAtFirstFailure ?? false;
  const hooks = retry.hooks;
  let engine: Promise<InventoryEngine> | null = null;
  const shards = new Map<string, ShardHandle>();

  const getEngine = (): Promise<InventoryEngine> => {
    if (!engine) {
      const source = options.engine;
      engine = (async () => {
        const e = typeof source === 'function' ? await source(hooks) : source;
        await e.start();
        return e;
      })();
      // A failed start is not cached: the next invocation (or container) tries again.
      engine.catch(() => {
        engine = null;
      });
    }
    return engine;
  };

  /**
   * Takes a shard again from the store, through the processor's lifecycle only: after a batch threw,
   * the engine has abandoned what it applied in memory (a failed batch is the engine's to forget), and
   * re-initializing gives the shard a new context at the stored checkpoint.
   */
  const reopen = async (shardId: string, handle: ShardHandle): Promise<void> => {
    await handle.processor.leaseLost({ shardId });
    const stored = await options.store.loadCheckpoint(shardId);
    await handle.processor.initialize({ shardId, checkpoint: stored });
    handle.position = stored;
  };

  const attempt = async (shardId: string, handle: ShardHandle, items: readonly Item[]): Promise<Attempt> => {
    const last = items[items.length - 1].position;
    let committed = false;
    try {
      await handle.processor.processRecords({
        shardId,
        records: items.flatMap((it) => (it.record ? [it.record] : [])),
        deadLetters: items.flatMap((it) => (it.deadLetter ? [it.deadLetter] : [])),
        checkpointer: {
          // The engine checkpoints only after its commit: from here on the items are durable.
          checkpoint: async () => {
            committed = true;
          },
        },
      });
    } catch (error) {
      // The commit went through and something after it threw (an onBatch callback): still committed.
      if (!committed) {
        return error instanceof StaleCheckpointError ? { kind: 'stale', error } : { kind: 'failed', error };
      }
      log.warn({ shardId, err: messageOf(error) }, 'batch committed, then the engine threw');
    }
    handle.position = last;
    return { kind: 'committed' };
  };

  /** The failures to report when `items[from]` is the first record not committed. */
  const report = (items: readonly Item[], from: number): string[] => {
    const outers = (stopAtFirstFailure ? items.slice(from) : [items[from]]).map((it) => it.outer);
    return [...new Set(outers)];
  };

  const runShard = async (e: InventoryEngine, shardId: string, items: Item[]): Promise<string[]> => {
    const stored = await options.store.loadCheckpoint(shardId);
    let handle = shards.get(shardId);
    if (!handle) {
      handle = { processor: e.createProcessor(shardId), position: stored };
      await handle.processor.initialize({ shardId, checkpoint: stored });
      shards.set(shardId, handle);
    } else if (!samePosition(stored, handle.position)) {
      log.info({ shardId, stored: show(stored), known: show(handle.position) }, 'checkpoint moved elsewhere');
      await reopen(shardId, handle);
    }
    // Everything at or before the checkpoint is committed (nothing is ever committed past a failure).
    const pending = items.filter((it) => isAfter(it.position, handle.position));
    const skipped = items.length - pending.length;
    if (skipped > 0) log.info({ shardId, skipped }, 'skipping records already committed');
    let staleRetries = 1;
    let size = pending.length;
    let i = 0;
    while (i < pending.length) {
      if (retry.exhausted) {
        log.warn({ shardId, remainingMs: retry.remainingMs(), left: pending.length - i }, 'out of time');
        return report(pending, i);
      }
      const end = Math.min(pending.length, i + size);
      const outcome = await attempt(shardId, handle, pending.slice(i, end));
      if (outcome.kind === 'committed') {
        i = end;
        continue;
      }
      await reopen(shardId, handle);
      // Another container may have committed some of these meanwhile: skip them, and try the rest.
      const before = i;
      while (i < pending.length && !isAfter(pending[i].position, handle.position)) i++;
      if (i === pending.length) return [];
      if (outcome.kind === 'stale') {
        log.warn({ shardId, err: outcome.error.message, retry: staleRetries > 0 }, 'shard moved elsewhere');
        if (staleRetries-- === 0) return report(pending, i);
        size = pending.length - i;
        continue;
      }
      if (i !== before) {
        size = pending.length - i;
        continue;
      }
      if (end - i <= 1) {
        log.error(
          {
            shardId,
            sequenceNumber: pending[i].position.sequenceNumber,
            subSequenceNumber: pending[i].position.subSequenceNumber,
            err: messageOf(outcome.error),
          },
          'record failed',
        );
        return report(pending, i);
      }
      size = Math.ceil((end - i) / 2);
    }
    return [];
  };

  let streamArn: string | undefined;
  return async (event, context) => {
    retry.begin(context);
    const records = event.Records ?? [];
    // Shard ids are only unique within a stream: one handler (one engine, one store) serves one stream.
    for (const r of records) {
      streamArn ??= r.eventSourceARN;
      if (r.eventSourceARN !== streamArn) {
        throw new InvalidKinesisEventError(
          `records of ${r.eventSourceARN} reached the handler of ${streamArn}: one handler serves one stream`,
        );
      }
    }
    const groups = groupByShard(records);
    const e = await getEngine();
    const failures: string[] = [];
    // Shards one after the other: the engine runs one batch at a time anyway, and `reopen` relies on it.
    for (const [shardId, records] of groups) {
      failures.push(...(await runShard(e, shardId, decodeShard(shardId, records))));
    }
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** Records by shard (the part of `eventID` before the colon), each shard's in delivery order. */
function groupByShard(records: readonly KinesisEventRecord[]): Map<string, KinesisEventRecord[]> {
  const groups = new Map<string, KinesisEventRecord[]>();
  for (const r of records) {
    const colon = r.eventID?.indexOf(':') ?? -1;
    if (colon <= 0) {
      throw new InvalidKinesisEventError(
        `record ${r.kinesis?.sequenceNumber ?? '?'}: eventID '${r.eventID}' does not name a shard (<shardId>:<sequenceNumber>)`,
      );
    }
    const shardId = r.eventID.slice(0, colon);
    const list = groups.get(shardId);
    if (list) list.push(r);
    else groups.set(shardId, [r]);
  }
  return groups;
}

/** Base64 → bytes → user records (KPL de-aggregated) and dead letters, each tagged with its outer record. */
function decodeShard(shardId: string, records: readonly KinesisEventRecord[]): Item[] {
  const items: Item[] = [];
  for (const r of records) {
    const outer = r.kinesis.sequenceNumber;
    const buf = Buffer.from(r.kinesis.data ?? '', 'base64');
    const { records: user, deadLetters } = deaggregate(shardId, [
      {
        PartitionKey: r.kinesis.partitionKey,
        Data: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
        SequenceNumber: outer,
        // Lambda gives seconds with a fraction; the pipeline counts milliseconds.
        ApproximateArrivalTimestamp: new Date(Math.round(r.kinesis.approximateArrivalTimestamp * 1000)),
      },
    ]);
    for (const record of user) {
      items.push({
        outer,
        position: { sequenceNumber: record.sequenceNumber, subSequenceNumber: record.subSequenceNumber },
        record,
      });
    }
    for (const deadLetter of deadLetters) {
      items.push({
        outer,
        position: {
          sequenceNumber: deadLetter.sequenceNumber,
          subSequenceNumber: deadLetter.subSequenceNumber,
        },
        deadLetter,
      });
    }
  }
  return items;
}

/**
 * Is `a` after `b` (null: before the shard's start)? Positions that cannot be ordered (a checkpoint
 * written by a file source) count as after: nothing is skipped, and the engine's duplicate window
 * absorbs a repeat.
 */
function isAfter(a: ExtendedSequenceNumber, b: ExtendedSequenceNumber | null): boolean {
  return b === null || !(comparePositions(a, b) <= 0);
}

const show = (p: ExtendedSequenceNumber | null): string =>
  p ? `${p.sequenceNumber}/${p.subSequenceNumber}` : 'none';

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
