/**
 * The Kinesis worker end to end (issue 5), all on loopback: kinesalite (Kinesis), DynamoDB Local (the
 * lease table), real `shelfwatch run` worker processes sharing a SQLite file, alerts to a loopback
 * webhook.
 *
 * - **Throughput, 1 and 2 workers.** A generated dataset is put on a 4-shard stream first; then 1
 *   (resp. 2) workers start on a fresh lease table and a fresh SQLite file. Records/s = Kinesis records
 *   ÷ (the first GetRecords that returned data, seen on a worker's /metrics, → every shard's checkpoint
 *   in the store at the stream's end), so process start-up (tsx compile, lease taking) is left out.
 * - **Latency at a paced rate.** 2 workers already running (2 leases each), `alerts.groupWaitMs: 0`;
 *   a generated dataset with a high anomaly rate is put with PutRecords at a fixed rate. The webhook
 *   stamps every notification on arrival; an anomaly's latency = arrival − the time the PutRecords call
 *   carrying its triggering record (`eventIds[0]`) returned.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KinesisClient, PutRecordsCommand, type PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { createKinesisClient, partitionKeysOf } from '../connectors/kinesis/index.js';
import type { ProducerRecord } from '../connectors/kinesis/producer.js';
import { createSqliteStore } from '../connectors/sql/sqlite.js';
import { simulateInventory } from '../datasets/index.js';
import { type AlertNotification, createNormalizer, seriesKey } from '../pipeline/index.js';
import { type DynamoDbLocal, startDynamoDbLocal } from '../test/servers/dynamodb-local.js';
import {
  createStream,
  type Kinesalite,
  LOCAL_CREDENTIALS,
  startKinesalite,
} from '../test/servers/kinesalite.js';
import { freePort } from '../test/servers/ports.js';
import { type BenchRow, progress } from './harness.js';

export interface KinesisBenchOptions {
  /** Simulated days of 200 SKUs × 3 warehouses for the throughput stream (about 9k records a day). */
  throughputDays: number;
  /** Kinesis records per second put in the latency runs. */
  latencyRate: number;
  /** How long the latency runs put records, seconds. */
  latencySeconds: number;
  /** The workers' pollIntervalMs of each latency run (wait after an empty GetRecords). */
  pollIntervalsMs: number[];
}

const ROOT = new URL('..', import.meta.url).pathname;
const SHARDS = 4;
const REGION = 'us-east-1';
/** Latency dataset: 10× the generator's default anomaly rate, for enough anomalies to take a p99 of. */
const LATENCY_ANOMALY_RATE = 0.1;
/** PutRecords slices per second in the latency runs. */
const TICKS_PER_SECOND = 10;
/** Concurrent PutRecords lanes of the latency runs. */
const PUT_LANES = 2;

interface Env {
  dir: string;
  kinesalite: Kinesalite;
  ddb: DynamoDbLocal;
  kinesis: KinesisClient;
  webhookUrl: string;
  kinesalitePid: number | undefined;
  ddbPid: number | undefined;
  /** Every POST the webhook received, stamped on arrival (performance.now()). */
  deliveries: Array<{ at: number; notification: AlertNotification }>;
}

interface Worker {
  id: string;
  process: ChildProcess;
  metricsPort: number;
  stderr: string[];
}

