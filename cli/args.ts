/** Small helpers that turn command-line strings into validated values, with errors naming the flag. */

/** A command-line argument is wrong; the message names the flag and says what it takes. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function numberFlag(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${flag} takes a number, got '${value}'`);
  return n;
}

export function integerFlag(flag: string, value: string | undefined, fallback: number): number {
  const n = numberFlag(flag, value, fallback);
  if (!Number.isInteger(n)) throw new UsageError(`--${flag} takes a whole number, got '${value}'`);
  return n;
}
