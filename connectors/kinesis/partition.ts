/**
 * Partition keys for the stream: one per SKU × warehouse series a raw record carries. A series lives
 * on one shard (its events in order, its state owned by one worker), so a record of several series —
 * an order of several items, a purchase order of several lines — is put once per series with that
 * series as its key; the pipeline keeps, from each copy, the events of its key's series.
 */
import { partitionKeyOf } from '../../pipeline/index.js';

/**
 * The series keys (`SKU|warehouse`) of a raw record, in first-seen order; `['unparsed']` when the line
 * is not one of the three wire formats (it goes to one shard, and to the dead-letter table there).
 *
 * @example
 * ```ts
 * partitionKeysOf('{"ITEM_NO":"SKU-1","LOC":"WH-1", ...}'); // ['SKU-1|WH-1']
 * partitionKeysOf(orderOfTwoItems); // ['SKU-1|WH-EAST', 'SKU-7|WH-EAST']
 * ```
 */
export function partitionKeysOf(line: string): string[] {
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    if (typeof r.ITEM_NO === 'string' && typeof r.LOC === 'string') return [partitionKeyOf(r.ITEM_NO, r.LOC)];
    const many = (items: unknown, warehouse: unknown): string[] | null => {
      if (!Array.isArray(items) || typeof warehouse !== 'string') return null;
      const keys = new Set<string>();
      for (const it of items) {
        const sku = typeof it === 'object' && it !== null ? (it as { sku?: unknown }).sku : undefined;
        if (typeof sku === 'string') keys.add(partitionKeyOf(sku, warehouse));
      }
      return keys.size > 0 ? [...keys] : null;
    };
    const keys = many(r.items, r.fulfillmentCenter) ?? many(r.lines, r.ship_to);
    if (keys) return keys;
  } catch {
    // Not JSON: one copy, dead-lettered where it lands.
  }
  return ['unparsed'];
}
