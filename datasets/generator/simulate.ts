/**
 * A seeded, hour-by-hour simulation of an e-commerce inventory: demand with daily and weekly seasonality,
 * promotions and price changes, reorder-point purchasing with supplier lead times, receipts, returns,
 * damage and weekly cycle counts with small honest counting noise; plus injected, labelled anomalies.
 *
 * Two clocks: the simulation keeps the physical truth (`physical`) and what the emitted events imply
 * (`book`, the stock a correct stream processor would compute). Anomalies are the places where the two,
 * or the events and the business's normal behaviour, disagree.
 *
 * Everything is emitted in arrival order through a heap, so late and duplicated deliveries interleave as
 * they would on a real stream, in memory bounded by the events in flight rather than by the run's length.
 */
import { Rng } from '../../detectors/random.js';
import { buildCatalog, type Catalog, cents, normal, poisson, uniform } from './catalog.js';
import { TimeHeap } from './heap.js';
import { type GeneratorOptions, resolveGeneratorOptions } from './options.js';
import {
  ANOMALY_TYPES,
  type AnomalyLabel,
  type AnomalyType,
  type InventoryLogRow,
  type SalesOrderEvent,
  type SupplierRecord,
} from './wire-formats.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Relative order intensity by hour of day (UTC), mean 1. */
const HOURLY = normalise([
  0.2, 0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.1, 1.2, 1.3, 1.3, 1.3, 1.2, 1.2, 1.3, 1.4, 1.6, 1.8, 1.9,
  1.7, 1.2, 0.6,
]);
/** Relative intensity by day of week, Monday first. */
const WEEKLY = normalise([0.95, 0.95, 0.95, 1.0, 1.1, 1.2, 0.85]);

function normalise(xs: number[]): number[] {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return xs.map((x) => x / m);
}

/** What the simulation yields, in order: raw stream lines, closed labels, and one tick per simulated day. */
export type GeneratorOutput =
  /** `arrivedAt`: when the record reached the stream, on the simulated clock (epoch ms). */
  | { type: 'record'; line: string; arrivedAt: number }
  | { type: 'label'; label: AnomalyLabel }
  | { type: 'day'; day: number; days: number };

/** Counts kept while generating, for the manifest. */
export interface GeneratorCounts {
  records: number;
  supplierRecords: number;
  salesOrderEvents: number;
  inventoryLogRows: number;
  duplicates: number;
  late: number;
  malformed: number;
  labels: number;
  labelsByType: Record<AnomalyType, number>;
}

interface OpenLabel {
  id: string;
  type: AnomalyType;
  s: number;
  start: number;
  eventIds: string[];
  description: string;
}

interface OrderLine {
  s: number;
  qty: number;
  unitPrice: number;
}

interface PoLine {
  s: number;
  lineNo: number;
  qtyOrdered: number;
  uom: 'EA' | 'CS';
  casePack: number;
  unitCost: number;
  eaches: number;
  shippedEaches: number;
  shortFactor?: number;
  label?: OpenLabel;
}

interface PurchaseOrder {
  docId: string;
  asnId: string;
  supplier: number;
  w: number;
  issuedAt: number;
  arrival: number;
  lines: PoLine[];
}

/** A placed order's fulfilment or cancellation, due later. */
interface OrderOutcome {
  k: 'fulfil' | 'cancel';
  orderId: string;
  channel: SalesOrderEvent['channel'];
  customerId: string;
  w: number;
  lines: OrderLine[];
}

type SimEvent =
  | { k: 'place'; s: number; qty: number; bot?: { customerId: string; label: OpenLabel } }
  | OrderOutcome
  | { k: 'reorder' }
  | { k: 'asn' | 'receipt'; po: PurchaseOrder; line?: PoLine }
  | { k: 'return'; s: number; qty: number; orderId: string }
  | { k: 'damage'; s: number; qty: number }
  | {
      k: 'count';
      s: number;
      reason: 'regular' | 'reveal' | 'recount' | 'stuck';
      label?: OpenLabel;
      last?: boolean;
    }
  | { k: 'correction'; s: number; qty: number; txn: 'ADJ' | 'CC'; label: OpenLabel }
  | { k: 'inject'; type: AnomalyType; tries: number }
  | { k: 'close'; label: OpenLabel };

/**
 * Runs the simulation and yields its output in arrival order. Same options, same output, byte for byte.
 *
 * @example
 * ```ts
 * for (const out of simulateInventory({ seed: 7, days: 7, skus: 20 })) {
 *   if (out.type === 'record') console.log(out.line);
 * }
 * ```
 */
export function* simulateInventory(
  options: Partial<GeneratorOptions> = {},
  counts?: GeneratorCounts,
): Generator<GeneratorOutput, GeneratorCounts> {
  const sim = new Simulation(resolveGeneratorOptions(options), counts);
  return yield* sim.run();
}

