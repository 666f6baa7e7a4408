/**
 * Acceptance of the Kinesis worker (issue 5), end to end with real processes and real stand-ins:
 * kinesalite (Kinesis) and DynamoDB Local (lease table), two `shelfwatch run` worker processes sharing
 * a SQLite state file, alerts to a loopback webhook that keeps every delivery.
 *
 * - A generated dataset is put on a 4-shard stream while both workers consume it; one worker is
 *   killed with SIGKILL mid-stream and a new one joins; both are stopped and restarted later.
 * - The final state must equal the offline reference: one process over the same records, shard by
 *   shard (and, for the inventory numbers, one process over the plain file); every alert exactly once
 *   by id; the restarted workers read only what is new, not from TRIM_HORIZON.
 * - A second stream is split and merged while the workers consume it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  type Shard,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineFromConfig } from '../cli/engine-from-config.js';
import {
  createKinesisClient,
  createLeaseTableClient,
  LeaseTable,
  partitionKeysOf,
} from '../connectors/kinesis/index.js';
import { putRecords } from '../connectors/kinesis/producer.js';
import { createSqliteStore } from '../connectors/sql/sqlite.js';
import { simulateInventory } from '../datasets/index.js';
import {
  type AlertNotification,
  type AlertSink,
  deaggregate,
  loadRunConfig,
  MemoryStateStore,
  type SeriesRow,
  type StreamRecord,
} from '../pipeline/index.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './servers/dynamodb-local.js';
import {
  createStream,
  type Kinesalite,
  LOCAL_CREDENTIALS,
  startKinesalite,
  waitActive,
} from './servers/kinesalite.js';
import { freePort } from './servers/ports.js';

const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-workers-'));
let kinesalite: Kinesalite;
let ddbLocal: DynamoDbLocal;
let kinesis: KinesisClient;
let webhook: Server;
let webhookUrl = '';
/** Every POST the webhook received: its Idempotency-Key and notification. */
const deliveries: Array<{ key: string; notification: AlertNotification }> = [];

beforeAll(async () => {
  [kinesalite, ddbLocal] = await Promise.all([startKinesalite(), startDynamoDbLocal()]);
  kinesis = createKinesisClient({
    endpoint: kinesalite.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const parsed = JSON.parse(body) as { notification: AlertNotification };
      deliveries.push({ key: String(req.headers['idempotency-key']), notification: parsed.notification });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
}, 90_000);

afterAll(async () => {
  await Promise.all([kinesalite?.close(), ddbLocal?.close(), new Promise((r) => webhook?.close(r))]);
  rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, stream: string, workerId: string, metricsPort: number): string {
  const path = join(dir, `${name}-${workerId}.yaml`);
  writeFileSync(
    path,
    [
      'source:',
      '  type: kinesis',
      `  stream: ${stream}`,
      `  applicationName: ${name}-app`,
      `  workerId: ${workerId}`,
      '  failoverTimeMs: 2000',
      '  pollIntervalMs: 100',
      '  shardSyncIntervalMs: 1000',
      `  endpoint: ${kinesalite.endpoint}`,
      `  leaseTableEndpoint: ${ddbLocal.endpoint}`,
      '  region: us-east-1',
      `store: { type: sqlite, path: ${join(dir, `${name}.db`)} }`,
      `alerts: { sinks: [{ type: webhook, url: "${webhookUrl}" }] }`,
      `metrics: { port: ${metricsPort} }`,
      'log: { level: info }',
    ].join('\n'),
  );
  return path;
}

interface Worker {
  process: ChildProcess;
  metricsPort: number;
  /** Its stderr and its JSON log (stdout), as they came. */
  output: string[];
}

async function startWorker(name: string, stream: string, workerId: string): Promise<Worker> {
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'cli/index.ts'),
      'run',
      '--config',
      configFile(name, stream, workerId, metricsPort),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: 'us-east-1',
      },
    },
  );
  const output: string[] = [];
  // The JSON log (stdout) too: its lease transitions explain a timeout.
  child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
  return { process: child, metricsPort, output };
}

const exited = (p: ChildProcess): Promise<void> =>
  p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => p.once('exit', () => r()));

