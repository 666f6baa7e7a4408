/**
 * The campaign's verdicts: each scenario records named checks (pass or fail, with what was seen)
 * instead of throwing at the first, so the report shows every figure of a failing run; the tests
 * assert that none failed, and print them.
 */
import { isDeepStrictEqual } from 'node:util';

/**
 * One check: what was verified, whether it held, and what was seen.
 *
 * @example
 * ```ts
 * const c: Check = { name: 'duplicate alerts', ok: true, detail: '0' };
 * ```
 */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * A list of checks being filled by a scenario.
 *
 * @example
 * ```ts
 * const checks = new Checks();
 * checks.equal('series rows equal to the clean run', chaos.series, clean.series, `${clean.series.length} rows`);
 * checks.that('job exit code', code === 0, `exit ${code}`);
 * if (checks.failed.length > 0) console.error(checks.failed);
 * ```
 */
export class Checks {
  readonly list: Check[] = [];

  /** Records a check that holds when `ok`. */
  that(name: string, ok: boolean, detail: string): boolean {
    this.list.push({ name, ok, detail });
    return ok;
  }

  /**
   * Records a deep-equality check; on failure the detail shows the first difference found (an index
   * or key and both values) rather than two huge structures.
   */
  equal(name: string, actual: unknown, expected: unknown, detail = ''): boolean {
    const ok = isDeepStrictEqual(actual, expected);
    return this.that(
      name,
      ok,
      ok ? detail : `${detail}${detail ? '; ' : ''}${firstDifference(actual, expected)}`,
    );
  }

  /** The checks that failed. */
  get failed(): Check[] {
    return this.list.filter((c) => !c.ok);
  }

  /** Whether every check whose name contains one of `parts` held (and there is at least one). */
  held(...parts: string[]): boolean {
    const matching = this.list.filter((c) => parts.some((p) => c.name.includes(p)));
    return matching.length > 0 && matching.every((c) => c.ok);
  }
}

/**
 * One row of the campaign's summary table (the README's): a figure, its value, whether its checks held.
 *
 * @example
 * ```ts
 * const row: Headline = { figure: 'events lost', value: '0', ok: true };
 * ```
 */
export interface Headline {
  figure: string;
  value: string;
  ok: boolean;
}

/**
 * Where two values first differ, in words (for a failed check's detail).
 *
 * @example
 * ```ts
 * firstDifference([1, 2], [1, 3]); // '[1]: got 2, expected 3'
 * ```
 */
export function firstDifference(actual: unknown, expected: unknown, path = ''): string {
  if (Array.isArray(actual) && Array.isArray(expected)) {
    for (let i = 0; i < Math.min(actual.length, expected.length); i++) {
      if (!isDeepStrictEqual(actual[i], expected[i]))
        return firstDifference(actual[i], expected[i], `${path}[${i}]`);
    }
    return `${path || 'list'}: ${actual.length} entries, expected ${expected.length}`;
  }
  if (isObject(actual) && isObject(expected)) {
    for (const k of new Set([...Object.keys(actual), ...Object.keys(expected)])) {
      if (!isDeepStrictEqual(actual[k], expected[k]))
        return firstDifference(actual[k], expected[k], `${path}.${k}`);
    }
  }
  const show = (v: unknown): string => {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 200 ? `${s.slice(0, 200)}…` : s;
  };
  return `${path || 'value'}: got ${show(actual)}, expected ${show(expected)}`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The outcome of one scenario: its checks, its figures for the report (label → value, in order), and
 * a one-line summary for progress output.
 *
 * @example
 * ```ts
 * const r: ScenarioResult = { scenario: 'kills', checks: checks.list, figures: [['kills', '20']], summary: '…' };
 * ```
 */
export interface ScenarioResult {
  scenario: string;
  checks: Check[];
  figures: Array<[string, string]>;
  summary: string;
  /** Rows for the summary table. */
  headline?: Headline[];
  seconds?: number;
}

/**
 * Writes a progress line to standard error (the campaign's and the tests' output alike).
 *
 * @example
 * ```ts
 * progress('kills', 'kill 3/20 at line 31,200');
 * ```
 */
export function progress(scenario: string, text: string): void {
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${scenario}: ${text}\n`);
}

/**
 * Thousands separators for counts in figures.
 *
 * @example
 * ```ts
 * n(100000); // '100,000'
 * ```
 */
export const n = (x: number): string => x.toLocaleString('en-US');
