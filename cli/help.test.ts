/**
 * The help texts kept apart from the commands (so that `--help` loads nothing heavy) must still say
 * what the commands do: the same defaults, the same detectors, and examples the commands accept.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_GENERATOR_OPTIONS } from '../datasets/index.js';
import { DEFAULT_SERIES_DETECTOR, SERIES_DETECTORS, TABULAR_DETECTORS } from '../evaluation/index.js';
import { loadRunConfig } from '../pipeline/config/load.js';
import { COUNT_FEATURES } from '../pipeline/detect/count-model.js';
import { LOG_FORMATS } from '../pipeline/observability/log-format.js';
import { commands } from './commands.js';
import { COUNT_FEATURE_NAMES, EVALUATE_HELP, GENERATE_HELP, RUN_HELP, TRAIN_HELP } from './help.js';

/** The lines under `Examples:`, which must close the help. */
function examples(help: string): string[] {
  const at = help.lastIndexOf('\nExamples:\n');
  expect(at, 'the help has an Examples section').toBeGreaterThan(0);
  const lines = help.slice(at + '\nExamples:\n'.length).split('\n');
  for (const l of lines) expect(l, 'nothing after the examples but examples').toMatch(/^ {2}\S/);
  return lines.map((l) => l.trim());
}

/** An example as `[environment assignments, the command name, its arguments]`. */
function parseExample(line: string): { env: string[]; name: string; args: string[] } {
  expect(line, 'examples need no shell quoting').not.toMatch(/["'\\$`]/);
  const words = line.split(/\s+/);
  const env: string[] = [];
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0])) env.push(words.shift()!);
  expect(words.shift()).toBe('shelfwatch');
  const name = words.shift()!;
  return { env, name, args: words };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('command help', () => {
  it('ends every command help with examples that its own parser accepts', async () => {
    for (const entry of commands) {
      const lines = examples(entry.help);
      expect(lines.length).toBeGreaterThan(0);
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      for (const line of lines) {
        const { env, name, args } = parseExample(line);
        expect(name, line).toBe(entry.name);
        // Settings from the environment must be ones the configuration takes.
        const vars = Object.fromEntries(
          env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
        );
        if (env.length > 0) expect(() => loadRunConfig({ env: vars }), line).not.toThrow();
        // Strict parsing happens before --help is honoured: an unknown or malformed flag throws here,
        // and nothing runs (the help is printed instead).
        const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
        await expect(command.run([...args, '--help']), line).resolves.toBe(0);
        expect(write).toHaveBeenCalledWith(`${entry.help}\n`);
        write.mockRestore();
      }
    }
  });

  it("describes the stream job's embedded default as it is configured", () => {
    const config = loadRunConfig({ env: {} });
    if (config.source.type !== 'generator') throw new Error('the default source is the generator');
    expect(config.source.days).toBe(3650);
    expect(RUN_HELP).toContain(`source.days ${config.source.days}`);
    expect(RUN_HELP).toContain(`${config.source.rate.toLocaleString('en-US')} events/s`);
    expect(RUN_HELP).toContain('simulated arrival time');
    if (config.store.type !== 'sqlite') throw new Error('the default store is SQLite');
    expect(RUN_HELP).toContain(`SQLite state in\n${config.store.path}`);
    expect(RUN_HELP).toContain(`http://${config.metrics.host}:${config.metrics.port}/metrics`);
    // The words of the resume log line, and how to start over.
    expect(RUN_HELP).toContain('resuming after record N from the checkpoint in SQLite');
    expect(RUN_HELP).toContain('-wal and -shm files to start over');
    expect(RUN_HELP).toContain(`log.format: ${LOG_FORMATS.join(' | ')}`);
  });

  it('lists the defaults, features and detectors the commands use', () => {
    expect(GENERATE_HELP).toContain(
      `--days D               simulated days (default ${DEFAULT_GENERATOR_OPTIONS.days})`,
    );
    expect(COUNT_FEATURE_NAMES).toBe(COUNT_FEATURES.join(', '));
    expect(TRAIN_HELP).toContain(COUNT_FEATURE_NAMES);
    for (const d of [...TABULAR_DETECTORS, ...SERIES_DETECTORS]) {
      expect(EVALUATE_HELP).toContain(`    ${d.name.padEnd(14)} ${d.summary}`);
    }
    expect(SERIES_DETECTORS.map((d) => d.name)).toContain(DEFAULT_SERIES_DETECTOR);
  });
});
