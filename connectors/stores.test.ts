/**
 * createStoreFromConfig without a server: the SQLite store it builds works, the MySQL store is built
 * unopened (nothing connects), and its descriptions and errors never carry a password. The MySQL
 * store against a real server: test/mysql-store.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunConfig } from '../pipeline/config/load.js';
import type { StoreConfig } from '../pipeline/config/schema.js';
import { SqlStateStore } from './sql/sql-store.js';
import { createStoreFromConfig, describeStore } from './stores.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-stores-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mysql = (overrides: Record<string, string> = {}): StoreConfig =>
  loadRunConfig({
    env: {
      SHELFWATCH_STORE__TYPE: 'mysql',
      SHELFWATCH_STORE__URL: 'mysql://app:pw-in-url@db.example.com:3307/inventory',
      ...overrides,
    },
  }).store;

describe('createStoreFromConfig', () => {
  it('builds a working SQLite store from the default configuration', async () => {
    const config = loadRunConfig({ env: { SHELFWATCH_STORE__PATH: join(dir, 'state.db') } }).store;
    const store = createStoreFromConfig(config);
    expect(store).toBeInstanceOf(SqlStateStore);
    expect((store as SqlStateStore).dialect).toBe('sqlite');
    await store.open();
    await store.commit({
      shardId: 's',
      checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 },
      series: [],
      values: [],
      appliedEvents: [],
      deadLetters: [],
      anomalies: [],
    });
    expect(await store.loadCheckpoint('s')).toEqual({ sequenceNumber: '1', subSequenceNumber: 0 });
    await store.close();
    expect(describeStore(config)).toBe(`SQLite ${join(dir, 'state.db')}`);
  });

  it('builds a MySQL store without connecting, and describes it without the password', async () => {
    const store = createStoreFromConfig(mysql({ SHELFWATCH_STORE__SSL: 'rds' }));
    expect((store as SqlStateStore).dialect).toBe('mysql');
    await store.close(); // never opened: nothing to end
    expect(describeStore(mysql())).toBe('MySQL app@db.example.com:3307/inventory');
    expect(describeStore(mysql({ SHELFWATCH_STORE__SSL: 'rds' }))).toBe(
      'MySQL app@db.example.com:3307/inventory (TLS)',
    );
  });

  it('reads the CA file of ssl: { ca }, and names the key when it cannot', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(() => createStoreFromConfig(mysql({ SHELFWATCH_STORE__SSL__CA: ca }))).not.toThrow();
    expect(() => createStoreFromConfig(mysql({ SHELFWATCH_STORE__SSL__CA: join(dir, 'none.pem') }))).toThrow(
      `store.ssl.ca: cannot read ${join(dir, 'none.pem')} (ENOENT)`,
    );
  });
});