/** Empty counts, to pass to {@link simulateInventory} and read while it runs. */
export function emptyCounts(): GeneratorCounts {
  return {
    records: 0,
    supplierRecords: 0,
    salesOrderEvents: 0,
    inventoryLogRows: 0,
    duplicates: 0,
    late: 0,
    malformed: 0,
    labels: 0,
    labelsByType: Object.fromEntries(ANOMALY_TYPES.map((t) => [t, 0])) as Record<AnomalyType, number>,
  };
}

class Simulation {
  private readonly rng: Rng;
  private readonly catalog: Catalog;
  private readonly nSeries: number;
  private readonly start: number;
  private readonly end: number;
  readonly counts: GeneratorCounts;

  // Per SKU × warehouse (series s = sku * W + w).
  private readonly physical: Float64Array;
  private readonly book: Float64Array;
  private readonly reserved: Float64Array;
  private readonly inbound: Float64Array;
  private readonly dailyDemand: Float64Array;
  private readonly silentUntil: Float64Array;
  private readonly stuckValue: Float64Array;
  private readonly shrinkOpen: (OpenLabel | undefined)[];
  // Per SKU.
  private readonly promoUntil: Float64Array;
  private readonly promoUplift: Float64Array;
  private readonly price: Float64Array;
  private readonly cost: Float64Array;

  private readonly events = new TimeHeap<SimEvent>();
  private readonly out = new TimeHeap<string>();
  private readonly closed: AnomalyLabel[] = [];
  private readonly open = new Set<OpenLabel>();
  private readonly typeDeck: AnomalyType[];
  private readonly mixTotal: number;
  private seq = { order: 0, po: 0, log: 0, label: 0 };

  constructor(
    private readonly o: GeneratorOptions,
    counts?: GeneratorCounts,
  ) {
    this.counts = counts ?? emptyCounts();
    this.rng = new Rng(o.seed);
    this.catalog = buildCatalog(this.rng, o.skus, o.warehouses);
    this.nSeries = o.skus * o.warehouses;
    this.start = Date.parse(o.start);
    this.end = this.start + o.days * DAY;
    const n = this.nSeries;
    this.physical = new Float64Array(n);
    this.book = new Float64Array(n);
    this.reserved = new Float64Array(n);
    this.inbound = new Float64Array(n);
    this.dailyDemand = new Float64Array(n);
    this.silentUntil = new Float64Array(n);
    this.stuckValue = new Float64Array(n);
    this.shrinkOpen = new Array(n).fill(undefined);
    this.promoUntil = new Float64Array(o.skus);
    this.promoUplift = new Float64Array(o.skus).fill(1);
    this.price = Float64Array.from(this.catalog.skus, (k) => k.price);
    this.cost = Float64Array.from(this.catalog.skus, (k) => k.cost);
    // The first anomalies take each enabled type once, in a seeded order, so that every type appears
    // whenever the run has room for as many anomalies as there are types.
    this.typeDeck = ANOMALY_TYPES.filter((t) => o.mix[t] > 0);
    for (let i = this.typeDeck.length - 1; i > 0; i--) {
      const j = this.rng.nextInt(i + 1);
      [this.typeDeck[i], this.typeDeck[j]] = [this.typeDeck[j], this.typeDeck[i]];
    }
    this.mixTotal = ANOMALY_TYPES.reduce((s, t) => s + o.mix[t], 0);
    this.initialStock();
  }

  private initialStock(): void {
    const W = this.o.warehouses;
    const whFactor = Array.from({ length: W }, () => uniform(this.rng, 0.6, 1.4));
    for (let k = 0; k < this.o.skus; k++) {
      const popularity = Math.exp(Math.log(4) + normal(this.rng));
      for (let w = 0; w < W; w++) {
        const s = k * W + w;
        this.dailyDemand[s] = popularity * whFactor[w];
        const stock = Math.round(this.orderUpTo(s) * uniform(this.rng, 0.5, 1));
        this.physical[s] = stock;
        this.book[s] = stock;
        this.events.push(
          this.start + this.rng.nextInt(7) * DAY + 21 * HOUR + this.rng.nextInt(120) * MINUTE,
          {
            k: 'count',
            s,
            reason: 'regular',
          },
        );
      }
    }
  }

  private leadDays(s: number): number {
    return this.catalog.suppliers[this.catalog.skus[Math.floor(s / this.o.warehouses)].supplier].leadDays;
  }

  private reorderPoint(s: number): number {
    return Math.ceil(this.dailyDemand[s] * (this.leadDays(s) + 3));
  }

  private orderUpTo(s: number): number {
    return this.reorderPoint(s) + Math.ceil(this.dailyDemand[s] * 10) + 5;
  }

