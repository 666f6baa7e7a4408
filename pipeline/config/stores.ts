/**
 * The state store variants of the run configuration (`store:`), one strict object per `type`.
 * Add a store by adding its schema to {@link STORE_VARIANTS}.
 */
import { z } from 'zod';
import { text } from './leaves.js';

const SqliteStoreSchema = z.strictObject({
  type: z.literal('sqlite'),
  path: text('a file path').default('data/shelfwatch.db'),
});

/** Every store variant; MySQL and DynamoDB join this list. */
export const STORE_VARIANTS = [SqliteStoreSchema] as const;
