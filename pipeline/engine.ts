/**
 * The stream job's core: records in, state and alerts out, exactly once in effect.
 *
 * Per batch: normalize each record (failures become dead letters), drop events whose id was applied
 * within the duplicate window, apply the rest to the inventory state, run detection, route anomalies;
 * then publish the due notifications to every sink (retrying until they accept), and only then commit
 * the batch's state, applied ids, detector and router state, dead letters and checkpoint in one store
 * transaction. A crash anywhere before that commit replays the batch from the last checkpoint against
 * the state as it was, which raises the same anomalies with the same ids; sinks drop ids they have.
 *
 * Everything is driven by event time (the router advances after every event, the silence scan at every
 * hour of event time), never by the wall clock or batch boundaries, so a replay cut into different
 * batches still sends the same notifications.
 *
 * **Shards and workers.** A shard is the unit of ownership: several workers share a stream, each
 * owning some shards (leases), and a shard moves between workers on failover or rebalancing. So all
 * learned state lives per shard — the detector's baselines and the alert router (stored under
 * `detector/<shard>` and `router/<shard>`) — and a shard's results depend only on its own records,
 * whichever worker processes them. Series state is shared memory, but a series is trusted only while
 * the shard that brought it in stays owned here ({@link ShardContext.epoch}); otherwise it is read
 * again from the store, with its duplicate window, before its next event. Every commit is fenced by
 * the checkpoint the worker expects, so a worker that lost a shard cannot overwrite its new owner.
 */

import { deliver, type RoutedNotification } from './alert-delivery.js';
import {
  delivered,
  expiredDeadLetter,
  forPartition,
  halves,
  legacyUntilOf,
  mergeReports,
  observe,
  refusedDeadLetter,
} from './batch-parts.js';
import {
  InventoryDetector,
  type InventoryDetectorJSON,
  type SeriesDetectorState,
} from './detect/inventory-detector.js';
import { DuplicateWindow } from './duplicate-window.js';
import type {
  AlertRouting,
  BatchReport,
  DetectionFailure,
  EngineOptions,
  RecordNormalizer,
} from './engine-options.js';
import { describeCause } from './errors.js';
import { type InventoryEvent, type InventoryEventKind, seriesKey } from './events.js';
import type {
  ExtendedSequenceNumber,
  InitializationInput,
  ProcessRecordsInput,
  ShardEndedInput,
  ShardRecordProcessor,
  ShutdownRequestedInput,
  StreamRecord,
} from './lifecycle.js';
import {
  type Anomaly,
  type AppliedEvent,
  type BatchCommit,
  type DeadLetter,
  type SeriesKey,
  type SeriesRow,
  StaleCheckpointError,
  StoreRefusedError,
  type UndeliveredNotification,
} from './ports.js';
import { lastPosition, samePosition } from './positions.js';
import { RetryGiveUpError, RetryPolicy } from './retry.js';
import { InventoryState, type SeriesExtra } from './state/inventory-state.js';

export type { RoutedNotification } from './alert-delivery.js';
export type {
  AlertRouting,
  BatchReport,
  DetectionFailure,
  EngineOptions,
  RecordNormalizer,
} from './engine-options.js';

const ROUTER_KEY = 'router';
const DETECTOR_KEY = 'detector';
/** Per shard: `{ legacyUntil }`, how far the duplicate window may hold ids from before namespacing. */
const IDS_KEY = 'ids';

/** What a worker holds for one shard it owns. */
interface ShardContext {
  readonly shardId: string;
  /** Unique per opening of a shard in this engine: series loaded under another epoch are re-read. */
  readonly epoch: number;
  readonly detector: InventoryDetector;
  readonly router: AlertRouting;
  readonly normalizer: RecordNormalizer;
  /** The checkpoint stored for the shard as this worker knows it: commits are fenced by it. */
  position: ExtendedSequenceNumber | null;
  /**
   * Ids applied to this shard's series within the duplicate window, on this shard's clock (each shard
   * has its own event time: one far ahead must not forget what a lagging one still needs).
   */
  readonly recent: DuplicateWindow;
}

const seriesOf = (e: { sku: string; warehouse: string }): SeriesKey => ({
  sku: e.sku,
  warehouse: e.warehouse,
});

/**
 * The stream job's engine; one per process, shared by the processors of all shards it owns.
 *
 * @example
 * ```ts
 * const engine = new InventoryEngine({ store, sinks, createRouter, createNormalizer });
 * await engine.start();
 * await source.run((shardId) => engine.createProcessor(shardId), signal);
 * ```
 */
