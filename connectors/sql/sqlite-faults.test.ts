/**
 * Storage faults of the SQLite store, each reproduced for real and reported with its cause and path:
 * disk full (SQLite's page limit, and a full tmpfs where this process may mount one), a read-only
 * database file, folder, -wal and -shm file (in a child process that drops to `nobody` when the tests
 * run as root, since root ignores permission bits), a read-only mount, and a database file that
 * becomes immutable while the store runs (where `chattr` works).
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type SQLite from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type BatchCommit, StaleCheckpointError } from '../../pipeline/ports.js';
import { StoreMigrationError } from './migrations.js';
import { createSqliteStore, type SqliteStateStore, type SqliteStoreOptions } from './sqlite.js';
import { sqliteStoreError } from './sqlite-faults.js';
import { StoreError } from './store-error.js';

// Every connection the store opens, so that a test can lower its page limit (per connection in SQLite).
const opened = {
  connections: [] as SQLite.Database[],
  /** Runs on each new connection, before the store configures it. */
  hook: undefined as ((db: SQLite.Database) => void) | undefined,
};
// The store loads better-sqlite3 with require at its first open (sqlite.ts), so the module's entry in
// require's cache is where the test puts a constructor that records each connection.
{
  const requireHere = createRequire(import.meta.url);
  const Actual = requireHere('better-sqlite3') as typeof SQLite;
  class Recorded extends Actual {
    constructor(...args: ConstructorParameters<typeof SQLite>) {
      super(...args);
      opened.connections.push(this);
      opened.hook?.(this);
    }
  }
  const entry = requireHere.cache[requireHere.resolve('better-sqlite3')];
  if (!entry) throw new Error('better-sqlite3 is not in require.cache after require');
  entry.exports = Recorded;
}

const root = mkdtempSync(join(tmpdir(), 'shelfwatch-sqlite-faults-'));
chmodSync(root, 0o755); // the unprivileged child must reach its folders
afterAll(() => {
  // Folders made read-only for the child would stop a non-root rmSync.
  const unlock = (dir: string): void => {
    chmodSync(dir, 0o755);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) unlock(join(dir, entry.name));
    }
  };
  unlock(root);
  rmSync(root, { recursive: true, force: true });
});
// Stores a test opened, closed even when it fails: an open file keeps a tmpfs from unmounting.
const live: SqliteStateStore[] = [];
afterEach(async () => {
  for (const store of live.splice(0)) await store.close();
});
function newStore(options: SqliteStoreOptions): SqliteStateStore {
  const store = createSqliteStore(options);
  live.push(store);
  return store;
}
/** Unmounts `dir` after closing the test's stores; lazily if something still holds a file there. */
async function unmount(dir: string): Promise<void> {
  for (const store of live.splice(0)) await store.close();
  if (!works(['umount', dir])) execFileSync('umount', ['-l', dir]);
}

