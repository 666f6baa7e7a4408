#!/usr/bin/env node
/**
 * The `shelfwatch` command: one binary, one sub-command per job. This is the composition root:
 * the only place that wires connectors, pipeline and detectors together.
 */
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { type CommandEntry, commands } from './commands.js';

function version(): string {
  // cli/ runs from source (tsx) or from dist/cli/ after the build: package.json is one or two levels up.
  const candidates = [
    new URL('../package.json', import.meta.url),
    new URL('../../package.json', import.meta.url),
  ];
  for (const url of candidates) {
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version: string };
    if (pkg.name === 'shelfwatch') return pkg.version;
  }
  return 'unknown';
}

/**
 * The top-level help: what shelfwatch does and one line per command.
 *
 * @example
 * ```ts
 * process.stdout.write(`${usage(commands)}\n`);
 * ```
 */
export function usage(available: readonly Pick<CommandEntry, 'name' | 'summary'>[]): string {
  const width = Math.max(...available.map((c) => c.name.length));
  return [
    'Usage: shelfwatch <command> [options]',
    '',
    'Watches inventory events for anomalies: shrinkage, phantom stock, sales spikes, data-entry errors,',
    'supplier short-shipments and price anomalies.',
    '',
    'Commands:',
    ...available.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `shelfwatch <command> --help` for the options of one command.',
    'Options: --help, --version',
    '',
    'Examples:',
    '  shelfwatch generate --out data/demo --days 14 --skus 50',
    '  shelfwatch evaluate --input data/demo',
    '  shelfwatch run --help',
  ].join('\n');
}

/** `-h` or `--help` among a command's arguments (before a `--`) asks for its help, whatever else is there. */
function asksForHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * Runs the CLI on its arguments (without `node` and the script); resolves to the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['generate', '--out', 'data/demo']);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) return main([...rest, '--help']);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage(commands)}\n`);
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    process.stderr.write(`shelfwatch: unknown command '${name}'\n\n${usage(commands)}\n`);
    return 2;
  }
  // Help from the registry: the command's module (and its dependencies) stay unloaded.
  if (asksForHelp(rest)) {
    process.stdout.write(`${entry.help}\n`);
    return 0;
  }
  try {
    const command = await entry.load();
    return await command.run(rest);
  } catch (err) {
    // Mistakes in the command line get exit code 2 and a pointer to --help, not a stack trace.
    const parseError =
      err instanceof TypeError && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    if (err instanceof UsageError || parseError) {
      process.stderr.write(`shelfwatch ${name}: ${(err as Error).message}\nSee: shelfwatch ${name} --help\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`shelfwatch: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
