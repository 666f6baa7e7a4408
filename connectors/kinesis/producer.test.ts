import type { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deaggregate } from '../../pipeline/decode.js';
import {
  aggregateByKey,
  KinesisPutError,
  type ProducerRecord,
  PUT_RECORDS_MAX_BYTES,
  PUT_RECORDS_MAX_COUNT,
  partitionKeyOf,
  planPutCalls,
  putRecords,
  RECORD_MAX_BYTES,
} from './producer.js';

type Client = Parameters<typeof putRecords>[0];

/** Views of one shared buffer, so that big records cost no memory (the producer only reads them). */
const SHARED = new Uint8Array(RECORD_MAX_BYTES);
const sized = (partitionKey: string, n: number): ProducerRecord => ({
  partitionKey,
  data: SHARED.subarray(0, n),
});
const bytesOf = (call: readonly ProducerRecord[]): number =>
  call.reduce((s, r) => s + r.data.length + Buffer.byteLength(r.partitionKey), 0);

/**
 * A fake Kinesis: records every call, stores the records it accepts in order, and rejects the ones
 * `reject(id, attempt)` says (ids are the records' data as text; `attempt` counts from 0 per id).
 */
function fakeKinesis(reject: (id: string, attempt: number) => boolean) {
  const calls: ProducerRecord[][] = [];
  const stored: ProducerRecord[] = [];
  const attempts = new Map<string, number>();
  let inFlight = false;
  const client = {
    async send(command: PutRecordsCommand) {
      // Calls are sequential: a second call while one is in flight would race its retries.
      expect(inFlight).toBe(false);
      inFlight = true;
      await Promise.resolve();
      const records = (command.input.Records ?? []).map((r) => ({
        partitionKey: r.PartitionKey ?? '',
        data: r.Data ?? new Uint8Array(0),
      }));
      calls.push(records);
      const results = records.map((r) => {
        const id = Buffer.from(r.data).toString();
        const attempt = attempts.get(id) ?? 0;
        attempts.set(id, attempt + 1);
        if (reject(id, attempt)) return { ErrorCode: 'ProvisionedThroughputExceededException' };
        stored.push(r);
        return { SequenceNumber: String(stored.length), ShardId: 'shardId-000000000000' };
      });
      inFlight = false;
      return { Records: results };
    },
  } as unknown as Client; // a fake: only `send` with PutRecords is used
  return { client, calls, stored };
}

const keysOf = (calls: ProducerRecord[][]): string[][] => calls.map((c) => c.map((r) => r.partitionKey));

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

describe('planPutCalls', () => {
  it('puts at most one record per key in a call, and lets other keys fill it', () => {
    const r = (k: string) => ({ partitionKey: k, data: Buffer.from(k) });
    expect(keysOf(planPutCalls([r('a'), r('a'), r('a'), r('b'), r('c'), r('b')]))).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b'],
      ['a'],
    ]);
  });

  it('stays within the count, byte and one-per-key limits, keeps each key in order and packs densely (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 400_000 })), {
          maxLength: 1500,
        }),
        (spec) => {
          const records = spec.map(([k, n]) => sized(`k${k}`, n));
          const calls = planPutCalls(records);
          expect(calls.flat()).toHaveLength(records.length);
          for (const call of calls) {
            expect(call.length).toBeLessThanOrEqual(PUT_RECORDS_MAX_COUNT);
            expect(bytesOf(call)).toBeLessThanOrEqual(PUT_RECORDS_MAX_BYTES);
            expect(new Set(call.map((r) => r.partitionKey)).size).toBe(call.length);
          }
          // Per key, the calls hand the records over in input order (same objects, same order).
          const callOf = new Map<ProducerRecord, number>();
          calls.forEach((call, i) => {
            for (const r of call) callOf.set(r, i);
          });
          const lastCall = new Map<string, number>();
          for (const r of records) {
            const c = callOf.get(r) ?? -1;
            expect(c).toBeGreaterThan(lastCall.get(r.partitionKey) ?? -1);
            lastCall.set(r.partitionKey, c);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('puts the k-th record of a key in the k-th call when the limits do not bind (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 300 }), (keys) => {
        const records = keys.map((k) => ({ partitionKey: `k${k}`, data: Buffer.from('x') }));
        const calls = planPutCalls(records);
        const seen = new Map<string, number>();
        const expected: string[][] = [];
        for (const r of records) {
          const k = seen.get(r.partitionKey) ?? 0;
          seen.set(r.partitionKey, k + 1);
          if (expected[k] === undefined) expected[k] = [];
          expected[k].push(r.partitionKey);
        }
        expect(keysOf(calls).map((c) => [...c].sort())).toEqual(expected.map((c) => [...c].sort()));
      }),
    );
  });

  it('refuses a record over 1 MiB instead of letting the call fail', () => {
    expect(() => planPutCalls([{ partitionKey: 'k', data: new Uint8Array(RECORD_MAX_BYTES) }])).toThrow(
      KinesisPutError,
    );
  });
});

