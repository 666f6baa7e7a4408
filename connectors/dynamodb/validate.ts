/**
 * Checks a batch completely before the DynamoDB store writes any of it. A SQL store can let the
 * database refuse a bad row and roll back; DynamoDB cannot roll back a batch larger than one
 * transaction, so everything DynamoDB (or the pipeline, reading it back) could refuse is refused here,
 * with the path of the offending field.
 *
 * Two kinds of refusal: a field of the wrong type (null, NaN, not a string) is a bug of the caller, a
 * `TypeError`; a well-typed value DynamoDB cannot hold (an identifier too long for a key, a lone
 * surrogate, a number beyond DynamoDB's range) is the data's, a `StoreRefusedError`, so that the engine
 * sets aside the record that carries it instead of retrying the batch forever.
 */
import { type BatchCommit, StoreRefusedError } from '../../pipeline/ports.js';
import { isStorableNumber } from './codec.js';

/** Identifiers (SKUs, ids, keys, shard ids) longer than this are refused: they belong in no key. */
export const MAX_IDENTIFIER_LENGTH = 1_024;

/** A lone UTF-16 surrogate: DynamoDB stores UTF-8 and would replace it, so the text would change. */
const LONE_SURROGATE = /\p{Cs}/u;

class Checker {
  /** Values DynamoDB cannot hold, though of the right type. */
  readonly refused: string[] = [];

  constructor(readonly errors: string[]) {}

  string(path: string, value: unknown, identifier = false): void {
    if (typeof value !== 'string') {
      this.errors.push(`${path} must be a string, got ${describe(value)}`);
    } else if (identifier && value.length > MAX_IDENTIFIER_LENGTH) {
      this.refused.push(`${path} must be at most ${MAX_IDENTIFIER_LENGTH} characters, got ${value.length}`);
    } else if (LONE_SURROGATE.test(value)) {
      this.refused.push(`${path} holds a lone UTF-16 surrogate, which DynamoDB cannot store`);
    }
  }

  number(path: string, value: unknown, nullable = false): void {
    if (nullable && value === null) return;
    if (!isStorableNumber(value)) {
      // A finite number beyond DynamoDB's range is data; NaN, an infinity or a non-number is a bug.
      const list = typeof value === 'number' && Number.isFinite(value) ? this.refused : this.errors;
      list.push(
        `${path} must be ${nullable ? 'null or ' : ''}a finite number of magnitude 0 or in [1e-130, 1e126), got ${describe(value)}`,
      );
    }
  }

