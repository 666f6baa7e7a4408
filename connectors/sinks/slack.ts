/**
 * An alert sink that posts each notification to a Slack incoming webhook as a Block Kit message an
 * inventory manager can act on from the channel: what happened (header), where and how sure (fields),
 * why (the detector's summary and its top features, observed against expected), and a link to the
 * dashboard.
 *
 * Slack webhooks have no idempotency key, so the sink remembers the ids it has posted (a bounded LRU):
 * a publish retried after a failure on item 7 does not post items 1 to 6 again. After a restart a
 * replayed notification is posted again; the message shows its id, so people can tell.
 *
 * The webhook URL is the credential (its path): nothing this sink says shows more of it than the host.
 * Data is escaped for Slack (`&`, `<`, `>`), so a SKU cannot smuggle in a `<!channel>` ping or a link.
 */
import type { AlertNotification, AlertSink, Anomaly, Severity } from '../../pipeline/ports.js';
import { classifyStatus } from '../../pipeline/retry.js';
import { featureLine, formatTime, plural, skusOf, topFeatures, typeText, typeWords } from './alert-text.js';
import { DeliveredIds, undelivered } from './delivered-ids.js';
import { endpointUrl, parseRetryAfter, postJson, timeoutOption } from './http-post.js';
import { SinkConfigError, SinkDeliveryError } from './retry.js';

/**
 * Options of {@link SlackSink}.
 *
 * @example
 * ```ts
 * const options: SlackSinkOptions = {
 *   webhookUrl: 'https://hooks.slack.com/services/T000/B000/XXXX',
 *   linkTemplate: 'https://dash.example/anomalies/{id}',
 * };
 * ```
 */
export interface SlackSinkOptions {
  /** The incoming webhook URL (secret: its path is the credential). */
  webhookUrl: string;
  /**
   * A dashboard link. Placeholders, URL-encoded when filled: `{id}` (notification id), `{groupKey}`,
   * `{warehouse}`, `{type}`; with `{anomalyId}` or `{sku}` each anomaly gets its own link instead.
   */
  linkTemplate?: string;
  /** A channel override (honoured by legacy webhooks only; app webhooks post to their own channel). */
  channel?: string;
  /** Longest wait for Slack's whole answer, ms. Default 10,000. */
  timeoutMs?: number;
  /** The receiver name routes use. Default `slack`. */
  name?: string;
  /** How many posted ids to remember. Default 10,000. */
  deliveredMemory?: number;
}

/**
 * Slack refused the message for good (a 4xx such as `invalid_payload`, `channel_not_found`,
 * `no_service`): posting it again fails the same way. `slackError` is Slack's error code.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof SlackWebhookError && err.slackError === 'no_service') disableSlack(); }
 * ```
 */
export class SlackWebhookError extends SinkDeliveryError {
  constructor(
    message: string,
    readonly slackError: string,
    options: { sink: string; status: number },
  ) {
    super(message, { ...options, retryable: false });
    this.name = 'SlackWebhookError';
  }
}

/**
 * A Block Kit text object.
 *
 * @example
 * ```ts
 * const t: SlackText = { type: 'mrkdwn', text: '*bold*' };
 * ```
 */
export interface SlackText {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

/**
 * The Block Kit blocks this sink uses.
 *
 * @example
 * ```ts
 * const b: SlackBlock = { type: 'divider' };
 * ```
 */
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' };

/**
 * The JSON body posted to the webhook.
 *
 * @example
 * ```ts
 * const body: SlackMessage = { text: 'fallback', blocks: [{ type: 'divider' }] };
 * ```
 */
export interface SlackMessage {
  /** Shown in notifications and by clients that cannot render blocks. */
  text: string;
  blocks: SlackBlock[];
  channel?: string;
}

/**
 * Block Kit limits (api.slack.com/reference/block-kit) this sink keeps to.
 *
 * @example
 * ```ts
 * const header = fitSlack(escapeSlack(title), SLACK_LIMITS.headerText);
 * ```
 */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  contextElements: 10,
  /** Not Slack's limit (40,000) but what is worth showing in a notification banner. */
  fallbackText: 3000,
} as const;

/** Anomalies listed one section each; the rest are counted. */
const MAX_ANOMALY_SECTIONS = 20;
const MAX_EVENT_IDS = 5;
/** A Slack error code is short; anything longer is not worth quoting. */
const BODY_SNIPPET = 200;

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ':red_circle:',
  warning: ':large_orange_circle:',
  info: ':large_blue_circle:',
};