export class InventoryEngine {
  readonly state = new InventoryState();
  private readonly shards = new Map<string, ShardContext>();
  /** Per series slot: the epoch of the shard context that loaded or last applied it (0: none). */
  private ownerEpoch = new Int32Array(1024);
  private nextEpoch = 1;
  private readonly window: number;
  /** Sinks: a permanent error gives up (the notification is parked). */
  private readonly sinkPolicy: RetryPolicy;
  /**
   * The store: every error is retried (a read-only or unreachable store holds the checkpoint until
   * someone acts) except a refused fence or refused data, which retrying cannot change.
   */
  private readonly storePolicy: RetryPolicy;
  private started = false;
  /** One batch at a time: state is shared across shards, and commits must not interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: EngineOptions) {
    this.window = o.duplicateWindowMs ?? 24 * 3_600_000;
    const sleep = o.sleep;
    this.sinkPolicy = o.retryPolicy ?? new RetryPolicy(sleep ? { sleep: (ms) => sleep(ms) } : {});
    this.storePolicy = this.sinkPolicy.with({
      classify: (e) =>
        e instanceof StaleCheckpointError || e instanceof StoreRefusedError ? 'permanent' : 'transient',
    });
  }

  /** Opens the store (and applies its migrations). Shards are opened as their processors initialize. */
  async start(): Promise<void> {
    if (this.started) return;
    await this.o.store.open();
    this.started = true;
  }

  /** The shards this engine holds now. */
  get ownedShards(): string[] {
    return [...this.shards.keys()];
  }

  /** The lifecycle object a source drives for one shard. */
  createProcessor(shardId: string): ShardRecordProcessor {
    return {
      initialize: (input: InitializationInput) =>
        this.serialize(async () => {
          await this.start();
          await this.openShard(shardId, input.parentShardIds ?? []);
        }),
      processRecords: async (input: ProcessRecordsInput) => {
        await this.processBatch(input);
      },
      leaseLost: () =>
        this.serialize(async () => {
          // Another worker owns the shard now: nothing to checkpoint (every commit was atomic), and
          // what this worker holds of the shard is no longer to be trusted.
          this.closeShard(shardId);
        }),
      shardEnded: async (input: ShardEndedInput) => {
        // Nothing more will come from this shard: send what is still waiting in a group, then mark the
        // shard's end so that its children may start.
        await this.flush(shardId, input.checkpointer, true);
      },
      shutdownRequested: async (input: ShutdownRequestedInput) => {
        // Every batch is already committed, pending groups included (in the router's state): they go
        // out after the restart exactly when an uninterrupted run would send them.
        await this.flush(shardId, input.checkpointer, false);
      },
    };
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Takes a shard: its stored checkpoint (the fence), detector and router. A child of a resharding
   * with no state of its own starts from its first parent's learned baselines (not its router: the
   * parents sent their pending groups when they ended).
   */
  private async openShard(shardId: string, parents: readonly string[]): Promise<ShardContext> {
    this.closeShard(shardId);
    const keys = [
      `${DETECTOR_KEY}/${shardId}`,
      `${ROUTER_KEY}/${shardId}`,
      `${IDS_KEY}/${shardId}`,
      ...parents.flatMap((p) => [`${DETECTOR_KEY}/${p}`, `${IDS_KEY}/${p}`]),
    ];
    const [position, values] = await Promise.all([
      this.read('state store', () => this.o.store.loadCheckpoint(shardId)),
      this.read('state store', () => this.o.store.loadValues(keys)),
    ]);
    const byKey = new Map(values.map((v) => [v.key, v.value]));
    const detector = new InventoryDetector(this.state, this.o.thresholds, this.o.models);
    // Its own learned state, else that of its first parent that has some (a child of a resharding).
    const from = [shardId, ...parents].find((s) => byKey.has(`${DETECTOR_KEY}/${s}`));
    const detectorJson = from === undefined ? undefined : byKey.get(`${DETECTOR_KEY}/${from}`);
    if (detectorJson) detector.restore(JSON.parse(detectorJson) as InventoryDetectorJSON);
    const idsJson = from === undefined ? undefined : byKey.get(`${IDS_KEY}/${from}`);
    // State written before ids were namespaced (no `ids/` value beside it) may hold bare ids of events
    // up to the clock it was left at.
    const legacyUntil =
      idsJson !== undefined
        ? legacyUntilOf(idsJson)
        : detectorJson !== undefined
          ? detector.currentWatermark
          : Number.NEGATIVE_INFINITY;
    const routerJson = byKey.get(`${ROUTER_KEY}/${shardId}`);
    const router = this.o.createRouter(routerJson ? JSON.parse(routerJson) : undefined);
    const ctx: ShardContext = {
      shardId,
      epoch: this.nextEpoch++,
      detector,
      router,
      normalizer: this.o.createNormalizer((sku) => detector.casePack(sku)),
      position,
      recent: new DuplicateWindow(this.window, legacyUntil),
    };
    this.shards.set(shardId, ctx);
    return ctx;
  }

