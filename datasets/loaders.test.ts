import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, DatasetFormatError } from './errors.js';
import { loadSeriesCsv, loadTabularCsv, parseDecimal, parseIsoTimestamp } from './loaders.js';
import { labelsFromWindows, loadWindowsJson } from './windows.js';

const MAMMOGRAPHY = new URL('../../shared/datasets/odds/mammography.csv', import.meta.url);

let dir = '';
let counter = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelfwatch-loaders-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function temp(content: string, ext = 'csv'): Promise<string> {
  const file = join(dir, `f${counter++}.${ext}`);
  await writeFile(file, content, 'utf8');
  return file;
}

async function formatError(p: Promise<unknown>): Promise<DatasetFormatError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetFormatError);
  return err as DatasetFormatError;
}

describe('parseDecimal / parseIsoTimestamp', () => {
  it('accepts plain decimals only', () => {
    expect(parseDecimal(' -1.5e3 ')).toBe(-1500);
    expect(parseDecimal('.5')).toBe(0.5);
    expect(parseDecimal('7.')).toBe(7);
    for (const bad of ['', ' ', 'NaN', 'Infinity', '0x10', '1,5', 'abc', '1e', '--1', '1e999']) {
      expect(parseDecimal(bad)).toBeUndefined();
    }
  });

  it('reads ISO-8601 as UTC unless an offset is given', () => {
    expect(parseIsoTimestamp('2014-04-01 00:00:00')).toBe(Date.UTC(2014, 3, 1));
    expect(parseIsoTimestamp('2014-04-01T00:00:00Z')).toBe(Date.UTC(2014, 3, 1));
    expect(parseIsoTimestamp('2014-04-01T02:30:00+02:30')).toBe(Date.UTC(2014, 3, 1));
    expect(parseIsoTimestamp('2014-03-31T19:00-0500')).toBe(Date.UTC(2014, 3, 1));
    expect(parseIsoTimestamp('2014-04-01')).toBe(Date.UTC(2014, 3, 1));
    expect(parseIsoTimestamp('2014-04-01T00:00:00.250Z')).toBe(Date.UTC(2014, 3, 1) + 250);
    // NAB windows carry microseconds: kept as a fraction of a millisecond.
    expect(parseIsoTimestamp('2014-04-01 00:00:00.000500')).toBeCloseTo(Date.UTC(2014, 3, 1) + 0.5, 6);
    expect(parseIsoTimestamp('0050-01-01T00:00:00Z')).toBe(Date.parse('0050-01-01T00:00:00Z'));
    expect(parseIsoTimestamp('2016-02-29')).toBe(Date.UTC(2016, 1, 29));
  });

  it('agrees with Date.parse on Z-suffixed timestamps', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        (d) => {
          expect(parseIsoTimestamp(d.toISOString())).toBe(d.getTime());
        },
      ),
    );
  });

  it('rejects impossible or malformed dates', () => {
    for (const bad of [
      '2014-13-01',
      '2014-04-31',
      '2015-02-29',
      '2014-04-01T24:00',
      '2014-4-1',
      '1396310400',
      'x',
    ]) {
      expect(parseIsoTimestamp(bad)).toBeUndefined();
    }
  });
});

