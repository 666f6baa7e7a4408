import type { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batchesOf,
  KinesisPutError,
  PUT_RECORDS_MAX_BYTES,
  PUT_RECORDS_MAX_COUNT,
  partitionKeyOf,
  putRecords,
  RECORD_MAX_BYTES,
} from './producer.js';

describe('partitionKeyOf', () => {
  it('keys each raw kind by SKU and warehouse, and anything else as unparsed', () => {
    expect(partitionKeyOf('{"LOG_ID":"W1","TXN":"CC","ITEM_NO":"SKU-1","LOC":"WH-EAST","QTY":3}')).toBe(
      'SKU-1|WH-EAST',
    );
    expect(
      partitionKeyOf(
        '{"event":"order.placed","fulfillmentCenter":"WH-WEST","items":[{"sku":"SKU-2","quantity":1}]}',
      ),
    ).toBe('SKU-2|WH-WEST');
    expect(partitionKeyOf('{"record_type":"PO","ship_to":"WH-EAST","lines":[{"sku":"SKU-3"}]}')).toBe(
      'SKU-3|WH-EAST',
    );
    expect(partitionKeyOf('{"trunc')).toBe('unparsed');
    expect(partitionKeyOf('{"heartbeat":true}')).toBe('unparsed');
  });
});

describe('batchesOf', () => {
  it('keeps every record in order within the count and byte limits (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300_000 }), { maxLength: 1200 }), (sizes) => {
        const records = sizes.map((n, i) => ({ partitionKey: `k${i}`, data: new Uint8Array(n) }));
        const batches = batchesOf(records);
        expect(batches.flat()).toEqual(records);
        for (const b of batches) {
          expect(b.length).toBeLessThanOrEqual(PUT_RECORDS_MAX_COUNT);
          expect(b.reduce((s, r) => s + r.data.length + r.partitionKey.length, 0)).toBeLessThanOrEqual(
            PUT_RECORDS_MAX_BYTES,
          );
        }
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a record over 1 MiB instead of letting the call fail', () => {
    expect(() => batchesOf([{ partitionKey: 'k', data: new Uint8Array(RECORD_MAX_BYTES) }])).toThrow(
      KinesisPutError,
    );
  });
});

describe('putRecords', () => {
  it('retries only the records Kinesis rejected, until all are in', async () => {
    const calls: string[][] = [];
    const client = {
      async send(command: PutRecordsCommand) {
        const keys = (command.input.Records ?? []).map((r) => r.PartitionKey ?? '');
        calls.push(keys);
        // First call: every other record is throttled.
        return {
          Records: keys.map((_, i) =>
            calls.length === 1 && i % 2 === 1
              ? { ErrorCode: 'ProvisionedThroughputExceededException' }
              : { SequenceNumber: '1', ShardId: 's' },
          ),
        };
      },
    } as unknown as Parameters<typeof putRecords>[0]; // a fake: only `send` with PutRecords is used
    const records = Array.from({ length: 6 }, (_, i) => ({
      partitionKey: `k${i}`,
      data: Buffer.from(String(i)),
    }));
    const slept: number[] = [];
    const r = await putRecords(client, records, {
      streamName: 's',
      sleep: async (ms) => void slept.push(ms),
      random: () => 0.5,
    });
    expect(r).toEqual({ sent: 6, retried: 3 });
    expect(calls).toEqual([
      ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'],
      ['k1', 'k3', 'k5'],
    ]);
    expect(slept).toHaveLength(1);
  });

  it('gives up with a typed error after its retries', async () => {
    const client = {
      send: async (command: PutRecordsCommand) => ({
        Records: (command.input.Records ?? []).map(() => ({ ErrorCode: 'InternalFailure' })),
      }),
    } as unknown as Parameters<typeof putRecords>[0]; // a fake that always fails
    await expect(
      putRecords(client, [{ partitionKey: 'k', data: Buffer.from('x') }], {
        streamName: 's',
        maxRetries: 2,
        sleep: async () => {},
      }),
    ).rejects.toThrow(/1 records still rejected after 2 retries/);
  });
});
