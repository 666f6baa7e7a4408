/**
 * How the DynamoDB state store lays values out in items: attribute values (the low-level client's
 * `AttributeValue`, no marshalling library), keys, payloads that may exceed DynamoDB's 400 KB item
 * limit, and the forget list that makes `forgetEventsBefore` exact. Pure functions, no I/O.
 */

import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** One DynamoDB item as the low-level client reads and writes it. */
export type DynamoDbItem = Record<string, AttributeValue>;

// ---- attribute values ------------------------------------------------------------------------------

/** The largest magnitude a DynamoDB number holds (38 digits, exponent up to 125). */
const DYNAMODB_NUMBER_MAX = 1e126;
/** The smallest non-zero magnitude a DynamoDB number holds. */
const DYNAMODB_NUMBER_MIN = 1e-130;

/**
 * Whether DynamoDB can store `x` as a number exactly as JavaScript prints it: finite, and zero or of a
 * magnitude in [1e-130, 1e126). A double needs at most 17 significant digits; DynamoDB keeps 38.
 *
 * @example
 * ```ts
 * isStorableNumber(0.1 + 0.2); // true
 * isStorableNumber(1e-200);    // false: DynamoDB refuses it ("Number underflow")
 * ```
 */
export function isStorableNumber(x: unknown): x is number {
  if (typeof x !== 'number' || !Number.isFinite(x)) return false;
  const m = Math.abs(x);
  return m === 0 || (m >= DYNAMODB_NUMBER_MIN && m < DYNAMODB_NUMBER_MAX);
}

/** A string attribute. */
export const attrS = (value: string): AttributeValue => ({ S: value });
/** A number attribute (`String(x)` round-trips every double; `-0` is stored as 0). */
export const attrN = (value: number): AttributeValue => ({ N: String(value) });
/** A number attribute, or DynamoDB's NULL. */
export const attrNullableN = (value: number | null): AttributeValue =>
  value === null ? { NULL: true } : attrN(value);
/** A binary attribute. */
export const attrB = (value: Uint8Array): AttributeValue => ({ B: value });

/** The item did not hold what this store writes: someone else's item, or a damaged one. */
function corrupt(item: DynamoDbItem, name: string, what: string): Error {
  const pk = item.pk?.S ?? '?';
  const sk = item.sk?.S ?? '?';
  return new Error(`DynamoDB state store: item ${pk} / ${sk}: attribute ${name} is not ${what}`);
}

/**
 * Reads a string attribute, or throws naming the item.
 *
 * @example
 * ```ts
 * const sku = readS(item, 'sku');
 * ```
 */
export function readS(item: DynamoDbItem, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw corrupt(item, name, 'a string');
  return value;
}

/**
 * Reads a number attribute, or throws naming the item.
 *
 * @example
 * ```ts
 * const onHand = readN(item, 'onHand');
 * ```
 */
export function readN(item: DynamoDbItem, name: string): number {
  const value = item[name]?.N;
  if (value === undefined) throw corrupt(item, name, 'a number');
  return Number(value);
}

/**
 * Reads a number attribute that may be NULL.
 *
 * @example
 * ```ts
 * const lastCountAt = readNullableN(item, 'lastCountAt');
 * ```
 */
export function readNullableN(item: DynamoDbItem, name: string): number | null {
  const attr = item[name];
  if (attr?.NULL === true) return null;
  return readN(item, name);
}

/**
 * Reads a binary attribute (a copy the caller owns), or throws naming the item.
 *
 * @example
 * ```ts
 * const bytes = readB(item, 'd');
 * ```
 */
export function readB(item: DynamoDbItem, name: string): Uint8Array {
  const value = item[name]?.B;
  if (value === undefined) throw corrupt(item, name, 'binary');
  return new Uint8Array(value);
}

// ---- keys ------------------------------------------------------------------------------------------

/** Key parts longer than this (UTF-8 bytes) are hashed: DynamoDB sort keys stop at 1,024 bytes. */
const KEY_PART_MAX_BYTES = 512;

/**
 * A key component for `value` that no other value shares: its JSON (readable in the console, and
 * unambiguous, so `['SKU-1W', 'H-1']` and `['SKU-1', 'WH-1']` differ), or `h:` and a SHA-256 when the
 * JSON is long.
 *
 * @example
 * ```ts
 * keyPart(['SKU-1', 'WH-1']); // '["SKU-1","WH-1"]'
 * ```
 */
export function keyPart(value: unknown): string {
  const json = JSON.stringify(value);
  return Buffer.byteLength(json, 'utf8') <= KEY_PART_MAX_BYTES ? json : `h:${sha256Hex(json)}`;
}

/**
 * The SHA-256 of a string or bytes, in hex.
 *
 * @example
 * ```ts
 * sha256Hex('abc').slice(0, 8); // 'ba7816bf'
 * ```
 */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A bucket in [0, buckets) for `value`, stable across processes: spreads the audit items over a few
 * partition keys so that no single partition takes every write.
 *
 * @example
 * ```ts
 * bucketOf('shardId-000000000000', 8); // the same number on every run
 * ```
 */
