/**
 * No secret reaches an error message or stderr while loading, whatever YAML it is written in: the
 * `yaml` package quotes the source in its errors (an alias or tag name, a code frame of the line) and
 * prints its warnings through `process.emitWarning`, and the offending line may be `password: …`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { ConfigError, type LoadRunConfigOptions, loadRunConfig } from './load.js';
import { looksLikeSecretAssignment, REDACTED } from './redact.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-config-leaks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes `text` to `shelfwatch.yaml` in a fresh folder and returns its path. */
function yamlFile(text: string): string {
  const sub = join(dir, String(fileCount++));
  const path = join(sub, 'shelfwatch.yaml');
  mkdirSync(sub, { recursive: true });
  writeFileSync(path, text);
  return path;
}

// Everything loading may print: the spies swallow it (so a leak does not reach the test log either)
// and keep it for the assertions.
let spies: MockInstance[] = [];
let printed: string[] = [];
beforeEach(() => {
  printed = [];
  const keep = (...args: unknown[]) => {
    printed.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : String(a))).join(' '));
  };
  spies = [
    vi.spyOn(process, 'emitWarning').mockImplementation(keep),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      keep(chunk);
      return true;
    }),
    vi.spyOn(console, 'warn').mockImplementation(keep),
    vi.spyOn(console, 'error').mockImplementation(keep),
  ];
});
afterEach(() => {
  for (const spy of spies) spy.mockRestore();
});

/** Loads, returning the ConfigError's message, or `undefined` when the configuration is valid. */
function load(options: LoadRunConfigOptions): string | undefined {
  try {
    loadRunConfig({ env: {}, ...options });
    return undefined;
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err; // anything else (a RangeError from a cyclic value) is a bug of its own
  }
}

function loadFile(text: string): { file: string; message: string | undefined } {
  const file = yamlFile(text);
  return { file, message: load({ file }) };
}

const SECRET = 'Hunter2secret';