  *run(): Generator<GeneratorOutput, GeneratorCounts> {
    const hours = this.o.days * 24;
    // The WMS's stock snapshot at go-live: a stream processor starts from opening balances, as a real
    // deployment would, instead of guessing them.
    for (let s = 0; s < this.nSeries; s++)
      this.log(this.start, s, 'CC', this.book[s], { REASON: 'OPENING_BALANCE' });
    for (let h = 0; h < hours; h++) {
      const t0 = this.start + h * HOUR;
      const t1 = t0 + HOUR;
      if (h % 24 === 0) this.startDay(t0);
      this.placeHourlyOrders(t0);
      while (this.events.peekTime() < t1) {
        const time = this.events.peekTime();
        this.process(time, this.events.pop()!);
      }
      yield* this.flush(t1);
      if (h % 24 === 23) yield { type: 'day', day: (h + 1) / 24, days: this.o.days };
    }
    // Close what is still open at the end of the run (its window ends with the run), then deliver
    // every record still in flight.
    for (const l of [...this.open]) this.closeLabel(l, this.end);
    yield* this.flush(Number.POSITIVE_INFINITY);
    return this.counts;
  }

  private *flush(until: number): Generator<GeneratorOutput> {
    while (this.out.peekTime() < until) {
      this.counts.records++;
      const arrivedAt = this.out.peekTime();
      yield { type: 'record', line: this.out.pop()!, arrivedAt };
    }
    for (const label of this.closed) yield { type: 'label', label };
    this.closed.length = 0;
  }

  // ---- the day's schedule --------------------------------------------------------------------------

  private startDay(t0: number): void {
    const rng = this.rng;
    for (let k = 0; k < this.o.skus; k++) {
      if (this.promoUntil[k] <= t0 && rng.nextFloat() < 0.015) {
        this.promoUntil[k] = t0 + (2 + rng.nextInt(3)) * DAY;
        this.promoUplift[k] = uniform(rng, 1.8, 3.5);
      }
      if (rng.nextFloat() < 0.01) this.price[k] = cents(this.price[k] * uniform(rng, 0.95, 1.08));
      if (rng.nextFloat() < 0.004) this.cost[k] = cents(this.cost[k] * uniform(rng, 0.97, 1.05));
    }
    for (let s = 0; s < this.nSeries; s++) {
      if (rng.nextFloat() < 0.03) {
        this.events.push(t0 + rng.nextInt(24 * 60) * MINUTE, { k: 'damage', s, qty: 1 + rng.nextInt(2) });
      }
      // Small honest losses nobody logs: the counting noise of a real warehouse.
      if (rng.nextFloat() < 0.01 && this.physical[s] >= 1) this.physical[s] -= 1;
    }
    this.events.push(t0 + 6 * HOUR, { k: 'reorder' });
    // Anomalies stay out of the last two days so that their consequences (recounts, corrections) land.
    const injectable = this.o.days <= 3 || t0 < this.end - 2 * DAY;
    if (injectable && this.mixTotal > 0) {
      const expected = this.o.anomalyRate * this.nSeries;
      const n = poisson(rng, expected);
      for (let i = 0; i < n; i++) {
        this.events.push(t0 + rng.nextInt(24 * 60) * MINUTE, {
          k: 'inject',
          type: this.nextType(),
          tries: 0,
        });
      }
    }
  }

  private nextType(): AnomalyType {
    if (this.typeDeck.length > 0) return this.typeDeck.pop()!;
    let u = this.rng.nextFloat() * this.mixTotal;
    for (const t of ANOMALY_TYPES) {
      u -= this.o.mix[t];
      if (u < 0 && this.o.mix[t] > 0) return t;
    }
    return ANOMALY_TYPES.filter((t) => this.o.mix[t] > 0).at(-1)!;
  }

  private hourlyRate(s: number, t: number): number {
    const k = Math.floor(s / this.o.warehouses);
    // Epoch day 0 (1970-01-01) was a Thursday: index 3 with Monday first.
    const hourOfDay = Math.floor((((t % DAY) + DAY) % DAY) / HOUR);
    const dow = (((Math.floor(t / DAY) + 3) % 7) + 7) % 7;
    const promo = this.promoUntil[k] > t ? this.promoUplift[k] : 1;
    return (this.dailyDemand[s] / 24) * HOURLY[hourOfDay] * WEEKLY[dow] * promo;
  }

  private placeHourlyOrders(t0: number): void {
    const rng = this.rng;
    for (let s = 0; s < this.nSeries; s++) {
      // Mean order size is 1.25 units: the rate of orders is the unit rate over that.
      const n = poisson(rng, this.hourlyRate(s, t0) / 1.25);
      for (let i = 0; i < n; i++) {
        const u = rng.nextFloat();
        const qty = u < 0.8 ? 1 : u < 0.95 ? 2 : 3;
        this.events.push(t0 + rng.nextInt(HOUR), { k: 'place', s, qty });
      }
    }
  }

  // ---- processing ----------------------------------------------------------------------------------

