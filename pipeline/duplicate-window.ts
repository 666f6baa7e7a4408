/**
 * The duplicate window of one shard: the ids of events applied within the last `windowMs` of the
 * shard's event time. Delivery is at least once, so an id seen again inside the window is a repeat
 * and is dropped; an event older than the window cannot be told from a forgotten repeat, so the
 * engine refuses it (`expired_event`) rather than risk applying it twice.
 *
 * Ids are namespaced by source since issue 11 (`wms:…`); a store written before holds them bare. For
 * events no later than the shard's clock at the upgrade (`legacyUntil`), the bare form is looked up
 * too, so a repeat of an event applied before the upgrade is still dropped. Such events age out of
 * the window after one window length, and with them the check.
 */
import { legacyEventId } from './events.js';

const HOUR = 3_600_000;

/**
 * Ids bucketed by hour of event time, so that forgetting old ones costs a bucket, not a scan.
 *
 * @example
 * ```ts
 * const window = new DuplicateWindow(24 * 3_600_000);
 * if (!window.has({ eventId: 'wms:W-1', occurredAt: t })) window.add('wms:W-1', t);
 * ```
 */
export class DuplicateWindow {
  private readonly ids = new Set<string>();
  private readonly buckets = new Map<number, string[]>();

  /**
   * @param windowMs how long (event time) an applied id is remembered.
   * @param legacyUntil event time up to which ids may be stored in their pre-namespacing form
   *   (−Infinity: none are).
   */
  constructor(
    readonly windowMs: number,
    readonly legacyUntil = Number.NEGATIVE_INFINITY,
  ) {}

  /** Whether this event was applied within the window (under its id, or its legacy id). */
  has(e: { eventId: string; occurredAt: number }): boolean {
    if (this.ids.has(e.eventId)) return true;
    return e.occurredAt <= this.legacyUntil && this.ids.has(legacyEventId(e.eventId));
  }

  /** Whether an event at `t` lies before the window of a shard whose clock reads `watermark`. */
  isExpired(t: number, watermark: number): boolean {
    return t < watermark - this.windowMs;
  }

  add(id: string, occurredAt: number): void {
    this.ids.add(id);
    const b = Math.floor(occurredAt / HOUR);
    const list = this.buckets.get(b);
    if (list) list.push(id);
    else this.buckets.set(b, [id]);
  }

  /** Forgets ids of events in whole hours before `t` (never one at or after `t`). */
  forgetBefore(t: number): void {
    const limit = Math.floor(t / HOUR);
    for (const [b, list] of this.buckets) {
      if (b < limit) {
        for (const id of list) this.ids.delete(id);
        this.buckets.delete(b);
      }
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
