/**
 * Typed errors of the detectors library. Callers can tell a caller mistake (bad data, bad
 * parameters, a model file of another version) from a bug with `instanceof`.
 *
 * @example
 * ```ts
 * try { forest.fit(rows); }
 * catch (err) { if (err instanceof DetectorInputError) console.error(err.message); else throw err; }
 * ```
 */
export class DetectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The data handed to a detector is unusable: empty, ragged, non-numeric, NaN or infinite. */
export class DetectorInputError extends DetectorError {}

/** A constructor option is out of range or of the wrong type. */
export class DetectorConfigError extends DetectorError {}

/** A method was called in the wrong state, for example `scoreSamples` before `fit`. */
export class NotFittedError extends DetectorError {}

/** A serialized model is of another kind or schema version than this library reads. */
export class ModelSchemaError extends DetectorError {}
