/**
 * The DynamoDB store's pure parts, without a server: payload encoding across the 400 KB item limit,
 * keys, decimal order of sequence numbers, the forget list against a brute-force model, validation,
 * and the request helpers' chunking and concurrency.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchCommit, type SeriesRow, StoreRefusedError } from '../../pipeline/ports.js';
import {
  compareDecimal,
  encodePayload,
  forgottenBefore,
  INLINE_BYTES_MAX,
  keyPart,
  mergeForget,
  PART_BYTES_MAX,
  padClock,
  parseForgetList,
  payloadBytes,
  payloadRef,
  payloadText,
} from './codec.js';
import { chunkBySize, itemBytes, mapLimit } from './requests.js';
import { validateBatch } from './validate.js';

/** What an encoded payload's head and parts would hold once stored, read back. */
async function roundTrip(
  data: string | Uint8Array,
): Promise<{ bytes: Uint8Array; text: string; parts: number }> {
  const { attrs, parts } = await encodePayload(data, padClock(1));
  for (const part of parts) expect(part.byteLength).toBeLessThanOrEqual(PART_BYTES_MAX);
  expect(itemBytes(attrs)).toBeLessThanOrEqual(INLINE_BYTES_MAX + 16);
  const ref = payloadRef(attrs);
  return { bytes: await payloadBytes(ref, parts), text: await payloadText(ref, parts), parts: parts.length };
}

describe('payloads', () => {
  it('keeps short text readable, compresses what compresses, and splits what stays large', async () => {
    const short = await encodePayload('{"v":1}', padClock(1));
    expect(short.attrs).toEqual({ t: { S: '{"v":1}' } });

    const repetitive = 'x'.repeat(200_000);
    const compressed = await encodePayload(repetitive, padClock(1));
    expect(compressed.parts).toEqual([]);
    expect(compressed.attrs.z?.B?.byteLength).toBeLessThan(2_000);
    expect((await roundTrip(repetitive)).text).toBe(repetitive);

    const mib = new Uint8Array(randomBytes(1024 * 1024));
    const split = await roundTrip(mib);
    expect(split.parts).toBe(3);
    expect(Buffer.compare(split.bytes, mib)).toBe(0);

    // Random text: gzip helps (base64 has 6 bits a byte) but not below one item.
    const model = randomBytes(900_000).toString('base64');
    const big = await roundTrip(model);
    expect(big.parts).toBeGreaterThan(1);
    expect(big.text).toBe(model);
  });

  it('round-trips any text and bytes, including empty and multi-byte ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 300 }), async (text) => {
        expect((await roundTrip(text)).text).toBe(text);
      }),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        expect(Array.from((await roundTrip(bytes)).bytes)).toEqual(Array.from(bytes));
      }),
      { numRuns: 100 },
    );
    // Just over the inline limit in UTF-8 (3 bytes a character) although short in UTF-16.
    const wide = '€'.repeat(6_000);
    expect((await encodePayload(wide, padClock(1))).attrs.t).toBeUndefined();
    expect((await roundTrip(wide)).text).toBe(wide);
  });
});

