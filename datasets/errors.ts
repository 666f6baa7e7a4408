/**
 * Typed errors of the data-set loaders, so callers can tell a bad file from a bug with `instanceof`.
 * Node's own I/O errors (`ENOENT`, `EACCES`, …) are passed through unchanged.
 *
 * @example
 * ```ts
 * try { await loadTabularCsv('data.csv'); }
 * catch (err) { if (err instanceof DatasetError) console.error(err.message); else throw err; }
 * ```
 */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Where in a file a {@link DatasetFormatError} was found.
 *
 * @example
 * ```ts
 * new DatasetFormatError('"x" is not a number', { file: 'a.csv', line: 3, column: 2, columnName: 'f1' });
 * ```
 */
export interface DatasetLocation {
  /** The file as the caller named it. */
  readonly file: string;
  /** 1-based line number, or `null` when the problem is not tied to one line (an empty file). */
  readonly line?: number | null;
  /** 1-based column (field index in a CSV line, character in a JSON line), or `null`. */
  readonly column?: number | null;
  /** The header name of the CSV column, when the file has a header, else `null`. */
  readonly columnName?: string | null;
}

/**
 * A data file does not have the expected format. The message names the file, the 1-based line and
 * the column (index and, when there is a header, its name); the same facts are kept as fields so
 * tools can point an editor at the spot.
 *
 * @example
 * ```ts
 * try { await loadTabularCsv('bad.csv'); }
 * catch (err) {
 *   if (err instanceof DatasetFormatError) console.error(err.file, err.line, err.column, err.columnName);
 * }
 * ```
 */
export class DatasetFormatError extends DatasetError {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly columnName: string | null;

  constructor(detail: string, where: DatasetLocation) {
    const line = where.line ?? null;
    const column = where.column ?? null;
    const columnName = where.columnName ?? null;
    let at = where.file;
    if (line !== null) at += `:${line}`;
    if (column !== null) {
      at += `, column ${column}`;
      if (columnName !== null) at += ` (${JSON.stringify(columnName)})`;
    }
    super(`${at}: ${detail}`);
    this.file = where.file;
    this.line = line;
    this.column = column;
    this.columnName = columnName;
  }
}