export function bucketOf(value: string, buckets: number): number {
  return createHash('sha256').update(value).digest().readUInt32BE(0) % buckets;
}

/**
 * A commit clock as a fixed-width decimal, so that sort keys order by clock.
 *
 * @example
 * ```ts
 * padClock(42); // '0000000000000042'
 * ```
 */
export function padClock(clock: number): string {
  return clock.toString().padStart(16, '0');
}

/**
 * The sort key of part `index` of the payload of the head item `headSk`, for payload id `pid`.
 *
 * @example
 * ```ts
 * partSk('#row', padClock(7), 0); // '#row#p#0000000000000007#0000'
 * ```
 */
export function partSk(headSk: string, pid: string, index: number): string {
  return `${headSk}#p#${pid}#${index.toString().padStart(4, '0')}`;
}

/**
 * Compares two decimal strings (Kinesis sequence numbers go up to 2^128) as numbers; non-decimal
 * strings sort after decimals, by text.
 *
 * @example
 * ```ts
 * compareDecimal('9', '10'); // < 0, where a plain string comparison says > 0
 * ```
 */
export function compareDecimal(a: string, b: string): number {
  const da = /^\d+$/.test(a);
  const db = /^\d+$/.test(b);
  if (da !== db) return da ? -1 : 1;
  if (da) {
    const na = a.replace(/^0+(?=\d)/, '');
    const nb = b.replace(/^0+(?=\d)/, '');
    if (na.length !== nb.length) return na.length - nb.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- payloads ----------------------------------------------------------------------------------------

/** UTF-8 bytes of text kept as a readable string attribute. */
export const INLINE_TEXT_MAX = 16 * 1024;
/** Bytes kept in the head item (gzip'd or raw); the rest of the item stays far below 400 KB. */
export const INLINE_BYTES_MAX = 300 * 1024;
/** Bytes per part item (plus its key and two small attributes: under 400 KB). */
export const PART_BYTES_MAX = 350 * 1024;

/**
 * A payload encoded for a head item: attributes to merge into the head, and, when it is too large
 * for one item, the parts to write as items of their own (`np` parts under payload id `pid`).
 */
export interface EncodedPayload {
  attrs: DynamoDbItem;
  parts: Uint8Array[];
}

/**
 * Encodes a payload for a head item: short text as a string attribute `t`; anything else gzip'd when
 * that is smaller (`z`) or raw (`b`); and beyond {@link INLINE_BYTES_MAX} split into parts of at most
 * {@link PART_BYTES_MAX} bytes, which the caller writes under `partSk(headSk, pid, i)` before the head
 * (`np` parts, `pz` whether they are gzip'd, `pid` their id).
 *
 * @example
 * ```ts
 * const { attrs, parts } = await encodePayload('x'.repeat(200_000), padClock(3));
 * // attrs.z holds ~200 bytes of gzip; parts is empty
 * ```
 */
export async function encodePayload(data: string | Uint8Array, pid: string): Promise<EncodedPayload> {
  if (typeof data === 'string' && data.length <= INLINE_TEXT_MAX) {
    if (Buffer.byteLength(data, 'utf8') <= INLINE_TEXT_MAX) return { attrs: { t: attrS(data) }, parts: [] };
  }
  const raw = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let bytes: Uint8Array = raw;
  let gzipped = false;
  if (raw.byteLength > 64) {
    const z = await gzipAsync(raw);
    if (z.byteLength < raw.byteLength) {
      bytes = z;
      gzipped = true;
    }
  }
  if (bytes.byteLength <= INLINE_BYTES_MAX) {
    return { attrs: gzipped ? { z: attrB(bytes) } : { b: attrB(bytes) }, parts: [] };
  }
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += PART_BYTES_MAX) {
    parts.push(bytes.subarray(at, Math.min(bytes.byteLength, at + PART_BYTES_MAX)));
  }
  return {
    attrs: { np: attrN(parts.length), pz: { BOOL: gzipped }, pid: attrS(pid) },
    parts,
  };
}

/**
 * Where a head item's payload is: inline, or in `count` parts under payload id `pid`.
 *
 * @example
 * ```ts
 * const ref = payloadRef(item);
 * if (ref.kind === 'parts') console.log(`${ref.count} parts`);
 * ```
 */
export type PayloadRef =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array; gzipped: boolean }
  | { kind: 'parts'; count: number; pid: string; gzipped: boolean };

/**
 * Reads where a head item keeps its payload (see {@link encodePayload}).
 *
 * @example
 * ```ts
 * const ref = payloadRef({ t: { S: '{}' } }); // { kind: 'text', text: '{}' }
 * ```
 */
export function payloadRef(item: DynamoDbItem): PayloadRef {
  if (item.t?.S !== undefined) return { kind: 'text', text: item.t.S };
  if (item.z?.B !== undefined) return { kind: 'bytes', bytes: item.z.B, gzipped: true };
  if (item.b?.B !== undefined) return { kind: 'bytes', bytes: item.b.B, gzipped: false };
  if (item.np?.N !== undefined) {
    return {
      kind: 'parts',
      count: readN(item, 'np'),
      pid: readS(item, 'pid'),
      gzipped: item.pz?.BOOL === true,
    };
  }
  throw corrupt(item, 't/z/b/np', 'a payload');
}

