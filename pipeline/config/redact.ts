/**
 * Which configuration values are secrets, and how they are hidden. Decided by key name, anywhere in the
 * tree, so that sections added later (a MySQL password, DynamoDB credentials, a Slack token) are covered
 * without touching this file.
 */

/**
 * What a secret is replaced with.
 *
 * @example
 * ```ts
 * redactConfig({ token: 'abc' }); // { token: REDACTED }
 * ```
 */
export const REDACTED = '[redacted]';

/** Key names whose value is a secret, whatever it looks like. */
const SECRET_KEY =
  /pass(word|wd|phrase)|secret|token|api[-_]?key|authori[sz]ation|credential|private[-_]?key|webhook[-_]?url|cookie|session/i;
/** Key names holding a URL or connection string: credentials may hide in its user info, path or query. */
const URL_KEY = /^(url|uri|dsn|endpoint|connection[-_]?string)$|(url|uri|dsn)$/i;
/** Every value under these keys is a secret (request headers usually carry authorization). */
const SECRET_CONTAINER = /^headers$/i;

/**
 * A secret or URL key name followed by a separator and more text: what a line like `password hunter2`
 * or `{url=https://…}` becomes when its ":" (or the space after it) is missing.
 */
const SECRET_ASSIGNMENT = new RegExp(
  `(?:${SECRET_KEY.source}|url|uri|dsn|endpoint|connection[-_]?string)[\\w-]*\\s*[\\s=:]\\s*\\S`,
  'i',
);

/**
 * Whether text that should be a key name, or a plain value, looks like a secret key with its value run
 * into it, as YAML reads `password hunter2` (no ":") or `password:hunter2` (no space): one string, which
 * would otherwise be shown back as an unknown key or a wrongly typed value.
 *
 * @example
 * ```ts
 * looksLikeSecretAssignment('password hunter2'); // true
 * looksLikeSecretAssignment('webhookUrl=https://hooks.slack.com/x'); // true
 * looksLikeSecretAssignment('maxRecords'); // false
 * ```
 */
export function looksLikeSecretAssignment(text: string): boolean {
  return SECRET_ASSIGNMENT.test(text);
}

/**
 * Whether the value at `path` (keys and indices from the root) must never be shown.
 *
 * @example
 * ```ts
 * isSecretPath(['alerts', 'sinks', 0, 'url']); // true
 * isSecretPath(['source', 'rate']); // false
 * ```
 */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  return path.some(
    (segment, i) =>
      typeof segment === 'string' &&
      (SECRET_KEY.test(segment) ||
        (URL_KEY.test(segment) && i === path.length - 1) ||
        (SECRET_CONTAINER.test(segment) && i < path.length - 1)),
  );
}

/**
 * How the value at `path` is hidden from logs and error messages: `whole` (replaced by
 * {@link REDACTED}), `host` (a URL key: only its scheme and host are shown), or `none`. The same rule
 * {@link redactConfig} applies, for documentation (docs/configuration.md says which keys are secret).
 *
 * @example
 * ```ts
 * secretKind(['store', 'password']); // 'whole'
 * secretKind(['alerts', 'sinks', 0, 'url']); // 'host'
 * secretKind(['batch', 'maxRecords']); // 'none'
 * ```
 */
export function secretKind(path: readonly (string | number)[]): 'whole' | 'host' | 'none' {
  if (path.length === 0 || !isSecretPath(path)) return 'none';
  const key = path[path.length - 1];
  return typeof key === 'string' && URL_KEY.test(key) && !SECRET_KEY.test(key) ? 'host' : 'whole';
}

/**
 * A URL reduced to its scheme and host, so a start-up log still says where alerts go. Slack and most
 * webhook URLs carry their credential in the path, so the path, query and user info are all dropped.
 *
 * @example
 * ```ts
 * redactUrl('https://user:pw@hooks.slack.com/services/T0/B0/XYZ'); // 'https://hooks.slack.com/[redacted]'
 * redactUrl('http://127.0.0.1:4566'); // 'http://127.0.0.1:4566'
 * ```
 */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    // Nothing beyond the host (an endpoint such as http://127.0.0.1:4566): nothing to hide, and a
    // `[redacted]` there would suggest a path that is not.
    const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    return bare ? `${url.protocol}//${url.host}` : `${url.protocol}//${url.host}/${REDACTED}`;
  } catch {
    return REDACTED;
  }
}

/**
 * Removes `user:password@` from anything that looks like a URL inside free text, for values shown in
 * error messages whose key is not itself a secret (someone may have put a URL in the wrong key).
 *
 * @example
 * ```ts
 * scrubCredentials('mysql://root:pw@db/shelfwatch'); // 'mysql://[redacted]@db/shelfwatch'
 * ```
 */
export function scrubCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, `$1${REDACTED}@`);
}

function redactValue(value: unknown, path: (string | number)[]): unknown {
  const key = path[path.length - 1];
  if (path.length > 0 && isSecretPath(path)) {
    if (value === undefined || value === null) return value;
    // URL-like keys keep their host (useful, not secret); every other secret goes entirely.
    if (typeof key === 'string' && URL_KEY.test(key) && !SECRET_KEY.test(key) && typeof value === 'string') {
      return redactUrl(value);
    }
    if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
      return redactTree(value, path, true);
    }
    return REDACTED;
  }
  if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
    return redactTree(value, path, false);
  }
  return value;
}

function redactTree(value: object, path: (string | number)[], allSecret: boolean): unknown {
  if (Array.isArray(value)) {
    return value.map((v, i) => (allSecret ? redactLeaf(v) : redactValue(v, [...path, i])));
  }
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, allSecret ? redactLeaf(v) : redactValue(v, [...path, k])]),
  );
}

function redactLeaf(value: unknown): unknown {
  if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
    return redactTree(value, [], true);
  }
  return value === undefined || value === null ? value : REDACTED;
}

/**
 * A deep copy of a configuration with every secret replaced, for the start-up log: keys named like a
 * password, secret, token, API key or authorization become `[redacted]`, every request header value
 * too, and URLs keep only their scheme and host. The result has the same shape (secret values become
 * strings).
 *
 * @example
 * ```ts
 * logger.info({ config: redactConfig(config) }, 'starting');
 * ```
 */
export function redactConfig<T>(config: T): T {
  return redactValue(config, []) as T;
}
