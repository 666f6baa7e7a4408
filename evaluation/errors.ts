/**
 * Typed errors of the evaluation code, so callers can tell unusable input (a caller mistake) from a
 * bug with `instanceof`.
 *
 * @example
 * ```ts
 * try { rocAuc(labels, scores); }
 * catch (err) { if (err instanceof MetricError) console.error(err.message); else throw err; }
 * ```
 */
export class EvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A metric cannot be computed from its input: empty or mismatched arrays, labels other than 0/1,
 * NaN or infinite scores, or a metric that is undefined for the data (ROC AUC with one class).
 *
 * @example
 * ```ts
 * try { rocAuc([1, 1], [0.2, 0.9]); }
 * catch (err) { if (err instanceof MetricError) console.error(err.message); } // only one class present …
 * ```
 */
export class MetricError extends EvaluationError {}