describe('loadTabularCsv', () => {
  it('round-trips random data (LF and CRLF, label column anywhere)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }).chain((cols) =>
          fc.tuple(
            fc.constant(cols),
            fc.integer({ min: 0, max: cols }),
            fc.array(
              fc.tuple(
                fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), {
                  minLength: cols,
                  maxLength: cols,
                }),
                fc.constantFrom(0, 1),
              ),
              { minLength: 1, maxLength: 30 },
            ),
            fc.constantFrom('\n', '\r\n'),
          ),
        ),
        async ([cols, labelAt, rows, eol]) => {
          const names = Array.from({ length: cols }, (_, j) => `x${j}`);
          const header = [...names];
          header.splice(labelAt, 0, 'label');
          const lines = [header.join(',')];
          for (const [xs, l] of rows) {
            const cells = xs.map(String); // String() of a double round-trips exactly
            cells.splice(labelAt, 0, String(l));
            lines.push(cells.join(','));
          }
          const file = await temp(lines.join(eol) + eol);
          const { X, y, featureNames } = await loadTabularCsv(file);
          expect(featureNames).toEqual(names);
          expect(X.rows).toBe(rows.length);
          expect(X.cols).toBe(cols);
          expect(X.data).toHaveLength(rows.length * cols);
          // String(-0) is "0", so -0 comes back as +0.
          expect(Array.from(X.data)).toEqual(
            rows.flatMap(([xs]) => xs.map((v) => (Object.is(v, -0) ? 0 : v))),
          );
          expect(Array.from(y)).toEqual(rows.map(([, l]) => l));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('parses CRLF files without stray \\r in the last column, skips blank lines, strips a BOM', async () => {
    const file = await temp('\uFEFFa,b,label\r\n1,2,0\r\n\r\n3.5,-4,1\r\n');
    const { X, y, featureNames } = await loadTabularCsv(file);
    expect(featureNames).toEqual(['a', 'b']);
    expect(Array.from(X.data)).toEqual([1, 2, 3.5, -4]);
    expect(Array.from(y)).toEqual([0, 1]);
  });

  it('accepts a file: URL, a custom label name and quoted header names', async () => {
    const file = await temp('"is anomaly","f,0"\n1,2\n0,3\n');
    const { X, y, featureNames } = await loadTabularCsv(new URL(`file://${file}`), { label: 'is anomaly' });
    expect(featureNames).toEqual(['f,0']);
    expect(Array.from(X.data)).toEqual([2, 3]);
    expect(Array.from(y)).toEqual([1, 0]);
  });

  it('names file, line and column of a non-numeric cell', async () => {
    const file = await temp('f0,f1,f2,label\r\n1,2,3,0\r\n4,5,6,0\r\n7,8,abc,1\r\n');
    const err = await formatError(loadTabularCsv(file));
    expect(err).toMatchObject({ file, line: 4, column: 3, columnName: 'f2' });
    expect(err.message).toBe(`${file}:4, column 3 ("f2"): "abc" is not a finite number`);
  });

  it('rejects empty cells, NaN and Infinity', async () => {
    for (const bad of ['', 'NaN', 'Infinity']) {
      const err = await formatError(loadTabularCsv(await temp(`a,label\n${bad},0\n`)));
      expect(err).toMatchObject({ line: 2, column: 1, columnName: 'a' });
    }
  });

  it('lists the header when the label column is missing', async () => {
    const file = await temp('f0,f1,class\n1,2,0\n');
    const err = await formatError(loadTabularCsv(file));
    expect(err.line).toBe(1);
    expect(err.message).toContain('no label column "label"; the header is "f0", "f1", "class"');
  });

  it('rejects labels other than 0/1 with line and column', async () => {
    const err = await formatError(loadTabularCsv(await temp('f0,label\n1,0\n2,2\n')));
    expect(err).toMatchObject({ line: 3, column: 2, columnName: 'label' });
    expect(err.message).toMatch(/label is "2"; labels must be 0 or 1/);
  });

  it('rejects rows of the wrong width, empty files and header-only files', async () => {
    const wide = await formatError(loadTabularCsv(await temp('f0,label\n1,0\n1,2,0\n')));
    expect(wide).toMatchObject({ line: 3 });
    expect(wide.message).toMatch(/has 3 fields where the header has 2/);
    expect((await formatError(loadTabularCsv(await temp('')))).message).toMatch(/empty/);
    expect((await formatError(loadTabularCsv(await temp('f0,label\n')))).message).toMatch(/no data rows/);
    expect((await formatError(loadTabularCsv(await temp('f0,label\n"1,0\n')))).message).toMatch(
      /unterminated/,
    );
  });

  it('passes I/O errors through', async () => {
    await expect(loadTabularCsv(join(dir, 'missing.csv'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('loads the real ODDS mammography set: n = 11183, d = 6, 260 anomalies', async () => {
    const { X, y, featureNames } = await loadTabularCsv(MAMMOGRAPHY);
    expect(X.rows).toBe(11183);
    expect(X.cols).toBe(6);
    expect(X.data).toHaveLength(11183 * 6);
    expect(featureNames).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5']);
    expect(y.reduce((a, b) => a + b, 0)).toBe(260);
    // First and last rows as in the file (the last one read back by numpy: /usr/bin/python3).
    expect(Array.from(X.data.subarray(0, 6))).toEqual([
      0.23001961, 5.0725783, -0.27606055, 0.83244412, -0.37786573, 0.4803223,
    ]);
    expect(Array.from(X.data.subarray(-6))).toEqual([
      0.17700275, -0.19150839, -0.50146835, 1.5788636, 7.750705, 1.5559507,
    ]);
  });
});

describe('loadSeriesCsv', () => {
  it('reads a NAB-style file with a header and ISO timestamps (UTC)', async () => {
    const file = await temp('timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127\n');
    const s = await loadSeriesCsv(file);
    expect(Array.from(s.timestamps)).toEqual([Date.UTC(2014, 6, 1), Date.UTC(2014, 6, 1, 0, 30)]);
    expect(Array.from(s.values)).toEqual([10844, 8127]);
    expect(s.labels).toBeNull();
  });

  it('reads a header-less CRLF file with numeric timestamps and labels', async () => {
    const file = await temp('0,1.5,0\r\n60,2.5,1\r\n120,-3,0\r\n');
    const s = await loadSeriesCsv(file);
    expect(Array.from(s.timestamps)).toEqual([0, 60, 120]);
    expect(Array.from(s.values)).toEqual([1.5, 2.5, -3]);
    expect(Array.from(s.labels ?? [])).toEqual([0, 1, 0]);
  });

  it('finds named columns in any order and ignores others', async () => {
    const file = await temp(
      'Value,sensor,Label,Timestamp\n5,a,1,2020-01-01T00:00:00Z\n6,b,0,2020-01-01T00:01:00Z\n',
    );
    const s = await loadSeriesCsv(file);
    expect(Array.from(s.timestamps)).toEqual([Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 1, 0, 1)]);
    expect(Array.from(s.values)).toEqual([5, 6]);
    expect(Array.from(s.labels ?? [])).toEqual([1, 0]);
  });

  it('takes unnamed header columns by position', async () => {
    const s = await loadSeriesCsv(await temp('t,v,is_anomaly\n1,2,1\n'));
    expect(Array.from(s.labels ?? [])).toEqual([1]);
  });

  it('with strictColumns, refuses a header other than timestamp,value[,label] and reads the rest alike', async () => {
    const table = await temp('f0,f1,label\n1,2,0\n3,4,1\n');
    const err = await formatError(loadSeriesCsv(table, { strictColumns: true }));
    expect(err.message).toContain(
      'expected the columns timestamp,value[,label]; the header is "f0", "f1", "label"',
    );
    expect(err.line).toBe(1);
    for (const header of ['t,v,is_anomaly', 'timestamp,value,sensor', 'value,label']) {
      await formatError(loadSeriesCsv(await temp(`${header}\n1,2,1\n`), { strictColumns: true }));
    }
    const reordered = await temp('Value,LABEL,timestamp\n5,1,10\n6,0,20\n');
    expect(await loadSeriesCsv(reordered, { strictColumns: true })).toEqual(await loadSeriesCsv(reordered));
    // No header: the columns are timestamp,value[,label] by position, as without the option.
    const bare = await temp('0,1.5,0\n60,2.5,1\n');
    expect(Array.from((await loadSeriesCsv(bare, { strictColumns: true })).values)).toEqual([1.5, 2.5]);
  });

  it('round-trips many rows (typed arrays grow past their first capacity)', async () => {
    const n = 5000;
    const lines = ['timestamp,value,label'];
    for (let i = 0; i < n; i++) lines.push(`${i * 1000},${Math.sin(i)},${i % 50 === 0 ? 1 : 0}`);
    const s = await loadSeriesCsv(await temp(lines.join('\n')));
    expect(s.timestamps).toHaveLength(n);
    expect(s.values[1234]).toBe(Math.sin(1234));
    expect(s.labels?.reduce((a, b) => a + b, 0)).toBe(100);
  });

  it('names line and column of a bad value or timestamp', async () => {
    const v = await formatError(loadSeriesCsv(await temp('timestamp,value\n2014-07-01,1\n2014-07-02,n/a\n')));
    expect(v).toMatchObject({ line: 3, column: 2, columnName: 'value' });
    const t = await formatError(loadSeriesCsv(await temp('1,1\n2,2\r\n2014-13-45,3\r\n')));
    expect(t).toMatchObject({ line: 3, column: 1, columnName: null });
    expect(t.message).toMatch(/neither an ISO-8601 timestamp nor a number/);
    // A bad timestamp on the first line is an error too, not mistaken for a header.
    const first = await formatError(
      loadSeriesCsv(await temp('2014-02-30 00:00:00,3\n2014-03-01 00:00:00,4\n')),
    );
    expect(first).toMatchObject({ line: 1, column: 1 });
  });

  it('refuses a mix of ISO and numeric timestamps, bad labels and ragged rows', async () => {
    const mix = await formatError(loadSeriesCsv(await temp('2014-07-01,1\n1404172800000,2\n')));
    expect(mix).toMatchObject({ line: 2, column: 1 });
    expect(mix.message).toMatch(/earlier timestamps are ISO strings/);
    const lab = await formatError(loadSeriesCsv(await temp('1,1,0\n2,2,yes\n')));
    expect(lab).toMatchObject({ line: 2, column: 3 });
    const rag = await formatError(loadSeriesCsv(await temp('1,1,0\n2,2\n')));
    expect(rag.message).toMatch(/has 2 fields where the first line has 3/);
    const hdr = await formatError(loadSeriesCsv(await temp('a,b,c,d\n1,2,3,4\n')));
    expect(hdr.message).toMatch(/the header is "a", "b", "c", "d"/);
  });
});

describe('loadWindowsJson / labelsFromWindows', () => {
  it('reads NAB windows (ISO with microseconds, UTC) and numeric windows', async () => {
    const file = await temp(
      JSON.stringify({
        'realKnownCause/nyc_taxi.csv': [
          ['2014-10-30 15:30:00.000000', '2014-11-03 22:30:00.000000'],
          ['2014-11-25 12:00:00.000000', '2014-11-29 19:00:00.000000'],
        ],
        'numeric.csv': [[10, 20]],
        'empty.csv': [],
      }),
      'json',
    );
    const w = await loadWindowsJson(file);
    expect(w['realKnownCause/nyc_taxi.csv']).toEqual([
      [Date.UTC(2014, 9, 30, 15, 30), Date.UTC(2014, 10, 3, 22, 30)],
      [Date.UTC(2014, 10, 25, 12), Date.UTC(2014, 10, 29, 19)],
    ]);
    expect(w['numeric.csv']).toEqual([[10, 20]]);
    expect(w['empty.csv']).toEqual([]);
  });

  it('reports the line and column of a JSON syntax error when the parser gives a position', async () => {
    const err = await formatError(loadWindowsJson(await temp('{\n  "a.csv": [\n    [1, 2\n    x\n', 'json')));
    expect(err.message).toMatch(/invalid JSON/);
    // Node 20's V8 reports "at position 25" for this error; a runtime that gives no position
    // leaves line and column null rather than guessing.
    if (/position \d+/.test(err.message)) expect([err.line, err.column]).toEqual([4, 5]);
    else expect([err.line, err.column]).toEqual([null, null]);
  });

  it('names the offending entry of a structural error', async () => {
    const cases: [unknown, RegExp][] = [
      [[1, 2], /expected an object/],
      [{ 'a.csv': 'x' }, /\["a.csv"\] is not a list/],
      [{ 'a.csv': [[1]] }, /\["a.csv"\]\[0\] is not a \[start, end\] pair/],
      [
        {
          'a.csv': [
            [1, 2],
            ['2014-01-01', 'soon'],
          ],
        },
        /\["a.csv"\]\[1\]\[1\] is "soon"/,
      ],
      [{ 'a.csv': [['2014-01-01', 5]] }, /mixes an ISO timestamp and a number/],
      [{ 'a.csv': [[5, 1]] }, /\["a.csv"\]\[0\] starts after it ends/],
    ];
    for (const [json, pattern] of cases) {
      const err = await formatError(loadWindowsJson(await temp(JSON.stringify(json), 'json')));
      expect(err.message).toMatch(pattern);
    }
  });

  it('labels points inside windows, both ends inclusive', () => {
    expect(
      Array.from(
        labelsFromWindows(
          [1, 2, 3, 4, 5, 6],
          [
            [2, 3],
            [5, 5],
          ],
        ),
      ),
    ).toEqual([0, 1, 1, 0, 1, 0]);
    expect(
      Array.from(
        labelsFromWindows(
          [5, 1, 3],
          [
            [0, 2],
            [1, 4],
          ],
        ),
      ),
    ).toEqual([0, 1, 1]);
    expect(Array.from(labelsFromWindows([1, 2], []))).toEqual([0, 0]);
  });

  it('agrees with a brute-force labelling', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -10, max: 110 }), { maxLength: 50 }),
        fc.array(
          fc
            .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 15 }))
            .map(([s, l]) => [s, s + l] as const),
          { maxLength: 8 },
        ),
        (ts, windows) => {
          const expected = ts.map((t) => (windows.some(([s, e]) => s <= t && t <= e) ? 1 : 0));
          expect(Array.from(labelsFromWindows(ts, windows))).toEqual(expected);
        },
      ),
    );
  });

  it('rejects bad windows and NaN timestamps', () => {
    expect(() => labelsFromWindows([1], [[3, 2]])).toThrow(DatasetError);
    expect(() => labelsFromWindows([Number.NaN], [[1, 2]])).toThrow(/timestamps\[0\] is NaN/);
  });
});
