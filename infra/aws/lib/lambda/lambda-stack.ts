import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { AlertsStack } from '../alerts/alerts-stack.js';
import { dynamoDbStore, jsonLogs, snsSink } from '../job/job-environment.js';
import { ERROR_LINES, OpsAlarms } from '../monitoring/ops-alarms.js';
import type { DataStack } from '../storage/data-stack.js';
import { ConsumerFunction } from './consumer-function.js';

/**
 * Props of {@link LambdaStack}.
 *
 * @example
 * ```ts
 * const props: LambdaStackProps = { data, alerts, logRetention: RetentionDays.ONE_MONTH };
 * ```
 */
export interface LambdaStackProps extends StackProps {
  readonly data: DataStack;
  readonly alerts: AlertsStack;
  readonly logRetention: RetentionDays;
  readonly reservedConcurrency?: number;
  /** Records per invocation (per shard); default 500. */
  readonly batchSize?: number;
}

/**
 * The Lambda alternative to the ECS workers: `cli/lambda.ts`'s handler on a Kinesis event-source
 * mapping, the DynamoDB store and the SNS sink; records Lambda gives up on are described in an
 * encrypted SQS queue; alarms to the ops topic on errors, iterator age and that queue.
 *
 * Deploy either this or the worker stack: two consumers of one stream would each take every shard
 * and fence each other's commits in the store.
 *
 * @example
 * ```ts
 * new LambdaStack(app, 'ShelfwatchLambda', { data, alerts, logRetention: RetentionDays.ONE_MONTH });
 * ```
 */
export class LambdaStack extends Stack {
  readonly consumer: ConsumerFunction;
  /** Where the mapping describes each batch it gave up on: shard, sequence numbers, the reason. */
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: LambdaStackProps) {
    super(scope, id, props);
    const { data, alerts } = props;
    this.consumer = new ConsumerFunction(this, 'Consumer', {
      environment: { ...jsonLogs(), ...dynamoDbStore(data.tables), ...snsSink(0, 'sns', alerts.alertTopic) },
      logRetention: props.logRetention,
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrency: props.reservedConcurrency } : {}),
    });
    const fn = this.consumer.fn;
    data.tables.grantStore(fn);
    alerts.grantPublishAlerts(this.consumer.role);

    this.failures = new Queue(this, 'OnFailure', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the end of the line: the event-source mapping's on-failure destination (a dead-letter queue in all but name); a DLQ of it would only move the same messages once more",
    });

    // The mapping reads with the function's role: KinesisEventSource grants it read on the stream (and
    // kms:Decrypt on its key), SqsDlq grants it SendMessage on the queue.
    fn.addEventSource(
      new KinesisEventSource(data.stream.stream, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? 500,
        maxBatchingWindow: Duration.seconds(2),
        // One batch per shard at a time: the handler commits a shard's records in order.
        parallelizationFactor: 1,
        // The handler answers with batchItemFailures (the first record not committed) ...
        reportBatchItemFailures: true,
        // ... and finds that record itself, bisecting the batch in the engine, so Lambda's bisection
        // would only re-send halves of batches whose committed prefix the handler skips anyway. It
        // could help only when the whole invocation fails (a configuration error, a crash, a timeout),
        // and there halving the batch fixes nothing while it spends retries.
        bisectBatchOnError: false,
        // A record that always fails holds its shard until this many retries, or until it is older
        // than maxRecordAge; then the batch's description goes to the on-failure queue and the shard
        // moves on. The records themselves stay in the stream (retentionHours) to be replayed from there.
        retryAttempts: 10,
        maxRecordAge: Duration.hours(6),
        onFailure: new SqsDlq(this.failures),
      }),
    );

    const alarms = new OpsAlarms(this, 'Alarms', { topic: alerts.opsTopic });
    alarms.add('Errors', {
      metric: fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 0,
      description:
        'The shelfwatch Lambda failed whole invocations in the last 5 minutes (a configuration error, a crash, a timeout); partial failures are retried without counting here',
    });
    alarms.add('IteratorAge', {
      metric: fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: Duration.minutes(15).toMilliseconds(),
      periods: 5,
      description:
        'The Lambda consumer is more than 15 minutes behind the stream for 5 minutes: failing batches hold their shard (see the error alarm and the log group), or the function is throttled',
    });
    alarms.add('GaveUp', {
      metric: this.failures.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      description:
        'The event-source mapping gave up on batches (retries or record age exhausted): each message names the shard and sequence numbers to replay from the stream before it expires',
    });
    alarms.add('ErrorLines', {
      metric: alarms.logMetric('ErrorLines', this.consumer.logGroup, 'ErrorLines', ERROR_LINES),
      threshold: 0,
      description:
        'The shelfwatch Lambda logged errors (level error or fatal) in the last 5 minutes; read the lines in the log group',
    });
  }
}
