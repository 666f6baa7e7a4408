import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DetectorInputError } from './errors.js';
import { toMatrix, toVector } from './matrix.js';

describe('toMatrix', () => {
  it('copies rows into a row-major Float64Array', () => {
    const m = toMatrix([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(m.rows).toBe(2);
    expect(m.cols).toBe(3);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('uses a Float64Array as is, with its column count', () => {
    const data = new Float64Array([1, 2, 3, 4]);
    expect(toMatrix(data, 2).data).toBe(data);
    expect(toMatrix({ data, cols: 1 }).rows).toBe(4);
  });

  it.each([
    [[], /empty/],
    [[[]], /no columns/],
    [[[1, 2], [3]], /ragged: row 1 has 1 columns where row 0 has 2/],
    [[[1, Number.NaN]], /row 0, column 1 is NaN/],
    [[[1], [Number.POSITIVE_INFINITY]], /row 1, column 0 is Infinity/],
    [[[1], [Number.NEGATIVE_INFINITY]], /row 1, column 0 is -Infinity/],
    [[[1, '2']], /row 0, column 1 is string "2"/],
    [[[1, null]], /row 0, column 1 is object null/],
    [[5], /row 0 is not an array/],
  ])('rejects %j with a message naming what is wrong', (X, message) => {
    expect(() => toMatrix(X as unknown as number[][])).toThrow(DetectorInputError);
    expect(() => toMatrix(X as unknown as number[][])).toThrow(message);
  });

  it('rejects a Float64Array without a column count or of a partial row', () => {
    expect(() => toMatrix(new Float64Array(4))).toThrow(/column count/);
    expect(() => toMatrix(new Float64Array(5), 2)).toThrow(/not a whole number of rows/);
    expect(() => toMatrix(new Float64Array([1, Number.NaN]), 1)).toThrow(/row 1, column 0 is NaN/);
    expect(() => toMatrix(new Float64Array(0), 1)).toThrow(/empty/);
  });

  it('rejects data of another width than the model was fitted on', () => {
    expect(() => toMatrix([[1, 2]], undefined, 'X', 3)).toThrow(/2 columns but the model was fitted on 3/);
  });

  it('round-trips any finite matrix (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((c) =>
          fc.array(
            fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: c, maxLength: c }),
            {
              minLength: 1,
              maxLength: 20,
            },
          ),
        ),
        (rows) => {
          const m = toMatrix(rows);
          for (let i = 0; i < rows.length; i++)
            for (let j = 0; j < rows[0].length; j++) expect(m.data[i * m.cols + j]).toBe(rows[i][j]);
        },
      ),
    );
  });
});

describe('toVector', () => {
  it('validates width and values', () => {
    expect(Array.from(toVector([1, 2], 2))).toEqual([1, 2]);
    expect(() => toVector([1], 2)).toThrow(/has 1 values but the model was fitted on 2/);
    expect(() => toVector([1, Number.NaN], 2)).toThrow(/x\[1\] is NaN/);
  });
});