  integer(path: string, value: unknown): void {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.errors.push(`${path} must be an integer ≥ 0, got ${describe(value)}`);
    }
  }

  object(path: string, value: unknown): value is Record<string, unknown> {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return true;
    this.errors.push(`${path} must be an object, got ${describe(value)}`);
    return false;
  }

  array(path: string, value: unknown): value is unknown[] {
    if (Array.isArray(value)) return true;
    this.errors.push(`${path} must be an array, got ${describe(value)}`);
    return false;
  }

  position(path: string, value: unknown): void {
    if (!this.object(path, value)) return;
    this.string(`${path}.sequenceNumber`, value.sequenceNumber, true);
    if (value.sequenceNumber === '') this.errors.push(`${path}.sequenceNumber must not be empty`);
    this.integer(`${path}.subSequenceNumber`, value.subSequenceNumber);
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number') return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}

/**
 * Checks every field of a batch; throws a `TypeError` listing the first problems (with their paths)
 * when a field has the wrong type, or a `StoreRefusedError` when every field is well typed but some
 * value cannot be stored, so that the store writes nothing of a batch it could only write in part.
 *
 * @example
 * ```ts
 * validateBatch(batch); // throws "batch.series[50].sku must be a string, got null"
 * ```
 */
export function validateBatch(batch: BatchCommit): void {
  const errors: string[] = [];
  const c = new Checker(errors);
  if (!c.object('batch', batch)) throw new TypeError(errors.join('; '));
  c.string('batch.shardId', batch.shardId, true);
  c.position('batch.checkpoint', batch.checkpoint);
  if (batch.expectedCheckpoint !== undefined && batch.expectedCheckpoint !== null) {
    c.position('batch.expectedCheckpoint', batch.expectedCheckpoint);
  }
  if (batch.forgetEventsBefore !== undefined) c.number('batch.forgetEventsBefore', batch.forgetEventsBefore);

  if (c.array('batch.series', batch.series)) {
    batch.series.forEach((s, i) => {
      const p = `batch.series[${i}]`;
      if (!c.object(p, s)) return;
      c.string(`${p}.sku`, s.sku, true);
      c.string(`${p}.warehouse`, s.warehouse, true);
      for (const f of ['onHand', 'reserved', 'inbound', 'salesVelocity', 'lastEventAt'] as const) {
        c.number(`${p}.${f}`, s[f]);
      }
      c.number(`${p}.lastCountQuantity`, s.lastCountQuantity, true);
      c.number(`${p}.lastCountAt`, s.lastCountAt, true);
      c.string(`${p}.model`, s.model);
    });
  }
  if (c.array('batch.values', batch.values)) {
    batch.values.forEach((v, i) => {
      if (!c.object(`batch.values[${i}]`, v)) return;
      c.string(`batch.values[${i}].key`, v.key, true);
      c.string(`batch.values[${i}].value`, v.value);
    });
  }
  if (c.array('batch.appliedEvents', batch.appliedEvents)) {
    batch.appliedEvents.forEach((e, i) => {
      const p = `batch.appliedEvents[${i}]`;
      if (!c.object(p, e)) return;
      c.string(`${p}.eventId`, e.eventId, true);
      c.number(`${p}.occurredAt`, e.occurredAt);
      c.string(`${p}.sku`, e.sku, true);
      c.string(`${p}.warehouse`, e.warehouse, true);
    });
  }
  if (c.array('batch.deadLetters', batch.deadLetters)) {
    batch.deadLetters.forEach((d, i) => {
      const p = `batch.deadLetters[${i}]`;
      if (!c.object(p, d)) return;
      c.string(`${p}.shardId`, d.shardId, true);
      c.string(`${p}.sequenceNumber`, d.sequenceNumber, true);
      c.integer(`${p}.subSequenceNumber`, d.subSequenceNumber);
      c.string(`${p}.partitionKey`, d.partitionKey);
      c.number(`${p}.arrivalTimestamp`, d.arrivalTimestamp);
      c.string(`${p}.code`, d.code, true);
      c.string(`${p}.reason`, d.reason);
      if (!(d.data instanceof Uint8Array))
        errors.push(`${p}.data must be a Uint8Array, got ${describe(d.data)}`);
      if (d.disposition !== undefined && d.disposition !== 'dead_letter' && d.disposition !== 'quarantine') {
        errors.push(`${p}.disposition must be 'dead_letter' or 'quarantine', got ${describe(d.disposition)}`);
      }
    });
  }
  if (c.array('batch.anomalies', batch.anomalies)) {
    batch.anomalies.forEach((a, i) => {
      const p = `batch.anomalies[${i}]`;
      if (!c.object(p, a)) return;
      c.string(`${p}.id`, a.id, true);
      c.string(`${p}.type`, a.type, true);
      c.string(`${p}.severity`, a.severity, true);
      c.number(`${p}.score`, a.score);
      c.string(`${p}.sku`, a.sku, true);
      c.string(`${p}.warehouse`, a.warehouse, true);
      c.number(`${p}.detectedAt`, a.detectedAt);
      c.string(`${p}.detector`, a.detector, true);
      if (c.array(`${p}.eventIds`, a.eventIds)) {
        a.eventIds.forEach((id, j) => {
          c.string(`${p}.eventIds[${j}]`, id);
        });
      }
      if (c.object(`${p}.explanation`, a.explanation)) {
        c.string(`${p}.explanation.summary`, a.explanation.summary);
        if (c.array(`${p}.explanation.features`, a.explanation.features)) {
          a.explanation.features.forEach((f, j) => {
            const q = `${p}.explanation.features[${j}]`;
            if (!c.object(q, f)) return;
            c.string(`${q}.name`, f.name);
            c.number(`${q}.observed`, f.observed);
            c.number(`${q}.expected`, f.expected);
            if (f.contribution !== undefined) c.number(`${q}.contribution`, f.contribution);
            if (f.unit !== undefined) c.string(`${q}.unit`, f.unit);
          });
        }
      }
    });
  }
  if (batch.undelivered !== undefined && c.array('batch.undelivered', batch.undelivered)) {
    batch.undelivered.forEach((u, i) => {
      const p = `batch.undelivered[${i}]`;
      if (!c.object(p, u)) return;
      c.string(`${p}.receiver`, u.receiver, true);
      c.string(`${p}.shardId`, u.shardId, true);
      c.string(`${p}.reason`, u.reason);
      // The notification itself is stored as JSON, which holds any text; only its id is in a key.
      if (c.object(`${p}.notification`, u.notification))
        c.string(`${p}.notification.id`, u.notification.id, true);
    });
  }
  const list = (all: string[]): string =>
    `${all.slice(0, 5).join('; ')}${all.length > 5 ? `; and ${all.length - 5} more` : ''}`;
  if (errors.length > 0) {
    // Wrong types and refused values together: the bug is what to report.
    const all = [...errors, ...c.refused];
    throw new TypeError(`DynamoDB state store: invalid batch, nothing was written: ${list(all)}`);
  }
  if (c.refused.length > 0) {
    throw new StoreRefusedError('dynamodb', `nothing was written: ${list(c.refused)}`);
  }
}
