import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
import { MAX_RECORD_BYTES } from '../../pipeline/normalize/limits.js';
import { STDIN_SHARD_ID, StdinSource } from './stdin.js';
import { RecordingProcessor, waitFor } from './test-helpers.js';

const at = (line: number): ExtendedSequenceNumber => ({ sequenceNumber: String(line), subSequenceNumber: 0 });

describe('StdinSource', () => {
  it('hands over lines until end of input, then ends the shard', async () => {
    const input = new PassThrough();
    const checkpoints: ExtendedSequenceNumber[] = [];
    const processor = new RecordingProcessor({ checkpoint: true });
    const source = new StdinSource({
      input,
      onCheckpoint: (shardId, position) => {
        expect(shardId).toBe(STDIN_SHARD_ID);
        checkpoints.push(position);
      },
      batch: { maxRecords: 2, maxWaitMs: 1_000 },
    });
    const running = source.run(() => processor, new AbortController().signal);
    input.write('{"a":1}\n{"a"');
    input.write(':2}\r\n\n{"a":3}\n');
    input.end('{"a":4}');
    await running;

    expect(processor.calls[0]).toEqual({ hook: 'initialize', shardId: 'stdin-0', checkpoint: null });
    expect(processor.hooks()).toEqual(['initialize', 'processRecords', 'shardEnded']);
    expect(processor.texts()).toEqual(['{"a":1}', '{"a":2}', '{"a":3}', '{"a":4}']);
    expect(processor.records.map((r) => r.sequenceNumber)).toEqual(['1', '2', '4', '5']);
    expect(processor.records.every((r) => r.partitionKey === 'stdin-0')).toBe(true);
    expect(processor.batchSizes()).toEqual([2, 2]);
    expect(checkpoints).toEqual([at(2), at(5), at(5)]);
    expect(source.lastCheckpoint).toEqual(at(5));
  });

  it('hands a partial batch over after maxWaitMs while input stays open', async () => {
    const input = new PassThrough();
    const processor = new RecordingProcessor();
    const controller = new AbortController();
    const running = new StdinSource({
      input,
      onCheckpoint: () => {},
      batch: { maxRecords: 100, maxWaitMs: 20 },
    }).run(() => processor, controller.signal);
    input.write('1\n2\n');
    await waitFor(() => processor.records.length === 2);
    controller.abort();
    await running;
    expect(processor.hooks()).toEqual(['initialize', 'processRecords', 'shutdownRequested']);
  });

  it('stops on abort while waiting for input, and releases the stream', async () => {
    const input = new PassThrough();
    const processor = new RecordingProcessor({ checkpoint: true });
    const controller = new AbortController();
    const source = new StdinSource({
      input,
      onCheckpoint: () => {},
      batch: { maxRecords: 1, maxWaitMs: 1_000 },
    });
    const running = source.run(() => processor, controller.signal);
    input.write('{"a":1}\n');
    await waitFor(() => processor.records.length === 1);
    controller.abort();
    await running;
    expect(processor.hooks()).toEqual(['initialize', 'processRecords', 'shutdownRequested']);
    expect(source.lastCheckpoint).toEqual(at(1));
    expect(input.destroyed).toBe(true);
  });

  it('reads a stream that yields strings', async () => {
    const input = new PassThrough();
    input.setEncoding('utf8');
    const processor = new RecordingProcessor();
    const running = new StdinSource({
      input,
      onCheckpoint: () => {},
      batch: { maxRecords: 10, maxWaitMs: 10 },
    }).run(() => processor, new AbortController().signal);
    input.end('é\nü\n');
    await running;
    expect(processor.texts()).toEqual(['é', 'ü']);
  });
});

describe('StdinSource with lines over the limit', () => {
  const MIB = 1024 * 1024;

  /** Writes `parts` honouring back-pressure, then ends the stream. */
  async function feed(input: PassThrough, parts: Iterable<string>): Promise<void> {
    for (const part of parts) {
      if (!input.write(part)) await new Promise((resolve) => input.once('drain', resolve));
    }
    input.end();
  }

  function* longLineBetween(size: number, piece = 64 * 1024): Generator<string> {
    yield '{"a":1}\n';
    for (let written = 0; written < size; written += piece) yield 'x'.repeat(Math.min(piece, size - written));
    yield '\r\n\n{"a":4}\n';
  }

  it('dead-letters a 5 MiB line at its number and checkpoints past it', async () => {
    const input = new PassThrough();
    const checkpoints: ExtendedSequenceNumber[] = [];
    const blank: number[] = [];
    const processor = new RecordingProcessor({ checkpoint: true });
    const source = new StdinSource({
      input,
      onCheckpoint: (_, position) => void checkpoints.push(position),
      batch: { maxRecords: 2, maxWaitMs: 600_000 },
      maxLineBytes: 1024,
      onBlankLines: (shard, count) => {
        expect(shard).toBe(STDIN_SHARD_ID);
        blank.push(count);
      },
    });
    const running = source.run(() => processor, new AbortController().signal);
    await feed(input, longLineBetween(5 * MIB));
    await running;

    expect(processor.texts()).toEqual(['{"a":1}', '{"a":4}']);
    expect(processor.records.map((r) => r.sequenceNumber)).toEqual(['1', '4']);
    expect(processor.deadLetters.map((d) => [d.sequenceNumber, d.partitionKey, d.code, d.reason])).toEqual([
      [
        '2',
        STDIN_SHARD_ID,
        'too_large',
        `line 2 of ${5 * MIB} bytes exceeds the limit of 1024 bytes (first 1024 bytes kept)`,
      ],
    ]);
    expect(processor.deadLetters[0].data).toEqual(new Uint8Array(1024).fill(0x78));
    expect(processor.batchSizes()).toEqual([2, 1]);
    expect(checkpoints).toEqual([at(2), at(4), at(4)]);
    expect(blank).toEqual([1]);
  });

  it('with the default limit, keeps the first MAX_RECORD_BYTES of a 3 MiB line', async () => {
    const input = new PassThrough();
    const processor = new RecordingProcessor();
    const running = new StdinSource({
      input,
      onCheckpoint: () => {},
      batch: { maxRecords: 10, maxWaitMs: 600_000 },
    }).run(() => processor, new AbortController().signal);
    await feed(input, longLineBetween(3 * MIB));
    await running;
    expect(processor.lines()).toEqual([1, 2, 4]);
    expect(processor.deadLetters.map((d) => [d.sequenceNumber, d.data.length, d.reason])).toEqual([
      [
        '2',
        MAX_RECORD_BYTES,
        `line 2 of ${3 * MIB} bytes exceeds the limit of ${MAX_RECORD_BYTES} bytes ` +
          `(first ${MAX_RECORD_BYTES} bytes kept)`,
      ],
    ]);
  });
});
