/**
 * Puts raw inventory records on a Kinesis stream with PutRecords: batches within the service's limits,
 * failed records retried with back-off, partition key SKU × warehouse so one item's events stay in order
 * on one shard. For demos and load tests (`shelfwatch replay --to kinesis`).
 */
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';

/** PutRecords limits: records per call, bytes per call, bytes per record (data + partition key). */
export const PUT_RECORDS_MAX_COUNT = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;
export const RECORD_MAX_BYTES = 1024 * 1024;

export interface ProducerRecord {
  partitionKey: string;
  data: Uint8Array;
}

/** Some records could not be put after every retry (or are too large for Kinesis at all). */
export class KinesisPutError extends Error {
  constructor(
    message: string,
    readonly failed: number,
  ) {
    super(message);
    this.name = 'KinesisPutError';
  }
}

/**
 * The partition key of a raw record: `sku|warehouse` of its (first) line, so that an item's events land
 * on one shard in order; `unparsed` for a line that is not one of the three kinds (it still gets sent:
 * the consumer dead-letters it).
 *
 * @example
 * ```ts
 * partitionKeyOf('{"LOG_ID":"WMS-1","TXN":"CC","ITEM_NO":"SKU-1","LOC":"WH-EAST"}'); // 'SKU-1|WH-EAST'
 * ```
 */
export function partitionKeyOf(line: string): string {
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    const first = (xs: unknown): Record<string, unknown> | undefined =>
      Array.isArray(xs) && xs.length > 0 && typeof xs[0] === 'object'
        ? (xs[0] as Record<string, unknown>)
        : undefined;
    if (typeof r.ITEM_NO === 'string' && typeof r.LOC === 'string') return `${r.ITEM_NO}|${r.LOC}`;
    const item = first(r.items);
    if (item && typeof item.sku === 'string' && typeof r.fulfillmentCenter === 'string')
      return `${item.sku}|${r.fulfillmentCenter}`;
    const line0 = first(r.lines);
    if (line0 && typeof line0.sku === 'string' && typeof r.ship_to === 'string')
      return `${line0.sku}|${r.ship_to}`;
  } catch {
    // Not JSON: fall through.
  }
  return 'unparsed';
}

/** Splits records into PutRecords calls within the count and byte limits, keeping their order. */
export function batchesOf(records: readonly ProducerRecord[]): ProducerRecord[][] {
  const out: ProducerRecord[][] = [];
  let batch: ProducerRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = r.data.length + Buffer.byteLength(r.partitionKey);
    if (size > RECORD_MAX_BYTES) {
      throw new KinesisPutError(
        `a record of ${size} bytes exceeds Kinesis's 1 MiB limit (key ${r.partitionKey})`,
        1,
      );
    }
    if (batch.length === PUT_RECORDS_MAX_COUNT || bytes + size > PUT_RECORDS_MAX_BYTES) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(r);
    bytes += size;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

export interface PutOptions {
  streamName: string;
  /** Retries of the records a call rejected (throttled or failed), with full-jitter back-off. Default 8. */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * Puts records (in order, batch by batch), retrying the ones Kinesis rejects until none is left.
 * Resolves with how many were sent and how many retries it took; rejects with a KinesisPutError when
 * records still fail after `maxRetries`.
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
  const random = options.random ?? Math.random;
  const maxRetries = options.maxRetries ?? 8;
  let sent = 0;
  let retried = 0;
  for (const batch of batchesOf(records)) {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > maxRetries) {
        throw new KinesisPutError(
          `${pending.length} records still rejected after ${maxRetries} retries`,
          pending.length,
        );
      }
      if (attempt > 0) {
        retried += pending.length;
        const cap = Math.min(options.maxDelayMs ?? 5_000, (options.baseDelayMs ?? 100) * 2 ** attempt);
        await sleep(random() * cap);
      }
      const res = await client.send(
        new PutRecordsCommand({
          StreamName: options.streamName,
          Records: pending.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })),
        }),
      );
      const results = res.Records ?? [];
      // A record without an ErrorCode was stored; the rest go round again, in their original order.
      const failed = pending.filter((_, i) => results[i] === undefined || results[i].ErrorCode !== undefined);
      sent += pending.length - failed.length;
      pending = failed;
    }
  }
  return { sent, retried };
}
