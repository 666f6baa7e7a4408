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
import type {
  Anomaly,
  BatchCommit,
  DeadLetter,
  StateStore,
  UndeliveredNotification,
} from '../pipeline/ports.js';
import { StaleCheckpointError } from '../pipeline/ports.js';
import {
  anomaly,
  at,
  batch,
  byKey,
  deadLetter,
  fullBatch,
  ModelStore,
  normalDeadLetters,
  normalState,
  notification,
  scenarioArb,
  seriesRow,
  snapshot,
  T0,
  undelivered,
  undeliveredKey,
} from './store-contract-model.js';

// The fixtures, shared with the store-specific tests, as they have always been imported.
export {
  anomaly,
  at,
  batch,
  deadLetter,
  notification,
  seriesRow,
  T0,
  undelivered,
} from './store-contract-model.js';

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
