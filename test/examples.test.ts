/**
 * The example configurations in examples/ load as the job would load them, keep their secrets out of
 * the file (each `# secret: SHELFWATCH_…` comment names a variable that sets a key the logs redact),
 * and together show every section and every variant of the schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadRunConfig } from '../pipeline/config/load.js';
import { isPlainObject } from '../pipeline/config/paths.js';
import { isSecretPath, redactConfig } from '../pipeline/config/redact.js';
import { type RunConfig, RunConfigSchema } from '../pipeline/config/schema.js';

const dir = new URL('../examples/', import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const pathOf = (file: string) => fileURLToPath(new URL(file, dir));
const textOf = (file: string) => readFileSync(new URL(file, dir), 'utf8');

/** The variables an example's comments say hold its secrets. */
function secretVariables(file: string): string[] {
  return [...textOf(file).matchAll(/^#\s*secret:\s*(SHELFWATCH_[A-Z0-9_]+)/gm)].map((m) => m[1]);
}

/** A value that validates wherever a secret goes (URLs for URL keys, text for the rest). */
function dummy(variable: string, i: number): string {
  return variable.endsWith('URL')
    ? `https://hooks.example.com/services/T0/B0/dummy-secret-${i}`
    : `dummy-secret-${i}`;
}

function secretEnv(file: string): Record<string, string> {
  return Object.fromEntries(secretVariables(file).map((v, i) => [v, dummy(v, i)]));
}

function load(file: string): RunConfig {
  return loadRunConfig({ file: pathOf(file), env: secretEnv(file) });
}

/** Every leaf of a parsed YAML document, with its path. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [path];
}

describe('examples/', () => {
  it('has the documented examples and an index naming each', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'all-sinks.yaml',
        'file-replay.yaml',
        'kinesis-dynamodb.yaml',
        'kinesis-rds-mysql.yaml',
        'local-demo.yaml',
      ]),
    );
    const index = textOf('README.md');
    for (const file of files) expect(index, `examples/README.md should list ${file}`).toContain(`(${file})`);
  });

  it.each(files)('%s validates with its secrets set from the environment', (file) => {
    expect(() => load(file)).not.toThrow();
  });

  it.each(files)('%s keeps secrets out of the file, and its secret variables set redacted keys', (file) => {
    const inFile = leaves(parse(textOf(file)) as unknown).filter((p) => isSecretPath(p));
    expect(inFile).toEqual([]);
    const env = secretEnv(file);
    const loaded = JSON.stringify(load(file));
    const logged = JSON.stringify(redactConfig(load(file)));
    for (const [variable, value] of Object.entries(env)) {
      expect(loaded, `${variable} should set a key`).toContain(value);
      expect(logged, `${variable} should set a secret key`).not.toContain(value);
    }
  });

  it('local-demo.yaml is the embedded default, made explicit', () => {
    expect(load('local-demo.yaml')).toEqual(loadRunConfig({ env: {} }));
  });

  it('shows every top-level section and every source, store, sink and metrics-sink type', () => {
    const docs = files.map((f) => parse(textOf(f)) as Record<string, unknown>);
    const configs = files.map(load);
    const sections = new Set(docs.flatMap((d) => Object.keys(d)));
    expect([...sections].sort()).toEqual(Object.keys(RunConfigSchema.shape).sort());

    const shown = (pick: (c: RunConfig) => string[]) => [...new Set(configs.flatMap(pick))].sort();
    expect(shown((c) => [c.source.type])).toEqual(['file', 'generator', 'kinesis', 'stdin']);
    expect(shown((c) => [c.store.type])).toEqual(['dynamodb', 'mysql', 'sqlite']);
    expect(shown((c) => c.alerts.sinks.map((s) => s.type))).toEqual(
      ['console', 'email', 'file', 'slack', 'sns', 'webhook'].sort(),
    );
    expect(shown((c) => c.metricsSinks.map((m) => m.type))).toEqual(['timestream']);
    expect(configs.some((c) => c.alerts.routes.length > 0)).toBe(true);
  });
});
