/**
 * An in-memory {@link StateStore} with the same contract as the SQL and DynamoDB stores: for tests and
 * for trying the pipeline without a disk. Commits are atomic (a copy is swapped in whole).
 */
import { seriesKey } from '../events.js';
import type { ExtendedSequenceNumber } from '../lifecycle.js';
import {
  type Anomaly,
  type AppliedEvent,
  type BatchCommit,
  type DeadLetter,
  type SeriesKey,
  type SeriesRow,
  StaleCheckpointError,
  type StateStore,
  type StoredSeries,
  type StoredState,
  type UndeliveredNotification,
} from '../ports.js';

interface Snapshot {
  series: Map<string, SeriesRow>;
  values: Map<string, string>;
  applied: Map<string, AppliedEvent>;
  checkpoints: Map<string, ExtendedSequenceNumber>;
  deadLetters: Map<string, DeadLetter>;
  anomalies: Map<string, Anomaly>;
  undelivered: Map<string, UndeliveredNotification>;
}

const empty = (): Snapshot => ({
  series: new Map(),
  values: new Map(),
  applied: new Map(),
  checkpoints: new Map(),
  deadLetters: new Map(),
  anomalies: new Map(),
  undelivered: new Map(),
});

/**
 * @example
 * ```ts
 * const store = new MemoryStateStore();
 * const engine = new InventoryEngine({ store, sinks, createRouter, createNormalizer });
 * ```
 */
export class MemoryStateStore implements StateStore {
  private data: Snapshot = empty();
  /** How many commits succeeded (tests use it to see the checkpoint wait). */
  commits = 0;
  /** When set, the next commit throws this error once (a store outage). */
  failNextCommit: Error | null = null;

  async open(): Promise<void> {}

  async load(): Promise<StoredState> {
    return {
      series: [...this.data.series.values()].map((r) => ({ ...r })),
      values: [...this.data.values].map(([key, value]) => ({ key, value })),
      recentEvents: [...this.data.applied.values()].map((e) => ({ ...e })),
    };
  }

  async loadSeries(keys: readonly SeriesKey[]): Promise<StoredSeries> {
    const wanted = new Set(keys.map((k) => seriesKey(k.sku, k.warehouse)));
    const series: SeriesRow[] = [];
    for (const key of wanted) {
      const row = this.data.series.get(key);
      if (row) series.push({ ...row });
    }
    const recentEvents = [...this.data.applied.values()]
      .filter((e) => wanted.has(seriesKey(e.sku, e.warehouse)))
      .map((e) => ({ ...e }));
    return { series, recentEvents };
  }

  async loadValues(keys: readonly string[]): Promise<Array<{ key: string; value: string }>> {
    const out: Array<{ key: string; value: string }> = [];
    for (const key of new Set(keys)) {
      const value = this.data.values.get(key);
      if (value !== undefined) out.push({ key, value });
    }
    return out;
  }

  async loadCheckpoint(shardId: string): Promise<ExtendedSequenceNumber | null> {
    const c = this.data.checkpoints.get(shardId);
    return c ? { ...c } : null;
  }

  async commit(b: BatchCommit): Promise<void> {
    if (this.failNextCommit) {
      const err = this.failNextCommit;
      this.failNextCommit = null;
      throw err;
    }
    if (b.expectedCheckpoint !== undefined) {
      const actual = this.data.checkpoints.get(b.shardId) ?? null;
      const expected = b.expectedCheckpoint;
      const same =
        actual === null || expected === null
          ? actual === expected
          : actual.sequenceNumber === expected.sequenceNumber &&
            actual.subSequenceNumber === expected.subSequenceNumber;
      if (!same) throw new StaleCheckpointError(b.shardId, expected, actual);
    }
    const next: Snapshot = {
      series: new Map(this.data.series),
      values: new Map(this.data.values),
      applied: new Map(this.data.applied),
      checkpoints: new Map(this.data.checkpoints),
      deadLetters: new Map(this.data.deadLetters),
      anomalies: new Map(this.data.anomalies),
      undelivered: new Map(this.data.undelivered),
    };
    for (const r of b.series) next.series.set(seriesKey(r.sku, r.warehouse), { ...r });
    for (const v of b.values) next.values.set(v.key, v.value);
    for (const e of b.appliedEvents) if (!next.applied.has(e.eventId)) next.applied.set(e.eventId, { ...e });
    if (b.forgetEventsBefore !== undefined) {
      const mine = new Set(b.series.map((r) => seriesKey(r.sku, r.warehouse)));
      for (const [id, e] of next.applied)
        if (e.occurredAt < b.forgetEventsBefore && mine.has(seriesKey(e.sku, e.warehouse)))
          next.applied.delete(id);
    }
    for (const d of b.deadLetters) {
      const key = `${d.shardId}|${d.sequenceNumber}|${d.subSequenceNumber}`;
      if (!next.deadLetters.has(key)) next.deadLetters.set(key, d);
    }
    for (const a of b.anomalies) if (!next.anomalies.has(a.id)) next.anomalies.set(a.id, a);
    for (const u of b.undelivered ?? []) {
      const key = JSON.stringify([u.receiver, u.notification.id]);
      if (!next.undelivered.has(key)) next.undelivered.set(key, u);
    }
    next.checkpoints.set(b.shardId, { ...b.checkpoint });
    this.data = next;
    this.commits++;
  }

  async close(): Promise<void> {}

  /** Every stored series row, sorted by SKU then warehouse (for comparing runs). */
  seriesRows(): SeriesRow[] {
    return [...this.data.series.values()].sort(
      (a, b) => a.sku.localeCompare(b.sku) || a.warehouse.localeCompare(b.warehouse),
    );
  }

  deadLetters(): DeadLetter[] {
    return [...this.data.deadLetters.values()];
  }

  /** Notifications a sink refused for good, parked with their reason. */
  undelivered(): UndeliveredNotification[] {
    return [...this.data.undelivered.values()];
  }

  anomalies(): Anomaly[] {
    return [...this.data.anomalies.values()];
  }
}
