/**
 * An NDJSON file each line of which is a JSON object with a string `id`, appended to exactly once
 * per id: a line whose id the file already holds is skipped, so a batch re-sent after a crash adds
 * nothing. Every append is fsync'ed before it resolves (the caller checkpoints right after), and a
 * torn last line (a crash in the middle of an append) is cut off when the file is opened. On the
 * first append the file is read line by line for the ids it holds.
 *
 * Used by the NDJSON alert sink and the dead-letter file.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Errors that another attempt will not fix (the path or its permissions are wrong).
 *
 * @example
 * ```ts
 * const permanent = PERMANENT_FILE_ERRORS.has('EROFS'); // true
 * ```
 */
export const PERMANENT_FILE_ERRORS = new Set([
  'EACCES',
  'EPERM',
  'EISDIR',
  'ENOTDIR',
  'EROFS',
  'ENAMETOOLONG',
  'ELOOP',
  'EINVAL',
]);

interface Scan {
  ids: Set<string>;
  /** Bytes up to and including the last newline. */
  complete: number;
  /** What follows the last newline (an unterminated last line), if anything. */
  tail: Buffer;
  exists: boolean;
}

/** The id of one line, or undefined for a blank or foreign line. */
function idOf(line: string): string | undefined {
  if (line.trim() === '') return undefined;
  try {
    const v: unknown = JSON.parse(line);
    if (typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string') {
      return (v as { id: string }).id;
    }
  } catch {
    // A line that is not JSON (edited by hand, say) holds no id; it is kept as it is.
  }
  return undefined;
}

/**
 * Streams the file and collects the ids, splitting at newline bytes (a newline byte never occurs
 * inside a UTF-8 multi-byte character, so each line decodes whole) without loading the file at once.
 */
async function scan(path: string): Promise<Scan> {
  const ids = new Set<string>();
  let offset = 0;
  let complete = 0;
  let partial: Buffer[] = [];
  try {
    for await (const chunk of createReadStream(path)) {
      const buf = chunk as Buffer;
      let start = 0;
      for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
        partial.push(buf.subarray(start, nl));
        const id = idOf(Buffer.concat(partial).toString('utf8'));
        if (id !== undefined) ids.add(id);
        partial = [];
        start = nl + 1;
        complete = offset + start;
      }
      if (start < buf.length) partial.push(buf.subarray(start));
      offset += buf.length;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { ids, complete: 0, tail: Buffer.alloc(0), exists: false };
    throw err;
  }
  return { ids, complete, tail: Buffer.concat(partial), exists: true };
}

/**
 * The append-once file.
 *
 * @example
 * ```ts
 * const file = new IdempotentNdjsonFile('data/dead-letters.ndjson');
 * await file.append([{ id: 'shard-0/7/0', code: 'schema' }]); // durable when this resolves
 * await file.append([{ id: 'shard-0/7/0', code: 'schema' }]); // already there: nothing written
 * await file.close();
 * ```
 */
export class IdempotentNdjsonFile {
  private handle: FileHandle | undefined;
  /** Ids in the file; undefined until the first append has read it. */
  private ids: Set<string> | undefined;
  /** Appends run one after another, so that they never interleave. */
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /**
   * Appends the records whose `id` the file does not hold yet; resolves once they are on disk. On a
   * failure the file may hold part of them: what is known of it is forgotten and read again at the
   * next append, so a retry neither duplicates the lines that made it nor skips those that did not.
   */
  append(records: ReadonlyArray<{ readonly id: string }>): Promise<void> {
    const run = this.queue.then(() => this.write(records));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Waits for appends under way and releases the file. */
  async close(): Promise<void> {
    await this.queue;
    await this.reset();
  }

  private async write(records: ReadonlyArray<{ readonly id: string }>): Promise<void> {
    try {
      const { handle, ids } = await this.open();
      const fresh = new Map<string, string>();
      for (const r of records) {
        if (!ids.has(r.id) && !fresh.has(r.id)) fresh.set(r.id, `${JSON.stringify(r)}\n`);
      }
      if (fresh.size === 0) return;
      await handle.appendFile([...fresh.values()].join(''));
      await handle.sync();
      for (const id of fresh.keys()) ids.add(id);
    } catch (err) {
      await this.reset();
      throw err;
    }
  }

  private async open(): Promise<{ handle: FileHandle; ids: Set<string> }> {
    if (this.handle && this.ids) return { handle: this.handle, ids: this.ids };
    await mkdir(dirname(this.path), { recursive: true });
    const found = await scan(this.path);
    let needsNewline = false;
    if (found.tail.length > 0) {
      const id = idOf(found.tail.toString('utf8'));
      if (id === undefined) {
        // An unterminated line that is not a notification: the torn end of an interrupted append.
        await truncate(this.path, found.complete);
      } else {
        // A whole notification whose newline was lost (an editor, say): keep it, end its line.
        found.ids.add(id);
        needsNewline = true;
      }
    }
    const handle = await open(this.path, 'a');
    try {
      if (needsNewline) await handle.appendFile('\n');
      if (!found.exists || needsNewline || found.tail.length > 0) await handle.sync();
      if (!found.exists) await syncDirectory(dirname(this.path));
    } catch (err) {
      await handle.close();
      throw err;
    }
    this.handle = handle;
    this.ids = found.ids;
    return { handle, ids: found.ids };
  }

  private async reset(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.ids = undefined;
    await handle?.close().catch(() => undefined);
  }
}

/** fsyncs a directory so that a newly created file's entry survives a crash (POSIX; a no-op elsewhere). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open or fsync a directory; its file system journals the entry anyway.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
