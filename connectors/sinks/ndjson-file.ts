/**
 * An alert sink that appends notifications to a newline-delimited JSON file, one notification (as
 * {@link AlertNotification} JSON) per line: easy to tail, grep and `jq`, and a durable audit trail.
 *
 * Exactly once in effect: the pipeline re-publishes after a crash, so the sink skips ids already in the
 * file. On its first publish it reads the file line by line for the ids it holds; then every append
 * is fsync'ed before `publish` resolves, because the pipeline checkpoints right after and a
 * notification lost in the page cache would never be sent again.
 */
import type { AlertNotification, AlertSink } from '../../pipeline/ports.js';
import { IdempotentNdjsonFile, PERMANENT_FILE_ERRORS } from './ndjson-append.js';
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
  private readonly file: IdempotentNdjsonFile;
  private closed = false;

  /** @throws {SinkConfigError} when `path` is empty. */
  constructor(options: NdjsonFileSinkOptions) {
    this.name = options.name ?? 'file';
    if (typeof options.path !== 'string' || options.path.trim() === '') {
      throw new SinkConfigError(`file sink "${this.name}": path must be a non-empty file path`);
    }
    this.file = new IdempotentNdjsonFile(options.path);
  }

  async publish(notifications: readonly AlertNotification[]): Promise<void> {
    if (this.closed) {
      throw new SinkDeliveryError(`file sink "${this.name}" is closed`, {
        sink: this.name,
        retryable: false,
      });
    }
    try {
      await this.file.append(notifications);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SinkDeliveryError(
        `file sink "${this.name}": cannot append to ${this.file.path}: ${code ?? (err as Error).message}`,
        { sink: this.name, retryable: !(code && PERMANENT_FILE_ERRORS.has(code)), cause: err },
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.file.close();
  }
}
