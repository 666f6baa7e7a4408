/**
 * The `detection` section of the run configuration, in a file of its own so that the detection owner
 * can add keys without touching the rest of the schema. Keep it a strict object: a misspelt key must be
 * an error, not a setting silently left at its default. Give every key a description (`.meta`): the
 * configuration reference is generated from it.
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
  model: text('a file path').optional().meta({
    description:
      'An Isolation Forest count model trained by `shelfwatch train` (JSON); without it the rules and baselines run alone.',
  }),
  duplicateWindowHours: num(0).default(24).meta({
    description:
      'How long an event id is remembered so that a redelivered duplicate is dropped, hours of event time; older events are refused (`expired_event`).',
  }),
});
