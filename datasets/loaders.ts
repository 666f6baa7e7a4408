/**
 * Loaders for labelled data: tabular CSV (ODDS-style `f0,…,label`) and time-series CSV
 * (`timestamp,value[,label]`); NAB-style anomaly-window JSON is in `windows.ts`. CSV files are read line by line
 * through `node:readline` into geometrically grown typed arrays, so memory stays near the size of
 * the result. LF, CRLF and a UTF-8 byte-order mark are accepted.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Matrix } from '../detectors/matrix.js';
import { DatasetFormatError } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Shared parsing
// ---------------------------------------------------------------------------------------------

// Plain decimal numbers only: Number() alone would also accept '', ' ', '0x1f', 'Infinity'.
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a plain decimal number (`-1.5`, `2e-3`, `.5`); `undefined` for anything else, including
 * empty cells, `NaN`, `Infinity` and hexadecimal.
 *
 * @example
 * ```ts
 * parseDecimal(' 2.5e3 '); // 2500
 * parseDecimal('n/a');     // undefined
 * ```
 */
export function parseDecimal(text: string): number | undefined {
  const s = text.trim();
  if (!NUMBER.test(s)) return undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1];
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/**
 * Parses an ISO-8601 date-time to epoch milliseconds: `YYYY-MM-DD`, optionally followed by `T` or a
 * space and `hh:mm[:ss[.fraction]]`, optionally followed by `Z` or `±hh[:mm]`. Without an offset the
 * time is read as **UTC**, not local time (unlike `Date.parse`), so results do not depend on the
 * machine's time zone; NAB files write `2014-04-01 00:00:00` and mean UTC. Fractions finer than a
 * millisecond are kept as a fraction of a millisecond. `undefined` if the text is not such a date
 * or names an impossible one (month 13, 31 April, hour 24).
 *
 * @example
 * ```ts
 * parseIsoTimestamp('2014-04-01 00:00:00');       // 1396310400000
 * parseIsoTimestamp('2014-04-01T02:00:00+02:00'); // 1396310400000
 * ```
 */
export function parseIsoTimestamp(text: string): number | undefined {
  const m = ISO.exec(text.trim());
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  let ms = d.getTime();
  if (m[7] !== undefined) ms += Number(`0.${m[7]}`) * 1000;
  const zone = m[8];
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 23 || om > 59) return undefined;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  return ms;
}

/**
 * Splits one CSV line into trimmed fields. Quoted fields (`"a,b"`, `"say ""hi"""`) are supported
 * within a line; a quoted field spanning lines is not (numeric data sets never need it).
 * Returns the 0-based index of the field whose quote is never closed instead of the fields.
 */
function splitCsvLine(line: string): string[] | number {
  if (!line.includes('"')) {
    const parts = line.split(',');
    for (let k = 0; k < parts.length; k++) parts[k] = parts[k].trim();
    return parts;
  }
  const fields: string[] = [];
  let k = 0;
  for (;;) {
    while (k < line.length && (line[k] === ' ' || line[k] === '\t')) k++;
    let field = '';
    if (line[k] === '"') {
      k++;
      for (;;) {
        if (k >= line.length) return fields.length; // field index of the unterminated quote
        if (line[k] === '"') {
          if (line[k + 1] === '"') {
            field += '"';
            k += 2;
          } else {
            k++;
            break;
          }
        } else field += line[k++];
      }
      while (k < line.length && line[k] !== ',') k++; // ignore anything between the quote and comma
    } else {
      const comma = line.indexOf(',', k);
      const end = comma < 0 ? line.length : comma;
      field = line.slice(k, end).trim();
      k = end;
    }
    fields.push(field);
    if (k >= line.length) return fields;
    k++; // skip the comma
  }
}

/** Yields the lines of a file with their 1-based numbers, closing the file however the loop ends. */
async function* readLines(file: string): AsyncGenerator<[string, number]> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  try {
    for await (const raw of rl) {
      lineNo++;
      // readline already splits on \n, \r\n and \r; only a leading BOM is left to strip.
      yield [lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw, lineNo];
    }
  } finally {
    rl.close();
    input.destroy();
  }
}