  private process(t: number, e: SimEvent): void {
    switch (e.k) {
      case 'place':
        this.place(t, e.s, e.qty, e.bot);
        return;
      case 'fulfil':
        this.fulfil(t, e);
        return;
      case 'cancel':
        this.cancel(t, e);
        return;
      case 'reorder':
        this.reorder(t);
        return;
      case 'asn':
        this.asn(t, e.po);
        return;
      case 'receipt':
        this.receipt(t, e.po, e.line!);
        return;
      case 'return':
        this.physical[e.s] += e.qty;
        this.book[e.s] += e.qty;
        this.log(t, e.s, 'RTN', e.qty, { REF_DOC: e.orderId, REASON: 'CUSTOMER_RETURN' });
        return;
      case 'damage':
        if (
          this.book[e.s] - this.reserved[e.s] >= e.qty &&
          this.physical[e.s] >= e.qty &&
          !this.silent(e.s, t)
        ) {
          this.physical[e.s] -= e.qty;
          this.book[e.s] -= e.qty;
          this.log(t, e.s, 'DMG', -e.qty, { REASON: 'DAMAGED_IN_WAREHOUSE' });
        }
        return;
      case 'count':
        this.count(t, e);
        return;
      case 'correction':
        this.correction(t, e);
        return;
      case 'inject':
        this.inject(t, e.type, e.tries);
        return;
      case 'close':
        this.closeLabel(e.label, t);
        return;
    }
  }

  private silent(s: number, t: number): boolean {
    return this.silentUntil[s] > t;
  }

  private place(t: number, s: number, qty: number, bot?: { customerId: string; label: OpenLabel }): void {
    const rng = this.rng;
    const W = this.o.warehouses;
    const w = s % W;
    if (this.silent(s, t)) {
      // The sale happens, but the feed that should report it is stuck: stock leaves without an event.
      if (this.physical[s] >= qty) this.physical[s] -= qty;
      return;
    }
    if (this.book[s] - this.reserved[s] < qty) return; // out of stock on the storefront: a lost sale
    const lines: OrderLine[] = [{ s, qty, unitPrice: this.unitPrice(s, t) }];
    if (!bot && rng.nextFloat() < 0.1) {
      // A second item in the basket, from the same warehouse.
      const s2 = rng.nextInt(this.o.skus) * W + w;
      if (s2 !== s && !this.silent(s2, t) && this.book[s2] - this.reserved[s2] >= 1) {
        lines.push({ s: s2, qty: 1, unitPrice: this.unitPrice(s2, t) });
      }
    }
    for (const l of lines) this.reserved[l.s] += l.qty;
    const orderId = `SO-${String(++this.seq.order).padStart(8, '0')}`;
    const u = rng.nextFloat();
    const channel: SalesOrderEvent['channel'] = bot
      ? 'web'
      : u < 0.55
        ? 'web'
        : u < 0.9
          ? 'app'
          : 'marketplace';
    const customerId = bot ? bot.customerId : `C-${100000 + rng.nextInt(900000)}`;
    const eventId = `${orderId}-P`;
    this.emitSales(t, 'order.placed', eventId, orderId, channel, customerId, w, lines);
    if (bot) bot.label.eventIds.push(eventId);
    const cancelled = rng.nextFloat() < (bot ? 0.5 : 0.02);
    this.events.push(t + (cancelled ? 5 + rng.nextInt(115) : 15 + rng.nextInt(465)) * MINUTE, {
      k: cancelled ? 'cancel' : 'fulfil',
      orderId,
      channel,
      customerId,
      w,
      lines,
    });
  }

  private unitPrice(s: number, t: number): number {
    const k = Math.floor(s / this.o.warehouses);
    return cents(this.promoUntil[k] > t ? this.price[k] * 0.8 : this.price[k]);
  }

  private fulfil(t: number, e: OrderOutcome): void {
    const short = e.lines.filter((l) => this.physical[l.s] < l.qty);
    if (short.length > 0) {
      // A short pick: the shelf is emptier than the book. The WMS corrects the book to what is there.
      for (const l of short) {
        const diff = this.physical[l.s] - this.book[l.s];
        if (diff !== 0) {
          const id = this.log(t, l.s, 'ADJ', diff, { REF_DOC: e.orderId, REASON: 'SHORT_PICK' });
          this.book[l.s] = this.physical[l.s];
          this.shrinkOpen[l.s]?.eventIds.push(id);
        }
      }
      this.cancel(t, e);
      return;
    }
    for (const l of e.lines) {
      this.physical[l.s] -= l.qty;
      this.book[l.s] -= l.qty;
      this.reserved[l.s] -= l.qty;
      if (this.rng.nextFloat() < 0.04) {
        this.events.push(t + (2 + this.rng.nextInt(9)) * DAY + this.rng.nextInt(DAY), {
          k: 'return',
          s: l.s,
          qty: l.qty,
          orderId: e.orderId,
        });
      }
    }
    this.emitSales(t, 'order.fulfilled', `${e.orderId}-F`, e.orderId, e.channel, e.customerId, e.w, e.lines);
  }

  private cancel(t: number, e: OrderOutcome): void {
    for (const l of e.lines) this.reserved[l.s] -= l.qty;
    this.emitSales(t, 'order.cancelled', `${e.orderId}-C`, e.orderId, e.channel, e.customerId, e.w, e.lines);
  }

