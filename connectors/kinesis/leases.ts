/**
 * The lease table: which worker owns which shard, and how far each shard is processed, in DynamoDB,
 * with the Kinesis Client Library's attribute names so that KCL tooling (and people who know it) can
 * read it. One item per shard, keyed by `leaseKey` (the shard id).
 *
 * Every write is conditional on what the writer last saw (`leaseCounter`, `leaseOwner`): the counter
 * goes up on every renewal, take and checkpoint, so a worker whose view is stale — it lost the lease
 * to a taker — has its write refused ({@link LeaseLostError}) instead of overwriting the new owner's.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

/** The checkpoint sentinels KCL stores instead of a sequence number. */
export type CheckpointSentinel = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | 'SHARD_END';

/**
 * One lease, as stored. `checkpoint` is a sequence number or a sentinel.
 *
 * @example
 * ```ts
 * const lease: Lease = {
 *   leaseKey: 'shardId-000000000001', leaseOwner: 'worker-a', leaseCounter: 7,
 *   checkpoint: 'TRIM_HORIZON', checkpointSubSequenceNumber: 0, ownerSwitchesSinceCheckpoint: 0,
 *   parentShardIds: ['shardId-000000000000'], throughput: 0,
 * };
 * ```
 */
export interface Lease {
  leaseKey: string;
  /** The owning worker, or null when nobody owns it (new, or released on shutdown). */
  leaseOwner: string | null;
  leaseCounter: number;
  checkpoint: string;
  checkpointSubSequenceNumber: number;
  ownerSwitchesSinceCheckpoint: number;
  parentShardIds: string[];
  /** Records per second the owner processed recently (for balancing by throughput). */
  throughput: number;
}

/**
 * A conditional write on a lease was refused: another worker took it (or it is gone).
 *
 * @example
 * ```ts
 * try { await table.checkpoint(lease, 'worker-a', '4959…', 0); }
 * catch (err) { if (err instanceof LeaseLostError) stopProcessing(err.leaseKey); }
 * ```
 */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(
    readonly leaseKey: string,
    what: string,
  ) {
    super(`lease ${leaseKey}: ${what} refused, another worker owns it now`);
  }
}

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });

function fromItem(item: Record<string, AttributeValue>): Lease {
  return {
    leaseKey: item.leaseKey?.S ?? '',
    leaseOwner: item.leaseOwner?.S ?? null,
    leaseCounter: Number(item.leaseCounter?.N ?? 0),
    checkpoint: item.checkpoint?.S ?? 'TRIM_HORIZON',
    checkpointSubSequenceNumber: Number(item.checkpointSubSequenceNumber?.N ?? 0),
    ownerSwitchesSinceCheckpoint: Number(item.ownerSwitchesSinceCheckpoint?.N ?? 0),
    parentShardIds: item.parentShardIds?.SS ?? [],
    throughput: Number(item.throughput?.N ?? 0),
  };
}

/**
 * What a worker needs from a lease table: {@link LeaseTable} on DynamoDB, or an in-memory one in tests.
 *
 * @example
 * ```ts
 * const leases: Leases = new LeaseTable(ddb, 'shelfwatch-inventory');
 * ```
 */
export type Leases = Pick<
  LeaseTable,
  'ensure' | 'list' | 'create' | 'take' | 'renew' | 'checkpoint' | 'release'
> & {
  /** How logs and `/readyz` name the table (`lease table <name>`). */
  readonly tableName?: string;
};

/**
 * The lease table of one application (the table is named after it, as KCL does).
 *
 * @example
 * ```ts
 * const table = new LeaseTable(createDynamoDbClient(), 'shelfwatch-inventory');
 * await table.ensure();
 * const leases = await table.list();
 * ```
 */
export class LeaseTable {
  constructor(
    private readonly ddb: Pick<DynamoDBClient, 'send'>,
    readonly tableName: string,
  ) {}

