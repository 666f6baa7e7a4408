/**
 * Puts raw inventory records on a Kinesis stream with PutRecords: calls within the service's limits,
 * rejected records retried with back-off without ever overtaking each other within a partition key,
 * and optional KPL aggregation. The partition key is SKU × warehouse, so one item's events stay in order
 * on one shard. For demos and load tests (`shelfwatch replay --to kinesis`).
 */

import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import * as kpl from 'aws-kinesis-agg';
import { RetryPolicy } from '../../pipeline/retry.js';
import { partitionKeysOf } from './partition.js';

/**
 * PutRecords limit: records per call.
 *
 * @example
 * ```ts
 * planPutCalls(records).every((call) => call.length <= PUT_RECORDS_MAX_COUNT); // true
 * ```
 */
export const PUT_RECORDS_MAX_COUNT = 500;
/**
 * PutRecords limit: bytes per call (data + partition keys); kinesalite answers HTTP 413 above it.
 *
 * @example
 * ```ts
 * const fits = bytes + record.data.length + Buffer.byteLength(record.partitionKey) <= PUT_RECORDS_MAX_BYTES;
 * ```
 */
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;
/**
 * Kinesis limit: bytes per record (data + partition key).
 *
 * @example
 * ```ts
 * if (line.length > RECORD_MAX_BYTES) console.warn('too large for Kinesis');
 * ```
 */
export const RECORD_MAX_BYTES = 1024 * 1024;

/**
 * One record to put: its partition key and its bytes.
 *
 * @example
 * ```ts
 * const r: ProducerRecord = { partitionKey: 'SKU-1|WH-EAST', data: Buffer.from(line) };
 * ```
 */
export interface ProducerRecord {
  partitionKey: string;
  data: Uint8Array;
}

/**
 * Some records could not be put after every retry (or are too large for Kinesis at all). `failed`
 * counts the records given up on; `sent` the records Kinesis had accepted before the producer stopped.
 *
 * @example
 * ```ts
 * try {
 *   await putRecords(kinesis, records, { streamName: 'inventory' });
 * } catch (err) {
 *   if (err instanceof KinesisPutError) console.error(`${err.sent} put, ${err.failed} rejected`);
 * }
 * ```
 */
export class KinesisPutError extends Error {
  override readonly name = 'KinesisPutError';
  constructor(
    message: string,
    readonly failed: number,
    readonly sent = 0,
  ) {
    super(message);
  }
}

/**
 * The first partition key of a raw record (see {@link partitionKeysOf}, which gives one per series:
 * put a record of several series once per key).
 *
 * @example
 * ```ts
 * partitionKeyOf('{"LOG_ID":"WMS-1","TXN":"CC","ITEM_NO":"SKU-1","LOC":"WH-EAST"}'); // 'SKU-1|WH-EAST'
 * ```
 */
export function partitionKeyOf(line: string): string {
  return partitionKeysOf(line)[0] ?? 'unparsed';
}

/** What PutRecords counts against its limits for one record: the data and the partition key. */
function sizeOf(r: ProducerRecord): number {
  return r.data.length + Buffer.byteLength(r.partitionKey);
}

/** A record waiting to be put: its position in the input (the order to keep), size and rejections. */
interface Pending {
  record: ProducerRecord;
  index: number;
  size: number;
  rejections: number;
}

/** The records of one partition key still to put, oldest first. */
interface KeyQueue {
  items: Pending[];
  head: number;
}

/**
 * The records still to put, per partition key in input order, handing out one PutRecords call at a
 * time. A call holds at most one record per key, the oldest not yet accepted: Kinesis may reject any
 * record of a call and accept the others, so two records of one key in one call could end up stored
 * in the wrong order once the rejected one is retried. With one per key, a rejected record stays the
 * head of its key and goes (again) before that key's next record, in the next call. Keys are served
 * oldest head first, so a key with a long backlog does not starve the others, and every call fills
 * up with the heads of other keys.
 */
class PutQueue {
  /** Min-heap of the keys that have records left, by the input index of their head. */
  private readonly heap: KeyQueue[] = [];
  private remaining = 0;

