import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunConfig } from '../../pipeline/config/load.js';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
import { MAX_RECORD_BYTES } from '../../pipeline/normalize/limits.js';
import { createLocalSource, isLocalSourceConfig } from './from-config.js';
import { FILE_SHARD_ID, NdjsonFileSource } from './ndjson-file.js';
import { RecordingProcessor, waitFor } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-file-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string | Uint8Array): string {
  const path = join(dir, `${n++}.ndjson`);
  writeFileSync(path, content);
  return path;
}
const batch = { maxRecords: 500, maxWaitMs: 200 };
const never = () => new AbortController().signal;
const at = (line: number): ExtendedSequenceNumber => ({ sequenceNumber: String(line), subSequenceNumber: 0 });

function lines(count: number, from = 1): string {
  return Array.from({ length: count }, (_, i) => `{"n":${from + i}}\n`).join('');
}

describe('NdjsonFileSource', () => {
  it('hands over every line in order, numbered by line, then ends the shard', async () => {
    const path = file('{"a":1}\r\n\n{"a":2}\n   \n{"a":3}');
    const checkpoints: Array<[string, ExtendedSequenceNumber]> = [];
    const source = new NdjsonFileSource({
      path,
      loadCheckpoint: () => null,
      onCheckpoint: (shard, position) => void checkpoints.push([shard, position]),
      batch,
    });
    const processor = new RecordingProcessor({ checkpoint: true });
    const before = Date.now();
    await source.run(() => processor, never());

    expect(processor.hooks()).toEqual(['initialize', 'processRecords', 'shardEnded']);
    expect(processor.calls[0]).toEqual({ hook: 'initialize', shardId: FILE_SHARD_ID, checkpoint: null });
    // CRLF stripped; blank lines (2 and 4) keep their numbers but are not handed over; no final newline.
    expect(processor.texts()).toEqual(['{"a":1}', '{"a":2}', '{"a":3}']);
    expect(processor.records.map((r) => r.sequenceNumber)).toEqual(['1', '3', '5']);
    for (const record of processor.records) {
      expect(record.subSequenceNumber).toBe(0);
      expect(record.partitionKey).toBe('file-0');
      expect(record.approximateArrivalTimestamp).toBeGreaterThanOrEqual(before);
      expect(record.approximateArrivalTimestamp).toBeLessThanOrEqual(Date.now());
    }
    expect(checkpoints).toEqual([
      ['file-0', at(5)],
      ['file-0', at(5)],
    ]);
    expect(source.lastCheckpoint).toEqual(at(5));
  });

  it('keeps bytes as they are, invalid UTF-8 included', async () => {
    const path = file(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a, 0x31, 0x0a]));
    const processor = new RecordingProcessor();
    await new NdjsonFileSource({ path, loadCheckpoint: () => null, onCheckpoint: () => {}, batch }).run(
      () => processor,
      never(),
    );
    expect(processor.records.map((r) => [...r.data])).toEqual([[0x7b, 0xff, 0xfe, 0x7d], [0x31]]);
  });

  it('hands over batches of at most maxRecords', async () => {
    const path = file(lines(25));
    const processor = new RecordingProcessor();
    await new NdjsonFileSource({
      path,
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
      batch: { maxRecords: 10, maxWaitMs: 1_000 },
    }).run(() => processor, never());
    expect(processor.batchSizes()).toEqual([10, 10, 5]);
    expect(processor.records.map((r) => Number(r.sequenceNumber))).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
  });

  it('reads a file larger than one read chunk, lines spanning chunk borders', async () => {
    const long = 'x'.repeat(100_000);
    const content = `${lines(3000)}{"long":"${long}"}\n${lines(3000, 3001)}`;
    const path = file(content);
    const processor = new RecordingProcessor();
    await new NdjsonFileSource({ path, loadCheckpoint: () => null, onCheckpoint: () => {}, batch }).run(
      () => processor,
      never(),
    );
    expect(processor.records).toHaveLength(6001);
    // Compared as a boolean: a diff of 100 kB lines helps nobody.
    expect(processor.texts().join('\n') === content.trimEnd()).toBe(true);
  });

  it('resumes after the checkpointed line and passes the checkpoint to initialize', async () => {
    const path = file(lines(20));
    const processor = new RecordingProcessor();
    await new NdjsonFileSource({
      path,
      loadCheckpoint: async (shardId) => (shardId === 'file-0' ? at(12) : null),
      onCheckpoint: () => {},
      batch,
    }).run(() => processor, never());
    expect(processor.calls[0]).toEqual({ hook: 'initialize', shardId: 'file-0', checkpoint: at(12) });
    expect(processor.records.map((r) => r.sequenceNumber)).toEqual(
      Array.from({ length: 8 }, (_, i) => String(13 + i)),
    );
    expect(processor.texts()[0]).toBe('{"n":13}');
  });

  it('ends at once when everything was already processed', async () => {
    const path = file(lines(5));
    const processor = new RecordingProcessor({ checkpoint: true });
    const checkpoints: ExtendedSequenceNumber[] = [];
    await new NdjsonFileSource({
      path,
      loadCheckpoint: () => at(5),
      onCheckpoint: (_, p) => void checkpoints.push(p),
      batch,
    }).run(() => processor, never());
    expect(processor.hooks()).toEqual(['initialize', 'shardEnded']);
    expect(checkpoints).toEqual([]); // nothing handed over: a checkpoint without a position is a no-op
  });

  it('rejects a checkpoint beyond the end of the file, and one that is not a line number', async () => {
    const path = file(lines(3));
    await expect(
      new NdjsonFileSource({ path, loadCheckpoint: () => at(10), onCheckpoint: () => {}, batch }).run(
        () => new RecordingProcessor(),
        never(),
      ),
    ).rejects.toThrow(/checkpoint of shard file-0 is at line 10 but the file has only 3 lines/);
    await expect(
      new NdjsonFileSource({
        path,
        loadCheckpoint: () => ({ sequenceNumber: '4960000000000000abc', subSequenceNumber: 0 }),
        onCheckpoint: () => {},
        batch,
      }).run(() => new RecordingProcessor(), never()),
    ).rejects.toThrow(/is not a line number/);
  });

  it('rejects a missing file before initializing a processor', async () => {
    const processor = new RecordingProcessor();
    await expect(
      new NdjsonFileSource({
        path: join(dir, 'missing.ndjson'),
        loadCheckpoint: () => null,
        onCheckpoint: () => {},
        batch,
      }).run(() => processor, never()),
    ).rejects.toThrow(/ENOENT/);
    expect(processor.calls).toEqual([]);
  });

  it('refuses a checkpoint beyond the records handed over, and accepts an earlier one', async () => {
    const path = file(lines(3));
    const source = new NdjsonFileSource({ path, loadCheckpoint: () => null, onCheckpoint: () => {}, batch });
    const recorder = new RecordingProcessor();
    let thrown: unknown;
    await source.run(
      () => ({
        initialize: (input) => recorder.initialize(input),
        leaseLost: (input) => recorder.leaseLost(input),
        shardEnded: (input) => recorder.shardEnded(input),
        shutdownRequested: (input) => recorder.shutdownRequested(input),
        processRecords: async (input) => {
          await recorder.processRecords(input);
          await input.checkpointer.checkpoint(at(4)).catch((err: unknown) => {
            thrown = err;
          });
          await input.checkpointer.checkpoint(at(2));
        },
      }),
      never(),
    );
    expect(thrown).toBeInstanceOf(RangeError);
    expect(String(thrown)).toMatch(/cannot checkpoint at line 4, only lines up to 3 were handed over/);
    expect(source.lastCheckpoint).toEqual(at(2));
    expect(source.lastHandedOver).toEqual(at(3));
  });

  it('propagates a processor failure without calling further hooks', async () => {
    const path = file(lines(30));
    const processor = new RecordingProcessor({
      afterBatch: () => {
        throw new Error('store down');
      },
    });
    await expect(
      new NdjsonFileSource({
        path,
        loadCheckpoint: () => null,
        onCheckpoint: () => {},
        batch: { maxRecords: 10, maxWaitMs: 100 },
      }).run(() => processor, never()),
    ).rejects.toThrow('store down');
    expect(processor.hooks()).toEqual(['initialize', 'processRecords']);
    expect(processor.batchSizes()).toEqual([10]);
  });

  it('follows appended lines, waits for a partial line to finish, and stops on abort', async () => {
    const path = file(lines(3));
    const controller = new AbortController();
    const processor = new RecordingProcessor({ checkpoint: true });
    const source = new NdjsonFileSource({
      path,
      follow: true,
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
      // A partial batch must still go out after maxWaitMs: the tail may stay quiet for long.
      batch: { maxRecords: 100, maxWaitMs: 30 },
      pollIntervalMs: 10,
    });
    const running = source.run(() => processor, controller.signal);

    await waitFor(() => processor.records.length === 3);
    appendFileSync(path, `${lines(2, 4)}{"n":`);
    await waitFor(() => processor.records.length === 5);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(processor.records).toHaveLength(5); // the half-written line is held back
    appendFileSync(path, '6}\n');
    await waitFor(() => processor.records.length === 6);
    expect(processor.texts().at(-1)).toBe('{"n":6}');

    controller.abort();
    await running;
    expect(processor.hooks()).toEqual(['initialize', 'processRecords', 'shutdownRequested']);
    expect(source.lastCheckpoint).toEqual(at(6));
  });

  it('stops a follow run that was aborted before it started, with no record lost to a later resume', async () => {
    const path = file(lines(3));
    const controller = new AbortController();
    controller.abort();
    const processor = new RecordingProcessor();
    await new NdjsonFileSource({
      path,
      follow: true,
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
      batch,
    }).run(() => processor, controller.signal);
    expect(processor.hooks()).toEqual(['initialize', 'shutdownRequested']);
  });

  it('is built from a run configuration', async () => {
    const path = file(lines(4));
    const config = loadRunConfig({ env: { SHELFWATCH_SOURCE__TYPE: 'file', SHELFWATCH_SOURCE__PATH: path } });
    if (!isLocalSourceConfig(config.source)) throw new Error('expected a local source');
    const processor = new RecordingProcessor();
    await createLocalSource(config.source, {
      batch: config.batch,
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
    }).run(() => processor, never());
    expect(processor.records).toHaveLength(4);
  });
});

