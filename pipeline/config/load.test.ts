import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError, loadRunConfig } from './load.js';
import { REDACTED, redactConfig } from './redact.js';
import type { RunConfig } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes a YAML file named `shelfwatch.yaml` in a fresh folder and returns its path. */
function yamlFile(text: string): string {
  const sub = join(dir, String(fileCount++));
  const path = join(sub, 'shelfwatch.yaml');
  mkdirSync(sub, { recursive: true });
  writeFileSync(path, text);
  return path;
}
function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const DEFAULTS: RunConfig = {
  source: { type: 'generator', seed: 1, rate: 2000, days: 3650, skus: 200, warehouses: 3, anomalyRate: 0.01 },
  batch: { maxRecords: 5000, maxWaitMs: 200 },
  store: { type: 'sqlite', path: 'data/shelfwatch.db' },
  alerts: {
    sinks: [{ type: 'console', name: 'console' }],
    routes: [],
    groupWaitMs: 300_000,
    repeatIntervalMs: 21_600_000,
    maxPerHour: 60,
  },
  metricsSinks: [],
  detection: { duplicateWindowHours: 24 },
  metrics: { port: 9464, host: '127.0.0.1', unreadyAfterMs: 60_000 },
  log: { level: 'info', format: 'auto' },
  deadLetters: {},
  limits: { maxFutureSkewMs: 900_000, outOfWindow: 'dead-letter' },
  shutdown: { timeoutMs: 30_000 },
};

describe('loadRunConfig: defaults and precedence', () => {
  it('runs on built-in defaults with no file and no variables', () => {
    expect(loadRunConfig({ env: {} })).toEqual(DEFAULTS);
  });

  it('treats an empty file, or one with only comments, as all defaults', () => {
    expect(loadRunConfig({ file: yamlFile(''), env: {} })).toEqual(DEFAULTS);
    expect(loadRunConfig({ file: yamlFile('# nothing yet\n'), env: {} })).toEqual(DEFAULTS);
  });

  it('ignores variables without the prefix and the reserved SHELFWATCH_CONFIG', () => {
    expect(loadRunConfig({ env: { PATH: '/bin', SHELFWATCH_CONFIG: 'x.yaml' } })).toEqual(DEFAULTS);
  });

  it('fills the defaults a file leaves out, and the variables override the file', () => {
    const file = yamlFile(
      [
        'source:',
        '  type: file',
        '  path: events.ndjson',
        'batch:',
        '  maxRecords: 100',
        'log: {level: debug}',
      ].join('\n'),
    );
    const config = loadRunConfig({
      file,
      env: {
        SHELFWATCH_BATCH__MAX_RECORDS: '250',
        SHELFWATCH_SOURCE__FOLLOW: 'true',
        SHELFWATCH_STORE__PATH: '/var/lib/shelfwatch.db',
        SHELFWATCH_METRICS__PORT: '0',
      },
    });
    expect(config.source).toEqual({ type: 'file', path: 'events.ndjson', follow: true });
    expect(config.batch).toEqual({ maxRecords: 250, maxWaitMs: 200 });
    expect(config.store).toEqual({ type: 'sqlite', path: '/var/lib/shelfwatch.db' });
    expect(config.log.level).toBe('debug');
    expect(config.metrics.port).toBe(0);
  });

  it('adjusts the default source from a single variable without naming its type', () => {
    const config = loadRunConfig({
      env: { SHELFWATCH_SOURCE__RATE: '0', SHELFWATCH_SOURCE__ANOMALY_RATE: '0.5' },
    });
    expect(config.source).toMatchObject({ type: 'generator', rate: 0, anomalyRate: 0.5, seed: 1 });
  });

  it('parses variable values as YAML scalars, flow collections and quoted strings', () => {
    const config = loadRunConfig({
      env: {
        SHELFWATCH_SOURCE__TYPE: 'file',
        SHELFWATCH_SOURCE__PATH: '"007"',
        SHELFWATCH_SOURCE__FOLLOW: 'TRUE',
        SHELFWATCH_ALERTS__SINKS__0__TYPE: 'webhook',
        SHELFWATCH_ALERTS__SINKS__0__URL: 'https://hooks.example.com/a?b=1#frag',
        SHELFWATCH_ALERTS__SINKS__0__HEADERS__X_API_KEY: 'k#1',
        SHELFWATCH_ALERTS__SINKS__1: '{type: console}',
        SHELFWATCH_ALERTS__ROUTES: '[{match: {severities: [critical]}, receivers: [webhook]}]',
      },
    });
    expect(config.source).toEqual({ type: 'file', path: '007', follow: true });
    expect(config.alerts.sinks).toEqual([
      {
        type: 'webhook',
        name: 'webhook',
        url: 'https://hooks.example.com/a?b=1#frag',
        headers: { 'x-api-key': 'k#1' },
      },
      { type: 'console', name: 'console' },
    ]);
    expect(config.alerts.routes).toEqual([
      { match: { severities: ['critical'] }, receivers: ['webhook'], continue: false },
    ]);
  });

  it('removes a file key when its variable is empty, so the default applies again', () => {
    const file = yamlFile('batch: {maxWaitMs: 5}\ndeadLetters: {path: dl.ndjson}\n');
    const config = loadRunConfig({
      file,
      env: { SHELFWATCH_BATCH__MAX_WAIT_MS: '', SHELFWATCH_DEAD_LETTERS__PATH: 'null' },
    });
    expect(config.batch.maxWaitMs).toBe(200);
    expect(config.deadLetters.path).toBeUndefined();
  });
});