function fileName(path: string | URL): string {
  return typeof path === 'string' ? path : fileURLToPath(path);
}

function show(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function fields(line: string, file: string, lineNo: number): string[] {
  const f = splitCsvLine(line);
  if (typeof f === 'number') {
    throw new DatasetFormatError('unterminated quoted field', { file, line: lineNo, column: f + 1 });
  }
  return f;
}

function grow(a: Float64Array<ArrayBuffer>, need: number): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function growBytes(a: Uint8Array<ArrayBuffer>, need: number): Uint8Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Uint8Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function parseLabel(cell: string): 0 | 1 | undefined {
  const v = parseDecimal(cell);
  return v === 0 ? 0 : v === 1 ? 1 : undefined;
}

// ---------------------------------------------------------------------------------------------
// Tabular CSV
// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link loadTabularCsv}.
 *
 * @example
 * ```ts
 * await loadTabularCsv('data.csv', { label: 'is_anomaly' } satisfies TabularCsvOptions);
 * ```
 */
export interface TabularCsvOptions {
  /** Name of the 0/1 label column (1 = anomaly). Default `'label'`. */
  readonly label?: string;
}

/**
 * A labelled tabular data set.
 *
 * @example
 * ```ts
 * const { X, y }: TabularDataset = await loadTabularCsv('mammography.csv');
 * ```
 */
export interface TabularDataset {
  /** Features, row-major, one row per data line, columns in header order without the label. */
  readonly X: Matrix;
  /** 0/1 labels, 1 = anomaly. */
  readonly y: Uint8Array;
  /** Header names of the feature columns, in `X` column order. */
  readonly featureNames: string[];
}

/**
 * Loads a numeric CSV with a header row and a 0/1 label column, e.g. the ODDS files
 * (`f0,…,f5,label`). Every other column is a feature and must hold plain decimal numbers. Blank
 * lines are skipped. Streams the file; the typed arrays grow by doubling and are trimmed at the end.
 *
 * @param path file path or `file:` URL.
 * @throws DatasetFormatError naming file, line and column for a non-numeric cell, a label that is
 *   not 0/1, a row with the wrong number of fields, a missing label column (listing the header),
 *   an empty file or a file without data rows.
 *
 * @example
 * ```ts
 * const { X, y, featureNames } = await loadTabularCsv('../shared/datasets/odds/mammography.csv');
 * // X.rows 11183, X.cols 6, featureNames ['f0', …, 'f5']
 * ```
 */
export async function loadTabularCsv(
  path: string | URL,
  options: TabularCsvOptions = {},
): Promise<TabularDataset> {
  const file = fileName(path);
  const labelName = options.label ?? 'label';
  let header: string[] | null = null;
  let labelCol = -1;
  let cols = 0;
  let data = new Float64Array(0);
  let y = new Uint8Array(0);
  let rows = 0;
  for await (const [line, lineNo] of readLines(file)) {
    if (line.trim() === '') continue;
    const f = fields(line, file, lineNo);
    if (header === null) {
      header = f;
      labelCol = f.indexOf(labelName);
      if (labelCol < 0) {
        throw new DatasetFormatError(
          `no label column ${JSON.stringify(labelName)}; the header is ${f.map((h) => JSON.stringify(h)).join(', ')}`,
          { file, line: lineNo },
        );
      }
      if (f.indexOf(labelName, labelCol + 1) >= 0) {
        throw new DatasetFormatError(
          `the label column ${JSON.stringify(labelName)} appears twice in the header`,
          {
            file,
            line: lineNo,
          },
        );
      }
      cols = f.length - 1;
      if (cols === 0) {
        throw new DatasetFormatError('the header has only the label column: there are no features', {
          file,
          line: lineNo,
        });
      }
      data = new Float64Array(1024 * cols);
      y = new Uint8Array(1024);
      continue;
    }
    if (f.length !== header.length) {
      throw new DatasetFormatError(`has ${f.length} fields where the header has ${header.length}`, {
        file,
        line: lineNo,
      });
    }
    data = grow(data, (rows + 1) * cols);
    y = growBytes(y, rows + 1);
    let at = rows * cols;
    for (let k = 0; k < f.length; k++) {
      if (k === labelCol) {
        const l = parseLabel(f[k]);
        if (l === undefined) {
          throw new DatasetFormatError(`label is ${show(f[k])}; labels must be 0 or 1`, {
            file,
            line: lineNo,
            column: k + 1,
            columnName: header[k],
          });
        }
        y[rows] = l;
      } else {
        const v = parseDecimal(f[k]);
        if (v === undefined) {
          throw new DatasetFormatError(`${show(f[k])} is not a finite number`, {
            file,
            line: lineNo,
            column: k + 1,
            columnName: header[k],
          });
        }
        data[at++] = v;
      }
    }
    rows++;
  }
  if (header === null) throw new DatasetFormatError('the file is empty: expected a header line', { file });
  if (rows === 0) throw new DatasetFormatError('the file has a header but no data rows', { file });
  return {
    X: { data: data.length === rows * cols ? data : data.slice(0, rows * cols), rows, cols },
    y: y.length === rows ? y : y.slice(0, rows),
    featureNames: header.filter((_, k) => k !== labelCol),
  };
}

// ---------------------------------------------------------------------------------------------
// Series CSV
// ---------------------------------------------------------------------------------------------

/**
 * A univariate time series with optional 0/1 point labels.
 *
 * @example
 * ```ts
 * const { timestamps, values }: SeriesDataset = await loadSeriesCsv('nyc_taxi.csv');
 * ```
 */
export interface SeriesDataset {
  /** Epoch milliseconds for ISO-8601 timestamps; the numbers themselves for numeric timestamps. */
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** 0/1 labels (1 = anomaly) when the file has a label column, else `null`. */
  readonly labels: Uint8Array | null;
}

/**
 * Options of {@link loadSeriesCsv}.
 *
 * @example
 * ```ts
 * await loadSeriesCsv('ts.csv', { strictColumns: true } satisfies SeriesCsvOptions);
 * ```
 */
export interface SeriesCsvOptions {
  /**
   * A header must name `timestamp` and `value`, and nothing but `label` besides: no columns taken by
   * position, none ignored (a tool that writes these columns back must not pass off `f0,f1` as a
   * series). A file without a header is still read by position. Default `false`.
   */
  readonly strictColumns?: boolean;
}

/**
 * Loads a `timestamp,value[,label]` CSV (NAB-style). The header is optional: the first line is a
 * header when its first field is neither a timestamp nor a number and its second is not a number. With a header, columns named
 * `timestamp`, `value` and `label` (any case) are used wherever they are and other columns ignored;
 * if `timestamp` or `value` is not named, the columns are taken by position (2 or 3 columns only).
 *
 * Timestamps: ISO-8601 strings become epoch milliseconds, read as UTC when they carry no offset (see
 * {@link parseIsoTimestamp}); plain numbers are kept as they are (seconds stay seconds). A file must
 * use one kind throughout. Order is not checked. Blank lines are skipped.
 *
 * @param path file path or `file:` URL.
 * @throws DatasetFormatError naming file, line and column for an unreadable timestamp or value, a
 *   label that is not 0/1, a mix of ISO and numeric timestamps, or a row of the wrong width; with
 *   `strictColumns`, naming the header when it is not `timestamp,value[,label]`.
 *
 * @example
 * ```ts
 * const { timestamps, values, labels } = await loadSeriesCsv('nyc_taxi.csv');
 * ```
 */
export async function loadSeriesCsv(
  path: string | URL,
  options: SeriesCsvOptions = {},
): Promise<SeriesDataset> {
  const file = fileName(path);
  let width = -1; // fields per line, fixed by the first line
  let tCol = 0;
  let vCol = 1;
  let lCol = -1;
  let names: string[] | null = null;
  let kind: 'iso' | 'number' | null = null;
  let ts = new Float64Array(1024);
  let vs = new Float64Array(1024);
  let ls: Uint8Array<ArrayBuffer> | null = null;
  let n = 0;
  for await (const [line, lineNo] of readLines(file)) {
    if (line.trim() === '') continue;
    const f = fields(line, file, lineNo);
    if (width < 0) {
      width = f.length;
      // A data line whose timestamp is malformed must still be reported, not swallowed as a header:
      // so a numeric second field also marks data.
      const isData =
        parseDecimal(f[0]) !== undefined ||
        parseIsoTimestamp(f[0]) !== undefined ||
        (f.length > 1 && parseDecimal(f[1]) !== undefined);
      if (!isData) {
        names = f;
        const lower = f.map((h) => h.toLowerCase());
        const t = lower.indexOf('timestamp');
        const v = lower.indexOf('value');
        const strictOk =
          t >= 0 && v >= 0 && lower.every((h) => h === 'timestamp' || h === 'value' || h === 'label');
        if (options.strictColumns && !strictOk) {
          throw new DatasetFormatError(
            `expected the columns timestamp,value[,label]; the header is ${f.map((h) => JSON.stringify(h)).join(', ')}`,
            { file, line: lineNo },
          );
        }
        if (t >= 0 && v >= 0) {
          tCol = t;
          vCol = v;
          lCol = lower.indexOf('label');
        } else if (f.length === 2 || f.length === 3) {
          lCol = f.length === 3 ? 2 : -1;
        } else {
          throw new DatasetFormatError(
            `expected columns timestamp,value[,label]; the header is ${f.map((h) => JSON.stringify(h)).join(', ')}`,
            { file, line: lineNo },
          );
        }
        if (lCol >= 0) ls = new Uint8Array(1024);
        continue;
      }
      if (f.length !== 2 && f.length !== 3) {
        throw new DatasetFormatError(`has ${f.length} fields; expected timestamp,value[,label]`, {
          file,
          line: lineNo,
        });
      }
      if (f.length === 3) {
        lCol = 2;
        ls = new Uint8Array(1024);
      }
    }
    if (f.length !== width) {
      throw new DatasetFormatError(`has ${f.length} fields where the first line has ${width}`, {
        file,
        line: lineNo,
      });
    }
    const at = (k: number) => ({ file, line: lineNo, column: k + 1, columnName: names?.[k] ?? null });
    const tText = f[tCol];
    let t = parseDecimal(tText);
    let thisKind: 'iso' | 'number' = 'number';
    if (t === undefined) {
      t = parseIsoTimestamp(tText);
      thisKind = 'iso';
      if (t === undefined) {
        throw new DatasetFormatError(
          `${show(tText)} is neither an ISO-8601 timestamp nor a number`,
          at(tCol),
        );
      }
    }
    if (kind === null) kind = thisKind;
    else if (kind !== thisKind) {
      throw new DatasetFormatError(
        `${show(tText)} is ${thisKind === 'iso' ? 'an ISO timestamp' : 'a number'} but earlier timestamps are ${kind === 'iso' ? 'ISO strings' : 'numbers'}`,
        at(tCol),
      );
    }
    const v = parseDecimal(f[vCol]);
    if (v === undefined) throw new DatasetFormatError(`${show(f[vCol])} is not a finite number`, at(vCol));
    ts = grow(ts, n + 1);
    vs = grow(vs, n + 1);
    ts[n] = t;
    vs[n] = v;
    if (ls !== null) {
      const l = parseLabel(f[lCol]);
      if (l === undefined) {
        throw new DatasetFormatError(`label is ${show(f[lCol])}; labels must be 0 or 1`, at(lCol));
      }
      ls = growBytes(ls, n + 1);
      ls[n] = l;
    }
    n++;
  }
  if (width < 0) throw new DatasetFormatError('the file is empty', { file });
  if (n === 0) throw new DatasetFormatError('the file has a header but no data rows', { file });
  return {
    timestamps: ts.length === n ? ts : ts.slice(0, n),
    values: vs.length === n ? vs : vs.slice(0, n),
    labels: ls === null ? null : ls.length === n ? ls : ls.slice(0, n),
  };
}
