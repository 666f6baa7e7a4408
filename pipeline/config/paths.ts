/** Key paths of the configuration (`alerts.sinks[0].url`): one spelling for every message. */

/**
 * One step of a key path: a key, or a list index.
 *
 * @example
 * ```ts
 * const path: PathSegment[] = ['alerts', 'sinks', 0, 'url'];
 * ```
 */
export type PathSegment = string | number;

/**
 * `alerts.sinks[0].url`.
 *
 * @example
 * ```ts
 * formatPath(['alerts', 'sinks', 0, 'url']); // 'alerts.sinks[0].url'
 * ```
 */
export function formatPath(path: readonly PathSegment[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * A mapping (not null, not a list).
 *
 * @example
 * ```ts
 * isPlainObject({ a: 1 }); // true
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