describe('loadRunConfig: errors name the key, the value and the origin', () => {
  it('names the file for a bad file value', () => {
    const file = yamlFile('source:\n  rate: fast\n');
    const err = configError(() => loadRunConfig({ file, env: {} }));
    expect(err.message).toBe(`${file}: source.rate must be a number ≥ 0, got "fast"`);
    expect(err.issues).toEqual([
      { origin: file, path: 'source.rate', message: 'source.rate must be a number ≥ 0, got "fast"' },
    ]);
  });

  it('names the variable for a bad variable value, even when the file had a good one', () => {
    const file = yamlFile('source:\n  type: generator\n  rate: 10\n');
    const err = configError(() => loadRunConfig({ file, env: { SHELFWATCH_SOURCE__RATE: 'fast' } }));
    expect(err.message).toBe('env SHELFWATCH_SOURCE__RATE: source.rate must be a number ≥ 0, got "fast"');
  });

  it('reports every problem at once, each with its own origin', () => {
    const file = yamlFile('batch:\n  maxRecords: 0\nmetrics:\n  port: 70000\n');
    const err = configError(() =>
      loadRunConfig({ file, env: { SHELFWATCH_LOG__LEVEL: 'loud', SHELFWATCH_BATCH__MAX_WAIT_MS: '-1' } }),
    );
    const lines = err.issues.map((i) => `${i.origin}: ${i.message}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        `${file}: batch.maxRecords must be an integer from 1 to 100000, got 0`,
        `${file}: metrics.port must be an integer from 0 to 65535, got 70000`,
        'env SHELFWATCH_LOG__LEVEL: log.level must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"',
        'env SHELFWATCH_BATCH__MAX_WAIT_MS: batch.maxWaitMs must be an integer from 0 to 3600000, got -1',
      ]),
    );
    expect(lines).toHaveLength(4);
    expect(err.message).toContain('4 problems');
  });

  it('names a missing required key and the unknown variant of a union', () => {
    const file = yamlFile('source: {type: file}\nstore: {type: postgres}\n');
    const err = configError(() => loadRunConfig({ file, env: {} }));
    expect(err.issues.map((i) => i.message)).toEqual([
      'source.path is required (a file path)',
      'store.type must be one of "sqlite", "mysql", "dynamodb", got "postgres"',
    ]);
    expect(err.issues.every((i) => i.origin === file)).toBe(true);
  });

  it('attributes a missing key to the variable that chose the variant', () => {
    const err = configError(() => loadRunConfig({ env: { SHELFWATCH_SOURCE__TYPE: 'file' } }));
    expect(err.message).toBe('env SHELFWATCH_SOURCE__TYPE: source.path is required (a file path)');
  });

  it('rejects a section of the wrong kind and a YAML syntax error', () => {
    expect(
      configError(() => loadRunConfig({ file: yamlFile('batch: 5\n'), env: {} })).issues[0].message,
    ).toBe('batch must be a mapping, got 5');
    const broken = yamlFile('source:\n  type: "generator\n');
    expect(configError(() => loadRunConfig({ file: broken, env: {} })).message).toMatch(
      new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is not valid YAML: .*line \\d+`),
    );
    expect(
      configError(() => loadRunConfig({ file: yamlFile('- a\n- b\n'), env: {} })).issues[0].message,
    ).toBe('the top level must be a mapping of keys, got a list');
  });

  it('names a missing file', () => {
    const missing = join(dir, 'nope.yaml');
    expect(configError(() => loadRunConfig({ file: missing, env: {} })).message).toBe(
      `${missing}: cannot read the configuration file (ENOENT)`,
    );
  });

  it('checks that routes name existing sinks and that sink names are distinct', () => {
    const file = yamlFile(
      [
        'alerts:',
        '  sinks:',
        '    - {type: console}',
        '    - {type: file, path: a.ndjson, name: console}',
        '  routes:',
        '    - {receivers: [console, pager]}',
      ].join('\n'),
    );
    const messages = configError(() => loadRunConfig({ file, env: {} })).issues.map((i) => i.message);
    expect(messages).toEqual([
      'alerts.sinks[1].name is "console", already the name of alerts.sinks[0]; give each sink a distinct name',
      'alerts.routes[0].receivers[1] names no sink: "pager" (sinks: "console")',
    ]);
  });

  it('rejects anomaly types and severities a route cannot match', () => {
    const file = yamlFile(
      'alerts:\n  routes:\n    - {match: {types: [shrinkge], severities: [urgent]}, receivers: [console]}\n',
    );
    const messages = configError(() => loadRunConfig({ file, env: {} })).issues.map((i) => i.message);
    expect(messages[0]).toMatch(
      /^alerts\.routes\[0\]\.match\.types\[0\] must be one of "shrinkage", .*got "shrinkge"$/,
    );
    expect(messages[1]).toMatch(
      /^alerts\.routes\[0\]\.match\.severities\[0\] must be one of "critical", "warning", "info", got "urgent"$/,
    );
  });
});

