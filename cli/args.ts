import { type ParseArgsConfig, parseArgs } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type OptionValue<C> = C extends { type: 'boolean' } ? boolean : string;
/** The parsed values of a command's options: present when they have a default, else possibly undefined. */
export type CommandValues<O extends OptionsConfig> = {
  -readonly [K in keyof O]: O[K] extends { default: unknown }
    ? OptionValue<O[K]>
    : OptionValue<O[K]> | undefined;
};
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

/**
 * Parses a sub-command's arguments strictly (unknown flags and positionals are errors) with `-h/--help`
 * added; prints `help` and returns null when help was asked for.
 *
 * @example
 * ```ts
 * const values = parseCommandArgs(argv, { out: { type: 'string' } }, HELP);
 * if (values === null) return 0;
 * ```
 */
export function parseCommandArgs<const O extends OptionsConfig>(
  argv: readonly string[],
  options: O,
  help: string,
): CommandValues<O> | null {
  const { values } = parseArgs({
    args: [...argv],
    options: { ...options, help: { type: 'boolean', short: 'h', default: false } } as const,
    strict: true,
    allowPositionals: false,
  });
  // Inside the generic the parsed shape is not resolved yet; `help` is the one key added here.
  if ((values as { help?: boolean }).help) {
    process.stdout.write(`${help}\n`);
    return null;
  }
  // parseArgs validated every value against `options` (strict); its own generic type is not nameable here.
  return values as unknown as CommandValues<O>;
}