  private reorder(t: number): void {
    // The buyer reorders from the book (all the business can see), grouped into one PO per supplier and site.
    const groups = new Map<number, number[]>();
    const W = this.o.warehouses;
    for (let s = 0; s < this.nSeries; s++) {
      const position = this.book[s] - this.reserved[s] + this.inbound[s];
      if (position <= this.reorderPoint(s)) {
        const key = this.catalog.skus[Math.floor(s / W)].supplier * W + (s % W);
        const g = groups.get(key);
        if (g) g.push(s);
        else groups.set(key, [s]);
      }
    }
    for (const key of [...groups.keys()].sort((a, b) => a - b)) {
      const members = groups.get(key)!;
      this.purchaseOrder(t + this.rng.nextInt(120) * MINUTE, members);
    }
  }

  private purchaseOrder(
    t: number,
    members: number[],
    anomaly?: { short?: number; price?: number },
  ): PurchaseOrder {
    const rng = this.rng;
    const W = this.o.warehouses;
    const k0 = Math.floor(members[0] / W);
    const supplier = this.catalog.skus[k0].supplier;
    const id = String(++this.seq.po).padStart(7, '0');
    const lead = this.catalog.suppliers[supplier].leadDays * uniform(rng, 0.8, 1.3);
    const po: PurchaseOrder = {
      docId: `PO-${id}`,
      asnId: `ASN-${id}`,
      supplier,
      w: members[0] % W,
      issuedAt: t,
      arrival: t + Math.round(lead * DAY),
      lines: members.map((s, i) => {
        const sku = this.catalog.skus[Math.floor(s / W)];
        const need = Math.max(1, this.orderUpTo(s) - (this.book[s] - this.reserved[s] + this.inbound[s]));
        const cases = Math.ceil(need / sku.casePack);
        const eaches = cases * sku.casePack;
        const uom: 'EA' | 'CS' = sku.casePack > 1 ? 'CS' : 'EA';
        this.inbound[s] += eaches;
        const unitCost = cents(this.cost[Math.floor(s / W)] * sku.casePack * (anomaly?.price ?? 1));
        return {
          s,
          lineNo: i + 1,
          qtyOrdered: uom === 'CS' ? cases : eaches,
          uom,
          casePack: sku.casePack,
          unitCost,
          eaches,
          shippedEaches: eaches,
          shortFactor: anomaly?.short,
        };
      }),
    };
    const record: SupplierRecord = {
      record_type: 'PO',
      doc_id: po.docId,
      supplier: { id: this.catalog.suppliers[supplier].id, name: this.catalog.suppliers[supplier].name },
      ship_to: this.catalog.warehouses[po.w],
      issued_at: new Date(t).toISOString(),
      expected_at: new Date(po.arrival).toISOString(),
      currency: 'USD',
      lines: po.lines.map((l) => ({
        line_no: l.lineNo,
        sku: this.catalog.skus[Math.floor(l.s / W)].id,
        qty_ordered: l.qtyOrdered,
        uom: l.uom,
        case_pack: l.casePack,
        unit_cost: l.unitCost,
      })),
    };
    this.emit(t, record, 'supplier');
    const asnAt = Math.max(t + HOUR, po.arrival - (12 + rng.nextInt(19)) * HOUR);
    this.events.push(asnAt, { k: 'asn', po });
    po.lines.forEach((line, i) => {
      this.events.push(po.arrival + i * 2 * MINUTE, { k: 'receipt', po, line });
    });
    return po;
  }

  private asn(t: number, po: PurchaseOrder): void {
    const rng = this.rng;
    const W = this.o.warehouses;
    for (const l of po.lines) {
      // Honest partial shipments (90–99%) happen on lines large enough that one missing unit or case
      // is a small share; a 1-of-2-cases delivery is a short-shipment, and those are the labelled ones.
      const partial = l.qtyOrdered >= 10 && rng.nextFloat() >= 0.92;
      const f = l.shortFactor ?? (partial ? uniform(rng, 0.9, 0.99) : 1);
      const units = Math.floor(l.qtyOrdered * f);
      l.shippedEaches = l.uom === 'CS' ? units * l.casePack : units;
    }
    const record: SupplierRecord = {
      record_type: 'ASN',
      doc_id: po.asnId,
      po_ref: po.docId,
      supplier: {
        id: this.catalog.suppliers[po.supplier].id,
        name: this.catalog.suppliers[po.supplier].name,
      },
      ship_to: this.catalog.warehouses[po.w],
      issued_at: new Date(t).toISOString(),
      expected_at: new Date(po.arrival).toISOString(),
      currency: 'USD',
      lines: po.lines.map((l) => ({
        line_no: l.lineNo,
        sku: this.catalog.skus[Math.floor(l.s / W)].id,
        qty_ordered: l.qtyOrdered,
        qty_shipped: l.uom === 'CS' ? l.shippedEaches / l.casePack : l.shippedEaches,
        uom: l.uom,
        case_pack: l.casePack,
        unit_cost: l.unitCost,
      })),
    };
    this.emit(t, record, 'supplier');
    for (const l of po.lines) {
      if (l.label?.type === 'supplier_price_anomaly') {
        l.label.eventIds.push(po.asnId);
        this.closeLabel(l.label, t);
      } else if (l.shortFactor !== undefined) {
        l.label = this.openLabel(
          'supplier_short_shipment',
          l.s,
          t,
          `${this.catalog.suppliers[po.supplier].name} shipped ${l.shippedEaches} of ${l.eaches} units ordered on ${po.docId}`,
        );
        l.label.eventIds.push(po.asnId);
      }
    }
  }