describe('loadRunConfig: unknown keys', () => {
  it('rejects a misspelt file key with a suggestion', () => {
    const file = yamlFile(
      'source:\n  type: generator\n  rtae: 10\nbatch:\n  maxRecord: 5\nalerts:\n  groupWait: 1\n',
    );
    const messages = configError(() => loadRunConfig({ file, env: {} })).issues.map(
      (i) => `${i.origin}: ${i.message}`,
    );
    expect(messages).toEqual([
      `${file}: unknown key source.rtae (did you mean source.rate?)`,
      `${file}: unknown key batch.maxRecord (did you mean batch.maxRecords?)`,
      `${file}: unknown key alerts.groupWait (did you mean alerts.groupWaitMs?)`,
    ]);
  });

  it('lists the known keys when nothing is close', () => {
    const file = yamlFile('metrics:\n  colour: blue\n');
    expect(configError(() => loadRunConfig({ file, env: {} })).message).toBe(
      `${file}: unknown key metrics.colour (known keys: port, host, unreadyAfterMs)`,
    );
  });

  it('rejects a key that belongs to another variant of the union', () => {
    const file = yamlFile('source:\n  type: generator\n  path: x.ndjson\n');
    expect(configError(() => loadRunConfig({ file, env: {} })).issues[0].message).toMatch(
      /^unknown key source\.path/,
    );
  });

  it('rejects a misspelt variable with a suggestion', () => {
    const err = configError(() =>
      loadRunConfig({
        env: { SHELFWATCH_SOURCE__RAET: '5', SHELFWATCH_STOER__PATH: 'x.db', SHELFWATCH_NOPE: '1' },
      }),
    );
    expect(err.issues.map((i) => `${i.origin}: ${i.message}`)).toEqual([
      'env SHELFWATCH_NOPE: unknown key nope',
      'env SHELFWATCH_SOURCE__RAET: unknown key source.raet (did you mean source.rate?)',
      'env SHELFWATCH_STOER__PATH: unknown key stoer (did you mean store?)',
    ]);
  });

  it('rejects a list index that skips items', () => {
    const err = configError(() => loadRunConfig({ env: { SHELFWATCH_ALERTS__SINKS__3__TYPE: 'console' } }));
    expect(err.message).toMatch(/^env SHELFWATCH_ALERTS__SINKS__3__TYPE: .*index 3 skips index 0/);
  });
});

