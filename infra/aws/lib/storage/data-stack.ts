import { Stack, type StackProps } from 'aws-cdk-lib';
import type { IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ArtifactBucket } from './artifact-bucket.js';
import { InventoryStream } from './inventory-stream.js';
import { MysqlDatabase } from './mysql-database.js';
import { StateTables } from './state-tables.js';

/**
 * Props of {@link DataStack}.
 *
 * @example
 * ```ts
 * const props: DataStackProps = { vpc, privateSubnets, shardCount: 2, retentionHours: 24, mysql: false, logRetention: RetentionDays.ONE_MONTH };
 * ```
 */
export interface DataStackProps extends StackProps {
  readonly vpc: IVpc;
  readonly privateSubnets: SubnetSelection;
  /** Shards of a provisioned stream, or `'on-demand'`. */
  readonly shardCount: number | 'on-demand';
  readonly retentionHours: number;
  /** Whether to create the RDS MySQL instance (Multi-AZ: the most expensive piece here). */
  readonly mysql: boolean;
  readonly logRetention: RetentionDays;
}

/**
 * What the job reads and keeps: the Kinesis stream, the DynamoDB lease, state and audit tables, the
 * optional RDS MySQL instance and the artifact bucket, with one customer-managed KMS key (rotated
 * yearly) for the bucket and the database. The stream and the tables are encrypted under AWS-managed
 * KMS keys (`aws/kinesis`, `aws/dynamodb`).
 *
 * @example
 * ```ts
 * const data = new DataStack(app, 'ShelfwatchData', {
 *   vpc: network.vpc,
 *   privateSubnets: network.privateSubnets,
 *   shardCount: 2,
 *   retentionHours: 24,
 *   mysql: false,
 *   logRetention: RetentionDays.ONE_MONTH,
 * });
 * data.stream.stream.grantRead(role);
 * ```
 */
export class DataStack extends Stack {
  readonly key: Key;
  readonly stream: InventoryStream;
  readonly tables: StateTables;
  readonly database: MysqlDatabase | undefined;
  readonly artifacts: ArtifactBucket;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    this.key = new Key(this, 'DataKey', {
      description: 'shelfwatch data: artifact bucket, RDS storage and backups',
      enableKeyRotation: true,
    });
    this.stream = new InventoryStream(this, 'Inventory', {
      shardCount: props.shardCount,
      retentionHours: props.retentionHours,
    });
    this.tables = new StateTables(this, 'Tables');
    this.database = props.mysql
      ? new MysqlDatabase(this, 'Mysql', {
          vpc: props.vpc,
          subnets: props.privateSubnets,
          key: this.key,
          instanceIdentifier: `${this.stackName.toLowerCase()}-mysql`,
          logRetention: props.logRetention,
        })
      : undefined;
    this.artifacts = new ArtifactBucket(this, 'Artifacts', { key: this.key });
  }
}