/**
 * Text escaped for Slack: `&`, `<` and `>` as entities (Slack's rule for all message text); control
 * characters other than a line feed replaced.
 *
 * @example
 * ```ts
 * escapeSlack('<!channel> & co'); // '&lt;!channel&gt; &amp; co'
 * ```
 */
export function escapeSlack(text: string): string {
  return text
    .replace(/[\p{Cc}]/gu, (c) => (c === '\n' ? c : '\uFFFD'))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/**
 * Already-escaped Slack text cut to at most `max` UTF-16 code units, ending with `…` when cut: never
 * inside an entity (`&am…`), a surrogate pair, or a `<url|label>` link.
 *
 * @example
 * ```ts
 * fitSlack('a &amp; b', 4); // 'a …'
 * ```
 */
export function fitSlack(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  if (max <= 0) return '';
  let cut = escaped.slice(0, max - 1);
  // A partial entity or link at the end would show as garbage (or break the message): drop it.
  cut = cut.replace(/&[a-z]*$/, '');
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

function mrkdwn(escaped: string, max: number = SLACK_LIMITS.sectionText): SlackText {
  return { type: 'mrkdwn', text: fitSlack(escaped, max) };
}

/** Fills a link template; each value URL-encoded, so it cannot end the link or add a query. */
function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in values ? encodeURIComponent(values[key]) : whole,
  );
}

const PLACEHOLDERS = ['id', 'groupKey', 'warehouse', 'type', 'anomalyId', 'sku'];
const PER_ANOMALY = /\{(anomalyId|sku)\}/;

/**
 * Checks a link template: an http(s) URL once filled, only known placeholders, nothing that would
 * break Slack's `<url|label>` syntax.
 *
 * @throws {SinkConfigError} naming what is wrong.
 * @example
 * ```ts
 * checkLinkTemplate('https://dash.example/anomalies/{id}'); // ok
 * ```
 */
export function checkLinkTemplate(template: string, sink = 'slack'): void {
  for (const [, key] of template.matchAll(/\{(\w*)\}/g)) {
    if (!PLACEHOLDERS.includes(key)) {
      throw new SinkConfigError(
        `slack sink "${sink}": linkTemplate has an unknown placeholder {${key}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`,
      );
    }
  }
  const sample = fillTemplate(template, Object.fromEntries(PLACEHOLDERS.map((p) => [p, 'x'])));
  let url: URL | undefined;
  try {
    url = new URL(sample);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || /[\s<>|]/.test(template)) {
    throw new SinkConfigError(
      `slack sink "${sink}": linkTemplate must be an http(s) URL without spaces, <, > or |, e.g. https://dash.example/anomalies/{id}`,
    );
  }
}

function link(url: string, label: string): string {
  // The URL is built from a checked template and encoded values; escaping keeps `&` in queries valid.
  return `<${escapeSlack(url)}|${escapeSlack(label)}>`;
}

function anomalySection(
  a: Anomaly,
  n: AlertNotification,
  linkTemplate: string | undefined,
): SlackBlock & { type: 'section' } {
  const lines = [`*Why:* ${escapeSlack(a.explanation.summary)}`];
  for (const f of topFeatures(a.explanation.features)) lines.push(`• ${escapeSlack(featureLine(f))}`);
  const ids = a.eventIds.slice(0, MAX_EVENT_IDS).map(escapeSlack).join(', ');
  const more = a.eventIds.length > MAX_EVENT_IDS ? ` and ${a.eventIds.length - MAX_EVENT_IDS} more` : '';
  lines.push(`_Events: ${ids || 'none'}${more} · anomaly ${escapeSlack(a.id)}_`);
  let text = fitSlack(lines.join('\n'), SLACK_LIMITS.sectionText);
  if (linkTemplate && PER_ANOMALY.test(linkTemplate)) {
    const url = fillTemplate(linkTemplate, { ...notificationValues(n), anomalyId: a.id, sku: a.sku });
    const l = link(url, 'Open in the dashboard');
    // The link goes last and whole (cutting it would break the message), or not at all.
    if (l.length + 2 < SLACK_LIMITS.sectionText) {
      text = `${fitSlack(lines.join('\n'), SLACK_LIMITS.sectionText - l.length - 1)}\n${l}`;
    }
  }
  return {
    type: 'section',
    text: { type: 'mrkdwn', text },
    fields: [
      mrkdwn(`*Where*\n${escapeSlack(a.warehouse)} · SKU ${escapeSlack(a.sku)}`, SLACK_LIMITS.fieldText),
      mrkdwn(
        `*How sure*\n${Math.round(a.score * 100)}% · ${escapeSlack(a.severity)}`,
        SLACK_LIMITS.fieldText,
      ),
      mrkdwn(`*Detector*\n${escapeSlack(a.detector)}`, SLACK_LIMITS.fieldText),
      mrkdwn(`*Detected*\n${formatTime(a.detectedAt)}`, SLACK_LIMITS.fieldText),
    ],
  };
}

