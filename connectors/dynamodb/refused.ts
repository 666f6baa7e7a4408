/**
 * Which DynamoDB errors mean "DynamoDB refuses this data" ({@link StoreRefusedError}): an item or a
 * key larger than it takes. The store splits large payloads into part items and hashes long key
 * components, so what is left to refuse is a key made of an identifier as it is (a shard id over
 * 1,024 UTF-8 bytes as the checkpoint's sort key) or an item that grew past 400 KB by itself. Every
 * other `ValidationException` is a bug of the store's requests and stays as it is.
 */
import { StoreRefusedError } from '../../pipeline/ports.js';

/**
 * DynamoDB's words for an item or key over its limits: "Item size has exceeded the maximum allowed
 * size" (PutItem, BatchWriteItem, TransactWriteItems; "Item size to update…" for UpdateItem), "One or
 * more parameter values were invalid: Size of hashkey has exceeded…" and "…Aggregated size of all
 * range keys has exceeded…" (AWS), and DynamoDB Local's "Hash primary key values must be under 2048
 * bytes, and range primary key values must be under 1024 bytes".
 *
 * @example
 * ```ts
 * SIZE_REFUSAL.test('Item size has exceeded the maximum allowed size'); // true
 * ```
 */
export const SIZE_REFUSAL =
  /item size (to update )?has exceeded the maximum allowed size|size of hashkey has exceeded|aggregated size of all range keys has exceeded|primary key values must be under \d+ bytes/i;

/** Server messages are short; this bounds one that would not be. */
const MESSAGE_MAX = 300;

/**
 * The {@link StoreRefusedError} that `error` amounts to, or undefined: a `ValidationException` (or a
 * transaction cancelled with `ValidationError`, given as `{ name: 'ValidationError', message }`)
 * whose message says an item or key is too large. Looks through a short `cause` chain.
 *
 * @example
 * ```ts
 * try { await client.send(command); }
 * catch (err) { throw refusedByDynamoDb(err) ?? err; }
 * ```
 */
export function refusedByDynamoDb(error: unknown): StoreRefusedError | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if (e instanceof StoreRefusedError) return e;
    const { name, message, cause } = e as { name?: unknown; message?: unknown; cause?: unknown };
    const text = typeof message === 'string' ? message : '';
    if ((name === 'ValidationException' || name === 'ValidationError') && SIZE_REFUSAL.test(text)) {
      const short = text.length <= MESSAGE_MAX ? text : `${text.slice(0, MESSAGE_MAX - 1)}…`;
      return new StoreRefusedError('dynamodb', `${short} (${name})`, { cause: error });
    }
    e = cause;
  }
  return undefined;
}
