/**
 * Per SKU × warehouse inventory state, kept as columns of typed arrays (one slot per tracked series)
 * so that a large catalogue costs a few hundred bytes per series and no object per event.
 *
 * ## How events change stock (the rules the tests pin down)
 * - `sale_placed` reserves; `sale_cancelled` releases; `sale_fulfilled` releases and ships (on hand −).
 * - `receipt`, `return` add to on hand; `damage` removes; `adjustment` adds its signed quantity.
 * - `po_issued` adds to inbound; `asn_issued` removes from inbound what the supplier said it will not ship
 *   (ordered − shipped); `receipt` removes what arrived from inbound. Inbound never goes below 0.
 * - `cycle_count` is authoritative *as of its event time*: on hand becomes the counted quantity plus the
 *   stock movements that happened after the count (late counts are common; see below).
 *
 * ## Late and out-of-order events
 * Events are applied in arrival order. Movements are additive, so their order does not matter — except
 * around counts: a movement whose event time is at or before the series' last count is already inside
 * that count, so it does not change on hand again (its reservation effects still apply). A count that
 * arrives after movements that happened later than it is corrected by the movements the state still
 * remembers: each series keeps its last {@link RECENT_MOVES} movements (time, quantity). Older ones are
 * assumed counted; this bounds memory, and a count later than 8 movements is rare in practice. When
 * it happens the outcome says so (`countBeyondMemory`) and the job logs it.
 *
 * Idempotency (a replayed or duplicated event changes nothing) is the caller's: the pipeline keeps the
 * ids of applied events for a window of event time and never applies an id twice.
 */
import type { InventoryEvent } from '../events.js';
import { seriesKey } from '../events.js';
import type { SeriesRow } from '../ports.js';

/** How many recent stock movements each series remembers, to place late counts correctly. */
export const RECENT_MOVES = 8;

/** The outcome of applying one event: what a detector needs to know about the change. */
export interface ApplyOutcome {
  /** Slot of the series in the state's columns. */
  series: number;
  /** On hand before and after. */
  onHandBefore: number;
  onHandAfter: number;
  /** For a count: the book value at the count's time (what the system believed), else NaN. */
  bookAtCount: number;
  /** For a count: the previous count's quantity (NaN if none). */
  previousCount: number;
  /** For a count: the previous count's event time (NaN if none). */
  previousCountAt: number;
  /** Units shipped since the previous count (for stuck counts), else 0. */
  shippedSincePreviousCount: number;
  /** True when the event was at or before the last count and so did not move on hand. */
  alreadyCounted: boolean;
  /**
   * For a late count: the series had already forgotten movements after it (it remembers the last
   * {@link RECENT_MOVES}, all of them later than the count), so on hand misses those. Said, not fixed.
   */
  countBeyondMemory: boolean;
}

const COLUMNS = [
  'onHand',
  'reserved',
  'inbound',
  'lastCountQuantity',
  'lastCountAt',
  'lastEventAt',
  'salesVelocity',
  'velocityAt',
  'lastSaleAt',
  'shippedSinceCount',
] as const;
type Column = (typeof COLUMNS)[number];

/** Half-life of the sales-velocity average, in hours of event time. */
const VELOCITY_HALF_LIFE_HOURS = 24;

/**
 * The inventory state of every tracked series.
 *
 * @example
 * ```ts
 * const state = new InventoryState();
 * state.apply({ eventId: 'WMS-1', sourceId: 'WMS-1', source: 'wms', kind: 'receipt', sku: 'SKU-1',
 *   warehouse: 'WH-EAST', occurredAt: Date.UTC(2026, 0, 5), quantity: 24 });
 * state.get('SKU-1', 'WH-EAST')?.onHand; // 24
 * ```
 */
export class InventoryState {
  private readonly index = new Map<string, number>();
  private skus: string[] = [];
  private warehouses: string[] = [];
  private capacity = 0;
  private n = 0;
  private cols = {} as Record<Column, Float64Array>;
  /** Ring of recent movements per series: time and quantity, RECENT_MOVES each. */
  private moveTimes = new Float64Array(0);
  private moveQty = new Float64Array(0);
  private moveHead = new Uint8Array(0);
  private dirtyFlags = new Uint8Array(0);
  private readonly dirtyList: number[] = [];

  constructor(initialCapacity = 1024) {
    this.grow(Math.max(16, initialCapacity));
  }

