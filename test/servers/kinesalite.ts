/** kinesalite as a child process on a free loopback port (a separate process, as Kinesis is). */

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateStreamCommand, DescribeStreamCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { freePort, spawnServer, waitForPort } from './ports.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A running kinesalite. */
export interface Kinesalite {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts kinesalite (in memory, no artificial delays).
 *
 * @example
 * ```ts
 * const k = await startKinesalite();
 * const kinesis = createKinesisClient({ endpoint: k.endpoint, region: 'us-east-1', credentials });
 * ```
 */
export async function startKinesalite(): Promise<Kinesalite> {
  const port = await freePort();
  const server = spawnServer(process.execPath, [
    join(ROOT, 'node_modules', 'kinesalite', 'cli.js'),
    '--port',
    String(port),
    '--createStreamMs',
    '0',
    '--deleteStreamMs',
    '0',
    '--updateStreamMs',
    '0',
    '--shardLimit',
    '100',
  ]);
  try {
    await waitForPort(port, 20_000, server.child);
  } catch (err) {
    throw new Error(`kinesalite did not start: ${(err as Error).message}\n${server.output()}`);
  }
  return { endpoint: `http://127.0.0.1:${port}`, close: () => server.stop() };
}

/** Creates a stream and waits until it is ACTIVE. */
export async function createStream(kinesis: KinesisClient, name: string, shards: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  await waitActive(kinesis, name);
}

/** Waits until a stream is ACTIVE again (after create, split or merge). */
export async function waitActive(kinesis: KinesisClient, name: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const d = await kinesis.send(new DescribeStreamCommand({ StreamName: name }));
    if (d.StreamDescription?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`stream ${name} not active`);
}

/** Test credentials for the local stand-ins (never real ones). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