function notificationValues(n: AlertNotification): Record<string, string> {
  return { id: n.id, groupKey: n.groupKey, warehouse: n.warehouse, type: n.type };
}

/**
 * The Block Kit message of a notification, within Slack's limits (≤ 50 blocks, header ≤ 150
 * characters, section text ≤ 3000, fields ≤ 2000): a header, a summary with fields (where, how sure,
 * how many), one section per anomaly (up to 20; the rest counted), a dashboard link, and the ids.
 *
 * @example
 * ```ts
 * const body = slackMessage(notification, { linkTemplate: 'https://dash.example/anomalies/{id}' });
 * await fetch(webhookUrl, { method: 'POST', body: JSON.stringify(body) });
 * ```
 */
export function slackMessage(
  n: AlertNotification,
  options: { linkTemplate?: string; channel?: string } = {},
): SlackMessage {
  const skus = skusOf(n);
  const count = n.anomalies.length;
  const top = n.anomalies.reduce((m, a) => Math.max(m, a.score), 0);
  const title = `${n.severity.toUpperCase()} · ${typeText(n.type).split(':')[0]} at ${n.warehouse}`;
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: fitSlack(
          `${SEVERITY_EMOJI[n.severity] ?? ''} ${escapeSlack(title)}`.trim(),
          SLACK_LIMITS.headerText,
        ),
        emoji: true,
      },
    },
  ];
  const shownSkus = skus.slice(0, 10).map(escapeSlack).join(', ');
  const fields = [
    mrkdwn(
      `*Where*\n${escapeSlack(n.warehouse)}${skus.length > 0 ? ` · ${skus.length === 1 ? 'SKU' : 'SKUs'} ${shownSkus}${skus.length > 10 ? ` and ${skus.length - 10} more` : ''}` : ''}`,
      SLACK_LIMITS.fieldText,
    ),
    mrkdwn(
      count > 0
        ? `*How sure*\n${Math.round(top * 100)}% (highest) · ${escapeSlack(n.severity)}`
        : `*How sure*\n${escapeSlack(n.severity)}`,
      SLACK_LIMITS.fieldText,
    ),
  ];
  if (count > 0) {
    fields.push(
      mrkdwn(
        `*Anomalies*\n${plural(count, 'anomaly', 'anomalies')} on ${plural(skus.length, 'SKU')}`,
        SLACK_LIMITS.fieldText,
      ),
    );
  }
  if (n.suppressed > 0) {
    fields.push(
      mrkdwn(`*Held back*\n${n.suppressed} by the rate limit (see the anomaly log)`, SLACK_LIMITS.fieldText),
    );
  }
  blocks.push({ type: 'section', text: mrkdwn(`*${escapeSlack(typeText(n.type))}*`), fields });
  blocks.push({ type: 'divider' });

  const listed = n.anomalies.slice(0, MAX_ANOMALY_SECTIONS);
  for (const a of listed) blocks.push(anomalySection(a, n, options.linkTemplate));
  if (count > listed.length) {
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(`… and ${count - listed.length} more anomalies in this notification (see the anomaly log)`),
      ],
    });
  }
  if (options.linkTemplate && !PER_ANOMALY.test(options.linkTemplate)) {
    const l = link(fillTemplate(options.linkTemplate, notificationValues(n)), 'Open in the dashboard');
    if (l.length <= SLACK_LIMITS.sectionText)
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: l } });
  }
  blocks.push({
    type: 'context',
    elements: [mrkdwn(`shelfwatch · notification ${escapeSlack(n.id)} · group ${escapeSlack(n.groupKey)}`)],
  });

  const fallback =
    count > 0
      ? `${n.severity.toUpperCase()} ${typeWords(n.type)} at ${n.warehouse}: ${plural(count, 'anomaly', 'anomalies')} on ${plural(skus.length, 'SKU')} (${skus.slice(0, 5).join(', ')}${skus.length > 5 ? ', …' : ''})`
      : `${n.severity.toUpperCase()} ${typeWords(n.type)} at ${n.warehouse}: ${n.suppressed} held back by the rate limit`;
  return {
    text: fitSlack(escapeSlack(fallback), SLACK_LIMITS.fallbackText),
    blocks,
    ...(options.channel ? { channel: options.channel } : {}),
  };
}

