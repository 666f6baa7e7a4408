/**
 * The `detection` section of the run configuration, in a file of its own so that the detection owner
 * can add keys without touching the rest of the schema. Keep it a strict object: a misspelt key must be
 * an error, not a setting silently left at its default.
 */
import { z } from 'zod';
import { num, text } from './leaves.js';

/**
 * Detection settings.
 *
 * @example
 * ```ts
 * DetectionConfigSchema.parse({ model: 'models/iforest.json' }).duplicateWindowHours; // 24
 * ```
 */
export const DetectionConfigSchema = z.strictObject({
  /** An Isolation Forest trained by `shelfwatch train` (JSON); without it the rules and baselines run alone. */
  model: text('a file path').optional(),
  /** How long an event id is remembered so that a redelivered duplicate is dropped, hours. */
  duplicateWindowHours: num(0).default(24),
});
