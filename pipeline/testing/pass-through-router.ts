/** A stand-in for the alert router in tests where its grouping is not under test. */
import type { AlertRouting, RoutedNotification } from '../engine.js';
import type { AlertNotification, Anomaly } from '../ports.js';

/**
 * Routing that makes every anomaly its own notification (id `n-<anomaly id>`) to `receiver`, at once.
 *
 * @example
 * ```ts
 * const engine = new InventoryEngine({ store, sinks, createRouter: () => passThroughRouter('test'), … });
 * ```
 */
export function passThroughRouter(receiver: string): AlertRouting {
  const pending: RoutedNotification[] = [];
  const note = (a: Anomaly): AlertNotification => ({
    id: `n-${a.id}`,
    groupKey: `${a.warehouse}|${a.type}`,
    warehouse: a.warehouse,
    type: a.type,
    severity: a.severity,
    anomalies: [a],
    suppressed: 0,
  });
  return {
    add: (a) => pending.push({ receiver, notification: note(a) }),
    advance: () => pending.splice(0),
    flushAll: () => pending.splice(0),
    toJSON: () => ({}),
  };
}
