/**
 * The fauxqs outage's instruments: a gate in front of fauxqs (so that "drain the queue, then stop
 * fauxqs" loses nothing it accepted), the SQS subscriber that counts every alert that arrives, and a
 * read of the SQLite checkpoint while the job runs. Shared by `test/outages.test.ts` and the campaign.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import Database from 'better-sqlite3';
import { GENERATOR_SHARD_ID } from '../../connectors/sources/index.js';
import type { Fauxqs } from '../../test/servers/fauxqs.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An HTTP pass-through between the job and fauxqs. fauxqs keeps its queues in memory, so whatever it
 * accepted after the subscriber's last read would be lost with it: closing the gate first (refusing
 * new requests, letting those in flight finish) makes "drain the queue, then stop fauxqs" exact. To
 * the job it is the same outage: connections refused until fauxqs is back.
 *
 * @example
 * ```ts
 * const gate = new Gate(await freePort(), () => fauxqs.port);
 * await gate.open(); // the job's sns sink uses gate.endpoint
 * await gate.close(); // the outage begins, nothing accepted is in flight
 * ```
 */
export class Gate {
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

/**
 * The SQS subscriber: reads the queue continuously, deleting what it read, and keeps every alert_id.
 *
 * @example
 * ```ts
 * const subscriber = new Subscriber('alerts-q');
 * await subscriber.start(fauxqs);
 * await subscriber.stop(); // after a last read that found the queue empty
 * subscriber.ids;
 * ```
 */
export class Subscriber {
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

/**
 * The SQLite store's checkpoint of the generator shard, read from the file while the job runs.
 *
 * @example
 * ```ts
 * sqliteCheckpoint('/tmp/fauxqs.db'); // '2210', or null before the first commit
 * ```
 */
export function sqliteCheckpoint(path: string): string | null {
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
