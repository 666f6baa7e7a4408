import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { FilterPattern, type IFilterPattern, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Namespace of the metrics drawn from the job's JSON log lines, followed by `/<stack name>`. */
const LOG_METRICS_NAMESPACE = 'Shelfwatch';

/**
 * One alarm of {@link OpsAlarms.add}.
 *
 * @example
 * ```ts
 * const spec: AlarmSpec = { metric, threshold: 0, description: 'Lambda errors', periods: 1 };
 * ```
 */
export interface AlarmSpec {
  readonly metric: IMetric;
  /** Alarms when the metric is above it (or below, with `below`). */
  readonly threshold: number;
  /** What is wrong and what to look at: the text of the notification. */
  readonly description: string;
  /** Consecutive periods the condition must hold; default 1. */
  readonly periods?: number;
  /** Alarm on values below `threshold` instead of above. */
  readonly below?: boolean;
  /** Default: missing data is not breaching (no traffic, no alarm). */
  readonly treatMissingData?: TreatMissingData;
}

/**
 * CloudWatch alarms about the job, each notifying the ops topic when it fires and when it clears.
 *
 * These are the signals CloudWatch has: AWS service metrics (Kinesis, Lambda, SQS, ECS) and metrics
 * drawn from the job's JSON log lines. The job's own figures are Prometheus metrics on :9464 and need
 * alert rules where Prometheus scrapes them (Amazon Managed Prometheus, or a collector in the task):
 * `shelfwatch_dead_letters_total` and `shelfwatch_quarantined_total` by code, `shelfwatch_checkpoint_lag_seconds`,
 * `shelfwatch_detection_failures_total`, `shelfwatch_alert_notifications_total{outcome="parked"}`,
 * `shelfwatch_kinesis_throttled_total` and `shelfwatch_leases_held` (a worker holding none).
 *
 * @example
 * ```ts
 * const alarms = new OpsAlarms(this, 'Alarms', { topic: opsTopic });
 * alarms.add('IteratorAge', { metric: stream.iteratorAge(), threshold: 600_000, description: 'lagging' });
 * ```
 */
export class OpsAlarms extends Construct {
  readonly #action: SnsAction;

  constructor(scope: Construct, id: string, props: { readonly topic: ITopic }) {
    super(scope, id);
    this.#action = new SnsAction(props.topic);
  }

  /** An alarm on `spec.metric` that notifies the ops topic on ALARM and on OK. */
  add(id: string, spec: AlarmSpec): Alarm {
    const periods = spec.periods ?? 1;
    const alarm = new Alarm(this, id, {
      metric: spec.metric,
      threshold: spec.threshold,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      comparisonOperator: spec.below
        ? ComparisonOperator.LESS_THAN_THRESHOLD
        : ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: spec.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      alarmDescription: spec.description,
    });
    alarm.addAlarmAction(this.#action);
    alarm.addOkAction(this.#action);
    return alarm;
  }

  /**
   * A count of the job's log lines matching `pattern` (pino JSON: `level` as a name, `msg`), as a metric
   * in `Shelfwatch/<stack name>` (one namespace per deployment, so that two environments do not add up).
   */
  logMetric(id: string, logGroup: ILogGroup, metricName: string, pattern: IFilterPattern): IMetric {
    const filter = logGroup.addMetricFilter(id, {
      filterPattern: pattern,
      metricNamespace: `${LOG_METRICS_NAMESPACE}/${Stack.of(this).stackName}`,
      metricName,
      metricValue: '1',
    });
    return filter.metric({ statistic: 'Sum', period: Duration.minutes(5) });
  }
}

/**
 * Log lines at level `error` or `fatal`.
 *
 * @example
 * ```ts
 * const errors = alarms.logMetric('ErrorLines', logGroup, 'ErrorLines', ERROR_LINES);
 * ```
 */
export const ERROR_LINES: IFilterPattern = FilterPattern.any(
  FilterPattern.stringValue('$.level', '=', 'error'),
  FilterPattern.stringValue('$.level', '=', 'fatal'),
);

/**
 * The worker's line for each dead letter (cli/batch-log.ts: `dead letter`, with `code` and `reason`).
 *
 * @example
 * ```ts
 * const deadLetters = alarms.logMetric('DeadLetterLines', logGroup, 'DeadLetters', DEAD_LETTER_LINES);
 * ```
 */
export const DEAD_LETTER_LINES: IFilterPattern = FilterPattern.stringValue('$.msg', '=', 'dead letter');