/**
 * Posts notifications to a Slack incoming webhook, one message each, in order. `200 ok` is delivered;
 * 408, 425, 429 (with its `Retry-After`), 5xx, timeouts and network failures are retryable
 * {@link SinkDeliveryError}s; any other answer is a permanent {@link SlackWebhookError}. Redirects are
 * not followed.
 *
 * @example
 * ```ts
 * const sink = withRetry(new SlackSink({ webhookUrl: process.env.SLACK_WEBHOOK_URL! }));
 * await sink.publish(notifications);
 * ```
 */
export class SlackSink implements AlertSink {
  readonly name: string;
  // The URL is the credential: a #private field, so util.inspect, JSON.stringify and loggers never see it.
  readonly #url: URL;
  /** Scheme and host only: what messages may show. */
  private readonly where: string;
  private readonly linkTemplate: string | undefined;
  private readonly channel: string | undefined;
  private readonly timeoutMs: number;
  private readonly delivered: DeliveredIds;
  private closed = false;

  /** @throws {SinkConfigError} naming the bad option (never echoing the webhook URL). */
  constructor(options: SlackSinkOptions) {
    this.name = options.name ?? 'slack';
    const { url, where } = endpointUrl(options.webhookUrl, `slack sink "${this.name}": webhookUrl`);
    this.#url = url;
    this.where = where;
    if (options.linkTemplate !== undefined) checkLinkTemplate(options.linkTemplate, this.name);
    this.linkTemplate = options.linkTemplate;
    this.channel = options.channel;
    this.timeoutMs = timeoutOption(options.timeoutMs, 10_000, `slack sink "${this.name}": timeoutMs`);
    this.delivered = new DeliveredIds(options.deliveredMemory);
  }

  /** Scheme and host only, safe to log. */
  toString(): string {
    return `SlackSink(${this.name} → ${this.where})`;
  }

  async publish(notifications: readonly AlertNotification[]): Promise<void> {
    if (this.closed) {
      throw new SinkDeliveryError(`slack sink "${this.name}" is closed`, {
        sink: this.name,
        retryable: false,
      });
    }
    for (const n of undelivered(notifications, this.delivered)) {
      await this.post(slackMessage(n, { linkTemplate: this.linkTemplate, channel: this.channel }));
      this.delivered.add(n.id);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async post(message: SlackMessage): Promise<void> {
    const { status, retryAfter, body } = await postJson(
      this.#url,
      { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'shelfwatch-slack' },
      JSON.stringify(message),
      { timeoutMs: this.timeoutMs, sink: this.name, who: `slack sink "${this.name}"`, where: this.where },
    );
    if (status >= 200 && status < 300) return;
    const snippet = this.redact(body.slice(0, BODY_SNIPPET)).trim();
    const said = snippet ? `: ${JSON.stringify(snippet)}` : '';
    if (classifyStatus(status) === 'transient') {
      throw new SinkDeliveryError(
        `slack sink "${this.name}": POST to ${this.where} answered HTTP ${status}${said}`,
        {
          sink: this.name,
          retryable: true,
          status,
          retryAfterMs: parseRetryAfter(retryAfter, Date.now()),
        },
      );
    }
    const what = status >= 300 && status < 400 ? 'a redirect, which is not followed' : `HTTP ${status}`;
    throw new SlackWebhookError(
      `slack sink "${this.name}": POST to ${this.where} answered ${what}${said} (not retried)`,
      /^[a-z_]{1,64}$/.test(snippet) ? snippet : `http_${status}`,
      { sink: this.name, status },
    );
  }

  /** Blanks the webhook path (the credential) out of text quoted from the answer. */
  private redact(text: string): string {
    let out = text;
    for (const s of [this.#url.href, this.#url.pathname, ...this.#url.pathname.split('/')]) {
      if (s.length >= 8) out = out.split(s).join('[redacted]');
    }
    return out.replace(/[\p{Cc}]/gu, ' ');
  }
}
