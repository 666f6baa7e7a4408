/**
 * The `StateStore` contract as a reusable Vitest suite: every store (SQLite, MySQL/MariaDB, DynamoDB)
 * runs the same tests, which check only what `pipeline/ports.ts` promises — what a commit writes is
 * what a load reads, all of a batch or none of it, a replayed batch changes nothing, checkpoints are
 * per shard, the duplicate window forgets what it is told to — never how a store does it.
 *
 * Dead letters, anomalies and undelivered notifications are written by `commit` but not read by
 * `load`, so the suite also needs the small read side every store offers for the CLI and audits:
 * {@link StoreInspection}.
 *
 * A dead letter's `disposition` is read back only when it is `quarantine`: a store returns a dead
 * letter written as `dead_letter` (or without a disposition) without the field, as the port says
 * "absent means `dead_letter`".
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExtendedSequenceNumber } from '../pipeline/lifecycle.js';
import type {
  AlertNotification,
  Anomaly,
  AppliedEvent,
  BatchCommit,
  DeadLetter,
  SeriesRow,
  StateStore,
  StoredState,
  UndeliveredNotification,
} from '../pipeline/ports.js';
import { StaleCheckpointError } from '../pipeline/ports.js';

/**
 * What the contract reads besides `load()`: dead letters, the anomaly log and the undelivered
 * (parked) notifications, in any order.
 *
 * @example
 * ```ts
 * const n = await store.countDeadLetters();
 * const letters = await store.listDeadLetters();
 * const anomalies = await store.listAnomalies();
 * const parked = await store.listUndelivered();
 * ```
 */
export interface StoreInspection {
  countDeadLetters(): Promise<number>;
  /** Each with `disposition: 'quarantine'` when it was written so, and without the field otherwise. */
  listDeadLetters(): Promise<DeadLetter[]>;
  listAnomalies(): Promise<Anomaly[]>;
  listUndelivered(): Promise<UndeliveredNotification[]>;
}

/**
 * A store the contract can test.
 *
 * @example
 * ```ts
 * const store: InspectableStateStore = createSqliteStore({ path: ':memory:' });
 * ```
 */
export type InspectableStateStore = StateStore & StoreInspection;

/**
 * Options of {@link stateStoreContract}.
 *
 * @example
 * ```ts
 * const options: StoreContractOptions<SqlStateStore> = {
 *   reopen: async (closed) => createSqliteStore({ path: pathOf.get(closed)! }),
 *   propertyRuns: 40,
 * };
 * ```
 */
export interface StoreContractOptions<S extends InspectableStateStore> {
  /**
   * A new, unopened store over the same storage as `closed` (which the suite has closed), for the
   * close-and-reopen test. Omit for storage that does not outlive its store (`:memory:`): the test is
   * then not registered.
   */
  reopen?: (closed: S) => Promise<S>;
  /** Runs of the random-batches property (default 40); lower it for slow remote stores. */
  propertyRuns?: number;
}

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
        { name: 'count_gap', observed: 4, expected: 9, contribution: 0.8 },
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