describe('YAML errors and warnings never show a secret', () => {
  it('reports an unknown alias in a secret key by position, not by its name', () => {
    const store = loadFile(`store:\n  type: mysql\n  host: db\n  database: inv\n  password: *${SECRET}\n`);
    expect(store.message).toBe(
      `${store.file}: is not valid YAML: line 5, column 13 (store.password): an alias (*name) with no anchor (&name) of that name before it`,
    );
    const slack = loadFile(`alerts:\n  sinks:\n    - type: slack\n      webhookUrl: *${SECRET}\n`);
    expect(slack.message).toBe(
      `${slack.file}: is not valid YAML: line 4, column 19 (alerts.sinks[0].webhookUrl): an alias (*name) with no anchor (&name) of that name before it`,
    );
    const email = loadFile(
      `alerts:\n  sinks:\n    - {type: email, host: smtp, from: a@b.c, to: [a@b.c], password: *${SECRET}}\n`,
    );
    expect(email.message).toMatch(/line 3, column 69 \(alerts\.sinks\[0\]\.password\): an alias/);
    expect(`${store.message}${slack.message}${email.message}${printed.join('')}`).not.toContain(SECRET);
  });

  it('refuses an unknown tag (without printing a warning) instead of dropping it', () => {
    const { file, message } = loadFile(
      `store:\n  type: mysql\n  host: db\n  database: inv\n  password: !${SECRET} x\n`,
    );
    expect(printed).toEqual([]);
    expect(message).toBe(
      `${file}: is not valid YAML: line 5, column 13 (store.password): an unknown tag (!name), or a value its tag cannot read: only standard YAML tags are allowed (TAG_RESOLVE_FAILED)`,
    );
    // An unknown directive was a printed warning too.
    const directive = loadFile(`%${SECRET} x\n---\nstore: {}\n`);
    expect(printed).toEqual([]);
    expect(directive.message).toMatch(/: is not valid YAML: line 1, column 1: .*\(BAD_DIRECTIVE\)$/);
    expect(directive.message).not.toContain(SECRET);
  });

  it('refuses a mapping as a key, which yaml stringified from its source with a printed warning', () => {
    const { file, message } = loadFile(`store:\n  ? {password: ${SECRET}}\n  : 1\n`);
    expect(printed).toEqual([]);
    expect(message).toBe(
      `${file}: is not valid YAML: line 2, column 5: a key that is a mapping, a list, an alias or a tagged value: keys must be plain names (NON_STRING_KEY)`,
    );
  });

  // Each of these parses to an error whose yaml message quotes the line (or part of it).
  it.each([
    [
      'an unclosed flow mapping',
      `store: {type: mysql, password: ${SECRET}\n`,
      'line 2, column 1',
      'BAD_INDENT',
    ],
    [
      'a stray bracket in a flow mapping',
      `store: {type: mysql, password: ${SECRET}]}\n`,
      'line 1, column 45',
      'BAD_INDENT',
    ],
    ['an unclosed quote', `store:\n  password: "${SECRET}\n`, 'line 3, column 1', 'MISSING_CHAR'],
    [
      'a duplicate key',
      `store:\n  password: ${SECRET}\n  password: ${SECRET}\n`,
      'line 3, column 3',
      'DUPLICATE_KEY',
    ],
    [
      'a line indented too far',
      `store:\n  type: mysql\n    password: ${SECRET}\n`,
      'line 2, column 9',
      'BLOCK_AS_IMPLICIT_KEY',
    ],
    ['a tab as indentation', `store:\n\tpassword: ${SECRET}\n`, 'line 2, column 1', 'TAB_AS_INDENT'],
    [
      'a second document',
      `store:\n  password: ${SECRET}\n---\nstore:\n  password: ${SECRET}\n`,
      'line 3, column 1',
      'MULTIPLE_DOCS',
    ],
    ['a bad escape', `store:\n  password: "Hunter2\\qsecret"\n`, 'line 2, column 21', 'BAD_DQ_ESCAPE'],
    [
      'a bad block scalar header',
      `store:\n  password: |x ${SECRET}\n`,
      'line 2, column 14',
      'UNEXPECTED_TOKEN',
    ],
  ])('reports %s by line, column and kind only', (_what, text, position, code) => {
    const { file, message } = loadFile(text);
    // The first problem; yaml may find a second one that the first leads to.
    expect(message).toMatch(
      new RegExp(`^(?:.*\\n  )?${escapeRegExp(file)}: is not valid YAML: ${position}: [^\\n]+ \\(${code}\\)`),
    );
    // Nothing of the value, not even the part yaml quotes (`\q`, `|x`).
    expect(message).not.toMatch(/Hunter2|secret|\\q|\|x/);
    expect(printed).toEqual([]);
  });

  it('refuses an anchored secret copied into a key that is not secret, and allows it into a secret', () => {
    const { file, message } = loadFile(
      `store: {type: mysql, host: db, database: inv, password: &pw ${SECRET}, user: *pw}\n`,
    );
    expect(message).toBe(
      `${file}: is not valid YAML: line 1, column 82 (store.user): an alias (*name) copying the secret at store.password into a key that is not secret, where it would be shown: write the value out, or set it from an environment variable`,
    );
    // Through a copied mapping, and into a key whose error would show its value.
    expect(
      loadFile(
        `alerts:\n  sinks:\n    - {type: webhook, url: "https://x.example/a", headers: &h {X-Key: ${SECRET}}}\nsource: *h\n`,
      ).message,
    ).toMatch(/\(source\): an alias \(\*name\) copying the secret at alerts\.sinks\[0\]\.headers\.X-Key /);
    expect(
      loadFile(`store: {type: mysql, host: db, database: inv, password: &pw ${SECRET}, poolSize: *pw}\n`)
        .message,
    ).not.toContain(SECRET);
    // The same secret reused for another password is fine.
    const reused = yamlFile(
      `store: {type: mysql, host: db, database: inv, password: &pw ${SECRET}}\n` +
        'alerts:\n  sinks:\n    - {type: email, host: smtp, from: a@b.c, to: [a@b.c], password: *pw}\n',
    );
    expect(loadRunConfig({ file: reused, env: {} }).alerts.sinks[0]).toMatchObject({ password: SECRET });
  });

  it('reports an alias inside its own anchor instead of overflowing the stack', () => {
    const { file, message } = loadFile('store: &a {type: mysql, x: *a}\n');
    expect(message).toBe(
      `${file}: is not valid YAML: line 1, column 28 (store.x): an alias (*name) inside the value its anchor marks (a cycle)`,
    );
  });

  it('reports aliases that expand too far by kind', () => {
    const ten = (name: string) => `[${Array(10).fill(name).join(', ')}]`;
    const { file, message } = loadFile(
      `a: &a ${ten('x')}\nb: &b ${ten('*a')}\nc: &c ${ten('*b')}\nd: ${ten('*c')}\n`,
    );
    expect(message).toBe(
      `${file}: is not valid YAML: aliases that expand to too large a value (more than 100 copies) (RESOURCE_EXHAUSTION)`,
    );
  });

  it('hides a password whose ":" is missing, which YAML reads as a key or as the whole value', () => {
    const flow = loadFile(`store: {type: mysql, host: db, database: inv, password ${SECRET}}\n`);
    expect(flow.message).toBe(
      `${flow.file}: unknown key store.${REDACTED}: it looks like a secret key and its value; is the ":" after the key name missing?`,
    );
    const block = loadFile(`store:\n  password ${SECRET}\n`);
    expect(block.message).toBe(
      `${block.file}: store must be a mapping, got ${REDACTED} (a secret key and its value? is a ":" missing?)`,
    );
    expect(loadFile(`store:\n  password:${SECRET}\n`).message).not.toContain(SECRET);
  });

  it('reads environment values through the same path', () => {
    const message = load({
      env: {
        SHELFWATCH_STORE: `{type: mysql, host: db, database: inv, password: *${SECRET}}`,
        SHELFWATCH_ALERTS__SINKS__0: `{type: slack, webhookUrl: !${SECRET} x}`,
        SHELFWATCH_ALERTS__SINKS__1__PASSWORD: `[!${SECRET} x]`,
      },
    });
    expect(printed).toEqual([]);
    expect(message?.split('\n').slice(1)).toEqual([
      '  env SHELFWATCH_ALERTS__SINKS__0: alerts.sinks[0] could not be read as a YAML value: line 1, column 27 (alerts.sinks[0].webhookUrl): an unknown tag (!name), or a value its tag cannot read: only standard YAML tags are allowed (TAG_RESOLVE_FAILED)',
      '  env SHELFWATCH_ALERTS__SINKS__1__PASSWORD: alerts.sinks[1].password could not be read as a YAML value: line 1, column 2 (alerts.sinks[1].password[0]): an unknown tag (!name), or a value its tag cannot read: only standard YAML tags are allowed (TAG_RESOLVE_FAILED)',
      '  env SHELFWATCH_STORE: store could not be read as a YAML value: line 1, column 50 (store.password): an alias (*name) with no anchor (&name) of that name before it',
    ]);
  });

  it('recognises a secret key run into its value', () => {
    expect(looksLikeSecretAssignment('password hunter2')).toBe(true);
    expect(looksLikeSecretAssignment('webhookUrl=https://hooks.slack.com/x')).toBe(true);
    expect(looksLikeSecretAssignment('apiKey:abc')).toBe(true);
    expect(looksLikeSecretAssignment('password')).toBe(false);
    expect(looksLikeSecretAssignment('maxRecords')).toBe(false);
    expect(looksLikeSecretAssignment('data/shelfwatch.db')).toBe(false);
  });
});

