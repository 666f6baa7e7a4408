import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparePositions, lastPosition, samePosition } from './positions.js';

const at = (sequenceNumber: string, subSequenceNumber = 0) => ({ sequenceNumber, subSequenceNumber });

describe('comparePositions', () => {
  it('orders 128-bit sequence numbers numerically, then sub-sequence numbers', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 128n }),
        fc.bigInt({ min: 0n, max: 2n ** 128n }),
        fc.nat(5),
        fc.nat(5),
        (a, b, x, y) => {
          const c = comparePositions(
            { sequenceNumber: String(a), subSequenceNumber: x },
            { sequenceNumber: String(b), subSequenceNumber: y },
          );
          const expected = a === b ? Math.sign(x - y) : a < b ? -1 : 1;
          expect(Math.sign(c)).toBe(expected);
        },
      ),
    );
  });

  it('cannot order a sequence number that is not a decimal integer: every comparison is false', () => {
    const c = comparePositions(at('line-7'), at('3'));
    expect(c > 0 || c < 0 || c === 0).toBe(false);
  });
});

describe('samePosition', () => {
  it('is equality of both numbers, and null only equals null', () => {
    expect(samePosition(at('5', 1), at('5', 1))).toBe(true);
    expect(samePosition(at('5', 1), at('5', 2))).toBe(false);
    expect(samePosition(at('5'), at('6'))).toBe(false);
    expect(samePosition(null, null)).toBe(true);
    expect(samePosition(null, at('0'))).toBe(false);
  });
});

describe('lastPosition', () => {
  it('is the greatest of the two lists’ last positions, a copy, or null when both are empty (property)', () => {
    const position = fc.record({
      sequenceNumber: fc.bigInt({ min: 0n, max: 2n ** 128n }).map(String),
      subSequenceNumber: fc.nat(5),
    });
    const sorted = fc
      .array(position, { maxLength: 5 })
      .map((ps) => [...ps].sort((a, b) => comparePositions(a, b)));
    fc.assert(
      fc.property(sorted, sorted, (records, letters) => {
        const got = lastPosition(records, letters);
        const all = [...records, ...letters];
        if (all.length === 0) {
          expect(got).toBeNull();
          return;
        }
        const max = all.reduce((m, p) => (comparePositions(p, m) > 0 ? p : m));
        expect(got).toEqual({ sequenceNumber: max.sequenceNumber, subSequenceNumber: max.subSequenceNumber });
        expect(all.includes(got as (typeof all)[number])).toBe(false);
      }),
    );
  });

  it('keeps the record when the two cannot be ordered', () => {
    expect(lastPosition([at('12')], [at('line-3')])).toEqual(at('12'));
  });
});