  /** Creates the table when missing (on-demand capacity) and waits until it is active. */
  async ensure(timeoutMs = 60_000): Promise<void> {
    try {
      await this.ddb.send(
        new CreateTableCommand({
          TableName: this.tableName,
          AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (err) {
      // Another worker created it first: fine.
      if (!(err instanceof ResourceInUseException)) throw err;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const d = await this.ddb.send(new DescribeTableCommand({ TableName: this.tableName }));
        if (d.Table?.TableStatus === 'ACTIVE') return;
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err;
      }
      if (Date.now() > deadline)
        throw new Error(`lease table ${this.tableName} not active after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Every lease (a consistent scan: a worker decides on what was last written). */
  async list(): Promise<Lease[]> {
    const out: Lease[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.ddb.send(
        new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) out.push(fromItem(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
  }

  /** Creates a shard's lease unless it exists; returns whether this call created it. */
  async create(leaseKey: string, checkpoint: string, parentShardIds: readonly string[]): Promise<boolean> {
    const item: Record<string, AttributeValue> = {
      leaseKey: S(leaseKey),
      leaseCounter: N(0),
      checkpoint: S(checkpoint),
      checkpointSubSequenceNumber: N(0),
      ownerSwitchesSinceCheckpoint: N(0),
      throughput: N(0),
    };
    if (parentShardIds.length > 0) item.parentShardIds = { SS: [...parentShardIds] };
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(leaseKey)',
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /**
   * Takes a lease for `owner`, if it is still as `seen` (same counter and owner): an expired lease of a
   * dead worker, an unowned one, or one stolen to balance. Returns the lease as now stored.
   */
  async take(seen: Lease, owner: string): Promise<Lease> {
    const switched = seen.leaseOwner !== owner;
    const res = await this.update(
      seen.leaseKey,
      'take',
      `SET leaseOwner = :owner, leaseCounter = leaseCounter + :one${
        switched ? ', ownerSwitchesSinceCheckpoint = ownerSwitchesSinceCheckpoint + :one' : ''
      }`,
      seen.leaseOwner === null
        ? 'leaseCounter = :counter AND attribute_not_exists(leaseOwner)'
        : 'leaseCounter = :counter AND leaseOwner = :seenOwner',
      {
        ':owner': S(owner),
        ':one': N(1),
        ':counter': N(seen.leaseCounter),
        ...(seen.leaseOwner === null ? {} : { ':seenOwner': S(seen.leaseOwner) }),
      },
    );
    return res;
  }

  /** Renews a held lease (its counter goes up: the heartbeat others watch), recording throughput. */
  async renew(held: Lease, owner: string, throughput?: number): Promise<Lease> {
    return this.update(
      held.leaseKey,
      'renewal',
      `SET leaseCounter = leaseCounter + :one${throughput === undefined ? '' : ', #throughput = :tp'}`,
      'leaseCounter = :counter AND leaseOwner = :owner',
      {
        ':one': N(1),
        ':counter': N(held.leaseCounter),
        ':owner': S(owner),
        ...(throughput === undefined ? {} : { ':tp': N(Math.round(throughput * 100) / 100) }),
      },
      // THROUGHPUT is one of DynamoDB's reserved words.
      throughput === undefined ? undefined : { '#throughput': 'throughput' },
    );
  }

  /**
   * Records a checkpoint, fenced by ownership: refused with {@link LeaseLostError} unless `owner` still
   * holds the lease with the counter it last saw.
   */
  async checkpoint(
    held: Lease,
    owner: string,
    checkpoint: string,
    subSequenceNumber: number,
  ): Promise<Lease> {
    return this.update(
      held.leaseKey,
      'checkpoint',
      'SET checkpoint = :cp, checkpointSubSequenceNumber = :sub, ownerSwitchesSinceCheckpoint = :zero, leaseCounter = leaseCounter + :one',
      'leaseCounter = :counter AND leaseOwner = :owner',
      {
        ':cp': S(checkpoint),
        ':sub': N(subSequenceNumber),
        ':zero': N(0),
        ':one': N(1),
        ':counter': N(held.leaseCounter),
        ':owner': S(owner),
      },
    );
  }

  /** Gives a lease up (graceful shutdown): unowned, another worker takes it at once. */
  async release(held: Lease, owner: string): Promise<void> {
    await this.update(
      held.leaseKey,
      'release',
      'REMOVE leaseOwner SET leaseCounter = leaseCounter + :one',
      'leaseCounter = :counter AND leaseOwner = :owner',
      { ':one': N(1), ':counter': N(held.leaseCounter), ':owner': S(owner) },
    );
  }

  private async update(
    leaseKey: string,
    what: string,
    expression: string,
    condition: string,
    values: Record<string, AttributeValue>,
    names?: Record<string, string>,
  ): Promise<Lease> {
    try {
      const res = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: S(leaseKey) },
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(leaseKey) AND ${condition}`,
          ExpressionAttributeValues: values,
          ...(names ? { ExpressionAttributeNames: names } : {}),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(res.Attributes ?? {});
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new LeaseLostError(leaseKey, what);
      throw err;
    }
  }
}
