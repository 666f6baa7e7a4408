/**
 * An alert sink that e-mails each notification over SMTP (nodemailer), as plain text (the block the
 * console prints) and HTML (the same content as a table), with a subject a mailbox rule can sort on:
 * `[shelfwatch] CRITICAL shrinkage at WH-EAST (3 SKUs)`.
 *
 * Repeats: ids sent in this process are remembered (a bounded LRU), so a retried publish does not mail
 * again what went through. Across processes the `Message-ID` is derived from the notification id, so
 * a replayed notification carries the same Message-ID and mail systems that drop duplicate Message-IDs
 * (Gmail, most list servers, many clients) show it once; the id is also in `X-Shelfwatch-Notification-Id`.
 *
 * The SMTP password never leaves this module: it is held in #private fields (so `util.inspect`,
 * `JSON.stringify` and loggers never see it), and blanked out of any server answer quoted in an error.
 * Data is escaped for HTML, so an SKU cannot inject markup into the mail.
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { createTransport } from 'nodemailer';
import type { AlertNotification, AlertSink, Anomaly, Severity } from '../../pipeline/ports.js';
import { classifyError, type ErrorKind } from '../../pipeline/retry.js';
import {
  alertSubject,
  clean,
  formatTime,
  formatValue,
  plural,
  skusOf,
  topFeatures,
  truncate,
  typeText,
} from './alert-text.js';
import { formatNotification } from './console.js';
import { DeliveredIds, undelivered } from './delivered-ids.js';
import { SinkConfigError, SinkDeliveryError } from './retry.js';

/**
 * Options of {@link EmailSink}.
 *
 * @example
 * ```ts
 * const options: EmailSinkOptions = {
 *   host: 'smtp.example.com', port: 587, user: 'alerts', password: process.env.SMTP_PASSWORD,
 *   from: 'shelfwatch <alerts@example.com>', to: ['inventory@example.com'],
 * };
 * ```
 */
export interface EmailSinkOptions {
  host: string;
  /** Default 587 (submission with STARTTLS). */
  port?: number;
  /** TLS from the first byte (port 465). Default: true on port 465, else STARTTLS when offered. */
  secure?: boolean;
  /** Refuse to send (or authenticate) unless the server upgrades to TLS with STARTTLS. Default false. */
  requireTls?: boolean;
  user?: string;
  /** Secret. */
  password?: string;
  from: string;
  to: readonly string[];
  cc?: readonly string[];
  /** Longest wait for connecting, the greeting, and each SMTP step, ms. Default 15,000. */
  timeoutMs?: number;
  /** The receiver name routes use. Default `email`. */
  name?: string;
  /** How many sent ids to remember. Default 10,000. */
  deliveredMemory?: number;
}

/**
 * Sending failed. `smtpCode` is the server's reply code when it answered (4xx: try later; 5xx: refused
 * for good); `code` is nodemailer's error code (`ECONNECTION`, `EAUTH`, `ETIMEDOUT`…).
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof EmailDeliveryError && err.code === 'EAUTH') alertOperator('SMTP login refused'); }
 * ```
 */
export class EmailDeliveryError extends SinkDeliveryError {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly smtpCode: number | undefined,
    options: { sink: string; retryable: boolean; cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EmailDeliveryError';
  }
}

/** What nodemailer's errors carry: its code, and the server's reply and reply code when it answered. */
interface SmtpError {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  message?: unknown;
}

/** nodemailer codes that another attempt may get past: the network, a timeout, a dropped connection. */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'EPROTOCOL',
  'EMAXLIMIT',
  'EABORT',
]);
/**
 * nodemailer codes that fail the same way until someone acts: a refused or missing login, an address
 * or message refused, TLS that cannot be had, a configuration the transport refuses, and Node's
 * permission model denying the network.
 */
const PERMANENT_CODES = new Set([
  'EAUTH',
  'ENOAUTH',
  'EENVELOPE',
  'EMESSAGE',
  'ETLS',
  'EREQUIRETLS',
  'ECONFIG',
  'EMAXRECIPIENTS',
  'ERR_ACCESS_DENIED',
]);

