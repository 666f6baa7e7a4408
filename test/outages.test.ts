/**
 * Acceptance: a server the job depends on goes away for 30 s in the middle of a stream — MariaDB (the
 * MySQL store), DynamoDB Local (the DynamoDB store) or fauxqs (the SNS alert sink) — and comes back.
 * The job (`shelfwatch run`, a child process, fed by the live `generator` source) must keep running,
 * hold its checkpoint while it cannot commit or publish, retry, catch up once the server is back, and
 * end in the state, with the alerts, of an undisturbed run: the same engine computed in-process over
 * the same generated records (`createEngineFromConfig` on the same configuration, a memory store).
 *
 * Each case prints one summary line: how long the server was down, where in the stream, what the job
 * logged and answered meanwhile, and how long it took to catch up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { createEngineFromConfig } from '../cli/engine-from-config.js';
import { createLocalSource, GENERATOR_SHARD_ID } from '../connectors/sources/index.js';
import { createStoreFromConfig } from '../connectors/stores.js';
import {
  type AlertNotification,
  type AlertSink,
  loadRunConfig,
  MemoryStateStore,
  type SeriesRow,
} from '../pipeline/index.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './servers/dynamodb-local.js';
import { type Fauxqs, type FauxqsInit, startFauxqs } from './servers/fauxqs.js';
import { type MariaDb, startMariaDb } from './servers/mariadb.js';
import { freePort } from './servers/ports.js';

const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-outages-'));

/** Dummy credentials and region for the local AWS stand-ins (the job reads the standard chain). */
const AWS_ENV = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };
// This process reads the DynamoDB store back through the same chain.
beforeAll(() => {
  for (const [name, value] of Object.entries(AWS_ENV)) vi.stubEnv(name, value);
});
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});
/** The acceptance figure: the server is away this long. */
const OUTAGE_MS = 30_000;
/**
 * ~8,600 records streamed at 1,000 a second: the stream runs ~9 s undisturbed, so the outage starts well
 * before half of it even when a loaded CI machine stalls the test's polling for a second or two (at 2,000 a
 * second a 1.4 s stall once let the job pass the half-way mark before the server went away).
 */
const GENERATOR = {
  type: 'generator',
  seed: 5,
  days: 10,
  skus: 30,
  warehouses: 3,
  anomalyRate: 0.05,
  rate: 1_000,
} as const;
/** The outage starts once the job has committed this many records (a few batches). */
const BEFORE_OUTAGE = 1_500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the job -----------------------------------------------------------------------------------------

interface Job {
  readonly child: ChildProcess;
  readonly metricsPort: number;
  /** Standard error so far (JSON log lines, at level warn). */
  stderr(): string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startJob(config: string, metricsPort: number): Job {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli/index.ts'), 'run', '--config', config],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...AWS_ENV } },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, metricsPort, stderr: () => stderr, exit };
}

const running = (job: Job): boolean => job.child.exitCode === null && job.child.signalCode === null;

async function stopJob(job: Job): Promise<void> {
  if (!running(job)) return;
  job.child.kill('SIGKILL');
  await job.exit;
}

/** Records the job has committed (its /metrics), or null when the endpoint does not answer. */
async function recordsOf(job: Job): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${job.metricsPort}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(/^shelfwatch_records_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
    return n;
  } catch {
    return null;
  }
}

/** What /healthz answers: `200 ok`, `503 unhealthy`, or why it did not answer. */
async function healthOf(job: Job): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${job.metricsPort}/healthz`, {
      signal: AbortSignal.timeout(2_000),
    });
    return `${res.status} ${(await res.text()).trim()}`;
  } catch (err) {
    return `no answer (${(err as Error).message})`;
  }
}

interface RetryWarning {
  what: string;
  attempt: number;
  err: string;
}

/** The job's `retrying: checkpoint held` warnings so far. */
function retryWarnings(job: Job): RetryWarning[] {
  const out: RetryWarning[] = [];
  for (const line of job.stderr().split('\n')) {
    if (!line.includes('retrying: checkpoint held')) continue;
    try {
      out.push(JSON.parse(line) as RetryWarning);
    } catch {
      // a line still being written
    }
  }
  return out;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, job: Job) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${job.stderr().slice(-3_000)}`);
    await sleep(100);
  }
}

