/**
 * Dead letters appended to an NDJSON file (`deadLetters.path`), beside the store's copy: for people
 * who read them with `jq`, and for log shippers. One line per dead letter, with its position as `id`
 * (`<shard>/<sequence number>/<sub-sequence number>`) so that a batch written again after a crash adds
 * nothing, and its bytes in base64 (`data`), exactly as they arrived.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeadLetter, DeadLetterSink } from '../../pipeline/ports.js';
import { IdempotentNdjsonFile } from './ndjson-append.js';

/**
 * One line of the file.
 *
 * @example
 * ```ts
 * const line: DeadLetterLine = {
 *   id: 'file-0/17/0', shardId: 'file-0', sequenceNumber: '17', subSequenceNumber: 0, partitionKey: 'file-0',
 *   arrivalTimestamp: 1767571200000, code: 'schema', reason: 'QTY: expected a finite number, got "n/a"',
 *   disposition: 'dead_letter', data: 'eyJ…',
 * };
 * ```
 */
export interface DeadLetterLine extends Omit<DeadLetter, 'data' | 'disposition'> {
  id: string;
  disposition: 'dead_letter' | 'quarantine';
  /** The record's bytes, base64. */
  data: string;
}

/**
 * The dead-letter file.
 *
 * @example
 * ```ts
 * const file = await NdjsonDeadLetterFile.open('data/dead-letters.ndjson');
 * const engine = new InventoryEngine({ ...options, deadLetterSinks: [file] });
 * ```
 */
export class NdjsonDeadLetterFile implements DeadLetterSink {
  readonly name = 'file';
  private readonly file: IdempotentNdjsonFile;

  private constructor(readonly path: string) {
    this.file = new IdempotentNdjsonFile(path);
  }

  /**
   * Checks at start that the file can be written (creating it and its folder), so that a wrong path
   * stops the job with the cause rather than holding every batch that has a dead letter.
   *
   * @throws {Error} naming the path and the system error when it cannot be opened for appending.
   */
  static async open(path: string): Promise<NdjsonDeadLetterFile> {
    try {
      await mkdir(dirname(path), { recursive: true });
      await (await open(path, 'a')).close();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new Error(`deadLetters.path ${path}: cannot append to it (${code})`, { cause: err });
    }
    return new NdjsonDeadLetterFile(path);
  }

  write(letters: readonly DeadLetter[]): Promise<void> {
    return this.file.append(letters.map(toLine));
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function toLine(d: DeadLetter): DeadLetterLine {
  return {
    id: `${d.shardId}/${d.sequenceNumber}/${d.subSequenceNumber}`,
    shardId: d.shardId,
    sequenceNumber: d.sequenceNumber,
    subSequenceNumber: d.subSequenceNumber,
    partitionKey: d.partitionKey,
    arrivalTimestamp: d.arrivalTimestamp,
    code: d.code,
    reason: d.reason,
    disposition: d.disposition ?? 'dead_letter',
    data: Buffer.from(d.data).toString('base64'),
  };
}