/**
 * Whether sending again may get a nodemailer failure through. The server's reply code decides when
 * there is one (RFC 5321: 4yz transient, 5yz permanent, except 503 "bad sequence of commands", a
 * session in the wrong state that a new connection gets past); else nodemailer's code (connection
 * failures transient; a refused login, refused addresses, TLS and configuration errors permanent);
 * else the pipeline's `classifyError` (a raw system code, or transient when unknown).
 *
 * @example
 * ```ts
 * classifySmtpError(Object.assign(new Error('Invalid login'), { code: 'EAUTH', responseCode: 535 })); // 'permanent'
 * classifySmtpError(Object.assign(new Error('Try again later'), { code: 'EENVELOPE', responseCode: 451 })); // 'transient'
 * ```
 */
export function classifySmtpError(err: unknown): ErrorKind {
  const e = (err ?? {}) as SmtpError;
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (reply !== undefined && reply >= 400 && reply < 600) {
    return reply < 500 || reply === 503 ? 'transient' : 'permanent';
  }
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return 'transient';
  if (code !== undefined && PERMANENT_CODES.has(code)) return 'permanent';
  return classifyError(err);
}
const SUBJECT_MAX = 200;
const MAX_ANOMALIES = 20;
const MAX_EVENT_IDS = 8;

const SEVERITY_COLOR: Record<Severity, string> = { critical: '#b00020', warning: '#b26a00', info: '#1565c0' };

/**
 * Text made safe inside HTML elements and quoted attributes: `& < > " '` as entities.
 *
 * @example
 * ```ts
 * escapeHtml('<b>"x" & y</b>'); // '&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Data for HTML: control characters replaced, then escaped. */
function h(text: string): string {
  return escapeHtml(clean(text));
}

/**
 * The `Message-ID` of a notification: the same for the same id, so that mail systems can drop a
 * replayed notification. `<shelfwatch.ID@DOMAIN>`, DOMAIN being the sender's (the id hashed when it
 * holds characters a Message-ID cannot).
 *
 * @example
 * ```ts
 * emailMessageId('4f1c…', 'shelfwatch <alerts@example.com>'); // '<shelfwatch.4f1c…@example.com>'
 * ```
 */
export function emailMessageId(notificationId: string, from: string): string {
  const local = /^[A-Za-z0-9_-]{1,100}$/.test(notificationId)
    ? notificationId
    : createHash('sha256').update(notificationId).digest('hex');
  const domain =
    /@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)>?\s*$/.exec(
      from,
    )?.[1];
  return `<shelfwatch.${local}@${domain ?? 'shelfwatch.invalid'}>`;
}

function anomalyHtml(a: Anomaly): string {
  const features = topFeatures(a.explanation.features)
    .map((f) => {
      const share = f.contribution === undefined ? '' : `${Math.round(f.contribution * 100)}%`;
      return `<tr><td>${h(f.name)}</td><td align="right">${h(formatValue(f.observed, f.unit))}</td><td align="right">${h(formatValue(f.expected, f.unit))}</td><td align="right">${share}</td></tr>`;
    })
    .join('');
  const ids = a.eventIds.slice(0, MAX_EVENT_IDS).map(h).join(', ');
  const more = a.eventIds.length > MAX_EVENT_IDS ? ` and ${a.eventIds.length - MAX_EVENT_IDS} more` : '';
  return [
    `<h3 style="margin:16px 0 4px">SKU ${h(a.sku)} · ${Math.round(a.score * 100)}% sure · ${h(a.severity)}</h3>`,
    `<p style="margin:4px 0"><b>Why:</b> ${h(a.explanation.summary)}</p>`,
    features
      ? `<table cellpadding="4" style="border-collapse:collapse"><tr><th align="left">feature</th><th align="right">observed</th><th align="right">expected</th><th align="right">share of score</th></tr>${features}</table>`
      : '',
    `<p style="margin:4px 0;color:#666"><small>Detected ${h(formatTime(a.detectedAt))} by ${h(a.detector)} · events ${ids || 'none'}${more} · anomaly ${h(a.id)}</small></p>`,
  ].join('\n');
}