  /** Number of tracked series. */
  get size(): number {
    return this.n;
  }

  private grow(capacity: number): void {
    const next = {} as Record<Column, Float64Array>;
    for (const c of COLUMNS) {
      const a = new Float64Array(capacity);
      if (this.cols[c]) a.set(this.cols[c]);
      next[c] = a;
    }
    this.cols = next;
    const mt = new Float64Array(capacity * RECENT_MOVES);
    mt.set(this.moveTimes);
    this.moveTimes = mt;
    const mq = new Float64Array(capacity * RECENT_MOVES);
    mq.set(this.moveQty);
    this.moveQty = mq;
    const mh = new Uint8Array(capacity);
    mh.set(this.moveHead);
    this.moveHead = mh;
    const d = new Uint8Array(capacity);
    d.set(this.dirtyFlags);
    this.dirtyFlags = d;
    this.capacity = capacity;
  }

  /** The slot of a series, created empty when new. */
  slot(sku: string, warehouse: string): number {
    const key = seriesKey(sku, warehouse);
    const found = this.index.get(key);
    if (found !== undefined) return found;
    if (this.n === this.capacity) this.grow(this.capacity * 2);
    const s = this.n++;
    this.index.set(key, s);
    this.skus[s] = sku;
    this.warehouses[s] = warehouse;
    this.cols.lastCountQuantity[s] = Number.NaN;
    this.cols.lastCountAt[s] = Number.NEGATIVE_INFINITY;
    this.cols.lastEventAt[s] = Number.NEGATIVE_INFINITY;
    this.cols.velocityAt[s] = Number.NaN;
    this.cols.lastSaleAt[s] = Number.NaN;
    this.moveTimes.fill(Number.NEGATIVE_INFINITY, s * RECENT_MOVES, (s + 1) * RECENT_MOVES);
    return s;
  }

  /**
   * Empties a tracked series' slot (as new), e.g. when the store says the series does not exist and
   * the slot holds what another worker's ownership left behind.
   */
  reset(s: number): void {
    for (const c of COLUMNS) this.cols[c][s] = 0;
    this.cols.lastCountQuantity[s] = Number.NaN;
    this.cols.lastCountAt[s] = Number.NEGATIVE_INFINITY;
    this.cols.lastEventAt[s] = Number.NEGATIVE_INFINITY;
    this.cols.velocityAt[s] = Number.NaN;
    this.cols.lastSaleAt[s] = Number.NaN;
    this.moveTimes.fill(Number.NEGATIVE_INFINITY, s * RECENT_MOVES, (s + 1) * RECENT_MOVES);
    this.moveQty.fill(0, s * RECENT_MOVES, (s + 1) * RECENT_MOVES);
    this.moveHead[s] = 0;
  }

  /** The slot of a series, or undefined when it is not tracked. */
  find(sku: string, warehouse: string): number | undefined {
    return this.index.get(seriesKey(sku, warehouse));
  }

  skuOf(s: number): string {
    return this.skus[s];
  }

  warehouseOf(s: number): string {
    return this.warehouses[s];
  }

  /** A read-only view of one column (slots 0..size-1 are valid). */
  column(c: Column): Float64Array {
    return this.cols[c];
  }

  /** Readable snapshot of one series. */
  get(sku: string, warehouse: string): SeriesSnapshot | undefined {
    const s = this.find(sku, warehouse);
    return s === undefined ? undefined : this.snapshot(s);
  }

  snapshot(s: number): SeriesSnapshot {
    const c = this.cols;
    return {
      sku: this.skus[s],
      warehouse: this.warehouses[s],
      onHand: c.onHand[s],
      reserved: c.reserved[s],
      inbound: c.inbound[s],
      lastCountQuantity: Number.isNaN(c.lastCountQuantity[s]) ? null : c.lastCountQuantity[s],
      lastCountAt: Number.isFinite(c.lastCountAt[s]) ? c.lastCountAt[s] : null,
      salesVelocity: c.salesVelocity[s],
      lastEventAt: Number.isFinite(c.lastEventAt[s]) ? c.lastEventAt[s] : 0,
    };
  }

  /** Units per hour sold, decayed to `at` (event time): a series that stopped selling cools down. */
  velocityAt(s: number, at: number): number {
    const v = this.cols.salesVelocity[s];
    const since = this.cols.velocityAt[s];
    if (!(v > 0) || Number.isNaN(since) || at <= since) return v;
    return v * 2 ** (-(at - since) / 3_600_000 / VELOCITY_HALF_LIFE_HOURS);
  }

