/**
 * The real cause of an error, in a few words, for logs and probes: `fetch failed` says nothing, its
 * cause `connect ECONNREFUSED 127.0.0.1:9` says what to fix. One helper, so that every part of the
 * job names causes the same way.
 */

interface CauseShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  address?: unknown;
  port?: unknown;
  status?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
  errors?: unknown;
}

const asShape = (e: unknown): CauseShape => (typeof e === 'object' && e !== null ? (e as CauseShape) : {});

/** The deepest error of the chain that carries a system or driver code (undici, net, drivers). */
function withCode(err: unknown, depth = 0): CauseShape | undefined {
  if (depth > 8) return undefined;
  const e = asShape(err);
  const nested = [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  for (const n of nested) {
    const found = n === undefined ? undefined : withCode(n, depth + 1);
    if (found) return found;
  }
  return typeof e.code === 'string' && e.code !== '' ? e : undefined;
}

/** The message of the innermost error of a `cause` chain that has one. */
function deepestMessage(err: unknown, depth = 0): string | undefined {
  if (err === undefined || depth > 8) return undefined;
  const e = asShape(err);
  const own = typeof e.message === 'string' && e.message !== '' ? e.message : undefined;
  return deepestMessage(e.cause, depth + 1) ?? own;
}

/**
 * `Name: message`, then the system code and where it happened when a cause carries one and the
 * message does not already say it, e.g. `fetch failed: ECONNREFUSED 127.0.0.1:9 (connect)`. Control
 * characters are blanked and the text is cut at 300 characters. Never adds anything the errors do not
 * hold, so it leaks nothing a message would not.
 *
 * @example
 * ```ts
 * describeCause(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) }));
 * // 'fetch failed: connect ECONNREFUSED 127.0.0.1:9'
 * ```
 */
export function describeCause(err: unknown): string {
  const e = asShape(err);
  let text =
    typeof e.message === 'string' && e.message !== ''
      ? e.message
      : typeof e.name === 'string'
        ? e.name
        : String(err);
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  if (status !== undefined && !text.includes(String(status))) text = `${text} (HTTP ${status})`;
  const coded = withCode(err);
  if (coded !== undefined && coded !== e) {
    const code = String(coded.code);
    const inner = typeof coded.message === 'string' ? coded.message : '';
    if (inner.includes(code) && !text.includes(inner)) text = `${text}: ${inner}`;
    else if (!text.includes(code)) {
      const where =
        typeof coded.address === 'string'
          ? ` ${coded.address}${typeof coded.port === 'number' ? `:${coded.port}` : ''}`
          : '';
      const call = typeof coded.syscall === 'string' ? ` (${coded.syscall})` : '';
      text = `${text}: ${code}${where}${call}`;
    }
  } else if (coded === e && !text.includes(String(e.code))) {
    text = `${text} (${String(e.code)})`;
  } else if (coded === undefined) {
    // No system code anywhere (undici's `fetch failed` over `bad port`): the deepest message says most.
    const inner = deepestMessage(e.cause);
    if (inner !== undefined && !text.includes(inner)) text = `${text}: ${inner}`;
  }
  const clean = text.replace(/\p{Cc}/gu, ' ');
  return clean.length > 300 ? `${clean.slice(0, 299)}…` : clean;
}

/**
 * A dependency as a person can find and fix it: what it is, where it is, and the settings that point
 * at it (configuration keys and environment variables).
 *
 * @example
 * ```ts
 * const part: DependencyPart = {
 *   name: 'lease table shelfwatch',
 *   where: 'DynamoDB at http://127.0.0.1:8000',
 *   settings: ['source.leaseTableEndpoint', 'AWS_ENDPOINT_URL_DYNAMODB'],
 * };
 * ```
 */
export interface DependencyPart {
  name: string;
  where?: string;
  settings?: readonly string[];
  /** The settings that give its AWS region, when it is an AWS service. */
  regionSettings?: readonly string[];
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** The system or driver code somewhere in an error's chain, or undefined. */
function codeIn(err: unknown, depth = 0): string | undefined {
  const e = asShape(err);
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  if (depth > 8) return undefined;
  for (const n of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = n === undefined ? undefined : codeIn(n, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * One line for a failing dependency: the part, where it is, the cause, and what to change —
 * `lease table shelfwatch (DynamoDB at http://127.0.0.1:1): connect ECONNREFUSED 127.0.0.1:1; nothing
 * answers there: check source.leaseTableEndpoint, AWS_ENDPOINT_URL_DYNAMODB`. The hint follows the
 * cause: an unreachable address names the endpoint settings, a missing region the region settings,
 * missing credentials the AWS credential chain, a port in use the port setting.
 *
 * @example
 * ```ts
 * log.warn(describeDependencyFailure({ name: 'state store', where: 'MySQL db:3306', settings: ['store.url'] }, err));
 * ```
 */
export function describeDependencyFailure(part: DependencyPart, err: unknown): string {
  const cause = describeCause(err);
  // A store's own message often says where already: say it once.
  const head = part.where && !cause.includes(part.where) ? `${part.name} (${part.where})` : part.name;
  return `${head}: ${cause}${dependencyHint(part, err)}`;
}

/** `; <what to change>` for the causes people can act on, else nothing. */
export function dependencyHint(part: DependencyPart, err: unknown): string {
  const code = codeIn(err);
  const name = asShape(err).name;
  const message = String(asShape(err).message ?? '');
  const settings = (list: readonly string[] | undefined): string => (list?.length ? list.join(', ') : '');
  if (/^Region is missing$/.test(message)) {
    const keys = settings([...(part.regionSettings ?? []), 'AWS_REGION']);
    return `; no AWS region: set ${keys} (or a region in the AWS profile)`;
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return '; no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an instance or task role';
  }
  if (code === 'EADDRINUSE')
    return `; the address is in use${part.settings?.length ? `: change ${settings(part.settings)}` : ''}`;
  if (code !== undefined && UNREACHABLE.has(code)) {
    return `; nothing answers there${part.settings?.length ? `: check ${settings(part.settings)}` : ''}`;
  }
  if (
    /AccessDenied|UnauthorizedOperation|AuthorizationError/.test(String(name)) ||
    code === 'ER_ACCESS_DENIED_ERROR'
  ) {
    return '; access denied: check the credentials and the permissions of the role the job runs as';
  }
  return '';
}
