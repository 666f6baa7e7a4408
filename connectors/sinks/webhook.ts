/**
 * An alert sink that POSTs each notification as JSON to an HTTP endpoint, with the notification id as
 * `Idempotency-Key` so that the receiving end can drop a repeat (the pipeline re-sends after a crash).
 *
 * Webhook URLs and headers are secrets: Slack-style URLs carry their credential in the path, others in
 * the query or an `Authorization` header. So nothing this sink says (error messages, `toString`) shows
 * more of the URL than scheme and host, and response bodies quoted in errors have every configured
 * secret blanked out.
 */
import type { AlertNotification, AlertSink } from '../../pipeline/ports.js';
import { classifyStatus } from '../../pipeline/retry.js';
import { DeliveredIds, undelivered } from './delivered-ids.js';
import { endpointUrl, parseRetryAfter, postJson, timeoutOption } from './http-post.js';
import { SinkConfigError, SinkDeliveryError } from './retry.js';

export { parseRetryAfter } from './http-post.js';

/**
 * Options of {@link WebhookSink}.
 *
 * @example
 * ```ts
 * const options: WebhookSinkOptions = { url: 'https://alerts.example.com/hook', headers: { authorization: 'Bearer …' } };
 * ```
 */
export interface WebhookSinkOptions {
  /** http(s) endpoint; user info (`user:pw@`) is refused: pass credentials in `headers`. */
  url: string;
  /** Extra request headers, typically authorization. Their values are never shown. */
  headers?: Record<string, string>;
  /** Longest wait for the whole answer (headers and body), ms. Default 5000. */
  timeoutMs?: number;
  /** The receiver name routes use. Default `webhook`. */
  name?: string;
}

/** Headers this sink sets itself: letting configuration override them would break delivery or dedup. */
const RESERVED_HEADERS = new Set([
  'idempotency-key',
  'content-type',
  'content-length',
  'host',
  'transfer-encoding',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Enough of an error body to say what was wrong, not enough to flood a log. */
const BODY_SNIPPET = 300;

/**
 * Delivers notifications to an HTTP endpoint, one POST of `{ "notification": … }` each, in order.
 * 2xx is delivered; 408, 425, 429, 5xx, network failures and timeouts are retryable
 * {@link SinkDeliveryError}s (with `retryAfterMs` from `Retry-After`); any other answer (4xx, a
 * redirect) is permanent. Redirects are not followed: a redirect would carry the credentials to
 * another address.
 *
 * @example
 * ```ts
 * const sink = withRetry(new WebhookSink({ url: 'https://alerts.example.com/hook?token=…', timeoutMs: 3000 }));
 * await sink.publish(notifications);
 * ```
 */
export class WebhookSink implements AlertSink {
  readonly name: string;
  // Secrets live in #private fields: `util.inspect`, `JSON.stringify` and loggers never see them.
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #secrets: string[];
  /** Scheme and host only: what messages may show. */
  private readonly where: string;
  private readonly timeoutMs: number;
  /** Ids delivered recently, so that a retried batch skips what already went through. */
  private readonly delivered = new DeliveredIds();
  private closed = false;

  /** @throws {SinkConfigError} naming the bad option (never echoing the URL or a header value). */
  constructor(options: WebhookSinkOptions) {
    this.name = options.name ?? 'webhook';
    const { url, where } = endpointUrl(
      options.url,
      `webhook sink "${this.name}": url`,
      '; pass credentials in headers (e.g. authorization)',
    );
    this.#url = url;
    this.where = where;
    this.timeoutMs = timeoutOption(options.timeoutMs, 5000, `webhook sink "${this.name}": timeoutMs`);
    this.#headers = {};
    for (const [key, value] of Object.entries(options.headers ?? {})) {
      if (!TOKEN.test(key))
        throw new SinkConfigError(`webhook sink "${this.name}": headers: "${key}" is not a header name`);
      if (RESERVED_HEADERS.has(key.toLowerCase())) {
        throw new SinkConfigError(
          `webhook sink "${this.name}": headers.${key} is set by the sink and cannot be configured`,
        );
      }
      // A CR or LF would be refused by fetch with the value in its message: refuse it here, unquoted.
      if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
        throw new SinkConfigError(`webhook sink "${this.name}": headers.${key} must be a single-line string`);
      }
      this.#headers[key] = value;
    }
    this.#secrets = secretsOf(url, Object.values(this.#headers));
  }

  /** Scheme and host only, safe to log. */
  toString(): string {
    return `WebhookSink(${this.name} → ${this.where})`;
  }

  async publish(notifications: readonly AlertNotification[]): Promise<void> {
    if (this.closed) {
      throw new SinkDeliveryError(`webhook sink "${this.name}" is closed`, {
        sink: this.name,
        retryable: false,
      });
    }
    for (const n of undelivered(notifications, this.delivered)) {
      await this.post(n);
      this.delivered.add(n.id);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async post(n: AlertNotification): Promise<void> {
    const { status, statusText, retryAfter, body } = await postJson(
      this.#url,
      {
        ...this.#headers,
        'content-type': 'application/json',
        'idempotency-key': n.id,
        'user-agent': this.#headers['user-agent'] ?? 'shelfwatch-webhook',
      },
      JSON.stringify({ notification: n }),
      { timeoutMs: this.timeoutMs, sink: this.name, who: `webhook sink "${this.name}"`, where: this.where },
    );
    if (status >= 200 && status < 300) return;
    const retryable = classifyStatus(status) === 'transient';
    const what =
      status >= 300 && status < 400
        ? 'a redirect, which is not followed (configure the final URL)'
        : `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
    const snippet = this.redact(body.slice(0, BODY_SNIPPET)).trim();
    throw new SinkDeliveryError(
      `webhook sink "${this.name}": POST to ${this.where} answered ${what}` +
        `${snippet ? `: ${JSON.stringify(snippet)}` : ''}${retryable ? '' : ' (not retried)'}`,
      {
        sink: this.name,
        retryable,
        status,
        retryAfterMs: retryable ? parseRetryAfter(retryAfter, Date.now()) : undefined,
      },
    );
  }

  /** Blanks every configured secret (and control characters) out of text quoted from the endpoint. */
  private redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join('[redacted]');
    return out.replace(/[\p{Cc}]/gu, ' ');
  }
}

/** The parts of the URL and the header values that could be credentials, longest first. */
function secretsOf(url: URL, headerValues: string[]): string[] {
  const parts = new Set<string>();
  const add = (s: string, min = 4) => {
    if (s.length >= min) parts.add(s);
  };
  add(url.pathname.length > 1 ? url.pathname : '');
  add(url.search.slice(1));
  // Long path segments look like tokens (Slack's T…/B…/secret); short ones are words like "hooks".
  for (const segment of url.pathname.split('/')) add(segment, 8);
  for (const [, v] of url.searchParams) add(v);
  for (const v of headerValues) {
    add(v);
    for (const token of v.split(/\s+/)) add(token);
  }
  return [...parts].sort((a, b) => b.length - a.length);
}