describe('putRecords', () => {
  it('retries only the records Kinesis rejected, until all are in', async () => {
    const fake = fakeKinesis((id, attempt) => attempt === 0 && Number(id) % 2 === 1);
    const records = Array.from({ length: 6 }, (_, i) => ({
      partitionKey: `k${i}`,
      data: Buffer.from(String(i)),
    }));
    const slept: number[] = [];
    const r = await putRecords(fake.client, records, {
      streamName: 's',
      sleep: async (ms) => void slept.push(ms),
      random: () => 0.5,
    });
    expect(r).toEqual({ sent: 6, retried: 3 });
    expect(keysOf(fake.calls)).toEqual([
      ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'],
      ['k1', 'k3', 'k5'],
    ]);
    expect(slept).toEqual([100]);
  });

  it('backs off with full jitter below base · 2^n, capped, while calls keep being pushed back', async () => {
    const fake = fakeKinesis((id, attempt) => id === 'a1' && attempt < 4);
    const r = (k: string, n: number) => ({ partitionKey: k, data: Buffer.from(`${k}${n}`) });
    const slept: number[] = [];
    const options = { streamName: 's', baseDelayMs: 100, maxDelayMs: 500, random: () => 0.999 };
    const done = await putRecords(fake.client, [r('a', 1), r('b', 1)], {
      ...options,
      sleep: async (ms) => void slept.push(ms),
    });
    expect(done).toEqual({ sent: 2, retried: 4 });
    // Below 200, 400, then the 500 cap.
    expect(slept).toEqual([199, 399, 499, 499]);
    // A call that goes through starts the back-off over: a2 rejected after a1 got in waits < 200 again.
    const again: number[] = [];
    const fresh = fakeKinesis((id, attempt) => (id === 'a1' || id === 'a2') && attempt === 0);
    await putRecords(fresh.client, [r('a', 1), r('a', 2)], {
      ...options,
      sleep: async (ms) => void again.push(ms),
    });
    expect(keysOf(fresh.calls)).toEqual([['a'], ['a'], ['a'], ['a']]);
    expect(again).toEqual([199, 199]);
  });

  it('retries a rejected record before the next record of its key, not after it', async () => {
    // a1 is throttled once; a2 must not be stored before it.
    const fake = fakeKinesis((id, attempt) => id === 'a1' && attempt === 0);
    const r = (k: string, n: number) => ({ partitionKey: k, data: Buffer.from(`${k}${n}`) });
    await putRecords(fake.client, [r('a', 1), r('a', 2), r('b', 1), r('b', 2)], {
      streamName: 's',
      sleep: async () => {},
    });
    expect(fake.calls.map((c) => c.map((x) => Buffer.from(x.data).toString()))).toEqual([
      ['a1', 'b1'],
      ['a1', 'b2'],
      ['a2'],
    ]);
    expect(fake.stored.map((x) => Buffer.from(x.data).toString())).toEqual(['b1', 'a1', 'b2', 'a2']);
  });

  it('stores every record once and each key in input order, whatever Kinesis rejects (property)', async () => {
    const maxRetries = 3;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 300_000 })), {
          maxLength: 700,
        }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }),
        async (spec, pattern) => {
          // The fake tells records apart by their text: the index, padded with spaces to the wanted size.
          const input = spec.map(([k, n], i) => ({
            partitionKey: `k${k}`,
            data: Buffer.from(String(i).padEnd(n, ' ')),
          }));
          let draw = 0;
          // Any pattern of rejections, but at most maxRetries per record, so that everything gets in.
          const fake = fakeKinesis(
            (_id, attempt) => attempt < maxRetries && (pattern[draw++ % pattern.length] ?? false),
          );
          const r = await putRecords(fake.client, input, {
            streamName: 's',
            maxRetries,
            sleep: async () => {},
          });
          expect(r.sent).toBe(input.length);
          const ids = fake.stored.map((x) => Buffer.from(x.data).toString().trimEnd());
          expect([...ids].sort()).toEqual(input.map((_, i) => String(i)).sort());
          for (const key of new Set(input.map((x) => x.partitionKey))) {
            const want = input.flatMap((x, i) => (x.partitionKey === key ? [String(i)] : []));
            const got = fake.stored
              .filter((x) => x.partitionKey === key)
              .map((x) => Buffer.from(x.data).toString().trimEnd());
            expect(got).toEqual(want);
          }
          for (const call of fake.calls) {
            expect(call.length).toBeLessThanOrEqual(PUT_RECORDS_MAX_COUNT);
            expect(bytesOf(call)).toBeLessThanOrEqual(PUT_RECORDS_MAX_BYTES);
            expect(new Set(call.map((x) => x.partitionKey)).size).toBe(call.length);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('gives up with a typed error after its retries, before sending the rest of that key', async () => {
    const fake = fakeKinesis((id) => id === 'a1');
    const r = (k: string, n: number) => ({ partitionKey: k, data: Buffer.from(`${k}${n}`) });
    const err = await putRecords(fake.client, [r('a', 1), r('a', 2), r('b', 1)], {
      streamName: 's',
      maxRetries: 2,
      sleep: async () => {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KinesisPutError);
    expect((err as KinesisPutError).message).toMatch(/1 records still rejected after 2 retries/);
    expect((err as KinesisPutError).sent).toBe(1);
    expect(fake.stored.map((x) => Buffer.from(x.data).toString())).toEqual(['b1']);
  });
});

describe('aggregateByKey', () => {
  const deagg = (out: ProducerRecord[]) =>
    deaggregate(
      'shardId-000000000000',
      out.map((r, i) => ({ PartitionKey: r.partitionKey, Data: r.data, SequenceNumber: String(i + 1) })),
    );

  it('round-trips through de-aggregation: every record once, each key in order, under its own key (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            // Integer-like keys are the ones aws-kinesis-agg's key table reorders.
            fc.constantFrom('7', '42', '3', 'SKU-1|WH-EAST', 'a', '0'),
            fc.string({ minLength: 1, maxLength: 300 }),
          ),
          { maxLength: 400 },
        ),
        fc.integer({ min: 200, max: 30_000 }),
        (spec, maxBytes) => {
          const records = spec.map(([k, s], i) => ({ partitionKey: k, data: Buffer.from(`${i}:${s}`) }));
          const out = aggregateByKey(records, { maxBytes, maxRecords: 50 });
          const { records: back, deadLetters } = deagg(out);
          expect(deadLetters).toEqual([]);
          // Aggregates interleave keys, so the order is checked per key.
          for (const key of new Set(records.map((r) => r.partitionKey))) {
            expect(
              back.filter((b) => b.partitionKey === key).map((b) => Buffer.from(b.data).toString()),
            ).toEqual(records.filter((r) => r.partitionKey === key).map((r) => r.data.toString()));
          }
          expect(back).toHaveLength(records.length);
          for (const o of out) {
            const inner = deagg([o]).records;
            expect(new Set(inner.map((b) => b.partitionKey))).toEqual(new Set([o.partitionKey]));
            expect(inner.length).toBeLessThanOrEqual(50);
            if (inner.length > 1) expect(o.data.length + o.partitionKey.length).toBeLessThanOrEqual(maxBytes);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('packs many small records of a key into few Kinesis records, and passes a lone record through', () => {
    const line = '{"LOG_ID":"W1","TXN":"SALE","ITEM_NO":"SKU-1","LOC":"WH-EAST","QTY":1}';
    const records = [
      ...Array.from({ length: 1000 }, () => ({ partitionKey: 'SKU-1|WH-EAST', data: Buffer.from(line) })),
      { partitionKey: 'SKU-2|WH-EAST', data: Buffer.from(line) },
    ];
    const out = aggregateByKey(records);
    // 1000 × ~75 bytes in aggregates of at most 25,000 bytes: 4 of them, plus the lone record as it was.
    expect(out).toHaveLength(5);
    expect(out.filter((o) => o.partitionKey === 'SKU-2|WH-EAST')).toEqual([records[1000]]);
    for (const o of out) expect(o.data.length).toBeLessThanOrEqual(25_000);
  });
});