// ---- property -------------------------------------------------------------------------------------

const SEED = 20_240_611;

// Markers around the random part catch a message quoting only the start or the end of the value (a
// `#` or `, ` inside it cuts the rest off, or splits it into keys).
const HEAD = 'QxSeKr';
const TAIL = 'VtZqWp';
const YAML_SPECIAL = [...':#&*!|>\'"%@`{}[],?-<=~\\ \t'];
const secretValue = fc
  .string({
    unit: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...YAML_SPECIAL) },
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
    ),
    maxLength: 24,
  })
  .map((middle) => `${HEAD}${middle.replace(/[\r\n]/g, '')}${TAIL}`);

/** What an alias or tag name can hold. */
const nameOf = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '');
const MYSQL = 'type: mysql, host: db, database: inv';

/**
 * Broken documents with the secret in a secret key. `splits`: characters of the secret itself (`"`,
 * `}`, `, `) can end the value early and make the rest a key, and an unknown key is shown.
 */
const BROKEN: { name: string; splits?: boolean; text: (s: string) => string }[] = [
  { name: 'unknown alias', text: (s) => `store:\n  type: mysql\n  password: *${nameOf(s)}\n` },
  {
    name: 'unknown alias in a sink',
    text: (s) => `alerts:\n  sinks:\n    - type: slack\n      webhookUrl: *${nameOf(s)}\n`,
  },
  {
    name: 'unknown tag',
    text: (s) => `store:\n  ${MYSQL.replace(/, /g, '\n  ')}\n  password: !${nameOf(s)} x\n`,
  },
  {
    name: 'tag before the value',
    text: (s) => `store: {${MYSQL}, password: !${nameOf(s)} ${JSON.stringify(s)}}\n`,
  },
  { name: 'unclosed flow mapping', splits: true, text: (s) => `store: {${MYSQL}, password: ${s}\n` },
  { name: 'unclosed quote', splits: true, text: (s) => `store: {${MYSQL}, password: "${s}}\n` },
  { name: 'duplicate key', text: (s) => `store:\n  password: ${s}\n  password: ${s}\n` },
  { name: 'indented too far', text: (s) => `store:\n  type: mysql\n    password: ${s}\n` },
  { name: 'tab', text: (s) => `store:\n\tpassword: ${s}\n` },
  { name: 'two documents', text: (s) => `store:\n  password: ${s}\n---\nstore:\n  password: ${s}\n` },
  { name: 'bad escape', text: (s) => `store:\n  password: "${s.replace(/["\\]/g, '')}\\q"\n` },
  { name: 'block scalar header', text: (s) => `store:\n  password: |x ${s}\n` },
  { name: 'mapping as key', text: (s) => `store:\n  ? {password: ${JSON.stringify(s)}}\n  : 1\n` },
  {
    name: 'anchored secret copied',
    text: (s) => `store: {${MYSQL}, password: &pw ${JSON.stringify(s)}, user: *pw}\n`,
  },
  { name: 'missing colon (flow)', splits: true, text: (s) => `store: {${MYSQL}, password ${s}}\n` },
  { name: 'missing colon (block)', splits: true, text: (s) => `store:\n  password ${s}\n` },
];