let n = 0;
const newDir = (): string => {
  const dir = join(root, `case-${++n}`);
  mkdirSync(dir);
  return dir;
};

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** Whether `command` runs; used to run the mount and chattr cases only where the kernel lets us. */
function works(...commands: string[][]): boolean {
  try {
    for (const [file, ...args] of commands) execFileSync(file as string, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const probeDir = newDir();
// Why some groups below run only where the kernel allows (runIf): a full file system, a read-only
// mount and an immutable file can only be produced with these capabilities. The same causes are also
// covered everywhere by the page limit (SQLITE_FULL) and the unprivileged child (read-only files).
// Mounting needs root with CAP_SYS_ADMIN: a VM runner has it, a default Docker container does not.
const canMount =
  asRoot && works(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probeDir], ['umount', probeDir]);
// chattr +i needs CAP_LINUX_IMMUTABLE and a file system that has the flag (ext4, xfs, btrfs, tmpfs).
const immutableProbe = join(probeDir, 'immutable');
writeFileSync(immutableProbe, '');
const canChattr = asRoot && works(['chattr', '+i', immutableProbe], ['chattr', '-i', immutableProbe]);
// prlimit (util-linux) lowers this process's own soft limit: no privilege needed.
const canPrlimit = process.platform === 'linux' && works(['prlimit', '--version']);

// The fault tests below need what only some machines give (root with CAP_SYS_ADMIN for mounts,
// chattr, prlimit): on a laptop without them they are left out rather than failed. CI runs as root on
// Linux, where every one of them must run: there a missing capability fails here instead of skipping.
it.runIf(process.env.CI === 'true')('CI can run every storage-fault test (mount, chattr, prlimit)', () => {
  expect({ canMount, canChattr, canPrlimit }).toEqual({ canMount: true, canChattr: true, canPrlimit: true });
});

function batch(i: number, size = 200): BatchCommit {
  return {
    shardId: 'shard-0',
    checkpoint: { sequenceNumber: String(i), subSequenceNumber: 0 },
    series: [
      {
        sku: 'SKU-1',
        warehouse: 'WH-1',
        onHand: i,
        reserved: 0,
        inbound: 0,
        lastCountQuantity: null,
        lastCountAt: null,
        salesVelocity: 0,
        lastEventAt: i,
        model: 'm'.repeat(2_000),
      },
    ],
    values: [],
    appliedEvents: Array.from({ length: size }, (_, e) => ({
      eventId: `${i}-${e}-${'e'.repeat(40)}`,
      occurredAt: i,
      sku: 'SKU-1',
      warehouse: 'WH-1',
    })),
    deadLetters: [],
    anomalies: [],
  };
}

/** A database with one commit, closed (so no -wal or -shm is left). */
async function existingDatabase(path: string): Promise<void> {
  const store = newStore({ path });
  await store.open();
  await store.commit(batch(1));
  await store.close();
}

/** Owned by the child's user: writable for it (the tests' own user already owns everything). */
function childMayWrite(...paths: string[]): void {
  for (const p of paths) if (asRoot) chownSync(p, NOBODY, NOBODY);
}
/** Not writable for the child: root-owned and read-only as root, read-only as anyone else. */
function childMayNotWrite(...paths: string[]): void {
  for (const p of paths) chmodSync(p, statSync(p).isDirectory() ? 0o555 : 0o444);
}

interface Outcome {
  step: 'open' | 'commit';
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
  retryable?: boolean;
  location?: string;
}

const sqliteModule = pathToFileURL(join(import.meta.dirname, 'sqlite.ts')).href;
const betterSqlite = pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href;

/**
 * Opens the store at `path` and commits one batch in a child process that, when the tests run as
 * root, becomes `nobody` once its modules are loaded (so it needs no access to the source tree).
 */
function openAndCommitUnprivileged(path: string): Promise<Outcome[]> {
  const script = `
    const { createSqliteStore } = await import(${JSON.stringify(sqliteModule)});
    const SQLite = (await import(${JSON.stringify(betterSqlite)})).default;
    new SQLite(':memory:').close(); // loads the native addon while the source is still readable
    if (process.getuid() === 0) { process.setgroups([]); process.setgid(${NOBODY}); process.setuid(${NOBODY}); }
    const out = [];
    const failed = (step, e) => out.push({ step, ok: false, name: e.name, code: e.code, message: e.message,
      retryable: e.retryable, location: e.location });
    const store = createSqliteStore({ path: ${JSON.stringify(path)} });
    try {
      await store.open();
      out.push({ step: 'open', ok: true });
      try {
        await store.commit(${JSON.stringify(batch(2, 5))});
        out.push({ step: 'commit', ok: true });
      } catch (e) { failed('commit', e); }
    } catch (e) { failed('open', e); }
    await store.close().catch(() => {});
    process.stdout.write(JSON.stringify(out));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) =>
    child.on('close', (code, signal) => {
      if (code === 0) resolve(JSON.parse(stdout) as Outcome[]);
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
    }),
  );
}

describe('a database the process cannot write', () => {
  it('read-only database file: open() fails naming the file and EACCES (was: open ok, every commit "attempt to write a readonly database")', async () => {
    const dir = newDir();
    const path = join(dir, 'state.db');
    await existingDatabase(path);
    childMayWrite(dir);
    childMayNotWrite(path);
    const [outcome] = await openAndCommitUnprivileged(path);
    expect(outcome).toMatchObject({ step: 'open', ok: false, name: 'StoreError', code: 'EACCES' });
    expect(outcome).toMatchObject({ retryable: false, location: path });
    expect(outcome?.message).toContain(`state store sqlite ${path}: ${path} is not writable (EACCES)`);
    expect(outcome?.message).toMatch(/make .*state\.db writable by uid \d+/);
  });

  it('read-only folder: open() fails naming the folder and EACCES (was: "unable to open database file")', async () => {
    const dir = newDir();
    const path = join(dir, 'state.db');
    await existingDatabase(path);
    childMayWrite(path);
    childMayNotWrite(dir);
    const [outcome] = await openAndCommitUnprivileged(path);
    expect(outcome).toMatchObject({ step: 'open', ok: false, code: 'EACCES', retryable: false });
    expect(outcome?.message).toContain(
      `state store sqlite ${path}: the folder ${dir} is not writable (EACCES)`,
    );
    expect(outcome?.message).toContain('SQLite creates state.db-wal and state.db-shm in it');
  });

  for (const suffix of ['-shm', '-wal'] as const) {
    it(`read-only ${suffix} file: open() fails naming it before SQLite maps it (was: "attempt to write a readonly database")`, async () => {
      const dir = newDir();
      const path = join(dir, 'state.db');
      await existingDatabase(path);
      // As another user's process or a restore would leave it: present, and not ours to write.
      writeFileSync(`${path}${suffix}`, Buffer.alloc(suffix === '-shm' ? 32_768 : 0));
      childMayWrite(dir, path);
      childMayNotWrite(`${path}${suffix}`);
      const [outcome] = await openAndCommitUnprivileged(path);
      expect(outcome).toMatchObject({ step: 'open', ok: false, code: 'EACCES', retryable: false });
      expect(outcome?.message).toContain(
        `state store sqlite ${path}: ${path}${suffix} is not writable (EACCES)`,
      );
    });
  }

  it('a writable database still opens and commits in the same child set-up', async () => {
    const dir = newDir();
    const path = join(dir, 'state.db');
    await existingDatabase(path);
    childMayWrite(dir, path);
    expect(await openAndCommitUnprivileged(path)).toEqual([
      { step: 'open', ok: true },
      { step: 'commit', ok: true },
    ]);
  });
});

describe('disk full', () => {
  it('a commit reports SQLITE_FULL with the path (was: "database or disk is full"), and the store recovers', async () => {
    const path = join(newDir(), 'state.db');
    const store = newStore({ path });
    await store.open();
    const db = opened.connections.at(-1) as SQLite.Database;
    // SQLite's page limit fails a write exactly as ENOSPC does: SQLITE_FULL, transaction rolled back.
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.pragma(`max_page_count = ${pages + 2}`);

    const error = await store.commit(batch(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    const fault = error as StoreError;
    expect(fault).toMatchObject({ code: 'SQLITE_FULL', store: 'sqlite', location: path, retryable: true });
    expect(fault.message).toMatch(
      new RegExp(
        `^state store sqlite ${path}: disk full \\(SQLITE_FULL\\): free space on the file system holding .+ available\\); the batch was not committed and can be retried$`,
      ),
    );
    expect(await store.loadCheckpoint('shard-0')).toBeNull();

    db.pragma('max_page_count = 1073741823'); // space freed
    await store.commit(batch(1));
    expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '1', subSequenceNumber: 0 });
    await store.close();
  });

  it('opening a new database on a full disk reports SQLITE_FULL with the path', async () => {
    const path = join(newDir(), 'state.db');
    const store = newStore({ path });
    // The migrations are the first writes: the new file's page limit is set before they run.
    opened.hook = (db) => db.pragma('max_page_count = 2');
    const error = await store.open().catch((e: unknown) => e);
    opened.hook = undefined;
    expect(error).toMatchObject({ name: 'StoreError', code: 'SQLITE_FULL', retryable: true });
    expect((error as Error).message).toMatch(
      new RegExp(`^state store sqlite ${path}: disk full \\(SQLITE_FULL\\): .*; the store was not opened$`),
    );
    await store.close();
  });

  describe.runIf(canMount)('on a full tmpfs (root with CAP_SYS_ADMIN only)', () => {
    it('ENOSPC: commits report disk full with the path, and succeed again once space is freed', async () => {
      const dir = newDir();
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
      try {
        const path = join(dir, 'state.db');
        writeFileSync(join(dir, 'filler'), Buffer.alloc(256 * 1024));
        const store = newStore({ path });
        await store.open();
        let error: unknown;
        let i = 1;
        for (; i <= 50 && error === undefined; i++) {
          error = await store.commit(batch(i)).catch((e: unknown) => e);
        }
        expect(error).toBeInstanceOf(StoreError);
        expect(error).toMatchObject({ code: 'SQLITE_FULL', retryable: true });
        expect((error as Error).message).toContain(
          `state store sqlite ${path}: disk full (SQLITE_FULL): free space on the file system holding ${dir} (`,
        );
        rmSync(join(dir, 'filler'));
        await store.commit(batch(i - 1));
        expect(await store.loadCheckpoint('shard-0')).toEqual({
          sequenceNumber: String(i - 1),
          subSequenceNumber: 0,
        });
        await store.close();
      } finally {
        await unmount(dir);
      }
    });
  });
});

describe.runIf(canPrlimit)('a write that fails at COMMIT (the file size limit, on Linux)', () => {
  it('reports the I/O error and its cause, not the failed ROLLBACK (was: "cannot rollback - no transaction is active")', async () => {
    const path = join(newDir(), 'state.db');
    const store = newStore({ path });
    await store.open();
    await store.commit(batch(1));
    // The WAL frames are written at COMMIT; past the limit the write fails (EFBIG), SQLite rolls the
    // transaction back itself, and the ROLLBACK that follows fails: the path ENOSPC takes too.
    const limit = statSync(`${path}-wal`).size + 40_000;
    const original =
      /^Max file size\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 'unlimited';
    execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${limit}:`]);
    let error: unknown;
    try {
      error = await store.commit(batch(2)).catch((e: unknown) => e);
    } finally {
      execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${original}:`]);
    }
    expect(error).toBeInstanceOf(StoreError);
    const fault = error as StoreError;
    expect(fault).toMatchObject({ code: 'SQLITE_IOERR_WRITE', location: path, retryable: false });
    expect(fault.message).toContain(`state store sqlite ${path}: I/O error (SQLITE_IOERR_WRITE): `);
    expect(fault.message).toContain("reached this process's file size limit (EFBIG");
    expect(fault.message).not.toContain('cannot rollback');
    expect(String(fault.rollbackError)).toContain('cannot rollback - no transaction is active');

    // Nothing of it was written, and with the limit lifted the same batch commits.
    expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '1', subSequenceNumber: 0 });
    await store.commit(batch(2));
    expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '2', subSequenceNumber: 0 });
    await store.close();
  });
});

describe.runIf(canMount)('a read-only mount (root with CAP_SYS_ADMIN only)', () => {
  it('open() fails with EROFS naming the folder (was: "unable to open database file")', async () => {
    const source = newDir();
    const path = join(source, 'state.db');
    await existingDatabase(path);
    const mounted = newDir();
    execFileSync('mount', ['--bind', source, mounted]);
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', mounted]);
      const store = newStore({ path: join(mounted, 'state.db') });
      const error = await store.open().catch((e: unknown) => e);
      await store.close();
      expect(error).toMatchObject({ name: 'StoreError', code: 'EROFS', retryable: false });
      expect((error as Error).message).toContain(`the folder ${mounted} is not writable (EROFS)`);
      expect((error as Error).message).toContain('read-only file system');
    } finally {
      await unmount(mounted);
    }
  });
});

describe.runIf(canChattr)(
  'a database file made immutable while the store runs (root with chattr only)',
  () => {
    it('fails the commit once the WAL outgrows walCheckBytes (was: every commit accepted, WAL growing)', async () => {
      const path = join(newDir(), 'state.db');
      const store = newStore({ path, walCheckBytes: 256 * 1024 });
      await store.open();
      await store.commit(batch(1));
      execFileSync('chattr', ['+i', path]);
      try {
        let error: unknown;
        let accepted = 0;
        for (let i = 2; i <= 40 && error === undefined; i++) {
          error = await store.commit(batch(i)).catch((e: unknown) => e);
          if (error === undefined) accepted++;
        }
        // A few land in the WAL before it passes the threshold: SQLite keeps them durable there.
        expect(accepted).toBeLessThan(20);
        expect(error).toBeInstanceOf(StoreError);
        expect(error).toMatchObject({ code: 'SQLITE_IOERR_WRITE', retryable: false, location: path });
        const message = (error as Error).message;
        expect(message).toContain(
          `state store sqlite ${path}: the database file cannot be written (SQLITE_IOERR_WRITE; ${path}: EPERM)`,
        );
        expect(message).toContain(`they pile up in ${path}-wal`);
      } finally {
        execFileSync('chattr', ['-i', path]);
      }
      // Writable again: the check's checkpoint succeeds and commits go on.
      await store.commit(batch(50));
      expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '50', subSequenceNumber: 0 });
      await store.close();
    });
  },
);

describe('sqliteStoreError', () => {
  const path = join(root, 'classify', 'state.db');
  mkdirSync(join(root, 'classify'));
  const sqliteError = (code: string, message = code): Error => Object.assign(new Error(message), { code });

  it('classifies lock and busy as retryable, corruption as not', () => {
    const busy = sqliteStoreError(sqliteError('SQLITE_BUSY', 'database is locked'), {
      path,
      operation: 'commit',
    });
    expect(busy).toMatchObject({ name: 'StoreError', code: 'SQLITE_BUSY', retryable: true });
    expect((busy as Error).message).toContain(
      `state store sqlite ${path}: locked by another connection (SQLITE_BUSY)`,
    );
    const corrupt = sqliteStoreError(sqliteError('SQLITE_CORRUPT'), { path, operation: 'read' });
    expect(corrupt).toMatchObject({ code: 'SQLITE_CORRUPT', retryable: false });
  });

  it('finds the fault a migration error wraps', () => {
    const wrapped = new StoreMigrationError('state store migration failed in 0001_initial', [], {
      cause: sqliteError('SQLITE_FULL'),
    });
    expect(sqliteStoreError(wrapped, { path, operation: 'open' })).toMatchObject({
      code: 'SQLITE_FULL',
      cause: wrapped,
    });
  });

  it('leaves errors that are not storage faults as they are', () => {
    const constraint = sqliteError('SQLITE_CONSTRAINT_NOTNULL');
    expect(sqliteStoreError(constraint, { path, operation: 'commit' })).toBe(constraint);
    const stale = new StaleCheckpointError('shard-0', null, null);
    expect(sqliteStoreError(stale, { path, operation: 'commit' })).toBe(stale);
  });
});

describe('the writability probe', () => {
  it('leaves no file behind', async () => {
    const dir = newDir();
    closeSync(openSync(join(dir, 'state.db'), 'w'));
    const store = newStore({ path: join(dir, 'state.db') });
    await store.open();
    await store.close();
    expect(readdirSync(dir)).toEqual(['state.db']);
  });
});
