/**
 * An alert sink that appends notifications to a newline-delimited JSON file, one notification (as
 * {@link AlertNotification} JSON) per line: easy to tail, grep and `jq`, and a durable audit trail.
 *
 * Exactly once in effect: the pipeline re-publishes after a crash, so the sink skips ids already in the
 * file. On its first publish it reads the file line by line for the ids it holds; then every append
 * is fsync'ed before `publish` resolves, because the pipeline checkpoints right after and a
 * notification lost in the page cache would never be sent again.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AlertNotification, AlertSink } from '../../pipeline/ports.js';
import { SinkConfigError, SinkDeliveryError } from './retry.js';

/**
 * Options of {@link NdjsonFileSink}.
 *
 * @example
 * ```ts
 * const options: NdjsonFileSinkOptions = { path: 'data/alerts.ndjson' };
 * ```
 */
export interface NdjsonFileSinkOptions {
  /** The file; created (with its directory) on the first publish. */
  path: string;
  /** The receiver name routes use. Default `file`. */
  name?: string;
}

/** Errors that another attempt will not fix (the path or its permissions are wrong). */
const PERMANENT_CODES = new Set([
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
 * Appends notifications to an NDJSON file, skipping ids the file already has, with an fsync before
 * `publish` resolves. A torn last line (a crash in the middle of an append) is cut off when the file
 * is opened: its notification was never acknowledged, so the pipeline sends it again.
 *
 * @example
 * ```ts
 * const sink = new NdjsonFileSink({ path: 'data/alerts.ndjson' });
 * await sink.publish(notifications); // durable when this resolves
 * await sink.close();
 * ```
 */
export class NdjsonFileSink implements AlertSink {
  readonly name: string;
  private readonly path: string;
  private handle: FileHandle | undefined;
  /** Ids in the file; undefined until the first publish has read it. */
  private ids: Set<string> | undefined;
  /** Publishes run one after another, so that appends never interleave. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  /** @throws {SinkConfigError} when `path` is empty. */
  constructor(options: NdjsonFileSinkOptions) {
    this.name = options.name ?? 'file';
    if (typeof options.path !== 'string' || options.path.trim() === '') {
      throw new SinkConfigError(`file sink "${this.name}": path must be a non-empty file path`);
    }
    this.path = options.path;
  }

  publish(notifications: readonly AlertNotification[]): Promise<void> {
    const run = this.queue.then(() => this.append(notifications));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.reset();
  }

  private async append(notifications: readonly AlertNotification[]): Promise<void> {
    if (this.closed) {
      throw new SinkDeliveryError(`file sink "${this.name}" is closed`, {
        sink: this.name,
        retryable: false,
      });
    }
    try {
      const { handle, ids } = await this.open();
      const fresh = new Map<string, string>();
      for (const n of notifications) {
        if (!ids.has(n.id) && !fresh.has(n.id)) fresh.set(n.id, `${JSON.stringify(n)}\n`);
      }
      if (fresh.size === 0) return;
      await handle.appendFile([...fresh.values()].join(''));
      await handle.sync();
      for (const id of fresh.keys()) ids.add(id);
    } catch (err) {
      // The file may now hold part of the batch: forget what we know and read it again next time, so a
      // retry neither duplicates the lines that made it nor skips those that did not.
      await this.reset();
      const code = (err as NodeJS.ErrnoException).code;
      throw new SinkDeliveryError(
        `file sink "${this.name}": cannot append to ${this.path}: ${code ?? (err as Error).message}`,
        { sink: this.name, retryable: !(code && PERMANENT_CODES.has(code)), cause: err },
      );
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
