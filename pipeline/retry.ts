/**
 * The one retry policy: exponential back-off with full jitter and a cap (AWS Architecture Blog,
 * "Exponential Backoff and Jitter"), a bound in attempts and in time, cancellation by an
 * `AbortSignal`, and one classification of errors into transient (trying again may help) and
 * permanent (it will fail the same way). The engine, the Kinesis consumer and producer, the stores and
 * the sinks all wait through it, so every wait in the job is bounded and interruptible the same way.
 *
 * Observers (`onRetry`) observe: they are told of each failed attempt and cannot change what happens
 * next (an observer that throws is ignored). What to do is the policy's business.
 */

/**
 * Whether trying the same thing again may succeed.
 *
 * @example
 * ```ts
 * const kind: ErrorKind = classifyError(err);
 * ```
 */
export type ErrorKind = 'transient' | 'permanent';

/** Fields an error may carry that say whether to retry, from us, Node, HTTP clients and the AWS SDK. */
interface ErrorShape {
  name?: unknown;
  code?: unknown;
  retryable?: unknown;
  status?: unknown;
  statusCode?: unknown;
  $retryable?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

/** Network and resource errors that pass: a refused or reset connection, a timeout, a full disk. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'ENOSPC',
  'EBUSY',
  'EMFILE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'PROTOCOL_CONNECTION_LOST',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
]);

/** Errors no retry cures: permissions, a read-only file system, missing credentials. */
const PERMANENT_CODES = new Set(['EROFS', 'EACCES', 'EPERM', 'SQLITE_READONLY', 'ER_ACCESS_DENIED_ERROR']);

/** AWS exception names that mean "slow down", whatever the service calls it. */
const THROTTLING = /throttl|toomanyrequests|requestlimitexceeded|slowdown|provisionedthroughputexceeded/i;
/** AWS credentials missing or unusable. */
const CREDENTIALS = /^CredentialsProviderError$|^InvalidClientTokenId$|^UnrecognizedClientException$/;

/**
 * Whether an HTTP status is worth retrying: server faults, 408 (timeout), 425 (too early) and 429
 * (too many requests); any other 4xx will be refused again.
 *
 * @example
 * ```ts
 * classifyStatus(410); // 'permanent'
 * ```
 */
export function classifyStatus(status: number): ErrorKind {
  return status >= 500 || status === 408 || status === 425 || status === 429 ? 'transient' : 'permanent';
}

/**
 * The one classification of errors. In order: an explicit `retryable` boolean (our errors say it
 * themselves); Node and driver error codes; AWS SDK v3 fields (throttling and `$retryable` are
 * transient, missing credentials permanent, then the HTTP status or the fault side); an HTTP
 * `status`; then the `cause`. Anything unknown is transient: the checkpoint waits rather than
 * anything being lost.
 *
 * @example
 * ```ts
 * classifyError(Object.assign(new Error('gone'), { status: 410 })); // 'permanent'
 * classifyError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })); // 'transient'
 * ```
 */
export function classifyError(err: unknown, depth = 0): ErrorKind {
  if (typeof err !== 'object' || err === null) return 'transient';
  const e = err as ErrorShape;
  if (typeof e.retryable === 'boolean') return e.retryable ? 'transient' : 'permanent';
  // The AWS SDK's missing region is a plain Error: a configuration mistake no wait cures.
  if ((err as { message?: unknown }).message === 'Region is missing') return 'permanent';
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return 'transient';
  if (code !== undefined && PERMANENT_CODES.has(code)) return 'permanent';
  const name = typeof e.name === 'string' ? e.name : '';
  if (CREDENTIALS.test(name)) return 'permanent';
  if (THROTTLING.test(name) || e.$retryable) return 'transient';
  const status =
    typeof e.$metadata?.httpStatusCode === 'number'
      ? e.$metadata.httpStatusCode
      : typeof e.status === 'number'
        ? e.status
        : typeof e.statusCode === 'number'
          ? e.statusCode
          : undefined;
  if (status !== undefined && status >= 400) return classifyStatus(status);
  if (e.$fault === 'server') return 'transient';
  if (e.$fault === 'client') return 'permanent';
  if (e.cause !== undefined && depth < 5) return classifyError(e.cause, depth + 1);
  return 'transient';
}

/**
 * Why {@link RetryPolicy.run} stopped trying: `permanent` (the error will recur), `attempts` (the
 * policy's `maxAttempts` were used), `deadline` (no time left for another wait), `aborted` (the
 * signal fired, e.g. shutdown).
 *
 * @example
 * ```ts
 * const why: GiveUpReason = 'deadline';
 * ```
 */
export type GiveUpReason = 'permanent' | 'attempts' | 'deadline' | 'aborted';

/**
 * A retried operation was given up; `cause` is its last error.
 *
 * @example
 * ```ts
 * try { await policy.run('sink slack', publish); }
 * catch (err) { if (err instanceof RetryGiveUpError && err.reason === 'permanent') park(err.cause); }
 * ```
 */
export class RetryGiveUpError extends Error {
  override readonly name = 'RetryGiveUpError';
  constructor(
    /** What was tried: `state store`, `sink slack`, … */
    readonly what: string,
    readonly reason: GiveUpReason,
    readonly attempts: number,
    cause: unknown,
  ) {
    const why = {
      permanent: 'a permanent error',
      attempts: `${attempts} attempts`,
      deadline: 'the deadline',
      aborted: 'shutdown',
    }[reason];
    super(`${what}: gave up after ${why}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/**
 * What an observer is told before each wait.
 *
 * @example
 * ```ts
 * const onRetry = (a: RetryAttempt) => log.warn({ what: a.what, attempt: a.attempt, delayMs: a.delayMs }, 'retrying');
 * ```
 */
export interface RetryAttempt {
  what: string;
  /** 1 after the first failure. */
  attempt: number;
  /** How long the policy waits before the next attempt. */
  delayMs: number;
  error: unknown;
  kind: ErrorKind;
}

/**
 * Settings of a {@link RetryPolicy}.
 *
 * @example
 * ```ts
 * const options: RetryPolicyOptions = { baseDelayMs: 100, maxDelayMs: 30_000, maxAttempts: Infinity };
 * ```
 */
export interface RetryPolicyOptions {
  /** The first wait's cap; it doubles per attempt. Default 100 ms. */
  baseDelayMs?: number;
  /** The largest wait. Default 30 s. */
  maxDelayMs?: number;
  /** Attempts in all, the first included. Default unbounded (a stream job's checkpoint waits). */
  maxAttempts?: number;
  /**
   * Epoch ms no wait runs past (a Lambda invocation's end, less a reserve): a wait that would is cut to
   * end there, and a failure at or after it gives up. Read at each failure, so one policy serves
   * successive invocations. Default none.
   */
  deadline?: () => number;
  /** Also give up on a permanent error at once (default true; false retries everything). */
  stopOnPermanent?: boolean;
  classify?: (error: unknown) => ErrorKind;
  /** Uniform in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Waits `ms`, rejecting when `signal` aborts. Default a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/**
 * Options of one {@link RetryPolicy.run}.
 *
 * @example
 * ```ts
 * const options: RunOptions = { signal: shutdown.signal, onRetry: (a) => log.warn(a, 'retrying') };
 * ```
 */
export interface RunOptions {
  /** Aborting stops the waiting at once: the run rejects with reason `aborted`. */
  signal?: AbortSignal;
  /** Observer of each failed attempt (before its wait). */
  onRetry?: (attempt: RetryAttempt) => void;
  /** A wait the other side asked for (`Retry-After`), ms, read from an error; longer waits win. */
  retryAfterMs?: (error: unknown) => number | undefined;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Retries an operation with capped exponential back-off and full jitter.
 *
 * @example
 * ```ts
 * const policy = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 30_000 });
 * await policy.run('sink slack', () => slack.publish(batch), { signal, onRetry: (a) => log.warn(a) });
 * ```
 */
export class RetryPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxAttempts: number;
  private readonly o: RetryPolicyOptions;

  constructor(options: RetryPolicyOptions = {}) {
    this.o = options;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    if (!(this.baseDelayMs >= 0) || !(this.maxDelayMs >= this.baseDelayMs)) {
      throw new RangeError(
        `retry policy: need 0 ≤ baseDelayMs ≤ maxDelayMs, got ${this.baseDelayMs} and ${this.maxDelayMs}`,
      );
    }
    if (!(this.maxAttempts >= 1))
      throw new RangeError(`retry policy: maxAttempts must be ≥ 1, got ${this.maxAttempts}`);
  }

  /** A policy with some settings changed. */
  with(changes: RetryPolicyOptions): RetryPolicy {
    return new RetryPolicy({ ...this.o, ...changes });
  }

  /** How an error is classified under this policy. */
  classify(error: unknown): ErrorKind {
    return (this.o.classify ?? classifyError)(error);
  }

  /**
   * The wait before retry `attempt` (1-based): uniform in [0, min(max, base · 2^(attempt−1))), "full
   * jitter", so workers that failed together do not retry in step; at least `floorMs`.
   */
  delayBefore(attempt: number, floorMs = 0): number {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(attempt - 1, 52));
    return Math.max(floorMs, Math.floor(cap * (this.o.random ?? Math.random)()));
  }

  /**
   * Runs `task` until it succeeds, or gives up with a {@link RetryGiveUpError} (reason `permanent`,
   * `attempts`, `deadline` or `aborted`) carrying the last error.
   */
  async run<T>(what: string, task: (attempt: number) => Promise<T>, options: RunOptions = {}): Promise<T> {
    const { signal } = options;
    const sleep = this.o.sleep ?? defaultSleep;
    const now = this.o.now ?? Date.now;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new RetryGiveUpError(what, 'aborted', attempt - 1, signal.reason);
      let error: unknown;
      try {
        return await task(attempt);
      } catch (err) {
        error = err;
      }
      const kind = this.classify(error);
      if (kind === 'permanent' && this.o.stopOnPermanent !== false) {
        throw new RetryGiveUpError(what, 'permanent', attempt, error);
      }
      if (attempt >= this.maxAttempts) throw new RetryGiveUpError(what, 'attempts', attempt, error);
      if (signal?.aborted) throw new RetryGiveUpError(what, 'aborted', attempt, error);
      let delayMs = this.delayBefore(attempt, options.retryAfterMs?.(error) ?? 0);
      const deadline = this.o.deadline?.();
      if (deadline !== undefined) {
        // No wait runs past the deadline: the last attempt comes at it, then the policy gives up.
        const left = deadline - now();
        if (left <= 0) throw new RetryGiveUpError(what, 'deadline', attempt, error);
        delayMs = Math.min(delayMs, left);
      }
      try {
        options.onRetry?.({ what, attempt, delayMs, error, kind });
      } catch {
        // An observer cannot steer the policy.
      }
      try {
        await sleep(delayMs, signal);
      } catch {
        throw new RetryGiveUpError(what, 'aborted', attempt, error);
      }
    }
  }
}
