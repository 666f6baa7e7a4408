/**
 * The stores' own retries go through the one RetryPolicy with their old bounds, and their callers
 * still get the store's errors: a MySQL deadlock re-run, DynamoDB's unprocessed items and conflicts.
 */
import { describe, expect, it } from 'vitest';
import { StaleCheckpointError } from '../pipeline/ports.js';
import { RetryPolicy } from '../pipeline/retry.js';
import {
  DEFAULT_RETRY_POLICY,
  DynamoDbUnprocessedError,
  dynamoDbRetryPolicy,
  retryConflicts as retryDynamoDbConflicts,
} from './dynamodb/requests.js';
import { conflictRetryPolicy, DEFAULT_CONFLICT_RETRIES, retryConflicts } from './sql/sql-transaction.js';
import { backOff, retryStoreOperation } from './store-retry.js';

const deadlock = () =>
  Object.assign(new Error('Deadlock found when trying to get lock'), {
    code: 'ER_LOCK_DEADLOCK',
    errno: 1213,
  });

/** Runs `fail` times failing with `error()`, then succeeds; counts the calls. */
function flaky(fail: number, error: () => unknown) {
  const calls = { n: 0 };
  const task = async (): Promise<void> => {
    calls.n++;
    if (calls.n <= fail) throw error();
  };
  return { calls, task };
}

describe('retryStoreOperation', () => {
  it('rejects with the task’s own last error, not the policy’s RetryGiveUpError', async () => {
    const policy = new RetryPolicy({ maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 });
    const last = new Error('third');
    let n = 0;
    const failure = await retryStoreOperation(policy, 'op', async () => {
      n++;
      throw n === 3 ? last : new Error(String(n));
    }).catch((e: unknown) => e);
    expect(failure).toBe(last);
    expect(n).toBe(3);
    const stale = new StaleCheckpointError('shard-0', null, null);
    await expect(
      retryStoreOperation(new RetryPolicy({ classify: () => 'permanent' }), 'op', async () => {
        throw stale;
      }),
    ).rejects.toBe(stale);
  });

  it('backOff waits what the policy says, no more', async () => {
    const policy = new RetryPolicy({ baseDelayMs: 20, maxDelayMs: 20, random: () => 0.999 });
    const started = performance.now();
    await backOff(policy, 1);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(15);
    expect(waited).toBeLessThan(200);
  });
});

describe('the SQL store’s deadlock re-runs', () => {
  it('keep their bounds: 3 re-runs by default, waits capped at 12, 24, then 32 ms', () => {
    const policy = conflictRetryPolicy(DEFAULT_CONFLICT_RETRIES);
    expect(policy.maxAttempts).toBe(4);
    const upper = policy.with({ random: () => 0.999_999 });
    expect([1, 2, 3, 4].map((a) => upper.delayBefore(a))).toEqual([11, 23, 31, 31]);
    expect(policy.with({ random: () => 0 }).delayBefore(1)).toBe(0);
    expect(policy.classify(deadlock())).toBe('transient');
    expect(policy.classify(Object.assign(new Error('x'), { code: 'ER_CHECKREAD' }))).toBe('transient');
    expect(policy.classify(Object.assign(new Error('x'), { code: 'ER_LOCK_WAIT_TIMEOUT' }))).toBe(
      'permanent',
    );
  });

  it('re-run a deadlock victim on MySQL only, and pass other errors on at once', async () => {
    const policy = conflictRetryPolicy(2);
    const twice = flaky(2, deadlock);
    await retryConflicts('mysql', policy, twice.task);
    expect(twice.calls.n).toBe(3);

    const always = flaky(99, deadlock);
    await expect(retryConflicts('mysql', policy, always.task)).rejects.toMatchObject({
      code: 'ER_LOCK_DEADLOCK',
      errno: 1213,
    });
    expect(always.calls.n).toBe(3);

    const timeout = flaky(99, () =>
      Object.assign(new Error('Lock wait timeout'), { code: 'ER_LOCK_WAIT_TIMEOUT' }),
    );
    await expect(retryConflicts('mysql', policy, timeout.task)).rejects.toMatchObject({
      code: 'ER_LOCK_WAIT_TIMEOUT',
    });
    expect(timeout.calls.n).toBe(1);

    const sqlite = flaky(1, deadlock);
    await expect(retryConflicts('sqlite', policy, sqlite.task)).rejects.toMatchObject({
      code: 'ER_LOCK_DEADLOCK',
    });
    expect(sqlite.calls.n).toBe(1);
  });
});

describe('the DynamoDB store’s retries', () => {
  it('keep their bounds: 8 tries, waits capped at 50 ms doubling to 2 s, for unprocessed work and conflicts only', () => {
    const policy = dynamoDbRetryPolicy(DEFAULT_RETRY_POLICY);
    expect(policy.maxAttempts).toBe(8);
    const upper = policy.with({ random: () => 0.999_999 });
    expect([1, 2, 3, 6, 7].map((a) => upper.delayBefore(a))).toEqual([49, 99, 199, 1_599, 1_999]);
    expect(policy.classify(new DynamoDbUnprocessedError('left 3 writes'))).toBe('transient');
    expect(policy.classify(Object.assign(new Error('x'), { name: 'TransactionConflictException' }))).toBe(
      'transient',
    );
    // Throttling and network errors are the SDK's to retry (it has, by the time they get here).
    expect(
      policy.classify(Object.assign(new Error('x'), { name: 'ProvisionedThroughputExceededException' })),
    ).toBe('permanent');
    expect(policy.classify(Object.assign(new Error('x'), { name: 'ConditionalCheckFailedException' }))).toBe(
      'permanent',
    );
  });

  it('retry a conditional write through transaction conflicts, and no other error', async () => {
    const policy = dynamoDbRetryPolicy({ attempts: 3, baseDelayMs: 1, maxDelayMs: 2 });
    const conflict = () => Object.assign(new Error('conflict'), { name: 'TransactionConflictException' });
    const twice = flaky(2, conflict);
    await retryDynamoDbConflicts(policy, twice.task);
    expect(twice.calls.n).toBe(3);
    const always = flaky(99, conflict);
    await expect(retryDynamoDbConflicts(policy, always.task)).rejects.toMatchObject({
      name: 'TransactionConflictException',
    });
    expect(always.calls.n).toBe(3);
    const failed = flaky(99, () =>
      Object.assign(new Error('no'), { name: 'ConditionalCheckFailedException' }),
    );
    await expect(retryDynamoDbConflicts(policy, failed.task)).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    expect(failed.calls.n).toBe(1);
  });
});
