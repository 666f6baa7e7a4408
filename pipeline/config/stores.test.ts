/**
 * The `store:` variants: the MySQL one (host or URL, defaults, environment overrides, TLS), its
 * validation messages, and that its password never shows — as a key, inside a URL, in an error.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadRunConfig } from './load.js';
import { REDACTED, redactConfig } from './redact.js';
import { parseMysqlUrl } from './stores.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-store-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function yamlFile(text: string): string {
  const sub = join(dir, String(files++));
  mkdirSync(sub, { recursive: true });
  const path = join(sub, 'shelfwatch.yaml');
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

const PASSWORD = 'S3cr#t p@ss:/?word';
const ENCODED = encodeURIComponent(PASSWORD);

describe('store: mysql', () => {
  it('takes host, user, password and database, with defaults for the rest', () => {
    const file = yamlFile(
      [
        'store:',
        '  type: mysql',
        '  host: shelfwatch.abc123.eu-west-1.rds.amazonaws.com',
        '  user: shelfwatch',
        `  password: ${JSON.stringify(PASSWORD)}`,
        '  database: inventory',
        '  ssl: rds',
      ].join('\n'),
    );
    expect(loadRunConfig({ file, env: {} }).store).toEqual({
      type: 'mysql',
      host: 'shelfwatch.abc123.eu-west-1.rds.amazonaws.com',
      port: 3306,
      user: 'shelfwatch',
      password: PASSWORD,
      database: 'inventory',
      poolSize: 4,
      ssl: 'rds',
      connectTimeoutMs: 10_000,
      queryTimeoutMs: 30_000,
    });
  });

  it('takes a URL and resolves its parts; keys beside it override them', () => {
    const url = `mysql://app:${ENCODED}@[::1]:3307/inv%2Dentory`;
    const file = yamlFile(`store: {type: mysql, url: "${url}", poolSize: 8}\n`);
    expect(loadRunConfig({ file, env: {} }).store).toEqual({
      type: 'mysql',
      url,
      host: '::1',
      port: 3307,
      user: 'app',
      password: PASSWORD,
      database: 'inv-entory',
      poolSize: 8,
      connectTimeoutMs: 10_000,
      queryTimeoutMs: 30_000,
    });
    const overridden = loadRunConfig({
      file,
      env: {
        SHELFWATCH_STORE__PORT: '3308',
        SHELFWATCH_STORE__USER: 'other',
        SHELFWATCH_STORE__DATABASE: 'x',
      },
    }).store;
    expect(overridden).toMatchObject({
      host: '::1',
      port: 3308,
      user: 'other',
      password: PASSWORD,
      database: 'x',
    });
    expect(parseMysqlUrl('mariadb://db')).toEqual({ host: 'db' });
  });

  it('is configured from SHELFWATCH_STORE__* variables alone, the password from its own variable', () => {
    const config = loadRunConfig({
      env: {
        SHELFWATCH_STORE__TYPE: 'mysql',
        SHELFWATCH_STORE__URL: 'mysql://shelfwatch@db.internal:3306/shelfwatch',
        // A password with a YAML comment character and a colon stays whole; quotes keep digits.
        SHELFWATCH_STORE__PASSWORD: PASSWORD,
        SHELFWATCH_STORE__POOL_SIZE: '2',
        SHELFWATCH_STORE__SSL: 'true',
        SHELFWATCH_STORE__CONNECT_TIMEOUT_MS: '2500',
      },
    });
    expect(config.store).toMatchObject({
      type: 'mysql',
      host: 'db.internal',
      user: 'shelfwatch',
      password: PASSWORD,
      database: 'shelfwatch',
      poolSize: 2,
      ssl: true,
      connectTimeoutMs: 2_500,
    });
    // The variable overrides a password given in the file's URL too.
    const file = yamlFile(`store: {type: mysql, url: "mysql://u:old@h/d"}\n`);
    expect(loadRunConfig({ file, env: { SHELFWATCH_STORE__PASSWORD: 'new' } }).store).toMatchObject({
      password: 'new',
    });
    expect(
      loadRunConfig({
        env: {
          SHELFWATCH_STORE__TYPE: 'mysql',
          SHELFWATCH_STORE__HOST: 'h',
          SHELFWATCH_STORE__DATABASE: 'd',
          SHELFWATCH_STORE__PASSWORD: '"0123"',
        },
      }).store,
    ).toMatchObject({ password: '0123' });
    expect(
      loadRunConfig({
        env: {
          SHELFWATCH_STORE__TYPE: 'mysql',
          SHELFWATCH_STORE__HOST: 'h',
          SHELFWATCH_STORE__DATABASE: 'd',
          SHELFWATCH_STORE__SSL__CA: '/etc/ssl/rds.pem',
        },
      }).store,
    ).toMatchObject({ ssl: { ca: '/etc/ssl/rds.pem' } });
  });

  it('redacts the password by key name and inside the URL, in the logged configuration', () => {
    const fromUrl = loadRunConfig({
      env: { SHELFWATCH_STORE__TYPE: 'mysql', SHELFWATCH_STORE__URL: `mysql://app:${ENCODED}@db:3306/inv` },
    });
    const redacted = redactConfig(fromUrl);
    expect(redacted.store).toMatchObject({
      url: `mysql://db:3306/${REDACTED}`,
      password: REDACTED,
      host: 'db',
      user: 'app',
      database: 'inv',
    });
    const withKey = loadRunConfig({
      file: yamlFile(`store: {type: mysql, host: db, database: inv, password: "${PASSWORD}"}\n`),
      env: {},
    });
    expect(redactConfig(withKey).store).toMatchObject({ password: REDACTED, host: 'db' });
    for (const shown of [redactConfig(fromUrl), redactConfig(withKey)]) {
      const text = JSON.stringify(shown);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(ENCODED);
      expect(text).not.toContain('S3cr');
    }
  });

  it('says what is missing or wrong, never showing the password or the URL', () => {
    const missing = configError(() => loadRunConfig({ env: { SHELFWATCH_STORE__TYPE: 'mysql' } }));
    expect(missing.issues.map((i) => `${i.origin}: ${i.message}`)).toEqual([
      'env SHELFWATCH_STORE__TYPE: store.host is required (or a url with a host)',
      'env SHELFWATCH_STORE__TYPE: store.database is required (or a url ending in /database)',
    ]);

    const badUrl = configError(() =>
      loadRunConfig({
        env: { SHELFWATCH_STORE__TYPE: 'mysql', SHELFWATCH_STORE__URL: `postgres://u:${ENCODED}@h/d` },
      }),
    );
    expect(badUrl.message).toBe(
      'env SHELFWATCH_STORE__URL: store.url must start with mysql:// or mariadb://, not postgres://',
    );
    const query = configError(() =>
      loadRunConfig({
        env: { SHELFWATCH_STORE__TYPE: 'mysql', SHELFWATCH_STORE__URL: `mysql://u:${ENCODED}@h/d?ssl=true` },
      }),
    );
    expect(query.message).toMatch(/store\.url must not have query parameters/);

    // Unquoted digits are a number to YAML: refused (a password would lose its leading zero).
    const numeric = configError(() =>
      loadRunConfig({
        file: yamlFile('store: {type: mysql, host: h, database: d, password: 0123}\n'),
        env: {},
      }),
    );
    expect(numeric.issues.map((i) => i.message)).toEqual([
      `store.password must be a string (quote a password that looks like a number), got ${REDACTED}`,
    ]);

    const typo = configError(() =>
      loadRunConfig({
        file: yamlFile(`store: {type: mysql, host: h, database: d, pasword: "${PASSWORD}", ssl: yes}\n`),
        env: {},
      }),
    );
    expect(typo.issues.map((i) => i.message).sort()).toEqual([
      'store.ssl must be true, false, "rds" or { ca: <PEM file> }, got "yes"',
      'unknown key store.pasword (did you mean store.password?)',
    ]);
    for (const err of [missing, badUrl, query, numeric, typo]) {
      expect(err.message).not.toContain(PASSWORD);
      expect(err.message).not.toContain(ENCODED);
    }
  });

  it('needs the type to take MySQL keys (the SQLite default has no password)', () => {
    const err = configError(() => loadRunConfig({ env: { SHELFWATCH_STORE__PASSWORD: 'pw' } }));
    expect(err.message).toBe(
      'env SHELFWATCH_STORE__PASSWORD: store.type is required: one of "sqlite", "mysql", "dynamodb"',
    );
  });
});
