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
 */

import {
  type DetectionThresholds,
  InventoryDetector,
  type InventoryDetectorJSON,
  type SeriesDetectorState,
} from './detect/inventory-detector.js';
import type { InventoryEvent, InventoryEventKind } from './events.js';
import type {
  ExtendedSequenceNumber,
  ProcessRecordsInput,
  ShardEndedInput,
  ShardRecordProcessor,
  ShutdownRequestedInput,
  StreamRecord,
} from './lifecycle.js';
import type {
  AlertNotification,
  AlertSink,
  Anomaly,
  BatchCommit,
  DeadLetter,
  SeriesRow,
  StateStore,
} from './ports.js';
import { InventoryState, type SeriesExtra } from './state/inventory-state.js';

/** A notification addressed to one receiver (a sink name). */
export interface RoutedNotification {
  receiver: string;
  notification: AlertNotification;
}

/** What the engine needs from the alert router (dedup, grouping, routing, rate limit). */
export interface AlertRouting {
  add(anomaly: Anomaly): void;
  advance(watermark: number): RoutedNotification[];
  flushAll(): RoutedNotification[];
  toJSON(): unknown;
}

/** What the engine needs from the normalizer. */
export interface RecordNormalizer {
  normalize(
    record: StreamRecord,
    shardId: string,
  ): { ok: true; events: InventoryEvent[] } | { ok: false; deadLetter: DeadLetter };
}

/** Figures of one committed batch, for metrics and logs. */
export interface BatchReport {
  shardId: string;
  records: number;
  events: number;
  eventsByKind: Partial<Record<InventoryEventKind, number>>;
  duplicates: number;
  deadLetters: DeadLetter[];
  anomalies: Anomaly[];
  notifications: RoutedNotification[];
  seconds: number;
  /** Newest event time seen, epoch ms. */
  watermark: number;
  checkpoint: ExtendedSequenceNumber | null;
}

export interface EngineOptions {
  store: StateStore;
  /** Sinks by name (the router's receivers). */
  sinks: ReadonlyMap<string, AlertSink>;
  createRouter: (stored: unknown | undefined) => AlertRouting;
  createNormalizer: (casePack: (sku: string) => number | undefined) => RecordNormalizer;
  thresholds?: Partial<DetectionThresholds>;
  /** A count model trained by `shelfwatch train`, and/or a collector of count features (for training). */
  models?: ConstructorParameters<typeof InventoryDetector>[2];
  /** How long (event time) an applied id is remembered to drop duplicates. Default 24 h. */
  duplicateWindowMs?: number;
  /** Called after each committed batch. */
  onBatch?: (report: BatchReport) => void;
  /** Called when a sink or the store fails and the engine retries. */
  onRetry?: (what: string, attempt: number, error: unknown) => void;
  /** Waits between retries; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

const ROUTER_KEY = 'router';
const DETECTOR_KEY = 'detector';

/** Recently applied event ids, bucketed by hour of event time so that old ones can be forgotten cheaply. */
class RecentEventIds {
  private readonly ids = new Set<string>();
  private readonly buckets = new Map<number, string[]>();

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string, occurredAt: number): void {
    this.ids.add(id);
    const b = Math.floor(occurredAt / 3_600_000);
    const list = this.buckets.get(b);
    if (list) list.push(id);
    else this.buckets.set(b, [id]);
  }

  forgetBefore(t: number): void {
    const limit = Math.floor(t / 3_600_000);
    for (const [b, list] of this.buckets) {
      if (b < limit) {
        for (const id of list) this.ids.delete(id);
        this.buckets.delete(b);
      }
    }
  }

