import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeCause } from './errors.js';
import { classifyError, RetryGiveUpError, RetryPolicy } from './retry.js';

const err = (fields: Record<string, unknown>, message = 'x'): Error =>
  Object.assign(new Error(message), fields);

describe('classifyError', () => {
  it.each([
    [{ retryable: false, status: 503 }, 'permanent'],
    [{ retryable: true, status: 400 }, 'transient'],
    [{ code: 'ECONNREFUSED' }, 'transient'],
    [{ code: 'ENOSPC' }, 'transient'],
    [{ code: 'EROFS' }, 'permanent'],
    [{ code: 'SQLITE_READONLY' }, 'permanent'],
    [{ status: 410 }, 'permanent'],
    [{ status: 404 }, 'permanent'],
    [{ status: 408 }, 'transient'],
    [{ status: 429 }, 'transient'],
    [{ status: 502 }, 'transient'],
    [{ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } }, 'transient'],
    [{ name: 'NotFoundException', $fault: 'client', $metadata: { httpStatusCode: 404 } }, 'permanent'],
    [
      { name: 'AuthorizationErrorException', $fault: 'client', $metadata: { httpStatusCode: 403 } },
      'permanent',
    ],
    [{ name: 'InternalFailure', $fault: 'server' }, 'transient'],
    [{ name: 'CredentialsProviderError' }, 'permanent'],
    [{ cause: { code: 'ECONNRESET' } }, 'transient'],
    [{ cause: { status: 410 } }, 'permanent'],
    [{}, 'transient'],
  ])('%o is %s', (fields, kind) => {
    expect(classifyError(err(fields))).toBe(kind);
  });

  it('treats anything that is not an object as transient (nothing is lost by waiting)', () => {
    for (const v of [undefined, null, 'boom', 42]) expect(classifyError(v)).toBe('transient');
  });
});

describe('RetryPolicy', () => {
  it('property: every wait is full jitter below the doubling cap, and at least what was asked', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 80 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 0, max: 50_000 }),
        (base, extra, attempt, r, floor) => {
          const p = new RetryPolicy({ baseDelayMs: base, maxDelayMs: base + extra, random: () => r });
          const d = p.delayBefore(attempt, floor);
          const cap = Math.min(base + extra, base * 2 ** (attempt - 1));
          expect(d).toBeGreaterThanOrEqual(floor);
          expect(d).toBeLessThanOrEqual(Math.max(floor, cap));
          if (floor === 0) expect(d).toBe(Math.floor(cap * r));
        },
      ),
    );
  });

  it('retries transient failures until success, telling the observer of each', async () => {
    const waits: number[] = [];
    const seen: number[] = [];
    const p = new RetryPolicy({ random: () => 0.5, sleep: async (ms) => void waits.push(ms) });
    let calls = 0;
    const out = await p.run(
      'store',
      async () => {
        if (++calls < 4) throw err({ code: 'ECONNRESET' });
        return 'ok';
      },
      { onRetry: (a) => seen.push(a.attempt) },
    );
    expect(out).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
    expect(waits).toEqual([50, 100, 200]);
  });

  it('gives up at once on a permanent error, and an observer that throws changes nothing', async () => {
    const p = new RetryPolicy({ sleep: async () => {} });
    let calls = 0;
    const give = await p
      .run(
        'sink slack',
        async () => {
          calls++;
          throw err({ status: calls === 1 ? 503 : 410 }, 'HTTP 410 Gone');
        },
        {
          onRetry: () => {
            throw new Error('observers do not steer');
          },
        },
      )
      .catch((e: unknown) => e);
    expect(give).toBeInstanceOf(RetryGiveUpError);
    expect(give).toMatchObject({ reason: 'permanent', attempts: 2, what: 'sink slack' });
    expect((give as Error).message).toBe('sink slack: gave up after a permanent error: HTTP 410 Gone');
  });

  it('stops on maxAttempts, on the deadline, and at once when aborted mid-wait', async () => {
    const failing = async (): Promise<never> => {
      throw err({ code: 'ETIMEDOUT' });
    };
    const few = new RetryPolicy({ maxAttempts: 3, sleep: async () => {} });
    await expect(few.run('a', failing)).rejects.toMatchObject({ reason: 'attempts', attempts: 3 });

    let now = 1_000;
    const timed = new RetryPolicy({
      random: () => 0.99,
      now: () => now,
      deadline: () => 1_500,
      sleep: async (ms) => {
        now += ms;
      },
    });
    await expect(timed.run('b', failing)).rejects.toMatchObject({ reason: 'deadline' });
    // The last wait was cut to end at the deadline, and the attempt made there was the last.
    expect(now).toBe(1_500);

    const stop = new AbortController();
    const forever = new RetryPolicy({ baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 0.999 });
    const running = forever.run('c', failing, { signal: stop.signal });
    stop.abort(new Error('shutdown'));
    await expect(running).rejects.toMatchObject({ reason: 'aborted', what: 'c' });
  });

  it('can retry permanent errors too (a store whose checkpoint must wait for an operator)', async () => {
    const p = new RetryPolicy({ stopOnPermanent: false, sleep: async () => {} });
    let calls = 0;
    await p.run('store', async () => {
      if (++calls < 3) throw err({ code: 'SQLITE_READONLY' });
    });
    expect(calls).toBe(3);
  });

  it('refuses nonsense settings', () => {
    expect(() => new RetryPolicy({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow(/baseDelayMs ≤ maxDelayMs/);
    expect(() => new RetryPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts must be ≥ 1/);
  });
});

describe('describeCause', () => {
  it('names the system error under a vague one (fetch failed → ECONNREFUSED)', () => {
    const refused = err(
      { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 9 },
      'connect ECONNREFUSED 127.0.0.1:9',
    );
    expect(describeCause(new TypeError('fetch failed', { cause: refused }))).toBe(
      'fetch failed: connect ECONNREFUSED 127.0.0.1:9',
    );
    // undici's AggregateError of a name with two addresses carries the code on its members.
    const both = new AggregateError(
      [err({ code: 'ECONNREFUSED', syscall: 'connect', address: '::1', port: 9 }, '')],
      '',
    );
    expect(describeCause(new TypeError('fetch failed', { cause: both }))).toBe(
      'fetch failed: ECONNREFUSED ::1:9 (connect)',
    );
  });

  it('adds an AWS status or an own code once, and blanks control characters', () => {
    expect(
      describeCause(
        err({ name: 'NotFoundException', $metadata: { httpStatusCode: 404 } }, 'Topic does not exist'),
      ),
    ).toBe('Topic does not exist (HTTP 404)');
    expect(describeCause(err({ code: 'SQLITE_FULL' }, 'database or disk is full'))).toBe(
      'database or disk is full (SQLITE_FULL)',
    );
    expect(describeCause(new Error('a\nb'))).toBe('a b');
  });

  it('adds the innermost message when no error of the chain has a code', () => {
    const badPort = new TypeError('fetch failed', { cause: new Error('bad port') });
    expect(describeCause(badPort)).toBe('fetch failed: bad port');
    expect(describeCause(new Error('write failed: disk', { cause: new Error('disk') }))).toBe(
      'write failed: disk',
    );
  });
});
