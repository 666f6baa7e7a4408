/**
 * Test fixtures of the alert router and the sinks: a complete anomaly with overridable fields.
 * Not part of the public API.
 */
import type { AlertNotification, Anomaly } from '../ports.js';

/**
 * 2026-01-05T00:00:00Z, a Monday, the generator's default start.
 *
 * @example
 * ```ts
 * makeAnomaly({ id: 'a', detectedAt: T0 + 5 * MINUTE });
 * ```
 */
export const T0 = Date.UTC(2026, 0, 5);
/**
 * One minute of event time, ms.
 *
 * @example
 * ```ts
 * router.advance(T0 + 5 * MINUTE);
 * ```
 */
export const MINUTE = 60_000;
/**
 * One hour of event time, ms.
 *
 * @example
 * ```ts
 * router.advance(T0 + 6 * HOUR);
 * ```
 */
export const HOUR = 3_600_000;

/**
 * A valid anomaly: a warning shrinkage of SKU-1 in WH1, with `overrides` applied.
 *
 * @example
 * ```ts
 * const a = makeAnomaly({ id: 'a1', detectedAt: T0, severity: 'critical' });
 * ```
 */
export function makeAnomaly(overrides: Partial<Anomaly> & { id: string }): Anomaly {
  return {
    type: 'shrinkage',
    severity: 'warning',
    score: 0.91,
    sku: 'SKU-1',
    warehouse: 'WH1',
    detectedAt: T0,
    eventIds: [`ev-${overrides.id}`],
    detector: 'rule:count-gap',
    explanation: {
      summary: 'Cycle count found 40 units where the book said 52',
      features: [
        { name: 'count_gap', observed: -12, expected: 0, contribution: 0.7 },
        { name: 'on_hand', observed: 40, expected: 52, contribution: 0.2 },
        { name: 'sales_rate', observed: 3.25, expected: 3.1 },
      ],
    },
    ...overrides,
  };
}

/**
 * A notification with one anomaly per id.
 *
 * @example
 * ```ts
 * const n = makeNotification('n1', ['a1', 'a2']);
 * ```
 */
export function makeNotification(
  id: string,
  anomalyIds: string[] = ['a1'],
  suppressed = 0,
): AlertNotification {
  return {
    id,
    groupKey: 'WH1|shrinkage',
    warehouse: 'WH1',
    type: 'shrinkage',
    severity: 'critical',
    anomalies: anomalyIds.map((a, i) => makeAnomaly({ id: a, severity: i === 0 ? 'critical' : 'warning' })),
    suppressed,
  };
}
