/**
 * Argument checks shared by the streaming detectors. Internal: not part of the public API. The
 * checks run on every `scoreOne`/`learnOne`, so they only build a message when they throw.
 */
import { DetectorConfigError, DetectorInputError, ModelSchemaError } from '../errors.js';
import type { Direction } from './types.js';

/**
 * Throws `DetectorInputError` unless `x` is a finite number: bad input must never be silently
 * learned (one NaN would poison a running mean forever).
 *
 * @example
 * ```ts
 * checkFiniteInput(x, 'RollingRobustZScore.learnOne');
 * ```
 */
export function checkFiniteInput(x: number, where: string): void {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new DetectorInputError(`${where}: x must be a finite number, got ${describe(x)}`);
  }
}

/**
 * An integer option in `[min, max]`, or `DetectorConfigError` naming the option and value.
 *
 * @example
 * ```ts
 * const window = intOption('window', options.window, 168, 3, 1_000_000);
 * ```
 */
export function intOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new DetectorConfigError(`${name} must be an integer in [${min}, ${max}], got ${describe(v)}`);
  }
  return v;
}

/**
 * A finite number option strictly above 0, or `DetectorConfigError` naming the option and value.
 *
 * @example
 * ```ts
 * const minScale = positiveOption('minScale', options.minScale, 1e-9);
 * ```
 */
export function positiveOption(name: string, value: unknown, fallback: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new DetectorConfigError(`${name} must be a finite number > 0, got ${describe(v)}`);
  }
  return v;
}

/**
 * Renders a bad value for an error message: strings quoted, `-0` kept, objects by type.
 *
 * @example
 * ```ts
 * describe(Number.NaN); // 'NaN'
 * ```
 */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

/**
 * The sign of `z` as a `Direction`.
 *
 * @example
 * ```ts
 * directionOf(-2); // 'below'
 * ```
 */
export function directionOf(z: number): Direction {
  return z > 0 ? 'above' : z < 0 ? 'below' : 'none';
}

/**
 * Checks the envelope of a serialized detector and returns it as a record, or throws
 * `ModelSchemaError` (another kind, another schema version, not an object).
 *
 * @example
 * ```ts
 * const rec = checkEnvelope(json, 'ewma', 1);
 * ```
 */
export function checkEnvelope(json: unknown, kind: string, schemaVersion: number): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelSchemaError(`expected a serialized ${kind} detector object, got ${describe(json)}`);
  }
  const rec = json as Record<string, unknown>;
  if (rec.kind !== kind) {
    throw new ModelSchemaError(`expected kind ${JSON.stringify(kind)}, got ${describe(rec.kind)}`);
  }
  if (rec.schemaVersion !== schemaVersion) {
    throw new ModelSchemaError(
      `${kind}: unsupported schemaVersion ${describe(rec.schemaVersion)} (this library reads ${schemaVersion})`,
    );
  }
  return rec;
}

/**
 * A finite number field of a serialized detector, or `ModelSchemaError`.
 *
 * @example
 * ```ts
 * const mean = finiteField(rec, 'mean', 'ewma');
 * ```
 */
export function finiteField(rec: Record<string, unknown>, field: string, kind: string): number {
  const v = rec[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ModelSchemaError(`${kind}: field ${field} must be a finite number, got ${describe(v)}`);
  }
  return v;
}

/**
 * Runs a constructor on options read from a serialized detector, turning its
 * `DetectorConfigError` into `ModelSchemaError`: a bad file is a schema problem, not a caller's.
 *
 * @example
 * ```ts
 * const det = restoreOptions('ewma', () => new EwmaDetector({ alpha: rec.alpha as number }));
 * ```
 */
export function restoreOptions<T>(kind: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof DetectorConfigError) {
      throw new ModelSchemaError(`${kind}: invalid options in serialized detector: ${err.message}`);
    }
    throw err;
  }
}
