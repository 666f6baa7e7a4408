/**
 * How the state stores wait through the project's one {@link RetryPolicy} (full jitter, a cap, a
 * bound in attempts) for the few retries they make themselves (a MySQL deadlock victim, items
 * DynamoDB left unprocessed, a conflicting DynamoDB transaction), while their callers keep getting
 * the store's own errors rather than the policy's `RetryGiveUpError`.
 */
import { RetryGiveUpError, type RetryPolicy } from '../pipeline/retry.js';

/**
 * Runs `task` under `policy`; when the policy gives up (a permanent error, or its attempts used),
 * rejects with the task's last error itself, so a store's callers see the store's errors (a
 * `StaleCheckpointError`, a driver error with its code) exactly as without retries.
 *
 * @example
 * ```ts
 * const policy = new RetryPolicy({ maxAttempts: 4, baseDelayMs: 12, maxDelayMs: 32, classify: (e) => (isDeadlock(e) ? 'transient' : 'permanent') });
 * await retryStoreOperation(policy, 'commit', () => runTransaction(db, 'mysql', body));
 * ```
 */
export async function retryStoreOperation<T>(
  policy: RetryPolicy,
  what: string,
  task: (attempt: number) => Promise<T>,
): Promise<T> {
  try {
    return await policy.run(what, task);
  } catch (error) {
    throw error instanceof RetryGiveUpError ? error.cause : error;
  }
}

/**
 * Waits the policy's back-off before retry `attempt` (1 for the first retry), for loops whose control
 * flow does not fit {@link retryStoreOperation} (some outcomes retry at once, some after a wait).
 *
 * @example
 * ```ts
 * for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
 *   if (await tryOnce()) return;
 *   await backOff(policy, attempt);
 * }
 * ```
 */
export function backOff(policy: RetryPolicy, attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, policy.delayBefore(attempt)));
}
