import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunConfig } from '../../pipeline/config/load.js';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
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