/** A batch that touches every table, for the tests that want "everything". */
function fullBatch(sequenceNumber: string, tag: string): BatchCommit {
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

function byKey<T>(rows: readonly T[], key: (row: T) => string): T[] {
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

const seriesKey = (s: { sku: string; warehouse: string }): string => `${s.sku}\u0000${s.warehouse}`;
const deadLetterKey = (d: DeadLetter): string =>
  `${d.shardId}\u0000${d.sequenceNumber}\u0000${d.subSequenceNumber}`;

function normalState(state: StoredState): StoredState {
  return {
    series: byKey(state.series, seriesKey),
    values: byKey(state.values, (v) => v.key),
    recentEvents: byKey(state.recentEvents, (e) => e.eventId),
  };
}

function normalDeadLetters(letters: readonly DeadLetter[]): DeadLetter[] {
  // A Buffer and a Uint8Array with the same bytes are the same dead letter.
  return byKey(letters, deadLetterKey).map((d) => ({ ...d, data: new Uint8Array(d.data) }));
}

const undeliveredKey = (u: UndeliveredNotification): string =>
  JSON.stringify([u.receiver, u.notification.id]);

/** What a store reads back of a dead letter written as `d` (see the module comment). */
function storedDeadLetter(d: DeadLetter): DeadLetter {
  const { disposition, ...rest } = d;
  return disposition === 'quarantine' ? { ...rest, disposition } : rest;
}

const SHARDS = ['shard-0', 'shard-1', 'shard-never-seen'];

interface Snapshot {
  state: StoredState;
  checkpoints: Record<string, ExtendedSequenceNumber | null>;
  deadLetters: DeadLetter[];
  deadLetterCount: number;
  anomalies: Anomaly[];
  undelivered: UndeliveredNotification[];
}

async function snapshot(store: InspectableStateStore): Promise<Snapshot> {
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

/** What a store should hold after a sequence of commits: the ports' promises, in plain Maps. */
class ModelStore {
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
          { name: textArb, observed: numberArb, expected: numberArb, contribution: unitArb },
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
 */
const scenarioArb = fc
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

// ---- the suite -------------------------------------------------------------------------------------

/**
 * Registers the `StateStore` contract tests for one store.
 *
 * @param name - shown as the `describe` title.
 * @param makeStore - a new, unopened store over new, empty storage (a temp file, a fresh database or
 *   table), isolated from every other store it returned; the suite opens and closes it.
 * @param cleanup - called with each store after the suite has closed it (remove its file, drop its
 *   database).
 * @example
 * ```ts
 * stateStoreContract('SQLite :memory:', async () => createSqliteStore({ path: ':memory:' }));
 * ```
 */
export function stateStoreContract<S extends InspectableStateStore>(
  name: string,
  makeStore: () => Promise<S>,
  cleanup?: (store: S) => Promise<void> | void,
  options: StoreContractOptions<S> = {},
): void {
  describe(`StateStore contract: ${name}`, () => {
    const live: S[] = [];
    const closed = new Set<S>();

    async function fresh(): Promise<S> {
      const store = await makeStore();
      live.push(store);
      await store.open();
      return store;
    }
    async function closeStore(store: S): Promise<void> {
      if (closed.has(store)) return;
      closed.add(store);
      await store.close();
    }
    async function release(store: S): Promise<void> {
      try {
        await closeStore(store);
      } finally {
        await cleanup?.(store);
      }
    }

    afterEach(async () => {
      const stores = live.splice(0);
      for (const store of stores) await release(store);
      closed.clear();
    });

    it('opens twice without harm (migrations are idempotent) and starts empty', async () => {
      const store = await fresh();
      await store.open();
      expect(await store.load()).toEqual({ series: [], values: [], recentEvents: [] });
      expect(await store.loadCheckpoint('shard-0')).toBeNull();
      expect(await store.countDeadLetters()).toBe(0);
      expect(await store.listDeadLetters()).toEqual([]);
      expect(await store.listAnomalies()).toEqual([]);
      expect(await store.listUndelivered()).toEqual([]);
    });

    it('loads exactly what a commit wrote: numbers, nulls, text and bytes', async () => {
      const store = await fresh();
      const written = batch({
        shardId: 'shard-1',
        checkpoint: {
          sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
          subSequenceNumber: 3,
        },
        series: [
          seriesRow('SKU-1', 'WH-1'),
          seriesRow('SKU-1', 'WH-2', {
            lastCountQuantity: null,
            lastCountAt: null,
            onHand: 0,
            salesVelocity: 0,
          }),
          seriesRow('SKU-ü-😀', 'WH-1', {
            onHand: -3.25,
            reserved: 1e-5,
            inbound: 9_007_199_254_740_991,
            salesVelocity: 0.1 + 0.2,
            lastCountQuantity: 0,
            lastCountAt: 0,
            lastEventAt: 4_102_444_800_000,
            model: '{"w":[0.1,2e-7],"s":"quote \\" tab \\t newline \\n","emoji":"😀"}\n',
          }),
        ],
        values: [
          { key: 'catalog', value: JSON.stringify({ 'SKU-1': { price: 3.5 } }) },
          { key: 'empty', value: '' },
          { key: 'large', value: 'x'.repeat(200_000) },
        ],
        appliedEvents: [
          { eventId: 'evt-1', occurredAt: T0, sku: 'SKU-1', warehouse: 'WH-1' },
          { eventId: 'evt-2', occurredAt: T0 + 1, sku: 'SKU-1', warehouse: 'WH-1' },
        ],
        deadLetters: [
          deadLetter('17'),
          deadLetter('18', { data: new Uint8Array(0), partitionKey: '', reason: 'empty' }),
          deadLetter('19', { code: 'future_event', disposition: 'quarantine' }),
          deadLetter('20', { code: 'expired_event', disposition: 'dead_letter' }),
        ],
        anomalies: [
          anomaly('anomaly-1'),
          anomaly('anomaly-2', { severity: 'critical', eventIds: [], score: 1 }),
        ],
        undelivered: [
          undelivered('ops-webhook', 'n-1'),
          // The same notification refused by a second receiver is a second entry.
          undelivered('slack-ü-😀', 'n-1', { shardId: 'shard-1', reason: '' }),
          undelivered('ops-webhook', 'n-2', {
            // Longer than MySQL's TEXT (64 KiB) and than DynamoDB's inline text.
            reason: `403 Forbidden: ${'denied '.repeat(10_000)}`,
            notification: notification('n-2', {
              anomalies: Array.from({ length: 200 }, (_, i) => anomaly(`n-2-${i}`, { score: i / 200 })),
              suppressed: 7,
            }),
          }),
        ],
      });
      await store.commit(written);

      const model = new ModelStore();
      model.commit(written);
      expect(await snapshot(store)).toEqual(model.snapshot());
      // A disposition is read back only when it is a quarantine (absent means dead_letter).
      const dispositions = (await store.listDeadLetters()).map((d) => [d.sequenceNumber, d.disposition]);
      expect(byKey(dispositions, (d) => String(d[0]))).toEqual([
        ['17', undefined],
        ['18', undefined],
        ['19', 'quarantine'],
        ['20', undefined],
      ]);
      expect((await store.listDeadLetters()).find((d) => d.sequenceNumber === '20')).not.toHaveProperty(
        'disposition',
      );
      expect(byKey(await store.listUndelivered(), undeliveredKey)).toEqual(
        byKey(written.undelivered ?? [], undeliveredKey),
      );
      expect(await store.loadCheckpoint('shard-1')).toEqual(written.checkpoint);
      const letters = normalDeadLetters(await store.listDeadLetters());
      expect(Array.from(letters[0]?.data ?? [])).toEqual([0x7b, 0x00, 0xff, 0x80, 0x0a]);
      expect(letters[1]?.data.byteLength).toBe(0);
    });

    it('upserts: a later commit replaces a series row and a value (nulls included), and leaves others', async () => {
      const store = await fresh();
      await store.commit(
        batch({
          series: [seriesRow('SKU-1', 'WH-1'), seriesRow('SKU-2', 'WH-1')],
          values: [
            { key: 'catalog', value: 'v1' },
            { key: 'alerts', value: 'a1' },
          ],
        }),
      );
      const replacement = seriesRow('SKU-1', 'WH-1', {
        onHand: 5,
        lastCountQuantity: null,
        lastCountAt: null,
        model: '{"v":2}',
      });
      await store.commit(
        batch({
          checkpoint: { sequenceNumber: '2', subSequenceNumber: 0 },
          series: [replacement],
          values: [{ key: 'catalog', value: 'v2' }],
        }),
      );
      const state = normalState(await store.load());
      expect(state.series).toEqual([replacement, seriesRow('SKU-2', 'WH-1')]);
      expect(state.values).toEqual([
        { key: 'alerts', value: 'a1' },
        { key: 'catalog', value: 'v2' },
      ]);
    });

    it('keeps one checkpoint per shard, null for a shard never committed', async () => {
      const store = await fresh();
      await store.commit(
        batch({ shardId: 'shard-0', checkpoint: { sequenceNumber: '10', subSequenceNumber: 0 } }),
      );
      await store.commit(
        batch({ shardId: 'shard-1', checkpoint: { sequenceNumber: '20', subSequenceNumber: 3 } }),
      );
      await store.commit(
        batch({ shardId: 'shard-0', checkpoint: { sequenceNumber: '11', subSequenceNumber: 1 } }),
      );
      expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '11', subSequenceNumber: 1 });
      expect(await store.loadCheckpoint('shard-1')).toEqual({ sequenceNumber: '20', subSequenceNumber: 3 });
      expect(await store.loadCheckpoint('shard-never-seen')).toBeNull();
    });

    it('loadSeries reads exactly the named series and their applied events; loadValues the named keys', async () => {
      const store = await fresh();
      const rows = [
        seriesRow('SKU-1', 'WH-1', { onHand: 1 }),
        seriesRow('SKU-1', 'WH-2', { onHand: 2 }),
        seriesRow('SKU-2', 'WH-1', { onHand: 3, lastCountQuantity: null }),
        // Keys that a naive concatenation would confuse with SKU-1 × WH-1.
        seriesRow('SKU-1W', 'H-1', { onHand: 4 }),
      ];
      await store.commit(
        batch({
          series: rows,
          values: [
            { key: 'router/shard-0', value: 'r0' },
            { key: 'router/shard-1', value: 'r1' },
          ],
          appliedEvents: [
            { eventId: 'a', occurredAt: T0, sku: 'SKU-1', warehouse: 'WH-1' },
            { eventId: 'b', occurredAt: T0 + 1, sku: 'SKU-1', warehouse: 'WH-2' },
            { eventId: 'c', occurredAt: T0 + 2, sku: 'SKU-1', warehouse: 'WH-1' },
            { eventId: 'd', occurredAt: T0 + 3, sku: 'SKU-1W', warehouse: 'H-1' },
          ],
        }),
      );
      const got = await store.loadSeries([
        { sku: 'SKU-1', warehouse: 'WH-1' },
        { sku: 'SKU-2', warehouse: 'WH-1' },
        { sku: 'SKU-9', warehouse: 'WH-1' },
      ]);
      const byKey = (a: { sku: string; warehouse: string }, b: { sku: string; warehouse: string }) =>
        `${a.sku}|${a.warehouse}`.localeCompare(`${b.sku}|${b.warehouse}`);
      expect([...got.series].sort(byKey)).toEqual([rows[0], rows[2]]);
      expect(got.recentEvents.map((e) => e.eventId).sort()).toEqual(['a', 'c']);
      expect(got.recentEvents.find((e) => e.eventId === 'c')).toEqual({
        eventId: 'c',
        occurredAt: T0 + 2,
        sku: 'SKU-1',
        warehouse: 'WH-1',
      });
      expect(await store.loadSeries([])).toEqual({ series: [], recentEvents: [] });
      // Many keys at once (more than one IN list).
      const many = Array.from({ length: 1_200 }, (_, i) => ({ sku: `SKU-${i}`, warehouse: 'WH-1' }));
      expect((await store.loadSeries(many)).series.map((r) => r.onHand).sort()).toEqual([1, 3]);

      expect(await store.loadValues(['router/shard-1', 'router/none'])).toEqual([
        { key: 'router/shard-1', value: 'r1' },
      ]);
      expect(await store.loadValues([])).toEqual([]);
    });

    it('fencing: a commit whose expectedCheckpoint is not the stored one writes nothing and says so', async () => {
      const store = await fresh();
      const at = (n: string, sub = 0) => ({ sequenceNumber: n, subSequenceNumber: sub });
      // No checkpoint yet: null is the expectation that holds.
      await store.commit(batch({ shardId: 'shard-0', checkpoint: at('10'), expectedCheckpoint: null }));
      await expect(
        store.commit(batch({ shardId: 'shard-0', checkpoint: at('11'), expectedCheckpoint: null })),
      ).rejects.toBeInstanceOf(StaleCheckpointError);
      const before = await store.load();
      // Worker A and worker B both resumed from 10; B committed 20 first; A's 15 must not land.
      await store.commit(
        batch({
          shardId: 'shard-0',
          checkpoint: at('20'),
          expectedCheckpoint: at('10'),
          series: [seriesRow('SKU-1', 'WH-1', { onHand: 20 })],
        }),
      );
      const afterB = await store.load();
      expect(afterB).not.toEqual(before);
      const stale = store.commit(
        batch({
          shardId: 'shard-0',
          checkpoint: at('15'),
          expectedCheckpoint: at('10'),
          series: [seriesRow('SKU-1', 'WH-1', { onHand: 15 })],
          appliedEvents: [{ eventId: 'late', occurredAt: T0, sku: 'SKU-1', warehouse: 'WH-1' }],
          deadLetters: [deadLetter('15')],
          anomalies: [anomaly('stale')],
          undelivered: [undelivered('ops-webhook', 'stale')],
        }),
      );
      await expect(stale).rejects.toBeInstanceOf(StaleCheckpointError);
      await expect(stale).rejects.toMatchObject({ shardId: 'shard-0', actual: at('20'), expected: at('10') });
      expect(await store.load()).toEqual(afterB);
      expect(await store.loadCheckpoint('shard-0')).toEqual(at('20'));
      expect(await store.countDeadLetters()).toBe(0);
      expect(await store.listAnomalies()).toEqual([]);
      expect(await store.listUndelivered()).toEqual([]);
      // The sub-sequence number is part of the position.
      await expect(
        store.commit(batch({ shardId: 'shard-0', checkpoint: at('21'), expectedCheckpoint: at('20', 1) })),
      ).rejects.toBeInstanceOf(StaleCheckpointError);
      await store.commit(batch({ shardId: 'shard-0', checkpoint: at('21'), expectedCheckpoint: at('20') }));
      // Other shards are not affected, and a commit without expectation is not fenced.
      await store.commit(batch({ shardId: 'shard-1', checkpoint: at('5') }));
      expect(await store.loadCheckpoint('shard-1')).toEqual(at('5'));
    });

    it('is idempotent: the same batch committed twice leaves the same state, without duplicates', async () => {
      const store = await fresh();
      const b = fullBatch('5', 'a');
      await store.commit(b);
      const once = await snapshot(store);
      await store.commit(b);
      expect(await snapshot(store)).toEqual(once);
      expect(once.deadLetterCount).toBe(2);
      expect(once.anomalies).toHaveLength(1);
      expect(once.undelivered).toHaveLength(1);
      expect(once.state.recentEvents).toHaveLength(2);

      // A later batch that repeats some of them (a partial replay) adds only what is new.
      await store.commit({
        ...fullBatch('6', 'b'),
        appliedEvents: [
          ...b.appliedEvents,
          { eventId: 'evt-new', occurredAt: T0 + 3, sku: 'SKU-1', warehouse: 'WH-1' },
        ],
        deadLetters: [...b.deadLetters, deadLetter('96')],
        anomalies: [...b.anomalies, anomaly('anomaly-b')],
        undelivered: [...(b.undelivered ?? []), undelivered('ops-webhook', 'notification-new')],
      });
      // 95, 85 again; 96 twice (fullBatch's and the extra one); 86.
      expect(await store.countDeadLetters()).toBe(3);
      expect((await store.listUndelivered()).map((u) => u.notification.id).sort()).toEqual([
        'notification-a',
        'notification-new',
      ]);
      expect((await store.listAnomalies()).map((a) => a.id).sort()).toEqual(['anomaly-a', 'anomaly-b']);
      expect((await store.load()).recentEvents.map((e) => e.eventId).sort()).toEqual([
        'evt-a-1',
        'evt-a-2',
        'evt-new',
      ]);
    });

    it('undelivered notifications: one per receiver and id; a replay neither duplicates nor overwrites', async () => {
      const store = await fresh();
      const first = undelivered('ops-webhook', 'n-1', { reason: 'HTTP 410 Gone' });
      await store.commit(batch({ checkpoint: at('1'), undelivered: [first] }));
      // The same batch again, and a later one that parks the same notification for the same receiver
      // with another reason (a sink that answered differently on the replay): the first stays.
      await store.commit(batch({ checkpoint: at('1'), undelivered: [first] }));
      await store.commit(
        batch({
          checkpoint: at('2'),
          undelivered: [
            { ...first, reason: 'HTTP 404 Not Found', shardId: 'shard-1' },
            undelivered('pager', 'n-1'),
            // Repeated within one batch: the first wins there too.
            undelivered('pager', 'n-2', { reason: 'first' }),
            undelivered('pager', 'n-2', { reason: 'second' }),
          ],
        }),
      );
      const stored = byKey(await store.listUndelivered(), undeliveredKey);
      expect(stored.map((u) => [u.receiver, u.notification.id, u.reason])).toEqual([
        ['ops-webhook', 'n-1', 'HTTP 410 Gone'],
        ['pager', 'n-1', 'HTTP 410 Gone: the webhook was deleted'],
        ['pager', 'n-2', 'first'],
      ]);
      expect(stored[0]).toEqual(first);
      // A batch without the field (older callers) parks nothing and removes nothing.
      await store.commit(batch({ checkpoint: at('3') }));
      expect(await store.listUndelivered()).toHaveLength(3);
    });

    it("forgetEventsBefore forgets strictly older applied events of the batch's series, including ones the same batch applied", async () => {
      const store = await fresh();
      const ev = (id: string, t: number, sku = 'SKU-1') => ({
        eventId: id,
        occurredAt: t,
        sku,
        warehouse: 'WH-1',
      });
      await store.commit(
        batch({
          appliedEvents: [ev('e100', 100), ev('e200', 200), ev('e300', 300), ev('other50', 50, 'SKU-2')],
        }),
      );
      // Without forgetEventsBefore, nothing is forgotten.
      await store.commit(batch({ series: [seriesRow('SKU-1', 'WH-1')], appliedEvents: [ev('e50', 50)] }));
      expect((await store.load()).recentEvents).toHaveLength(5);

      await store.commit(
        batch({
          series: [seriesRow('SKU-1', 'WH-1')],
          appliedEvents: [ev('e150', 150), ev('e400', 400)],
          forgetEventsBefore: 200,
        }),
      );
      // SKU-2's events stay: its series was not in the batch (its shard's clock may lag far behind).
      expect(normalState(await store.load()).recentEvents).toEqual([
        ev('e200', 200),
        ev('e300', 300),
        ev('e400', 400),
        ev('other50', 50, 'SKU-2'),
      ]);
      expect((await store.loadSeries([{ sku: 'SKU-2', warehouse: 'WH-1' }])).recentEvents).toEqual([
        ev('other50', 50, 'SKU-2'),
      ]);
    });

    describe('atomicity: a commit that fails changes neither state nor checkpoint', () => {
      const poisons: Array<[string, (b: BatchCommit) => BatchCommit]> = [
        [
          'a series row without a sku, last of many',
          (b) => ({
            ...b,
            series: [...b.series, { ...seriesRow('x', 'WH-1'), sku: null as unknown as string }],
          }),
        ],
        [
          'an applied event without an id',
          (b) => ({
            ...b,
            appliedEvents: [
              ...b.appliedEvents,
              { eventId: null as unknown as string, occurredAt: T0, sku: 'SKU-1', warehouse: 'WH-1' },
            ],
          }),
        ],
        [
          'a dead letter without a shard',
          (b) => ({
            ...b,
            deadLetters: [...b.deadLetters, deadLetter('1', { shardId: null as unknown as string })],
          }),
        ],
        [
          'an anomaly without an id',
          (b) => ({ ...b, anomalies: [...b.anomalies, anomaly(null as unknown as string)] }),
        ],
        [
          'an undelivered notification without a receiver (written after everything but the checkpoint)',
          (b) => ({
            ...b,
            undelivered: [...(b.undelivered ?? []), undelivered(null as unknown as string, 'poisoned')],
          }),
        ],
      ];
      for (const [what, poison] of poisons) {
        it(what, async () => {
          const store = await fresh();
          await store.commit(fullBatch('1', 'before'));
          const before = await snapshot(store);

          const failing = poison({
            ...fullBatch('2', 'failing'),
            series: Array.from({ length: 50 }, (_, i) => seriesRow(`SKU-${i}`, 'WH-9', { onHand: i })),
            forgetEventsBefore: T0 + 10,
          });
          await expect(store.commit(failing)).rejects.toThrow();
          expect(await snapshot(store)).toEqual(before);

          // The store is still usable: the failed transaction is gone, not stuck open.
          await store.commit(fullBatch('3', 'after'));
          expect(await store.loadCheckpoint('shard-0')).toEqual({
            sequenceNumber: '3',
            subSequenceNumber: 0,
          });
          expect(await store.countDeadLetters()).toBe(4);
          expect((await store.listUndelivered()).map((u) => u.notification.id).sort()).toEqual([
            'notification-after',
            'notification-before',
          ]);
        });
      }
    });

    it('keeps 128-bit sequence numbers as exact strings', async () => {
      const store = await fresh();
      const max = (2n ** 128n - 1n).toString(); // 340282366920938463463374607431768211455
      const nextToMax = (2n ** 128n - 2n).toString(); // the same double as `max`
      await store.commit(
        batch({
          checkpoint: { sequenceNumber: max, subSequenceNumber: 2 },
          deadLetters: [
            deadLetter(max),
            deadLetter(nextToMax),
            deadLetter(max, { subSequenceNumber: 1 }),
            deadLetter('7', { shardId: 'shard-1' }),
          ],
        }),
      );
      expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: max, subSequenceNumber: 2 });
      const sequences = (await store.listDeadLetters()).map((d) => [
        d.shardId,
        d.sequenceNumber,
        d.subSequenceNumber,
      ]);
      expect(byKey(sequences, (s) => s.join('|'))).toEqual([
        ['shard-0', nextToMax, 0],
        ['shard-0', max, 0],
        ['shard-0', max, 1],
        ['shard-1', '7', 0],
      ]);
      for (const [, sequence] of sequences) expect(typeof sequence).toBe('string');
    });

    const reopen = options.reopen;
    if (reopen !== undefined) {
      it('keeps everything across close and reopen', async () => {
        const store = await fresh();
        await store.commit(fullBatch('1', 'a'));
        await store.commit({ ...fullBatch('2', 'b'), shardId: 'shard-1', forgetEventsBefore: T0 + 2 });
        const before = await snapshot(store);
        await closeStore(store);

        const again = await reopen(store);
        live.push(again);
        await again.open();
        expect(await snapshot(again)).toEqual(before);
        await again.commit(fullBatch('3', 'c'));
        expect(await again.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '3', subSequenceNumber: 0 });
      });
    }

    it('property: after any sequence of batches, the store holds what an in-memory model of them holds', async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (batches) => {
          const store = await makeStore();
          try {
            await store.open();
            const model = new ModelStore();
            for (const { commit, poisoned } of batches) {
              if (poisoned) {
                await expect(store.commit(commit)).rejects.toThrow();
              } else {
                await store.commit(commit);
                model.commit(commit);
              }
            }
            expect(await snapshot(store)).toEqual(model.snapshot());
          } finally {
            await store.close();
            await cleanup?.(store);
          }
        }),
        { numRuns: options.propertyRuns ?? 40 },
      );
    });
  });
}