// ---- the undisturbed reference -------------------------------------------------------------------------

class RecordingSink implements AlertSink {
  readonly ids: string[] = [];
  constructor(readonly name: string) {}
  async publish(notifications: readonly AlertNotification[]): Promise<void> {
    for (const n of notifications) this.ids.push(n.id);
  }
  async close(): Promise<void> {}
}

/**
 * What an undisturbed run of `config` ends in: the same engine (`createEngineFromConfig`) over the
 * same generated records (the configured generator, unpaced), a memory store, a recording sink per
 * configured sink name.
 */
async function reference(config: string) {
  const run = loadRunConfig({ file: config, env: {} });
  if (run.source.type !== 'generator') throw new Error('the outage cases stream the generator');
  const store = new MemoryStateStore();
  const sinks = new Map(run.alerts.sinks.map((s) => [s.name, new RecordingSink(s.name)]));
  const engine = createEngineFromConfig(run, { store, sinks });
  await engine.start();
  const source = createLocalSource(
    { ...run.source, rate: 0 },
    { batch: run.batch, loadCheckpoint: () => null, onCheckpoint: () => {} },
  );
  await source.run((shardId) => engine.createProcessor(shardId), new AbortController().signal);
  const checkpoint = await store.loadCheckpoint(GENERATOR_SHARD_ID);
  return { store, sinks, records: Number(checkpoint?.sequenceNumber ?? 0) };
}

const bySeries = (a: SeriesRow, b: SeriesRow): number =>
  `${a.sku}|${a.warehouse}`.localeCompare(`${b.sku}|${b.warehouse}`);

/** What the job's store holds at the end, read through the factory `shelfwatch run` uses. */
async function stored(config: string) {
  const store = createStoreFromConfig(loadRunConfig({ file: config, env: {} }).store);
  await store.open();
  try {
    const state = await store.load();
    return {
      series: [...state.series].sort(bySeries),
      anomalyIds: (await store.listAnomalies()).map((a) => a.id).sort(),
      deadLetters: await store.countDeadLetters(),
      checkpoint: await store.loadCheckpoint(GENERATOR_SHARD_ID),
    };
  } finally {
    await store.close();
  }
}

const notificationIdsIn = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { id: string }).id);

const repeats = (ids: readonly string[]): number => ids.length - new Set(ids).size;

// ---- one outage ----------------------------------------------------------------------------------------

interface OutageCase {
  name: string;
  store: Record<string, unknown>;
  /** Alert sinks besides the file sink every case has. */
  sinks?: Array<Record<string, unknown>>;
  /** Takes the server away (resolves once it is down) and brings it back (resolves once it answers). */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** How the retry warnings' `what` starts while the server is down (`state store`, `sink sns`). */
  retrying: string;
  /** The store's checkpoint, where the test can read it while the job runs (the SQLite file). */
  checkpoint?: () => string | null;
}

interface Sample {
  at: number;
  alive: boolean;
  health: string;
  records: number | null;
  checkpoint: string | null;
}

