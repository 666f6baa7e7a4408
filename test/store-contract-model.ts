/**
 * The fixtures and the in-memory model of the `StateStore` contract suite (`store-contract.ts`):
 * batches and rows to commit, how a store's answers are normalised for comparison, what a store
 * should hold after a sequence of commits, and the random scenarios of its property test.
 */
import fc from 'fast-check';
import type { ExtendedSequenceNumber } from '../pipeline/lifecycle.js';
import type {
  AlertNotification,
  Anomaly,
  AppliedEvent,
  BatchCommit,
  DeadLetter,
  FeatureUnit,
  SeriesRow,
  StoredState,
  UndeliveredNotification,
} from '../pipeline/ports.js';
import type { InspectableStateStore } from './store-contract.js';

// ---- fixtures (shared with the store-specific tests) ---------------------------------------

export const T0 = 1_700_000_000_000;

export const at = (sequenceNumber: string, subSequenceNumber = 0): ExtendedSequenceNumber => ({
  sequenceNumber,
  subSequenceNumber,
});

export function seriesRow(sku: string, warehouse: string, overrides: Partial<SeriesRow> = {}): SeriesRow {
  return {
    sku,
    warehouse,
    onHand: 12,
    reserved: 2,
    inbound: 24,
    lastCountQuantity: 11,
    lastCountAt: T0 - 86_400_000,
    salesVelocity: 0.75,
    lastEventAt: T0,
    model: JSON.stringify({ v: 1, sku, warehouse }),
    ...overrides,
  };
}

export function deadLetter(sequenceNumber: string, overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    shardId: 'shard-0',
    sequenceNumber,
    subSequenceNumber: 0,
    partitionKey: 'SKU-1',
    arrivalTimestamp: T0,
    code: 'invalid_json',
    reason: 'line 1: unexpected end of JSON input',
    data: new Uint8Array([0x7b, 0x00, 0xff, 0x80, 0x0a]),
    ...overrides,
  };
}

export function anomaly(id: string, overrides: Partial<Anomaly> = {}): Anomaly {
  return {
    id,
    type: 'shrinkage',
    severity: 'warning',
    score: 0.875,
    sku: 'SKU-1',
    warehouse: 'WH-1',
    detectedAt: T0,
    eventIds: ['evt-1', 'evt-2'],
    detector: 'rule:count-gap',
    explanation: {
      summary: 'cycle count 4 is 5 below the book quantity 9',
      features: [
        { name: 'count_gap', observed: 4, expected: 9, contribution: 0.8, unit: 'units' },
        { name: 'days_since_count', observed: 7, expected: 7 },
      ],
    },
    ...overrides,
  };
}

export function notification(id: string, overrides: Partial<AlertNotification> = {}): AlertNotification {
  return {
    id,
    groupKey: 'WH-1|shrinkage',
    warehouse: 'WH-1',
    type: 'shrinkage',
    severity: 'warning',
    anomalies: [anomaly(`${id}-a1`), anomaly(`${id}-a2`, { severity: 'critical', score: 1 })],
    suppressed: 0,
    ...overrides,
  };
}

export function undelivered(
  receiver: string,
  notificationId: string,
  overrides: Partial<UndeliveredNotification> = {},
): UndeliveredNotification {
  return {
    receiver,
    notification: notification(notificationId),
    shardId: 'shard-0',
    reason: 'HTTP 410 Gone: the webhook was deleted',
    ...overrides,
  };
}

export function batch(overrides: Partial<BatchCommit> = {}): BatchCommit {
  return {
    shardId: 'shard-0',
    checkpoint: at('1'),
    series: [],
    values: [],
    appliedEvents: [],
    deadLetters: [],
    anomalies: [],
    ...overrides,
  };
}

/**
 * A batch that touches every table, for the tests that want "everything".
 *
 * @example
 * ```ts
 * await store.commit(fullBatch('1', 'a')); // checkpoint 1, tagged a
 * ```
 */
export function fullBatch(sequenceNumber: string, tag: string): BatchCommit {
  return batch({
    checkpoint: { sequenceNumber, subSequenceNumber: 0 },
    series: [seriesRow('SKU-1', 'WH-1', { onHand: Number(sequenceNumber) }), seriesRow(`SKU-${tag}`, 'WH-2')],
    values: [{ key: 'catalog', value: `{"tag":"${tag}"}` }],
    appliedEvents: [
      { eventId: `evt-${tag}-1`, occurredAt: T0 + 1, sku: 'SKU-1', warehouse: 'WH-1' },
      { eventId: `evt-${tag}-2`, occurredAt: T0 + 2, sku: `SKU-${tag}`, warehouse: 'WH-2' },
    ],
    deadLetters: [
      deadLetter(`9${sequenceNumber}`),
      deadLetter(`8${sequenceNumber}`, { code: 'future_event', disposition: 'quarantine' }),
    ],
    anomalies: [anomaly(`anomaly-${tag}`)],
    undelivered: [undelivered('ops-webhook', `notification-${tag}`)],
  });
}

