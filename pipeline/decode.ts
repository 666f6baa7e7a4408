/**
 * KPL de-aggregation: turns the records a Kinesis `GetRecords` call returns into the user records the
 * producer put, each with its sub-sequence number. A plain (non-aggregated) record passes through as
 * one user record with sub-sequence number 0. A record that carries the KPL magic bytes but whose
 * protobuf or MD5 checksum is broken becomes a {@link DeadLetter} with code `kpl`: it is kept, never
 * dropped and never thrown.
 */
import { deaggregateSync as libDeaggregateSync } from 'aws-kinesis-agg';
import type { StreamRecord } from './lifecycle.js';
import type { DeadLetter } from './ports.js';

/**
 * One record as the AWS SDK v3 `GetRecords` returns it (only the fields de-aggregation reads). Every
 * field is optional because the SDK types them so; a missing one gets a neutral default rather than
 * an exception (see {@link deaggregate}).
 *
 * @example
 * ```ts
 * const r: KinesisLikeRecord = { PartitionKey: 'SKU-1', Data: bytes, SequenceNumber: '4959…', ApproximateArrivalTimestamp: new Date() };
 * ```
 */
export interface KinesisLikeRecord {
  PartitionKey?: string;
  Data?: Uint8Array;
  SequenceNumber?: string;
  ApproximateArrivalTimestamp?: Date;
}

/**
 * What {@link deaggregate} returns: the user records in stream order, and the aggregates it could not read.
 *
 * @example
 * ```ts
 * const { records, deadLetters }: DeaggregateResult = deaggregate(shardId, out.Records ?? []);
 * ```
 */
export interface DeaggregateResult {
  records: StreamRecord[];
  deadLetters: DeadLetter[];
}

/** The KPL aggregation format's magic prefix (`0xF3 0x89 0x9A 0xC2`). */
const KPL_MAGIC = [0xf3, 0x89, 0x9a, 0xc2] as const;

/**
 * The part of `aws-kinesis-agg` we call, typed as it behaves at run time. The package's own type file
 * imports the v2 SDK and `aws-lambda` types (not installed, so its input type degrades to `any`) and
 * declares v2-shaped user records (`data`, `partitionKey`), whereas given a v3 record (`Data`) the
 * library answers with v3-shaped ones (`Data`, `PartitionKey`, `SubSequenceNumber`).
 */
interface LibUserRecord {
  PartitionKey?: string;
  SequenceNumber?: string;
  SubSequenceNumber?: number;
  /** Base64 for a sub-record of an aggregate; the original bytes for a plain record. */
  Data?: string | Uint8Array;
}
type LibDeaggregateSync = (
  record: { PartitionKey: string; Data: Uint8Array; SequenceNumber: string },
  computeChecksums: boolean,
  // The library may call back more than once: per failed sub-record, then at the end.
  callback: (err: Error | null | undefined, userRecords?: LibUserRecord[]) => void,
) => void;
// The cast replaces the package's v2-shaped declaration with the v3 shape the library actually returns.
const deaggregateSync = libDeaggregateSync as unknown as LibDeaggregateSync;

function hasKplMagic(data: Uint8Array): boolean {
  return (
    data.length >= 4 &&
    data[0] === KPL_MAGIC[0] &&
    data[1] === KPL_MAGIC[1] &&
    data[2] === KPL_MAGIC[2] &&
    data[3] === KPL_MAGIC[3]
  );
}

function arrivalMillis(d: Date | undefined): number {
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  return Number.isFinite(t) ? t : 0;
}

function errorMessage(e: unknown): string {
  if (e instanceof Error && e.message) return e.message;
  const s = String(e);
  return s.length > 0 ? s : 'unknown error';
}