async function runOutage(c: OutageCase) {
  const config = join(dir, `${c.name}.yaml`);
  const alerts = join(dir, `${c.name}-alerts.ndjson`);
  writeFileSync(
    config,
    stringify({
      source: GENERATOR,
      store: c.store,
      alerts: { sinks: [{ type: 'file', path: alerts }, ...(c.sinks ?? [])] },
      metrics: { port: await freePort() },
      log: { level: 'warn' },
    }),
  );
  const job = startJob(config, loadRunConfig({ file: config, env: {} }).metrics.port);
  let ref: Promise<Awaited<ReturnType<typeof reference>>> | undefined;
  const samples: Sample[] = [];
  const sample = async (): Promise<Sample> => ({
    at: Date.now(),
    alive: running(job),
    health: await healthOf(job),
    records: await recordsOf(job),
    checkpoint: c.checkpoint?.() ?? null,
  });
  try {
    await until(
      `${BEFORE_OUTAGE} records committed`,
      async () => ((await recordsOf(job)) ?? 0) >= BEFORE_OUTAGE,
      30_000,
      job,
    );
    const atOutage = (await recordsOf(job)) ?? 0;
    const retriesBefore = retryWarnings(job).length;
    await c.stop();
    const downAt = Date.now();
    // The undisturbed run, computed meanwhile (the test has nothing else to do for 30 s).
    ref = reference(config);
    ref.catch(() => {});
    // Down: sample the job every half second; the checkpoint counts as held from the first retry on.
    let held: Sample | undefined;
    while (Date.now() < downAt + OUTAGE_MS) {
      const s = await sample();
      samples.push(s);
      if (held === undefined && retryWarnings(job).length > retriesBefore) {
        held = s;
      } else if (held !== undefined) {
        expect({ records: s.records, checkpoint: s.checkpoint }, 'the checkpoint moved while held').toEqual({
          records: held.records,
          checkpoint: held.checkpoint,
        });
      }
      await sleep(Math.min(500, downAt + OUTAGE_MS - Date.now()));
    }
    const duringOutage = retryWarnings(job).slice(retriesBefore);
    await c.restart();
    const upAt = Date.now();
    const downMs = upAt - downAt;

    // While it was down: alive, answering /healthz, retrying what the server serves, nothing committed.
    expect(samples.length).toBeGreaterThan(20);
    expect(
      samples.filter((s) => !s.alive),
      'the job died during the outage',
    ).toEqual([]);
    expect(
      samples.filter((s) => !/^(200 ok|503 unhealthy)$/.test(s.health)).map((s) => s.health),
      '/healthz did not answer',
    ).toEqual([]);
    expect(duringOutage.length, 'no retry warnings while the server was down').toBeGreaterThan(0);
    // What failed is named: `state store MySQL shelfwatch@127.0.0.1:…`, `sink sns`.
    for (const w of duringOutage) expect(w.what.startsWith(c.retrying), w.what).toBe(true);
    if (held === undefined) throw new Error('the job never reported a retry while the server was down');
    const heldAt = held.records ?? Number.NaN;
    if (c.checkpoint) expect(held.checkpoint, 'the store has a checkpoint').not.toBeNull();

    // Back: it catches up (commits again) and finishes the stream.
    await until(
      'the first commit after the restart',
      async () => !running(job) || ((await recordsOf(job)) ?? heldAt) > heldAt,
      60_000,
      job,
    );
    const resumedMs = Date.now() - upAt;
    const exit = await Promise.race([job.exit, sleep(90_000).then(() => null)]);
    const doneMs = Date.now() - upAt;
    expect(exit, `the job did not end\n${job.stderr().slice(-3_000)}`).toEqual({ code: 0, signal: null });

    const expected = await ref;
    expect(atOutage).toBeLessThan(expected.records / 2);
    expect(heldAt).toBeLessThan(expected.records);
    expect(expected.store.anomalies().length).toBeGreaterThan(20);
    const got = await stored(config);
    expect(got.checkpoint).toEqual({ sequenceNumber: String(expected.records), subSequenceNumber: 0 });
    expect(got.series).toEqual(expected.store.seriesRows());
    expect(got.anomalyIds).toEqual(
      expected.store
        .anomalies()
        .map((a) => a.id)
        .sort(),
    );
    expect(got.deadLetters).toBe(expected.store.deadLetters().length);
    const fileIds = notificationIdsIn(alerts);
    const expectedIds = [...(expected.sinks.get('file')?.ids ?? [])].sort();
    expect(expectedIds.length).toBeGreaterThan(10);
    expect(repeats(fileIds), 'notifications written twice to the alert file').toBe(0);
    expect([...fileIds].sort()).toEqual(expectedIds);

    const healthSeen = [...new Set(samples.map((s) => s.health))].map(
      (h) => `"${h}" ×${samples.filter((s) => s.health === h).length}`,
    );
    const summary =
      `outage ${c.name}: down ${(downMs / 1000).toFixed(1)} s from record ${atOutage} of ${expected.records}` +
      ` (held at ${heldAt}); job alive throughout, /healthz ${healthSeen.join(', ')};` +
      ` ${duringOutage.length} "retrying: checkpoint held" (${c.retrying}, last attempt ${duringOutage.at(-1)?.attempt});` +
      ` caught up: first commit ${(resumedMs / 1000).toFixed(1)} s after restart, done ${(doneMs / 1000).toFixed(1)} s after (exit 0);` +
      ` ${got.anomalyIds.length} anomalies, ${fileIds.length} alerts in the file`;
    return { summary, expected };
  } finally {
    await stopJob(job);
    await ref?.catch(() => undefined);
  }
}

