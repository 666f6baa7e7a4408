import { ANOMALY_TYPES, type AnomalyType } from './wire-formats.js';

/** What the generator simulates. Every field has a default; see {@link resolveGeneratorOptions}. */
export interface GeneratorOptions {
  /** Seed of every random choice: same seed and options, byte-identical output. Default 1. */
  seed: number;
  /** Simulated days. Default 28. */
  days: number;
  /** Distinct SKUs. Default 200. */
  skus: number;
  /** Warehouses; every SKU is stocked in each. Default 3. */
  warehouses: number;
  /** Expected injected anomalies per SKU × warehouse per day. Default 0.01. */
  anomalyRate: number;
  /** Relative weight of each anomaly type (0 turns a type off). Default 1 each. */
  mix: Record<AnomalyType, number>;
  /** Start of the simulation, ISO-8601 UTC. Default 2026-01-05T00:00:00Z (a Monday). */
  start: string;
  /** Fraction of records the upstream delivers twice (at-least-once delivery). Default 0.005. */
  duplicateRate: number;
  /** Fraction of records that arrive minutes to hours after they happened. Default 0.01. */
  lateRate: number;
  /** Fraction of records followed by an unparseable line (truncated JSON, wrong types, junk). Default 0.0002. */
  malformedRate: number;
}

export const DEFAULT_GENERATOR_OPTIONS: Readonly<Omit<GeneratorOptions, 'mix'>> & {
  readonly mix: Readonly<Record<AnomalyType, number>>;
} = {
  seed: 1,
  days: 28,
  skus: 200,
  warehouses: 3,
  anomalyRate: 0.01,
  mix: Object.fromEntries(ANOMALY_TYPES.map((t) => [t, 1])) as Record<AnomalyType, number>,
  start: '2026-01-05T00:00:00Z',
  duplicateRate: 0.005,
  lateRate: 0.01,
  malformedRate: 0.0002,
};

/** A generator option is out of range; the message names the option and the value. */
export class GeneratorOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeneratorOptionError';
  }
}

function integerIn(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new GeneratorOptionError(`${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

function fraction(name: string, v: unknown, max = 1): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= max)) {
    throw new GeneratorOptionError(`${name} must be a number from 0 to ${max}, got ${String(v)}`);
  }
  return v;
}

/**
 * Parses an anomaly mix such as `shrinkage=2,sales_spike=1,stuck_feed=0`; types not named keep weight 1,
 * or 0 when the mix starts with `only:` (`only:shrinkage,phantom_stock`).
 *
 * @example
 * ```ts
 * parseMix('sales_spike=3,negative_stock=0');
 * ```
 */
export function parseMix(text: string): Record<AnomalyType, number> {
  const only = text.startsWith('only:');
  const body = only ? text.slice(5) : text;
  const mix = Object.fromEntries(ANOMALY_TYPES.map((t) => [t, only ? 0 : 1])) as Record<AnomalyType, number>;
  for (const part of body
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, weight] = part.split('=');
    if (!(ANOMALY_TYPES as readonly string[]).includes(name)) {
      throw new GeneratorOptionError(
        `unknown anomaly type '${name}' in the mix (known: ${ANOMALY_TYPES.join(', ')})`,
      );
    }
    const w = weight === undefined ? 1 : Number(weight);
    if (!(w >= 0 && Number.isFinite(w))) {
      throw new GeneratorOptionError(`the weight of ${name} must be a number ≥ 0, got '${weight}'`);
    }
    mix[name as AnomalyType] = w;
  }
  return mix;
}

/**
 * Fills defaults in and validates every option, with an error naming the option.
 *
 * @example
 * ```ts
 * const options = resolveGeneratorOptions({ seed: 7, days: 7 });
 * ```
 */
export function resolveGeneratorOptions(partial: Partial<GeneratorOptions> = {}): GeneratorOptions {
  const o = {
    ...DEFAULT_GENERATOR_OPTIONS,
    ...partial,
    mix: { ...DEFAULT_GENERATOR_OPTIONS.mix, ...partial.mix },
  };
  integerIn('seed', o.seed, 0, 2 ** 32 - 1);
  integerIn('days', o.days, 1, 3650);
  integerIn('skus', o.skus, 1, 1_000_000);
  integerIn('warehouses', o.warehouses, 1, 99);
  fraction('anomalyRate', o.anomalyRate);
  fraction('duplicateRate', o.duplicateRate, 0.5);
  fraction('lateRate', o.lateRate);
  fraction('malformedRate', o.malformedRate, 0.5);
  if (Number.isNaN(Date.parse(o.start))) {
    throw new GeneratorOptionError(`start must be an ISO-8601 date, got '${o.start}'`);
  }
  for (const t of ANOMALY_TYPES) {
    const w = o.mix[t];
    if (typeof w !== 'number' || !(w >= 0) || !Number.isFinite(w)) {
      throw new GeneratorOptionError(`mix.${t} must be a number ≥ 0, got ${String(w)}`);
    }
  }
  return o;
}