  private closeShard(shardId: string): void {
    this.shards.delete(shardId);
  }

  private async contextOf(shardId: string): Promise<ShardContext> {
    await this.start();
    return this.shards.get(shardId) ?? (await this.openShard(shardId, []));
  }

  private isFresh(ctx: ShardContext, sku: string, warehouse: string): boolean {
    const s = this.state.find(sku, warehouse);
    return s !== undefined && s < this.ownerEpoch.length && this.ownerEpoch[s] === ctx.epoch;
  }

  private own(ctx: ShardContext, s: number): void {
    if (s >= this.ownerEpoch.length) {
      const grown = new Int32Array(Math.max(s + 1, this.ownerEpoch.length * 2));
      grown.set(this.ownerEpoch);
      this.ownerEpoch = grown;
    }
    this.ownerEpoch[s] = ctx.epoch;
  }

  /** Reads these series (state, detector memory, duplicate window) from the store into `ctx`. */
  private async loadSeries(ctx: ShardContext, keys: readonly SeriesKey[]): Promise<void> {
    const stored = await this.read('state store', () => this.o.store.loadSeries(keys));
    const found = new Set<string>();
    for (const row of stored.series) {
      const model = JSON.parse(row.model) as { extra: SeriesExtra; detect: SeriesDetectorState };
      const s = this.state.restore(row, model.extra);
      ctx.detector.restoreSeries(s, model.detect);
      this.own(ctx, s);
      found.add(seriesKey(row.sku, row.warehouse));
    }
    for (const k of keys) {
      if (found.has(seriesKey(k.sku, k.warehouse))) continue;
      // Not stored: new to the stream. A slot left from an earlier ownership is emptied.
      const known = this.state.find(k.sku, k.warehouse) !== undefined;
      const s = this.state.slot(k.sku, k.warehouse);
      if (known) {
        this.state.reset(s);
        ctx.detector.restoreSeries(s, EMPTY_SERIES_DETECTOR);
      }
      this.own(ctx, s);
    }
    for (const e of stored.recentEvents) ctx.recent.add(e.eventId, e.occurredAt);
  }

  /** Processes one batch end to end (normalize → state → detect → publish → commit → checkpoint). */
  processBatch(input: ProcessRecordsInput): Promise<BatchReport> {
    return this.serializeShard(input.shardId, () => this.runIsolating(input));
  }

  /**
   * Runs a batch; when the store refuses what it carries (a {@link StoreRefusedError}: a value no
   * column holds), finds the record that carries it by halves — each half runs again from the
   * committed state, the failed attempt abandoned — commits around it, and dead-letters that record
   * alone with the store's reason (`store_refused`): one bad row must not hold its shard forever.
   */
  private async runIsolating(input: ProcessRecordsInput): Promise<BatchReport> {
    try {
      return await this.runBatch(input);
    } catch (err) {
      if (!(err instanceof StoreRefusedError)) throw err;
      this.abandon(input.shardId);
      const { records } = input;
      if (records.length === 0) throw err; // dead letters alone refused: nothing left to set aside
      if (records.length === 1) {
        const refused = refusedDeadLetter(records[0], input.shardId, err);
        return await this.runBatch({
          ...input,
          records: [],
          deadLetters: [...(input.deadLetters ?? []), refused],
        });
      }
      const [first, second] = halves(input);
      return mergeReports(await this.runIsolating(first), await this.runIsolating(second));
    }
  }

  /** Runs `task` after every earlier one; if it fails, what it changed in memory is abandoned. */
  private serializeShard<T>(shardId: string, task: () => Promise<T>): Promise<T> {
    return this.serialize(async () => {
      try {
        return await task();
      } catch (err) {
        this.abandon(shardId);
        throw err;
      }
    });
  }

