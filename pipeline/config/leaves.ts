/**
 * Leaf schemas whose error message is what follows the key path in a configuration error
 * (`source.rate must be a number ≥ 0, got "fast"`): one message per leaf, whatever check failed,
 * so that the reader learns the accepted range at once.
 */
import { z } from 'zod';

/**
 * An integer in [min, max].
 *
 * @example
 * ```ts
 * const port = int(0, 65_535).default(9464);
 * ```
 */
export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  const what = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  const error = `must be ${what}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/**
 * A finite number in [min, max] (zod 4 rejects NaN and ±Infinity).
 *
 * @example
 * ```ts
 * const anomalyRate = num(0, 1).default(0.01);
 * ```
 */
export function num(min: number, max = Number.MAX_VALUE) {
  const what = max === Number.MAX_VALUE ? `a number ≥ ${min}` : `a number from ${min} to ${max}`;
  const error = `must be ${what}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
}

/**
 * A non-empty string (a path, a host, a name).
 *
 * @example
 * ```ts
 * const path = text('a file path');
 * ```
 */
export function text(what = 'a non-empty string') {
  const error = `must be ${what}`;
  return z.string({ error }).min(1, { error });
}

/**
 * A boolean (YAML `true`/`false`; an environment variable `true`/`false` parses the same way).
 *
 * @example
 * ```ts
 * const follow = bool().default(false);
 * ```
 */
export function bool() {
  return z.boolean({ error: 'must be true or false' });
}

/**
 * An http(s) URL. Error messages never echo it: webhook URLs carry their credential.
 *
 * @example
 * ```ts
 * const url = httpUrl();
 * ```
 */
export function httpUrl() {
  return z.url({ error: 'must be an http(s) URL', protocol: /^https?$/ });
}

/**
 * One of a fixed set of strings.
 *
 * @example
 * ```ts
 * const level = oneOf(['info', 'debug']).default('info');
 * ```
 */
export function oneOf<const T extends string>(values: readonly [T, ...T[]]) {
  return z.enum(values, { error: `must be one of ${values.map((v) => `"${v}"`).join(', ')}` });
}