  constructor(records: readonly ProducerRecord[]) {
    const byKey = new Map<string, KeyQueue>();
    records.forEach((record, index) => {
      const size = sizeOf(record);
      if (size > RECORD_MAX_BYTES) {
        throw new KinesisPutError(
          `a record of ${size} bytes exceeds Kinesis's 1 MiB limit (key ${record.partitionKey})`,
          1,
        );
      }
      let q = byKey.get(record.partitionKey);
      if (!q) {
        q = { items: [], head: 0 };
        byKey.set(record.partitionKey, q);
      }
      q.items.push({ record, index, size, rejections: 0 });
    });
    for (const q of byKey.values()) this.push(q);
    this.remaining = records.length;
  }

  /** Records not yet accepted. */
  get size(): number {
    return this.remaining;
  }

  /**
   * The next call: the oldest head of each key, oldest first, within 500 records and 5 MiB. A head too
   * large for what is left of the call waits for the next one while smaller heads of other keys fill
   * it; after as many such misses as a call holds records, the call is sent as it is (bounding the
   * work per call when most records are large).
   */
  next(): Array<{ queue: KeyQueue; pending: Pending }> {
    const call: Array<{ queue: KeyQueue; pending: Pending }> = [];
    const skipped: KeyQueue[] = [];
    let bytes = 0;
    while (call.length < PUT_RECORDS_MAX_COUNT && skipped.length < PUT_RECORDS_MAX_COUNT) {
      const queue = this.pop();
      if (!queue) break;
      const pending = queue.items[queue.head];
      if (bytes + pending.size > PUT_RECORDS_MAX_BYTES) {
        skipped.push(queue);
        continue;
      }
      call.push({ queue, pending });
      bytes += pending.size;
    }
    for (const q of skipped) this.push(q);
    return call;
  }

  /** Settles one entry of the last call: an accepted record leaves, a rejected one stays its key's head. */
  settle(queue: KeyQueue, accepted: boolean): void {
    if (accepted) {
      queue.head++;
      this.remaining--;
    }
    if (queue.head < queue.items.length) this.push(queue);
  }

  private headIndex(q: KeyQueue): number {
    return q.items[q.head].index;
  }

  private push(q: KeyQueue): void {
    const h = this.heap;
    let i = h.push(q) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.headIndex(h[p]) <= this.headIndex(h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop(): KeyQueue | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let s = i;
        if (l < h.length && this.headIndex(h[l]) < this.headIndex(h[s])) s = l;
        if (r < h.length && this.headIndex(h[r]) < this.headIndex(h[s])) s = r;
        if (s === i) break;
        [h[s], h[i]] = [h[i], h[s]];
        i = s;
      }
    }
    return top;
  }
}

/**
 * The PutRecords calls {@link putRecords} makes when Kinesis accepts everything: at most 500 records,
 * 5 MiB and one record per partition key per call; a key's k-th record goes in a later call than its
 * (k−1)-th, other keys fill the rest of each call. Throws a {@link KinesisPutError} for a record over 1 MiB.
 *
 * @example
 * ```ts
 * const k = (partitionKey: string) => ({ partitionKey, data: Buffer.from('x') });
 * planPutCalls([k('a'), k('a'), k('b')]).map((call) => call.map((r) => r.partitionKey));
 * // [['a', 'b'], ['a']]
 * ```
 */
export function planPutCalls(records: readonly ProducerRecord[]): ProducerRecord[][] {
  const queue = new PutQueue(records);
  const calls: ProducerRecord[][] = [];
  while (queue.size > 0) {
    const call = queue.next();
    calls.push(call.map((c) => c.pending.record));
    for (const c of call) queue.settle(c.queue, true);
  }
  return calls;
}

/**
 * Options of {@link putRecords}.
 *
 * @example
 * ```ts
 * const options: PutOptions = { streamName: 'inventory', maxRetries: 8 };
 * ```
 */
