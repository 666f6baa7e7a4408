/**
 * DynamoDB requests as the state store needs them: batch writes and reads that finish their
 * `UnprocessedItems` / `UnprocessedKeys` with bounded, jittered back-off (the project's one
 * `RetryPolicy`); paged queries and scans; transactions whose cancellation reasons are read item by
 * item; and a small concurrency limiter. Throttling errors themselves are retried by the SDK (its
 * `maxAttempts`).
 */
import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type KeysAndAttributes,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { RetryPolicy } from '../../pipeline/retry.js';
import { retryStoreOperation } from '../store-retry.js';
import type { DynamoDbItem } from './codec.js';

/**
 * The bounds of the store's own retries of what DynamoDB left unprocessed (throttled batch items,
 * conflicting transactions): the store's `retry` option. The waits are the project's `RetryPolicy`
 * with these bounds ({@link dynamoDbRetryPolicy}).
 *
 * @example
 * ```ts
 * const retry: DynamoDbRetryPolicy = { attempts: 8, baseDelayMs: 50, maxDelayMs: 2_000 };
 * ```
 */
export interface DynamoDbRetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The cap of the first back-off (then doubling, with full jitter below it). */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** What the store uses unless told otherwise: 8 tries, at most ~8 s of back-off per request. */
export const DEFAULT_RETRY_POLICY: DynamoDbRetryPolicy = { attempts: 8, baseDelayMs: 50, maxDelayMs: 2_000 };

/** DynamoDB kept leaving work unprocessed (throttling) through every retry. */
export class DynamoDbUnprocessedError extends Error {
  override readonly name = 'DynamoDbUnprocessedError';
}

/**
 * The project's `RetryPolicy` with these bounds: `attempts` tries in all, waits uniform in
 * [0, min(maxDelayMs, baseDelayMs · 2^(n−1))). What it retries: work DynamoDB left unprocessed and
 * conflicting transactions; anything else is the SDK's to retry (it already has) and is passed on.
 *
 * @example
 * ```ts
 * const policy = dynamoDbRetryPolicy({ ...DEFAULT_RETRY_POLICY, attempts: 3 });
 * ```
 */
export function dynamoDbRetryPolicy(bounds: DynamoDbRetryPolicy): RetryPolicy {
  return new RetryPolicy({
    maxAttempts: bounds.attempts,
    baseDelayMs: bounds.baseDelayMs,
    maxDelayMs: bounds.maxDelayMs,
    classify: (error) =>
      error instanceof DynamoDbUnprocessedError ||
      (error as Error | undefined)?.name === 'TransactionConflictException'
        ? 'transient'
        : 'permanent',
  });
}

/** The default policy ({@link DEFAULT_RETRY_POLICY}) as a `RetryPolicy`. */
const DEFAULT_POLICY = dynamoDbRetryPolicy(DEFAULT_RETRY_POLICY);

/**
 * Runs `task` over `items` with at most `limit` in flight; rejects with the first failure (after
 * the tasks already started have settled, so nothing is left running behind the caller's back).
 *
 * @example
 * ```ts
 * await mapLimit(chunks, 8, (chunk) => write(chunk));
 * ```
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await task(items[i] as T, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}

/** BatchWriteItem takes at most 25 requests and 16 MB. */
const WRITE_BATCH_ITEMS = 25;
const WRITE_BATCH_BYTES = 12 * 1024 * 1024;

/** A rough size of an item (names and values), for keeping requests under their byte limits. */
export function itemBytes(item: DynamoDbItem): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += name.length;
    if (value.S !== undefined) size += Buffer.byteLength(value.S, 'utf8');
    else if (value.B !== undefined) size += value.B.byteLength;
    else if (value.N !== undefined) size += value.N.length;
    else if (value.SS !== undefined) for (const s of value.SS) size += Buffer.byteLength(s, 'utf8');
    else if (value.M !== undefined) size += itemBytes(value.M);
    else size += 1;
  }
  return size;
}

