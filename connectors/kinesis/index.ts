/** Kinesis: the HTTP/1.1 client factory and the PutRecords producer. */
export * from './client.js';
export * from './producer.js';