// ---- normalisation: stores may return rows in any order, and bytes as any Uint8Array -----------

/**
 * The rows sorted by a string key: stores may return rows in any order.
 *
 * @example
 * ```ts
 * byKey(await store.listAnomalies(), (a) => a.id);
 * ```
 */
export function byKey<T>(rows: readonly T[], key: (row: T) => string): T[] {
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

const seriesKey = (s: { sku: string; warehouse: string }): string => `${s.sku}\u0000${s.warehouse}`;
const deadLetterKey = (d: DeadLetter): string =>
  `${d.shardId}\u0000${d.sequenceNumber}\u0000${d.subSequenceNumber}`;

/**
 * A loaded state in key order.
 *
 * @example
 * ```ts
 * expect(normalState(await store.load())).toEqual(normalState(expected));
 * ```
 */
export function normalState(state: StoredState): StoredState {
  return {
    series: byKey(state.series, seriesKey),
    values: byKey(state.values, (v) => v.key),
    recentEvents: byKey(state.recentEvents, (e) => e.eventId),
  };
}

/**
 * Dead letters in key order, their bytes as plain `Uint8Array`s.
 *
 * @example
 * ```ts
 * const letters = normalDeadLetters(await store.listDeadLetters());
 * ```
 */
export function normalDeadLetters(letters: readonly DeadLetter[]): DeadLetter[] {
  // A Buffer and a Uint8Array with the same bytes are the same dead letter.
  return byKey(letters, deadLetterKey).map((d) => ({ ...d, data: new Uint8Array(d.data) }));
}

/**
 * An undelivered notification's key: receiver and notification id.
 *
 * @example
 * ```ts
 * byKey(await store.listUndelivered(), undeliveredKey);
 * ```
 */
export const undeliveredKey = (u: UndeliveredNotification): string =>
  JSON.stringify([u.receiver, u.notification.id]);

/** What a store reads back of a dead letter written as `d` (see the module comment). */
function storedDeadLetter(d: DeadLetter): DeadLetter {
  const { disposition, ...rest } = d;
  return disposition === 'quarantine' ? { ...rest, disposition } : rest;
}

const SHARDS = ['shard-0', 'shard-1', 'shard-never-seen'];

/** Everything a store holds that the contract can read, normalised. */
export interface Snapshot {
  state: StoredState;
  checkpoints: Record<string, ExtendedSequenceNumber | null>;
  deadLetters: DeadLetter[];
  deadLetterCount: number;
  anomalies: Anomaly[];
  undelivered: UndeliveredNotification[];
}

/**
 * Reads everything the contract can read from a store, normalised for comparison.
 *
 * @example
 * ```ts
 * expect(await snapshot(store)).toEqual(model.snapshot());
 * ```
 */
export async function snapshot(store: InspectableStateStore): Promise<Snapshot> {
  const checkpoints: Record<string, ExtendedSequenceNumber | null> = {};
  for (const shard of SHARDS) checkpoints[shard] = await store.loadCheckpoint(shard);
  return {
    state: normalState(await store.load()),
    checkpoints,
    deadLetters: normalDeadLetters(await store.listDeadLetters()),
    deadLetterCount: await store.countDeadLetters(),
    anomalies: byKey(await store.listAnomalies(), (a) => a.id),
    undelivered: byKey(await store.listUndelivered(), undeliveredKey),
  };
}

// ---- the in-memory model of the property test --------------------------------------------------

/**
 * What a store should hold after a sequence of commits: the ports' promises, in plain Maps.
 *
 * @example
 * ```ts
 * const model = new ModelStore();
 * model.commit(batch);
 * expect(await snapshot(store)).toEqual(model.snapshot());
 * ```
 */
export class ModelStore {
  readonly series = new Map<string, SeriesRow>();
  readonly values = new Map<string, string>();
  readonly events = new Map<string, AppliedEvent>();
  readonly checkpoints = new Map<string, ExtendedSequenceNumber>();
  readonly deadLetters = new Map<string, DeadLetter>();
  readonly anomalies = new Map<string, Anomaly>();
  readonly undelivered = new Map<string, UndeliveredNotification>();

  commit(b: BatchCommit): void {
    for (const s of b.series) this.series.set(seriesKey(s), s);
    for (const v of b.values) this.values.set(v.key, v.value);
    for (const e of b.appliedEvents) if (!this.events.has(e.eventId)) this.events.set(e.eventId, { ...e });
    if (b.forgetEventsBefore !== undefined) {
      // Only the batch's series forget (each shard has its own event-time clock).
      const mine = new Set(b.series.map(seriesKey));
      for (const [id, e] of this.events)
        if (e.occurredAt < b.forgetEventsBefore && mine.has(seriesKey(e))) this.events.delete(id);
    }
    for (const d of b.deadLetters)
      if (!this.deadLetters.has(deadLetterKey(d)))
        this.deadLetters.set(deadLetterKey(d), storedDeadLetter(d));
    for (const a of b.anomalies) if (!this.anomalies.has(a.id)) this.anomalies.set(a.id, a);
    // Stored once per receiver and notification id: the first wins, a replay neither adds nor replaces.
    for (const u of b.undelivered ?? [])
      if (!this.undelivered.has(undeliveredKey(u))) this.undelivered.set(undeliveredKey(u), u);
    this.checkpoints.set(b.shardId, b.checkpoint);
  }

  snapshot(): Snapshot {
    const checkpoints: Record<string, ExtendedSequenceNumber | null> = {};
    for (const shard of SHARDS) checkpoints[shard] = this.checkpoints.get(shard) ?? null;
    return {
      state: normalState({
        series: [...this.series.values()],
        values: [...this.values].map(([key, value]) => ({ key, value })),
        recentEvents: [...this.events.values()].map((e) => ({ ...e })),
      }),
      checkpoints,
      deadLetters: normalDeadLetters([...this.deadLetters.values()]),
      deadLetterCount: this.deadLetters.size,
      anomalies: byKey([...this.anomalies.values()], (a) => a.id),
      undelivered: byKey([...this.undelivered.values()], undeliveredKey),
    };
  }
}

// ---- arbitraries ---------------------------------------------------------------------------------

/**
 * Finite numbers every store holds exactly: no NaN or infinities (SQL has no such DOUBLE), no -0
 * (SQLite and JSON return 0), nothing below 1e-6 in magnitude (MySQL rejects subnormals, DynamoDB
 * numbers stop at 1e-130).
 */
const numberArb = fc.oneof(
  fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
  fc.double({ min: -1e9, max: 1e9, noNaN: true }).map((x) => (Math.abs(x) < 1e-6 ? 0 : x)),
);
const unitArb = fc.double({ min: 0, max: 1, noNaN: true }).map((x) => (x < 1e-6 ? 0 : x));
const timeArb = fc.integer({ min: 0, max: 4_102_444_800_000 });
/** Keys that differ only in case must stay distinct (a case-insensitive collation would merge them). */
const skuArb = fc.constantFrom('SKU-1', 'sku-1', 'SKU-2', 'Ω-3');
const warehouseArb = fc.constantFrom('WH-1', 'wh-1', 'WH-2');
const textArb = fc.string({ unit: 'grapheme', maxLength: 40 });
const sequenceArb = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map(String);

const seriesArb: fc.Arbitrary<SeriesRow> = fc.record({
  sku: skuArb,
  warehouse: warehouseArb,
  onHand: numberArb,
  reserved: numberArb,
  inbound: numberArb,
  lastCountQuantity: fc.option(numberArb, { nil: null }),
  lastCountAt: fc.option(timeArb, { nil: null }),
  salesVelocity: numberArb,
  lastEventAt: timeArb,
  model: textArb,
});

const anomalyArb = (id: string): fc.Arbitrary<Anomaly> =>
  fc.record({
    id: fc.constant(id),
    type: fc.constantFrom<Anomaly['type']>('shrinkage', 'phantom_stock', 'sales_spike', 'stuck_feed'),
    severity: fc.constantFrom<Anomaly['severity']>('critical', 'warning', 'info'),
    score: unitArb,
    sku: skuArb,
    warehouse: warehouseArb,
    detectedAt: timeArb,
    eventIds: fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 4 }),
    detector: fc.constantFrom('rule:count-gap', 'robust-zscore:sales-rate', 'iforest', 'dbscan'),
    explanation: fc.record({
      summary: textArb,
      features: fc.array(
        fc.record(
          {
            name: textArb,
            observed: numberArb,
            expected: numberArb,
            contribution: unitArb,
            unit: fc.constantFrom<FeatureUnit>('units', 'share', 'ratio', 'hours', 'days'),
          },
          { requiredKeys: ['name', 'observed', 'expected'] },
        ),
        { maxLength: 3 },
      ),
    }),
  });

