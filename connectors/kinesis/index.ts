/** Kinesis: the HTTP/1.1 clients, the PutRecords producer, the lease table, the shard consumer and the Lambda entry. */
export * from './client.js';
export * from './consumer.js';
export * from './from-config.js';
export * from './lambda.js';
export * from './leases.js';
export * from './partition.js';
export * from './producer.js';
