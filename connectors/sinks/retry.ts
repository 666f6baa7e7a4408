/**
 * Delivery errors of the alert sinks, and retrying with back-off. The pipeline already retries a
 * failed `publish` by holding its checkpoint; `withRetry` rides out the short blips (a 503, a reset
 * connection) inside one publish, so the batch is not held for a blip, and gives up at once on a
 * permanent error (a 400 will fail the same way however often it is sent).
 */
import type { AlertNotification, AlertSink } from '../../pipeline/ports.js';
import { RetryGiveUpError, RetryPolicy } from '../../pipeline/retry.js';

/**
 * A sink could not deliver. `retryable` says whether sending the same thing again may succeed (a
 * timeout, a 503, a full disk) or not (a 400, a permission error); `retryAfterMs` carries a delay the
 * receiving end asked for (`Retry-After`). Messages never include secrets (URL paths and queries,
 * header values).
 *
 * @example
 * ```ts
 * try { await sink.publish(batch); }
 * catch (err) { if (err instanceof SinkDeliveryError && !err.retryable) alertOperator(err.message); }
 * ```
 */
export class SinkDeliveryError extends Error {
  /** Whether sending again may succeed. */
  readonly retryable: boolean;
  /** The name of the sink that failed. */
  readonly sink: string;
  /** How long the receiving end asked to wait before the next attempt, when it said so. */
  readonly retryAfterMs: number | undefined;
  /** The HTTP status, for HTTP sinks that got an answer. */
  readonly status: number | undefined;

  constructor(
    message: string,
    options: { sink: string; retryable: boolean; cause?: unknown; retryAfterMs?: number; status?: number },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SinkDeliveryError';
    this.sink = options.sink;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

/**
 * A sink option is invalid; the message names the option (and never echoes a secret value).
 *
 * @example
 * ```ts
 * new WebhookSink({ url: 'ftp://x' }); // SinkConfigError: url must be an http(s) URL
 * ```
 */
export class SinkConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SinkConfigError';
  }
}

/**
 * What `withRetry` tells its `onRetry` hook before it waits.
 *
 * @example
 * ```ts
 * const onRetry = (r: RetryAttempt) => log.warn({ sink: r.sink, attempt: r.attempt, delayMs: r.delayMs }, r.error.message);
 * ```
 */
export interface RetryAttempt {
  sink: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  error: SinkDeliveryError;
}

/**
 * Back-off settings of {@link withRetry}.
 *
 * @example
 * ```ts
 * const options: RetryOptions = { retries: 3, baseDelayMs: 100, random: () => 0.5, sleep: async () => {} };
 * ```
 */
export interface RetryOptions {
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** Cap of the first retry's delay; doubles per retry. Default 200 ms. */
  baseDelayMs?: number;
  /**
   * Longest single wait. Default 10 s. A `Retry-After` longer than this ends the retries early with
   * the error, so that one publish never blocks longer than planned; the pipeline retries later.
   */
  maxDelayMs?: number;
  /** Uniform in [0, 1); injectable for tests. Default `Math.random`. */
  random?: () => number;
  /** Waits `ms`; injectable for tests. Rejects when `signal` aborts (the sink was closed). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (attempt: RetryAttempt) => void;
}

function integerAtLeast(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min)
    throw new SinkConfigError(`${name} must be a whole number ≥ ${min}, got ${v}`);
  return v;
}

/**
 * Wraps a sink so that a retryable {@link SinkDeliveryError} is retried with exponential back-off and
 * full jitter, waiting at least the `Retry-After` the sink reports. Other errors (permanent delivery
 * errors, bugs) are thrown at once. After the last retry the last error is thrown: the pipeline then
 * holds its checkpoint and tries again later. Retrying re-publishes the whole batch, which is safe
 * because sinks treat an id they already delivered as a success.
 *
 * @example
 * ```ts
 * const sink = withRetry(new WebhookSink({ url }), { retries: 3, onRetry: (r) => log.warn(r) });
 * await sink.publish(notifications);
 * ```
 */
export function withRetry(sink: AlertSink, options: RetryOptions = {}): AlertSink {
  const retries = integerAtLeast('retries', options.retries ?? 5, 0);
  const baseDelayMs = integerAtLeast('baseDelayMs', options.baseDelayMs ?? 200, 0);
  const maxDelayMs = integerAtLeast('maxDelayMs', options.maxDelayMs ?? 10_000, 0);
  if (maxDelayMs < baseDelayMs) {
    throw new SinkConfigError(`maxDelayMs (${maxDelayMs}) must be at least baseDelayMs (${baseDelayMs})`);
  }
  // Closing the sink cuts a back-off wait short instead of keeping shutdown waiting for it.
  const closing = new AbortController();
  const { sleep, onRetry } = options;
  const policy = new RetryPolicy({
    baseDelayMs,
    maxDelayMs,
    maxAttempts: retries + 1,
    // Only what the sink itself calls retryable is retried here; a Retry-After beyond maxDelayMs ends
    // the retries early, so that one publish never blocks longer than planned (the engine retries later).
    classify: (err) =>
      err instanceof SinkDeliveryError && err.retryable && !((err.retryAfterMs ?? 0) > maxDelayMs)
        ? 'transient'
        : 'permanent',
    ...(options.random ? { random: options.random } : {}),
    ...(sleep ? { sleep: (ms: number) => sleep(ms, closing.signal) } : {}),
  });

  return {
    name: sink.name,
    async publish(notifications: readonly AlertNotification[]): Promise<void> {
      // Closed: one plain attempt (the inner sink says it is closed), no waiting.
      if (closing.signal.aborted) return sink.publish(notifications);
      let failed = false;
      let last: unknown;
      const attempt = async (): Promise<void> => {
        try {
          await sink.publish(notifications);
        } catch (err) {
          failed = true;
          last = err;
          throw err;
        }
      };
      try {
        await policy.run(`sink ${sink.name}`, attempt, {
          signal: closing.signal,
          retryAfterMs: (err) => (err instanceof SinkDeliveryError ? err.retryAfterMs : undefined),
          onRetry: onRetry
            ? (a) =>
                onRetry({
                  sink: sink.name,
                  attempt: a.attempt,
                  delayMs: a.delayMs,
                  // Only SinkDeliveryErrors are retried (see classify).
                  error: a.error as SinkDeliveryError,
                })
            : undefined,
        });
      } catch (err) {
        // The sink's own last error, not the policy's wrapper: callers (and the engine's
        // classification) judge what the sink said, and a close() reports the delivery failure.
        throw err instanceof RetryGiveUpError && failed ? last : err;
      }
    },
    async close(): Promise<void> {
      closing.abort();
      await sink.close();
    },
  };
}