  private markDirty(s: number): void {
    if (this.dirtyFlags[s] === 0) {
      this.dirtyFlags[s] = 1;
      this.dirtyList.push(s);
    }
  }

  /** Slots changed since the last call; clears the list. */
  takeDirty(): number[] {
    const out = this.dirtyList.slice();
    for (const s of out) this.dirtyFlags[s] = 0;
    this.dirtyList.length = 0;
    return out;
  }

  private rememberMove(s: number, t: number, q: number): void {
    const h = this.moveHead[s];
    this.moveTimes[s * RECENT_MOVES + h] = t;
    this.moveQty[s * RECENT_MOVES + h] = q;
    this.moveHead[s] = (h + 1) % RECENT_MOVES;
  }

  /** Sum of remembered movements strictly after `t`. */
  private movesAfter(s: number, t: number): number {
    let sum = 0;
    const base = s * RECENT_MOVES;
    for (let k = 0; k < RECENT_MOVES; k++) if (this.moveTimes[base + k] > t) sum += this.moveQty[base + k];
    return sum;
  }

  /**
   * Whether movements after `t` may have been forgotten: the ring is full and even its oldest entry
   * is later than `t` (the one it overwrote may have been too).
   */
  private forgotMovesAfter(s: number, t: number): boolean {
    const base = s * RECENT_MOVES;
    for (let k = 0; k < RECENT_MOVES; k++) if (!(this.moveTimes[base + k] > t)) return false;
    return true;
  }

  /** Moves on-hand stock by `q` at event time `t`, unless a later count already contains it. */
  private move(s: number, t: number, q: number, out: ApplyOutcome): void {
    if (t <= this.cols.lastCountAt[s]) {
      out.alreadyCounted = true;
      return;
    }
    this.cols.onHand[s] += q;
    this.rememberMove(s, t, q);
  }

  private recordSale(s: number, t: number, q: number): void {
    const c = this.cols;
    // Exponentially weighted units per hour, decayed in event time; late sales add without decay.
    const since = c.velocityAt[s];
    const tau = (VELOCITY_HALF_LIFE_HOURS * 3_600_000) / Math.LN2;
    if (Number.isNaN(since)) {
      c.salesVelocity[s] = 0;
      c.velocityAt[s] = t;
    } else if (t > since) {
      c.salesVelocity[s] *= Math.exp(-(t - since) / tau);
      c.velocityAt[s] = t;
    }
    // An impulse of q units spread over the time constant, in units per hour.
    c.salesVelocity[s] += (q * 3_600_000) / tau;
    if (!(c.lastSaleAt[s] >= t)) c.lastSaleAt[s] = t;
  }

  /**
   * Applies one event (the caller has already checked it was not applied before).
   *
   * @example
   * ```ts
   * const outcome = state.apply(event);
   * if (outcome.onHandAfter < 0) console.log('negative stock');
   * ```
   */
  apply(e: InventoryEvent): ApplyOutcome {
    const s = this.slot(e.sku, e.warehouse);
    const c = this.cols;
    const t = e.occurredAt;
    const q = e.quantity;
    const out: ApplyOutcome = {
      series: s,
      onHandBefore: c.onHand[s],
      onHandAfter: c.onHand[s],
      bookAtCount: Number.NaN,
      previousCount: Number.NaN,
      previousCountAt: Number.NaN,
      shippedSincePreviousCount: 0,
      alreadyCounted: false,
      countBeyondMemory: false,
    };
    switch (e.kind) {
      case 'sale_placed':
        c.reserved[s] += q;
        this.recordSale(s, t, q);
        break;
      case 'sale_cancelled':
        c.reserved[s] = Math.max(0, c.reserved[s] - q);
        break;
      case 'sale_fulfilled':
        c.reserved[s] = Math.max(0, c.reserved[s] - q);
        this.move(s, t, -q, out);
        if (!out.alreadyCounted) c.shippedSinceCount[s] += q;
        break;
      case 'po_issued':
        c.inbound[s] += q;
        break;
      case 'asn_issued':
        if (e.orderedQuantity !== undefined && e.orderedQuantity > q) {
          c.inbound[s] = Math.max(0, c.inbound[s] - (e.orderedQuantity - q));
        }
        break;
      case 'receipt':
        c.inbound[s] = Math.max(0, c.inbound[s] - q);
        this.move(s, t, q, out);
        break;
      case 'return':
        this.move(s, t, q, out);
        break;
      case 'damage':
        this.move(s, t, -q, out);
        break;
      case 'adjustment':
        this.move(s, t, q, out);
        break;
      case 'cycle_count': {
        const after = this.movesAfter(s, t);
        out.countBeyondMemory = this.forgotMovesAfter(s, t);
        out.bookAtCount = c.onHand[s] - after;
        out.previousCount = c.lastCountQuantity[s];
        out.previousCountAt = Number.isFinite(c.lastCountAt[s]) ? c.lastCountAt[s] : Number.NaN;
        out.shippedSincePreviousCount = c.shippedSinceCount[s];
        if (t >= c.lastCountAt[s]) {
          c.onHand[s] = q + after;
          c.lastCountQuantity[s] = q;
          c.lastCountAt[s] = t;
          c.shippedSinceCount[s] = 0;
        } else {
          // An older count than the one we have: the newer count already supersedes it.
          out.alreadyCounted = true;
        }
        break;
      }
    }
    if (t > c.lastEventAt[s]) c.lastEventAt[s] = t;
    out.onHandAfter = c.onHand[s];
    this.markDirty(s);
    return out;
  }

