import { type App, Tags, Validations } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import nag from 'cdk-nag';
import { AlertsStack } from './alerts/alerts-stack.js';
import type { ShelfwatchConfig } from './config.js';
import { LambdaStack } from './lambda/lambda-stack.js';
import { NetworkStack } from './network/network-stack.js';
import { DataStack } from './storage/data-stack.js';
import { WorkerStack } from './worker/worker-stack.js';

/**
 * The stacks of one deployment; `worker` or `lambda` is set, as `target` says.
 *
 * @example
 * ```ts
 * const { data, worker } = buildShelfwatch(app, config);
 * ```
 */
export interface ShelfwatchStacks {
  readonly network: NetworkStack;
  readonly data: DataStack;
  readonly alerts: AlertsStack;
  readonly worker?: WorkerStack;
  readonly lambda?: LambdaStack;
}

/**
 * Adds one deployment's stacks to `app`: `<prefix>Network`, `<prefix>Data`, `<prefix>Alerts`, and
 * `<prefix>Worker` (ECS) or `<prefix>Lambda`. The stacks are environment-agnostic: `cdk deploy` puts
 * them in the account and region of its credentials, and synthesis needs no lookups.
 *
 * @example
 * ```ts
 * const app = new App();
 * buildShelfwatch(app, configFromContext(app.node));
 * checkWithCdkNag(app);
 * ```
 */
export function buildShelfwatch(app: App, config: ShelfwatchConfig): ShelfwatchStacks {
  const logRetention = config.logRetentionDays as RetentionDays;
  const id = (name: string): string => `${config.prefix}${name}`;
  const network = new NetworkStack(app, id('Network'), {
    natGateways: config.natGateways,
    containerEndpoints: config.target === 'ecs',
    logRetention,
    description: 'shelfwatch: VPC, private subnets, VPC endpoints, flow logs',
  });
  const data = new DataStack(app, id('Data'), {
    vpc: network.vpc,
    privateSubnets: network.privateSubnets,
    shardCount: config.shardCount,
    retentionHours: config.retentionHours,
    mysql: config.mysql,
    logRetention,
    description: 'shelfwatch: Kinesis stream, DynamoDB tables, RDS MySQL (optional), artifact bucket',
  });
  const alerts = new AlertsStack(app, id('Alerts'), {
    description: 'shelfwatch: alert and ops SNS topics',
  });
  const stacks: ShelfwatchStacks =
    config.target === 'ecs'
      ? {
          network,
          data,
          alerts,
          worker: new WorkerStack(app, id('Worker'), {
            vpc: network.vpc,
            privateSubnets: network.privateSubnets,
            data,
            alerts,
            store: config.workerStore,
            imageRepository: config.imageRepository,
            imageTag: config.imageTag,
            ...(config.maxTasks !== undefined ? { maxTasks: config.maxTasks } : {}),
            ...(config.slackWebhookSecretName
              ? { slackWebhookSecretName: config.slackWebhookSecretName }
              : {}),
            logRetention,
            description: 'shelfwatch: ECS Fargate workers (shelfwatch run), scaling, alarms',
          }),
        }
      : {
          network,
          data,
          alerts,
          lambda: new LambdaStack(app, id('Lambda'), {
            data,
            alerts,
            logRetention,
            ...(config.lambdaReservedConcurrency !== undefined
              ? { reservedConcurrency: config.lambdaReservedConcurrency }
              : {}),
            description: 'shelfwatch: Lambda consumer on a Kinesis event-source mapping, alarms',
          }),
        };
  Tags.of(app).add('application', 'shelfwatch');
  return stacks;
}

/**
 * Runs the AWS Solutions rules of cdk-nag on every stack at synthesis. cdk-nag 3 is a CDK policy
 * validation plugin (no longer an aspect): an unacknowledged finding, error or warning, interrupts
 * `cdk synth` with a report. Each acknowledgment (`Validations.of(construct).acknowledge`) sits beside
 * the resource it is for, names one rule or one finding of it, and says why.
 *
 * @example
 * ```ts
 * checkWithCdkNag(app);
 * app.synth();
 * ```
 */
export function checkWithCdkNag(app: App): void {
  Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app, { verbose: true }));
}