describe('NdjsonFileSource with lines over the limit', () => {
  const MIB = 1024 * 1024;
  /** Line 1 and 3 valid, line 2 `size` bytes of `x`. */
  const withLongLine = (size: number) => file(`{"a":1}\n${'x'.repeat(size)}\n{"a":3}\n`);

  it('dead-letters a 5 MiB line at its number, checkpoints past it, and resumes after it', async () => {
    const path = withLongLine(5 * MIB);
    let stored: ExtendedSequenceNumber | null = null;
    const options = {
      path,
      loadCheckpoint: () => stored,
      onCheckpoint: (_: string, position: ExtendedSequenceNumber) => {
        stored = position;
      },
      // Batches of two: the first ends at the dead letter, so its checkpoint stops right after it (no
      // deadline that a slow read of the long line could reach first).
      batch: { maxRecords: 2, maxWaitMs: 600_000 },
      maxLineBytes: 1024,
    };
    const first = new RecordingProcessor({
      checkpoint: true,
      // Stop after the first batch, as a crash would: its checkpoint is at the dead letter.
      afterBatch: () => controller.abort(),
    });
    const controller = new AbortController();
    await new NdjsonFileSource(options).run(() => first, controller.signal);

    expect(first.texts()).toEqual(['{"a":1}']);
    expect(first.deadLetters).toHaveLength(1);
    const [letter] = first.deadLetters;
    expect(letter.sequenceNumber).toBe('2');
    expect(letter.partitionKey).toBe(FILE_SHARD_ID);
    expect(letter.code).toBe('too_large');
    expect(letter.reason).toBe(
      `line 2 of ${5 * MIB} bytes exceeds the limit of 1024 bytes (first 1024 bytes kept)`,
    );
    expect(letter.data).toEqual(new Uint8Array(1024).fill(0x78));
    expect(stored).toEqual(at(2));

    const second = new RecordingProcessor({ checkpoint: true });
    await new NdjsonFileSource(options).run(() => second, never());
    expect(second.calls[0]).toEqual({ hook: 'initialize', shardId: FILE_SHARD_ID, checkpoint: at(2) });
    expect(second.texts()).toEqual(['{"a":3}']);
    expect(second.records.map((r) => r.sequenceNumber)).toEqual(['3']);
    expect(second.deadLetters).toEqual([]);
    expect(stored).toEqual(at(3));
  });

  it('with the default limit, keeps the first MAX_RECORD_BYTES of a 3 MiB line', async () => {
    const path = withLongLine(3 * MIB);
    const processor = new RecordingProcessor({ checkpoint: true });
    const source = new NdjsonFileSource({ path, loadCheckpoint: () => null, onCheckpoint: () => {}, batch });
    await source.run(() => processor, never());
    expect(processor.records.map((r) => r.sequenceNumber)).toEqual(['1', '3']);
    expect(processor.deadLetters.map((d) => [d.sequenceNumber, d.code, d.data.length])).toEqual([
      ['2', 'too_large', MAX_RECORD_BYTES],
    ]);
    expect(processor.deadLetters[0].reason).toBe(
      `line 2 of ${3 * MIB} bytes exceeds the limit of ${MAX_RECORD_BYTES} bytes ` +
        `(first ${MAX_RECORD_BYTES} bytes kept)`,
    );
    expect(processor.lines()).toEqual([1, 2, 3]);
    expect(source.lastCheckpoint).toEqual(at(3));
  });

  it('dead-letters an over-long last line without a newline at the end of the file', async () => {
    const path = file(`{"a":1}\n${'y'.repeat(5000)}`);
    const processor = new RecordingProcessor();
    await new NdjsonFileSource({
      path,
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
      batch,
      maxLineBytes: 100,
    }).run(() => processor, never());
    expect(processor.deadLetters.map((d) => [d.sequenceNumber, d.data.length, d.reason])).toEqual([
      ['2', 100, 'line 2 of 5000 bytes exceeds the limit of 100 bytes (first 100 bytes kept)'],
    ]);
  });

  it('while tailing, holds an over-long line until its newline, then dead-letters it', async () => {
    const path = file('{"a":1}\n');
    const controller = new AbortController();
    const processor = new RecordingProcessor({ checkpoint: true });
    const source = new NdjsonFileSource({
      path,
      follow: true,
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
      batch: { maxRecords: 100, maxWaitMs: 20 },
      pollIntervalMs: 5,
      maxLineBytes: 100,
    });
    const running = source.run(() => processor, controller.signal);
    await waitFor(() => processor.records.length === 1);
    for (let i = 0; i < 50; i++) appendFileSync(path, 'z'.repeat(1000));
    appendFileSync(path, '\n{"a":3}\n');
    await waitFor(() => processor.records.length === 2);
    controller.abort();
    await running;
    expect(processor.deadLetters.map((d) => [d.sequenceNumber, d.reason])).toEqual([
      ['2', 'line 2 of 50000 bytes exceeds the limit of 100 bytes (first 100 bytes kept)'],
    ]);
    expect(processor.lines()).toEqual([1, 2, 3]);
    expect(source.lastCheckpoint).toEqual(at(3));
  });

  it('reports skipped blank lines after the resume point only, also when built from a configuration', async () => {
    const path = file('\n{"a":1}\n\n  \r\n{"a":2}\n\n');
    const counts: Array<[string, number]> = [];
    await new NdjsonFileSource({
      path,
      loadCheckpoint: () => null,
      onCheckpoint: () => {},
      batch,
      onBlankLines: (shard, count) => void counts.push([shard, count]),
    }).run(() => new RecordingProcessor(), never());
    expect(counts.reduce((sum, [, n]) => sum + n, 0)).toBe(4);
    expect(counts.every(([shard]) => shard === FILE_SHARD_ID)).toBe(true);

    let resumed = 0;
    const config = loadRunConfig({ env: { SHELFWATCH_SOURCE__TYPE: 'file', SHELFWATCH_SOURCE__PATH: path } });
    if (!isLocalSourceConfig(config.source)) throw new Error('expected a local source');
    await createLocalSource(config.source, {
      batch: config.batch,
      loadCheckpoint: () => at(3),
      onCheckpoint: () => {},
      onBlankLines: (_, count) => {
        resumed += count;
      },
    }).run(() => new RecordingProcessor(), never());
    expect(resumed).toBe(2); // lines 4 and 6; 1 and 3 were counted by the run that checkpointed
  });
});
