import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ExtendedSequenceNumber } from '../../pipeline/lifecycle.js';
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
