/**
 * Stream positions: Kinesis sequence numbers are decimal strings of up to 128 bits, with a sub-sequence
 * number inside a KPL aggregate; local sources number their lines the same way. The engine, the Kinesis
 * source and the Lambda handler all order positions with these.
 */
import type { ExtendedSequenceNumber } from './lifecycle.js';

const DECIMAL = /^\d+$/;

/**
 * Orders two positions: sequence number as an integer, then sub-sequence number. Negative, zero or
 * positive as `a` is before, at or after `b`; NaN when either sequence number is not a decimal integer
 * (so every comparison with the result is false: callers say what an unknown order means).
 *
 * @example
 * ```ts
 * comparePositions({ sequenceNumber: '10', subSequenceNumber: 0 }, { sequenceNumber: '9', subSequenceNumber: 3 }); // > 0
 * ```
 */
export function comparePositions(a: ExtendedSequenceNumber, b: ExtendedSequenceNumber): number {
  if (!DECIMAL.test(a.sequenceNumber) || !DECIMAL.test(b.sequenceNumber)) return Number.NaN;
  const x = BigInt(a.sequenceNumber);
  const y = BigInt(b.sequenceNumber);
  if (x !== y) return x < y ? -1 : 1;
  return a.subSequenceNumber - b.subSequenceNumber;
}

/**
 * Whether two positions (null: none yet) are the same.
 *
 * @example
 * ```ts
 * samePosition(null, null); // true
 * ```
 */
export function samePosition(a: ExtendedSequenceNumber | null, b: ExtendedSequenceNumber | null): boolean {
  if (a === null || b === null) return a === b;
  return a.sequenceNumber === b.sequenceNumber && a.subSequenceNumber === b.subSequenceNumber;
}

/**
 * The later of the last record and the last dead letter of a batch (each list in stream order), as a
 * plain position; null for an empty batch. When the two cannot be ordered, the record's.
 *
 * @example
 * ```ts
 * const checkpoint = lastPosition(records, deadLetters);
 * ```
 */
export function lastPosition(
  records: readonly ExtendedSequenceNumber[],
  letters: readonly ExtendedSequenceNumber[],
): ExtendedSequenceNumber | null {
  const a = records.at(-1);
  const b = letters.at(-1);
  const pick = !b ? a : !a ? b : comparePositions(b, a) > 0 ? b : a;
  return pick ? { sequenceNumber: pick.sequenceNumber, subSequenceNumber: pick.subSequenceNumber } : null;
}
