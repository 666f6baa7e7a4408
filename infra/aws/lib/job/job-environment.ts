/**
 * The job's configuration as `SHELFWATCH_*` environment variables (docs/configuration.md), built from
 * the resources it runs against. The job refuses an unknown `SHELFWATCH_*` variable, so the names here
 * are checked against its real configuration loader in test/job-environment.test.ts.
 */
import { Aws } from 'aws-cdk-lib';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { StateTables } from '../storage/state-tables.js';

/**
 * `SHELFWATCH_*` name → value (CloudFormation tokens allowed).
 *
 * @example
 * ```ts
 * const env: JobEnvironment = { ...jsonLogs(), ...dynamoDbStore(tables) };
 * ```
 */
export type JobEnvironment = Record<string, string>;

/**
 * The Kinesis source: the stream, and the lease table by its name (`applicationName` names the lease
 * table, as the KCL does).
 *
 * @example
 * ```ts
 * const env = kinesisSource(data.stream.stream, data.tables.leaseTable.tableName);
 * // { SHELFWATCH_SOURCE__TYPE: 'kinesis', SHELFWATCH_SOURCE__STREAM: '${Token[...]}', ... }
 * ```
 */
export function kinesisSource(stream: IStream, leaseTableName: string): JobEnvironment {
  return {
    SHELFWATCH_SOURCE__TYPE: 'kinesis',
    SHELFWATCH_SOURCE__STREAM: stream.streamName,
    SHELFWATCH_SOURCE__APPLICATION_NAME: leaseTableName,
    SHELFWATCH_SOURCE__REGION: Aws.REGION,
    SHELFWATCH_SOURCE__INITIAL_POSITION: 'TRIM_HORIZON',
  };
}

/**
 * The DynamoDB state store on tables managed here: `createTables: false`, so that a job never creates
 * a table these stacks do not know (nor needs `dynamodb:CreateTable` for it).
 *
 * @example
 * ```ts
 * const env = dynamoDbStore(data.tables);
 * ```
 */
export function dynamoDbStore(tables: StateTables): JobEnvironment {
  return {
    SHELFWATCH_STORE__TYPE: 'dynamodb',
    SHELFWATCH_STORE__TABLE_NAME: tables.stateTable.tableName,
    SHELFWATCH_STORE__AUDIT_TABLE_NAME: tables.auditTable.tableName,
    SHELFWATCH_STORE__CREATE_TABLES: 'false',
    SHELFWATCH_STORE__REGION: Aws.REGION,
  };
}

/**
 * The MySQL state store on RDS, all but the credentials (`SHELFWATCH_STORE__USER` and
 * `SHELFWATCH_STORE__PASSWORD` come from the database's secret), over TLS checked against the RDS CA.
 *
 * @example
 * ```ts
 * const env = mysqlStore(db.instance.dbInstanceEndpointAddress, db.instance.dbInstanceEndpointPort, 'shelfwatch');
 * ```
 */
export function mysqlStore(host: string, port: string, database: string): JobEnvironment {
  return {
    SHELFWATCH_STORE__TYPE: 'mysql',
    SHELFWATCH_STORE__HOST: host,
    SHELFWATCH_STORE__PORT: port,
    SHELFWATCH_STORE__DATABASE: database,
    SHELFWATCH_STORE__SSL: 'rds',
  };
}

/**
 * The `index`-th alert sink: an SNS topic (its region is the ARN's).
 *
 * @example
 * ```ts
 * const env = snsSink(0, 'sns', alerts.alertTopic);
 * ```
 */
export function snsSink(index: number, name: string, topic: ITopic): JobEnvironment {
  return {
    [`SHELFWATCH_ALERTS__SINKS__${index}__TYPE`]: 'sns',
    [`SHELFWATCH_ALERTS__SINKS__${index}__NAME`]: name,
    [`SHELFWATCH_ALERTS__SINKS__${index}__TOPIC_ARN`]: topic.topicArn,
  };
}

/**
 * The `index`-th alert sink: Slack, whose webhook URL (the credential) the caller passes as a secret
 * named {@link slackWebhookVariable}.
 *
 * @example
 * ```ts
 * const env = slackSink(1, 'slack');
 * ```
 */
export function slackSink(index: number, name: string): JobEnvironment {
  return {
    [`SHELFWATCH_ALERTS__SINKS__${index}__TYPE`]: 'slack',
    [`SHELFWATCH_ALERTS__SINKS__${index}__NAME`]: name,
  };
}

/**
 * The variable holding the `index`-th Slack sink's webhook URL.
 *
 * @example
 * ```ts
 * secrets[slackWebhookVariable(1)] = EcsSecret.fromSecretsManager(webhook);
 * ```
 */
export function slackWebhookVariable(index: number): string {
  return `SHELFWATCH_ALERTS__SINKS__${index}__WEBHOOK_URL`;
}

/**
 * Logs as JSON lines (what CloudWatch Logs and its metric filters read), at `info`.
 *
 * @example
 * ```ts
 * const env = { ...jsonLogs(), ...dynamoDbStore(tables) };
 * ```
 */
export function jsonLogs(): JobEnvironment {
  return { SHELFWATCH_LOG__FORMAT: 'json', SHELFWATCH_LOG__LEVEL: 'info' };
}
