/**
 * The trust boundary's limits: the one table of what a record may be, enforced by the normalizer
 * before anything reaches state, and the same for every state store. Each limit is chosen so that
 * every store's schema holds what passes (MySQL keys are `VARCHAR(191)` in characters, DynamoDB sort
 * keys 1,024 bytes, Kinesis partition keys 256 characters), so a store never refuses a valid record.
 *
 * | what | limit | why |
 * |---|---|---|
 * | record | at most 1,048,576 bytes | Kinesis' record limit; local sources read no more of a line |
 * | SKU | 1–128 characters | `SKU\|warehouse` partition keys ≤ 256 characters |
 * | warehouse | 1–64 characters | as above |
 * | ids and other text | 1–128 characters | namespaced event ids ≤ 150 characters: MySQL keys hold 191 |
 * | characters of any text | well-formed Unicode; no control characters (U+0000–U+001F, U+007F–U+009F), no bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) | a lone surrogate is stored as U+FFFD by SQL drivers (the key changes on the way back); controls and bidi overrides make ids that look alike and are not |
 * | quantity | integer, \|q\| ≤ 1e9, also once cases are multiplied out | exact in a double, far above any real movement |
 * | money | 0 to 1e9 | as above |
 * | event time | years 2000–2100; at most `maxFutureSkewMs` (15 min) after the record arrived; not older than the shard's event-time clock minus the duplicate window | a time outside the window is a unit bug or junk; a future time would move the shard's clock and make the duplicate window forget; an event older than the window may be a repeat no one remembers |
 *
 * "Characters" are UTF-16 code units, as JavaScript counts them (an emoji outside the BMP counts 2),
 * which never exceeds the code points MySQL counts.
 *
 * @module
 */

/**
 * The largest record, in bytes: Kinesis' limit on a record's data. Larger lines from files and
 * standard input are dead-lettered after reading at most this plus one chunk.
 *
 * @example
 * ```ts
 * if (record.data.length > MAX_RECORD_BYTES) deadLetter('too_large');
 * ```
 */
export const MAX_RECORD_BYTES = 1_048_576;

/**
 * Longest SKU, in characters.
 *
 * @example
 * ```ts
 * const ok = sku.length <= MAX_SKU_LENGTH;
 * ```
 */
export const MAX_SKU_LENGTH = 128;

/**
 * Longest warehouse code, in characters.
 *
 * @example
 * ```ts
 * const ok = warehouse.length <= MAX_WAREHOUSE_LENGTH;
 * ```
 */
export const MAX_WAREHOUSE_LENGTH = 64;

/**
 * Longest id or other text field (record ids, order and document ids, reasons, channels), in characters.
 *
 * @example
 * ```ts
 * const ok = docId.length <= MAX_TEXT_LENGTH;
 * ```
 */
export const MAX_TEXT_LENGTH = 128;

/**
 * The largest magnitude a quantity may have, in the upstream's units and in eaches after case
 * conversion. Far above any real stock movement, far below where float arithmetic stops being exact.
 *
 * @example
 * ```ts
 * if (Math.abs(q) > MAX_QUANTITY) throw new RangeError('quantity out of range');
 * ```
 */
export const MAX_QUANTITY = 1e9;

/**
 * How far an event's time may lie after the moment its record reached the stream, by default: clocks
 * of upstream systems drift, but a sale cannot be put on a stream before it happened.
 *
 * @example
 * ```ts
 * const future = event.occurredAt > record.approximateArrivalTimestamp + DEFAULT_MAX_FUTURE_SKEW_MS;
 * ```
 */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 15 * 60_000;

/**
 * Control characters (C0, DEL, C1), bidirectional controls, and UTF-16 surrogates that are not part of
 * a pair. Without the `u` flag the pattern works on code units, so a lone surrogate is visible to it.
 */
const UNSAFE_TEXT =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `s` is not acceptable text for an id or key, or undefined when it is: names the first offending
 * character by its code point and position.
 *
 * @example
 * ```ts
 * unsafeTextReason('SKU-1');        // undefined
 * unsafeTextReason('SKU\u202e-1');  // 'contains U+202E (a bidirectional control) at 3'
 * ```
 */
export function unsafeTextReason(s: string): string | undefined {
  const m = UNSAFE_TEXT.exec(s);
  if (m === null) return undefined;
  const c = m[0].charCodeAt(0);
  const hex = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  const what =
    c >= 0xd800 && c <= 0xdfff
      ? 'a lone surrogate (not well-formed Unicode)'
      : c <= 0x9f
        ? 'a control character'
        : 'a bidirectional control';
  return `contains ${hex} (${what}) at ${m.index}`;
}
