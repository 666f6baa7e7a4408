/** Creating the state store's tables: on-demand capacity, `pk`/`sk` string keys, optional TTL. */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

/** The attribute whose epoch-seconds value DynamoDB's TTL deletes items by. */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * Options of {@link ensureTable}.
 *
 * @example
 * ```ts
 * const options: EnsureTableOptions = { create: true, ttl: true, timeoutMs: 120_000 };
 * ```
 */
export interface EnsureTableOptions {
  /** Create the table when missing (otherwise a missing table is an error). */
  create: boolean;
  /** Enable TTL on {@link TTL_ATTRIBUTE}. */
  ttl: boolean;
  /** How long to wait for the table to become ACTIVE (default 120 s). */
  timeoutMs?: number;
}

function isNamed(err: unknown, name: string): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;
}

async function tableStatus(client: DynamoDBClient, table: string): Promise<string | null> {
  try {
    const res = await client.send(new DescribeTableCommand({ TableName: table }));
    return res.Table?.TableStatus ?? 'UNKNOWN';
  } catch (err) {
    if (err instanceof ResourceNotFoundException || isNamed(err, 'ResourceNotFoundException')) return null;
    throw err;
  }
}

/**
 * Makes sure `table` exists with the store's key schema (`pk` hash, `sk` range, both strings) and is
 * ACTIVE, creating it on demand (PAY_PER_REQUEST) when allowed, and enables TTL on `expiresAt` when
 * asked. Safe to run from several processes at once: a concurrent creation is waited for.
 *
 * @example
 * ```ts
 * await ensureTable(client, 'shelfwatch-state', { create: true, ttl: true });
 * ```
 */
export async function ensureTable(
  client: DynamoDBClient,
  table: string,
  options: EnsureTableOptions,
): Promise<void> {
  let status = await tableStatus(client, table);
  if (status === null) {
    if (!options.create) {
      throw new Error(`DynamoDB table ${table} does not exist (and createTables is false): create it first`);
    }
    try {
      await client.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
        }),
      );
    } catch (err) {
      // Another process created it first: wait for it like for our own.
      if (!(err instanceof ResourceInUseException || isNamed(err, 'ResourceInUseException'))) throw err;
    }
    status = await tableStatus(client, table);
  }
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  while (status !== 'ACTIVE') {
    if (Date.now() > deadline) {
      throw new Error(`DynamoDB table ${table} is ${status ?? 'missing'}, not ACTIVE, after waiting`);
    }
    await new Promise((r) => setTimeout(r, 250));
    status = await tableStatus(client, table);
  }
  if (options.ttl) {
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table }));
    const current = ttl.TimeToLiveDescription;
    const on = current?.TimeToLiveStatus === 'ENABLED' || current?.TimeToLiveStatus === 'ENABLING';
    if (on && current?.AttributeName !== TTL_ATTRIBUTE) {
      throw new Error(
        `DynamoDB table ${table} has TTL on attribute ${current?.AttributeName}, not ${TTL_ATTRIBUTE}`,
      );
    }
    if (!on) {
      try {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: table,
            TimeToLiveSpecification: { Enabled: true, AttributeName: TTL_ATTRIBUTE },
          }),
        );
      } catch (err) {
        // Enabled by a concurrent opener meanwhile.
        if (!/already enabled/i.test((err as Error).message)) throw err;
      }
    }
  }
}