async function stopWorker(w: Worker, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  w.process.kill(signal);
  await exited(w.process);
}

/** The sum of one metric's series in a worker's /metrics (0 while it is not listening yet). */
async function metricOf(w: Worker, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))) n += Number(m[1]);
    return n;
  } catch {
    return 0;
  }
}

/** Records a worker has received and committed, from its /metrics. */
const recordsOf = (w: Worker): Promise<number> => metricOf(w, 'shelfwatch_records_total');

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  workers: Worker[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}\n${workers.map((w) => w.output.join('').slice(-3000)).join('\n---\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function datasetLines(seed: number): string[] {
  const out: string[] = [];
  for (const o of simulateInventory({ seed, days: 5, skus: 60, warehouses: 3, anomalyRate: 0.05 }))
    if (o.type === 'record') out.push(o.line);
  return out;
}

/** One record per series of each line (the partitioning contract; see partitionKeysOf). */
const toProducer = (lines: readonly string[]) =>
  lines.flatMap((l) => partitionKeysOf(l).map((partitionKey) => ({ partitionKey, data: Buffer.from(l) })));

/** Puts lines in slices, pausing between them, so that the workers consume while records arrive. */
async function putPaced(
  stream: string,
  lines: readonly string[],
  slices: number,
  pauseMs: number,
  between?: (i: number) => Promise<void>,
) {
  const size = Math.ceil(lines.length / slices);
  for (let i = 0; i < slices; i++) {
    await putRecords(kinesis, toProducer(lines.slice(i * size, (i + 1) * size)), { streamName: stream });
    await between?.(i);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** Everything on every shard, read back from the stream: the input of the offline reference. */
async function readStream(stream: string): Promise<Array<{ shard: Shard; records: StreamRecord[] }>> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const out: Array<{ shard: Shard; records: StreamRecord[] }> = [];
  for (const shard of shards) {
    let it = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: stream,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    const records: StreamRecord[] = [];
    while (it) {
      const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      records.push(...deaggregate(shard.ShardId ?? '', r.Records ?? []).records);
      if ((r.Records ?? []).length === 0 && (r.MillisBehindLatest ?? 0) === 0) break;
      it = r.NextShardIterator;
    }
    out.push({ shard, records });
  }
  return out;
}

class RecordingSink implements AlertSink {
  readonly name = 'webhook';
  readonly ids = new Set<string>();
  async publish(ns: readonly AlertNotification[]): Promise<void> {
    for (const n of ns) this.ids.add(n.id);
  }
  async close(): Promise<void> {}
}

/**
 * The offline reference: one process, the same configuration, over the same records shard by shard,
 * parents before children, each closed shard ended as the workers end it.
 */
async function reference(name: string, stream: string) {
  const config = loadRunConfig({ file: configFile(name, stream, 'reference', 0), env: {} });
  const store = new MemoryStateStore();
  const sink = new RecordingSink();
  const engine = createEngineFromConfig(config, { store, sinks: new Map([['webhook', sink]]) });
  await engine.start();
  const shards = await readStream(stream);
  const done = new Set<string>();
  while (done.size < shards.length) {
    for (const { shard, records } of shards) {
      const id = shard.ShardId ?? '';
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p);
      if (done.has(id) || !parents.every((p) => done.has(p) || !shards.some((s) => s.shard.ShardId === p)))
        continue;
      const p = engine.createProcessor(id);
      await p.initialize({ shardId: id, checkpoint: null, parentShardIds: parents });
      const checkpointer = { checkpoint: async () => {} };
      if (records.length > 0) await p.processRecords({ shardId: id, records, checkpointer });
      if (shard.SequenceNumberRange?.EndingSequenceNumber !== undefined)
        await p.shardEnded({ shardId: id, checkpointer });
      done.add(id);
    }
  }
  const total = shards.reduce((n, s) => n + s.records.length, 0);
  const lastSeq = new Map(
    shards.map(({ shard, records }) => [shard.ShardId ?? '', records.at(-1)?.sequenceNumber ?? null]),
  );
  return { store, sink, lastSeq, total };
}

/** The inventory numbers of a series (what other systems read), for comparing with the plain file run. */
const numbers = (rows: readonly SeriesRow[]) =>
  rows
    .map(({ model: _model, ...n }) => n)
    .sort((a, b) => `${a.sku}|${a.warehouse}`.localeCompare(`${b.sku}|${b.warehouse}`));

async function fileReference(lines: readonly string[]) {
  const config = loadRunConfig({ env: {} });
  const store = new MemoryStateStore();
  const engine = createEngineFromConfig(config, {
    store,
    sinks: new Map([['console', new RecordingSink()]]),
  });
  await engine.start();
  const records = lines.map((l, i) => ({
    partitionKey: 'file',
    data: Buffer.from(l),
    sequenceNumber: String(i + 1),
    subSequenceNumber: 0,
    approximateArrivalTimestamp: Date.now(),
  }));
  await engine.processBatch({ shardId: 'file-0', records, checkpointer: { checkpoint: async () => {} } });
  return store.seriesRows();
}

async function workersCaughtUp(name: string, lastSeq: Map<string, string | null>): Promise<boolean> {
  const store = createSqliteStore({ path: join(dir, `${name}.db`) });
  try {
    await store.open();
    for (const [shard, seq] of lastSeq) {
      if (seq === null) continue;
      if ((await store.loadCheckpoint(shard))?.sequenceNumber !== seq) return false;
    }
    return true;
  } finally {
    await store.close();
  }
}

async function storedState(name: string) {
  const store = createSqliteStore({ path: join(dir, `${name}.db`) });
  await store.open();
  const state = await store.load();
  const anomalies = await store.listAnomalies();
  await store.close();
  const series = [...state.series].sort((a, b) =>
    `${a.sku}|${a.warehouse}`.localeCompare(`${b.sku}|${b.warehouse}`),
  );
  return { series, anomalies };
}

describe('two worker processes on a 4-shard stream', () => {
  it('kill -9 mid-stream, a new worker joins, both restart: state equals the offline reference, alerts once', async () => {
    const name = 'fail';
    const stream = 'inventory-fail';
    await createStream(kinesis, stream, 4);
    deliveries.length = 0;
    const lines = datasetLines(5);
    const batch1 = lines.slice(0, Math.floor(lines.length * 0.8));
    const batch2 = lines.slice(batch1.length);
    let a = await startWorker(name, stream, 'worker-a');
    const b = await startWorker(name, stream, 'worker-b');
    let c: Worker | null = null;
    let killed = false;
    await putPaced(stream, batch1, 8, 400, async (i) => {
      // B may take every lease first and read all that is on the stream before A steals its share:
      // A then has nothing to read until more is put. So wait until A holds leases, and kill it once
      // it has read records of the slices put after that.
      if (i === 3)
        await until(
          'worker a holds leases',
          async () => (await metricOf(a, 'shelfwatch_leases_held')) > 0,
          30_000,
          [a, b],
        );
      if (i >= 4 && !killed) {
        await until('worker a has read records', async () => (await recordsOf(a)) > 0, 30_000, [a, b]);
        // Mid-stream: worker A dies without a word (no checkpoint, no lease release).
        await stopWorker(a, 'SIGKILL');
        killed = true;
      }
      if (i === 5) c = await startWorker(name, stream, 'worker-c');
    });
    expect(killed).toBe(true);
    const ref1 = await reference(name, stream);
    const live = [b, c as unknown as Worker];
    await until('workers caught up with batch 1', () => workersCaughtUp(name, ref1.lastSeq), 60_000, live);
    // Both stop gracefully: they checkpoint and release their leases.
    await Promise.all(live.map((w) => stopWorker(w)));
    const leases = await new LeaseTable(
      createLeaseTableClient({
        endpoint: ddbLocal.endpoint,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      }),
      `${name}-app`,
    ).list();
    expect(leases.map((l) => l.leaseOwner)).toEqual([null, null, null, null]);

    // Restart both: they resume from the checkpoints and read only the new records.
    await putRecords(kinesis, toProducer(batch2), { streamName: stream });
    a = await startWorker(name, stream, 'worker-a');
    const d = await startWorker(name, stream, 'worker-d');
    const ref = await reference(name, stream);
    expect(ref.total).toBe(toProducer(lines).length);
    await until('workers caught up with batch 2', () => workersCaughtUp(name, ref.lastSeq), 60_000, [a, d]);
    // The metrics move just after the commit the catch-up check saw: wait for them, then make sure
    // nothing more comes (a replay from TRIM_HORIZON would go far beyond).
    const expectedNew = toProducer(batch2).length;
    const readNow = async () => (await recordsOf(a)) + (await recordsOf(d));
    await until('metrics of the restarted workers', async () => (await readNow()) >= expectedNew, 10_000, [
      a,
      d,
    ]);
    await new Promise((r) => setTimeout(r, 1_000));
    const readAfterRestart = await readNow();
    await Promise.all([stopWorker(a), stopWorker(d)]);
    expect(readAfterRestart).toBe(expectedNew);

    const got = await storedState(name);
    // Same state as the reference, row for row (numbers and model).
    expect(got.series).toEqual(ref.store.seriesRows());
    // Same inventory numbers as one process over the plain file.
    expect(numbers(got.series)).toEqual(numbers(await fileReference(lines)));
    // Every anomaly once, the same set as the reference.
    expect(got.anomalies.map((x) => x.id).sort()).toEqual(
      ref.store
        .anomalies()
        .map((x) => x.id)
        .sort(),
    );
    // Every expected alert delivered, none unexpected; a repeat (a killed worker's unacknowledged
    // batch, sent again by the new owner) carries the same id and is dropped by it.
    const keys = new Set(deliveries.map((x) => x.key));
    expect([...keys].sort()).toEqual([...ref.sink.ids].sort());
    expect(deliveries.every((x) => x.key === x.notification.id)).toBe(true);
    console.log(
      `workers: ${lines.length} records, ${ref.store.anomalies().length} anomalies, ${keys.size} alerts, ` +
        `${deliveries.length - keys.size} repeated deliveries dropped by id`,
    );
  }, 240_000);

  it('split one shard and merge two while two workers consume: nothing skipped, nothing applied twice', async () => {
    const name = 'reshard';
    const stream = 'inventory-reshard';
    await createStream(kinesis, stream, 4);
    deliveries.length = 0;
    const lines = datasetLines(9);
    const a = await startWorker(name, stream, 'worker-a');
    const b = await startWorker(name, stream, 'worker-b');
    await putPaced(stream, lines, 6, 300, async (i) => {
      if (i === 1) {
        const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
        const s0 = shards[0] as Shard;
        const lo = BigInt(s0.HashKeyRange?.StartingHashKey ?? '0');
        const hi = BigInt(s0.HashKeyRange?.EndingHashKey ?? '0');
        await kinesis.send(
          new SplitShardCommand({
            StreamName: stream,
            ShardToSplit: s0.ShardId,
            NewStartingHashKey: String((lo + hi) / 2n),
          }),
        );
        await waitActive(kinesis, stream);
      }
      if (i === 3) {
        const open = ((await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [])
          .filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined)
          .sort((x, y) =>
            BigInt(x.HashKeyRange?.StartingHashKey ?? '0') < BigInt(y.HashKeyRange?.StartingHashKey ?? '0')
              ? -1
              : 1,
          );
        await kinesis.send(
          new MergeShardsCommand({
            StreamName: stream,
            ShardToMerge: open[2]?.ShardId,
            AdjacentShardToMerge: open[3]?.ShardId,
          }),
        );
        await waitActive(kinesis, stream);
      }
    });
    const ref = await reference(name, stream);
    await until('workers caught up', () => workersCaughtUp(name, ref.lastSeq), 60_000, [a, b]);
    await Promise.all([stopWorker(a), stopWorker(b)]);
    const got = await storedState(name);
    expect(got.series).toEqual(ref.store.seriesRows());
    expect(numbers(got.series)).toEqual(numbers(await fileReference(lines)));
    expect(got.anomalies.map((x) => x.id).sort()).toEqual(
      ref.store
        .anomalies()
        .map((x) => x.id)
        .sort(),
    );
    expect([...new Set(deliveries.map((x) => x.key))].sort()).toEqual([...ref.sink.ids].sort());
  }, 240_000);
});