  /**
   * A batch failed after changing memory that was not committed: forget it. The series it touched are
   * read again from the store before their next event (and, being no longer dirty, cannot ride along
   * with another shard's commit); the shard is reopened from its stored checkpoint.
   */
  private abandon(shardId: string): void {
    for (const s of this.state.takeDirty()) if (s < this.ownerEpoch.length) this.ownerEpoch[s] = 0;
    this.closeShard(shardId);
  }

  private async runBatch(input: ProcessRecordsInput): Promise<BatchReport> {
    const t0 = performance.now();
    const { shardId, records } = input;
    const ctx = await this.contextOf(shardId);
    const { detector, router, normalizer } = ctx;
    // Normalize ahead, to read every series this batch meets that is not held here in one call.
    const packVersion = detector.casePackVersion;
    const normalized = records.map((r) => forPartition(r, normalizer.normalize(r, shardId)));
    const missing = new Map<string, SeriesKey>();
    for (const res of normalized) {
      if (!res.ok) continue;
      for (const e of res.events) {
        if (!this.isFresh(ctx, e.sku, e.warehouse)) missing.set(seriesKey(e.sku, e.warehouse), seriesOf(e));
      }
    }
    if (missing.size > 0) await this.loadSeries(ctx, [...missing.values()]);

    const deadLetters: DeadLetter[] = [...(input.deadLetters ?? [])];
    const anomalies: Anomaly[] = [];
    const routed: RoutedNotification[] = [];
    const applied: AppliedEvent[] = [];
    // Ids applied by this batch join the duplicate window only once it commits.
    const batchIds = new Set<string>();
    const eventsByKind: Partial<Record<InventoryEventKind, number>> = {};
    const owns = (s: number): boolean => this.ownerEpoch[s] === ctx.epoch;
    let events = 0;
    let duplicates = 0;
    const countsBeyondMemory: InventoryEvent[] = [];
    const detectionFailures: DetectionFailure[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as StreamRecord;
      // A case pack learned earlier in this batch changes how later case quantities convert.
      const res =
        detector.casePackVersion === packVersion
          ? (normalized[i] as ReturnType<RecordNormalizer['normalize']>)
          : forPartition(record, normalizer.normalize(record, shardId));
      if (!res.ok) {
        deadLetters.push(this.withDisposition(res.deadLetter));
        continue;
      }
      // The far side of the event-time window (the near side is the normalizer's): an event older
      // than the duplicate window could be a repeat whose id was forgotten. All events of a record
      // share its time.
      const occurredAt = res.events[0].occurredAt;
      if (ctx.recent.isExpired(occurredAt, detector.currentWatermark)) {
        deadLetters.push(
          this.withDisposition(
            expiredDeadLetter(record, shardId, occurredAt, detector.currentWatermark, this.window),
          ),
        );
        continue;
      }
      for (const e of res.events) {
        if (ctx.recent.has(e) || batchIds.has(e.eventId)) {
          duplicates++;
          continue;
        }
        if (!this.isFresh(ctx, e.sku, e.warehouse)) await this.loadSeries(ctx, [seriesOf(e)]);
        if (ctx.recent.has(e)) {
          duplicates++;
          continue;
        }
        batchIds.add(e.eventId);
        applied.push({ eventId: e.eventId, occurredAt: e.occurredAt, sku: e.sku, warehouse: e.warehouse });
        events++;
        eventsByKind[e.kind] = (eventsByKind[e.kind] ?? 0) + 1;
        const outcome = this.state.apply(e);
        if (outcome.countBeyondMemory) countsBeyondMemory.push(e);
        const before = detector.currentWatermark;
        // The event is applied whatever detection makes of it: a detector or router that throws on
        // one event (a bug, an explanation it cannot hold) costs that event's judgement, said in the
        // report, never the shard (it would throw again on every replay).
        let raised: Anomaly[];
        try {
          raised = [...detector.onEvent(e, outcome), ...detector.scanForSilence(before, owns)];
        } catch (err) {
          detectionFailures.push({ event: e, stage: 'detect', reason: describeCause(err) });
          raised = [];
        }
        for (const a of raised) {
          try {
            router.add(a);
            anomalies.push(a);
          } catch (err) {
            detectionFailures.push({ event: e, stage: 'route', reason: describeCause(err) });
          }
        }
        for (const r of router.advance(detector.currentWatermark)) routed.push(r);
      }
    }
    const checkpoint = lastPosition(records, input.deadLetters ?? []);
    if (routed.length > 0) await this.assertStillOwned(ctx);
    const undelivered = await this.publish(shardId, routed);
    if (checkpoint) await this.commit(ctx, checkpoint, applied, deadLetters, anomalies, undelivered);
    const report: BatchReport = {
      shardId,
      records: records.length,
      events,
      eventsByKind,
      duplicates,
      countsBeyondMemory,
      detectionFailures,
      deadLetters,
      anomalies,
      notifications: delivered(routed, undelivered),
      undelivered,
      seconds: (performance.now() - t0) / 1000,
      arrivedUntil: records.reduce(
        (m, r) => Math.max(m, r.approximateArrivalTimestamp),
        Number.NEGATIVE_INFINITY,
      ),
      watermark: detector.currentWatermark,
      checkpoint,
    };
    // Committed: the batch counts, whatever happens to the source's own checkpoint (a lease table
    // write may now find the lease gone; the next owner resumes from the store's checkpoint).
    this.o.onBatch?.(report);
    if (checkpoint) await input.checkpointer.checkpoint(checkpoint);
    return report;
  }

