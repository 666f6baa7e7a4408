/** The StateStore contract on SQLite: a file in a temp folder (WAL), and `:memory:`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { SqlStateStore } from '../connectors/sql/sql-store.js';
import { createSqliteStore } from '../connectors/sql/sqlite.js';
import { stateStoreContract } from './store-contract.js';

const root = mkdtempSync(join(tmpdir(), 'shelfwatch-sqlite-contract-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const pathOf = new WeakMap<SqlStateStore, string>();
let files = 0;

stateStoreContract(
  'SQLite file',
  async () => {
    // A folder that does not exist yet: the store creates it.
    const path = join(root, `store-${++files}`, 'nested', 'state.db');
    const store = createSqliteStore({ path });
    pathOf.set(store, path);
    return store;
  },
  (store) => {
    const path = pathOf.get(store);
    if (path !== undefined) rmSync(join(path, '..', '..'), { recursive: true, force: true });
  },
  {
    reopen: async (closed) => {
      const path = pathOf.get(closed) as string;
      const store = createSqliteStore({ path });
      pathOf.set(store, path);
      return store;
    },
  },
);

stateStoreContract('SQLite :memory:', async () => createSqliteStore({ path: ':memory:' }));