  private receipt(t: number, po: PurchaseOrder, l: PoLine): void {
    this.inbound[l.s] -= l.eaches;
    this.physical[l.s] += l.shippedEaches;
    this.book[l.s] += l.shippedEaches;
    const id = this.log(t, l.s, 'RCV', l.shippedEaches, { REF_DOC: po.asnId });
    if (l.label?.type === 'supplier_short_shipment') {
      l.label.eventIds.push(id);
      this.closeLabel(l.label, t);
    }
  }

  private countNoise(): number {
    const u = this.rng.nextFloat();
    return u < 0.1 ? -1 : u < 0.2 ? 1 : u < 0.215 ? -2 : u < 0.23 ? 2 : 0;
  }

  private count(t: number, e: Extract<SimEvent, { k: 'count' }>): void {
    const s = e.s;
    if (e.reason === 'regular') {
      this.events.push(t + 6 * DAY + this.rng.nextInt(2 * DAY), { k: 'count', s, reason: 'regular' });
      // While a SKU's counts are stuck, the stuck repeats stand in for its regular counts.
      if (this.stuckUntil(s) > t) return;
    }
    let counted: number;
    if (e.reason === 'stuck') counted = this.stuckValue[s];
    else counted = Math.max(0, this.physical[s] + this.countNoise());
    const id = this.log(t, s, 'CC', counted, {});
    this.book[s] = counted;
    const shrink = this.shrinkOpen[s];
    if (shrink) {
      shrink.eventIds.push(id);
      this.closeLabel(shrink, t);
      this.shrinkOpen[s] = undefined;
    }
    if (e.label && (e.reason === 'recount' || e.reason === 'stuck')) {
      e.label.eventIds.push(id);
      if (e.reason === 'recount' || e.last) {
        this.closeLabel(e.label, t);
        if (e.reason === 'stuck') this.stuckEnds.delete(s);
      }
    }
  }

  private readonly stuckEnds = new Map<number, number>();

  private stuckUntil(s: number): number {
    return this.stuckEnds.get(s) ?? 0;
  }

  private correction(t: number, e: Extract<SimEvent, { k: 'correction' }>): void {
    let id: string;
    if (e.txn === 'ADJ') {
      this.book[e.s] += e.qty;
      id = this.log(t, e.s, 'ADJ', e.qty, { REF_DOC: e.label.eventIds[0], REASON: 'CORRECTION' });
    } else {
      const counted = Math.max(0, this.physical[e.s] + this.countNoise());
      this.book[e.s] = counted;
      id = this.log(t, e.s, 'CC', counted, { REASON: 'RECOUNT' });
    }
    e.label.eventIds.push(id);
    this.closeLabel(e.label, t);
  }

  // ---- anomalies -----------------------------------------------------------------------------------

  private inject(t: number, type: AnomalyType, tries: number): void {
    // Try a few random series; an anomaly that fits none now is retried six hours later.
    for (let attempt = 0; attempt < 20; attempt++) {
      const s = this.rng.nextInt(this.nSeries);
      if (this.silent(s, t) || this.shrinkOpen[s] || this.stuckUntil(s) > t) continue;
      if (this.tryInject(t, type, s)) return;
    }
    if (tries < 8 && t + 6 * HOUR < this.end - DAY) {
      this.events.push(t + 6 * HOUR, { k: 'inject', type, tries: tries + 1 });
    }
  }