/**
 * The HTML body of a notification: the console block's content as markup, every piece of data escaped.
 *
 * @example
 * ```ts
 * const html = emailHtml(notification);
 * ```
 */
export function emailHtml(n: AlertNotification): string {
  const count = n.anomalies.length;
  const skus = skusOf(n).length;
  const where =
    count > 0
      ? `warehouse ${h(n.warehouse)} · ${plural(count, 'anomaly', 'anomalies')} on ${plural(skus, 'SKU')}`
      : `warehouse ${h(n.warehouse)}`;
  const parts = [
    '<!doctype html>',
    '<html><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">',
    `<h2 style="color:${SEVERITY_COLOR[n.severity] ?? '#222'};margin:0 0 8px">${h(n.severity.toUpperCase())} · ${h(typeText(n.type))}</h2>`,
    `<p style="margin:4px 0"><b>Where:</b> ${where}</p>`,
  ];
  if (n.suppressed > 0) {
    parts.push(
      `<p style="margin:4px 0"><b>${count > 0 ? 'Also' : 'Summary'}:</b> ${plural(n.suppressed, 'anomaly', 'anomalies')} held back by the rate limit (not listed; see the anomaly log)</p>`,
    );
  }
  for (const a of n.anomalies.slice(0, MAX_ANOMALIES)) parts.push(anomalyHtml(a));
  if (count > MAX_ANOMALIES) {
    parts.push(`<p>… and ${count - MAX_ANOMALIES} more anomalies in this notification</p>`);
  }
  parts.push(
    `<p style="color:#666;margin-top:16px"><small>shelfwatch · notification ${h(n.id)} · group ${h(n.groupKey)}</small></p>`,
    '</body></html>',
  );
  return parts.join('\n');
}

/**
 * Subject, plain text and HTML of a notification.
 *
 * @example
 * ```ts
 * const { subject, text, html } = emailContent(notification);
 * ```
 */
export function emailContent(n: AlertNotification): { subject: string; text: string; html: string } {
  return {
    subject: truncate(alertSubject(n), SUBJECT_MAX),
    text: formatNotification(n, { color: false }),
    html: emailHtml(n),
  };
}

/**
 * E-mails notifications over SMTP, one message each, in order, over one pooled connection.
 *
 * A message some recipients refused but one accepted counts as sent (sending it again would reach the
 * others twice). A 4xx answer, a timeout or a lost connection is retryable; a 5xx answer (535: login
 * refused; 550: recipient refused) or a missing login is not (see {@link classifySmtpError}).
 *
 * @example
 * ```ts
 * const sink = withRetry(new EmailSink({ host: 'smtp.example.com', from: 'alerts@example.com', to: ['ops@example.com'] }));
 * await sink.publish(notifications);
 * ```
 */
export class EmailSink implements AlertSink {
  readonly name: string;
  /** `smtp://host:port`, safe to show. */
  private readonly where: string;
  private readonly from: string;
  private readonly to: readonly string[];
  private readonly cc: readonly string[];
  // The transport holds the credentials in its options: #private, like the password itself.
  readonly #transport: ReturnType<typeof createTransport>;
  readonly #secrets: string[];
  private readonly delivered: DeliveredIds;
  private closed = false;

