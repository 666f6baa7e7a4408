/**
 * The DynamoDB state store (issue 6): `StateStore` on two DynamoDB tables, atomic per batch although
 * a batch is far larger than one DynamoDB transaction.
 *
 * ## Tables
 *
 * Both tables have string keys `pk` (hash) and `sk` (range) and on-demand capacity. Key components
 * are JSON (`["SKU-1","WH-1"]`: unambiguous and readable), hashed when long.
 *
 * The **state table** (`tableName`) holds what `load`/`loadSeries` read, partitioned by series so that
 * a worker taking over a shard reads a series and its duplicate window with one Query:
 *
 * | item | pk | sk |
 * |---|---|---|
 * | series row (numeric attributes, `model` payload, `ver` = clock of the commit that wrote it, `fl` its forget list) | `S#["sku","wh"]` | `#row` |
 * | applied event (`eventId`, `occurredAt`, `sku`, `warehouse`, `ins` = clock, `expiresAt` TTL) | `S#["sku","wh"]` | `E#"eventId"#<clock>` |
 * | value (`key`, payload, `ver`) | `V#"key"` | `#val` |
 * | checkpoint of a shard (position, `tok` and `clock` of its last commit, its commit log) | `CKPT` | shard id |
 * | the commit clock and the commits in progress | `META` | `META` |
 * | parts of a commit log too large for the checkpoint item (TTL'd) | `LOG#<token>` | part index |
 *
 * The **audit table** (`auditTableName`, default `<tableName>-audit`) holds dead letters
 * (`DL#<bucket>` / `["shard","seq",sub]`, with a `disposition` attribute, absent on items written
 * before it existed: a dead letter), anomalies (`A#<bucket>` / `"id"`) and notifications a sink
 * refused for good (`U#<bucket>` / `["receiver","notification id"]`, the reason and the notification
 * as payload), spread over 8 buckets. It grows without bound while the state table stays the size of the inventory, so `load()`'s
 * Scan never reads audit data, and the two can get different backup and retention policies.
 *
 * Payloads (a series' `model`, a value, a dead letter's bytes, an anomaly's JSON) are kept inline when
 * short, gzip'd when that is smaller, and split into part items of ≤ 350 KB (`<headSk>#p#<id>#<i>`,
 * in the head's partition) beyond 300 KB: a 1 MiB dead letter or a 2 MB model fits.
 *
 * ## Commits: redo log, commit point, roll forward
 *
 * 1. The batch is validated completely ({@link validateBatch}); a bad field fails the commit before
 *    anything is written.
 * 2. The batch, de-duplicated as the SQL store applies it (series and values: the last of a key wins;
 *    events, dead letters, anomalies, undelivered notifications: the first), is serialised and
 *    gzip'd: the commit log. Up to 64 KB it rides in the checkpoint item; larger, it is written first
 *    as `LOG#` parts.
 * 3. The **commit point** is one two-item transaction: the shard's checkpoint item moves to the new
 *    position (condition: its last commit token is the one read, so nobody committed the shard
 *    meanwhile; `expectedCheckpoint` is compared with what was read, and a mismatch is a
 *    {@link StaleCheckpointError}), and `META` takes the next commit clock and a "pending" entry for
 *    the shard (condition: the clock read, so commits are totally ordered).
 * 4. The committer then **applies** the log: series and value rows with conditional writes in
 *    transactions of ≤ 100 (`ver` ≤ this clock, so a delayed writer of an older commit can never
 *    overwrite a newer row; series rows are updated, keeping and extending their forget list), events
 *    with BatchWriteItem (each write of an event is its own item, keyed by clock, so no write
 *    overwrites another), dead letters, anomalies and undelivered notifications with insert-if-absent
 *    puts; then it removes the
 *    pending entry.
 *
 * Readers (`load`, `loadSeries`, `loadValues`, the inspection methods) first **roll forward** every
 * pending commit listed in `META` (the same idempotent apply, from the log), then read, then check that
 * the commit clock did not move meanwhile (else they read again, up to 4 times). A committer rolls its
 * shard's pending commit forward before its own commit point.
 *
 * ## Guarantees
 *
 * - **Atomic**: nothing a commit writes is ever read unless its commit point succeeded, and once it
 *   has, all of it is durable (the log) and is completed by the committer, or by the next read or
 *   commit if the committer dies. A failed commit changes neither state nor checkpoint. A read
 *   concurrent with another shard's commit that keeps landing may, after 4 tries, return that commit
 *   partly applied (never one that failed).
 * - **Fencing**: a commit whose `expectedCheckpoint` is not the stored one writes nothing (no state, no
 *   dead letter, no anomaly): it is refused at the commit point, before anything is applied. Of two
 *   committers racing with the same expectation exactly one wins; the other gets `StaleCheckpointError`.
 * - **Idempotent**: every step can be repeated; committing the same batch again leaves the same state.
 *   If a commit's outcome is unknown (its commit point timed out, or applying failed after it), the
 *   commit rejects with {@link DynamoDbStoreError}; committing the same batch again with the same store
 *   then returns once it is complete, instead of reporting a stale checkpoint.
 * - **Duplicate window**: `forgetEventsBefore` is exact, and scoped to the batch's series as the port
 *   says. Each series row records the forgets of the commits that wrote it, as a short list of
 *   `[clock, before]` ({@link ForgetList}: one pair while the shard's watermark rises), and reads hide
 *   every event of the series a later forget covers. No delete is written for a forgotten event:
 *   `loadSeries` deletes the hidden events it meets, and DynamoDB's TTL (`expiresAt`,
 *   `appliedEventTtlSeconds` after the write, free of write capacity) removes the rest. Events past
 *   their `expiresAt` are hidden too, whether or not TTL has deleted them yet.
 * - **Ordering** between shards: commits are ordered by the global clock in `META`, so a series that
 *   moves to a child shard after a reshard keeps the newest row. `META` is written by every commit of
 *   every shard: fine for dozens of commits per second, a hot item beyond.
 *
 * Throttled batch items and conflicting transactions are retried with the project's `RetryPolicy`
 * (bounded, full jitter; the `retry` option's bounds); throttling and network errors by the SDK (`maxAttempts`, request timeouts: see {@link createDynamoDbClient}).
 */
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type TransactWriteItem,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
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
} from '../../pipeline/ports.js';
import type { RetryPolicy } from '../../pipeline/retry.js';
import { backOff } from '../store-retry.js';
import { createDynamoDbClient, type DynamoDbClientOptions } from './client.js';
import {
  attrB,
  attrN,
  attrNullableN,
  attrS,
  bucketOf,
  compareDecimal,
  type DynamoDbItem,
  encodePayload,
  type ForgetList,
  forgottenBefore,
  gunzipBytes,
  gzipBytes,
  INLINE_BYTES_MAX,
  keyPart,
  mergeForget,
  PART_BYTES_MAX,
  type PayloadRef,
  padClock,
  parseForgetList,
  partSk,
  payloadBytes,
  payloadRef,
  payloadText,
  readB,
  readN,
  readNullableN,
  readS,
  sha256Hex,
} from './codec.js';
import { refusedByDynamoDb } from './refused.js';
import {
  batchGetAll,
  batchWriteAll,
  type CancellationReason,
  chunkBySize,
  DEFAULT_RETRY_POLICY,
  type DynamoDbRetryPolicy,
  DynamoDbUnprocessedError,
  dynamoDbRetryPolicy,
  itemBytes,
  mapLimit,
  queryAll,
  queryCount,
  retryConflicts,
  scanAll,
  transactWrite,
} from './requests.js';
import { ensureTable, TTL_ATTRIBUTE } from './tables.js';
import { validateBatch } from './validate.js';

/** The state table's default name (the audit table's is this plus `-audit`). */
export const DEFAULT_DYNAMODB_TABLE = 'shelfwatch-state';

/** Applied events expire this long after they were written unless told otherwise: 7 days. */
export const DEFAULT_APPLIED_EVENT_TTL_SECONDS = 7 * 86_400;

/**
 * Options of {@link DynamoDbStateStore}. Without `client`, one is created from the client options
 * (and the standard AWS chain for whatever they leave out) and destroyed by `close()`.
 *
 * @example
 * ```ts
 * const options: DynamoDbStateStoreOptions = {
 *   tableName: 'shelfwatch-state', region: 'eu-west-1', appliedEventTtlSeconds: 2 * 86_400,
 * };
 * ```
 */
export interface DynamoDbStateStoreOptions extends DynamoDbClientOptions {
  /** The state table (default {@link DEFAULT_DYNAMODB_TABLE}). */
  tableName?: string;
  /** The dead-letter and anomaly table (default `<tableName>-audit`). */
  auditTableName?: string;
  /** A client to use (and not to destroy): tests and processes with several stores share one. */
  client?: DynamoDBClient;
  /** Create missing tables in `open()` (default true); when false, missing tables are an error. */
  createTables?: boolean;
  /**
   * Applied events expire (DynamoDB TTL) this long after they were written (default 7 days). Keep it
   * above the pipeline's duplicate window (24 h by default): the pipeline forgets events itself
   * through `forgetEventsBefore`; TTL only collects them.
   */
  appliedEventTtlSeconds?: number;
  /** Requests in flight per commit or read (default 16). */
  concurrency?: number;
  /**
   * Bounds of the retries of unprocessed batch items and conflicting transactions (default
   * {@link DEFAULT_RETRY_POLICY}: 8 tries, 50 ms doubling to 2 s); the waits are the project's
   * `RetryPolicy` (full jitter) with these bounds.
   */
  retry?: Partial<DynamoDbRetryPolicy>;
  /** The clock for `updatedAt`/`createdAt` and TTL (default `Date.now`). */
  now?: () => number;
}

