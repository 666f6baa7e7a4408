/**
 * Storage faults of the SQLite store, reported with their cause. SQLite's own messages say little
 * ("database or disk is full", "attempt to write a readonly database", "disk I/O error", "unable to
 * open database file") and never which file; an I/O error does not even keep the errno. So a fault is
 * classified by its code and, where the code is vague, diagnosed by probing the files on disk.
 *
 * The probe also runs before SQLite opens the file ({@link checkSqliteFilesWritable}). SQLite maps the
 * `-shm` file into memory: one it cannot write sends it into read-only fallbacks that fail later, and
 * a mapped `-shm` that shrinks under the process (another process resetting or truncating it) kills it
 * with SIGBUS, with no error to log. Refusing to start is the clear report.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { rollbackErrorOf, StoreError } from './store-error.js';

/**
 * What the store was doing when the fault happened; it decides the last words of the message.
 *
 * @example
 * ```ts
 * const operation: SqliteOperation = 'commit'; // "…; the batch was not committed and can be retried"
 * ```
 */
export type SqliteOperation = 'open' | 'commit' | 'read' | 'checkpoint';

/** A file (or folder) of the store that this process cannot write, and the errno that says why. */
interface Unwritable {
  file: string;
  code: string;
  folder: boolean;
}

type Kind = 'full' | 'read-only' | 'busy' | 'io' | 'cantopen' | 'corrupt' | 'nomem';

/** SQLite primary codes (extended codes start with them) and errnos that are storage faults. */
const KINDS: ReadonlyArray<readonly [string, Kind]> = [
  ['SQLITE_FULL', 'full'],
  ['SQLITE_READONLY', 'read-only'],
  ['SQLITE_BUSY', 'busy'],
  ['SQLITE_LOCKED', 'busy'],
  ['SQLITE_PROTOCOL', 'busy'],
  ['SQLITE_IOERR', 'io'],
  ['SQLITE_CANTOPEN', 'cantopen'],
  ['SQLITE_PERM', 'read-only'],
  ['SQLITE_CORRUPT', 'corrupt'],
  ['SQLITE_NOTADB', 'corrupt'],
  ['SQLITE_NOMEM', 'nomem'],
  ['ENOSPC', 'full'],
  ['EDQUOT', 'full'],
  ['EROFS', 'read-only'],
  ['EACCES', 'read-only'],
  ['EPERM', 'read-only'],
  ['ENOENT', 'cantopen'],
  ['ENOTDIR', 'cantopen'],
  ['EISDIR', 'cantopen'],
  ['EIO', 'io'],
];

