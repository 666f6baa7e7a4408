/**
 * The pieces of a batch the engine handles besides applying it: which events of a record belong to
 * its copy's series, the dead letters the engine itself writes (expired, refused), and how a batch is
 * cut in halves to isolate a record the store refuses and reported as one again.
 */
import type { RoutedNotification } from './alert-delivery.js';
import type { BatchReport, RecordNormalizer } from './engine-options.js';
import { type InventoryEventKind, partitionKeyOf } from './events.js';
import type { ProcessRecordsInput, StreamRecord } from './lifecycle.js';
import {
  type DeadLetter,
  deadLetterOf,
  type StoreRefusedError,
  type UndeliveredNotification,
} from './ports.js';
import { comparePositions } from './positions.js';

/**
 * The partitioning contract: a series lives on one shard, so its events must arrive there in order.
 * A record that carries several series (an order of several items) is therefore put once per series,
 * its partition key naming the series (`SKU|warehouse`, {@link partitionKeyOf}), and each copy yields only
 * the events of its series. A record whose key names none of its series (a local file, a key chosen
 * upstream) yields all its events.
 */
export function forPartition(
  record: StreamRecord,
  res: ReturnType<RecordNormalizer['normalize']>,
): ReturnType<RecordNormalizer['normalize']> {
  if (!res.ok || res.events.length < 2) return res;
  const key = record.partitionKey;
  let mine = 0;
  for (const e of res.events) if (partitionKeyOf(e.sku, e.warehouse) === key) mine++;
  if (mine === 0 || mine === res.events.length) return res;
  return { ok: true, events: res.events.filter((e) => partitionKeyOf(e.sku, e.warehouse) === key) };
}

/** `legacyUntil` of a stored `ids/<shard>` value (JSON has no −Infinity: null stands for it). */
export function legacyUntilOf(json: string): number {
  const v = (JSON.parse(json) as { legacyUntil?: unknown }).legacyUntil;
  return typeof v === 'number' ? v : Number.NEGATIVE_INFINITY;
}

/** The dead letter of a record older than the shard's duplicate window. */
export function expiredDeadLetter(
  record: StreamRecord,
  shardId: string,
  occurredAt: number,
  watermark: number,
  windowMs: number,
): DeadLetter {
  const hours = (ms: number): string => `${Math.round((ms / 3_600_000) * 10) / 10} h`;
  return deadLetterOf(
    record,
    shardId,
    'expired_event',
    `event time ${new Date(occurredAt).toISOString()} is ${hours(watermark - occurredAt)} behind the shard's event time (${new Date(watermark).toISOString()}), beyond the ${hours(windowMs)} duplicate window (detection.duplicateWindowHours): a repeat that old could no longer be recognised`,
  );
}

/** An observer's call: whatever it throws is ignored (hooks observe, they do not steer). */
export function observe(call: () => void): void {
  try {
    call();
  } catch {
    // ignored on purpose
  }
}

/** The notifications that went out: routed minus those parked. */
export function delivered(
  routed: readonly RoutedNotification[],
  undelivered: readonly UndeliveredNotification[],
): RoutedNotification[] {
  if (undelivered.length === 0) return [...routed];
  const parked = new Set(undelivered.map((u) => JSON.stringify([u.receiver, u.notification.id])));
  return routed.filter((r) => !parked.has(JSON.stringify([r.receiver, r.notification.id])));
}

/** The dead letter of a record whose data the store refused. */
export function refusedDeadLetter(record: StreamRecord, shardId: string, err: StoreRefusedError): DeadLetter {
  return deadLetterOf(record, shardId, 'store_refused', err.message);
}

/** A batch cut in two at its middle record; each dead letter goes with the half its position falls in. */
export function halves(input: ProcessRecordsInput): [ProcessRecordsInput, ProcessRecordsInput] {
  const mid = Math.ceil(input.records.length / 2);
  const cut = input.records[mid - 1];
  const letters = input.deadLetters ?? [];
  const early = (d: DeadLetter): boolean => comparePositions(d, cut) <= 0;
  return [
    { ...input, records: input.records.slice(0, mid), deadLetters: letters.filter(early) },
    { ...input, records: input.records.slice(mid), deadLetters: letters.filter((d) => !early(d)) },
  ];
}

/** One report of two consecutive committed parts of a batch. */
export function mergeReports(a: BatchReport, b: BatchReport): BatchReport {
  const eventsByKind = { ...a.eventsByKind };
  for (const [k, n] of Object.entries(b.eventsByKind) as Array<[InventoryEventKind, number]>) {
    eventsByKind[k] = (eventsByKind[k] ?? 0) + n;
  }
  return {
    shardId: a.shardId,
    records: a.records + b.records,
    events: a.events + b.events,
    eventsByKind,
    duplicates: a.duplicates + b.duplicates,
    countsBeyondMemory: [...a.countsBeyondMemory, ...b.countsBeyondMemory],
    detectionFailures: [...a.detectionFailures, ...b.detectionFailures],
    deadLetters: [...a.deadLetters, ...b.deadLetters],
    anomalies: [...a.anomalies, ...b.anomalies],
    notifications: [...a.notifications, ...b.notifications],
    undelivered: [...a.undelivered, ...b.undelivered],
    seconds: a.seconds + b.seconds,
    arrivedUntil: Math.max(a.arrivedUntil, b.arrivedUntil),
    watermark: Math.max(a.watermark, b.watermark),
    checkpoint: b.checkpoint ?? a.checkpoint,
  };
}