  private tryInject(t: number, type: AnomalyType, s: number): boolean {
    const rng = this.rng;
    const W = this.o.warehouses;
    const sku = this.catalog.skus[Math.floor(s / W)];
    const available = this.book[s] - this.reserved[s];
    switch (type) {
      case 'shrinkage': {
        if (this.physical[s] < 10) return false;
        const lost = Math.max(3, Math.round(this.physical[s] * uniform(rng, 0.3, 0.7)));
        this.physical[s] -= lost;
        this.shrinkOpen[s] = this.openLabel(type, s, t, `${lost} units left the shelf with no sale or log`);
        this.events.push(t + (6 + rng.nextInt(31)) * HOUR, { k: 'count', s, reason: 'reveal' });
        return true;
      }
      case 'phantom_stock': {
        const counted =
          this.book[s] + Math.max(15, Math.round(Math.max(this.book[s], 5) * uniform(rng, 1.5, 4)));
        const label = this.openLabel(
          type,
          s,
          t,
          `a count of ${counted} where the book holds ${this.book[s]}`,
        );
        label.eventIds.push(this.log(t, s, 'CC', counted, {}));
        this.book[s] = counted;
        this.events.push(t + (12 + rng.nextInt(25)) * HOUR, { k: 'count', s, reason: 'recount', label });
        return true;
      }
      case 'sales_spike': {
        if (available < 30) return false;
        const minutes = 30 + rng.nextInt(91);
        const rate = Math.max(20, 15 * this.hourlyRate(s, t)); // orders per hour
        const n = Math.min(Math.max(15, Math.round((rate * minutes) / 60)), Math.floor(available / 1.5));
        const label = this.openLabel(
          type,
          s,
          t,
          `${n} orders in ${minutes} minutes from a handful of accounts`,
        );
        const customers = [0, 1, 2].map(() => `C-${100000 + rng.nextInt(900000)}`);
        for (let i = 0; i < n; i++) {
          this.events.push(t + rng.nextInt(minutes * MINUTE), {
            k: 'place',
            s,
            qty: 1 + rng.nextInt(2),
            bot: { customerId: customers[rng.nextInt(3)], label },
          });
        }
        this.events.push(t + minutes * MINUTE, { k: 'close', label });
        return true;
      }
      case 'data_entry_error': {
        const fixAt = t + (2 + rng.nextInt(23)) * HOUR;
        if (sku.casePack > 1 && rng.nextFloat() < 0.5) {
          // Damage of two eaches keyed as two cases.
          const q = 1 + rng.nextInt(2);
          if (available < q * sku.casePack || this.physical[s] < q) return false;
          const label = this.openLabel(
            type,
            s,
            t,
            `${q} damaged eaches entered as ${q} cases of ${sku.casePack}`,
          );
          label.eventIds.push(this.log(t, s, 'DMG', -q, { REASON: 'DAMAGED_IN_WAREHOUSE' }, 'CS'));
          this.physical[s] -= q;
          this.book[s] -= q * sku.casePack;
          this.events.push(fixAt, { k: 'correction', s, qty: q * (sku.casePack - 1), txn: 'ADJ', label });
        } else {
          const q = 1 + rng.nextInt(3);
          const m = rng.nextFloat() < 0.5 ? 10 : 100;
          const label = this.openLabel(type, s, t, `${q} found units keyed as ${q * m}`);
          label.eventIds.push(this.log(t, s, 'ADJ', q * m, { REASON: 'FOUND' }));
          this.physical[s] += q;
          this.book[s] += q * m;
          this.events.push(fixAt, { k: 'correction', s, qty: -q * (m - 1), txn: 'ADJ', label });
        }
        return true;
      }
      case 'supplier_short_shipment': {
        this.purchaseOrder(t, [s], { short: uniform(rng, 0.3, 0.7) });
        return true;
      }
      case 'supplier_price_anomaly': {
        const factor = rng.nextFloat() < 0.7 ? uniform(rng, 1.6, 3) : uniform(rng, 0.3, 0.5);
        const po = this.purchaseOrder(t, [s], { price: factor });
        const label = this.openLabel(
          type,
          s,
          t,
          `unit cost ${po.lines[0].unitCost} on ${po.docId}, ${factor.toFixed(2)}× the usual ${cents(
            this.cost[Math.floor(s / W)] * sku.casePack,
          )}`,
        );
        label.eventIds.push(po.docId);
        po.lines[0].label = label;
        return true;
      }
      case 'stuck_feed': {
        if (this.dailyDemand[s] >= 8 && rng.nextFloat() < 0.5) {
          const until = t + (12 + rng.nextInt(25)) * HOUR;
          this.silentUntil[s] = until;
          const label = this.openLabel(type, s, t, 'the storefront feed went silent for this item');
          this.events.push(until, { k: 'close', label });
          return true;
        }
        if (this.dailyDemand[s] < 1) return false;
        const repeats = 3 + rng.nextInt(2);
        const value = Math.max(1, this.book[s]);
        this.stuckValue[s] = value;
        const label = this.openLabel(type, s, t, `${repeats} daily counts all report ${value}`);
        for (let i = 0; i < repeats; i++) {
          this.events.push(t + i * DAY + rng.nextInt(HOUR), {
            k: 'count',
            s,
            reason: 'stuck',
            label,
            last: i === repeats - 1,
          });
        }
        this.stuckEnds.set(s, t + repeats * DAY);
        return true;
      }
      case 'negative_stock': {
        const fixAt = t + (1 + rng.nextInt(12)) * HOUR;
        if (rng.nextFloat() < 0.5) {
          const q = Math.max(0, this.book[s]) + 3 + rng.nextInt(18);
          const label = this.openLabel(type, s, t, `a write-off of ${q} against a book of ${this.book[s]}`);
          label.eventIds.push(this.log(t, s, 'DMG', -q, { REASON: 'DAMAGED_IN_WAREHOUSE' }));
          this.book[s] -= q;
          this.events.push(fixAt, { k: 'correction', s, qty: q, txn: 'ADJ', label });
        } else {
          const counted = -(1 + rng.nextInt(10));
          const label = this.openLabel(type, s, t, `a cycle count of ${counted}`);
          label.eventIds.push(this.log(t, s, 'CC', counted, {}));
          this.book[s] = counted;
          this.events.push(fixAt, { k: 'correction', s, qty: 0, txn: 'CC', label });
        }
        return true;
      }
    }
  }

