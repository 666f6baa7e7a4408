/**
 * What `shelfwatch run` makes of each committed batch: metrics, and a log line for everything that
 * did not go the plain way (a dead letter, a quarantined record, a parked notification, a late count
 * placed with an incomplete memory), so that nothing is dropped or set aside without a word.
 */
import type { Logger } from 'pino';
import type { BatchReport, ShelfwatchMetrics } from '../pipeline/index.js';

/**
 * Running totals the progress line and the final line print.
 *
 * @example
 * ```ts
 * const totals: RunTotals = { records: 0, anomalies: 0 };
 * ```
 */
export interface RunTotals {
  records: number;
  anomalies: number;
}

/**
 * An `onBatch` observer that counts and logs.
 *
 * @example
 * ```ts
 * const totals: RunTotals = { records: 0, anomalies: 0 };
 * const onBatch = batchObserver(metrics, log, totals, () => engine.state.size);
 * ```
 */
export function batchObserver(
  metrics: ShelfwatchMetrics,
  log: Logger,
  totals: RunTotals,
  trackedSeries: () => number,
  /**
   * The clock the checkpoint lag is measured against: the wall clock, or for a synthetic source (the
   * generator) its own simulated clock, the arrival time of its newest record — a simulation of
   * January replayed in December is not eleven months behind.
   */
  clock: (r: BatchReport) => number = () => Date.now(),
): (r: BatchReport) => void {
  let lastProgress = Date.now();
  return (r) => {
    totals.records += r.records;
    totals.anomalies += r.anomalies.length;
    metrics.recordsTotal.inc({ shard: r.shardId }, r.records);
    for (const [kind, n] of Object.entries(r.eventsByKind)) metrics.eventsTotal.inc({ kind }, n);
    for (const d of r.deadLetters) {
      const quarantined = d.disposition === 'quarantine';
      if (quarantined) metrics.quarantinedTotal.inc({ reason: d.code });
      else metrics.deadLettersTotal.inc({ code: d.code });
      log.warn(
        { shard: d.shardId, sequence: d.sequenceNumber, code: d.code, reason: d.reason },
        quarantined ? 'quarantined' : 'dead letter',
      );
    }
    if (r.duplicates > 0) {
      metrics.duplicatesTotal.inc(r.duplicates);
      log.debug({ shard: r.shardId, duplicates: r.duplicates }, 'repeats dropped');
    }
    for (const e of r.countsBeyondMemory) {
      log.warn(
        { shard: r.shardId, eventId: e.eventId, sku: e.sku, warehouse: e.warehouse, countedAt: e.occurredAt },
        'late cycle count: the series no longer remembers every movement after it, so on hand may miss some until the next count',
      );
    }
    for (const f of r.detectionFailures) {
      metrics.detectionFailuresTotal.inc({ stage: f.stage });
      log.error(
        {
          shard: r.shardId,
          eventId: f.event.eventId,
          sku: f.event.sku,
          warehouse: f.event.warehouse,
          stage: f.stage,
          reason: f.reason,
        },
        'detection failed on an event: it was applied, but not judged (a bug to report)',
      );
    }
    for (const a of r.anomalies) metrics.anomaliesTotal.inc({ type: a.type, severity: a.severity });
    for (const n of r.notifications)
      metrics.alertNotificationsTotal.inc({ receiver: n.receiver, outcome: 'sent' });
    for (const u of r.undelivered) {
      metrics.alertNotificationsTotal.inc({ receiver: u.receiver, outcome: 'parked' });
      log.error(
        { shard: u.shardId, receiver: u.receiver, notification: u.notification.id, reason: u.reason },
        `sink ${u.receiver} refused a notification for good: parked in the store, the checkpoint moves on`,
      );
    }
    metrics.batchDuration.observe(r.seconds);
    metrics.trackedSeries.set(trackedSeries());
    const now = clock(r);
    if (Number.isFinite(r.watermark) && Number.isFinite(now)) {
      metrics.checkpointLag.set({ shard: r.shardId }, Math.max(0, (now - r.watermark) / 1000));
    }
    log.debug(
      {
        shard: r.shardId,
        records: r.records,
        events: r.events,
        duplicates: r.duplicates,
        deadLetters: r.deadLetters.length,
        anomalies: r.anomalies.length,
        // Where the committed batch ends: with the counts, a log tells which records were applied by
        // which commit (the chaos campaign adds them up across SIGKILLed runs).
        checkpoint: r.checkpoint?.sequenceNumber ?? null,
        seconds: r.seconds,
      },
      'batch',
    );
    if (Date.now() - lastProgress >= 10_000) {
      lastProgress = Date.now();
      log.info(
        {
          records: totals.records,
          anomalies: totals.anomalies,
          trackedSeries: trackedSeries(),
          eventTime: Number.isFinite(r.watermark) ? new Date(r.watermark).toISOString() : null,
        },
        'progress',
      );
    }
  };
}