const BROKEN_ENV: { name: string; splits?: boolean; env: (s: string) => Record<string, string> }[] = [
  { name: 'env alias', env: (s) => ({ SHELFWATCH_STORE: `{${MYSQL}, password: *${nameOf(s)}}` }) },
  { name: 'env tag', env: (s) => ({ SHELFWATCH_STORE__PASSWORD: `[!${nameOf(s)} x]` }) },
  {
    name: 'env unclosed quote',
    splits: true,
    env: (s) => ({ SHELFWATCH_STORE: `{${MYSQL}, password: "${s}}` }),
  },
  {
    name: 'env unclosed flow',
    splits: true,
    env: (s) => ({ SHELFWATCH_ALERTS__SINKS__0: `{type: slack, webhookUrl: ${s}` }),
  },
];

describe(`property (seed ${SEED}): a secret in broken YAML is never shown`, () => {
  it('in the ConfigError or on stderr, for the file and for environment variables', () => {
    const file = join(dir, 'property.yaml');
    const cases = fc.oneof(
      fc.record({ doc: fc.constantFrom(...BROKEN), secret: secretValue }).map(({ doc, secret }) => ({
        name: doc.name,
        splits: doc.splits === true,
        secret,
        run: () => {
          writeFileSync(file, doc.text(secret));
          return load({ file });
        },
      })),
      fc.record({ doc: fc.constantFrom(...BROKEN_ENV), secret: secretValue }).map(({ doc, secret }) => ({
        name: doc.name,
        splits: doc.splits === true,
        secret,
        run: () => load({ env: doc.env(secret) }),
      })),
    );
    fc.assert(
      fc.property(cases, ({ splits, secret, run }) => {
        printed = [];
        const shown = `${run() ?? ''}\n${printed.join('\n')}`;
        expect(shown).not.toContain(secret);
        expect(shown).not.toContain(HEAD);
        // YAML reads `{password a, b}` as keys `password a` and `b`, and `{password: "a",b}` as a
        // value and a key `b`: an unknown key is shown, and the loader cannot tell it from a piece of
        // a value (the whole secret and its start are still never shown).
        if (!splits) expect(shown).not.toContain(TAIL);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
