import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { int, oneOf, text } from './leaves.js';
import { ConfigError, loadRunConfig } from './load.js';
import { configKeys, configReference, renderConfigReference } from './reference.js';

const REFERENCE = new URL('../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  it('is what the schema generates (else: npm run docs:config)', () => {
    const written = readFileSync(REFERENCE, 'utf8');
    const wanted = renderConfigReference();
    // The message is what a contributor who changed the schema sees.
    expect(written === wanted, 'docs/configuration.md is out of date: run npm run docs:config').toBe(true);
  });

  it('gives every key and every section of the schema a description', () => {
    const sections = configReference();
    const flat = (list: typeof sections): typeof sections => list.flatMap((s) => [s, ...flat(s.sections)]);
    const undescribedSections = flat(sections)
      .filter((s) => s.description === undefined)
      .map((s) => s.title);
    const undescribedKeys = configKeys(sections)
      .filter((k) => k.description === undefined)
      .map((k) => k.key);
    // Add `.meta({ description: '…' })` where the key is defined in pipeline/config/*.ts.
    expect(undescribedSections).toEqual([]);
    expect(undescribedKeys).toEqual([]);
  });

  it('documents the keys that were once only visible in a log line', () => {
    const keys = configKeys().map((k) => k.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'batch.maxRecords',
        'batch.maxWaitMs',
        'log.level',
        'alerts.groupWaitMs',
        'alerts.maxPerHour',
        'deadLetters.path',
        'source.type=file: follow',
        'alerts.sinks[].type=slack: webhookUrl',
        'store.type=mysql: ssl.ca',
        'metricsSinks[].type=timestream: database',
      ]),
    );
  });

  it('names, for every key, an environment variable the loader maps to a key', () => {
    const unknown: string[] = [];
    for (const { env } of configKeys()) {
      const name = env.replaceAll('<n>', '0').replace('<NAME>', 'X_API_KEY');
      try {
        loadRunConfig({ env: { [name]: 'x' } });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (err.issues.some((i) => i.message.includes('unknown key'))) unknown.push(env);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('marks the keys redact.ts hides as secret', () => {
    const secret = Object.fromEntries(configKeys().map((k) => [k.key, k.secret]));
    expect(secret['store.type=mysql: password']).toBe('whole');
    expect(secret['alerts.sinks[].type=slack: webhookUrl']).toBe('whole');
    expect(secret['alerts.sinks[].type=email: password']).toBe('whole');
    expect(secret['alerts.sinks[].type=webhook: headers']).toBe('whole');
    expect(secret['alerts.sinks[].type=webhook: url']).toBe('host');
    expect(secret['store.type=mysql: url']).toBe('host');
    expect(secret['source.type=generator: rate']).toBe('none');
  });
});

describe('configReference', () => {
  // A small schema built like the real one, so that what the walker reads is pinned down.
  const Fixture = z.strictObject({
    queue: z
      .strictObject({
        depth: int(1, 10).default(3).meta({ description: 'How deep.' }),
        mode: oneOf(['fast', 'safe']).default('safe').meta({ description: 'How.' }),
        apiToken: text('a token').optional(),
      })
      .prefault({})
      .meta({ description: 'The queue.' }),
    target: z
      .discriminatedUnion('type', [
        z
          .strictObject({
            type: z.literal('disk'),
            path: text('a file path').meta({ description: 'Where.' }),
          })
          .meta({ description: 'On disk.' }),
        z.strictObject({ type: z.literal('none') }).meta({ description: 'Nowhere.' }),
      ])
      .prefault({ type: 'none' })
      .meta({ description: 'The target.' }),
  });

  it('reads types, ranges, enums, defaults, secrets, variables and descriptions from the schema', () => {
    const keys = configKeys(configReference(Fixture));
    expect(keys.map((k) => [k.key, k.value, k.default, k.env, k.secret, k.description])).toEqual([
      ['queue.depth', 'integer 1–10', '`3`', 'SHELFWATCH_QUEUE__DEPTH', 'none', 'How deep.'],
      ['queue.mode', 'one of `fast`, `safe`', '`safe`', 'SHELFWATCH_QUEUE__MODE', 'none', 'How.'],
      ['queue.apiToken', 'a token', '—', 'SHELFWATCH_QUEUE__API_TOKEN', 'whole', undefined],
      [
        'target.type',
        'one of `disk`, `none`',
        '`none`',
        'SHELFWATCH_TARGET__TYPE',
        'none',
        expect.stringContaining('Which kind'),
      ],
      ['target.type=disk: path', 'a file path', '**required**', 'SHELFWATCH_TARGET__PATH', 'none', 'Where.'],
    ]);
  });

  it('renders one section per top-level key and one per variant', () => {
    const markdown = renderConfigReference(configReference(Fixture));
    expect(markdown).toContain('\n## queue\n\nThe queue.\n');
    expect(markdown).toContain('\n## target\n\nThe target. Default: `{"type":"none"}`.\n');
    expect(markdown).toContain('\n### target.type=disk\n\nOn disk.\n');
    expect(markdown).toContain('\n### target.type=none\n\nNowhere.\n\nNo other keys.\n');
    expect(markdown).toContain(
      '| `queue.apiToken` | a token | — | `SHELFWATCH_QUEUE__API_TOKEN` | **Secret.**  |',
    );
  });
});