/**
 * Options of {@link DynamoDbStateStore.listAnomalies} and {@link DynamoDbStateStore.listDeadLetters}.
 *
 * @example
 * ```ts
 * const newest: DynamoDbListOptions = { limit: 20, order: 'desc' };
 * ```
 */
export interface DynamoDbListOptions {
  /** At most this many (default: all). */
  limit?: number;
  /** Oldest first (default) or newest first. */
  order?: 'asc' | 'desc';
}

/**
 * A commit failed for a reason other than fencing. `outcome` says what is known:
 * `not-committed` (nothing was written; retry freely), `unknown` (the commit point's response was
 * lost), `committed` (the checkpoint moved and the batch is durable, but applying it was interrupted;
 * the next read or commit completes it). In the last two cases, committing the same batch again with
 * the same store returns once the commit is complete.
 *
 * @example
 * ```ts
 * try { await store.commit(batch); }
 * catch (err) { if (err instanceof DynamoDbStoreError) console.warn(err.outcome, err.message); }
 * ```
 */
export class DynamoDbStoreError extends Error {
  override readonly name = 'DynamoDbStoreError';
  constructor(
    message: string,
    readonly outcome: 'not-committed' | 'unknown' | 'committed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---- layout constants ------------------------------------------------------------------------------

const CKPT_PK = 'CKPT';
const META_PK = 'META';
const SERIES_SK = '#row';
const VALUE_SK = '#val';
const EVENT_SK_PREFIX = 'E#';
const AUDIT_BUCKETS = 8;
/** Commit logs up to this (gzip'd) ride in the checkpoint item. */
const LOG_INLINE_MAX = 64 * 1024;
/** Bytes of conditional puts per transaction (DynamoDB allows 4 MB). */
const TRANSACTION_BYTES = 3_500_000;
/** Commit-point tries while other commits keep moving the clock. */
const COMMIT_POINT_ATTEMPTS = 40;
/** Waits between commit-point tries while other shards' commits move the clock: 10 ms doubling to 0.5 s. */
const COMMIT_POINT_POLICY = dynamoDbRetryPolicy({
  attempts: COMMIT_POINT_ATTEMPTS,
  baseDelayMs: 10,
  maxDelayMs: 500,
});
/** Reads tried while commits keep landing during them. */
const READ_ATTEMPTS = 4;
/** Transaction cancellation codes that a retry may cure. */
const RETRYABLE_CODES = new Set([
  'None',
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

const seriesPk = (sku: string, warehouse: string): string => `S#${keyPart([sku, warehouse])}`;
const valuePk = (key: string): string => `V#${keyPart(key)}`;
const eventSk = (eventId: string, clock: number): string =>
  `${EVENT_SK_PREFIX}${keyPart(eventId)}#${padClock(clock)}`;
const deadLetterPk = (shardId: string): string => `DL#${bucketOf(shardId, AUDIT_BUCKETS)}`;
const deadLetterSk = (d: Pick<DeadLetter, 'shardId' | 'sequenceNumber' | 'subSequenceNumber'>): string =>
  keyPart([d.shardId, d.sequenceNumber, d.subSequenceNumber]);
const anomalyPk = (id: string): string => `A#${bucketOf(id, AUDIT_BUCKETS)}`;
const undeliveredPk = (notificationId: string): string => `U#${bucketOf(notificationId, AUDIT_BUCKETS)}`;
const undeliveredSk = (receiver: string, notificationId: string): string =>
  keyPart([receiver, notificationId]);
const undeliveredId = (u: UndeliveredNotification): string => JSON.stringify([u.receiver, u.notification.id]);
const key = (pk: string, sk: string): DynamoDbItem => ({ pk: attrS(pk), sk: attrS(sk) });
const headId = (pk: string, sk: string): string => `${pk}\n${sk}`;
const logPk = (token: string): string => `LOG#${token}`;
const logSk = (index: number): string => index.toString().padStart(4, '0');

// ---- the commit log ----------------------------------------------------------------------------------

/**
 * A batch as the log holds it: de-duplicated, forgotten events dropped, bytes as base64. Version 2
 * adds quarantined dead letters and undelivered notifications; a batch with neither is still written
 * as version 1, which a store of the version before can roll forward, and one with either as version
 * 2, which such a store refuses rather than drop them.
 */
interface LoggedBatch {
  v: 1 | 2;
  shardId: string;
  checkpoint: ExtendedSequenceNumber;
  forgetEventsBefore: number | null;
  series: SeriesRow[];
  values: Array<{ key: string; value: string }>;
  events: AppliedEvent[];
  deadLetters: Array<Omit<DeadLetter, 'data'> & { data: string }>;
  anomalies: Anomaly[];
  undelivered?: UndeliveredNotification[];
}

interface PreparedBatch {
  log: LoggedBatch;
  gz: Uint8Array;
  digest: string;
  /** Heads of this batch whose payload may need parts (see META `big`). */
  bigHeads: string[];
}

function lastByKey<T>(rows: readonly T[], keyOf: (row: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const row of rows) {
    const k = keyOf(row);
    byKey.delete(k);
    byKey.set(k, row);
  }
  return [...byKey.values()];
}

function firstByKey<T>(rows: readonly T[], keyOf: (row: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const row of rows) {
    const k = keyOf(row);
    if (!byKey.has(k)) byKey.set(k, row);
  }
  return [...byKey.values()];
}

function copySeries(s: SeriesRow): SeriesRow {
  return {
    sku: s.sku,
    warehouse: s.warehouse,
    onHand: s.onHand,
    reserved: s.reserved,
    inbound: s.inbound,
    lastCountQuantity: s.lastCountQuantity,
    lastCountAt: s.lastCountAt,
    salesVelocity: s.salesVelocity,
    lastEventAt: s.lastEventAt,
    model: s.model,
  };
}

function copyAnomaly(a: Anomaly): Anomaly {
  return {
    id: a.id,
    type: a.type,
    severity: a.severity,
    score: a.score,
    sku: a.sku,
    warehouse: a.warehouse,
    detectedAt: a.detectedAt,
    eventIds: [...a.eventIds],
    detector: a.detector,
    explanation: {
      summary: a.explanation.summary,
      features: a.explanation.features.map((f) => ({
        name: f.name,
        observed: f.observed,
        expected: f.expected,
        ...(f.contribution === undefined ? {} : { contribution: f.contribution }),
        ...(f.unit === undefined ? {} : { unit: f.unit }),
      })),
    },
  };
}

async function prepare(batch: BatchCommit): Promise<PreparedBatch> {
  const forget = batch.forgetEventsBefore;
  const series = lastByKey(batch.series, (s) => JSON.stringify([s.sku, s.warehouse])).map(copySeries);
  const values = lastByKey(batch.values, (v) => v.key).map((v) => ({ key: v.key, value: v.value }));
  const forgetting = new Set(series.map((s) => JSON.stringify([s.sku, s.warehouse])));
  const log: LoggedBatch = {
    v: 1,
    shardId: batch.shardId,
    checkpoint: {
      sequenceNumber: batch.checkpoint.sequenceNumber,
      subSequenceNumber: batch.checkpoint.subSequenceNumber,
    },
    forgetEventsBefore: forget ?? null,
    series,
    values,
    // An event the same batch forgets (of one of its series, older than the forget time) is never
    // written: it would be hidden anyway.
    events: firstByKey(batch.appliedEvents, (e) => e.eventId)
      .filter(
        (e) =>
          forget === undefined ||
          e.occurredAt >= forget ||
          !forgetting.has(JSON.stringify([e.sku, e.warehouse])),
      )
      .map((e) => ({ eventId: e.eventId, occurredAt: e.occurredAt, sku: e.sku, warehouse: e.warehouse })),
    deadLetters: firstByKey(batch.deadLetters, deadLetterSk).map((d) => ({
      shardId: d.shardId,
      sequenceNumber: d.sequenceNumber,
      subSequenceNumber: d.subSequenceNumber,
      partitionKey: d.partitionKey,
      arrivalTimestamp: d.arrivalTimestamp,
      code: d.code,
      reason: d.reason,
      data: Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength).toString('base64'),
      ...(d.disposition === 'quarantine' ? { disposition: 'quarantine' as const } : {}),
    })),
    anomalies: firstByKey(batch.anomalies, (a) => a.id).map(copyAnomaly),
  };
  const undelivered = firstByKey(batch.undelivered ?? [], undeliveredId).map((u) => ({
    receiver: u.receiver,
    notification: u.notification,
    shardId: u.shardId,
    reason: u.reason,
  }));
  if (undelivered.length > 0) log.undelivered = undelivered;
  if (undelivered.length > 0 || log.deadLetters.some((d) => d.disposition !== undefined)) log.v = 2;
  const json = JSON.stringify(log);
  const bigHeads: string[] = [];
  for (const s of series) {
    if (s.model.length * 3 > INLINE_BYTES_MAX && Buffer.byteLength(s.model) > INLINE_BYTES_MAX) {
      bigHeads.push(headId(seriesPk(s.sku, s.warehouse), SERIES_SK));
    }
  }
  for (const v of values) {
    if (v.value.length * 3 > INLINE_BYTES_MAX && Buffer.byteLength(v.value) > INLINE_BYTES_MAX) {
      bigHeads.push(headId(valuePk(v.key), VALUE_SK));
    }
  }
  return { log, gz: await gzipBytes(Buffer.from(json, 'utf8')), digest: sha256Hex(json), bigHeads };
}

async function parseLog(gz: Uint8Array): Promise<LoggedBatch> {
  const log = JSON.parse(Buffer.from(await gunzipBytes(gz)).toString('utf8')) as LoggedBatch;
  if (log.v !== 1 && log.v !== 2) {
    throw new Error(`DynamoDB state store: commit log version ${String(log.v)} is unknown`);
  }
  return log;
}

/** A dead letter's payload: its fields as one JSON line, then its bytes. */
function deadLetterPayload(d: LoggedBatch['deadLetters'][number]): Uint8Array {
  const head = JSON.stringify({
    partitionKey: d.partitionKey,
    arrivalTimestamp: d.arrivalTimestamp,
    code: d.code,
    reason: d.reason,
  });
  return Buffer.concat([Buffer.from(`${head}\n`, 'utf8'), Buffer.from(d.data, 'base64')]);
}

// ---- META and checkpoints ------------------------------------------------------------------------

interface PendingCommit {
  token: string;
  clock: number;
}

interface MetaState {
  clock: number;
  pending: Map<string, PendingCommit>;
  big: Set<string>;
}

interface CheckpointState {
  position: ExtendedSequenceNumber;
  token: string;
}

function samePosition(a: ExtendedSequenceNumber | null, b: ExtendedSequenceNumber | null): boolean {
  if (a === null || b === null) return a === b;
  return a.sequenceNumber === b.sequenceNumber && a.subSequenceNumber === b.subSequenceNumber;
}

function showPosition(p: ExtendedSequenceNumber): string {
  return `${p.sequenceNumber}/${p.subSequenceNumber}`;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function isNamed(err: unknown, name: string): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;
}

const META_NAMES = { '#clock': 'clock', '#pending': 'pending', '#big': 'big' };

function parseMeta(item: DynamoDbItem | undefined): MetaState {
  if (item === undefined) {
    throw new Error('DynamoDB state store: the META item is missing; call open() first');
  }
  const pending = new Map<string, PendingCommit>();
  for (const [shard, entry] of Object.entries(item.pending?.M ?? {})) {
    const m = entry.M ?? {};
    pending.set(shard, { token: readS(m, 'tok'), clock: readN(m, 'clock') });
  }
  return {
    clock: readN(item, 'clock'),
    pending,
    big: new Set(item.big?.SS ?? []),
  };
}

function parseCheckpoint(item: DynamoDbItem | undefined): CheckpointState | null {
  if (item === undefined || item.sequenceNumber === undefined) return null;
  return {
    position: {
      sequenceNumber: readS(item, 'sequenceNumber'),
      subSequenceNumber: readN(item, 'subSequenceNumber'),
    },
    token: readS(item, 'tok'),
  };
}

// ---- decoding ----------------------------------------------------------------------------------------

/** A head's parts, looked up among items already read, or read by key. */
type PartSource = (pk: string, sk: string) => Uint8Array | undefined;

function toSeriesRow(item: DynamoDbItem, model: string): SeriesRow {
  return {
    sku: readS(item, 'sku'),
    warehouse: readS(item, 'warehouse'),
    onHand: readN(item, 'onHand'),
    reserved: readN(item, 'reserved'),
    inbound: readN(item, 'inbound'),
    lastCountQuantity: readNullableN(item, 'lastCountQuantity'),
    lastCountAt: readNullableN(item, 'lastCountAt'),
    salesVelocity: readN(item, 'salesVelocity'),
    lastEventAt: readN(item, 'lastEventAt'),
    model,
  };
}

function parseDeadLetter(item: DynamoDbItem, payload: Uint8Array): DeadLetter {
  const newline = payload.indexOf(0x0a);
  if (newline < 0) throw new Error(`DynamoDB state store: dead letter ${readS(item, 'sk')} is damaged`);
  const fields = JSON.parse(Buffer.from(payload.subarray(0, newline)).toString('utf8')) as Pick<
    DeadLetter,
    'partitionKey' | 'arrivalTimestamp' | 'code' | 'reason'
  >;
  return {
    shardId: readS(item, 'shardId'),
    sequenceNumber: readS(item, 'sequenceNumber'),
    subSequenceNumber: readN(item, 'subSequenceNumber'),
    partitionKey: fields.partitionKey,
    arrivalTimestamp: fields.arrivalTimestamp,
    code: fields.code,
    reason: fields.reason,
    data: new Uint8Array(payload.subarray(newline + 1)),
    // Absent (also on items written before dispositions existed) means a dead letter.
    ...(item.disposition?.S === 'quarantine' ? { disposition: 'quarantine' as const } : {}),
  };
}

/** An undelivered notification's payload: the sink's reason and the notification, as JSON. */
function parseUndelivered(item: DynamoDbItem, payload: Uint8Array): UndeliveredNotification {
  const fields = JSON.parse(Buffer.from(payload).toString('utf8')) as Pick<
    UndeliveredNotification,
    'reason' | 'notification'
  >;
  return {
    receiver: readS(item, 'receiver'),
    notification: fields.notification,
    shardId: readS(item, 'shardId'),
    reason: fields.reason,
  };
}

/** An applied-event item, with what decides whether it is still in the duplicate window. */
interface EventItem {
  event: AppliedEvent;
  clock: number;
  expiresAt: number;
  item: DynamoDbItem;
}

function parseEvent(item: DynamoDbItem): EventItem {
  return {
    event: {
      eventId: readS(item, 'eventId'),
      occurredAt: readN(item, 'occurredAt'),
      sku: readS(item, 'sku'),
      warehouse: readS(item, 'warehouse'),
    },
    clock: readN(item, 'ins'),
    expiresAt: readN(item, TTL_ATTRIBUTE),
    item,
  };
}

/** The forget list a series row holds (none: nothing of the series was forgotten). */
function forgetListOf(head: DynamoDbItem | undefined): ForgetList {
  const json = head?.fl?.S;
  return json === undefined ? [] : parseForgetList(json);
}

/**
 * The events of one series still in the duplicate window among these items (the newest write of
 * each event decides), given the series' forget list, and the items no read will need again (older
 * writes, forgotten or expired events).
 */
function visibleEvents(
  items: readonly EventItem[],
  forgets: ForgetList,
  nowSeconds: number,
): { events: AppliedEvent[]; dead: DynamoDbItem[] } {
  const newest = new Map<string, EventItem>();
  const dead: DynamoDbItem[] = [];
  for (const e of items) {
    const seen = newest.get(e.event.eventId);
    if (seen === undefined || e.clock > seen.clock) {
      if (seen) dead.push(seen.item);
      newest.set(e.event.eventId, e);
    } else {
      dead.push(e.item);
    }
  }
  const events: AppliedEvent[] = [];
  for (const e of newest.values()) {
    if (e.expiresAt > nowSeconds && e.event.occurredAt >= forgottenBefore(forgets, e.clock)) {
      events.push(e.event);
    } else {
      dead.push(e.item);
    }
  }
  return { events, dead };
}

// ---- writes of one commit ----------------------------------------------------------------------------

/** A head item to put, with the part items it needs first. */
interface HeadWrite {
  id: string;
  item: DynamoDbItem;
  parts: DynamoDbItem[];
  pid: string | null;
  /** Series rows: the batch's `forgetEventsBefore`, to merge into the row's forget list. */
  forget?: number;
  /** Series rows are updated (their forget list is kept); values are replaced. */
  kind?: 'series' | 'value';
}

/** The attributes a payload may occupy on a head (see `encodePayload`). */
const PAYLOAD_ATTRIBUTES = ['t', 'z', 'b', 'np', 'pz', 'pid'] as const;

/**
 * The conditional write of one row at `clock`: a value replaces its item; a series row is updated,
 * keeping the forget list it holds. With the batch's forget time, the fast path sets the list to this
 * forget alone, on condition that no stored forget is later (the usual case: one shard's watermark
 * only rises); `merged` is the slow path, the list merged from the row as read at `readVer`.
 */
function rowWrite(
  table: string,
  h: HeadWrite,
  clock: number,
  merged?: { list: ForgetList; readVer: number | null },
): TransactWriteItem {
  const names: Record<string, string> = { '#pk': 'pk', '#ver': 'ver' };
  const values: Record<string, AttributeValue> = { ':ver': attrN(clock) };
  const notNewer = '(attribute_not_exists(#pk) OR #ver <= :ver)';
  if (h.kind !== 'series') {
    return {
      Put: {
        TableName: table,
        Item: h.item,
        ConditionExpression: notNewer,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }
  const sets: string[] = [];
  let i = 0;
  for (const [name, value] of Object.entries(h.item)) {
    if (name === 'pk' || name === 'sk') continue;
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    sets.push(`#a${i} = :a${i}`);
    i++;
  }
  const removes: string[] = [];
  for (const name of PAYLOAD_ATTRIBUTES) {
    if (name in h.item) continue;
    names[`#r${name}`] = name;
    removes.push(`#r${name}`);
  }
  let condition = notNewer;
  if (h.forget !== undefined) {
    names['#fl'] = 'fl';
    names['#fbMax'] = 'fbMax';
    const list: ForgetList = merged?.list ?? [[clock, h.forget]];
    values[':fl'] = attrS(JSON.stringify(list));
    values[':fbMax'] = attrN((list[0] as [number, number])[1]);
    sets.push('#fl = :fl', '#fbMax = :fbMax');
    if (merged === undefined) {
      condition = `${notNewer} AND (attribute_not_exists(#fbMax) OR #fbMax <= :fbMax)`;
    } else if (merged.readVer === null) {
      condition = 'attribute_not_exists(#pk)';
    } else {
      values[':readVer'] = attrN(merged.readVer);
      condition = '#ver = :readVer';
    }
  }
  const update = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
  // DynamoDB refuses names and values that no expression uses.
  const used = `${update} ${condition}`;
  for (const name of Object.keys(names)) if (!new RegExp(`${name}\\b`).test(used)) delete names[name];
  for (const value of Object.keys(values)) if (!new RegExp(`${value}\\b`).test(used)) delete values[value];
  return {
    Update: {
      TableName: table,
      Key: key(readS(h.item, 'pk'), readS(h.item, 'sk')),
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

function partItems(pk: string, headSk: string, pid: string, parts: readonly Uint8Array[]): DynamoDbItem[] {
  return parts.map((d, i) => ({
    pk: attrS(pk),
    sk: attrS(partSk(headSk, pid, i)),
    p: attrN(i),
    d: attrB(d),
  }));
}

/**
 * `StateStore` on DynamoDB (see the module documentation for the layout and the guarantees), with the
 * read side the CLI and audits use.
 *
 * @example
 * ```ts
 * const store = new DynamoDbStateStore({ tableName: 'shelfwatch-state', region: 'eu-west-1' });
 * await store.open(); // creates the tables if missing
 * await store.commit({
 *   shardId: 'shardId-000000000000', checkpoint: { sequenceNumber: '4959…', subSequenceNumber: 0 },
 *   series: [], values: [{ key: 'catalog', value: '{}' }], appliedEvents: [], deadLetters: [], anomalies: [],
 * });
 * await store.close();
 * ```
 */
export class DynamoDbStateStore implements StateStore {
  /** The state table. */
  readonly tableName: string;
  /** The dead-letter and anomaly table. */
  readonly auditTableName: string;
  readonly #client: DynamoDBClient;
  readonly #ownsClient: boolean;
  readonly #createTables: boolean;
  readonly #eventTtlSeconds: number;
  readonly #concurrency: number;
  readonly #retry: RetryPolicy;
  readonly #now: () => number;
  /** Commits of this store whose outcome the caller was told is unknown: token → what they held. */
  readonly #uncertain = new Map<string, { shardId: string; digest: string }>();
  #state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: DynamoDbStateStoreOptions = {}) {
    this.tableName = options.tableName ?? DEFAULT_DYNAMODB_TABLE;
    this.auditTableName = options.auditTableName ?? `${this.tableName}-audit`;
    if (this.auditTableName === this.tableName) {
      throw new RangeError('DynamoDbStateStore: auditTableName must differ from tableName');
    }
    this.#client = options.client ?? createDynamoDbClient(options);
    this.#ownsClient = options.client === undefined;
    this.#createTables = options.createTables ?? true;
    this.#eventTtlSeconds = options.appliedEventTtlSeconds ?? DEFAULT_APPLIED_EVENT_TTL_SECONDS;
    this.#concurrency = Math.max(1, options.concurrency ?? 16);
    this.#retry = dynamoDbRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry });
    this.#now = options.now ?? Date.now;
  }

  /**
   * Creates the tables when missing (on-demand, waiting until ACTIVE), enables TTL on the state
   * table's `expiresAt`, and writes the `META` item if absent. Idempotent.
   *
   * @example
   * ```ts
   * await store.open();
   * ```
   */
  async open(): Promise<void> {
    if (this.#state === 'closed')
      throw new Error('DynamoDbStateStore: open() after close(); create a new store');
    await Promise.all([
      ensureTable(this.#client, this.tableName, { create: this.#createTables, ttl: true }),
      ensureTable(this.#client, this.auditTableName, { create: this.#createTables, ttl: false }),
    ]);
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...key(META_PK, META_PK),
            clock: attrN(0),
            pending: { M: {} },
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
    } catch (err) {
      if (
        !(err instanceof ConditionalCheckFailedException || isNamed(err, 'ConditionalCheckFailedException'))
      ) {
        throw err;
      }
    }
    this.#state = 'open';
  }

  /**
   * Every series row, value and applied event still in the duplicate window: a consistent Scan of
   * the state table (never the audit table).
   *
   * @example
   * ```ts
   * const { series, values, recentEvents } = await store.load();
   * ```
   */
  async load(): Promise<StoredState> {
    this.#openClient();
    return this.#readConsistently(async () => {
      const items = await scanAll(this.#client, this.tableName, 4);
      const byId = new Map<string, DynamoDbItem>();
      for (const item of items) byId.set(headId(readS(item, 'pk'), readS(item, 'sk')), item);
      const source: PartSource = (pk, sk) => {
        const found = byId.get(headId(pk, sk));
        return found?.d?.B;
      };
      const seriesHeads: DynamoDbItem[] = [];
      const valueHeads: DynamoDbItem[] = [];
      const eventsBySeries = new Map<string, EventItem[]>();
      for (const item of items) {
        const pk = readS(item, 'pk');
        const sk = readS(item, 'sk');
        if (pk.startsWith('S#')) {
          if (sk === SERIES_SK) seriesHeads.push(item);
          else if (sk.startsWith(EVENT_SK_PREFIX)) {
            const list = eventsBySeries.get(pk);
            if (list) list.push(parseEvent(item));
            else eventsBySeries.set(pk, [parseEvent(item)]);
          }
        } else if (pk.startsWith('V#') && sk === VALUE_SK) {
          valueHeads.push(item);
        }
      }
      const series = await mapLimit(seriesHeads, this.#concurrency, async (head) =>
        toSeriesRow(head, await this.#payloadText(this.tableName, head, source)),
      );
      const values = await mapLimit(valueHeads, this.#concurrency, async (head) => ({
        key: readS(head, 'key'),
        value: await this.#payloadText(this.tableName, head, source),
      }));
      const nowSeconds = this.#nowSeconds();
      const recentEvents: AppliedEvent[] = [];
      for (const [pk, events] of eventsBySeries) {
        const head = byId.get(headId(pk, SERIES_SK));
        recentEvents.push(...visibleEvents(events, forgetListOf(head), nowSeconds).events);
      }
      return { series, values, recentEvents };
    });
  }

  /**
   * The rows of these series that exist and their applied events still in the duplicate window: one
   * consistent Query per series (its partition holds both). Deletes, best effort, the items of those
   * partitions no read needs any more (forgotten events, replaced payload parts).
   *
   * @example
   * ```ts
   * const { series, recentEvents } = await store.loadSeries([{ sku: 'SKU-1', warehouse: 'WH-1' }]);
   * ```
   */
  async loadSeries(keys: readonly SeriesKey[]): Promise<StoredSeries> {
    this.#openClient();
    if (keys.length === 0) return { series: [], recentEvents: [] };
    const pks = [...new Set(keys.map((k) => seriesPk(k.sku, k.warehouse)))];
    return this.#readConsistently(async () => {
      const nowSeconds = this.#nowSeconds();
      const garbage: DynamoDbItem[] = [];
      const found = await mapLimit(pks, this.#concurrency, async (pk) => {
        const items = await queryAll(this.#client, {
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':pk': attrS(pk) },
        });
        let head: DynamoDbItem | undefined;
        const parts = new Map<string, DynamoDbItem>();
        const events: EventItem[] = [];
        for (const item of items) {
          const sk = readS(item, 'sk');
          if (sk === SERIES_SK) head = item;
          else if (sk.startsWith(EVENT_SK_PREFIX)) events.push(parseEvent(item));
          else if (sk.startsWith(`${SERIES_SK}#p#`)) parts.set(sk, item);
        }
        const visible = visibleEvents(events, forgetListOf(head), nowSeconds);
        garbage.push(...visible.dead);
        // Parts of payloads older than the row's (replaced, or left by a refused writer).
        const current = head?.pid?.S;
        if (head !== undefined) {
          const ver = padClock(readN(head, 'ver'));
          for (const [sk, part] of parts) {
            const pid = sk.slice(`${SERIES_SK}#p#`.length, -5);
            if (pid !== current && pid < ver) garbage.push(part);
          }
        }
        const row =
          head === undefined
            ? null
            : toSeriesRow(
                head,
                await this.#payloadText(this.tableName, head, (_, sk) => parts.get(sk)?.d?.B),
              );
        return { row, events: visible.events };
      });
      if (garbage.length > 0) {
        const deletes = garbage.map((item) => ({
          DeleteRequest: { Key: key(readS(item, 'pk'), readS(item, 'sk')) },
        }));
        // Best effort: a failed clean-up costs space, never correctness.
        await batchWriteAll(this.#client, this.tableName, deletes, this.#concurrency, this.#retry).catch(
          () => undefined,
        );
      }
      const series: SeriesRow[] = [];
      const recentEvents: AppliedEvent[] = [];
      for (const f of found) {
        if (f.row) series.push(f.row);
        recentEvents.push(...f.events);
      }
      return { series, recentEvents };
    });
  }

  /**
   * The values stored under these keys (absent keys are missing from the result).
   *
   * @example
   * ```ts
   * const [router] = await store.loadValues(['router/shardId-000000000000']);
   * ```
   */
  async loadValues(keys: readonly string[]): Promise<Array<{ key: string; value: string }>> {
    this.#openClient();
    if (keys.length === 0) return [];
    const wanted = [...new Set(keys)].map((k) => key(valuePk(k), VALUE_SK));
    return this.#readConsistently(async () => {
      const heads = await batchGetAll(this.#client, this.tableName, wanted, this.#concurrency, this.#retry);
      return mapLimit(heads, this.#concurrency, async (head) => ({
        key: readS(head, 'key'),
        value: await this.#payloadText(this.tableName, head),
      }));
    });
  }

  /**
   * The shard's last committed checkpoint, or null when it has none (one consistent GetItem).
   *
   * @example
   * ```ts
   * const from = await store.loadCheckpoint('shardId-000000000000');
   * ```
   */
  async loadCheckpoint(shardId: string): Promise<ExtendedSequenceNumber | null> {
    this.#openClient();
    const res = await this.#client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key(CKPT_PK, shardId),
        ConsistentRead: true,
        ProjectionExpression: '#seq, #sub, #tok',
        ExpressionAttributeNames: { '#seq': 'sequenceNumber', '#sub': 'subSequenceNumber', '#tok': 'tok' },
      }),
    );
    return parseCheckpoint(res.Item)?.position ?? null;
  }

  /**
   * Commits a batch: all of it or none of it, checkpoint included (see the module documentation).
   * Rejects with {@link StaleCheckpointError} when `expectedCheckpoint` is not the stored checkpoint
   * (nothing written), with a `TypeError` for an invalid batch (nothing written), with
   * `StoreRefusedError` when DynamoDB refuses a key or item as too large before the commit point
   * (nothing written; see `refused.ts`), and with {@link DynamoDbStoreError} otherwise.
   *
   * @example
   * ```ts
   * await store.commit({ ...batch, expectedCheckpoint: previous });
   * ```
   */
  async commit(batch: BatchCommit): Promise<void> {
    this.#openClient();
    validateBatch(batch);
    const prepared = await prepare(batch);
    const token = randomUUID();
    const where = `DynamoDB state store: commit of ${batch.shardId} at ${showPosition(batch.checkpoint)}`;
    const inline = prepared.gz.byteLength <= LOG_INLINE_MAX;
    const logParts: Uint8Array[] = [];
    if (!inline) {
      for (let at = 0; at < prepared.gz.byteLength; at += PART_BYTES_MAX) {
        logParts.push(prepared.gz.subarray(at, at + PART_BYTES_MAX));
      }
    }

    let point: { kind: 'committed'; clock: number; big: Set<string> } | { kind: 'already' };
    try {
      if (!inline) await this.#writeLog(token, logParts);
      point = await this.#commitPoint(batch, prepared, token, inline ? prepared.gz : null, logParts.length);
    } catch (err) {
      const unknown = err instanceof DynamoDbStoreError && err.outcome === 'unknown';
      if (!inline && !unknown) await this.#deleteLog(token, logParts.length).catch(() => undefined);
      if (err instanceof StaleCheckpointError || err instanceof DynamoDbStoreError) throw err;
      // Before the commit point nothing was written: a key or item DynamoDB refuses is the data's.
      const refused = refusedByDynamoDb(err);
      if (refused) throw refused;
      throw new DynamoDbStoreError(
        `${where} failed before its commit point; nothing was written: ${messageOf(err)}`,
        'not-committed',
        {
          cause: err,
        },
      );
    }
    if (point.kind === 'already') {
      if (!inline) await this.#deleteLog(token, logParts.length).catch(() => undefined);
      return;
    }

    try {
      await this.#apply(prepared.log, point.clock, point.big);
      await this.#clearPending(batch.shardId, token);
    } catch (err) {
      this.#rememberUncertain(token, batch.shardId, prepared.digest);
      throw new DynamoDbStoreError(
        `${where} reached its commit point (the checkpoint moved and the batch is durable), but applying it failed: ${messageOf(err)}. ` +
          'The next read or commit completes it; committing the same batch again returns once it is complete',
        'committed',
        { cause: err },
      );
    }
    if (!inline) await this.#deleteLog(token, logParts.length).catch(() => undefined);
  }

  /**
   * Destroys the client if this store created it. Idempotent; the store cannot be opened again.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#ownsClient) this.#client.destroy();
  }

  /**
   * How many dead letters are stored.
   *
   * @example
   * ```ts
   * if ((await store.countDeadLetters()) > 0) console.warn('some records could not be parsed');
   * ```
   */
  async countDeadLetters(): Promise<number> {
    this.#openClient();
    return this.#readConsistently(async () => {
      const counts = await mapLimit(
        Array.from({ length: AUDIT_BUCKETS }, (_, b) => `DL#${b}`),
        this.#concurrency,
        (pk) =>
          queryCount(this.#client, {
            TableName: this.auditTableName,
            KeyConditionExpression: '#pk = :pk',
            FilterExpression: 'attribute_not_exists(#p)',
            ExpressionAttributeNames: { '#pk': 'pk', '#p': 'p' },
            ExpressionAttributeValues: { ':pk': attrS(pk) },
          }),
      );
      return counts.reduce((a, b) => a + b, 0);
    });
  }

  /**
   * The stored dead letters, by shard and then position in the shard (numeric order of the decimal
   * sequence numbers).
   *
   * @example
   * ```ts
   * for (const d of await store.listDeadLetters({ limit: 10 })) console.log(d.code, d.reason);
   * ```
   */
  async listDeadLetters(options: DynamoDbListOptions = {}): Promise<DeadLetter[]> {
    this.#openClient();
    const letters = await this.#readConsistently(() =>
      this.#readAudit('DL#', (head, payload) => parseDeadLetter(head, payload)),
    );
    letters.sort(
      (a, b) =>
        (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0) ||
        compareDecimal(a.sequenceNumber, b.sequenceNumber) ||
        a.subSequenceNumber - b.subSequenceNumber,
    );
    return ordered(letters, options);
  }

  /**
   * The anomaly log, by detection time (then id).
   *
   * @example
   * ```ts
   * const latest = await store.listAnomalies({ limit: 20, order: 'desc' });
   * ```
   */
  async listAnomalies(options: DynamoDbListOptions = {}): Promise<Anomaly[]> {
    this.#openClient();
    const anomalies = await this.#readConsistently(() =>
      this.#readAudit('A#', (_, payload) => JSON.parse(Buffer.from(payload).toString('utf8')) as Anomaly),
    );
    anomalies.sort((a, b) => a.detectedAt - b.detectedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return ordered(anomalies, options);
  }

  /**
   * The notifications sinks refused for good ("parked"), with their reasons: oldest first (then by
   * receiver and id).
   *
   * @example
   * ```ts
   * for (const u of await store.listUndelivered()) console.log(u.receiver, u.notification.id, u.reason);
   * ```
   */
  async listUndelivered(options: DynamoDbListOptions = {}): Promise<UndeliveredNotification[]> {
    this.#openClient();
    const rows = await this.#readConsistently(() =>
      this.#readAudit('U#', (head, payload) => ({
        createdAt: readN(head, 'createdAt'),
        key: undeliveredSk(readS(head, 'receiver'), readS(head, 'notificationId')),
        notification: parseUndelivered(head, payload),
      })),
    );
    rows.sort((a, b) => a.createdAt - b.createdAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return ordered(
      rows.map((r) => r.notification),
      options,
    );
  }

  /**
   * One series row, or null when the SKU × warehouse has none.
   *
   * @example
   * ```ts
   * const row = await store.getSeries('SKU-1', 'WH-1');
   * ```
   */
  async getSeries(sku: string, warehouse: string): Promise<SeriesRow | null> {
    const { series } = await this.loadSeries([{ sku, warehouse }]);
    return series[0] ?? null;
  }

  // ---- internals: state ---------------------------------------------------------------------------

  #openClient(): DynamoDBClient {
    if (this.#state === 'open') return this.#client;
    throw new Error(
      this.#state === 'new'
        ? 'DynamoDbStateStore: call open() first'
        : 'DynamoDbStateStore: the store is closed',
    );
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #rememberUncertain(token: string, shardId: string, digest: string): void {
    this.#uncertain.set(token, { shardId, digest });
    while (this.#uncertain.size > 64) {
      const oldest = this.#uncertain.keys().next().value as string;
      this.#uncertain.delete(oldest);
    }
  }

  async #readMeta(): Promise<MetaState> {
    const res = await this.#client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key(META_PK, META_PK),
        ConsistentRead: true,
        ProjectionExpression: '#clock, #pending, #big',
        ExpressionAttributeNames: META_NAMES,
      }),
    );
    return parseMeta(res.Item);
  }

  /**
   * Reads with every commit that passed its commit point complete: rolls pending commits forward,
   * reads, and reads again if a commit point passed meanwhile (up to {@link READ_ATTEMPTS} times).
   */
  async #readConsistently<T>(read: (meta: MetaState) => Promise<T>): Promise<T> {
    let result: T | undefined;
    for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
      const meta = await this.#readMeta();
      if (meta.pending.size > 0) {
        await Promise.all([...meta.pending].map(([shard, entry]) => this.#rollForward(shard, entry)));
      }
      result = await read(meta);
      const after = await this.#readMeta();
      if (after.clock === meta.clock) return result;
    }
    return result as T;
  }

  /** Heads (with payload) of the audit table's partitions `<prefix>0..7`. */
  async #readAudit<T>(prefix: string, decode: (head: DynamoDbItem, payload: Uint8Array) => T): Promise<T[]> {
    const buckets = await mapLimit(
      Array.from({ length: AUDIT_BUCKETS }, (_, b) => `${prefix}${b}`),
      this.#concurrency,
      (pk) =>
        queryAll(this.#client, {
          TableName: this.auditTableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':pk': attrS(pk) },
        }),
    );
    const items = buckets.flat();
    const parts = new Map<string, Uint8Array>();
    const heads: DynamoDbItem[] = [];
    for (const item of items) {
      if (item.p !== undefined) parts.set(headId(readS(item, 'pk'), readS(item, 'sk')), readB(item, 'd'));
      else heads.push(item);
    }
    return mapLimit(heads, this.#concurrency, async (head) =>
      decode(
        head,
        await this.#payloadBytes(this.auditTableName, head, (pk, sk) => parts.get(headId(pk, sk))),
      ),
    );
  }

  /** The payload parts of a head: from `source` when it has them, else read. */
  async #parts(
    table: string,
    head: DynamoDbItem,
    ref: PayloadRef,
    source?: PartSource,
  ): Promise<Uint8Array[]> {
    if (ref.kind !== 'parts') return [];
    const pk = readS(head, 'pk');
    const sk = readS(head, 'sk');
    const sks = Array.from({ length: ref.count }, (_, i) => partSk(sk, ref.pid, i));
    const found = new Map<string, Uint8Array>();
    const missing: DynamoDbItem[] = [];
    for (const partKey of sks) {
      const bytes = source?.(pk, partKey);
      if (bytes) found.set(partKey, bytes);
      else missing.push(key(pk, partKey));
    }
    if (missing.length > 0) {
      for (const item of await batchGetAll(this.#client, table, missing, this.#concurrency, this.#retry)) {
        found.set(readS(item, 'sk'), readB(item, 'd'));
      }
    }
    return sks.map((partKey) => {
      const bytes = found.get(partKey);
      if (!bytes) throw new Error(`DynamoDB state store: ${pk} / ${partKey} is missing`);
      return bytes;
    });
  }

  async #payloadText(table: string, head: DynamoDbItem, source?: PartSource): Promise<string> {
    const ref = payloadRef(head);
    return payloadText(ref, await this.#parts(table, head, ref, source));
  }

  async #payloadBytes(table: string, head: DynamoDbItem, source?: PartSource): Promise<Uint8Array> {
    const ref = payloadRef(head);
    return payloadBytes(ref, await this.#parts(table, head, ref, source));
  }

  // ---- internals: commits -------------------------------------------------------------------------

  async #writeLog(token: string, parts: readonly Uint8Array[]): Promise<void> {
    const expiresAt = attrN(this.#nowSeconds() + 7 * 86_400);
    await batchWriteAll(
      this.#client,
      this.tableName,
      parts.map((d, i) => ({
        PutRequest: { Item: { ...key(logPk(token), logSk(i)), d: attrB(d), [TTL_ATTRIBUTE]: expiresAt } },
      })),
      this.#concurrency,
      this.#retry,
    );
  }

  async #deleteLog(token: string, count: number): Promise<void> {
    await batchWriteAll(
      this.#client,
      this.tableName,
      Array.from({ length: count }, (_, i) => ({ DeleteRequest: { Key: key(logPk(token), logSk(i)) } })),
      this.#concurrency,
      this.#retry,
    );
  }

  async #readCheckpointAndMeta(shardId: string): Promise<{ ckpt: CheckpointState | null; meta: MetaState }> {
    const items = await batchGetAll(
      this.#client,
      this.tableName,
      [key(CKPT_PK, shardId), key(META_PK, META_PK)],
      1,
      this.#retry,
      {
        expression: '#pk, #sk, #seq, #sub, #tok, #clock, #pending, #big',
        names: {
          '#pk': 'pk',
          '#sk': 'sk',
          '#seq': 'sequenceNumber',
          '#sub': 'subSequenceNumber',
          '#tok': 'tok',
          ...META_NAMES,
        },
      },
    );
    const find = (pk: string) => items.find((item) => item.pk?.S === pk);
    return { ckpt: parseCheckpoint(find(CKPT_PK)), meta: parseMeta(find(META_PK)) };
  }

  /**
   * The commit point: moves the checkpoint and takes the next clock in one transaction, after
   * completing the shard's previous commit if it is still pending. Retries while other commits move
   * the clock; throws {@link StaleCheckpointError} when fencing refuses.
   */
  async #commitPoint(
    batch: BatchCommit,
    prepared: PreparedBatch,
    token: string,
    inlineLog: Uint8Array | null,
    logParts: number,
  ): Promise<{ kind: 'committed'; clock: number; big: Set<string> } | { kind: 'already' }> {
    const shardId = batch.shardId;
    const where = `DynamoDB state store: commit of ${shardId} at ${showPosition(batch.checkpoint)}`;
    for (let attempt = 1; attempt <= COMMIT_POINT_ATTEMPTS; attempt++) {
      const { ckpt, meta } = await this.#readCheckpointAndMeta(shardId);
      const pendingHere = meta.pending.get(shardId);
      if (pendingHere) {
        await this.#rollForward(shardId, pendingHere);
        continue;
      }
      if (ckpt) {
        // An earlier call of this store committed this very batch but could not say so.
        const earlier = this.#uncertain.get(ckpt.token);
        if (earlier && earlier.shardId === shardId && earlier.digest === prepared.digest) {
          this.#uncertain.delete(ckpt.token);
          return { kind: 'already' };
        }
      }
      const actual = ckpt?.position ?? null;
      if (batch.expectedCheckpoint !== undefined && !samePosition(actual, batch.expectedCheckpoint)) {
        throw new StaleCheckpointError(shardId, batch.expectedCheckpoint, actual);
      }
      const clock = meta.clock + 1;
      const newBig = prepared.bigHeads.filter((id) => !meta.big.has(id));
      const ckptValues: Record<string, AttributeValue> = {
        ':seq': attrS(batch.checkpoint.sequenceNumber),
        ':sub': attrN(batch.checkpoint.subSequenceNumber),
        ':tok': attrS(token),
        ':clock': attrN(clock),
        ':now': attrN(this.#now()),
        ...(inlineLog ? { ':log': attrB(inlineLog) } : { ':np': attrN(logParts) }),
        ...(ckpt ? { ':oldTok': attrS(ckpt.token) } : {}),
      };
      const items: TransactWriteItem[] = [
        {
          Update: {
            TableName: this.tableName,
            Key: key(CKPT_PK, shardId),
            UpdateExpression:
              'SET #seq = :seq, #sub = :sub, #tok = :tok, #clock = :clock, #at = :now, ' +
              (inlineLog ? '#log = :log REMOVE #np' : '#np = :np REMOVE #log'),
            ConditionExpression: ckpt ? '#tok = :oldTok' : 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: {
              '#seq': 'sequenceNumber',
              '#sub': 'subSequenceNumber',
              '#tok': 'tok',
              '#clock': 'clock',
              '#at': 'updatedAt',
              '#log': 'log',
              '#np': 'np',
              ...(ckpt ? {} : { '#pk': 'pk' }),
            },
            ExpressionAttributeValues: ckptValues,
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: key(META_PK, META_PK),
            UpdateExpression: `SET #clock = :clock, #pending.#shard = :pending${newBig.length > 0 ? ' ADD #big :big' : ''}`,
            ConditionExpression: '#clock = :oldClock',
            ExpressionAttributeNames: {
              '#clock': 'clock',
              '#pending': 'pending',
              '#shard': shardId,
              ...(newBig.length > 0 ? { '#big': 'big' } : {}),
            },
            ExpressionAttributeValues: {
              ':clock': attrN(clock),
              ':oldClock': attrN(meta.clock),
              ':pending': { M: { tok: attrS(token), clock: attrN(clock) } },
              ...(newBig.length > 0 ? { ':big': { SS: newBig } } : {}),
            },
          },
        },
      ];
      let reasons: CancellationReason[] | null;
      try {
        // A fresh request token per try: the SDK's own retries of this try reuse it, so a lost
        // response cannot commit twice.
        reasons = await transactWrite(this.#client, items, randomUUID());
      } catch (err) {
        // Refused before executing anything: the outcome is known (nothing was written).
        const refused = refusedByDynamoDb(err);
        if (refused) throw refused;
        this.#rememberUncertain(token, shardId, prepared.digest);
        throw new DynamoDbStoreError(
          `${where}: the outcome of its commit point is unknown (${messageOf(err)}); ` +
            'committing the same batch again completes it or finds it done',
          'unknown',
          { cause: err },
        );
      }
      if (reasons === null) return { kind: 'committed', clock, big: new Set([...meta.big, ...newBig]) };
      // A request DynamoDB refuses is refused again: not a conflict to wait out.
      const invalid = reasons.find((r) => r.code === 'ValidationError');
      if (invalid) {
        const why = { name: 'ValidationError', message: invalid.message ?? 'ValidationError' };
        throw (
          refusedByDynamoDb(why) ?? new Error(`${where}: DynamoDB refused the commit point: ${why.message}`)
        );
      }
      // The checkpoint moved (read again: fencing decides) or the clock moved (another shard committed).
      if (reasons[0]?.code !== 'ConditionalCheckFailed') await backOff(COMMIT_POINT_POLICY, attempt);
    }
    throw new DynamoDbStoreError(
      `${where} failed: other commits kept moving the commit clock through ${COMMIT_POINT_ATTEMPTS} tries; nothing was written`,
      'not-committed',
    );
  }

  /** Completes a commit that passed its commit point, from its log (idempotent; anyone may). */
  async #rollForward(shardId: string, pending: PendingCommit): Promise<void> {
    const res = await this.#client.send(
      new GetItemCommand({ TableName: this.tableName, Key: key(CKPT_PK, shardId), ConsistentRead: true }),
    );
    const ckpt = res.Item;
    const stillPending = async (): Promise<boolean> =>
      (await this.#readMeta()).pending.get(shardId)?.token === pending.token;
    if (ckpt === undefined || ckpt.tok?.S !== pending.token) {
      if (!(await stillPending())) return;
      throw new Error(
        `DynamoDB state store: commit ${pending.token} of ${shardId} is pending, but the checkpoint item does not hold it`,
      );
    }
    let gz: Uint8Array;
    const parts = ckpt.np?.N === undefined ? 0 : readN(ckpt, 'np');
    if (ckpt.log?.B !== undefined) {
      gz = readB(ckpt, 'log');
    } else {
      const keys = Array.from({ length: parts }, (_, i) => key(logPk(pending.token), logSk(i)));
      const items = await batchGetAll(this.#client, this.tableName, keys, this.#concurrency, this.#retry);
      if (items.length !== parts) {
        // Another reader completed it and removed its log meanwhile.
        if (!(await stillPending())) return;
        throw new Error(
          `DynamoDB state store: the log of pending commit ${pending.token} of ${shardId} is missing`,
        );
      }
      items.sort((a, b) => (readS(a, 'sk') < readS(b, 'sk') ? -1 : 1));
      gz = Buffer.concat(items.map((item) => readB(item, 'd')));
    }
    const log = await parseLog(gz);
    const meta = await this.#readMeta();
    await this.#apply(log, pending.clock, meta.big);
    await this.#clearPending(shardId, pending.token);
    if (parts > 0) await this.#deleteLog(pending.token, parts).catch(() => undefined);
  }

  async #clearPending(shardId: string, token: string): Promise<void> {
    try {
      await retryConflicts(this.#retry, () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: key(META_PK, META_PK),
            UpdateExpression: 'REMOVE #pending.#shard',
            ConditionExpression: '#pending.#shard.#tok = :tok',
            ExpressionAttributeNames: { '#pending': 'pending', '#shard': shardId, '#tok': 'tok' },
            ExpressionAttributeValues: { ':tok': attrS(token) },
          }),
        ),
      );
    } catch (err) {
      // Someone completed it first.
      if (
        !(err instanceof ConditionalCheckFailedException || isNamed(err, 'ConditionalCheckFailedException'))
      ) {
        throw err;
      }
    }
  }

  /**
   * Writes what a committed log says, at its clock: idempotent, and harmless when late (a newer
   * commit's rows refuse it).
   */
  async #apply(log: LoggedBatch, clock: number, big: ReadonlySet<string>): Promise<void> {
    const now = this.#now();
    const pid = padClock(clock);
    const ver = attrN(clock);
    const updatedAt = attrN(now);

    const mutable: HeadWrite[] = [];
    for (const s of log.series) {
      const pk = seriesPk(s.sku, s.warehouse);
      const payload = await encodePayload(s.model, pid);
      mutable.push({
        id: headId(pk, SERIES_SK),
        item: {
          ...key(pk, SERIES_SK),
          sku: attrS(s.sku),
          warehouse: attrS(s.warehouse),
          onHand: attrN(s.onHand),
          reserved: attrN(s.reserved),
          inbound: attrN(s.inbound),
          lastCountQuantity: attrNullableN(s.lastCountQuantity),
          lastCountAt: attrNullableN(s.lastCountAt),
          salesVelocity: attrN(s.salesVelocity),
          lastEventAt: attrN(s.lastEventAt),
          ver,
          updatedAt,
          ...payload.attrs,
        },
        parts: partItems(pk, SERIES_SK, pid, payload.parts),
        pid: payload.parts.length > 0 ? pid : null,
        kind: 'series',
        ...(log.forgetEventsBefore === null ? {} : { forget: log.forgetEventsBefore }),
      });
    }
    for (const v of log.values) {
      const pk = valuePk(v.key);
      const payload = await encodePayload(v.value, pid);
      mutable.push({
        id: headId(pk, VALUE_SK),
        item: { ...key(pk, VALUE_SK), key: attrS(v.key), ver, updatedAt, ...payload.attrs },
        parts: partItems(pk, VALUE_SK, pid, payload.parts),
        pid: payload.parts.length > 0 ? pid : null,
        kind: 'value',
      });
    }
    const expiresAtFloor = Math.ceil(now / 1000) + this.#eventTtlSeconds;
    const events: DynamoDbItem[] = log.events.map((e) => ({
      ...key(seriesPk(e.sku, e.warehouse), eventSk(e.eventId, clock)),
      eventId: attrS(e.eventId),
      occurredAt: attrN(e.occurredAt),
      sku: attrS(e.sku),
      warehouse: attrS(e.warehouse),
      ins: ver,
      [TTL_ATTRIBUTE]: attrN(
        Math.max(expiresAtFloor, Math.ceil(e.occurredAt / 1000) + this.#eventTtlSeconds),
      ),
    }));
    const immutable: HeadWrite[] = [];
    for (const d of log.deadLetters) {
      const pk = deadLetterPk(d.shardId);
      const sk = deadLetterSk(d);
      const bytes = deadLetterPayload(d);
      const contentId = sha256Hex(bytes).slice(0, 16);
      const payload = await encodePayload(bytes, contentId);
      immutable.push({
        id: headId(pk, sk),
        item: {
          ...key(pk, sk),
          shardId: attrS(d.shardId),
          sequenceNumber: attrS(d.sequenceNumber),
          subSequenceNumber: attrN(d.subSequenceNumber),
          code: attrS(d.code),
          arrivalTimestamp: attrN(d.arrivalTimestamp),
          disposition: attrS(d.disposition ?? 'dead_letter'),
          createdAt: updatedAt,
          ...payload.attrs,
        },
        parts: partItems(pk, sk, contentId, payload.parts),
        pid: payload.parts.length > 0 ? contentId : null,
      });
    }
    for (const a of log.anomalies) {
      const pk = anomalyPk(a.id);
      const sk = keyPart(a.id);
      const json = JSON.stringify(a);
      const contentId = sha256Hex(json).slice(0, 16);
      const payload = await encodePayload(json, contentId);
      immutable.push({
        id: headId(pk, sk),
        item: {
          ...key(pk, sk),
          id: attrS(a.id),
          type: attrS(a.type),
          severity: attrS(a.severity),
          score: attrN(a.score),
          sku: attrS(a.sku),
          warehouse: attrS(a.warehouse),
          detectedAt: attrN(a.detectedAt),
          detector: attrS(a.detector),
          createdAt: updatedAt,
          ...payload.attrs,
        },
        parts: partItems(pk, sk, contentId, payload.parts),
        pid: payload.parts.length > 0 ? contentId : null,
      });
    }

    for (const u of log.undelivered ?? []) {
      const pk = undeliveredPk(u.notification.id);
      const sk = undeliveredSk(u.receiver, u.notification.id);
      const json = JSON.stringify({ reason: u.reason, notification: u.notification });
      const contentId = sha256Hex(json).slice(0, 16);
      const payload = await encodePayload(json, contentId);
      immutable.push({
        id: headId(pk, sk),
        item: {
          ...key(pk, sk),
          receiver: attrS(u.receiver),
          notificationId: attrS(u.notification.id),
          shardId: attrS(u.shardId),
          createdAt: updatedAt,
          ...payload.attrs,
        },
        parts: partItems(pk, sk, contentId, payload.parts),
        pid: payload.parts.length > 0 ? contentId : null,
      });
    }

    // Payload parts first (nothing refers to them yet), then the heads that refer to them, alongside
    // the events.
    const put = (Item: DynamoDbItem): WriteRequest => ({ PutRequest: { Item } });
    await Promise.all([
      batchWriteAll(
        this.#client,
        this.tableName,
        mutable.flatMap((h) => h.parts).map(put),
        this.#concurrency,
        this.#retry,
      ),
      batchWriteAll(
        this.#client,
        this.auditTableName,
        immutable.flatMap((h) => h.parts).map(put),
        this.#concurrency,
        this.#retry,
      ),
    ]);
    const [refused] = await Promise.all([
      this.#writeRows(mutable, clock),
      mapLimit(immutable, this.#concurrency, (h) => this.#putIfAbsent(h)),
      batchWriteAll(this.#client, this.tableName, events.map(put), this.#concurrency, this.#retry),
    ]);
    const refusedIds = new Set(refused.map((h) => h.id));
    const cleanups: WriteRequest[] = [];
    // A refused row leaves its parts unreferenced: remove them.
    for (const h of refused) {
      for (const part of h.parts)
        cleanups.push({ DeleteRequest: { Key: key(readS(part, 'pk'), readS(part, 'sk')) } });
    }
    // Rows that may have had parts before: remove the parts of their older payloads.
    const replaced = mutable.filter((h) => big.has(h.id) && !refusedIds.has(h.id));
    const stale = await mapLimit(replaced, this.#concurrency, async (h) => {
      const pk = readS(h.item, 'pk');
      const sk = readS(h.item, 'sk');
      return queryAll(this.#client, {
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
        ProjectionExpression: '#pk, #sk',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: {
          ':pk': attrS(pk),
          ':lo': attrS(`${sk}#p#`),
          ':hi': attrS(`${sk}#p#${padClock(clock - 1)}#9999`),
        },
      });
    });
    for (const item of stale.flat()) {
      cleanups.push({ DeleteRequest: { Key: key(readS(item, 'pk'), readS(item, 'sk')) } });
    }
    await batchWriteAll(this.#client, this.tableName, cleanups, this.#concurrency, this.#retry);
  }

  /**
   * Writes rows in transactions of ≤ 100, each on condition that no newer commit wrote it; returns
   * the refused ones. A transaction cancelled by a refused row is retried without it; a series row
   * whose stored forget list is later than this batch's forget is written alone, its list merged.
   */
  async #writeRows(heads: readonly HeadWrite[], clock: number): Promise<HeadWrite[]> {
    const refused: HeadWrite[] = [];
    const merges: HeadWrite[] = [];
    const chunks = chunkBySize(heads, 100, TRANSACTION_BYTES, (h) => itemBytes(h.item));
    await mapLimit(chunks, this.#concurrency, async (chunk) => {
      let remaining = chunk;
      for (let attempt = 1; remaining.length > 0; attempt++) {
        const reasons = await transactWrite(
          this.#client,
          remaining.map((h) => rowWrite(this.tableName, h, clock)),
        );
        if (reasons === null) return;
        const fatal = reasons.filter(
          (r) => r.code !== 'ConditionalCheckFailed' && !RETRYABLE_CODES.has(r.code),
        );
        if (fatal.length > 0) {
          throw new Error(
            `DynamoDB refused a row write: ${[...new Set(fatal.map((r) => r.code))].join(', ')}`,
          );
        }
        const failed = new Set<number>();
        reasons.forEach((r, i) => {
          if (r.code !== 'ConditionalCheckFailed') return;
          failed.add(i);
          const h = remaining[i] as HeadWrite;
          const storedVer = r.item?.ver?.N === undefined ? null : Number(r.item.ver.N);
          // Written by a newer commit: refused. Otherwise only the forget list stood in the way.
          if (storedVer !== null && storedVer > clock) refused.push(h);
          else merges.push(h);
        });
        if (failed.size > 0) {
          remaining = remaining.filter((_, i) => !failed.has(i));
          continue;
        }
        if (attempt >= this.#retry.maxAttempts) {
          throw new DynamoDbUnprocessedError(
            `DynamoDB kept cancelling a transaction of ${remaining.length} row writes (${[...new Set(reasons.map((r) => r.code))].join(', ')}) through ${attempt} tries`,
          );
        }
        await backOff(this.#retry, attempt);
      }
    });
    await mapLimit(merges, this.#concurrency, async (h) => {
      if (!(await this.#mergeForgetWrite(h, clock))) refused.push(h);
    });
    // A newer commit wrote these rows first (another shard's, after a reshard): this commit's forget
    // still happened before it, so it joins the row's forget list.
    await mapLimit(
      refused.filter((h) => h.forget !== undefined),
      this.#concurrency,
      (h) => this.#mergeForgetOnly(h, clock),
    );
    return refused;
  }

  /** A series row's version and forget list, read consistently (undefined when there is no row). */
  async #readVersionAndForgets(pk: string, sk: string): Promise<Record<string, AttributeValue> | undefined> {
    const res = await this.#client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key(pk, sk),
        ConsistentRead: true,
        ProjectionExpression: '#ver, #fl',
        ExpressionAttributeNames: { '#ver': 'ver', '#fl': 'fl' },
      }),
    );
    return res.Item;
  }

  /** Merges this commit's forget into the list of a row a newer commit wrote. */
  async #mergeForgetOnly(h: HeadWrite, clock: number): Promise<void> {
    const pk = readS(h.item, 'pk');
    const sk = readS(h.item, 'sk');
    for (let attempt = 1; ; attempt++) {
      const item = await this.#readVersionAndForgets(pk, sk);
      const readVer = item?.ver;
      if (readVer?.N === undefined) return;
      const stored = forgetListOf(item);
      const list = mergeForget(stored, clock, h.forget as number);
      if (JSON.stringify(list) === JSON.stringify(stored)) return;
      try {
        await retryConflicts(this.#retry, () =>
          this.#client.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: key(pk, sk),
              UpdateExpression: 'SET #fl = :fl, #fbMax = :fbMax',
              ConditionExpression: '#ver = :readVer',
              ExpressionAttributeNames: { '#fl': 'fl', '#fbMax': 'fbMax', '#ver': 'ver' },
              ExpressionAttributeValues: {
                ':fl': attrS(JSON.stringify(list)),
                ':fbMax': attrN((list[0] as [number, number])[1]),
                ':readVer': readVer,
              },
            }),
          ),
        );
        return;
      } catch (err) {
        if (
          !(err instanceof ConditionalCheckFailedException || isNamed(err, 'ConditionalCheckFailedException'))
        ) {
          throw err;
        }
        if (attempt >= this.#retry.maxAttempts) {
          throw new DynamoDbUnprocessedError(`the row ${pk} kept changing while its forget list was merged`);
        }
      }
    }
  }

  /**
   * Writes a series row whose stored forget list holds a later forget than this batch's: reads it,
   * merges the lists, writes on condition that it did not change meanwhile. False when a newer
   * commit wrote the row (refused).
   */
  async #mergeForgetWrite(h: HeadWrite, clock: number): Promise<boolean> {
    const pk = readS(h.item, 'pk');
    const sk = readS(h.item, 'sk');
    for (let attempt = 1; ; attempt++) {
      const item = await this.#readVersionAndForgets(pk, sk);
      const readVer = item?.ver?.N === undefined ? null : Number(item.ver.N);
      if (readVer !== null && readVer > clock) return false;
      const list = mergeForget(forgetListOf(item), clock, h.forget as number);
      const reasons = await transactWrite(this.#client, [
        rowWrite(this.tableName, h, clock, { list, readVer }),
      ]);
      if (reasons === null) return true;
      const code = reasons[0]?.code ?? 'Unknown';
      if (code !== 'ConditionalCheckFailed' && !RETRYABLE_CODES.has(code)) {
        throw new Error(`DynamoDB refused a row write: ${code}`);
      }
      if (attempt >= this.#retry.maxAttempts) {
        throw new DynamoDbUnprocessedError(`the row ${pk} kept changing while its forget list was merged`);
      }
      if (code !== 'ConditionalCheckFailed') await backOff(this.#retry, attempt);
    }
  }

  /** Inserts a dead letter, anomaly or undelivered notification unless its key is stored (the first wins). */
  async #putIfAbsent(head: HeadWrite): Promise<void> {
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.auditTableName,
          Item: head.item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (err) {
      if (
        !(err instanceof ConditionalCheckFailedException || isNamed(err, 'ConditionalCheckFailedException'))
      ) {
        throw err;
      }
      // Stored already. Parts written for other content than the stored one are nobody's: remove them.
      const stored = (err as ConditionalCheckFailedException).Item;
      if (head.pid !== null && stored?.pid?.S !== head.pid) {
        await batchWriteAll(
          this.#client,
          this.auditTableName,
          head.parts.map((part) => ({ DeleteRequest: { Key: key(readS(part, 'pk'), readS(part, 'sk')) } })),
          this.#concurrency,
          this.#retry,
        );
      }
    }
  }
}

function ordered<T>(rows: T[], options: DynamoDbListOptions): T[] {
  if (options.order === 'desc') rows.reverse();
  return options.limit === undefined ? rows : rows.slice(0, options.limit);
}

/**
 * Creates a {@link DynamoDbStateStore} (unopened).
 *
 * @example
 * ```ts
 * const store = createDynamoDbStore({ tableName: 'shelfwatch-state' });
 * await store.open();
 * ```
 */
export function createDynamoDbStore(options: DynamoDbStateStoreOptions = {}): DynamoDbStateStore {
  return new DynamoDbStateStore(options);
}
