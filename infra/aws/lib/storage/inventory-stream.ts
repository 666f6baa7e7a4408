import { Duration } from 'aws-cdk-lib';
import type { IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';

/**
 * Props of {@link InventoryStream}.
 *
 * @example
 * ```ts
 * const props: InventoryStreamProps = { shardCount: 2, retentionHours: 24 };
 * ```
 */
export interface InventoryStreamProps {
  /** Shards of a provisioned stream, or `'on-demand'` (capacity follows the traffic). */
  readonly shardCount: number | 'on-demand';
  /** How long a record stays readable: the window to replay a failed batch in. */
  readonly retentionHours: number;
}

/**
 * The Kinesis stream the inventory events arrive on, provisioned or on-demand, encrypted with KMS under
 * the AWS-managed `aws/kinesis` key: a customer-managed key would cost KMS calls from every producer and
 * consumer and a `kms:Decrypt` grant to each, for no control this stream needs (cdk-nag KDS3).
 *
 * @example
 * ```ts
 * const stream = new InventoryStream(this, 'Stream', { shardCount: 2, retentionHours: 24 });
 * stream.stream.grantRead(taskRole);
 * ```
 */
export class InventoryStream extends Construct {
  readonly stream: Stream;
  /** Shards to size consumers by: the provisioned count, or the 4 an on-demand stream starts with. */
  readonly expectedShards: number;

  constructor(scope: Construct, id: string, props: InventoryStreamProps) {
    super(scope, id);
    const onDemand = props.shardCount === 'on-demand';
    this.stream = new Stream(this, 'Stream', {
      encryption: StreamEncryption.MANAGED,
      retentionPeriod: Duration.hours(props.retentionHours),
      ...(onDemand
        ? { streamMode: StreamMode.ON_DEMAND }
        : { streamMode: StreamMode.PROVISIONED, shardCount: props.shardCount }),
    });
    this.expectedShards = onDemand ? 4 : (props.shardCount as number);
  }

  /**
   * Age of the oldest record a consumer read last (GetRecords), the maximum over shards per minute: how
   * far behind the slowest shard is.
   */
  iteratorAge(): IMetric {
    return this.stream.metricGetRecordsIteratorAgeMilliseconds({
      statistic: 'Maximum',
      period: Duration.minutes(1),
    });
  }
}
