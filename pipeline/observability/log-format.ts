/**
 * The human log format for a terminal: one short line per log event (time, level, message and the
 * fields worth reading), where a JSON line of 600 characters would bury the alerts printed beside it.
 * It formats the JSON lines pino writes (after redaction, so it never sees a secret), in the process,
 * without a worker thread: a terminal is read by a person, at a person's pace.
 */
import type { DestinationStream } from 'pino';

/**
 * How log events are written: `json` (one object per line, for log systems), `pretty` (one human
 * line per event), or `auto`: pretty when the destination is a terminal, JSON otherwise.
 *
 * @example
 * ```ts
 * const format: LogFormat = process.stderr.isTTY ? 'pretty' : 'json';
 * ```
 */
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * The log formats, for validation and help text.
 *
 * @example
 * ```ts
 * LOG_FORMATS.includes('pretty'); // true
 * ```
 */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const satisfies readonly LogFormat[];

/** Fields every line has (or that say nothing to a person at a terminal). */
const OMITTED = new Set(['time', 'level', 'msg', 'service', 'pid', 'hostname']);
/** Fields shown first, in this order, when present: where and why. */
const KEY_FIELDS = [
  'shard',
  'shardId',
  'what',
  'sink',
  'receiver',
  'code',
  'reason',
  'cause',
  'err',
  'waitingOn',
  'signal',
];
/** A field's value is cut beyond this many characters. */
const MAX_VALUE = 200;

const ANSI = { reset: '\x1b[0m', dim: '\x1b[2m', bold: '\x1b[1m', red: '\x1b[31m', yellow: '\x1b[33m' };
const LEVEL_COLOR: Record<string, string> = {
  fatal: ANSI.red + ANSI.bold,
  error: ANSI.red,
  warn: ANSI.yellow,
  info: '',
  debug: ANSI.dim,
  trace: ANSI.dim,
};
/** pino's numeric levels, for lines written without the level-name formatter. */
const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Control characters (ESC above all) replaced, so that logged data cannot drive the terminal. */
function clean(text: string): string {
  return text.replace(/[\p{Cc}]/gu, '\uFFFD');
}

function cut(text: string): string {
  return text.length <= MAX_VALUE ? text : `${text.slice(0, MAX_VALUE - 1)}…`;
}

/** A field's value as shown, or undefined when it is not worth a place on the line (a nested object). */
function shown(key: string, value: unknown): string | undefined {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') {
    const v = cut(clean(value));
    return v === '' || /[\s="\\]/.test(v) ? JSON.stringify(v) : v;
  }
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) {
    return shown(key, value.join(','));
  }
  // An error serialized by pino: its message says it.
  if (
    key === 'err' &&
    typeof value === 'object' &&
    typeof (value as { message?: unknown }).message === 'string'
  ) {
    return shown(key, (value as { message: string }).message);
  }
  return undefined;
}

/**
 * One pino JSON line as a human line: `HH:MM:SS LEVEL message key=value …` (UTC time, as the JSON
 * has it), key fields (shard, what, code, reason, cause, err…) first, then the other flat fields;
 * nested objects (a whole configuration) are left to the JSON format. ANSI colours only when asked.
 * A line that is not JSON is passed on, cleaned.
 *
 * @example
 * ```ts
 * formatLogLine('{"level":"warn","time":"2026-01-05T10:00:01.000Z","msg":"retrying","what":"store","attempt":2}', { color: false });
 * // '10:00:01 WARN  retrying  what=store attempt=2'
 * ```
 */
export function formatLogLine(line: string, options: { color: boolean }): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return clean(line.trimEnd());
    entry = parsed as Record<string, unknown>;
  } catch {
    return clean(line.trimEnd());
  }
  const paint = (code: string, text: string) =>
    options.color && code ? `${code}${text}${ANSI.reset}` : text;
  const level =
    typeof entry.level === 'number'
      ? (LEVEL_NAMES[entry.level] ?? String(entry.level))
      : String(entry.level ?? '');
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const head = `${paint(ANSI.dim, time)} ${paint(LEVEL_COLOR[level] ?? '', level.toUpperCase().padEnd(5))}`;
  const msg = typeof entry.msg === 'string' ? clean(entry.msg) : '';
  const keys = [
    ...KEY_FIELDS.filter((k) => k in entry),
    ...Object.keys(entry).filter((k) => !OMITTED.has(k) && !KEY_FIELDS.includes(k)),
  ];
  const fields: string[] = [];
  for (const k of keys) {
    const v = shown(k, entry[k]);
    if (v !== undefined) fields.push(`${paint(ANSI.dim, `${clean(k)}=`)}${v}`);
  }
  const first = `${head} ${paint(level === 'info' ? '' : ANSI.bold, msg)}`;
  return fields.length > 0 ? `${first}  ${fields.join(' ')}` : first.trimEnd();
}

/**
 * A pino destination that writes each JSON line to `target` as {@link formatLogLine}'s human line.
 * It passes `flush` and `flushSync` through, so that `logger.flush()` still reaches the file.
 *
 * @example
 * ```ts
 * const logger = pino({}, prettyDestination(pino.destination(2), { color: true }));
 * ```
 */
export function prettyDestination(target: DestinationStream, options: { color: boolean }): DestinationStream {
  const t = target as DestinationStream & {
    flush?: (cb?: (err?: Error) => void) => void;
    flushSync?: () => void;
  };
  const out: DestinationStream & { flush?: (cb?: (err?: Error) => void) => void; flushSync?: () => void } = {
    write(chunk: string) {
      // One line per event; a chunk holding several (a buffered write) is split.
      for (const line of chunk.split('\n'))
        if (line.trim() !== '') t.write(`${formatLogLine(line, options)}\n`);
    },
  };
  if (typeof t.flush === 'function') out.flush = (cb) => t.flush?.(cb);
  if (typeof t.flushSync === 'function') out.flushSync = () => t.flushSync?.();
  return out;
}
