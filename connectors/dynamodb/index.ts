/**
 * The DynamoDB state store: the store, its client and its errors. The item layout (`codec.ts`), the
 * request helpers (`requests.ts`) and table creation (`tables.ts`) stay internal to this folder.
 */
export { createDynamoDbClient, type DynamoDbClientOptions } from './client.js';
export { type DynamoDbRetryPolicy, DynamoDbUnprocessedError } from './requests.js';
export {
  createDynamoDbStore,
  DEFAULT_APPLIED_EVENT_TTL_SECONDS,
  DEFAULT_DYNAMODB_TABLE,
  type DynamoDbListOptions,
  DynamoDbStateStore,
  type DynamoDbStateStoreOptions,
  DynamoDbStoreError,
} from './state-store.js';