const notificationArb = (id: string): fc.Arbitrary<AlertNotification> =>
  fc.record({
    id: fc.constant(id),
    groupKey: textArb,
    warehouse: warehouseArb,
    type: fc.constantFrom<Anomaly['type']>('shrinkage', 'negative_stock'),
    severity: fc.constantFrom<Anomaly['severity']>('critical', 'warning', 'info'),
    anomalies: fc.tuple(anomalyArb(`${id}-a`), anomalyArb(`${id}-b`)).chain(([a, b]) => fc.subarray([a, b])),
    suppressed: fc.nat({ max: 1_000 }),
  });

const POOL = 8;

/**
 * A scenario: pools of applied events, dead letters and anomalies whose content is fixed by their key
 * (a replay re-sends the same content; what a store keeps on a key clash with other content is not
 * promised), and batches that pick from them. Some batches are poisoned and must change nothing.
 *
 * @example
 * ```ts
 * fc.assert(fc.asyncProperty(scenarioArb, async (batches) => { for (const { commit } of batches) await store.commit(commit); }));
 * ```
 */
export const scenarioArb = fc
  .record({
    eventTimes: fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: POOL, maxLength: POOL }),
    deadLetters: fc.array(
      fc.record({
        partitionKey: textArb,
        arrivalTimestamp: timeArb,
        code: textArb,
        reason: textArb,
        data: fc.uint8Array({ maxLength: 40 }),
        disposition: fc.option(fc.constantFrom<'dead_letter' | 'quarantine'>('dead_letter', 'quarantine'), {
          nil: undefined,
        }),
      }),
      { minLength: POOL, maxLength: POOL },
    ),
    // Keys: two receivers, and notification ids some of which both receivers refused.
    undelivered: fc.tuple(
      ...Array.from({ length: POOL }, (_, i) =>
        fc.record({
          receiver: fc.constant(i % 2 === 0 ? 'ops' : 'Ops'),
          notification: notificationArb(`notification-${i >> 1}`),
          shardId: fc.constantFrom('shard-0', 'shard-1'),
          reason: textArb,
        }),
      ),
    ),
    anomalies: fc.tuple(...Array.from({ length: POOL }, (_, i) => anomalyArb(`anomaly-${i}`))),
    batches: fc.array(
      fc.record({
        shardId: fc.constantFrom('shard-0', 'shard-1'),
        checkpoint: fc.record({ sequenceNumber: sequenceArb, subSequenceNumber: fc.nat({ max: 1_000 }) }),
        series: fc.uniqueArray(seriesArb, { selector: seriesKey, maxLength: 5 }),
        values: fc.uniqueArray(
          fc.record({ key: fc.constantFrom('catalog', 'Catalog', 'alerts'), value: textArb }),
          {
            selector: (v) => v.key,
            maxLength: 3,
          },
        ),
        events: fc.uniqueArray(fc.nat({ max: POOL - 1 }), { maxLength: POOL }),
        forgetEventsBefore: fc.option(fc.integer({ min: 0, max: 1_000 }), { nil: undefined }),
        deadLetters: fc.uniqueArray(fc.nat({ max: POOL - 1 }), { maxLength: 3 }),
        anomalies: fc.uniqueArray(fc.nat({ max: POOL - 1 }), { maxLength: 3 }),
        undelivered: fc.option(fc.uniqueArray(fc.nat({ max: POOL - 1 }), { maxLength: 3 }), {
          nil: undefined,
        }),
        poisoned: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .map((s) => {
    const deadLetterPool: DeadLetter[] = s.deadLetters.map(({ disposition, ...d }, i) => ({
      ...d,
      ...(disposition === undefined ? {} : { disposition }),
      shardId: `shard-${i % 2}`,
      // Distinct keys that a double could not tell apart: 2^127 + i.
      sequenceNumber: String(2n ** 127n + BigInt(i >> 1)),
      subSequenceNumber: 0,
    }));
    return s.batches.map((b): { commit: BatchCommit; poisoned: boolean } => ({
      poisoned: b.poisoned,
      commit: {
        shardId: b.shardId,
        checkpoint: b.checkpoint,
        series: b.poisoned
          ? [...b.series, { ...seriesRow('x', 'y'), sku: null as unknown as string }]
          : b.series,
        values: b.values,
        appliedEvents: b.events.map((i) => ({
          eventId: `evt-${i}`,
          occurredAt: s.eventTimes[i] as number,
          sku: `SKU-${i % 3}`,
          warehouse: `WH-${i % 2}`,
        })),
        ...(b.forgetEventsBefore === undefined ? {} : { forgetEventsBefore: b.forgetEventsBefore }),
        deadLetters: b.deadLetters.map((i) => deadLetterPool[i] as DeadLetter),
        anomalies: b.anomalies.map((i) => s.anomalies[i] as Anomaly),
        ...(b.undelivered === undefined
          ? {}
          : { undelivered: b.undelivered.map((i) => s.undelivered[i] as UndeliveredNotification) }),
      },
    }));
  });