/**
 * The payload bytes of a head item, given its parts in order when it has some.
 *
 * @example
 * ```ts
 * const bytes = await payloadBytes(payloadRef(head), parts);
 * ```
 */
export async function payloadBytes(ref: PayloadRef, parts: readonly Uint8Array[] = []): Promise<Uint8Array> {
  switch (ref.kind) {
    case 'text':
      return Buffer.from(ref.text, 'utf8');
    case 'bytes':
      return ref.gzipped ? new Uint8Array(await gunzipAsync(ref.bytes)) : new Uint8Array(ref.bytes);
    case 'parts': {
      if (parts.length !== ref.count) {
        throw new Error(`DynamoDB state store: payload ${ref.pid} has ${parts.length} of ${ref.count} parts`);
      }
      const joined = Buffer.concat(parts);
      return ref.gzipped ? new Uint8Array(await gunzipAsync(joined)) : new Uint8Array(joined);
    }
  }
}

/**
 * The payload of a head item as text.
 *
 * @example
 * ```ts
 * const model = await payloadText(payloadRef(head), parts);
 * ```
 */
export async function payloadText(ref: PayloadRef, parts: readonly Uint8Array[] = []): Promise<string> {
  if (ref.kind === 'text') return ref.text;
  return Buffer.from(await payloadBytes(ref, parts)).toString('utf8');
}

/**
 * Gzip, for the commit log.
 *
 * @example
 * ```ts
 * const z = await gzipBytes(Buffer.from(json));
 * ```
 */
export async function gzipBytes(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await gzipAsync(data));
}

/**
 * Gunzip, for the commit log.
 *
 * @example
 * ```ts
 * const json = Buffer.from(await gunzipBytes(z)).toString('utf8');
 * ```
 */
export async function gunzipBytes(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await gunzipAsync(data));
}

// ---- the forget list ----------------------------------------------------------------------------

/**
 * The `forgetEventsBefore` of the commits that wrote one series, as `[clock, before]` pairs: oldest
 * first, `before` strictly decreasing. An applied event of the series last written by the commit with
 * clock `c` is forgotten when a commit at clock ≥ `c` forgot the events before a later time than its
 * own; the pair of the oldest such commit holds the largest `before` of them all, so pairs made
 * redundant by a later, larger `before` are dropped ({@link mergeForget}). While the forget time of a
 * series only rises (one shard's watermark), the list holds one pair.
 */
export type ForgetList = Array<[clock: number, before: number]>;

/**
 * The forget list once the commit at `clock` forgot the events before `before`, in whatever order
 * the commits' forgets arrive (merging the same pair twice changes nothing).
 *
 * @example
 * ```ts
 * mergeForget([[3, 500], [5, 200]], 7, 300); // [[3, 500], [7, 300]]
 * mergeForget([[3, 500], [7, 300]], 5, 200); // [[3, 500], [7, 300]]: 5's forget is covered by 7's
 * ```
 */
export function mergeForget(list: ForgetList, clock: number, before: number): ForgetList {
  const same = list.find(([c]) => c === clock);
  const all: ForgetList = list.filter(([c]) => c !== clock);
  all.push([clock, same === undefined ? before : Math.max(same[1], before)]);
  all.sort((a, b) => a[0] - b[0]);
  const kept: ForgetList = [];
  let laterMax = Number.NEGATIVE_INFINITY;
  for (let i = all.length - 1; i >= 0; i--) {
    const pair = all[i] as [number, number];
    if (pair[1] > laterMax) {
      kept.push(pair);
      laterMax = pair[1];
    }
  }
  return kept.reverse();
}

/**
 * The time before which an event written at `clock` is forgotten (`-Infinity`: nothing is).
 *
 * @example
 * ```ts
 * forgottenBefore([[3, 500], [7, 300]], 4); // 300: the commit at clock 7 forgot it
 * forgottenBefore([[3, 500], [7, 300]], 8); // -Infinity: written after every forget
 * ```
 */
export function forgottenBefore(list: ForgetList, clock: number): number {
  // `before` decreases along the list, so the first pair at or after `clock` holds the maximum.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] as [number, number])[0] >= clock) hi = mid;
    else lo = mid + 1;
  }
  return lo < list.length ? (list[lo] as [number, number])[1] : Number.NEGATIVE_INFINITY;
}

/**
 * Parses a stored forget list, checking its shape.
 *
 * @example
 * ```ts
 * parseForgetList('[[3,500]]'); // [[3, 500]]
 * ```
 */
export function parseForgetList(json: string): ForgetList {
  const value: unknown = JSON.parse(json);
  if (
    !Array.isArray(value) ||
    !value.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number'))
  ) {
    throw new Error(`DynamoDB state store: a stored forget list is damaged: ${json.slice(0, 200)}`);
  }
  return value as ForgetList;
}