/** A base64 string from the library becomes a plain `Uint8Array` view (no copy of the decoded buffer). */
function toBytes(data: string | Uint8Array | undefined): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (typeof data !== 'string') return undefined;
  const buf = Buffer.from(data, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * De-aggregates one `GetRecords` batch of a shard. Output order follows input order, and within an
 * aggregate the producer's order (sub-sequence numbers 0, 1, …).
 *
 * - A plain record (no KPL magic) passes through unchanged with `subSequenceNumber: 0`.
 * - An aggregate is de-aggregated completely or not at all: when its checksum or protobuf is broken,
 *   the library reports any sub-record as failed, or it holds no user records, it becomes one `kpl`
 *   dead letter carrying the whole aggregate's bytes at `subSequenceNumber: 0`, and none of its
 *   sub-records pass (a replay of the dead letter then sees exactly what the producer sent).
 * - Missing fields default rather than throw: no `Data` is an empty record (normalization then
 *   dead-letters it with its position), no `PartitionKey`/`SequenceNumber` is `''`, no or an invalid
 *   `ApproximateArrivalTimestamp` is `0`.
 *
 * Never throws.
 *
 * @example
 * ```ts
 * const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: it }));
 * const { records, deadLetters } = deaggregate('shardId-000000000000', out.Records ?? []);
 * ```
 */
export function deaggregate(shardId: string, records: readonly KinesisLikeRecord[]): DeaggregateResult {
  const out: StreamRecord[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const record of records) {
    const partitionKey = typeof record.PartitionKey === 'string' ? record.PartitionKey : '';
    const sequenceNumber = typeof record.SequenceNumber === 'string' ? record.SequenceNumber : '';
    const approximateArrivalTimestamp = arrivalMillis(record.ApproximateArrivalTimestamp);
    const data = record.Data instanceof Uint8Array ? record.Data : new Uint8Array(0);

    // The common case needs no library call (and no base64 round trip): plain records pass through.
    if (!hasKplMagic(data)) {
      out.push({ partitionKey, data, sequenceNumber, subSequenceNumber: 0, approximateArrivalTimestamp });
      continue;
    }

    const dead = (reason: string): void => {
      deadLetters.push({
        shardId,
        sequenceNumber,
        subSequenceNumber: 0,
        partitionKey,
        arrivalTimestamp: approximateArrivalTimestamp,
        code: 'kpl',
        reason,
        data,
      });
    };

    const errors: string[] = [];
    let userRecords: LibUserRecord[] = [];
    try {
      deaggregateSync(
        { PartitionKey: partitionKey, Data: data, SequenceNumber: sequenceNumber },
        true,
        (err, recs) => {
          if (err) errors.push(errorMessage(err));
          if (recs) userRecords = recs;
        },
      );
    } catch (e) {
      // The library catches its own decode errors; this guards against anything it lets escape.
      errors.push(errorMessage(e));
    }

    if (errors.length > 0) {
      // All or nothing: an aggregate the library could not read completely is kept whole, so that a
      // replay of the dead letter sees exactly what the producer sent.
      dead(`corrupt KPL aggregate (${data.length} bytes): ${errors.join('; ')}`);
      continue;
    }
    if (userRecords.length === 0) {
      dead(`KPL aggregate (${data.length} bytes) holds no user records`);
      continue;
    }
    const subRecords: StreamRecord[] = [];
    for (let i = 0; i < userRecords.length; i++) {
      const u = userRecords[i];
      const bytes = toBytes(u.Data);
      if (bytes === undefined) break;
      subRecords.push({
        // A sub-record whose partition-key index points outside the table falls back to the outer key.
        partitionKey: typeof u.PartitionKey === 'string' ? u.PartitionKey : partitionKey,
        data: bytes,
        sequenceNumber,
        subSequenceNumber: typeof u.SubSequenceNumber === 'number' ? u.SubSequenceNumber : i,
        approximateArrivalTimestamp,
      });
    }
    if (subRecords.length < userRecords.length) {
      dead(`corrupt KPL aggregate (${data.length} bytes): sub-record ${subRecords.length} has no data`);
      continue;
    }
    for (const r of subRecords) out.push(r);
  }
  return { records: out, deadLetters };
}
