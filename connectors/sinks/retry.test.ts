import { describe, expect, it, vi } from 'vitest';
import { makeNotification } from '../../pipeline/alerts/testing.js';
import type { AlertNotification, AlertSink } from '../../pipeline/ports.js';
import { classifyError } from '../../pipeline/retry.js';
import { SinkConfigError, SinkDeliveryError, withRetry } from './retry.js';

/** A sink that fails with the given errors, one per call, then succeeds. */
function flaky(errors: Error[]): AlertSink & { calls: AlertNotification[][]; closed: boolean } {
  const sink = {
    name: 'flaky',
    calls: [] as AlertNotification[][],
    closed: false,
    async publish(ns: readonly AlertNotification[]) {
      sink.calls.push([...ns]);
      const err = errors.shift();
      if (err) throw err;
    },
    async close() {
      sink.closed = true;
    },
  };
  return sink;
}

const retryable = (retryAfterMs?: number) =>
  new SinkDeliveryError('503', { sink: 'flaky', retryable: true, status: 503, retryAfterMs });
const permanent = () => new SinkDeliveryError('400', { sink: 'flaky', retryable: false, status: 400 });

describe('withRetry', () => {
  it('retries retryable errors with full-jitter back-off and then succeeds', async () => {
    const sink = flaky([retryable(), retryable(), retryable()]);
    const sleep = vi.fn(async (_ms: number, _signal: AbortSignal) => {});
    const onRetry = vi.fn();
    const wrapped = withRetry(sink, { random: () => 0.5, sleep, onRetry });
    await wrapped.publish([makeNotification('n1')]);
    expect(sink.calls).toHaveLength(4);
    expect(sleep.mock.calls.map((c) => c[0])).toEqual([100, 200, 400]);
    expect(onRetry.mock.calls.map((c) => [c[0].attempt, c[0].delayMs, c[0].sink])).toEqual([
      [1, 100, 'flaky'],
      [2, 200, 'flaky'],
      [3, 400, 'flaky'],
    ]);
    expect(wrapped.name).toBe('flaky');
  });

  it('waits uniformly below min(maxDelayMs, baseDelayMs · 2^(n−1)) before the n-th retry', async () => {
    const sleep = vi.fn(async (_ms: number, _signal: AbortSignal) => {});
    const errors = Array.from({ length: 8 }, () => retryable());
    await withRetry(flaky(errors), {
      retries: 8,
      baseDelayMs: 200,
      maxDelayMs: 10_000,
      random: () => 0.999,
      sleep,
    }).publish([]);
    expect(sleep.mock.calls.map((c) => c[0])).toEqual([199, 399, 799, 1598, 3196, 6393, 9990, 9990]);
    sleep.mockClear();
    await withRetry(flaky([retryable(), retryable()]), { random: () => 0, sleep }).publish([]);
    expect(sleep.mock.calls.map((c) => c[0])).toEqual([0, 0]);
  });

  it('gives up after `retries` retries with the last error', async () => {
    const last = retryable();
    const sink = flaky([retryable(), retryable(), last]);
    const wrapped = withRetry(sink, { retries: 2, sleep: async () => {} });
    await expect(wrapped.publish([makeNotification('n1')])).rejects.toBe(last);
    expect(sink.calls).toHaveLength(3);
  });

  it('throws permanent errors and foreign errors at once', async () => {
    const sleep = vi.fn(async () => {});
    const p = permanent();
    await expect(withRetry(flaky([p]), { sleep }).publish([])).rejects.toBe(p);
    const bug = new TypeError('bug');
    await expect(withRetry(flaky([bug]), { sleep }).publish([])).rejects.toBe(bug);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('waits at least the Retry-After the sink reports, and stops when it exceeds maxDelayMs', async () => {
    const sleep = vi.fn(async (_ms: number, _signal: AbortSignal) => {});
    await withRetry(flaky([retryable(3000)]), { random: () => 0.5, sleep }).publish([]);
    expect(sleep.mock.calls[0][0]).toBe(3000);
    const tooLong = retryable(60_000);
    const sink = flaky([tooLong]);
    await expect(withRetry(sink, { sleep, maxDelayMs: 10_000 }).publish([])).rejects.toBe(tooLong);
    expect(sink.calls).toHaveLength(1);
  });

  it('cuts a back-off wait short on close and closes the inner sink', async () => {
    const err = retryable();
    const sink = flaky([err]);
    let waiting: () => void = () => {};
    const waits = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const wrapped = withRetry(sink, { baseDelayMs: 10_000, random: () => 0.99, onRetry: () => waiting() });
    const started = Date.now();
    const publishing = wrapped.publish([]);
    await waits;
    await wrapped.close();
    await expect(publishing).rejects.toBe(err);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sink.closed).toBe(true);
  });

  it('throws what the sink said, so that the engine classifies a permanent refusal as permanent', async () => {
    const gone = new SinkDeliveryError('410', { sink: 'flaky', retryable: false, status: 410 });
    const err = await withRetry(flaky([gone]), { sleep: async () => {} })
      .publish([])
      .catch((e: unknown) => e);
    expect(err).toBe(gone);
    expect(classifyError(err)).toBe('permanent');
    const busy = retryable();
    const last = await withRetry(flaky([retryable(), busy]), { retries: 1, sleep: async () => {} })
      .publish([])
      .catch((e: unknown) => e);
    expect(last).toBe(busy);
    expect(classifyError(last)).toBe('transient');
  });

  it('publishes once, without waiting, once closed', async () => {
    const sleep = vi.fn(async () => {});
    const err = retryable();
    const sink = flaky([err]);
    const wrapped = withRetry(sink, { sleep });
    await wrapped.close();
    await expect(wrapped.publish([])).rejects.toBe(err);
    expect(sink.calls).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('validates its options, naming them', () => {
    expect(() => withRetry(flaky([]), { retries: -1 })).toThrow(SinkConfigError);
    expect(() => withRetry(flaky([]), { retries: 1.5 })).toThrow(/^retries must be a whole number ≥ 0/);
    expect(() => withRetry(flaky([]), { baseDelayMs: 500, maxDelayMs: 100 })).toThrow(/maxDelayMs \(100\)/);
  });
});

describe('SinkDeliveryError', () => {
  it('carries the sink, the retryable flag and the cause', () => {
    const cause = new Error('ECONNRESET');
    const err = new SinkDeliveryError('failed', { sink: 'webhook', retryable: true, cause });
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'SinkDeliveryError', sink: 'webhook', retryable: true, cause });
  });
});
