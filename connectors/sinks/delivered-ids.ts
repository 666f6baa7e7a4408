/**
 * The notification ids a sink has delivered recently, so that a retried publish (the whole batch again,
 * after a blip on item 7 of 10) does not send items 1 to 6 a second time. Channels without idempotency
 * of their own (Slack, email, standard SNS topics) depend on it within a process; across processes the
 * id travels with the message (an SNS attribute, a `Message-ID`) for the receiving end to drop repeats.
 */

/**
 * A bounded least-recently-used set of ids: looking an id up keeps it, so an id the pipeline keeps
 * re-sending (a retried batch) is not forgotten while it still matters, and the oldest ids go first.
 *
 * @example
 * ```ts
 * const delivered = new DeliveredIds(10_000);
 * if (!delivered.has(n.id)) {
 *   await send(n);
 *   delivered.add(n.id);
 * }
 * ```
 */
export class DeliveredIds {
  // A Map keeps insertion order: re-inserting on a hit moves the id to the young end.
  private readonly ids = new Map<string, true>();

  /** @param capacity How many ids to remember; at least 1. Default 10,000 (about 1 MB). */
  constructor(readonly capacity = 10_000) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`DeliveredIds capacity must be a whole number ≥ 1, got ${capacity}`);
    }
  }

  /** Whether `id` was delivered (and remembered still); a hit makes it the most recent. */
  has(id: string): boolean {
    if (!this.ids.has(id)) return false;
    this.ids.delete(id);
    this.ids.set(id, true);
    return true;
  }

  /** Remembers `id` as delivered, forgetting the least recently used id beyond the capacity. */
  add(id: string): void {
    this.ids.delete(id);
    this.ids.set(id, true);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.keys().next().value as string);
  }

  /** How many ids are remembered. */
  get size(): number {
    return this.ids.size;
  }
}

/**
 * The notifications of a batch not yet delivered, each id once (a batch may name an id twice), in order.
 *
 * @example
 * ```ts
 * for (const n of undelivered(notifications, delivered)) await send(n);
 * ```
 */
export function undelivered<T extends { id: string }>(items: readonly T[], delivered: DeliveredIds): T[] {
  const seen = new Set<string>();
  return items.filter((n) => {
    if (seen.has(n.id) || delivered.has(n.id)) return false;
    seen.add(n.id);
    return true;
  });
}