describe('secrets', () => {
  const SECRET = 'hunter2-s3cr3t';
  const webhook = `https://user:${SECRET}@hooks.slack.com/T/${SECRET}`;

  it('never puts a secret in an error message', () => {
    const fromFile = yamlFile(
      [
        'alerts:',
        '  sinks:',
        `    - {type: webhook, url: "ftp://${SECRET}", headers: {Authorization: 7}}`,
        `    - {type: webhook, url: "${webhook}", tokne: ${SECRET}}`,
        `source: "${webhook}"`,
      ].join('\n'),
    );
    const fileErr = configError(() => loadRunConfig({ file: fromFile, env: {} }));
    expect(fileErr.issues.length).toBeGreaterThanOrEqual(3);
    expect(fileErr.message).not.toContain(SECRET);
    expect(fileErr.message).toContain('alerts.sinks[0].url must be an http(s) URL, got [redacted]');
    expect(fileErr.message).toContain('source must be a mapping, got "https://hooks.slack.com/[redacted]"');

    const envErr = configError(() =>
      loadRunConfig({
        env: {
          SHELFWATCH_ALERTS__SINKS__0__TYPE: 'webhook',
          SHELFWATCH_ALERTS__SINKS__0__URL: `[${SECRET}`,
          SHELFWATCH_ALERTS__SINKS__0__HEADERS__AUTHORIZATION: `{${SECRET}`,
        },
      }),
    );
    expect(envErr.message).not.toContain(SECRET);
    expect(envErr.message).toContain(
      'env SHELFWATCH_ALERTS__SINKS__0__URL: alerts.sinks[0].url could not be read',
    );

    const brokenYaml = yamlFile(`alerts:\n  sinks:\n    - {type: webhook, url: "${webhook}\n`);
    expect(configError(() => loadRunConfig({ file: brokenYaml, env: {} })).message).not.toContain(SECRET);
  });

  it('redacts secrets from the configuration it logs, keeping the webhook host', () => {
    const file = yamlFile(
      [
        'alerts:',
        '  sinks:',
        `    - type: webhook`,
        `      url: "${webhook}"`,
        `      headers: {Authorization: "Bearer ${SECRET}"}`,
      ].join('\n'),
    );
    const config = loadRunConfig({ file, env: {} });
    const redacted = redactConfig(config);
    expect(JSON.stringify(redacted)).not.toContain(SECRET);
    expect(redacted.alerts.sinks[0]).toEqual({
      type: 'webhook',
      name: 'webhook',
      url: `https://hooks.slack.com/${REDACTED}`,
      headers: { Authorization: REDACTED },
    });
    // The original is untouched and everything else is kept.
    expect(config.alerts.sinks[0]).toMatchObject({ url: webhook });
    expect(redacted.source).toEqual(config.source);
  });

  it('redacts secret-looking keys anywhere, for sections added later', () => {
    const redacted = redactConfig({
      store: { type: 'mysql', password: SECRET, dsn: `mysql://root:${SECRET}@db/x`, host: 'db' },
      aws: { credentials: { accessKeyId: 'AKIA', secretAccessKey: SECRET }, apiKey: SECRET },
      slack: { token: SECRET, webhookUrl: `https://hooks.slack.com/${SECRET}` },
    });
    expect(JSON.stringify(redacted)).not.toContain(SECRET);
    expect(redacted.store.host).toBe('db');
    expect(redacted.store.dsn).toBe(`mysql://db/${REDACTED}`);
    expect(redacted.slack.webhookUrl).toBe(REDACTED);
  });
});

// ---- round trip ----------------------------------------------------------------------------------

