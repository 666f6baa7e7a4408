import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimeHeap } from './heap.js';

describe('TimeHeap', () => {
  it('pops in (time, insertion) order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const h = new TimeHeap<number>();
        for (const [i, t] of times.entries()) h.push(t, i);
        const out: number[] = [];
        while (h.size > 0) out.push(h.pop()!);
        const expected = times.map((t, i) => ({ t, i })).sort((a, b) => a.t - b.t || a.i - b.i);
        expect(out).toEqual(expected.map((e) => e.i));
      }),
    );
  });

  it('reports +Infinity and undefined when empty', () => {
    const h = new TimeHeap<string>();
    expect(h.peekTime()).toBe(Number.POSITIVE_INFINITY);
    expect(h.pop()).toBeUndefined();
  });
});