interface WorkerConfig {
  app: string;
  stream: string;
  workerId: string;
  pollIntervalMs: number;
  maxLeasesPerWorker?: number;
  failoverTimeMs?: number;
  groupWaitMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- where the CPU went (Linux /proc; NaN elsewhere) ----------------------------------------------

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is field 3, utime 14, stime 15 (clock ticks, 100 a second).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The machine's busy and total CPU ticks so far (every process, ours or not). */
function machineTicks(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** The process whose command line matches (a local server the test helpers started). */
function findPid(match: (args: string[]) => boolean): number | undefined {
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (match(readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0'))) return Number(d);
      } catch {
        // Gone meanwhile.
      }
    }
  } catch {
    // No /proc.
  }
  return undefined;
}

interface CpuSnapshot {
  at: number;
  workers: number[];
  kinesalite: number;
  ddb: number;
  machine: { busy: number; total: number };
}

function cpuSnapshot(env: Env, workers: readonly Worker[]): CpuSnapshot {
  return {
    at: performance.now(),
    workers: workers.map((w) => cpuSeconds(w.process.pid)),
    kinesalite: cpuSeconds(env.kinesalitePid),
    ddb: cpuSeconds(env.ddbPid),
    machine: machineTicks(),
  };
}

/** Where the CPU went between two snapshots, in words. */
function cpuReport(a: CpuSnapshot, b: CpuSnapshot): string {
  return `CPU s over ${((b.at - a.at) / 1000).toFixed(1)} s: ${cpuShort(a, b)}, machine ${machineBusy(a, b)}% busy (all processes)`;
}

/** How busy the whole machine was between two snapshots, percent (other processes included). */
function machineBusy(a: CpuSnapshot, b: CpuSnapshot): string {
  return ((100 * (b.machine.busy - a.machine.busy)) / Math.max(1, b.machine.total - a.machine.total)).toFixed(
    0,
  );
}

/** CPU seconds of the workers, kinesalite and DynamoDB Local between two snapshots. */
function cpuShort(a: CpuSnapshot, b: CpuSnapshot): string {
  const s = (x: number) => x.toFixed(1);
  return `workers ${b.workers.map((x, i) => s(x - (a.workers[i] ?? 0))).join('+')}, kinesalite ${s(
    b.kinesalite - a.kinesalite,
  )}, DynamoDB Local ${s(b.ddb - a.ddb)} CPU-s`;
}

/** Every worker still running, so that an exit of the bench process kills them too. */
const running = new Set<ChildProcess>();
const killAll = (): void => {
  for (const p of running) p.kill('SIGKILL');
};

function writeConfig(env: Env, c: WorkerConfig, metricsPort: number): string {
  const path = join(env.dir, `${c.app}-${c.workerId}.yaml`);
  writeFileSync(
    path,
    [
      'source:',
      '  type: kinesis',
      `  stream: ${c.stream}`,
      `  applicationName: ${c.app}`,
      `  workerId: ${c.workerId}`,
      `  pollIntervalMs: ${c.pollIntervalMs}`,
      ...(c.maxLeasesPerWorker ? [`  maxLeasesPerWorker: ${c.maxLeasesPerWorker}`] : []),
      ...(c.failoverTimeMs ? [`  failoverTimeMs: ${c.failoverTimeMs}`] : []),
      `  endpoint: ${env.kinesalite.endpoint}`,
      `  leaseTableEndpoint: ${env.ddb.endpoint}`,
      `  region: ${REGION}`,
      `store: { type: sqlite, path: ${join(env.dir, `${c.app}.db`)} }`,
      'alerts:',
      `  sinks: [{ type: webhook, url: "${env.webhookUrl}" }]`,
      // The latency runs measure every anomaly: no group wait, and no rate limit holding any back.
      ...(c.groupWaitMs !== undefined ? [`  groupWaitMs: ${c.groupWaitMs}`, '  maxPerHour: 100000'] : []),
      `metrics: { port: ${metricsPort} }`,
      'log: { level: warn }',
    ].join('\n'),
  );
  return path;
}

async function startWorker(env: Env, c: WorkerConfig): Promise<Worker> {
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli/index.ts'), 'run', '--config', writeConfig(env, c, metricsPort)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_REGION: REGION,
      },
    },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  const stderr: string[] = [];
  child.stderr?.on('data', (b: Buffer) => {
    stderr.push(b.toString());
    if (stderr.length > 200) stderr.splice(0, 100);
  });
  return { id: c.workerId, process: child, metricsPort, stderr };
}

const exited = (p: ChildProcess): Promise<void> =>
  p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => p.once('exit', () => r()));

/** SIGTERM (the worker checkpoints and releases its leases), SIGKILL after 10 s. */
async function stopWorker(w: Worker): Promise<void> {
  if (w.process.exitCode !== null || w.process.signalCode !== null) return;
  w.process.kill('SIGTERM');
  const timer = setTimeout(() => w.process.kill('SIGKILL'), 10_000);
  await exited(w.process);
  clearTimeout(timer);
}

