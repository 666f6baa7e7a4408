/**
 * AWS SDK v3 failures as {@link SinkDeliveryError}s: whether sending again may help, in the sinks'
 * terms. The SDK has already retried what it considers transient (throttling, 5xx, resets: 3 attempts
 * by default) before an error reaches us. Whether to try again is the pipeline's one classification
 * (`classifyError`: throttling, 5xx and network failures transient; a missing topic, a denied permission,
 * an invalid parameter, missing credentials permanent), so `withRetry` and the engine agree.
 */
import { describeCause } from '../../pipeline/errors.js';
import { classifyError } from '../../pipeline/retry.js';
import { SinkDeliveryError } from './retry.js';

/** The fields an SDK v3 service exception carries (smithy's `ServiceException`), all optional. */
interface AwsErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

/**
 * A short, secret-free description of an SDK failure: the exception name, its HTTP status and the
 * service's message (AWS messages name resources, never credentials), or the system error code of a
 * network failure.
 *
 * @example
 * ```ts
 * describeAwsError(err); // 'NotFoundException (HTTP 404): Topic does not exist'
 * ```
 */
export function describeAwsError(err: unknown): string {
  const e = (err ?? {}) as AwsErrorShape;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  // No answer from the service: the cause (refused, reset, unresolvable) is in the error chain.
  if (typeof e.$metadata?.httpStatusCode !== 'number' && e.$fault === undefined) {
    const cause = describeCause(err);
    return cause.startsWith(name) ? cause : `${name}: ${cause}`;
  }
  const status =
    typeof e.$metadata?.httpStatusCode === 'number' ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  const code = typeof e.code === 'string' ? e.code : codeOf(e.cause);
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : code;
  return `${name}${status}${message ? `: ${message.replace(/[\p{Cc}]/gu, ' ').slice(0, 300)}` : ''}`;
}

function codeOf(cause: unknown): string {
  const c = (cause ?? {}) as { code?: unknown };
  return typeof c.code === 'string' ? c.code : '';
}

/**
 * Wraps an SDK failure of `what` (e.g. `PublishBatch to arn:…`) as a {@link SinkDeliveryError}, keeping
 * the original as `cause`. A `SinkDeliveryError` passes through unchanged.
 *
 * @example
 * ```ts
 * try { await sns.send(command); }
 * catch (err) { throw awsDeliveryError(err, { sink: 'sns', what: `PublishBatch to ${topicArn}` }); }
 * ```
 */
export function awsDeliveryError(err: unknown, context: { sink: string; what: string }): SinkDeliveryError {
  if (err instanceof SinkDeliveryError) return err;
  const status = (err as AwsErrorShape | null)?.$metadata?.httpStatusCode;
  const retryable = classifyError(err) === 'transient';
  return new SinkDeliveryError(
    `${context.what} failed: ${describeAwsError(err)}${retryable ? '' : ' (not retried)'}`,
    {
      sink: context.sink,
      retryable,
      cause: err,
      status: typeof status === 'number' ? status : undefined,
    },
  );
}
