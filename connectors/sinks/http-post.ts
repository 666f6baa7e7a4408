/**
 * What the HTTP sinks (webhook, Slack) share: a secret-bearing endpoint URL checked without echoing it,
 * and one JSON POST read to the end within a timeout, whose network failures are retryable
 * {@link SinkDeliveryError}s that name the host and the real cause only. Each sink judges the answer's
 * status itself, with the pipeline's `classifyStatus` (408, 425, 429 and 5xx transient; any other 4xx,
 * 410 included, permanent).
 */
import { describeCause } from '../../pipeline/errors.js';
import { SinkConfigError, SinkDeliveryError } from './retry.js';

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date. Returns ms, or undefined
 * when absent or unreadable.
 *
 * @example
 * ```ts
 * parseRetryAfter('120', Date.now()); // 120000
 * ```
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * An endpoint URL that may carry a credential, and the scheme and host that messages may show.
 *
 * @param option How errors name it: `slack sink "ops": webhookUrl`.
 * @param userInfoHint Appended to the refusal of `user:password@`.
 * @throws {SinkConfigError} naming the option, never echoing the URL.
 *
 * @example
 * ```ts
 * const { url, where } = endpointUrl('https://hooks.slack.com/services/T/B/X', 'slack sink "slack": webhookUrl');
 * ```
 */
export function endpointUrl(raw: string, option: string, userInfoHint = ''): { url: URL; where: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SinkConfigError(`${option} must be an http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SinkConfigError(`${option} must be an http(s) URL, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new SinkConfigError(`${option} must not contain user:password@${userInfoHint}`);
  }
  url.hash = '';
  return { url, where: `${url.protocol}//${url.host}` };
}

/**
 * A timeout option: `fallback` when absent, else a positive number of ms.
 *
 * @throws {SinkConfigError} naming the option.
 *
 * @example
 * ```ts
 * const timeoutMs = timeoutOption(options.timeoutMs, 5000, 'webhook sink "ops": timeoutMs');
 * ```
 */
export function timeoutOption(value: number | undefined, fallback: number, option: string): number {
  const ms = value ?? fallback;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new SinkConfigError(`${option} must be a positive number, got ${ms}`);
  }
  return ms;
}

/** An HTTP answer, read to its end. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  retryAfter: string | null;
  body: string;
}

/**
 * POSTs `body` without following redirects (a redirect would carry the credential elsewhere) and reads
 * the answer to its end within `timeoutMs`: that frees the connection for reuse, and an endpoint that
 * stalls mid-body has not accepted the request as far as we can tell.
 *
 * @param who How errors name the sink: `webhook sink "ops"`.
 * @throws {SinkDeliveryError} retryable, on a network failure (naming `where` and the real cause, e.g.
 *   `fetch failed: connect ECONNREFUSED 10.0.0.7:443`, never the path or query) or the timeout.
 *
 * @example
 * ```ts
 * const answer = await postJson(url, { 'content-type': 'application/json' }, '{}', {
 *   timeoutMs: 5000, sink: 'ops', who: 'webhook sink "ops"', where: 'https://alerts.example.com',
 * });
 * ```
 */
export async function postJson(
  url: URL,
  headers: Record<string, string>,
  body: string,
  o: { timeoutMs: number; sink: string; who: string; where: string },
): Promise<HttpAnswer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), o.timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: controller.signal,
    });
    return {
      status: res.status,
      statusText: res.statusText,
      retryAfter: res.headers.get('retry-after'),
      body: await res.text(),
    };
  } catch (err) {
    const reason = controller.signal.aborted
      ? `no complete answer within ${o.timeoutMs} ms`
      : withoutPathOrQuery(describeCause(err), url);
    throw new SinkDeliveryError(`${o.who}: POST to ${o.where}: ${reason}`, {
      sink: o.sink,
      retryable: true,
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `text` with the URL's path and query blanked out: they may hold the credential, and a network
 * error's message could quote the URL (today's undici messages name the address only).
 */
function withoutPathOrQuery(text: string, url: URL): string {
  let out = text.split(url.href).join(`${url.origin}/[redacted]`);
  for (const [part, blank] of [
    [`${url.pathname}${url.search}`, '/[redacted]'],
    [url.search, '?[redacted]'],
    [url.pathname, '/[redacted]'],
  ] as const) {
    if (part.length > 1) out = out.split(part).join(blank);
  }
  return out;
}
