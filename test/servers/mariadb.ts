/**
 * A private MariaDB server for the MySQL store's tests and benchmark: the machine's `mariadbd` (Debian
 * `mariadb-server`, installed by `.ci/run`) on a free loopback port, with its data in a temp folder.
 *
 * `mariadb-install-db` (the system tables) runs once per machine and MariaDB version into a template
 * folder under the OS temp folder; each server starts from a copy of it (~30 MB, a fraction of a
 * second) instead of installing again. The service manager is not used (and is blocked on CI): the
 * server is a child process of the test, killed with it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { freePort, type ServerProcess, spawnServer, waitForPort } from './ports.js';

const run = promisify(execFile);

const MISSING =
  'MariaDB is not installed: run .ci/run, or `apt-get install mariadb-server` ' +
  '(the MySQL state store tests start their own mariadbd)';

/** Finds an executable on PATH or in the usual system folders (`/usr/sbin` is often not on PATH). */
function findExecutable(name: string): string | undefined {
  const folders = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/bin',
    '/usr/local/bin',
    '/usr/local/mysql/bin',
  ];
  for (const folder of folders) {
    if (folder === '') continue;
    const path = join(folder, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** The server binary and the installer: MariaDB's names, or the `mysqld` compatibility names. */
function binaries(): { server: string; install: string } {
  const server = findExecutable('mariadbd') ?? findExecutable('mysqld');
  const install = findExecutable('mariadb-install-db') ?? findExecutable('mysql_install_db');
  if (server === undefined || install === undefined) throw new Error(MISSING);
  return { server, install };
}

/** Settings shared by the installer and the server (a redo log of another size would be rebuilt). */
const SMALL = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M'];

let template: Promise<string> | undefined;

/**
 * The installed, never-started data folder to copy: made once per machine and MariaDB version (the
 * install is what takes seconds), shared by concurrent test processes through an atomic rename.
 */
function installedTemplate(server: string, install: string): Promise<string> {
  template ??= (async () => {
    const { stdout } = await run(server, ['--version']);
    const key = createHash('sha256')
      .update(`${stdout}|${SMALL.join(' ')}|${process.getuid?.() ?? ''}`)
      .digest('hex')
      .slice(0, 16);
    const dir = join(tmpdir(), `shelfwatch-mariadb-template-${key}`);
    if (existsSync(join(dir, 'READY'))) return dir;
    const staging = mkdtempSync(`${dir}.staging-`);
    const data = join(staging, 'data');
    try {
      await run(
        install,
        [
          '--no-defaults',
          `--user=${userName()}`,
          `--datadir=${data}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          ...SMALL,
        ],
        { timeout: 120_000 },
      );
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`mariadb-install-db failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    writeFileSync(join(staging, 'READY'), stdout);
    try {
      renameSync(staging, dir);
    } catch {
      // Another process finished first: use its copy.
      rmSync(staging, { recursive: true, force: true });
    }
    return dir;
  })();
  return template;
}

/** The user mariadbd runs as: root must say so (`--user=root`); anyone else runs as themselves. */
function userName(): string {
  return process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'nobody');
}

/**
 * A running MariaDB, reachable over TCP on 127.0.0.1 as a password user with every privilege (the
 * tests create a database per store).
 */
export interface MariaDb {
  /** `mysql://user:password@127.0.0.1:port/database`. */
  readonly url: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** A database created at start-up (tests that want their own create more). */
  readonly database: string;
  /** The data folder (kept across stop/restart, removed by close). */
  readonly datadir: string;
  /** Runs administrative SQL as root over the Unix socket (CREATE DATABASE, SET GLOBAL…). */
  exec(sql: string): Promise<void>;
  /** Stops the server (SIGTERM: a clean shutdown that closes every connection); the data stays. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL): no shutdown, InnoDB recovers from its redo log on `restart`. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data folder (after `stop` or `crash`). */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open but nothing answers, as in a network partition. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  /** Stops it for good and removes its data folder. */
  close(): Promise<void>;
}

/**
 * Options of {@link startMariaDb}.
 *
 * @example
 * ```ts
 * const options: MariaDbOptions = { persist: true, serverArgs: ['--innodb-buffer-pool-size=512M'] };
 * ```
 */
export interface MariaDbOptions {
  /** Flush every commit to disk, as a production server does (see {@link startMariaDb}). */
  persist?: boolean;
  /**
   * More `mariadbd` options, after the defaults (a later option wins): e.g. a production-sized buffer
   * pool and redo log for a benchmark, where the defaults are sized for many small test servers.
   */
  serverArgs?: readonly string[];
}

/**
 * Starts a MariaDB server. Commits are written to the OS at once and flushed to disk once a second
 * (`innodb_flush_log_at_trx_commit = 2`), which survives the server being killed but not the machine
 * crashing, and makes the many small transactions of the tests fast. With `persist`, every commit is
 * flushed (`= 1`, with the doublewrite buffer), as on RDS: what a benchmark should measure. Either way
 * the data is in a temp folder and survives `stop()`/`restart()`.
 *
 * @throws {Error} saying how to install MariaDB when `mariadbd` is missing, or with the server's
 *   output when it does not start.
 * @example
 * ```ts
 * const db = await startMariaDb();
 * const store = createMysqlStore({ url: db.url });
 * await db.close();
 * ```
 */
export async function startMariaDb(options: MariaDbOptions = {}): Promise<MariaDb> {
  const { server: binary, install } = binaries();
  const source = await installedTemplate(binary, install);
  const root = mkdtempSync(join(tmpdir(), 'shelfwatch-mariadb-'));
  const datadir = join(root, 'data');
  cpSync(join(source, 'data'), datadir, { recursive: true });
  const socket = join(root, 'mariadb.sock');
  const port = await freePort();
  const args = [
    '--no-defaults',
    `--user=${userName()}`,
    `--datadir=${datadir}`,
    `--socket=${socket}`,
    `--pid-file=${join(root, 'mariadb.pid')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    '--skip-log-bin',
    ...SMALL,
    '--innodb-log-buffer-size=8M',
    '--max-connections=200',
    '--performance-schema=OFF',
    ...(options.persist
      ? ['--innodb-flush-log-at-trx-commit=1', '--innodb-doublewrite=1']
      : ['--innodb-flush-log-at-trx-commit=2', '--innodb-doublewrite=0']),
    ...(options.serverArgs ?? []),
  ];
  const user = 'shelfwatch';
  const password = 'shelfwatch-test-pw';
  const database = 'shelfwatch';

  let server: ServerProcess | null = null;
  const killOnExit = (): void => {
    server?.child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const exec = async (sql: string): Promise<void> => {
    const connection = await createConnection({ socketPath: socket, user: 'root', password: '' });
    try {
      await connection.query(sql);
    } finally {
      await connection.end();
    }
  };

  const start = async (): Promise<void> => {
    const child = spawnServer(binary, args);
    server = child;
    try {
      await waitForPort(port, 60_000, child.child);
    } catch (err) {
      await child.stop(1_000);
      throw new Error(`mariadbd did not start: ${(err as Error).message}\n${child.output()}`);
    }
  };

  try {
    await start();
    // Idempotent, so restart() could run it again; the grants let tests create their databases.
    await exec(`create user if not exists '${user}'@'127.0.0.1' identified by '${password}'`);
    await exec(`grant all privileges on *.* to '${user}'@'127.0.0.1'`);
    await exec(`create database if not exists \`${database}\``);
  } catch (err) {
    await (server as ServerProcess | null)?.stop(1_000);
    process.removeListener('exit', killOnExit);
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  const signal = (name: NodeJS.Signals): void => {
    const child = server?.child;
    if (child === undefined || child.exitCode !== null) throw new Error('the MariaDB server is not running');
    child.kill(name);
  };

  return {
    url: `mysql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    datadir,
    exec,
    stop: async () => {
      // A paused server cannot act on SIGTERM.
      server?.child.kill('SIGCONT');
      await server?.stop(30_000);
      server = null;
    },
    crash: async () => {
      const child = server?.child;
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      server = null;
    },
    restart: start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    close: async () => {
      server?.child.kill('SIGCONT');
      await server?.stop(30_000);
      server = null;
      process.removeListener('exit', killOnExit);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
