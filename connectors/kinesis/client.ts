/** A Kinesis client configured the way both AWS and the local stand-ins need. */

import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * Creates a Kinesis client on HTTP/1.1. The SDK defaults to HTTP/2 for Kinesis, which kinesalite rejects
 * with a protocol error; HTTP/1.1 works against both. Region, endpoint (`AWS_ENDPOINT_URL_KINESIS`) and
 * credentials come from the standard AWS chain unless given.
 *
 * @example
 * ```ts
 * const kinesis = createKinesisClient({ endpoint: 'http://127.0.0.1:4567', region: 'us-east-1' });
 * ```
 */
export function createKinesisClient(config: KinesisClientConfig = {}): KinesisClient {
  return new KinesisClient({ requestHandler: new NodeHttpHandler(), ...config });
}

/**
 * A DynamoDB client for the lease table, on HTTP/1.1 like the Kinesis client (DynamoDB Local and AWS
 * both take it). Region, endpoint (`AWS_ENDPOINT_URL_DYNAMODB`) and credentials come from the
 * standard AWS chain unless given.
 *
 * @example
 * ```ts
 * const ddb = createLeaseTableClient({ endpoint: 'http://127.0.0.1:8000', region: 'us-east-1' });
 * ```
 */
export function createLeaseTableClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ requestHandler: new NodeHttpHandler(), ...config });
}