/** The sum of a metric over its labels, from a worker's /metrics; null while it does not answer. */
async function scrape(w: Worker): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`);
    return await res.text();
  } catch {
    return null;
  }
}

function metricSum(text: string, name: string): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm')))
    n += Number(m[1]);
  return n;
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  workers: readonly Worker[],
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    const dead = workers.find((w) => w.process.exitCode !== null || w.process.signalCode !== null);
    if (dead || Date.now() > deadline) {
      throw new Error(
        `kinesis bench: ${dead ? `worker ${dead.id} exited` : 'timed out'} waiting for ${what}\n${workers
          .map((w) => `${w.id}: ${w.stderr.join('').slice(-1500)}`)
          .join('\n---\n')}`,
      );
    }
    await sleep(everyMs);
  }
}

/** Producer records (one per series of each line, as `partitionKeysOf`) of a generated dataset. */
function dataset(
  seed: number,
  days: number,
  anomalyRate: number,
  limit = Number.POSITIVE_INFINITY,
): ProducerRecord[] {
  const out: ProducerRecord[] = [];
  for (const o of simulateInventory({ seed, days, skus: 200, warehouses: 3, anomalyRate })) {
    if (o.type !== 'record') continue;
    if (out.length >= limit) break;
    for (const partitionKey of partitionKeysOf(o.line)) out.push({ partitionKey, data: Buffer.from(o.line) });
  }
  return out;
}

/** The newest sequence number per shard, kept from PutRecords answers: where the workers must end. */
type LastSeq = Map<string, string>;

/** A Kinesis client that times each PutRecords call and keeps each accepted record's shard and sequence number. */
function timedClient(
  kinesis: KinesisClient,
  lastSeq: LastSeq,
  onCall?: (records: readonly Uint8Array[], sentAt: number, returnedAt: number) => void,
): Pick<KinesisClient, 'send'> {
  const send = async (command: PutRecordsCommand): Promise<PutRecordsCommandOutput> => {
    const sentAt = performance.now();
    const res = await kinesis.send(command);
    const returnedAt = performance.now();
    const accepted: Uint8Array[] = [];
    const input = command.input.Records ?? [];
    (res.Records ?? []).forEach((r, i) => {
      if (r.ErrorCode !== undefined || !r.ShardId || !r.SequenceNumber) return;
      const prev = lastSeq.get(r.ShardId);
      if (prev === undefined || BigInt(r.SequenceNumber) > BigInt(prev))
        lastSeq.set(r.ShardId, r.SequenceNumber);
      const data = input[i]?.Data;
      if (data) accepted.push(data);
    });
    onCall?.(accepted, sentAt, returnedAt);
    return res;
  };
  return { send } as unknown as Pick<KinesisClient, 'send'>;
}

/** The producer lane of a partition key: a key always goes through the same lane, in order. */
function laneOf(partitionKey: string, lanes: number): number {
  let h = 0;
  for (let i = 0; i < partitionKey.length; i++) h = (h * 31 + partitionKey.charCodeAt(i)) | 0;
  return Math.abs(h) % lanes;
}

/**
 * One PutRecords call of `records` in their order (a call keeps the order of a key's records; the
 * project's producer puts one record per key per call instead, for retries after a partial rejection,
 * which caps a busy series at one record per round trip). kinesalite rejects nothing; a call that
 * did would fail the bench rather than be retried out of order.
 */
async function putCall(
  client: Pick<KinesisClient, 'send'>,
  stream: string,
  records: readonly ProducerRecord[],
) {
  const command = new PutRecordsCommand({
    StreamName: stream,
    Records: records.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })),
  });
  const res = (await client.send(command)) as PutRecordsCommandOutput;
  if ((res.FailedRecordCount ?? 0) > 0) {
    throw new Error(
      `kinesis bench: kinesalite rejected ${res.FailedRecordCount} of ${records.length} records`,
    );
  }
}

/** Fills a stream before a throughput run: calls of 500 records, `lanes` at a time (a key in one lane). */
async function preload(env: Env, stream: string, records: readonly ProducerRecord[], lanes = 2) {
  const lastSeq: LastSeq = new Map();
  const client = timedClient(env.kinesis, lastSeq);
  const byLane: ProducerRecord[][] = Array.from({ length: lanes }, () => []);
  for (const r of records) byLane[laneOf(r.partitionKey, lanes)].push(r);
  await Promise.all(
    byLane.map(async (rs) => {
      for (let i = 0; i < rs.length; i += 500) await putCall(client, stream, rs.slice(i, i + 500));
    }),
  );
  return lastSeq;
}

/** Whether every shard's checkpoint in the shared SQLite file is at the stream's end. */
async function caughtUp(store: ReturnType<typeof createSqliteStore>, lastSeq: LastSeq): Promise<boolean> {
  for (const [shard, seq] of lastSeq) {
    if ((await store.loadCheckpoint(shard))?.sequenceNumber !== seq) return false;
  }
  return true;
}

/** Until every shard of the stream has a consumer on some worker that has made its first GetRecords. */
async function consumersReady(workers: readonly Worker[]): Promise<void> {
  await until(
    `${SHARDS} shard consumers reading`,
    async () => {
      let leases = 0;
      let polled = 0;
      for (const w of workers) {
        const text = await scrape(w);
        if (text === null) return false;
        leases += metricSum(text, 'shelfwatch_leases_held');
        polled += [...text.matchAll(/^shelfwatch_kinesis_records_fetched_total\{/gm)].length;
      }
      return leases === SHARDS && polled === SHARDS;
    },
    120_000,
    workers,
    100,
  );
}

interface ThroughputResult {
  records: number;
  events: number;
  seconds: number;
  leases: number[];
  /** Warnings the workers logged during the run, dead letters left out (e.g. a commit retried). */
  warnings: string[];
  putRate: number;
  cpu: string;
  cpuNote: string;
}

/**
 * One throughput run on a fresh stream, lease table and SQLite file. The workers start on the empty
 * stream, take their leases and make a first read; they are then paused (SIGSTOP) while the stream is
 * filled, and resumed (SIGCONT) together: the clock starts at the resume, so start-up (tsx compile,
 * lease taking) is out of the figure and both workers start at once. The pause outlasts no lease:
 * a worker at its share (maxLeasesPerWorker) takes none, and the failover time is larger than it.
 */
async function throughput(
  env: Env,
  records: readonly ProducerRecord[],
  workers: number,
): Promise<ThroughputResult> {
  const app = `tp-${workers}w`;
  const stream = `inventory-${app}`;
  await createStream(env.kinesis, stream, SHARDS);
  const started: Worker[] = [];
  try {
    for (let i = 0; i < workers; i++) {
      started.push(
        await startWorker(env, {
          app,
          stream,
          workerId: `w${i}`,
          pollIntervalMs: 1000,
          failoverTimeMs: 60_000,
          // A fixed fleet splits the shards at once (without it, the first worker up takes all four
          // and the second steals them one at a time).
          maxLeasesPerWorker: SHARDS / workers,
        }),
      );
    }
    await consumersReady(started);
    const linesOf = (w: Worker) => w.stderr.join('').split('\n').filter(Boolean);
    const warningsBefore = started.map((w) => linesOf(w).length);
    for (const w of started) w.process.kill('SIGSTOP');
    progress(`kinesis: workers paused; putting ${records.length} records on ${stream}`);
    const p0 = performance.now();
    const lastSeq = await preload(env, stream, records);
    const putRate = records.length / ((performance.now() - p0) / 1000);
    const store = createSqliteStore({ path: join(env.dir, `${app}.db`) });
    await store.open();
    let t1 = 0;
    let cpu1: CpuSnapshot | undefined;
    const t0 = performance.now();
    const cpu0 = cpuSnapshot(env, started);
    for (const w of started) w.process.kill('SIGCONT');
    try {
      await until(
        'every shard checkpointed at the stream end',
        async () => {
          const done = await caughtUp(store, lastSeq);
          t1 = performance.now();
          if (done) cpu1 = cpuSnapshot(env, started);
          return done;
        },
        300_000,
        started,
        50,
      );
    } finally {
      await store.close();
    }
    // The counters move just after the commit the check saw.
    await sleep(500);
    let events = 0;
    const leases: number[] = [];
    for (const w of started) {
      const text = (await scrape(w)) ?? '';
      events += metricSum(text, 'shelfwatch_events_total');
      leases.push(metricSum(text, 'shelfwatch_leases_held'));
    }
    // Dead letters (the generator's malformed lines) are expected; anything else is worth a look.
    const warnings = started
      .flatMap((w, i) => linesOf(w).slice(warningsBefore[i] ?? 0))
      .filter((l) => !l.includes('"msg":"dead letter"'));
    return {
      records: records.length,
      events,
      seconds: (t1 - t0) / 1000,
      leases,
      warnings,
      putRate,
      cpu: cpu1 ? cpuReport(cpu0, cpu1) : '',
      cpuNote: cpu1 ? `${cpuShort(cpu0, cpu1)}; machine ${machineBusy(cpu0, cpu1)}% busy` : '',
    };
  } finally {
    for (const w of started) w.process.kill('SIGCONT');
    await Promise.allSettled(started.map(stopWorker));
  }
}

interface LatencyResult {
  pollIntervalMs: number;
  records: number;
  /** Records per second achieved by the paced producer. */
  rate: number;
  /** Mean PutRecords call, ms. */
  callMs: number;
  latenciesMs: number[];
  anomalies: number;
  /** Anomalies without a triggering event (silence): not timed. */
  untimed: number;
  notifications: number;
  /** From the last PutRecords call to every checkpoint at the end, ms. */
  drainMs: number;
  /** p50 of the anomalies whose record was put in each third of the run, ms. */
  p50ByThird: number[];
  cpu: string;
  cpuNote: string;
  batches: string;
}

/** Batches, their mean size and duration on the workers, from /metrics. */
async function batchFigures(workers: readonly Worker[]): Promise<string> {
  let n = 0;
  let seconds = 0;
  let records = 0;
  for (const w of workers) {
    const text = (await scrape(w)) ?? '';
    n += metricSum(text, 'shelfwatch_batch_duration_seconds_count');
    seconds += metricSum(text, 'shelfwatch_batch_duration_seconds_sum');
    records += metricSum(text, 'shelfwatch_records_total');
  }
  return `${n} batches of ${(records / Math.max(1, n)).toFixed(0)} records, ${((seconds / Math.max(1, n)) * 1000).toFixed(0)} ms each`;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The latency runs' records, each event id → the index of the record that carries it. */
interface LatencyDataset {
  records: ProducerRecord[];
  /** Event id → index of the record carrying it (the copy of its own series, the first one put). */
  recordOf: Map<string, number>;
  /** A record's data (by identity, as the PutRecords call carries it) → its index. */
  index: Map<Uint8Array, number>;
}

function latencyDataset(total: number): LatencyDataset {
  const records = dataset(2, Math.ceil(total / 8000) + 1, LATENCY_ANOMALY_RATE, total);
  const normalizer = createNormalizer({ casePack: () => 1 });
  const recordOf = new Map<string, number>();
  const index = new Map<Uint8Array, number>();
  records.forEach((r, i) => {
    index.set(r.data, i);
    const res = normalizer.normalize(
      {
        partitionKey: r.partitionKey,
        data: r.data,
        sequenceNumber: String(i + 1),
        subSequenceNumber: 0,
        approximateArrivalTimestamp: Date.now(),
      },
      'bench',
    );
    if (!res.ok) return;
    for (const e of res.events) {
      if (seriesKey(e.sku, e.warehouse) === r.partitionKey && !recordOf.has(e.eventId))
        recordOf.set(e.eventId, i);
    }
  });
  return { records, recordOf, index };
}

async function latency(
  env: Env,
  opts: KinesisBenchOptions,
  data: LatencyDataset,
  pollIntervalMs: number,
): Promise<LatencyResult> {
  const app = `lat-${pollIntervalMs}ms`;
  const stream = `inventory-${app}`;
  await createStream(env.kinesis, stream, SHARDS);
  const { records, recordOf, index } = data;
  const started: Worker[] = [];
  try {
    for (const workerId of ['w0', 'w1']) {
      started.push(
        await startWorker(env, {
          app,
          stream,
          workerId,
          pollIntervalMs,
          maxLeasesPerWorker: SHARDS / 2,
          groupWaitMs: 0,
        }),
      );
    }
    await consumersReady(started);
    // Every shard consumer is now between empty reads, as on an idle stream.
    await sleep(pollIntervalMs);
    env.deliveries.length = 0;

    const returnedAt = new Float64Array(records.length).fill(Number.NaN);
    let calls = 0;
    let callTime = 0;
    const lastSeq: LastSeq = new Map();
    const client = timedClient(env.kinesis, lastSeq, (data, sent, returned) => {
      calls++;
      callTime += returned - sent;
      for (const d of data) {
        const i = index.get(d);
        if (i !== undefined) returnedAt[i] = returned;
      }
    });
    progress(
      `kinesis: latency, poll ${pollIntervalMs} ms: putting ${records.length} records at ${opts.latencyRate}/s`,
    );
    // Slice k (rate / 10 records) is due at k × 100 ms, one PutRecords call per lane; a series is
    // always in the same lane, and a lane's part of slice k waits for its part of slice k − 1, so each
    // series keeps its order while a slow call in one lane does not hold the others back.
    const slice = Math.ceil(opts.latencyRate / TICKS_PER_SECOND);
    const lanes: number[][] = Array.from({ length: PUT_LANES }, () => []);
    records.forEach((r, i) => {
      lanes[laneOf(r.partitionKey, PUT_LANES)].push(i);
    });
    const t0 = performance.now();
    const cpu0 = cpuSnapshot(env, started);
    await Promise.all(
      lanes.map(async (lane) => {
        let next = 0;
        for (let k = 0; k * slice < records.length; k++) {
          const part: ProducerRecord[] = [];
          while (next < lane.length && lane[next] < (k + 1) * slice) part.push(records[lane[next++]]);
          const wait = t0 + (k * 1000) / TICKS_PER_SECOND - performance.now();
          if (wait > 0) await sleep(wait);
          if (part.length > 0) await putCall(client, stream, part);
        }
      }),
    );
    const putEnd = performance.now();
    let cpu1 = cpu0;
    const putSeconds = (putEnd - t0) / 1000;
    const store = createSqliteStore({ path: join(env.dir, `${app}.db`) });
    await store.open();
    try {
      await until('the workers caught up', () => caughtUp(store, lastSeq), 120_000, started, 50);
      cpu1 = cpuSnapshot(env, started);
    } finally {
      await store.close();
    }
    // Notifications are acknowledged before their batch commits: all of them are in.
    const firstArrival = new Map<string, { at: number; eventId: string | undefined }>();
    for (const d of env.deliveries) {
      for (const a of d.notification.anomalies) {
        if (!firstArrival.has(a.id)) firstArrival.set(a.id, { at: d.at, eventId: a.eventIds[0] });
      }
    }
    const timed: Array<{ put: number; ms: number }> = [];
    let untimed = 0;
    for (const { at, eventId } of firstArrival.values()) {
      const i = eventId === undefined ? undefined : recordOf.get(eventId);
      const put = i === undefined ? Number.NaN : returnedAt[i];
      if (Number.isNaN(put)) untimed++;
      else timed.push({ put, ms: at - put });
    }
    const drainMs = performance.now() - putEnd;
    // By when the triggering record was put: does a backlog build up?
    const thirds = [0, 1, 2].map((j) =>
      timed
        .filter(({ put }) => put - t0 >= (j * (putEnd - t0)) / 3 && put - t0 < ((j + 1) * (putEnd - t0)) / 3)
        .map(({ ms }) => ms)
        .sort((a, b) => a - b),
    );
    const latenciesMs = timed.map(({ ms }) => ms).sort((a, b) => a - b);
    return {
      pollIntervalMs,
      records: records.length,
      rate: records.length / putSeconds,
      callMs: callTime / Math.max(1, calls),
      latenciesMs,
      anomalies: firstArrival.size,
      untimed,
      notifications: env.deliveries.length,
      drainMs,
      cpu: cpuReport(cpu0, cpu1),
      cpuNote: `${cpuShort(cpu0, cpu1)}; machine ${machineBusy(cpu0, cpu1)}% busy`,
      batches: await batchFigures(started),
      p50ByThird: thirds.map((t) => percentile(t, 0.5)),
    };
  } finally {
    await Promise.allSettled(started.map(stopWorker));
  }
}

export async function benchKinesis(opts: KinesisBenchOptions): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-kinesis-bench-'));
  process.once('exit', killAll);
  const deliveries: Env['deliveries'] = [];
  const webhook: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const at = performance.now();
      try {
        deliveries.push({
          at,
          notification: (JSON.parse(body) as { notification: AlertNotification }).notification,
        });
      } catch {
        // Not a notification: ignore it.
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  let kinesalite: Kinesalite | undefined;
  let ddb: DynamoDbLocal | undefined;
  let kinesis: KinesisClient | undefined;
  try {
    progress('kinesis: starting kinesalite and DynamoDB Local');
    const [ks, ds] = await Promise.allSettled([startKinesalite(), startDynamoDbLocal()]);
    if (ks.status === 'fulfilled') kinesalite = ks.value;
    if (ds.status === 'fulfilled') ddb = ds.value;
    if (ks.status === 'rejected') throw ks.reason;
    if (ds.status === 'rejected') throw ds.reason;
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    kinesis = createKinesisClient({
      endpoint: kinesalite?.endpoint,
      region: REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    const env: Env = {
      dir,
      kinesalite: kinesalite as Kinesalite,
      ddb: ddb as DynamoDbLocal,
      kinesis,
      webhookUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`,
      deliveries,
      kinesalitePid: findPid(
        (args) =>
          args.some((a) => a.endsWith('kinesalite/cli.js')) &&
          args.includes(new URL((kinesalite as Kinesalite).endpoint).port),
      ),
      ddbPid: findPid(
        (args) => args.some((a) => a.endsWith('DynamoDBLocal.jar')) && args.includes(String(ddb?.port)),
      ),
    };

    const records = dataset(1, opts.throughputDays, 0.01);
    const tp: ThroughputResult[] = [];
    for (const n of [1, 2]) {
      progress(`kinesis: throughput, ${n} worker${n > 1 ? 's' : ''}`);
      const r = await throughput(env, records, n);
      progress(
        `kinesis: ${n} worker(s): ${(r.records / r.seconds).toFixed(0)} records/s (${r.seconds.toFixed(2)} s, leases ${r.leases.join('/')}, ${r.warnings.length} warnings); ${r.cpu}`,
      );
      for (const w of r.warnings.slice(0, 3)) progress(`kinesis:   worker warning: ${w.slice(0, 300)}`);
      tp.push(r);
    }
    const lat: LatencyResult[] = [];
    const data = latencyDataset(opts.latencyRate * opts.latencySeconds);
    for (const poll of opts.pollIntervalsMs) {
      const r = await latency(env, opts, data, poll);
      progress(
        `kinesis: poll ${poll} ms: ${r.latenciesMs.length} anomalies timed, p50 ${percentile(r.latenciesMs, 0.5).toFixed(0)} ms, p99 ${percentile(r.latenciesMs, 0.99).toFixed(0)} ms (${r.rate.toFixed(0)} records/s put); p50 by third of the run ${r.p50ByThird.map((x) => x.toFixed(0)).join('/')} ms, drained ${r.drainMs.toFixed(0)} ms after the last put`,
      );
      progress(`kinesis:   ${r.batches}; ${r.cpu}`);
      lat.push(r);
    }

    const one = tp[0];
    const rate = (r: ThroughputResult) => r.records / r.seconds;
    const k = (n: number) => `${(n / 1000).toFixed(0)}k`;
    const rows: BenchRow[] = tp.map((r, i) => ({
      suite: 'kinesis',
      case: `${k(r.records)} records on ${SHARDS} shards, ${i + 1} worker${i > 0 ? 's' : ''} (CLI, SQLite file, webhook), kinesalite`,
      metric: 'Kinesis records/s end to end, first fetch → all checkpoints',
      unit: 'rec/s',
      ours: rate(r),
      ...(i > 0 ? { peer: '1 worker', peerValue: rate(one), ratio: rate(r) / rate(one) } : {}),
      note: `${k(r.events / r.seconds)} events/s; ${r.seconds.toFixed(1)} s from resuming the workers (paused, leases held, while the records were put) to every checkpoint at the end; leases ${r.leases.join('/')}; GetRecords of 10,000 (default); ${r.cpuNote} (2 cores, shared)`,
    }));
    for (const r of lat) {
      const base = {
        suite: 'kinesis',
        case: `${k(r.records)} records put at ${k(r.rate)}/s, 2 workers, pollIntervalMs ${r.pollIntervalMs}`,
        unit: 'ms',
        note: `from the return of the PutRecords call carrying the triggering record to the webhook's receipt; alerts.groupWaitMs 0, maxPerHour unlimited; ${r.latenciesMs.length} anomalies timed (${r.untimed} without a triggering record), max ${percentile(r.latenciesMs, 1).toFixed(0)} ms; PutRecords ${r.callMs.toFixed(0)} ms mean; p50 by third of the run ${r.p50ByThird
          .map((x) => x.toFixed(0))
          .join('/')} ms; ${r.batches}; ${r.cpuNote}`,
      };
      rows.push(
        { ...base, metric: 'alert latency p50', ours: percentile(r.latenciesMs, 0.5) },
        { ...base, metric: 'alert latency p99', ours: percentile(r.latenciesMs, 0.99) },
      );
    }
    return rows;
  } finally {
    killAll();
    kinesis?.destroy();
    await Promise.allSettled([
      kinesalite?.close(),
      ddb?.close(),
      new Promise<void>((r) => {
        webhook.closeAllConnections();
        webhook.close(() => r());
      }),
    ]);
    process.off('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
  }
}
