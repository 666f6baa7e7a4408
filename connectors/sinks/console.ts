/**
 * An alert sink that prints a readable block per notification, set apart from log lines by a blank
 * line and a rule, for the inventory manager watching a terminal: what happened, where, how sure the detector is, and why (its summary and the features it
 * saw against what it expected), with the event ids to look the records up.
 *
 * Everything printed that came from data (SKUs, summaries, ids) has control characters replaced, so a
 * crafted SKU cannot send escape sequences to the terminal.
 */
import type { AlertNotification, AlertSink, Anomaly, Severity } from '../../pipeline/ports.js';
import { clean, featureLine, formatTime, topFeatures, typeText } from './alert-text.js';
import { SinkDeliveryError } from './retry.js';

/**
 * Where the console sink writes: `process.stdout` or any writable stream.
 *
 * @example
 * ```ts
 * const stream: ConsoleSinkStream = process.stderr;
 * ```
 */
export interface ConsoleSinkStream {
  write(chunk: string, callback: (error?: Error | null) => void): boolean;
  isTTY?: boolean;
}

/**
 * Options of {@link ConsoleSink}.
 *
 * @example
 * ```ts
 * const options: ConsoleSinkOptions = { stream: process.stderr, color: false };
 * ```
 */
export interface ConsoleSinkOptions {
  /** Default `process.stdout`. */
  stream?: ConsoleSinkStream;
  /** ANSI colours. Default: when the stream is a terminal and `NO_COLOR` is not set (no-color.org). */
  color?: boolean;
  /** The receiver name routes use. Default `console`. */
  name?: string;
}

const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
};
const SEVERITY_COLOR: Record<Severity, string> = {
  critical: ANSI.red,
  warning: ANSI.yellow,
  info: ANSI.cyan,
};
const MAX_EVENT_IDS = 8;
const MAX_ANOMALIES = 20;
const PRINTED_MEMORY = 10_000;

/**
 * The block the console sink prints for one notification (ending with a blank line).
 *
 * @example
 * ```ts
 * process.stdout.write(formatNotification(notification, { color: false }));
 * ```
 */
export function formatNotification(n: AlertNotification, options: { color: boolean }): string {
  const paint = (code: string, text: string) => (options.color ? `${code}${text}${ANSI.reset}` : text);
  const lines: string[] = [];
  const count = n.anomalies.length;
  const skus = new Set(n.anomalies.map((a) => a.sku)).size;
  const head =
    `${paint(SEVERITY_COLOR[n.severity] + ANSI.bold, `■ ${n.severity.toUpperCase()}`)} ` +
    `${paint(ANSI.bold, typeText(n.type))}`;
  lines.push(head);
  const where =
    count > 0
      ? `  Where: warehouse ${clean(n.warehouse)} · ${count} ${count === 1 ? 'anomaly' : 'anomalies'} on ${skus} ${skus === 1 ? 'SKU' : 'SKUs'}`
      : `  Where: warehouse ${clean(n.warehouse)}`;
  lines.push(where);
  if (n.suppressed > 0) {
    lines.push(
      count > 0
        ? `  Also: ${n.suppressed} more held back by the rate limit (not listed; see the anomaly log)`
        : `  Summary: ${n.suppressed} ${n.suppressed === 1 ? 'anomaly was' : 'anomalies were'} held back by the rate limit (not listed; see the anomaly log)`,
    );
  }
  for (const a of n.anomalies.slice(0, MAX_ANOMALIES)) lines.push(...formatAnomaly(a, paint));
  if (count > MAX_ANOMALIES)
    lines.push(`  … and ${count - MAX_ANOMALIES} more anomalies in this notification`);
  lines.push(paint(ANSI.dim, `  notification ${clean(n.id)} · group ${clean(n.groupKey)}`));
  return `${lines.join('\n')}\n\n`;
}

function formatAnomaly(a: Anomaly, paint: (code: string, text: string) => string): string[] {
  const out = [
    `  • SKU ${paint(ANSI.bold, clean(a.sku))} · ${Math.round(a.score * 100)}% sure · ${a.severity}` +
      ` · detected ${formatTime(a.detectedAt)} · ${clean(a.detector)}`,
    `    Why: ${clean(a.explanation.summary)}`,
  ];
  for (const f of topFeatures(a.explanation.features)) out.push(`      ${featureLine(f)}`);
  const ids = a.eventIds.slice(0, MAX_EVENT_IDS).map(clean).join(', ');
  const more = a.eventIds.length > MAX_EVENT_IDS ? ` and ${a.eventIds.length - MAX_EVENT_IDS} more` : '';
  out.push(paint(ANSI.dim, `    Events: ${ids || 'none'}${more} · anomaly ${clean(a.id)}`));
  return out;
}

const RULE_WIDTH = 72;

/**
 * What the console sink prints for one notification: a blank line and a rule naming shelfwatch, so
 * that an alert stands apart from the log lines around it on a terminal (logs go to standard error,
 * alerts to standard output, and a terminal shows both), then {@link formatNotification}'s block.
 *
 * @example
 * ```ts
 * process.stdout.write(consoleBlock(notification, { color: process.stdout.isTTY === true }));
 * ```
 */
export function consoleBlock(n: AlertNotification, options: { color: boolean }): string {
  const title = '━━ shelfwatch alert ';
  const rule = title + '━'.repeat(RULE_WIDTH - title.length);
  const painted = options.color ? `${SEVERITY_COLOR[n.severity]}${ANSI.bold}${rule}${ANSI.reset}` : rule;
  return `\n${painted}\n${formatNotification(n, options)}`;
}

/**
 * Prints notifications as readable blocks. A notification id printed before (in this process) is
 * skipped, so a retried batch does not print twice; after a restart a replay may print again, which
 * for a console is the lesser evil than remembering on disk.
 *
 * @example
 * ```ts
 * const sink = new ConsoleSink({ color: false });
 * await sink.publish(notifications);
 * ```
 */
export class ConsoleSink implements AlertSink {
  readonly name: string;
  private readonly stream: ConsoleSinkStream;
  private readonly color: boolean;
  private readonly printed = new Set<string>();

  constructor(options: ConsoleSinkOptions = {}) {
    this.name = options.name ?? 'console';
    this.stream = options.stream ?? process.stdout;
    this.color = options.color ?? (this.stream.isTTY === true && !process.env.NO_COLOR);
  }

  async publish(notifications: readonly AlertNotification[]): Promise<void> {
    const seen = new Set<string>();
    const fresh = notifications.filter((n) => {
      if (this.printed.has(n.id) || seen.has(n.id)) return false;
      seen.add(n.id);
      return true;
    });
    if (fresh.length === 0) return;
    const text = fresh.map((n) => consoleBlock(n, { color: this.color })).join('');
    await new Promise<void>((resolve, reject) => {
      this.stream.write(text, (err) => {
        if (!err) {
          resolve();
          return;
        }
        // A closed pipe (EPIPE) stays closed; other write errors may pass.
        const code = (err as NodeJS.ErrnoException).code;
        reject(
          new SinkDeliveryError(`console sink "${this.name}": write failed: ${code ?? err.message}`, {
            sink: this.name,
            retryable: code !== 'EPIPE',
            cause: err,
          }),
        );
      });
    });
    for (const n of fresh) {
      this.printed.add(n.id);
      if (this.printed.size > PRINTED_MEMORY)
        this.printed.delete(this.printed.values().next().value as string);
    }
  }

  /** Leaves the stream open: it is usually the process's standard output. */
  async close(): Promise<void> {}
}
