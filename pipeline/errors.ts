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
