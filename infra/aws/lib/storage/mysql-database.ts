import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  InstanceClass,
  InstanceSize,
  InstanceType,
  type IVpc,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Credentials,
  DatabaseInstance,
  DatabaseInstanceEngine,
  type IInstanceEngine,
  MysqlEngineVersion,
} from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * The database the job's SQL migrations run in (`store.database`).
 *
 * @example
 * ```ts
 * const env = mysqlStore(host, port, MYSQL_DATABASE);
 * ```
 */
export const MYSQL_DATABASE = 'shelfwatch';
/** The master user the job connects as; its password is generated into Secrets Manager. */
const MYSQL_USER = 'shelfwatch';
/** The logs exported to CloudWatch (MySQL's general log is off: it would log every statement). */
const LOG_EXPORTS = ['error', 'slowquery'] as const;

/**
 * Props of {@link MysqlDatabase}.
 *
 * @example
 * ```ts
 * const props: MysqlDatabaseProps = {
 *   vpc, subnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS }, key,
 *   instanceIdentifier: 'shelfwatch-mysql', logRetention: RetentionDays.ONE_MONTH,
 * };
 * ```
 */
export interface MysqlDatabaseProps {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  /** Encrypts the storage, backups and snapshots. */
  readonly key: IKey;
  /**
   * Default MySQL 8.0 (the newest minor RDS offers). RDS's standard support of 8.0 ended on 31 July 2026;
   * past it RDS bills Extended Support: `MysqlEngineVersion.VER_8_4_x` is the next LTS and the store's SQL
   * runs on both.
   */
  readonly engine?: IInstanceEngine;
  /** Default db.t4g.medium. */
  readonly instanceType?: InstanceType;
  /** The instance's name (lower case), which also names its log groups. */
  readonly instanceIdentifier: string;
  readonly logRetention: RetentionDays;
}

/**
 * RDS MySQL for `store.type: mysql`: Multi-AZ, encrypted with the data key, in private subnets,
 * deletion-protected, 7 days of backups, credentials generated into Secrets Manager and rotated every
 * 30 days. No security-group rule admits anyone: a consumer calls `connections.allowToDefaultPort(db.instance)`.
 *
 * A rotation changes the password under running workers: their store calls fail, after 20 failed
 * retries `/healthz` answers 503, the ECS health check fails and ECS starts a task that reads the new
 * secret. Expect a few minutes of lag after each rotation.
 *
 * @example
 * ```ts
 * const db = new MysqlDatabase(this, 'Mysql', { vpc, subnets, key, instanceIdentifier: 'shelfwatch-mysql', logRetention });
 * service.connections.allowToDefaultPort(db.instance);
 * ```
 */
export class MysqlDatabase extends Construct {
  readonly instance: DatabaseInstance;
  /** `{ username, password, host, port, dbname, engine }` as RDS writes it. */
  readonly secret: ISecret;

  constructor(scope: Construct, id: string, props: MysqlDatabaseProps) {
    super(scope, id);
    this.instance = new DatabaseInstance(this, 'Instance', {
      engine: props.engine ?? DatabaseInstanceEngine.mysql({ version: MysqlEngineVersion.VER_8_0 }),
      instanceType:
        props.instanceType ?? InstanceType.of(InstanceClass.BURSTABLE4_GRAVITON, InstanceSize.MEDIUM),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      multiAz: true,
      storageEncrypted: true,
      storageEncryptionKey: props.key,
      allocatedStorage: 20,
      maxAllocatedStorage: 200,
      credentials: Credentials.fromGeneratedSecret(MYSQL_USER),
      databaseName: MYSQL_DATABASE,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      backupRetention: Duration.days(7),
      autoMinorVersionUpgrade: true,
      instanceIdentifier: props.instanceIdentifier,
      cloudwatchLogsExports: [...LOG_EXPORTS],
      enablePerformanceInsights: false,
      publiclyAccessible: false,
    });
    // RDS writes its logs to /aws/rds/instance/<identifier>/<log>; created here first, with a retention,
    // rather than by CDK's log-retention custom resource (a Lambda with a managed policy and "*").
    for (const log of LOG_EXPORTS) {
      const group = new LogGroup(this, `Log-${log}`, {
        logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/${log}`,
        retention: props.logRetention,
      });
      this.instance.node.addDependency(group);
    }
    // Credentials.fromGeneratedSecret always yields a secret.
    this.secret = this.instance.secret!;
    this.instance.addRotationSingleUser({ automaticallyAfter: Duration.days(30) });

    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'MySQL listens on its standard port 3306: a different port hides nothing from a scan of the VPC, and the security group admits only the workers',
    });
  }
}