describe('keys', () => {
  it('never gives two different key tuples the same key part, and hashes long ones', () => {
    expect(keyPart(['SKU-1W', 'H-1'])).not.toBe(keyPart(['SKU-1', 'WH-1']));
    expect(keyPart(['a#b', 'c'])).not.toBe(keyPart(['a', 'b#c']));
    const long = keyPart(['x'.repeat(2_000), 'WH-1']);
    expect(long).toMatch(/^h:[0-9a-f]{64}$/);
    expect(long).not.toBe(keyPart(['x'.repeat(2_001), 'WH-1']));
    fc.assert(
      fc.property(fc.tuple(fc.string(), fc.string()), fc.tuple(fc.string(), fc.string()), (a, b) => {
        if (a[0] !== b[0] || a[1] !== b[1]) expect(keyPart(a)).not.toBe(keyPart(b));
      }),
    );
  });

  it('orders decimal sequence numbers numerically, up to 128 bits', () => {
    expect(compareDecimal('9', '10')).toBeLessThan(0);
    expect(compareDecimal('0010', '9')).toBeGreaterThan(0);
    expect(compareDecimal('7', '7')).toBe(0);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
        (a, b) => {
          expect(Math.sign(compareDecimal(String(a), String(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
        },
      ),
    );
  });
});

describe('the forget list', () => {
  it('hides exactly what a log of inserts and forgets would have deleted, while staying short', () => {
    // Commits at clocks 1..n: each writes some events (id → time) and may forget before a time.
    const commitArb = fc.record({
      writes: fc.array(fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 100 })), { maxLength: 4 }),
      forget: fc.option(fc.nat({ max: 100 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(commitArb, { maxLength: 30 }), (commits) => {
        const model = new Map<number, number>(); // id → time, as SQL would hold it
        const written = new Map<number, { time: number; clock: number }>(); // newest write of each id
        let list = parseForgetList('[]');
        commits.forEach((c, i) => {
          const clock = i + 1;
          for (const [id, time] of c.writes) {
            if (!model.has(id)) model.set(id, time);
            // The store rewrites an event it is sent again (same content) at the newer clock.
            written.set(id, { time: model.get(id) as number, clock });
          }
          if (c.forget !== undefined) {
            for (const [id, time] of model) if (time < c.forget) model.delete(id);
          }
          if (c.forget !== undefined) list = mergeForget(list, clock, c.forget);
          for (let k = 1; k < list.length; k++) {
            expect(list[k]?.[1]).toBeLessThan(list[k - 1]?.[1] as number);
          }
        });
        const visible = new Map<number, number>();
        for (const [id, w] of written) if (w.time >= forgottenBefore(list, w.clock)) visible.set(id, w.time);
        expect(visible).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });

  it('merges forgets arriving in any order, and the same forget twice, into the same list', () => {
    const pairsArb = fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.nat({ max: 100 })), {
      selector: (p) => p[0],
      maxLength: 12,
    });
    fc.assert(
      fc.property(pairsArb, fc.infiniteStream(fc.nat()), (pairs, order) => {
        const inClockOrder = [...pairs].sort((a, b) => a[0] - b[0]);
        let expected = parseForgetList('[]');
        for (const [c, b] of inClockOrder) expected = mergeForget(expected, c, b);
        const shuffled = [...pairs];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (order.next().value as number) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j] as [number, number], shuffled[i] as [number, number]];
        }
        let merged = parseForgetList('[]');
        for (const [c, b] of [...shuffled, ...shuffled]) merged = mergeForget(merged, c, b);
        expect(merged).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps one pair when the forget time only rises (one shard)', () => {
    let list = parseForgetList('[]');
    for (let clock = 1; clock <= 100; clock++) list = mergeForget(list, clock, clock * 10);
    expect(list).toEqual([[100, 1_000]]);
    expect(forgottenBefore(list, 50)).toBe(1_000);
    expect(forgottenBefore(list, 101)).toBe(Number.NEGATIVE_INFINITY);
    expect(() => parseForgetList('{"x":1}')).toThrow(/damaged/);
  });
});

describe('validateBatch', () => {
  const valid: BatchCommit = {
    shardId: 'shard-0',
    checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 },
    series: [],
    values: [],
    appliedEvents: [],
    deadLetters: [],
    anomalies: [],
  };

  it('names every offending field, and accepts a valid batch', () => {
    expect(() => validateBatch(valid)).not.toThrow();
    const bad = {
      ...valid,
      series: [
        {
          sku: null,
          warehouse: 'WH-1',
          onHand: Number.NaN,
          reserved: 1e200,
          inbound: 1e-200,
          lastCountQuantity: null,
          lastCountAt: null,
          salesVelocity: 0,
          lastEventAt: 0,
          model: '\ud800',
        },
      ],
      appliedEvents: [{ eventId: 'e', occurredAt: '1', sku: 'a', warehouse: 'b' }],
      deadLetters: [
        {
          shardId: 's',
          sequenceNumber: '1',
          subSequenceNumber: -1,
          partitionKey: 'p',
          arrivalTimestamp: 0,
          code: 'c',
          reason: 'r',
          data: [1],
        },
      ],
    } as unknown as BatchCommit;
    let message = '';
    try {
      validateBatch(bad);
    } catch (err) {
      expect(err).toBeInstanceOf(TypeError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/nothing was written/);
    expect(message).toMatch(/batch\.series\[0\]\.sku must be a string, got null/);
    expect(message).toMatch(/batch\.series\[0\]\.onHand must be a finite number/);
    expect(message).toMatch(/and 3 more$/);
    expect(() =>
      validateBatch({ ...valid, checkpoint: { sequenceNumber: '', subSequenceNumber: 0 } }),
    ).toThrow(/sequenceNumber must not be empty/);
    expect(() => validateBatch({ ...valid, shardId: 'x'.repeat(2_000) })).toThrow(/at most 1024 characters/);
  });

  it('refuses well-typed values DynamoDB cannot hold as the data’s (StoreRefusedError), wrong types as bugs (TypeError)', () => {
    const row = (overrides: Partial<SeriesRow>): BatchCommit => ({
      ...valid,
      series: [
        {
          sku: 'SKU-1',
          warehouse: 'WH-1',
          onHand: 1,
          reserved: 0,
          inbound: 0,
          lastCountQuantity: null,
          lastCountAt: null,
          salesVelocity: 0,
          lastEventAt: 0,
          model: '{}',
          ...overrides,
        },
      ],
    });
    const refusedBy = (b: BatchCommit): unknown => {
      try {
        validateBatch(b);
      } catch (err) {
        return err;
      }
      return null;
    };
    for (const data of [
      { sku: 'S'.repeat(1_025) },
      { model: 'a\udc00b' },
      { inbound: 1e-200 },
      { reserved: 1e200 },
    ]) {
      const err = refusedBy(row(data));
      expect(err).toBeInstanceOf(StoreRefusedError);
      expect((err as StoreRefusedError).message).toMatch(
        /^dynamodb state store refused the batch: nothing was written: batch\.series\[0\]\./,
      );
    }
    for (const bug of [
      { onHand: Number.NaN },
      { onHand: Number.POSITIVE_INFINITY },
      { sku: null as unknown as string },
    ]) {
      expect(refusedBy(row(bug))).toBeInstanceOf(TypeError);
    }
  });
});

describe('request helpers', () => {
  it('chunks by count and by size, in order, an oversize item alone', () => {
    const sizes = [5, 5, 5, 20, 5, 5, 5, 5];
    const chunks = chunkBySize(
      sizes.map((size, i) => ({ size, i })),
      3,
      12,
      (x) => x.size,
    );
    expect(chunks.map((c) => c.map((x) => x.i))).toEqual([[0, 1], [2], [3], [4, 5], [6, 7]]);
  });

  it('keeps at most `limit` tasks in flight and rejects with the first failure after the others settle', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimit([...Array(20).keys()], 4, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return i * 2;
    });
    expect(results).toEqual([...Array(20).keys()].map((i) => i * 2));
    expect(most).toBe(4);

    let settled = 0;
    await expect(
      mapLimit([...Array(10).keys()], 3, async (i) => {
        await new Promise((r) => setTimeout(r, i === 1 ? 1 : 5));
        settled++;
        if (i === 1) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(inFlight).toBe(0);
    expect(settled).toBeLessThan(10);
  });
});
