import { Duration } from 'aws-cdk-lib';
import { AdjustmentType, MetricAggregationType } from 'aws-cdk-lib/aws-applicationautoscaling';
import type { IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { FargateService, ScalableTaskCount } from 'aws-cdk-lib/aws-ecs';

/**
 * Thresholds of {@link scaleOnIteratorAge}, in milliseconds of iterator age.
 *
 * @example
 * ```ts
 * const thresholds: IteratorAgeThresholds = { caughtUpMs: 10_000, behindMs: 60_000, farBehindMs: 300_000 };
 * ```
 */
export interface IteratorAgeThresholds {
  /** Below it, one task fewer. */
  readonly caughtUpMs: number;
  /** Above it, one task more. */
  readonly behindMs: number;
  /** Above it, two tasks more. */
  readonly farBehindMs: number;
}

/**
 * Default thresholds: a task is added when the slowest shard is a minute behind, two when it is five
 * minutes behind, and one goes when every shard is within ten seconds.
 *
 * @example
 * ```ts
 * scaleOnIteratorAge(service, metric, 2, DEFAULT_ITERATOR_AGE_THRESHOLDS);
 * ```
 */
export const DEFAULT_ITERATOR_AGE_THRESHOLDS: IteratorAgeThresholds = {
  caughtUpMs: 10_000,
  behindMs: 60_000,
  farBehindMs: 300_000,
};

/**
 * Step scaling of the workers on the stream's `GetRecords.IteratorAgeMilliseconds` (Maximum): from 1
 * task up to `maxTasks` (the shard count: a worker holds at least one shard lease or idles).
 *
 * Step rather than target tracking: iterator age is not proportional to the task count (a worker that
 * keeps up has an age near zero whatever the count), which target tracking assumes. Each step needs
 * five one-minute periods and a change waits five minutes, because adding or removing a worker moves
 * leases (`failoverTimeMs`), which itself raises the age for a while.
 *
 * The metric covers every consumer of the stream: another application reading it slowly makes these
 * workers scale out too.
 *
 * @example
 * ```ts
 * scaleOnIteratorAge(worker.service, data.stream.iteratorAge(), data.stream.expectedShards);
 * ```
 */
export function scaleOnIteratorAge(
  service: FargateService,
  iteratorAge: IMetric,
  maxTasks: number,
  thresholds: IteratorAgeThresholds = DEFAULT_ITERATOR_AGE_THRESHOLDS,
): ScalableTaskCount {
  const scaling = service.autoScaleTaskCount({ minCapacity: 1, maxCapacity: maxTasks });
  scaling.scaleOnMetric('IteratorAge', {
    metric: iteratorAge,
    scalingSteps: [
      { upper: thresholds.caughtUpMs, change: -1 },
      { lower: thresholds.behindMs, change: +1 },
      { lower: thresholds.farBehindMs, change: +2 },
    ],
    adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY,
    metricAggregationType: MetricAggregationType.MAXIMUM,
    evaluationPeriods: 5,
    datapointsToAlarm: 5,
    cooldown: Duration.minutes(5),
  });
  return scaling;
}
