import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeNotification } from '../../pipeline/alerts/testing.js';
import { classifyError } from '../../pipeline/retry.js';
import { SinkConfigError, SinkDeliveryError, withRetry } from './retry.js';
import { parseRetryAfter, WebhookSink } from './webhook.js';

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

type Reply = (res: ServerResponse, req: Received) => void;

let server: Server | undefined;

/** A loopback endpoint on an ephemeral port that answers each request with the next reply. */
async function endpoint(...replies: Reply[]): Promise<{ base: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(r);
      const reply = replies.length > 1 ? replies.shift() : replies[0];
      reply?.(res, r);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, received };
}

const status =
  (code: number, body = '', headers: Record<string, string> = {}): Reply =>
  (res) => {
    res.writeHead(code, headers);
    res.end(body);
  };
const never: Reply = () => {};

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const SECRET_PATH = 'T0000/B0000/pathSecret123456';
const SECRET_QUERY = 'querySecret98765';
const SECRET_HEADER = 'headerSecretXYZ42';

function expectNoSecrets(err: unknown): void {
  const shown = `${String(err)}\n${(err as Error).stack}\n${inspect(err, { depth: 10 })}`;
  for (const s of [SECRET_PATH, 'pathSecret123456', SECRET_QUERY, SECRET_HEADER])
    expect(shown).not.toContain(s);
}

