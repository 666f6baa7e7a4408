/**
 * Vitest global setup: one fast-check seed for the whole run, printed once so that any property
 * failure reproduces with `FC_SEED=<seed> npx vitest run <file>`. `test/fast-check-worker.ts` applies
 * it in every test worker.
 */
import { randomInt } from 'node:crypto';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The fast-check seed of this run (see `test/fast-check-seed.ts`). */
    fcSeed: number;
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * The run's seed: `FC_SEED` when set (a 32-bit integer, as fast-check prints them), else a random one.
 *
 * @throws {Error} when `FC_SEED` is set but is not a 32-bit integer, rather than silently ignoring it.
 * @example
 * ```ts
 * pickFastCheckSeed('-210279417'); // -210279417
 * pickFastCheckSeed(undefined); // a random 32-bit integer
 * ```
 */
export function pickFastCheckSeed(fromEnv: string | undefined): number {
  if (fromEnv === undefined || fromEnv.trim() === '') return randomInt(INT32_MIN, INT32_MAX + 1);
  const text = fromEnv.trim();
  const seed = Number(text);
  if (!/^-?\d+$/.test(text) || seed < INT32_MIN || seed > INT32_MAX) {
    throw new Error(
      `FC_SEED must be a 32-bit integer (as fast-check prints seeds), got ${JSON.stringify(fromEnv)}`,
    );
  }
  return seed;
}

/**
 * Picks the seed, prints it, and provides it to the test workers as `inject('fcSeed')`.
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * test: { globalSetup: ['test/fast-check-seed.ts'], setupFiles: ['test/fast-check-worker.ts'] }
 * ```
 */
export default function setup(project: TestProject): void {
  const seed = pickFastCheckSeed(process.env.FC_SEED);
  console.log(`fast-check seed ${seed} (rerun with FC_SEED=${seed})`);
  project.provide('fcSeed', seed);
}