export interface PutOptions {
  streamName: string;
  /** How often one record may be rejected (throttled or failed) and retried before giving up. Default 8. */
  maxRetries?: number;
  /**
   * Back-off after the n-th call in a row with rejections: full jitter below `baseDelayMs · 2^n` (the
   * pipeline's `RetryPolicy`), at most `maxDelayMs`. Defaults 100 ms and 5 s.
   */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Waits `ms`; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * Puts records, one PutRecords call at a time, retrying the ones Kinesis rejects until none is left.
 * The records of one partition key are stored in the order given, whatever Kinesis rejects: a call
 * holds at most one record per key (see {@link planPutCalls}), and a rejected record is retried
 * before its key's next record is sent. A call that fails as a whole (network, HTTP 413) rejects.
 *
 * Resolves with how many records were sent and how many re-sends the rejections took; rejects with a
 * {@link KinesisPutError} when a record is still rejected after `maxRetries` retries (nothing of its
 * key after it has been sent then).
 *
 * @example
 * ```ts
 * await putRecords(kinesis, records, { streamName: 'inventory' });
 * ```
 */
export async function putRecords(
  client: Pick<KinesisClient, 'send'>,
  records: readonly ProducerRecord[],
  options: PutOptions,
): Promise<{ sent: number; retried: number }> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const backoff = new RetryPolicy({
    // A base above the cap waits the cap from the first call on, as the cap bounds every wait anyway.
    baseDelayMs: Math.min(options.baseDelayMs ?? 100, maxDelayMs),
    maxDelayMs,
    ...(options.random ? { random: options.random } : {}),
  });
  const maxRetries = options.maxRetries ?? 8;
  const queue = new PutQueue(records);
  let sent = 0;
  let retried = 0;
  // Consecutive calls with rejections: the back-off grows while the stream keeps pushing back.
  let pushedBack = 0;
  while (queue.size > 0) {
    // The wait after n pushed-back calls is below base · 2^n: the policy's wait before retry n + 1.
    if (pushedBack > 0) await sleep(backoff.delayBefore(pushedBack + 1));
    const call = queue.next();
    const res = await client.send(
      new PutRecordsCommand({
        StreamName: options.streamName,
        Records: call.map((c) => ({
          PartitionKey: c.pending.record.partitionKey,
          Data: c.pending.record.data,
        })),
      }),
    );
    const results = res.Records ?? [];
    let rejected = 0;
    let givenUp = 0;
    for (const [i, c] of call.entries()) {
      // A result without an ErrorCode was stored; anything else (or a missing result) goes round again.
      const ok = results[i] !== undefined && results[i].ErrorCode === undefined;
      if (ok) sent++;
      else {
        rejected++;
        c.pending.rejections++;
        if (c.pending.rejections > maxRetries) givenUp++;
      }
      queue.settle(c.queue, ok);
    }
    if (givenUp > 0) {
      throw new KinesisPutError(
        `${givenUp} records still rejected after ${maxRetries} retries (${sent} put, ${queue.size} not put)`,
        queue.size,
        sent,
      );
    }
    retried += rejected;
    pushedBack = rejected > 0 ? pushedBack + 1 : 0;
  }
  return { sent, retried };
}

/**
 * Limits of one KPL aggregate built by {@link aggregateByKey}.
 *
 * @example
 * ```ts
 * aggregateByKey(records, { maxBytes: 25_000, maxRecords: 500 });
 * ```
 */
export interface AggregateOptions {
  /** Bytes of one aggregate (protobuf, magic and checksum). Default 25,000: one 25 KB PUT payload unit. */
  maxBytes?: number;
  /** User records in one aggregate. Default 500. */
  maxRecords?: number;
}

/** The KPL magic prefix: a lone record that starts with it must be wrapped, or readers would parse it. */
const KPL_MAGIC = [0xf3, 0x89, 0x9a, 0xc2] as const;
/** What an aggregate adds around its protobuf: the magic (4 bytes) and the MD5 checksum (16). */
const KPL_FRAME_BYTES = 20;

/**
 * The part of `aws-kinesis-agg`'s `RecordAggregator` used here, typed as it behaves at run time (the
 * package's type file does not declare the class). `build()` is synchronous: unlike `aggregate()`, no
 * callback and no queue, and exactly the records added go into one aggregate.
 */
