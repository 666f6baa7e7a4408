/** Which DynamoDB errors are refusals of the data: AWS's own messages, and what must not match. */
import { describe, expect, it } from 'vitest';
import { StoreRefusedError } from '../../pipeline/ports.js';
import { refusedByDynamoDb } from './refused.js';

const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });

describe('refusedByDynamoDb', () => {
  it('maps the size refusals of AWS DynamoDB, also as a transaction cancellation reason and under a wrapper', () => {
    const refusals = [
      named('ValidationException', 'Item size has exceeded the maximum allowed size'),
      named('ValidationException', 'Item size to update has exceeded the maximum allowed size'),
      named(
        'ValidationException',
        'One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes',
      ),
      named(
        'ValidationException',
        'One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes',
      ),
      { name: 'ValidationError', message: 'Item size has exceeded the maximum allowed size' },
      new Error('commit failed', {
        cause: named('ValidationException', 'Item size has exceeded the maximum allowed size'),
      }),
    ];
    for (const error of refusals) {
      const refused = refusedByDynamoDb(error);
      expect(refused).toBeInstanceOf(StoreRefusedError);
      expect(refused?.store).toBe('dynamodb');
      expect(refused?.cause).toBe(error);
    }
    expect(refusedByDynamoDb(refusals[0])?.message).toBe(
      'dynamodb state store refused the batch: Item size has exceeded the maximum allowed size (ValidationException)',
    );
  });

  it('leaves other validation errors (bugs), throttling, outages and missing tables as they are', () => {
    const others = [
      named(
        'ValidationException',
        'One or more parameter values were invalid: Missing the key sk in the item',
      ),
      named('ValidationException', 'Invalid UpdateExpression: Syntax error; token: "SET"'),
      named('ValidationException', 'Value provided in ExpressionAttributeNames unused in expressions'),
      named(
        'ProvisionedThroughputExceededException',
        'The level of configured provisioned throughput was exceeded',
      ),
      named('ResourceNotFoundException', 'Requested resource not found'),
      named('InternalServerError', 'Internal server error'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' }),
      // The right words under another name are not DynamoDB's refusal.
      named('Error', 'Item size has exceeded the maximum allowed size'),
    ];
    for (const error of others) expect(refusedByDynamoDb(error)).toBeUndefined();
  });
});