/**
 * Groups `items` in order into chunks of at most `maxItems` items and about `maxBytes` bytes (an
 * item larger than that goes alone).
 *
 * @example
 * ```ts
 * chunkBySize(requests, 25, 12 << 20, (r) => itemBytes(r.PutRequest?.Item ?? {}));
 * ```
 */
export function chunkBySize<T>(
  items: readonly T[],
  maxItems: number,
  maxBytes: number,
  sizeOf: (item: T) => number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length === maxItems || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Writes (puts and deletes) every request to `table` with BatchWriteItem, `concurrency` requests in
 * flight, retrying what DynamoDB leaves unprocessed with back-off. Puts replace whole items and
 * deletes are final, so a write retried after a lost response changes nothing.
 *
 * @example
 * ```ts
 * await batchWriteAll(client, 'state', items.map((Item) => ({ PutRequest: { Item } })), 8);
 * ```
 */
export async function batchWriteAll(
  client: DynamoDBClient,
  table: string,
  requests: readonly WriteRequest[],
  concurrency: number,
  policy: RetryPolicy = DEFAULT_POLICY,
): Promise<void> {
  if (requests.length === 0) return;
  const chunks = chunkBySize(requests, WRITE_BATCH_ITEMS, WRITE_BATCH_BYTES, (r) =>
    itemBytes(r.PutRequest?.Item ?? r.DeleteRequest?.Key ?? {}),
  );
  await mapLimit(chunks, concurrency, async (chunk) => {
    let pending: WriteRequest[] = chunk;
    await retryStoreOperation(policy, `batch write to ${table}`, async (attempt) => {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
      pending = out.UnprocessedItems?.[table] ?? [];
      if (pending.length > 0) {
        throw new DynamoDbUnprocessedError(
          `DynamoDB left ${pending.length} writes to ${table} unprocessed after ${attempt} tries (throttled)`,
        );
      }
    });
  });
}

/**
 * Reads items by key with strongly consistent BatchGetItem (100 keys a request), retrying
 * `UnprocessedKeys` with back-off. Absent items are simply missing; order is not kept.
 *
 * @example
 * ```ts
 * const items = await batchGetAll(client, 'state', [{ pk: { S: 'META' }, sk: { S: 'META' } }], 8);
 * ```
 */
export async function batchGetAll(
  client: DynamoDBClient,
  table: string,
  keys: readonly DynamoDbItem[],
  concurrency: number,
  policy: RetryPolicy = DEFAULT_POLICY,
  projection?: { expression: string; names: Record<string, string> },
): Promise<DynamoDbItem[]> {
  const out: DynamoDbItem[] = [];
  const chunks: DynamoDbItem[][] = [];
  for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
  await mapLimit(chunks, concurrency, async (chunk) => {
    let pending: KeysAndAttributes | undefined = {
      Keys: chunk,
      ConsistentRead: true,
      ...(projection
        ? { ProjectionExpression: projection.expression, ExpressionAttributeNames: projection.names }
        : {}),
    };
    await retryStoreOperation(policy, `batch read of ${table}`, async (attempt) => {
      if (!pending?.Keys || pending.Keys.length === 0) return;
      const res: BatchGetItemCommandOutput = await client.send(
        new BatchGetItemCommand({ RequestItems: { [table]: pending } }),
      );
      for (const item of res.Responses?.[table] ?? []) out.push(item);
      pending = res.UnprocessedKeys?.[table];
      if (pending?.Keys && pending.Keys.length > 0) {
        throw new DynamoDbUnprocessedError(
          `DynamoDB left ${pending.Keys.length} reads of ${table} unprocessed after ${attempt} tries (throttled)`,
        );
      }
    });
  });
  return out;
}

/**
 * Every item a query matches, page after page (strongly consistent unless the input says otherwise).
 *
 * @example
 * ```ts
 * const items = await queryAll(client, {
 *   TableName: 'state', KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'CKPT' } },
 * });
 * ```
 */
export async function queryAll(client: DynamoDBClient, input: QueryCommandInput): Promise<DynamoDbItem[]> {
  const items: DynamoDbItem[] = [];
  let start: DynamoDbItem | undefined;
  do {
    const res = await client.send(
      new QueryCommand({ ConsistentRead: true, ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    for (const item of res.Items ?? []) items.push(item);
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * How many items a query matches (`Select: COUNT`, page after page).
 *
 * @example
 * ```ts
 * const n = await queryCount(client, { TableName: 'audit', KeyConditionExpression: 'pk = :pk', ... });
 * ```
 */
export async function queryCount(client: DynamoDBClient, input: QueryCommandInput): Promise<number> {
  let count = 0;
  let start: DynamoDbItem | undefined;
  do {
    const res = await client.send(
      new QueryCommand({
        ConsistentRead: true,
        ...input,
        Select: 'COUNT',
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    count += res.Count ?? 0;
    start = res.LastEvaluatedKey;
  } while (start);
  return count;
}

/**
 * Every item of a table: a strongly consistent parallel scan over `segments` segments.
 *
 * @example
 * ```ts
 * const items = await scanAll(client, 'state', 4);
 * ```
 */
export async function scanAll(
  client: DynamoDBClient,
  table: string,
  segments: number,
): Promise<DynamoDbItem[]> {
  const parts = await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      const items: DynamoDbItem[] = [];
      let start: DynamoDbItem | undefined;
      do {
        const res = await client.send(
          new ScanCommand({
            TableName: table,
            ConsistentRead: true,
            Segment: segment,
            TotalSegments: segments,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of res.Items ?? []) items.push(item);
        start = res.LastEvaluatedKey;
      } while (start);
      return items;
    }),
  );
  return parts.flat();
}

/**
 * Runs a single-item write, retrying with back-off while a transaction on the same item makes
 * DynamoDB refuse it (`TransactionConflictException`, which the SDK does not retry); rejects with
 * the write's own last error.
 *
 * @example
 * ```ts
 * await retryConflicts(dynamoDbRetryPolicy(DEFAULT_RETRY_POLICY), () => client.send(new UpdateItemCommand(input)));
 * ```
 */
export function retryConflicts<T>(policy: RetryPolicy, write: () => Promise<T>): Promise<T> {
  return retryStoreOperation(policy, 'conditional write', () => write());
}

/**
 * Why one item of a cancelled transaction failed: DynamoDB's code (`None` for items that did not),
 * and the item as stored when its condition failed and `ReturnValuesOnConditionCheckFailure` asked
 * for it.
 */
export interface CancellationReason {
  code: 'None' | 'ConditionalCheckFailed' | 'TransactionConflict' | (string & {});
  item?: DynamoDbItem;
  /** DynamoDB's message for this item, when it gave one (e.g. for a `ValidationError`). */
  message?: string;
}

/**
 * Runs a TransactWriteItems. Resolves to `null` when it committed, or to the per-item cancellation
 * reasons when DynamoDB cancelled it (every other error is thrown).
 *
 * @example
 * ```ts
 * const reasons = await transactWrite(client, items, token);
 * if (reasons?.[0]?.code === 'ConditionalCheckFailed') console.log('the checkpoint moved');
 * ```
 */
export async function transactWrite(
  client: DynamoDBClient,
  items: TransactWriteItem[],
  clientRequestToken?: string,
): Promise<CancellationReason[] | null> {
  try {
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: items,
        ...(clientRequestToken ? { ClientRequestToken: clientRequestToken } : {}),
      }),
    );
    return null;
  } catch (err) {
    if (
      err instanceof TransactionCanceledException ||
      (err as Error).name === 'TransactionCanceledException'
    ) {
      const reasons = (err as TransactionCanceledException).CancellationReasons ?? [];
      return items.map((_, i) => {
        const reason = reasons[i];
        return {
          code: reason?.Code ?? 'Unknown',
          ...(reason?.Item ? { item: reason.Item } : {}),
          ...(reason?.Message ? { message: reason.Message } : {}),
        };
      });
    }
    if ((err as Error).name === 'TransactionConflictException') {
      return items.map(() => ({ code: 'TransactionConflict' }));
    }
    throw err;
  }
}
