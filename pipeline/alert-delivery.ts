/**
 * Delivering a batch's notifications to their sinks before the batch commits. A transient failure is
 * retried through the retry policy while the checkpoint waits; a permanent one (a 4xx other than
 * 408/429, a missing topic, a refused login) would fail the same way forever, so the notifications the
 * sink refuses are parked — stored with the batch, with the reason — and the checkpoint moves on.
 */
import { describeCause } from './errors.js';
import type { AlertNotification, AlertSink, UndeliveredNotification } from './ports.js';
import { RetryGiveUpError } from './retry.js';

/** A notification addressed to one receiver (a sink name). */
export interface RoutedNotification {
  receiver: string;
  notification: AlertNotification;
}

/**
 * Runs one retried operation: the engine's retry loop, with its policy, signal and observers.
 *
 * @example
 * ```ts
 * const retry: Retrying = (what, task) => policy.run(what, task, { signal });
 * ```
 */
export type Retrying = (what: string, task: () => Promise<void>) => Promise<void>;

function permanent(err: unknown): err is RetryGiveUpError {
  return err instanceof RetryGiveUpError && err.reason === 'permanent';
}

/**
 * Publishes `routed` to their sinks, receivers in parallel, and returns what was parked. When a
 * receiver refuses a publish for good, its notifications are sent one at a time to find which it
 * refuses (a repeat of one it accepted is a success, by the sink contract): only those are parked.
 *
 * @throws the retry loop's error when a failure is not permanent (the batch is not committed), or when
 *   a route names a receiver with no sink (a configuration bug).
 * @example
 * ```ts
 * const parked = await deliver(routed, sinks, 'shardId-0', (what, task) => policy.run(what, task));
 * ```
 */
export async function deliver(
  routed: readonly RoutedNotification[],
  sinks: ReadonlyMap<string, AlertSink>,
  shardId: string,
  retry: Retrying,
): Promise<UndeliveredNotification[]> {
  const byReceiver = new Map<string, AlertNotification[]>();
  for (const r of routed) {
    const list = byReceiver.get(r.receiver);
    if (list) list.push(r.notification);
    else byReceiver.set(r.receiver, [r.notification]);
  }
  const parked: UndeliveredNotification[] = [];
  await Promise.all(
    [...byReceiver].map(async ([receiver, notifications]) => {
      const sink = sinks.get(receiver);
      if (!sink) throw new Error(`alert route names receiver '${receiver}', but no sink has that name`);
      const what = `sink ${receiver}`;
      try {
        await retry(what, () => sink.publish(notifications));
        return;
      } catch (err) {
        if (!permanent(err)) throw err;
      }
      for (const notification of notifications) {
        try {
          await retry(what, () => sink.publish([notification]));
        } catch (err) {
          if (!permanent(err)) throw err;
          parked.push({ receiver, notification, shardId, reason: describeCause(err.cause) });
        }
      }
    }),
  );
  return parked;
}
