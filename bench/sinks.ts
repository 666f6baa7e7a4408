/**
 * Alerts/s per alert sink, each against a receiving end on loopback started here: SNS to fauxqs 1.9.2
 * (a child process, one SQS subscriber), Slack and webhook to an in-process node:http server, e-mail to
 * an in-process smtp-server, and the NDJSON file (fsync per publish) in a temporary folder. Notifications
 * (three anomalies each, fresh ids) are published in batches, as the pipeline does at a checkpoint;
 * every case counts what the receiving end got, so a rate is only reported for alerts that arrived.
 *
 * `npx tsx bench/sinks.ts [--quick]` runs this suite alone and prints its table.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SMTPServer } from 'smtp-server';
import { EmailSink } from '../connectors/sinks/email.js';
import { NdjsonFileSink } from '../connectors/sinks/ndjson-file.js';
import { SlackSink } from '../connectors/sinks/slack.js';
import { SnsSink } from '../connectors/sinks/sns.js';
import { WebhookSink } from '../connectors/sinks/webhook.js';
import { makeNotification } from '../pipeline/alerts/testing.js';
import type { AlertNotification, AlertSink } from '../pipeline/ports.js';
import { startFauxqs } from '../test/servers/fauxqs.js';
import { type BenchRow, markdownTable, progress } from './harness.js';

/**
 * Sizes of the sinks suite.
 *
 * @example
 * ```ts
 * const quick: SinksBenchOptions = { notifications: 500, batchSize: 50 };
 * ```
 */
export interface SinksBenchOptions {
  /** Notifications per sink (after a warm-up batch). */
  notifications: number;
  /** Notifications per publish call. */
  batchSize: number;
}

interface Measured {
  seconds: number;
  /** Median time of one publish call, ms. */
  medianBatchMs: number;
}

let run = 0;
function batches(count: number, size: number): AlertNotification[][] {
  const prefix = `bench-${process.pid}-${++run}`;
  const all = Array.from({ length: count }, (_, i) => makeNotification(`${prefix}-${i}`, ['a1', 'a2', 'a3']));
  const out: AlertNotification[][] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
  return out;
}

async function measure(sink: AlertSink, opts: SinksBenchOptions): Promise<Measured> {
  for (const b of batches(opts.batchSize, opts.batchSize)) await sink.publish(b); // warm-up: connections, JIT
  const times: number[] = [];
  const t0 = process.hrtime.bigint();
  for (const b of batches(opts.notifications, opts.batchSize)) {
    const t = process.hrtime.bigint();
    await sink.publish(b);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  times.sort((a, b) => a - b);
  return { seconds, medianBatchMs: times[Math.floor(times.length / 2)] };
}

function row(name: string, what: string, m: Measured, opts: SinksBenchOptions, arrived: number): BenchRow {
  const expected = opts.notifications + opts.batchSize;
  return {
    suite: 'sinks',
    case: `${name}: ${what}, ${opts.notifications.toLocaleString('en')} notifications in batches of ${opts.batchSize}`,
    metric: 'alerts/s delivered, loopback',
    unit: 'alerts/s',
    ours: opts.notifications / m.seconds,
    note: `median ${m.medianBatchMs.toFixed(1)} ms per batch; ${arrived}/${expected} arrived${arrived === expected ? '' : ' (**mismatch**)'}`,
    pass: arrived === expected,
    target: 'every alert arrives once',
  };
}

/** A loopback HTTP endpoint answering 200 `ok`, counting requests. */
async function httpReceiver(): Promise<{ url: string; count: () => number; server: Server }> {
  let count = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/services/T0/B0/bench`, count: () => count, server };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

async function benchSns(opts: SinksBenchOptions): Promise<BenchRow> {
  progress('sinks: SNS → fauxqs');
  const fauxqs = await startFauxqs();
  const config = { ...fauxqs.clientConfig, requestHandler: new NodeHttpHandler() };
  const sns = new SNSClient(config);
  const sqs = new SQSClient(config);
  try {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'bench-alerts' }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'bench-alerts' }));
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'],
      }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: attrs.Attributes?.QueueArn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    const sink = new SnsSink({
      topicArn: TopicArn!,
      endpoint: fauxqs.endpoint,
      clientConfig: { credentials: fauxqs.clientConfig.credentials },
    });
    const m = await measure(sink, opts);
    await sink.close();
    const after = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    await sqs.send(new PurgeQueueCommand({ QueueUrl }));
    const arrived = Number(after.Attributes?.ApproximateNumberOfMessages ?? 0);
    return row('SNS', 'PublishBatch to fauxqs 1.9.2 (child process), 1 SQS subscriber', m, opts, arrived);
  } finally {
    sns.destroy();
    sqs.destroy();
    await fauxqs.stop();
  }
}

async function benchHttp(kind: 'slack' | 'webhook', opts: SinksBenchOptions): Promise<BenchRow> {
  progress(`sinks: ${kind} → loopback node:http`);
  const receiver = await httpReceiver();
  try {
    const sink =
      kind === 'slack'
        ? new SlackSink({ webhookUrl: receiver.url, linkTemplate: 'https://dash.example/anomalies/{id}' })
        : new WebhookSink({ url: receiver.url });
    const m = await measure(sink, opts);
    await sink.close();
    const what =
      kind === 'slack' ? 'Block Kit POST per alert to node:http' : 'JSON POST per alert to node:http';
    return row(kind === 'slack' ? 'Slack' : 'webhook', what, m, opts, receiver.count());
  } finally {
    await closeServer(receiver.server);
  }
}

async function benchEmail(opts: SinksBenchOptions): Promise<BenchRow> {
  progress('sinks: e-mail → smtp-server');
  let received = 0;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth: (_auth, _session, callback) => callback(null, { user: 'bench' }),
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        received++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  try {
    const sink = new EmailSink({
      host: '127.0.0.1',
      port,
      secure: false,
      user: 'bench',
      password: 'bench',
      from: 'alerts@bench.example',
      to: ['ops@bench.example'],
    });
    const m = await measure(sink, opts);
    await sink.close();
    return row('e-mail', 'SMTP (one pooled connection, AUTH) to smtp-server', m, opts, received);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function benchFile(opts: SinksBenchOptions): Promise<BenchRow> {
  progress('sinks: NDJSON file');
  const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-sink-bench-'));
  try {
    const path = join(dir, 'alerts.ndjson');
    const sink = new NdjsonFileSink({ path });
    const m = await measure(sink, opts);
    await sink.close();
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
    return row('file', 'NDJSON append + fsync per publish, local disk', m, opts, lines);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The sinks suite: one row per sink, alerts/s delivered to a loopback receiving end.
 *
 * @example
 * ```ts
 * rows.push(...(await benchSinks({ notifications: 2000, batchSize: 100 })));
 * ```
 */
export async function benchSinks(opts: SinksBenchOptions): Promise<BenchRow[]> {
  return [
    await benchSns(opts),
    await benchHttp('slack', opts),
    await benchEmail(opts),
    await benchFile(opts),
    await benchHttp('webhook', opts),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const rows = await benchSinks(
    values.quick ? { notifications: 500, batchSize: 50 } : { notifications: 3000, batchSize: 100 },
  );
  process.stdout.write(`${markdownTable(rows)}\n`);
  if (rows.some((r) => r.pass === false)) process.exitCode = 1;
}