  /**
   * Before sending anything: is the stored checkpoint still the one this worker expects? A worker
   * that lost the shard finds out here rather than after its alerts went out twice.
   */
  private async assertStillOwned(ctx: ShardContext): Promise<void> {
    const actual = await this.read('state store', () => this.o.store.loadCheckpoint(ctx.shardId));
    if (!samePosition(actual, ctx.position)) {
      this.closeShard(ctx.shardId);
      throw new StaleCheckpointError(ctx.shardId, ctx.position, actual);
    }
  }

  /** Confirms the checkpoint; with `sendPending`, first sends every group still waiting (end of a shard). */
  private flush(
    shardId: string,
    checkpointer: ShardEndedInput['checkpointer'],
    sendPending: boolean,
  ): Promise<void> {
    return this.serializeShard(shardId, () => this.runFlush(shardId, checkpointer, sendPending));
  }

  private async runFlush(
    shardId: string,
    checkpointer: ShardEndedInput['checkpointer'],
    sendPending: boolean,
  ): Promise<void> {
    const ctx = this.shards.get(shardId);
    if (!ctx) return; // never initialized, or already lost
    const routed = sendPending ? ctx.router.flushAll() : [];
    if (routed.length > 0) await this.assertStillOwned(ctx);
    const undelivered = await this.publish(shardId, routed);
    const position = ctx.position;
    // The router's state changed (groups sent): commit it at the same position.
    if (position && routed.length > 0) await this.commit(ctx, position, [], [], [], undelivered);
    // At a shard's end, no position means "the end": children may start.
    await checkpointer.checkpoint(sendPending ? undefined : (position ?? undefined));
    this.closeShard(shardId);
    if (routed.length > 0) {
      this.o.onBatch?.({
        shardId,
        records: 0,
        events: 0,
        eventsByKind: {},
        duplicates: 0,
        countsBeyondMemory: [],
        detectionFailures: [],
        deadLetters: [],
        anomalies: [],
        notifications: delivered(routed, undelivered),
        undelivered,
        seconds: 0,
        arrivedUntil: Number.NEGATIVE_INFINITY,
        watermark: ctx.detector.currentWatermark,
        checkpoint: position,
      });
    }
  }

  /** Sends `routed`; returns the notifications a sink refused for good (to park with the batch). */
  private publish(
    shardId: string,
    routed: readonly RoutedNotification[],
  ): Promise<UndeliveredNotification[]> {
    if (routed.length === 0) return Promise.resolve([]);
    return deliver(routed, this.o.sinks, shardId, (what, task) => this.retry(what, task, this.sinkPolicy));
  }

  /**
   * Runs `task` through `policy`, telling the observers of failures and of recovery (they cannot
   * steer: what they throw is ignored). A refused fence or refused data comes out as itself.
   */
  private async retry<T>(what: string, task: () => Promise<T>, policy = this.storePolicy): Promise<T> {
    let failures = 0;
    try {
      const out = await policy.run(what, task, {
        signal: this.o.signal,
        // A sink that was told when to come back (Retry-After) is not asked sooner.
        retryAfterMs: retryAfterOf,
        onRetry: (a) => {
          failures = a.attempt;
          observe(() => this.o.onRetry?.(what, a.attempt, a.error));
        },
      });
      if (failures > 0) observe(() => this.o.onRecovered?.(what, failures + 1));
      return out;
    } catch (err) {
      const cause = err instanceof RetryGiveUpError && err.reason === 'permanent' ? err.cause : undefined;
      if (cause instanceof StaleCheckpointError || cause instanceof StoreRefusedError) throw cause;
      throw err;
    }
  }

