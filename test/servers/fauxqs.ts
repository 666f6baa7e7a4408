/**
 * fauxqs 1.9.2 (SNS + SQS in memory) as a child process on a loopback port, for the SNS sink's
 * integration tests and benchmark. 2.x needs Node 22; 1.9.2 runs on Node 20. It keeps nothing across a
 * restart: topics, queues and subscriptions must be created again. It listens on all interfaces
 * (`0.0.0.0` is hard-coded in 1.9.2); tests only ever talk to 127.0.0.1.
 *
 * Known gaps (measured): HTTP(S) subscriptions are accepted but never delivered (verify fan-out through
 * SQS), `MessageStructure: json` is not interpreted (subscribers get the whole structure rather than
 * their protocol's member), and filter policies do not match `String.Array` attributes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnServer, waitForPort } from './ports.js';

/**
 * Resources fauxqs creates before it answers its first request (its `FAUXQS_INIT` file): a restarted
 * server then has its topic, queue and subscription at once, with no window in which a publish finds a
 * topic without its subscription. Names, not ARNs (account `000000000000`, region `us-east-1`).
 *
 * @example
 * ```ts
 * const init: FauxqsInit = {
 *   topics: [{ name: 'alerts' }],
 *   queues: [{ name: 'alerts-q' }],
 *   subscriptions: [{ topic: 'alerts', queue: 'alerts-q', attributes: { RawMessageDelivery: 'true' } }],
 * };
 * ```
 */
export interface FauxqsInit {
  queues?: Array<{ name: string; attributes?: Record<string, string> }>;
  topics?: Array<{ name: string; attributes?: Record<string, string> }>;
  subscriptions?: Array<{ topic: string; queue: string; attributes?: Record<string, string> }>;
}

/**
 * A running fauxqs.
 *
 * @example
 * ```ts
 * const fauxqs: Fauxqs = await startFauxqs();
 * const sqs = new SQSClient({ ...fauxqs.clientConfig, requestHandler: new NodeHttpHandler() });
 * ```
 */
export interface Fauxqs {
  /** `http://127.0.0.1:PORT`, for the SNS and SQS clients' `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  /** Dummy credentials and region the clients need (fauxqs checks neither). */
  readonly clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** The server's log (the last 64 KiB), for failure messages. */
  output(): string;
  /** Stops it (SIGTERM, then SIGKILL); resolves when it has exited. */
  stop(): Promise<void>;
}

// Its `exports` hide both the CLI and package.json from require.resolve: name the file in the checkout.
const cli = fileURLToPath(new URL('../../node_modules/fauxqs/dist/cli.js', import.meta.url));

/**
 * Starts fauxqs on `port` (default: a free one) and waits until it accepts connections (~0.3 s).
 *
 * @example
 * ```ts
 * const fauxqs = await startFauxqs();
 * const sns = new SNSClient({ ...fauxqs.clientConfig, requestHandler: new NodeHttpHandler() });
 * await fauxqs.stop();
 * ```
 */
export async function startFauxqs(options: { port?: number; init?: FauxqsInit } = {}): Promise<Fauxqs> {
  const port = options.port ?? (await freePort());
  const dir = options.init ? mkdtempSync(join(tmpdir(), 'shelfwatch-fauxqs-')) : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, FAUXQS_PORT: String(port) };
  if (dir && options.init) {
    env.FAUXQS_INIT = join(dir, 'init.json');
    writeFileSync(env.FAUXQS_INIT, JSON.stringify(options.init));
  }
  // Its CLI always logs each request (it ignores FAUXQS_LOGGER): spawnServer keeps only the tail.
  const server = spawnServer(process.execPath, [cli], { env });
  const cleanUp = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 15_000, server.child);
  } catch (err) {
    await server.stop(500);
    cleanUp();
    throw new Error(`fauxqs did not start on port ${port}: ${(err as Error).message}\n${server.output()}`);
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    clientConfig: {
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    },
    output: server.output,
    stop: async () => {
      await server.stop(2_000);
      cleanUp();
    },
  };
}