  private openLabel(type: AnomalyType, s: number, t: number, description: string): OpenLabel {
    const label = {
      id: `anomaly-${String(++this.seq.label).padStart(6, '0')}`,
      type,
      s,
      start: t,
      eventIds: [],
      description,
    };
    this.open.add(label);
    return label;
  }

  private closeLabel(l: OpenLabel, t: number): void {
    if (!this.open.delete(l)) return;
    const W = this.o.warehouses;
    this.counts.labels++;
    this.counts.labelsByType[l.type]++;
    this.closed.push({
      id: l.id,
      type: l.type,
      sku: this.catalog.skus[Math.floor(l.s / W)].id,
      warehouse: this.catalog.warehouses[l.s % W],
      start: new Date(l.start).toISOString(),
      end: new Date(Math.max(t, l.start)).toISOString(),
      eventIds: [...l.eventIds],
      description: l.description,
    });
  }

  // ---- emission ------------------------------------------------------------------------------------

  private emitSales(
    t: number,
    event: SalesOrderEvent['event'],
    eventId: string,
    orderId: string,
    channel: SalesOrderEvent['channel'],
    customerId: string,
    w: number,
    lines: OrderLine[],
  ): void {
    const W = this.o.warehouses;
    const record: SalesOrderEvent = {
      event,
      eventId,
      orderId,
      occurredAt: t,
      channel,
      customerId,
      fulfillmentCenter: this.catalog.warehouses[w],
      items: lines.map((l) => ({
        sku: this.catalog.skus[Math.floor(l.s / W)].id,
        quantity: l.qty,
        unitPrice: l.unitPrice,
      })),
      currency: 'USD',
    };
    this.emit(t, record, 'sales');
  }

  private log(
    t: number,
    s: number,
    txn: InventoryLogRow['TXN'],
    qty: number,
    extra: { REF_DOC?: string; REASON?: string },
    uom: 'EA' | 'CS' = 'EA',
  ): string {
    const W = this.o.warehouses;
    const id = `WMS-${String(++this.seq.log).padStart(9, '0')}`;
    const row: InventoryLogRow = {
      LOG_ID: id,
      TXN: txn,
      ITEM_NO: this.catalog.skus[Math.floor(s / W)].id,
      LOC: this.catalog.warehouses[s % W],
      QTY: qty,
      UOM: uom,
      TXN_TIME: new Date(t).toISOString().slice(0, 19).replace('T', ' '),
      ...extra,
      USER_ID: `u${String(1 + this.rng.nextInt(40)).padStart(3, '0')}`,
    };
    this.emit(t, row, 'log');
    return id;
  }

  private emit(t: number, record: object, kind: 'supplier' | 'sales' | 'log'): void {
    const rng = this.rng;
    if (kind === 'supplier') this.counts.supplierRecords++;
    else if (kind === 'sales') this.counts.salesOrderEvents++;
    else this.counts.inventoryLogRows++;
    const line = JSON.stringify(record);
    let arrival = t + rng.nextInt(4000);
    if (rng.nextFloat() < this.o.lateRate) {
      arrival = t + (5 + rng.nextInt(175)) * MINUTE;
      this.counts.late++;
    }
    this.out.push(arrival, line);
    if (rng.nextFloat() < this.o.duplicateRate) {
      this.counts.duplicates++;
      this.out.push(arrival + 1000 + rng.nextInt(10 * MINUTE), line);
    }
    if (rng.nextFloat() < this.o.malformedRate) {
      this.counts.malformed++;
      this.out.push(arrival + 1, this.malformed(line));
    }
  }

  /** An unparseable or invalid variant of a real line, as broken upstream systems produce them. */
  private malformed(line: string): string {
    const rng = this.rng;
    switch (rng.nextInt(5)) {
      case 0:
        return line.slice(0, Math.max(1, Math.floor(line.length * uniform(rng, 0.2, 0.9))));
      case 1:
        return line.replace(/":(-?\d+)/, '":"n/a"');
      case 2:
        return JSON.stringify({ heartbeat: true, source: 'edge-gateway-7', seq: rng.nextInt(1_000_000) });
      case 3: {
        let junk = '';
        for (let i = 0; i < 40; i++) junk += rng.nextInt(16).toString(16);
        return `\\x${junk}`;
      }
      default:
        return line.replace(/":(-?\d+)/, '":1e999');
    }
  }
}