  /** Compact serialisation of one series' non-column memory (the recent-moves ring). */
  movesOf(s: number): { times: number[]; quantities: number[]; head: number } {
    const base = s * RECENT_MOVES;
    return {
      times: Array.from(this.moveTimes.subarray(base, base + RECENT_MOVES), (x) =>
        Number.isFinite(x) ? x : -1,
      ),
      quantities: Array.from(this.moveQty.subarray(base, base + RECENT_MOVES)),
      head: this.moveHead[s],
    };
  }

  /** Restores one series (from a stored row and its moves), marking it clean. */
  restore(snapshot: SeriesSnapshot, extra: SeriesExtra): number {
    const s = this.slot(snapshot.sku, snapshot.warehouse);
    const c = this.cols;
    c.onHand[s] = snapshot.onHand;
    c.reserved[s] = snapshot.reserved;
    c.inbound[s] = snapshot.inbound;
    c.lastCountQuantity[s] = snapshot.lastCountQuantity ?? Number.NaN;
    c.lastCountAt[s] = snapshot.lastCountAt ?? Number.NEGATIVE_INFINITY;
    c.salesVelocity[s] = snapshot.salesVelocity;
    c.lastEventAt[s] = snapshot.lastEventAt || Number.NEGATIVE_INFINITY;
    c.velocityAt[s] = extra.velocityAt ?? Number.NaN;
    c.lastSaleAt[s] = extra.lastSaleAt ?? Number.NaN;
    c.shippedSinceCount[s] = extra.shippedSinceCount;
    const base = s * RECENT_MOVES;
    for (let k = 0; k < RECENT_MOVES; k++) {
      const t = extra.moves.times[k];
      this.moveTimes[base + k] = t < 0 ? Number.NEGATIVE_INFINITY : t;
      this.moveQty[base + k] = extra.moves.quantities[k];
    }
    this.moveHead[s] = extra.moves.head;
    return s;
  }

  /** What {@link restore} needs beyond the queryable columns. */
  extraOf(s: number): SeriesExtra {
    const c = this.cols;
    return {
      velocityAt: Number.isNaN(c.velocityAt[s]) ? null : c.velocityAt[s],
      lastSaleAt: Number.isNaN(c.lastSaleAt[s]) ? null : c.lastSaleAt[s],
      shippedSinceCount: c.shippedSinceCount[s],
      moves: this.movesOf(s),
    };
  }

  /** Bytes held per tracked series by the columns (for the memory benchmark). */
  static bytesPerSeries(): number {
    return COLUMNS.length * 8 + RECENT_MOVES * 16 + 2;
  }
}

/** The queryable state of one series: its stored row without the model. */
export type SeriesSnapshot = Omit<SeriesRow, 'model'>;

/** The rest of a series' state, persisted in the row's model JSON. */
export interface SeriesExtra {
  velocityAt: number | null;
  lastSaleAt: number | null;
  shippedSinceCount: number;
  moves: { times: number[]; quantities: number[]; head: number };
}