const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);
const path = fc.stringMatching(/^[A-Za-z0-9_./ -]{1,30}$/).filter((s) => s.trim().length > 0);
const fraction = fc.double({ min: 0, max: 1, noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x));
const anomalyTypes = fc.subarray([
  'shrinkage',
  'phantom_stock',
  'sales_spike',
  'data_entry_error',
  'supplier_short_shipment',
  'supplier_price_anomaly',
  'stuck_feed',
  'negative_stock',
] as const);
const severities = fc.subarray(['critical', 'warning', 'info'] as const);

const source = fc.oneof(
  fc.record({
    type: fc.constant('generator' as const),
    seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    rate: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 1e6, noNaN: true })),
    days: fc.integer({ min: 1, max: 3650 }),
    skus: fc.integer({ min: 1, max: 1_000_000 }),
    warehouses: fc.integer({ min: 1, max: 99 }),
    anomalyRate: fraction,
  }),
  fc.record({ type: fc.constant('file' as const), path, follow: fc.boolean() }),
  fc.record({ type: fc.constant('stdin' as const) }),
);

const sink = fc.oneof(
  fc.record({ type: fc.constant('console' as const), name }),
  fc.record({ type: fc.constant('file' as const), name, path }),
  fc.record(
    {
      type: fc.constant('webhook' as const),
      name,
      url: fc.webUrl({ withQueryParameters: true }),
      headers: fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/), fc.string({ maxLength: 20 })),
    },
    { requiredKeys: ['type', 'name', 'url'] },
  ),
);

const alerts = fc.uniqueArray(sink, { selector: (s) => s.name, maxLength: 4 }).chain((sinks) =>
  fc.record({
    sinks: fc.constant(sinks),
    routes:
      sinks.length === 0
        ? fc.constant<RunConfig['alerts']['routes']>([])
        : fc.array(
            fc.record(
              {
                match: fc.record({ types: anomalyTypes, severities }, { requiredKeys: [] }),
                receivers: fc.subarray(
                  sinks.map((s) => s.name),
                  { minLength: 1 },
                ),
                continue: fc.boolean(),
              },
              { requiredKeys: ['receivers', 'continue'] },
            ),
            { maxLength: 3 },
          ),
    groupWaitMs: fc.nat(),
    repeatIntervalMs: fc.nat(),
    maxPerHour: fc.integer({ min: 1, max: 10_000 }),
  }),
);

const runConfig = fc.record({
  source,
  batch: fc.record({
    maxRecords: fc.integer({ min: 1, max: 100_000 }),
    maxWaitMs: fc.integer({ min: 0, max: 3_600_000 }),
  }),
  store: fc.record({ type: fc.constant('sqlite' as const), path }),
  alerts,
  detection: fc.record(
    { model: path, duplicateWindowHours: fc.double({ min: 0, max: 1e4, noNaN: true }).map((x) => x + 0) },
    { requiredKeys: ['duplicateWindowHours'] },
  ),
  metrics: fc.record({
    port: fc.integer({ min: 0, max: 65_535 }),
    host: fc.constantFrom('127.0.0.1', '0.0.0.0', 'localhost', '::1'),
    unreadyAfterMs: fc.nat(),
  }),
  log: fc.record({
    level: fc.constantFrom('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    format: fc.constantFrom('auto', 'json', 'pretty'),
  }),
  deadLetters: fc.record({ path }, { requiredKeys: [] }),
  limits: fc.record({
    maxFutureSkewMs: fc.nat(),
    outOfWindow: fc.constantFrom('dead-letter' as const, 'quarantine' as const),
  }),
  shutdown: fc.record({ timeoutMs: fc.integer({ min: 0, max: 3_600_000 }) }),
  metricsSinks: fc.array(
    fc.record({
      type: fc.constant('timestream' as const),
      name: fc.constantFrom('metrics', 'ts'),
      database: fc.constantFrom('shelfwatch', 'inventory'),
      table: fc.constantFrom('series', 'stock'),
    }),
    { maxLength: 1 },
  ),
});

describe('round trip', () => {
  it('loads any valid configuration serialised to YAML back equal', () => {
    const file = join(dir, 'roundtrip.yaml');
    fc.assert(
      fc.property(runConfig, (config: RunConfig) => {
        writeFileSync(file, YAML.stringify(config));
        expect(loadRunConfig({ file, env: {} })).toEqual(config);
      }),
      { numRuns: 200 },
    );
  });
});