describe('WebhookSink', () => {
  it('POSTs { notification } as JSON with the Idempotency-Key and configured headers', async () => {
    const { base, received } = await endpoint(status(204));
    const sink = new WebhookSink({
      url: `${base}/hooks/alerts?x=1`,
      headers: { authorization: 'Bearer t0ken' },
    });
    const n = makeNotification('n-123', ['a1', 'a2']);
    await sink.publish([n]);
    expect(received).toHaveLength(1);
    expect(received[0].method).toBe('POST');
    expect(received[0].url).toBe('/hooks/alerts?x=1');
    expect(received[0].headers).toMatchObject({
      'idempotency-key': 'n-123',
      'content-type': 'application/json',
      authorization: 'Bearer t0ken',
    });
    expect(JSON.parse(received[0].body)).toEqual({ notification: n });
  });

  it('is retried once by withRetry after a 500, with the same Idempotency-Key, then succeeds', async () => {
    const { base, received } = await endpoint(status(500, 'upstream down'), status(200, 'ok'));
    const sleep = vi.fn(async (_ms: number, _signal: AbortSignal) => {});
    const sink = withRetry(new WebhookSink({ url: `${base}/hook` }), { random: () => 0.5, sleep });
    await sink.publish([makeNotification('n1')]);
    expect(received.map((r) => r.headers['idempotency-key'])).toEqual(['n1', 'n1']);
    expect(sleep).toHaveBeenCalledTimes(1);
    expect(sleep.mock.calls[0][0]).toBe(100);
  });

  it('does not re-send notifications of a batch that were delivered before a failure', async () => {
    const { base, received } = await endpoint(status(200), status(503), status(200));
    const sink = withRetry(new WebhookSink({ url: base }), { sleep: async () => {} });
    await sink.publish([makeNotification('n1'), makeNotification('n2')]);
    expect(received.map((r) => r.headers['idempotency-key'])).toEqual(['n1', 'n2', 'n2']);
    await sink.publish([makeNotification('n1')]);
    expect(received).toHaveLength(3);
  });

  it('makes a 400 a permanent error that withRetry does not retry', async () => {
    const { base, received } = await endpoint(status(400, '{"error":"bad payload"}'));
    const sleep = vi.fn(async () => {});
    const err = await withRetry(new WebhookSink({ url: `${base}/hook`, name: 'ops' }), { sleep })
      .publish([makeNotification('n1')])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkDeliveryError);
    expect(err).toMatchObject({ sink: 'ops', retryable: false, status: 400 });
    expect((err as Error).message).toBe(
      `webhook sink "ops": POST to ${base} answered HTTP 400 Bad Request: "{\\"error\\":\\"bad payload\\"}" (not retried)`,
    );
    expect(received).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it.each([408, 425, 429, 502, 503])('makes %i retryable', async (code) => {
    const { base } = await endpoint(status(code));
    const err = await new WebhookSink({ url: base })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: code });
  });

  it('reports Retry-After, which withRetry waits for', async () => {
    const tooMany = status(429, '', { 'retry-after': '2' });
    const { base } = await endpoint(tooMany, tooMany, status(200));
    const err = await new WebhookSink({ url: base })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 2000 });
    const sleep = vi.fn(async (_ms: number, _signal: AbortSignal) => {});
    await withRetry(new WebhookSink({ url: base }), { sleep, random: () => 0 }).publish([
      makeNotification('n'),
    ]);
    expect(sleep.mock.calls[0][0]).toBe(2000);
  });

  it('does not follow redirects (they would carry the credentials elsewhere)', async () => {
    const { base, received } = await endpoint(status(307, '', { location: 'http://127.0.0.1:1/elsewhere' }));
    const err = await new WebhookSink({ url: base })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 307 });
    expect((err as Error).message).toContain('a redirect, which is not followed');
    expect(received).toHaveLength(1);
  });

  it('makes a timeout retryable', async () => {
    const { base } = await endpoint(never);
    const started = Date.now();
    const err = await new WebhookSink({ url: base, timeoutMs: 150 })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkDeliveryError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toBe(
      `webhook sink "webhook": POST to ${base}: no complete answer within 150 ms`,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('makes a refused connection retryable, naming the real cause but not the path or query', async () => {
    const { base } = await endpoint(never);
    const s = server;
    server = undefined;
    await new Promise((resolve) => s?.close(resolve));
    const err = await new WebhookSink({ url: `${base}/${SECRET_PATH}?token=${SECRET_QUERY}`, name: 'ops' })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true });
    expect(classifyError(err)).toBe('transient');
    expect((err as Error).message).toBe(
      `webhook sink "ops": POST to ${base}: fetch failed: connect ECONNREFUSED ${base.slice('http://'.length)}`,
    );
    expectNoSecrets(err);
  });

  it('makes a 410 Gone permanent: not retried, and the engine would park rather than retry', async () => {
    const { base, received } = await endpoint(status(410, 'webhook deleted'));
    const sleep = vi.fn(async () => {});
    const err = await withRetry(new WebhookSink({ url: `${base}/${SECRET_PATH}`, name: 'ops' }), { sleep })
      .publish([makeNotification('n1')])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkDeliveryError);
    expect(err).toMatchObject({ sink: 'ops', retryable: false, status: 410 });
    expect((err as Error).message).toBe(
      `webhook sink "ops": POST to ${base} answered HTTP 410 Gone: "webhook deleted" (not retried)`,
    );
    expect(classifyError(err)).toBe('permanent');
    expect(received).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
    expectNoSecrets(err);
  });

  it('never shows the URL path, query or header values, even when the endpoint echoes them', async () => {
    const echo: Reply = (res, req) => {
      res.writeHead(400);
      res.end(`bad request to ${req.url} with ${req.headers.authorization} and ${req.headers['x-api-key']}`);
    };
    const { base } = await endpoint(echo, status(500, 'oops'), never);
    const sink = new WebhookSink({
      url: `${base}/${SECRET_PATH}?token=${SECRET_QUERY}`,
      headers: { authorization: `Bearer ${SECRET_HEADER}`, 'x-api-key': SECRET_HEADER },
      timeoutMs: 150,
    });
    const errors: unknown[] = [];
    for (let i = 0; i < 3; i++)
      errors.push(await sink.publish([makeNotification(`n${i}`)]).catch((e: unknown) => e));
    expect(errors.map((e) => (e as SinkDeliveryError).retryable)).toEqual([false, true, true]);
    expect((errors[0] as Error).message).toContain(
      'bad request to [redacted]?[redacted] with [redacted] and [redacted]',
    );
    for (const err of errors) expectNoSecrets(err);
    expect(String(sink)).toBe(`WebhookSink(webhook → ${base})`);
    // Logging the sink object itself shows no secret either.
    for (const shown of [inspect(sink, { depth: 10 }), JSON.stringify(sink)]) {
      for (const s of ['pathSecret123456', SECRET_QUERY, SECRET_HEADER]) expect(shown).not.toContain(s);
    }
  });

  it('validates its options without echoing secrets', () => {
    const attempts: Array<[() => unknown, RegExp]> = [
      [() => new WebhookSink({ url: `ftp://host/${SECRET_PATH}` }), /url must be an http\(s\) URL, got ftp:/],
      [() => new WebhookSink({ url: `not a url ${SECRET_QUERY}` }), /url must be an http\(s\) URL$/],
      [
        () => new WebhookSink({ url: `https://user:${SECRET_QUERY}@host/x` }),
        /must not contain user:password@/,
      ],
      [
        () => new WebhookSink({ url: 'https://h/x', headers: { auth: `a\r\n${SECRET_HEADER}` } }),
        /headers\.auth must be/,
      ],
      [() => new WebhookSink({ url: 'https://h/x', headers: { 'Idempotency-Key': 'k' } }), /set by the sink/],
      [() => new WebhookSink({ url: 'https://h/x', timeoutMs: 0 }), /timeoutMs must be a positive number/],
    ];
    for (const [make, message] of attempts) {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SinkConfigError);
      expect((err as Error).message).toMatch(message);
      expectNoSecrets(err);
    }
  });

  it('refuses to publish after close', async () => {
    const sink = new WebhookSink({ url: 'http://127.0.0.1:9/x' });
    await sink.close();
    await expect(sink.publish([makeNotification('n')])).rejects.toMatchObject({ retryable: false });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-05T00:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 05 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Sun, 04 Jan 2026 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