  /** A store read, retried like a write: an outage holds the batch back rather than failing it. */
  private read<T>(what: string, task: () => Promise<T>): Promise<T> {
    return this.retry(what, task);
  }

  /** Marks a trust-rule dead letter as quarantined when so configured. */
  private withDisposition(d: DeadLetter): DeadLetter {
    const outOfWindow = d.code === 'future_event' || d.code === 'expired_event';
    return outOfWindow && this.o.outOfWindow === 'quarantine' ? { ...d, disposition: 'quarantine' } : d;
  }

  private async commit(
    ctx: ShardContext,
    checkpoint: ExtendedSequenceNumber,
    appliedEvents: AppliedEvent[],
    deadLetters: DeadLetter[],
    anomalies: Anomaly[],
    undelivered: UndeliveredNotification[],
  ): Promise<void> {
    const { detector, router, shardId } = ctx;
    const series: SeriesRow[] = [];
    const slots = this.state.takeDirty();
    for (const s of slots) {
      const snap = this.state.snapshot(s);
      series.push({
        ...snap,
        model: JSON.stringify({ extra: this.state.extraOf(s), detect: detector.seriesState(s) }),
      });
    }
    const watermark = detector.currentWatermark;
    const forgetEventsBefore = Number.isFinite(watermark) ? watermark - this.window : undefined;
    const batch: BatchCommit = {
      shardId,
      checkpoint,
      expectedCheckpoint: ctx.position,
      series,
      values: [
        { key: `${DETECTOR_KEY}/${shardId}`, value: JSON.stringify(detector.toJSON()) },
        { key: `${ROUTER_KEY}/${shardId}`, value: JSON.stringify(router.toJSON()) },
        { key: `${IDS_KEY}/${shardId}`, value: JSON.stringify({ legacyUntil: ctx.recent.legacyUntil }) },
      ],
      appliedEvents,
      forgetEventsBefore,
      deadLetters,
      anomalies,
      undelivered,
    };
    try {
      // Metrics rows and dead-letter copies are retried whatever the error (they cannot be parked):
      // the checkpoint waits.
      await Promise.all([
        ...(series.length === 0 ? [] : (this.o.seriesSinks ?? [])).map((sink) =>
          this.retry(`metrics sink ${sink.name}`, () => sink.write(series)),
        ),
        ...(deadLetters.length === 0 ? [] : (this.o.deadLetterSinks ?? [])).map((sink) =>
          this.retry(`dead-letter sink ${sink.name}`, () => sink.write(deadLetters)),
        ),
      ]);
      let outcomeUnknown = false;
      await this.retry('state store', async () => {
        try {
          await this.o.store.commit(batch);
        } catch (err) {
          // A commit whose answer was lost (the connection died after COMMIT reached the server) is
          // retried and finds its own checkpoint stored: it did land. Only after such a failure: on
          // a first attempt the same finding means another worker (which stole the lease) committed
          // the same records first, and this batch is a duplicate to drop, not a success to count.
          if (err instanceof StaleCheckpointError) {
            if (outcomeUnknown && samePosition(err.actual, checkpoint)) return;
          } else {
            outcomeUnknown = true;
          }
          throw err;
        }
      });
    } catch (err) {
      // Not written: what memory holds of these series is ahead of the store.
      for (const s of slots) this.ownerEpoch[s] = 0;
      if (err instanceof StaleCheckpointError) this.closeShard(shardId);
      throw err;
    }
    ctx.position = checkpoint;
    for (const e of appliedEvents) ctx.recent.add(e.eventId, e.occurredAt);
    if (forgetEventsBefore !== undefined) ctx.recent.forgetBefore(forgetEventsBefore);
  }
}

/** The wait an error says the other side asked for (`SinkDeliveryError.retryAfterMs`), if any. */
function retryAfterOf(error: unknown): number | undefined {
  const ms = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Detector memory of a series never seen. */
const EMPTY_SERIES_DETECTOR: SeriesDetectorState = {
  firstSaleAt: null,
  bucketStart: -1,
  unitsThisBucket: 0,
  unitsPrevBucket: 0,
  silenceAlertedFor: null,
};
