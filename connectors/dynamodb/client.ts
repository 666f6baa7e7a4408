/** A DynamoDB client for the state store: HTTP/1.1 with keep-alive, bounded timeouts and retries. */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * Options of {@link createDynamoDbClient}: where to connect and how long to wait. Anything not given
 * comes from the standard AWS chain (`AWS_REGION`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ACCESS_KEY_ID` …,
 * profiles, instance roles).
 *
 * @example
 * ```ts
 * const options: DynamoDbClientOptions = { endpoint: 'http://127.0.0.1:8000', region: 'us-east-1', maxAttempts: 3 };
 * ```
 */
export interface DynamoDbClientOptions {
  region?: string;
  endpoint?: string;
  credentials?: DynamoDBClientConfig['credentials'];
  /** Tries per request, the first included, for throttling and network errors (default 5). */
  maxAttempts?: number;
  /** Abandons a connection attempt after this long (default 3,000 ms). */
  connectionTimeoutMs?: number;
  /** Abandons a request whose response has not come after this long (default 10,000 ms). */
  requestTimeoutMs?: number;
  /** Sockets per host (default 64: the store keeps up to `concurrency` requests in flight). */
  maxSockets?: number;
}

/**
 * Creates a DynamoDB client on HTTP/1.1 (AWS and DynamoDB Local both take it) with keep-alive and
 * bounded timeouts, so that an unreachable endpoint fails a call within about
 * `maxAttempts × (connectionTimeoutMs + back-off)` instead of hanging.
 *
 * @example
 * ```ts
 * const client = createDynamoDbClient({ endpoint: 'http://127.0.0.1:8000', region: 'us-east-1' });
 * ```
 */
export function createDynamoDbClient(options: DynamoDbClientOptions = {}): DynamoDBClient {
  const maxSockets = options.maxSockets ?? 64;
  return new DynamoDBClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      throwOnRequestTimeout: true,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    }),
  });
}