// ---- fauxqs: a gate in front of it, and a subscriber ------------------------------------------------------

/**
 * An HTTP pass-through between the job and fauxqs. fauxqs keeps its queues in memory, so whatever it
 * accepted after the subscriber's last read would be lost with it: closing the gate first (refusing
 * new requests, letting those in flight finish) makes "drain the queue, then stop fauxqs" exact. To
 * the job it is the same outage: connections refused until fauxqs is back.
 */
class Gate {
  private server: Server | undefined;
  private inFlight = 0;
  private closing = false;

  constructor(
    readonly port: number,
    private readonly target: () => number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    this.closing = false;
    const server = createServer((req, res) => this.forward(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    if (this.closing) {
      req.socket.destroy();
      return;
    }
    this.inFlight++;
    let finished = false;
    res.once('close', () => {
      if (!finished) this.inFlight--;
      finished = true;
    });
    const upstream = request(
      { host: '127.0.0.1', port: this.target(), method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.once('error', () => res.destroy());
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    this.closing = true;
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    while (this.inFlight > 0) await sleep(5);
    server.closeAllConnections();
    await closed;
  }
}

/** The SQS subscriber: reads the queue continuously, deleting what it read, and keeps every alert_id. */
class Subscriber {
  readonly ids: string[] = [];
  private sqs: SQSClient | undefined;
  private loop: Promise<void> | undefined;
  private reading = false;

  constructor(private readonly queueName: string) {}

  async start(fauxqs: Fauxqs): Promise<void> {
    const sqs = new SQSClient({ ...fauxqs.clientConfig, requestHandler: new NodeHttpHandler() });
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: this.queueName }));
    if (!QueueUrl) throw new Error(`no queue ${this.queueName}`);
    this.sqs = sqs;
    this.reading = true;
    this.loop = (async () => {
      while (this.reading) {
        await this.drain(QueueUrl);
        await sleep(200);
      }
      await this.drain(QueueUrl);
    })();
    // Kept for stop() to throw: an error here must fail the test, not float as an unhandled rejection.
    this.loop.catch(() => {});
  }

  /** Stops reading after a last read that finds the queue empty (throws what went wrong reading). */
  async stop(): Promise<void> {
    this.reading = false;
    const loop = this.loop;
    this.loop = undefined;
    try {
      await loop;
    } finally {
      this.sqs?.destroy();
      this.sqs = undefined;
    }
  }

  private async drain(queueUrl: string): Promise<void> {
    const sqs = this.sqs as SQSClient;
    for (;;) {
      const r = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = r.Messages ?? [];
      if (messages.length === 0) return;
      for (const m of messages) this.ids.push(m.MessageAttributes?.alert_id?.StringValue ?? '(no alert_id)');
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }
}

/** The SQLite store's checkpoint of the generator shard, read from the file while the job runs. */
function sqliteCheckpoint(path: string): string | null {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare('SELECT sequence_number FROM checkpoints WHERE shard_id = ?')
      .get(GENERATOR_SHARD_ID) as { sequence_number: string } | undefined;
    return row?.sequence_number ?? null;
  } finally {
    db.close();
  }
}

// ---- the cases ---------------------------------------------------------------------------------------------

describe('a server goes away for 30 s mid-stream', () => {
  it('MariaDB (store: mysql): the job holds its checkpoint, retries, catches up, and ends as an undisturbed run', async () => {
    const db: MariaDb = await startMariaDb();
    try {
      const { summary } = await runOutage({
        name: 'mariadb',
        store: { type: 'mysql', url: db.url },
        stop: () => db.stop(),
        restart: () => db.restart(),
        retrying: 'state store',
      });
      console.log(summary);
    } finally {
      await db.close();
    }
  }, 150_000);

  it('DynamoDB Local (store: dynamodb): the job holds its checkpoint, retries, catches up, and ends as an undisturbed run', async () => {
    const ddb: DynamoDbLocal = await startDynamoDbLocal({ persist: true });
    try {
      const { summary } = await runOutage({
        name: 'dynamodb',
        store: { type: 'dynamodb', tableName: 'outage', endpoint: ddb.endpoint, region: 'us-east-1' },
        stop: () => ddb.stop(),
        restart: () => ddb.restart(),
        retrying: 'state store',
      });
      console.log(summary);
    } finally {
      await ddb.close();
    }
  }, 150_000);

  it('fauxqs (sink: sns): the checkpoint holds while alerts cannot be published; every alert reaches SQS once', async () => {
    const init: FauxqsInit = {
      topics: [{ name: 'outage-alerts' }],
      queues: [{ name: 'outage-queue' }],
      subscriptions: [
        { topic: 'outage-alerts', queue: 'outage-queue', attributes: { RawMessageDelivery: 'true' } },
      ],
    };
    let fauxqs: Fauxqs | undefined = await startFauxqs({ init });
    const port = fauxqs.port;
    const gate = new Gate(await freePort(), () => port);
    const subscriber = new Subscriber('outage-queue');
    const statePath = join(dir, 'fauxqs.db');
    try {
      await gate.open();
      await subscriber.start(fauxqs);
      const { summary, expected } = await runOutage({
        name: 'fauxqs',
        store: { type: 'sqlite', path: statePath },
        sinks: [
          {
            type: 'sns',
            topicArn: 'arn:aws:sns:us-east-1:000000000000:outage-alerts',
            endpoint: gate.endpoint,
          },
        ],
        stop: async () => {
          await gate.close();
          await subscriber.stop(); // the queue drained: fauxqs takes nothing with it
          await fauxqs?.stop();
          fauxqs = undefined;
        },
        restart: async () => {
          // Topic, queue and subscription come back with it (its init file).
          fauxqs = await startFauxqs({ port, init });
          await subscriber.start(fauxqs);
          await gate.open();
        },
        retrying: 'sink sns',
        checkpoint: () => sqliteCheckpoint(statePath),
      });
      await subscriber.stop();
      const expectedIds = [...(expected.sinks.get('sns')?.ids ?? [])].sort();
      expect(expectedIds).toEqual([...(expected.sinks.get('file')?.ids ?? [])].sort());
      // Every expected alert arrived through SNS → SQS, none twice, nothing else.
      expect([...new Set(subscriber.ids)].sort()).toEqual(expectedIds);
      expect(repeats(subscriber.ids), 'alerts delivered twice through SNS').toBe(0);
      console.log(
        `${summary}; SNS → SQS: ${new Set(subscriber.ids).size} of ${expectedIds.length} alerts received, ${repeats(subscriber.ids)} repeats`,
      );
    } finally {
      await subscriber.stop().catch(() => undefined);
      await gate.close();
      await fauxqs?.stop();
    }
  }, 150_000);
});