function kindOf(code: string): Kind | undefined {
  return KINDS.find(([c]) => code === c || code.startsWith(`${c}_`))?.[1];
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The first error in the `cause` chain whose code is a storage fault (a migration wraps the driver's). */
function faultIn(error: unknown): { error: unknown; code: string; kind: Kind } | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = codeOf(e);
    const kind = code === undefined ? undefined : kindOf(code);
    if (code !== undefined && kind !== undefined) return { error: e, code, kind };
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The first of the store's folder, database file, `-wal` and `-shm` files that this process cannot
 * write, by trying: a file created (and removed) in the folder, each existing file opened for writing
 * (`r+`, which changes nothing). Unlike `access(W_OK)`, that is what SQLite will do, with the effective
 * user, so it also catches read-only mounts, immutable files and whatever a security module denies.
 */
function findUnwritable(path: string): Unwritable | undefined {
  const folder = dirname(path);
  const probe = join(folder, `.${basename(path)}-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (error) {
    return { file: resolve(folder), code: codeOf(error) ?? 'EIO', folder: true };
  }
  try {
    unlinkSync(probe);
  } catch {
    // Created but not removable: odd, and not what stops SQLite. Leave it.
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      closeSync(openSync(file, 'r+'));
    } catch (error) {
      const code = codeOf(error) ?? 'EIO';
      if (code !== 'ENOENT') return { file, code, folder: false };
    }
  }
  return undefined;
}

/** Bytes the file system holding `folder` has left for this user, or undefined when unknown. */
function bytesAvailable(folder: string): number | undefined {
  try {
    const s = statfsSync(folder);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * The process's file size limit (RLIMIT_FSIZE, `ulimit -f`, systemd `LimitFSIZE=`) when one of the
 * store's files has reached it, or undefined. Writing past it fails with EFBIG, which SQLite reports
 * as a bare SQLITE_IOERR_WRITE. Linux only (/proc); elsewhere undefined.
 */
function fileSizeLimitReached(path: string): number | undefined {
  let limit: number;
  try {
    const soft = /^Max file size\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    if (soft === undefined || soft === 'unlimited') return undefined;
    limit = Number(soft);
  } catch {
    return undefined;
  }
  const reached = [path, `${path}-wal`].some(
    (file) => (statSync(file, { throwIfNoEntry: false })?.size ?? 0) + 128 * 1024 >= limit,
  );
  return reached ? limit : undefined;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function uid(): string {
  return process.getuid === undefined ? 'this process' : `uid ${process.getuid()}`;
}

/** What to do about a file or folder that cannot be written, by errno. */
function unwritableAdvice(u: Unwritable): string {
  const what = u.folder ? `the folder ${u.file}` : u.file;
  switch (u.code) {
    case 'EROFS':
      return `${what} is on a read-only file system: remount it read-write or move the store to a writable volume`;
    case 'EPERM':
      return `${what} is immutable or append-only (lsattr; chattr -i -a) or a security policy denies writing: lift that`;
    case 'EACCES':
      return `make ${what} writable by ${uid()} (owner and mode)`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `free space on the file system holding ${what}`;
    case 'ENOENT':
    case 'ENOTDIR':
      return `${what} does not exist or a part of its path is not a folder`;
    case 'EISDIR':
      return `${what} is a folder, not a database file`;
    default:
      return `check ${what}`;
  }
}

function consequence(operation: SqliteOperation, retryable: boolean): string {
  switch (operation) {
    case 'open':
      return 'the store was not opened';
    case 'read':
      return retryable ? 'the read failed and can be retried' : 'the read failed';
    case 'commit':
    case 'checkpoint':
      return retryable
        ? 'the batch was not committed and can be retried'
        : 'the batch was not committed; retrying fails until this is fixed';
  }
}

/**
 * Before SQLite opens the file: fails with a {@link StoreError} naming the folder or file this process
 * cannot write (`EACCES`, `EROFS`, `EPERM`, …). The folder must be writable because SQLite creates the
 * `-wal` and `-shm` files beside the database; the `-shm` file is memory-mapped, and one that cannot be
 * written must stop the start rather than leave the job running in a mode that fails or crashes later.
 *
 * @throws {StoreError} with the errno as `code`; `retryable` only when it is ENOSPC or EDQUOT.
 * @example
 * ```ts
 * checkSqliteFilesWritable('data/shelfwatch.db'); // before new SQLite('data/shelfwatch.db')
 * ```
 */
export function checkSqliteFilesWritable(path: string): void {
  const u = findUnwritable(path);
  if (u === undefined) return;
  const kind = kindOf(u.code) ?? 'read-only';
  const why = u.folder
    ? `SQLite creates ${basename(path)}-wal and ${basename(path)}-shm in it`
    : u.file.endsWith('-shm')
      ? 'SQLite shares the WAL index through this memory-mapped file'
      : u.file.endsWith('-wal')
        ? 'it holds the commits not yet copied into the database (never delete it)'
        : 'every commit ends up in it';
  const subject = u.folder ? `the folder ${u.file}` : u.file;
  throw new StoreError(
    `state store sqlite ${path}: ${subject} is not writable (${u.code}): ${why}; ${unwritableAdvice(u)}; ${consequence('open', false)}`,
    { code: u.code, store: 'sqlite', location: path, retryable: kind === 'full' },
  );
}

/**
 * The error to report for `error`, thrown by the SQLite store at `path` while doing `operation`: a
 * {@link StoreError} naming the cause for a storage fault (found in the error or its `cause` chain,
 * and diagnosed on disk when SQLite's code is vague), or `error` unchanged for anything else (a
 * constraint violation, a fenced checkpoint, a StoreError already).
 *
 * @example
 * ```ts
 * try { await store.commit(batch); }
 * catch (error) { throw sqliteStoreError(error, { path: 'data/shelfwatch.db', operation: 'commit' }); }
 * // StoreError: state store sqlite data/shelfwatch.db: disk full (SQLITE_FULL): free space on the file
 * //   system holding /srv/data (0 B available); the batch was not committed and can be retried
 * ```
 */
export function sqliteStoreError(
  error: unknown,
  context: { path: string; operation: SqliteOperation },
): unknown {
  if (error instanceof StoreError) return error;
  const fault = faultIn(error);
  if (fault === undefined) return error;
  const { path, operation } = context;
  const inMemory = path === ':memory:' || path === '';
  const folder = resolve(dirname(path));
  let kind = fault.kind;
  // SQLite's read-only, I/O and cannot-open codes do not say which file nor why: look.
  const found =
    !inMemory && (kind === 'read-only' || kind === 'io' || kind === 'cantopen')
      ? findUnwritable(path)
      : undefined;
  const available = inMemory ? undefined : bytesAvailable(folder);
  if (kind === 'io' && found === undefined && available === 0) kind = 'full';
  const sizeLimit =
    kind === 'io' && found === undefined && !inMemory ? fileSizeLimitReached(path) : undefined;
  if (found !== undefined && (kind === 'io' || kind === 'cantopen')) kind = kindOf(found.code) ?? kind;

  const detail = found === undefined ? fault.code : `${fault.code}; ${found.file}: ${found.code}`;
  let what: string;
  let advice: string;
  switch (kind) {
    case 'full':
      what = 'disk full';
      advice = inMemory
        ? 'the in-memory database reached its size limit'
        : `free space on the file system holding ${folder}${available === undefined ? '' : ` (${formatBytes(available)} available)`}`;
      break;
    case 'read-only':
      what = operation === 'checkpoint' ? 'the database file cannot be written' : 'read-only';
      advice =
        found === undefined
          ? `make ${path}, its -wal and -shm files and their folder writable by ${uid()}`
          : unwritableAdvice(found);
      break;
    case 'busy':
      what = 'locked by another connection';
      advice = 'another process held the lock past busyTimeoutMs: let it finish, or raise busyTimeoutMs';
      break;
    case 'io':
      what = operation === 'checkpoint' ? 'the database file cannot be written' : 'I/O error';
      advice =
        found !== undefined
          ? unwritableAdvice(found)
          : sizeLimit !== undefined
            ? `a file of the store reached this process's file size limit (EFBIG: RLIMIT_FSIZE, ulimit -f, LimitFSIZE=) of ${formatBytes(sizeLimit)}: raise it`
            : 'check the disk and the kernel log (dmesg)';
      break;
    case 'cantopen':
      what = 'cannot open the database';
      advice =
        found === undefined ? `check that ${path} is a file in an existing folder` : unwritableAdvice(found);
      break;
    case 'corrupt':
      what = 'the database file is corrupt or not a SQLite database';
      advice = 'restore it from a backup';
      break;
    case 'nomem':
      what = 'out of memory';
      advice = 'give the process more memory';
      break;
  }
  if (operation === 'checkpoint') {
    advice += `; until then SQLite cannot copy commits into ${path} and they pile up in ${path}-wal`;
  }
  // Waiting helps when space may be freed, a lock released or a glitch pass; not with a file that is
  // read-only, missing or corrupt, which stays so until someone acts.
  const retryable =
    kind === 'full' ||
    kind === 'busy' ||
    kind === 'nomem' ||
    (kind === 'io' && found === undefined && sizeLimit === undefined);
  return new StoreError(
    `state store sqlite ${path}: ${what} (${detail}): ${advice}; ${consequence(operation, retryable)}`,
    {
      code: fault.code,
      store: 'sqlite',
      location: path,
      retryable,
      cause: error,
      rollbackError: rollbackErrorOf(error) ?? rollbackErrorOf(fault.error),
    },
  );
}