interface LibRecordAggregator {
  calculateUserRecordSize(record: { partitionKey: string; data: Buffer }): number;
  addUserRecord(record: { partitionKey: string; data: Buffer }): void;
  build(): { partitionKey: string; data: Buffer } | undefined;
  length(): number;
  totalBytes: number;
}
// The namespace import reaches the class the package exports at run time but does not declare.
const { RecordAggregator } = kpl as unknown as { RecordAggregator: new () => LibRecordAggregator };

function hasKplMagic(data: Uint8Array): boolean {
  return KPL_MAGIC.every((b, i) => data[i] === b);
}

const asBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * KPL aggregation: packs user records into fewer Kinesis records (up to `maxBytes` / `maxRecords`
 * each), which a KCL consumer or `deaggregate` in `pipeline/decode.ts` unpacks with sub-sequence
 * numbers. Each aggregate holds the records of ONE partition key, in input order, under that key:
 *
 * - the aggregate is routed by its outer key, so every sub-record lands on the shard its own key maps
 *   to, and one item's records stay together and in order;
 * - `aws-kinesis-agg` 4.2.8 builds the partition-key table from `Object.keys` of an object, which lists
 *   integer-like keys ("7", "42") first in numeric order: with several keys in one aggregate, the
 *   sub-records' key indexes can point at the wrong key. With one key the table has one entry, so the
 *   bug cannot bite.
 *
 * A key with a single record in `records` is passed through as it is (aggregating one record only adds
 * bytes), unless its data starts with the KPL magic. The output keeps each key's order (aggregates of
 * a key in input order); keys are interleaved by their first record. Feed it to {@link putRecords}.
 *
 * @example
 * ```ts
 * const lines = ['{"ITEM_NO":"SKU-1","LOC":"WH-EAST"}', '{"ITEM_NO":"SKU-1","LOC":"WH-EAST"}'];
 * const records = lines.map((l) => ({ partitionKey: partitionKeyOf(l), data: Buffer.from(l) }));
 * await putRecords(kinesis, aggregateByKey(records), { streamName: 'inventory' }); // one Kinesis record
 * ```
 */
export function aggregateByKey(
  records: readonly ProducerRecord[],
  options: AggregateOptions = {},
): ProducerRecord[] {
  const maxBytes = options.maxBytes ?? 25_000;
  const maxRecords = options.maxRecords ?? 500;
  // Input indexes per key, in order.
  const byKey = new Map<string, number[]>();
  records.forEach((r, i) => {
    const list = byKey.get(r.partitionKey);
    if (list) list.push(i);
    else byKey.set(r.partitionKey, [i]);
  });
  // Each output record with the input index of its first user record, to interleave keys as they came.
  const out: Array<{ first: number; record: ProducerRecord }> = [];
  for (const [partitionKey, indexes] of byKey) {
    const only = records[indexes[0]];
    if (indexes.length === 1 && !hasKplMagic(only.data)) {
      out.push({ first: indexes[0], record: only });
      continue;
    }
    const keyBytes = Buffer.byteLength(partitionKey);
    const agg = new RecordAggregator();
    let first = 0;
    const emit = (): void => {
      const built = agg.build();
      if (built) out.push({ first, record: { partitionKey, data: built.data } });
    };
    for (const i of indexes) {
      const user = { partitionKey, data: asBuffer(records[i].data) };
      const size = agg.calculateUserRecordSize(user);
      if (size + KPL_FRAME_BYTES + keyBytes > RECORD_MAX_BYTES) {
        throw new KinesisPutError(
          `a record of ${records[i].data.length} bytes does not fit a KPL aggregate under Kinesis's 1 MiB limit (key ${partitionKey})`,
          1,
        );
      }
      const full =
        agg.length() >= maxRecords || agg.totalBytes + size + KPL_FRAME_BYTES + keyBytes > maxBytes;
      if (agg.length() > 0 && full) emit();
      if (agg.length() === 0) first = i;
      // A record larger than maxBytes still goes, alone in its aggregate (the 1 MiB check is putRecords').
      agg.addUserRecord(user);
    }
    emit();
  }
  return out.sort((a, b) => a.first - b.first).map((o) => o.record);
}
