/**
 * Structured JSON logs (pino), with secrets censored by path before a line is written: a log line
 * ends up in systems with far wider access than the deployment's secrets, so the logger must not rely
 * on every caller remembering to redact. On a terminal, one human line per event instead (the same
 * redacted line, formatted: see `log-format.ts`).
 */
import { hostname } from 'node:os';
import { isatty } from 'node:tty';
import { type DestinationStream, type Logger, pino } from 'pino';
import { REDACTED } from '../config/redact.js';
import { type LogFormat, prettyDestination } from './log-format.js';

/** Keys whose value is always a secret, wherever they appear (up to three levels deep). */
const SECRET_KEYS = [
  'password',
  'passwd',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'sessionToken',
  'apiKey',
  'api_key',
  'clientSecret',
  'secretAccessKey',
  'authorization',
  'Authorization',
  'cookie',
  'webhookUrl',
];

/**
 * The paths pino censors. pino's redaction matches paths, not key names at any depth, so each key is
 * listed at the depths a log object realistically has; a wildcard only spans one level. Webhook URLs
 * carry their credential in the path, so the `url` of anything logged as `sink` or `webhook` goes too,
 * as do request headers.
 *
 * @example
 * ```ts
 * const logger = pino({ redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } });
 * ```
 */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
  ...['sink', 'webhook'].flatMap((k) => [`${k}.url`, `*.${k}.url`, `${k}.headers`, `*.${k}.headers`]),
  'headers',
  '*.headers',
  '*.*.headers',
];

/**
 * Options of {@link createLogger}.
 *
 * @example
 * ```ts
 * const options: LoggerOptions = { level: 'debug' };
 * ```
 */
export interface LoggerOptions {
  /** pino level name: fatal, error, warn, info, debug, trace or silent. */
  level: string;
  /** Where the lines go; standard output when omitted. Tests pass a collecting stream. */
  destination?: DestinationStream;
  /** `json`, `pretty` (one human line per event), or `auto` (default): pretty on a terminal. */
  format?: LogFormat;
  /** Whether the destination is a terminal. Default: asked of its file descriptor (`fd`), else false. */
  isTTY?: boolean;
  /** ANSI colours in the pretty format. Default: on a terminal, unless `NO_COLOR` is set (no-color.org). */
  color?: boolean;
}

/** Whether a destination writes to a terminal: pino's file destinations carry their descriptor. */
function isTerminal(destination: DestinationStream | undefined): boolean {
  const fd = destination === undefined ? 1 : (destination as { fd?: unknown }).fd;
  return typeof fd === 'number' && isatty(fd);
}

/**
 * Creates the job's logger: one JSON object per line with `level` as a name, an ISO `time`, and
 * `service: 'shelfwatch'`, `pid` and `hostname` on every line; or, in the pretty format (by default
 * when the destination is a terminal), one human line per event (`10:00:01 WARN  retrying  what=store`).
 * The JSON path is pino's own, untouched: formatting costs only where a person reads.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: config.log.level, format: config.log.format, destination: pino.destination(2) });
 * logger.info({ config: redactConfig(config) }, 'starting');
 * logger.child({ shard: 'file-0' }).debug({ records: 500 }, 'batch processed');
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: { service: 'shelfwatch', pid: process.pid, hostname: hostname() },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names, not pino's numbers: log systems and people read `"level":"warn"` without a table.
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
  };
  const tty = options.isTTY ?? isTerminal(options.destination);
  const format = options.format ?? 'auto';
  if (format === 'pretty' || (format === 'auto' && tty)) {
    const color = options.color ?? (tty && !process.env.NO_COLOR);
    return pino(settings, prettyDestination(options.destination ?? pino.destination(1), { color }));
  }
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
