/**
 * The generator's label types and the stream job's anomaly types are one vocabulary: evaluation matches
 * them by name. They live in two modules (datasets/ must not depend on the job), so this test keeps them
 * equal.
 */
import { describe, expect, it } from 'vitest';
import { ANOMALY_TYPES as LABEL_TYPES } from '../datasets/index.js';
import { ANOMALY_TYPES } from '../pipeline/index.js';

describe('anomaly vocabulary', () => {
  it('is the same list in the generator and the stream job', () => {
    expect([...LABEL_TYPES].sort()).toEqual([...ANOMALY_TYPES].sort());
  });
});
