import { DetectorInputError } from './errors.js';

/** A dense row-major matrix: row `i`, column `j` is `data[i * cols + j]`. */
export interface Matrix {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/** A row-major `Float64Array` together with its column count. */
export interface RowMajor {
  readonly data: Float64Array;
  readonly cols: number;
}

/**
 * What the detectors accept as a data set: an array of rows (`number[][]`), or a row-major
 * `Float64Array` with its column count (either `{ data, cols }` or the array plus a `cols` argument).
 */
export type MatrixInput = readonly ArrayLike<number>[] | RowMajor | Float64Array;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
  return String(value);
}

function checkFinite(data: Float64Array, cols: number, what: string): void {
  for (let k = 0; k < data.length; k++) {
    const v = data[k];
    // v - v is NaN exactly for NaN and ±Infinity: one test covers both.
    if (v - v !== 0) {
      const row = Math.floor(k / cols);
      throw new DetectorInputError(
        `${what}: row ${row}, column ${k - row * cols} is ${v}; every value must be a finite number`,
      );
    }
  }
}

/**
 * Validates a data set and returns it as a row-major matrix. A `Float64Array` input is used as is
 * (no copy); an array of rows is copied once.
 *
 * @param X the data: rows of numbers, `{ data, cols }`, or a `Float64Array` with `cols`.
 * @param cols the column count when `X` is a bare `Float64Array`.
 * @param what how error messages name the argument.
 * @param expectedCols when given, the column count the data must have (the one a model was fitted on).
 * @throws DetectorInputError naming the row and column of the first bad value.
 *
 * @example
 * ```ts
 * const m = toMatrix([[1, 2], [3, 4]]); // { rows: 2, cols: 2, data: Float64Array [1, 2, 3, 4] }
 * ```
 */
export function toMatrix(X: MatrixInput, cols?: number, what = 'X', expectedCols?: number): Matrix {
  let m: Matrix;
  if (
    X instanceof Float64Array ||
    (!Array.isArray(X) && typeof X === 'object' && X !== null && 'data' in X)
  ) {
    const data = X instanceof Float64Array ? X : (X as RowMajor).data;
    const c = X instanceof Float64Array ? cols : (X as RowMajor).cols;
    if (!(data instanceof Float64Array)) throw new DetectorInputError(`${what}.data must be a Float64Array`);
    if (c === undefined) {
      throw new DetectorInputError(`${what} is a Float64Array: pass its column count as well`);
    }
    if (!Number.isInteger(c) || c < 1) {
      throw new DetectorInputError(
        `${what}: the column count must be a positive integer, got ${describe(c)}`,
      );
    }
    if (data.length === 0) throw new DetectorInputError(`${what} is empty: it needs at least one row`);
    if (data.length % c !== 0) {
      throw new DetectorInputError(
        `${what} has ${data.length} values, which is not a whole number of rows of ${c} columns`,
      );
    }
    checkFinite(data, c, what);
    m = { data, rows: data.length / c, cols: c };
  } else {
    if (!Array.isArray(X)) {
      throw new DetectorInputError(
        `${what} must be an array of rows or a row-major Float64Array, got ${X === null ? 'null' : typeof X}`,
      );
    }
    const rows = X.length;
    if (rows === 0) throw new DetectorInputError(`${what} is empty: it needs at least one row`);
    const first = X[0];
    if (first === null || typeof first !== 'object' || typeof first.length !== 'number') {
      throw new DetectorInputError(`${what}: row 0 is not an array of numbers`);
    }
    const c = first.length;
    if (c === 0) throw new DetectorInputError(`${what}: rows have no columns`);
    const data = new Float64Array(rows * c);
    for (let i = 0; i < rows; i++) {
      const row = X[i];
      if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
        throw new DetectorInputError(`${what}: row ${i} is not an array of numbers`);
      }
      if (row.length !== c) {
        throw new DetectorInputError(
          `${what} is ragged: row ${i} has ${row.length} columns where row 0 has ${c}`,
        );
      }
      const base = i * c;
      for (let j = 0; j < c; j++) {
        const v: unknown = row[j];
        if (typeof v !== 'number') {
          throw new DetectorInputError(
            `${what}: row ${i}, column ${j} is ${typeof v} ${describe(v)}; every value must be a finite number`,
          );
        }
        if (v - v !== 0) {
          throw new DetectorInputError(
            `${what}: row ${i}, column ${j} is ${v}; every value must be a finite number`,
          );
        }
        data[base + j] = v;
      }
    }
    m = { data, rows, cols: c };
  }
  if (expectedCols !== undefined && m.cols !== expectedCols) {
    throw new DetectorInputError(`${what} has ${m.cols} columns but the model was fitted on ${expectedCols}`);
  }
  return m;
}

/**
 * Validates one observation (a single row) against the column count a model was fitted on.
 *
 * @example
 * ```ts
 * const x = toVector([1.5, 2], 2);
 * ```
 */
export function toVector(x: ArrayLike<number>, expectedCols: number, what = 'x'): Float64Array {
  if (x === null || typeof x !== 'object' || typeof x.length !== 'number') {
    throw new DetectorInputError(`${what} must be an array of numbers`);
  }
  if (x.length !== expectedCols) {
    throw new DetectorInputError(
      `${what} has ${x.length} values but the model was fitted on ${expectedCols}`,
    );
  }
  const out = new Float64Array(expectedCols);
  for (let j = 0; j < expectedCols; j++) {
    const v: unknown = x[j];
    if (typeof v !== 'number' || v - v !== 0) {
      throw new DetectorInputError(`${what}[${j}] is ${describe(v)}; every value must be a finite number`);
    }
    out[j] = v;
  }
  return out;
}
