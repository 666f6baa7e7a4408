/**
 * NAB-style anomaly windows: loaded from their JSON file, and turned into 0/1 point labels of a series.
 * Re-exported by `loaders.ts`, beside the CSV loaders they go with.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DatasetError, DatasetFormatError } from './errors.js';
import { parseIsoTimestamp } from './loaders.js';

function fileName(path: string | URL): string {
  return typeof path === 'string' ? path : fileURLToPath(path);
}

/**
 * Anomaly windows per series file: `[start, end]` pairs, both ends inclusive.
 *
 * @example
 * ```ts
 * const windows: WindowsByFile = await loadWindowsJson('combined_windows.json');
 * ```
 */
export type WindowsByFile = Record<string, Array<[number, number]>>;

function lineColumnOf(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < position && k < text.length; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}

/**
 * Loads NAB-style anomaly windows: `{ "file.csv": [[start, end], …], … }`. Each bound is an
 * ISO-8601 string (→ epoch ms, UTC unless an offset is given; see {@link parseIsoTimestamp}) or a
 * number (kept as is); both bounds of a pair must be of the same kind, and start ≤ end. The file
 * is read whole (JSON is not line-oriented, and windows files are small).
 *
 * @param path file path or `file:` URL.
 * @throws DatasetFormatError for invalid JSON (with line and column when the parser reports a
 *   position) or a structural problem; the message then names the offending entry, e.g.
 *   `["nyc_taxi.csv"][2][1]`, since JSON.parse keeps no positions.
 *
 * @example
 * ```ts
 * const windows = await loadWindowsJson('combined_windows.json');
 * const labels = labelsFromWindows(series.timestamps, windows['realKnownCause/nyc_taxi.csv'] ?? []);
 * ```
 */
export async function loadWindowsJson(path: string | URL): Promise<WindowsByFile> {
  const file = fileName(path);
  let text = await readFile(file, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(message);
    const where = pos === null ? {} : lineColumnOf(text, Number(pos[1]));
    throw new DatasetFormatError(`invalid JSON: ${message}`, { file, ...where });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DatasetFormatError('expected an object mapping file names to lists of [start, end] pairs', {
      file,
    });
  }
  const out: Array<[string, Array<[number, number]>]> = [];
  for (const [key, list] of Object.entries(parsed)) {
    const at = `[${JSON.stringify(key)}]`;
    if (!Array.isArray(list)) {
      throw new DatasetFormatError(`${at} is not a list of [start, end] pairs`, { file });
    }
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < list.length; i++) {
      const pair: unknown = list[i];
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new DatasetFormatError(`${at}[${i}] is not a [start, end] pair`, { file });
      }
      const bounds: number[] = [];
      const kinds: string[] = [];
      for (let b = 0; b < 2; b++) {
        const raw: unknown = pair[b];
        let v: number | undefined;
        if (typeof raw === 'number' && Number.isFinite(raw)) {
          v = raw;
          kinds.push('number');
        } else if (typeof raw === 'string') {
          v = parseIsoTimestamp(raw);
          kinds.push('iso');
        }
        if (v === undefined) {
          throw new DatasetFormatError(
            `${at}[${i}][${b}] is ${JSON.stringify(raw)}; expected an ISO-8601 timestamp or a number`,
            { file },
          );
        }
        bounds.push(v);
      }
      if (kinds[0] !== kinds[1]) {
        throw new DatasetFormatError(`${at}[${i}] mixes an ISO timestamp and a number`, { file });
      }
      if (bounds[0] > bounds[1]) {
        throw new DatasetFormatError(`${at}[${i}] starts after it ends`, { file });
      }
      pairs.push([bounds[0], bounds[1]]);
    }
    out.push([key, pairs]);
  }
  // fromEntries defines own properties, so a key named "__proto__" is kept as data.
  return Object.fromEntries(out);
}

/**
 * 0/1 point labels from windows: 1 where some window has start ≤ t ≤ end (inclusive, as in NAB).
 * O((n + w) log w): the windows are sorted and merged, then each timestamp is found by binary search.
 *
 * @throws DatasetError for a NaN timestamp or a window that is not a finite [start, end] with
 *   start ≤ end.
 *
 * @example
 * ```ts
 * labelsFromWindows([1, 2, 3, 4, 5], [[2, 3]]); // Uint8Array [0, 1, 1, 0, 0]
 * ```
 */
export function labelsFromWindows(
  timestamps: ArrayLike<number>,
  windows: ArrayLike<readonly [number, number]>,
): Uint8Array {
  const w = windows.length;
  const starts = new Float64Array(w);
  const ends = new Float64Array(w);
  for (let i = 0; i < w; i++) {
    const pair = windows[i];
    const s = pair?.[0];
    const e = pair?.[1];
    if (
      typeof s !== 'number' ||
      typeof e !== 'number' ||
      !Number.isFinite(s) ||
      !Number.isFinite(e) ||
      s > e
    ) {
      throw new DatasetError(`windows[${i}] is not a [start, end] pair of finite numbers with start ≤ end`);
    }
    starts[i] = s;
    ends[i] = e;
  }
  const order = Uint32Array.from({ length: w }, (_, i) => i).sort((a, b) => starts[a] - starts[b]);
  // Merge overlapping windows so the union is a sorted list of disjoint intervals.
  const lo: number[] = [];
  const hi: number[] = [];
  for (let r = 0; r < w; r++) {
    const s = starts[order[r]];
    const e = ends[order[r]];
    if (hi.length > 0 && s <= hi[hi.length - 1]) {
      if (e > hi[hi.length - 1]) hi[hi.length - 1] = e;
    } else {
      lo.push(s);
      hi.push(e);
    }
  }
  const out = new Uint8Array(timestamps.length);
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i];
    if (Number.isNaN(t)) throw new DatasetError(`timestamps[${i}] is NaN`);
    // Last interval starting at or before t.
    let a = 0;
    let b = lo.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (lo[mid] <= t) a = mid + 1;
      else b = mid;
    }
    out[i] = a > 0 && t <= hi[a - 1] ? 1 : 0;
  }
  return out;
}
