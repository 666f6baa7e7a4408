/**
 * Structured JSON logs (pino), with secrets censored by path before a line is written: a log line
 * ends up in systems with far wider access than the deployment's secrets, so the logger must not rely
 * on every caller remembering to redact.
 */
import { hostname } from 'node:os';
import { type DestinationStream, type Logger, pino } from 'pino';
import { REDACTED } from '../config/redact.js';

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
  /** Where the JSON lines go; standard output when omitted. Tests pass a collecting stream. */
  destination?: DestinationStream;
}

/**
 * Creates the job's logger: one JSON object per line with `level` as a name, an ISO `time`, and
 * `service: 'shelfwatch'`, `pid` and `hostname` on every line.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: config.log.level });
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
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
