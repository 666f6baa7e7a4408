import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Repository } from 'aws-cdk-lib/aws-ecr';
import { ContainerImage, Secret as EcsSecret } from 'aws-cdk-lib/aws-ecs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { AlertsStack } from '../alerts/alerts-stack.js';
import {
  dynamoDbStore,
  type JobEnvironment,
  jsonLogs,
  kinesisSource,
  mysqlStore,
  slackSink,
  slackWebhookVariable,
  snsSink,
} from '../job/job-environment.js';
import { DEAD_LETTER_LINES, ERROR_LINES, OpsAlarms } from '../monitoring/ops-alarms.js';
import type { DataStack } from '../storage/data-stack.js';
import { MYSQL_DATABASE } from '../storage/mysql-database.js';
import { scaleOnIteratorAge } from './iterator-age-scaling.js';
import { WorkerService } from './worker-service.js';

/**
 * Props of {@link WorkerStack}.
 *
 * @example
 * ```ts
 * const props: WorkerStackProps = {
 *   vpc, privateSubnets, data, alerts, store: 'dynamodb', imageRepository: 'shelfwatch', imageTag: '0.1.0',
 *   logRetention: RetentionDays.ONE_MONTH,
 * };
 * ```
 */
export interface WorkerStackProps extends StackProps {
  readonly vpc: IVpc;
  readonly privateSubnets: SubnetSelection;
  readonly data: DataStack;
  readonly alerts: AlertsStack;
  /** The state store; `mysql` needs the data stack's RDS instance. */
  readonly store: 'dynamodb' | 'mysql';
  /** ECR repository name in this account and region; the image is pushed there before deploying. */
  readonly imageRepository: string;
  readonly imageTag: string;
  /** Most tasks; default the stream's shard count. */
  readonly maxTasks?: number;
  /** Secrets Manager secret (by name) holding a Slack webhook URL: adds a Slack sink. */
  readonly slackWebhookSecretName?: string;
  readonly logRetention: RetentionDays;
}

/**
 * The ECS Fargate workers (`shelfwatch run`): the Kinesis source with the lease table, the DynamoDB (or
 * MySQL) store on the data stack's tables, the SNS sink on the alert topic, every permission granted by
 * the resource it is for; step scaling on the stream's iterator age; and alarms to the ops topic on
 * iterator age, error and dead-letter log lines, and a service with no running task.
 *
 * @example
 * ```ts
 * new WorkerStack(app, 'ShelfwatchWorker', {
 *   vpc: network.vpc, privateSubnets: network.privateSubnets, data, alerts,
 *   store: 'dynamodb', imageRepository: 'shelfwatch', imageTag: '0.1.0', logRetention: RetentionDays.ONE_MONTH,
 * });
 * ```
 */
export class WorkerStack extends Stack {
  readonly worker: WorkerService;

  constructor(scope: Construct, id: string, props: WorkerStackProps) {
    super(scope, id, props);
    const { data, alerts } = props;
    const database = data.database;
    if (props.store === 'mysql' && !database) {
      throw new Error('WorkerStack: store mysql needs the data stack created with mysql: true');
    }

    const environment: JobEnvironment = {
      ...jsonLogs(),
      ...kinesisSource(data.stream.stream, data.tables.leaseTable.tableName),
      ...(props.store === 'mysql' && database
        ? mysqlStore(
            database.instance.dbInstanceEndpointAddress,
            database.instance.dbInstanceEndpointPort,
            MYSQL_DATABASE,
          )
        : dynamoDbStore(data.tables)),
      ...snsSink(0, 'sns', alerts.alertTopic),
    };
    const secrets: Record<string, EcsSecret> = {};
    if (props.store === 'mysql' && database) {
      secrets.SHELFWATCH_STORE__USER = EcsSecret.fromSecretsManager(database.secret, 'username');
      secrets.SHELFWATCH_STORE__PASSWORD = EcsSecret.fromSecretsManager(database.secret, 'password');
    }
    if (props.slackWebhookSecretName) {
      Object.assign(environment, slackSink(1, 'slack'));
      const webhook = Secret.fromSecretNameV2(this, 'SlackWebhook', props.slackWebhookSecretName);
      secrets[slackWebhookVariable(1)] = EcsSecret.fromSecretsManager(webhook);
    }

    const repository = Repository.fromRepositoryName(this, 'Repository', props.imageRepository);
    this.worker = new WorkerService(this, 'Worker', {
      vpc: props.vpc,
      subnets: props.privateSubnets,
      image: ContainerImage.fromEcrRepository(repository, props.imageTag),
      environment,
      secrets,
      logRetention: props.logRetention,
    });

    // Least privilege, each grant from the resource it is for (no action or resource written by hand).
    const role = this.worker.taskDefinition.taskRole;
    data.stream.stream.grantRead(role);
    data.tables.grantLeases(role);
    if (props.store === 'mysql' && database) {
      // The ingress rule is made a "remote" rule so that it lives in this stack (which depends on the
      // data stack) rather than in the data stack (which would then depend on this one). No egress
      // rule: the workers' group already allows all outbound traffic.
      for (const group of database.instance.connections.securityGroups) {
        group.addIngressRule(
          this.worker.securityGroup,
          database.instance.connections.defaultPort!,
          'shelfwatch workers',
          true,
        );
      }
    } else {
      data.tables.grantStore(role);
    }
    alerts.grantPublishAlerts(role);

    scaleOnIteratorAge(
      this.worker.service,
      data.stream.iteratorAge(),
      props.maxTasks ?? data.stream.expectedShards,
    );

    const alarms = new OpsAlarms(this, 'Alarms', { topic: alerts.opsTopic });
    alarms.add('IteratorAge', {
      metric: data.stream.iteratorAge(),
      threshold: Duration.minutes(15).toMilliseconds(),
      periods: 5,
      description:
        'The slowest shard of the inventory stream is more than 15 minutes behind for 5 minutes: look for errors in the worker logs, and at the task count against the shard count',
    });
    alarms.add('ErrorLines', {
      metric: alarms.logMetric('ErrorLines', this.worker.logGroup, 'ErrorLines', ERROR_LINES),
      threshold: 0,
      description:
        'The workers logged errors (level error or fatal) in the last 5 minutes: a store or sink failing for good, a parked notification, a detection bug; read the lines in the log group',
    });
    alarms.add('DeadLetters', {
      metric: alarms.logMetric('DeadLetterLines', this.worker.logGroup, 'DeadLetters', DEAD_LETTER_LINES),
      threshold: 0,
      description:
        'The workers dead-lettered records in the last 5 minutes (kept in the audit table with code and reason): a producer sends what the job cannot use',
    });
    alarms.add('NoRunningTask', {
      metric: new Metric({
        namespace: 'ECS/ContainerInsights',
        metricName: 'RunningTaskCount',
        dimensionsMap: {
          ClusterName: this.worker.cluster.clusterName,
          ServiceName: this.worker.service.serviceName,
        },
        statistic: 'Minimum',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      below: true,
      periods: 5,
      // No data here means no task reported (or the service is gone): that is the alarm's case too.
      treatMissingData: TreatMissingData.BREACHING,
      description:
        "No shelfwatch worker has been running for 5 minutes: the stream is not consumed (read the stopped tasks' reasons in the ECS console)",
    });

    // The execution role pulls the image: CDK grants it ecr:GetAuthorizationToken, which has no
    // resource-level permissions, so its Resource is "*" (the pull itself is granted on the repository).
    Validations.of(this.worker.taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken supports no resource-level permission (AWS requires Resource "*"); the layer and image reads are granted on the one repository',
    });
  }
}