  get size(): number {
    return this.ids.size;
  }
}

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
  readonly detector: InventoryDetector;
  private router!: AlertRouting;
  private normalizer!: RecordNormalizer;
  private readonly recent = new RecentEventIds();
  private readonly window: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private started = false;
  /** One batch at a time: state is shared across shards, and commits must not interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: EngineOptions) {
    this.detector = new InventoryDetector(this.state, o.thresholds, o.models);
    this.window = o.duplicateWindowMs ?? 24 * 3_600_000;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Opens the store and restores state, detector, router and the duplicate window from it. */
  async start(): Promise<void> {
    if (this.started) return;
    await this.o.store.open();
    const stored = await this.o.store.load();
    const values = new Map(stored.values.map((v) => [v.key, v.value]));
    const detectorJson = values.get(DETECTOR_KEY);
    if (detectorJson) this.detector.restore(JSON.parse(detectorJson) as InventoryDetectorJSON);
    for (const row of stored.series) {
      const model = JSON.parse(row.model) as { extra: SeriesExtra; detect: SeriesDetectorState };
      const s = this.state.restore(row, model.extra);
      this.detector.restoreSeries(s, model.detect);
    }
    this.state.takeDirty();
    for (const e of stored.recentEvents) this.recent.add(e.eventId, e.occurredAt);
    const routerJson = values.get(ROUTER_KEY);
    this.router = this.o.createRouter(routerJson ? JSON.parse(routerJson) : undefined);
    this.normalizer = this.o.createNormalizer((sku) => this.detector.casePack(sku));
    this.started = true;
  }

  /** The lifecycle object a source drives for one shard. */
  createProcessor(shardId: string): ShardRecordProcessor {
    return {
      initialize: async () => {
        await this.start();
      },
      processRecords: async (input: ProcessRecordsInput) => {
        await this.processBatch(input);
      },
      leaseLost: async () => {
        // Another worker owns the shard now: nothing to checkpoint. State stays consistent because
        // every commit was atomic.
      },
      shardEnded: async (input: ShardEndedInput) => {
        // Nothing more will come from this shard: send what is still waiting in a group.
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

  /** Processes one batch end to end (normalize → state → detect → publish → commit → checkpoint). */
  processBatch(input: ProcessRecordsInput): Promise<BatchReport> {
    return this.serialize(async () => {
      const t0 = performance.now();
      const { shardId, records } = input;
      const deadLetters: DeadLetter[] = [];
      const anomalies: Anomaly[] = [];
      const routed: RoutedNotification[] = [];
      const applied: Array<{ eventId: string; occurredAt: number }> = [];
      const eventsByKind: Partial<Record<InventoryEventKind, number>> = {};
      let events = 0;
      let duplicates = 0;
      for (const record of records) {
        const res = this.normalizer.normalize(record, shardId);
        if (!res.ok) {
          deadLetters.push(res.deadLetter);
          continue;
        }
        for (const e of res.events) {
          if (this.recent.has(e.eventId)) {
            duplicates++;
            continue;
          }
          this.recent.add(e.eventId, e.occurredAt);
          applied.push({ eventId: e.eventId, occurredAt: e.occurredAt });
          events++;
          eventsByKind[e.kind] = (eventsByKind[e.kind] ?? 0) + 1;
          const outcome = this.state.apply(e);
          const before = this.detector.currentWatermark;
          for (const a of this.detector.onEvent(e, outcome)) {
            anomalies.push(a);
            this.router.add(a);
          }
          for (const a of this.detector.scanForSilence(before)) {
            anomalies.push(a);
            this.router.add(a);
          }
          for (const r of this.router.advance(this.detector.currentWatermark)) routed.push(r);
        }
      }
      const last = records.at(-1);
      const checkpoint = last
        ? { sequenceNumber: last.sequenceNumber, subSequenceNumber: last.subSequenceNumber }
        : null;
      await this.publish(routed);
      if (checkpoint) {
        await this.commit(shardId, checkpoint, applied, deadLetters, anomalies);
        await input.checkpointer.checkpoint(checkpoint);
      }
      const report: BatchReport = {
        shardId,
        records: records.length,
        events,
        eventsByKind,
        duplicates,
        deadLetters,
        anomalies,
        notifications: routed,
        seconds: (performance.now() - t0) / 1000,
        watermark: this.detector.currentWatermark,
        checkpoint,
      };
      this.o.onBatch?.(report);
      return report;
    });
  }

  /** Confirms the checkpoint; with `sendPending`, first sends every group still waiting (end of a replay). */
  private flush(
    shardId: string,
    checkpointer: ShardEndedInput['checkpointer'],
    sendPending: boolean,
  ): Promise<void> {
    return this.serialize(async () => {
      const routed = sendPending ? this.router.flushAll() : [];
      await this.publish(routed);
      const position = await this.o.store.loadCheckpoint(shardId);
      if (position) {
        await this.commit(shardId, position, [], [], []);
        await checkpointer.checkpoint(position);
      }
      if (routed.length > 0) {
        this.o.onBatch?.({
          shardId,
          records: 0,
          events: 0,
          eventsByKind: {},
          duplicates: 0,
          deadLetters: [],
          anomalies: [],
          notifications: routed,
          seconds: 0,
          watermark: this.detector.currentWatermark,
          checkpoint: position,
        });
      }
    });
  }

  private async publish(routed: RoutedNotification[]): Promise<void> {
    const byReceiver = new Map<string, AlertNotification[]>();
    for (const r of routed) {
      const list = byReceiver.get(r.receiver);
      if (list) list.push(r.notification);
      else byReceiver.set(r.receiver, [r.notification]);
    }
    await Promise.all(
      [...byReceiver].map(async ([receiver, notifications]) => {
        const sink = this.o.sinks.get(receiver);
        if (!sink) throw new Error(`alert route names receiver '${receiver}', but no sink has that name`);
        await this.retry(`sink ${receiver}`, () => sink.publish(notifications));
      }),
    );
  }

  /** Retries until it succeeds: the checkpoint waits, nothing is lost, and the job keeps running. */
  private async retry(what: string, task: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await task();
        return;
      } catch (err) {
        this.o.onRetry?.(what, attempt, err);
        await this.sleep(Math.min(30_000, 100 * 2 ** Math.min(attempt, 9)));
      }
    }
  }

  private async commit(
    shardId: string,
    checkpoint: ExtendedSequenceNumber,
    appliedEvents: Array<{ eventId: string; occurredAt: number }>,
    deadLetters: DeadLetter[],
    anomalies: Anomaly[],
  ): Promise<void> {
    const series: SeriesRow[] = [];
    for (const s of this.state.takeDirty()) {
      const snap = this.state.snapshot(s);
      series.push({
        ...snap,
        model: JSON.stringify({ extra: this.state.extraOf(s), detect: this.detector.seriesState(s) }),
      });
    }
    const watermark = this.detector.currentWatermark;
    const forgetEventsBefore = Number.isFinite(watermark) ? watermark - this.window : undefined;
    const batch: BatchCommit = {
      shardId,
      checkpoint,
      series,
      values: [
        { key: DETECTOR_KEY, value: JSON.stringify(this.detector.toJSON()) },
        { key: ROUTER_KEY, value: JSON.stringify(this.router.toJSON()) },
      ],
      appliedEvents,
      forgetEventsBefore,
      deadLetters,
      anomalies,
    };
    await this.retry('state store', () => this.o.store.commit(batch));
    if (forgetEventsBefore !== undefined) this.recent.forgetBefore(forgetEventsBefore);
  }
}