  /** @throws {SinkConfigError} naming the bad option (never echoing the password). */
  constructor(options: EmailSinkOptions) {
    this.name = options.name ?? 'email';
    const port = options.port ?? 587;
    if (!options.host) throw new SinkConfigError(`email sink "${this.name}": host is required`);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new SinkConfigError(
        `email sink "${this.name}": port must be an integer from 1 to 65535, got ${port}`,
      );
    }
    if (options.to.length === 0)
      throw new SinkConfigError(`email sink "${this.name}": to must name a recipient`);
    for (const [key, list] of [
      ['from', [options.from]],
      ['to', options.to],
      ['cc', options.cc ?? []],
    ] as const) {
      for (const address of list) {
        if (!/@/.test(address) || /[\r\n]/.test(address)) {
          throw new SinkConfigError(
            `email sink "${this.name}": ${key} must be e-mail addresses, got ${JSON.stringify(address)}`,
          );
        }
      }
    }
    if (options.password !== undefined && options.user === undefined) {
      throw new SinkConfigError(`email sink "${this.name}": password is set but user is not`);
    }
    const timeoutMs = options.timeoutMs ?? 15_000;
    this.where = `smtp://${options.host}:${port}`;
    this.from = options.from;
    this.to = [...options.to];
    this.cc = [...(options.cc ?? [])];
    this.#transport = createTransport({
      pool: true,
      // One connection: messages go out in order, and a small server is not flooded.
      maxConnections: 1,
      host: options.host,
      port,
      secure: options.secure ?? port === 465,
      requireTLS: options.requireTls ?? false,
      auth: options.user === undefined ? undefined : { user: options.user, pass: options.password ?? '' },
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
    const secrets = new Set<string>();
    if (options.password) {
      secrets.add(options.password);
      secrets.add(Buffer.from(options.password).toString('base64'));
      secrets.add(Buffer.from(`\0${options.user}\0${options.password}`).toString('base64'));
    }
    this.#secrets = [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
    this.delivered = new DeliveredIds(options.deliveredMemory);
  }

  /** Host and port only, safe to log. */
  toString(): string {
    return `EmailSink(${this.name} → ${this.where})`;
  }

  async publish(notifications: readonly AlertNotification[]): Promise<void> {
    if (this.closed) {
      throw new SinkDeliveryError(`email sink "${this.name}" is closed`, {
        sink: this.name,
        retryable: false,
      });
    }
    for (const n of undelivered(notifications, this.delivered)) {
      await this.send(n);
      this.delivered.add(n.id);
    }
  }

  /** Closes the pooled SMTP connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.#transport.close();
  }

  private async send(n: AlertNotification): Promise<void> {
    const { subject, text, html } = emailContent(n);
    try {
      await this.#transport.sendMail({
        from: this.from,
        to: [...this.to],
        cc: this.cc.length > 0 ? [...this.cc] : undefined,
        subject,
        text,
        html,
        messageId: emailMessageId(n.id, this.from),
        priority: n.severity === 'critical' ? 'high' : 'normal',
        headers: {
          // RFC 3834: no auto-replies (vacation notices) back to the alert sender.
          'Auto-Submitted': 'auto-generated',
          'X-Shelfwatch-Notification-Id': clean(n.id),
          'X-Shelfwatch-Severity': n.severity,
          'X-Shelfwatch-Type': clean(n.type),
          'X-Shelfwatch-Warehouse': clean(n.warehouse),
        },
      });
    } catch (err) {
      throw this.deliveryError(err);
    }
  }

  private deliveryError(err: unknown): EmailDeliveryError {
    const e = (err ?? {}) as SmtpError;
    const code = typeof e.code === 'string' ? e.code : undefined;
    const smtpCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
    const retryable = classifySmtpError(err) === 'transient';
    const said = this.redact(
      typeof e.response === 'string' ? e.response : typeof e.message === 'string' ? e.message : String(err),
    );
    return new EmailDeliveryError(
      `email sink "${this.name}": sending via ${this.where} failed${code ? ` (${code})` : ''}: ${said}${retryable ? '' : ' (not retried)'}`,
      code,
      smtpCode,
      // The original error is kept for debugging unless it quotes a credential anywhere inside.
      { sink: this.name, retryable, cause: this.mentionsSecret(err) ? undefined : err },
    );
  }

  private mentionsSecret(err: unknown): boolean {
    const shown = inspect(err, { depth: 4 });
    return this.#secrets.some((s) => shown.includes(s));
  }

  /** The password (and its base64 forms, as AUTH sends it) blanked out; one line, bounded. */
  private redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join('[redacted]');
    return out.replace(/[\p{Cc}]/gu, ' ').slice(0, 300);
  }
}
