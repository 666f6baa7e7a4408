/**
 * The ECS deployment (`target: ecs`), synthesized once with the RDS instance and a Slack secret, as
 * `cdk deploy -c mysql=true -c slackWebhookSecretName=shelfwatch/slack` would: what each stack
 * creates, the grants, the scaling, the alarms, cdk-nag's verdict, and a snapshot of each template.
 * A second app runs the workers on MySQL instead of DynamoDB.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TTL_ATTRIBUTE as STORE_TTL_ATTRIBUTE } from '../../../connectors/dynamodb/tables.js';
import { loadRunConfig } from '../../../pipeline/index.js';
import type { ShelfwatchStacks } from '../lib/shelfwatch-app.js';
import {
  actionsOf,
  buildTestApp,
  cdkNagAcknowledgments,
  identityStatements,
  nagFindings,
  removeTestOutdirs,
  resourcesOf,
  stableTemplate,
  warningsAndErrors,
  withExampleValues,
} from './fixtures.js';

type AppAndStacks = ReturnType<typeof buildTestApp>;
let built: AppAndStacks;
let stacks: ShelfwatchStacks;
let network: Template;
let data: Template;
let alerts: Template;
let worker: Template;

beforeAll(() => {
  built = buildTestApp({ mysql: true, slackWebhookSecretName: 'shelfwatch/slack' });
  stacks = built.stacks;
  network = Template.fromStack(stacks.network);
  data = Template.fromStack(stacks.data);
  alerts = Template.fromStack(stacks.alerts);
  worker = Template.fromStack(stacks.worker as Stack);
});

afterAll(removeTestOutdirs);

interface ContainerJson {
  Environment: Array<{ Name: string; Value: unknown }>;
  Secrets?: Array<{ Name: string; ValueFrom: unknown }>;
  [key: string]: unknown;
}

function container(template: Template): ContainerJson {
  const defs = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as Array<{
    Properties: { ContainerDefinitions: ContainerJson[] };
  }>;
  expect(defs).toHaveLength(1);
  return defs[0].Properties.ContainerDefinitions[0];
}

function environmentOf(c: ContainerJson): Record<string, unknown> {
  return Object.fromEntries(c.Environment.map((e) => [e.Name, e.Value]));
}

describe('the ECS app', () => {
  it('has the network, data, alerts and worker stacks, and no Lambda stack', () => {
    expect(built.app.node.children.filter((c) => c instanceof Stack).map((s) => s.node.id)).toEqual([
      'ShelfwatchNetwork',
      'ShelfwatchData',
      'ShelfwatchAlerts',
      'ShelfwatchWorker',
    ]);
    expect(stacks.lambda).toBeUndefined();
  });

  it('draws no warning or error annotation from CDK', () => {
    expect(warningsAndErrors(Object.values(stacks))).toEqual([]);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged error or warning', () => {
    expect(nagFindings(built.app)).toEqual([]);
  });

  it('acknowledges each cdk-nag finding one by one, on its resource, with a reason', () => {
    expect(cdkNagAcknowledgments(built.app)).toEqual(
      [
        'ShelfwatchData/Artifacts/AccessLogs AwsSolutions-S1',
        'ShelfwatchData/Mysql/Instance AwsSolutions-RDS11',
        'ShelfwatchWorker/Worker/Task AwsSolutions-ECS2',
        'ShelfwatchWorker/Worker/Task/ExecutionRole AwsSolutions-IAM5[Resource::*]',
        'ShelfwatchWorker/Worker/Task/TaskRole AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      ].sort(),
    );
  });
});

describe('network', () => {
  it('is a VPC over 2 AZs with one NAT gateway and a private subnet in each AZ', () => {
    network.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.64.0.0/16' });
    network.resourceCountIs('AWS::EC2::NatGateway', 1);
    const subnets = Object.values(network.findResources('AWS::EC2::Subnet')) as Array<{
      Properties: { MapPublicIpOnLaunch: boolean };
    }>;
    expect(subnets.filter((s) => !s.Properties.MapPublicIpOnLaunch)).toHaveLength(2);
    expect(subnets.filter((s) => s.Properties.MapPublicIpOnLaunch)).toHaveLength(2);
  });

  it('has gateway endpoints for DynamoDB and S3 and interface endpoints for the AWS APIs the job calls', () => {
    const endpoints = Object.values(network.findResources('AWS::EC2::VPCEndpoint')) as Array<{
      Properties: { ServiceName: unknown; VpcEndpointType?: string; PrivateDnsEnabled?: boolean };
    }>;
    const service = (e: (typeof endpoints)[number]): string => {
      const name = JSON.stringify(e.Properties.ServiceName);
      return (
        /\.(dynamodb|s3|kinesis-streams|sns|secretsmanager|logs|ecr\.api|ecr\.dkr)"/.exec(name)?.[1] ?? name
      );
    };
    const gateways = endpoints.filter((e) => e.Properties.VpcEndpointType === 'Gateway').map(service);
    const interfaces = endpoints.filter((e) => e.Properties.VpcEndpointType === 'Interface');
    expect(gateways.sort()).toEqual(['dynamodb', 's3']);
    expect(interfaces.map(service).sort()).toEqual(
      ['ecr.api', 'ecr.dkr', 'kinesis-streams', 'logs', 'secretsmanager', 'sns'].sort(),
    );
    for (const e of interfaces) expect(e.Properties.PrivateDnsEnabled).toBe(true);
  });

  it('admits only HTTPS from the VPC to the interface endpoints', () => {
    network.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('interface endpoints'),
      SecurityGroupIngress: [{ CidrIp: '10.64.0.0/16', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }],
    });
  });

  it('logs the VPC flows to CloudWatch Logs with a retention', () => {
    network.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
    network.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('data', () => {
  it('is a provisioned Kinesis stream of 2 shards, KMS-encrypted, kept 24 hours', () => {
    data.hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 2,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      RetentionPeriodHours: 24,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
    });
  });

  it('has lease, state and audit tables: on demand, point-in-time recovery, KMS encryption, deletion protection', () => {
    const tables = data.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(3);
    for (const table of Object.values(tables)) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      });
    }
  });

  it('keys the state and audit tables by pk and sk strings with TTL on the attribute the store writes', () => {
    expect(STORE_TTL_ATTRIBUTE).toBe('expiresAt');
    const keyed = {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      TimeToLiveSpecification: { AttributeName: STORE_TTL_ATTRIBUTE, Enabled: true },
    };
    expect(Object.keys(data.findResources('AWS::DynamoDB::Table', { Properties: keyed }))).toHaveLength(2);
    data.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
    });
  });

  it('has RDS MySQL 8.0: Multi-AZ, encrypted, private, deletion-protected, backed up, with a generated, rotated secret', () => {
    data.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'mysql',
      EngineVersion: '8.0',
      MultiAZ: true,
      StorageEncrypted: true,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
      DeletionProtection: true,
      BackupRetentionPeriod: 7,
      PubliclyAccessible: false,
      DBName: 'shelfwatch',
      MasterUsername: 'shelfwatch',
      // {{resolve:secretsmanager:<secret>:SecretString:password}}: never in the template itself.
      MasterUserPassword: {
        'Fn::Join': [
          '',
          Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager'), ':SecretString:password::}}']),
        ],
      },
      EnableCloudwatchLogsExports: ['error', 'slowquery'],
    });
    data.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: '{"username":"shelfwatch"}',
        GenerateStringKey: 'password',
      }),
    });
    data.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    data.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot' });
    // The database's subnets are the VPC's private ones (the network stack's outputs).
    data.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: Match.arrayWith([Match.objectLike({ 'Fn::GetStackOutput': Match.anyValue() })]),
    });
  });

  it('gives the database log groups a retention instead of a log-retention Lambda', () => {
    for (const log of ['error', 'slowquery']) {
      data.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/aws/rds/instance/shelfwatchdata-mysql/${log}`,
        RetentionInDays: 30,
      });
    }
    data.resourceCountIs('AWS::Lambda::Function', 0);
  });

  it('has an artifact bucket: KMS-encrypted, public access blocked, TLS only, versioned, logged, with a lifecycle', () => {
    data.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'artifacts/' }),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'old-model-versions', Prefix: 'models/' }),
          Match.objectLike({ Id: 'dead-letters', Prefix: 'dead-letters/', ExpirationInDays: 365 }),
        ]),
      },
    });
    // enforceSSL: both buckets deny any request not over TLS.
    const policies = Object.values(data.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      );
    }
  });

  it('rotates its KMS key', () => {
    data.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });
});

describe('alerts', () => {
  it('has the alert and ops topics, encrypted with a rotated key, TLS only', () => {
    const topics = Object.values(alerts.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(2);
    for (const t of topics)
      expect(t.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    alerts.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    alerts.resourceCountIs('AWS::SNS::TopicPolicy', 2);
    alerts.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('subscribes the e-mail addresses of the AlertEmail and OpsEmail parameters, when given', () => {
    for (const param of ['AlertEmail', 'OpsEmail']) {
      alerts.hasParameter(param, { Type: 'String', Default: '' });
      alerts.hasResource('AWS::SNS::Subscription', {
        Properties: { Protocol: 'email', Endpoint: { Ref: param } },
        Condition: Match.stringLikeRegexp('HasEmail'),
      });
    }
  });

  it('lets CloudWatch alarms use the topic key, with exact actions', () => {
    alerts.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
  });
});

describe('workers on ECS Fargate', () => {
  it('run the ECR image as user 10001 on a read-only root file system, with a health check on /healthz', () => {
    const c = container(worker);
    expect(c).toMatchObject({
      // Arguments to the image's entrypoint (tini -- shelfwatch): `shelfwatch run`, configured by the environment.
      Command: ['run'],
      User: '10001:10001',
      ReadonlyRootFilesystem: true,
      StopTimeout: 45,
      HealthCheck: { Command: ['CMD', 'node', '-e', expect.stringContaining('/healthz')], Retries: 3 },
      MountPoints: [{ ContainerPath: '/tmp', ReadOnly: false, SourceVolume: 'tmp' }],
      LogConfiguration: { LogDriver: 'awslogs' },
    });
    expect(JSON.stringify(c.Image)).toContain('/shelfwatch:0.1.0');
    worker.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
    });
    worker.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('configure the job for the Kinesis source, the DynamoDB tables (createTables false) and the SNS sink', () => {
    const env = environmentOf(container(worker));
    expect(env).toMatchObject({
      SHELFWATCH_SOURCE__TYPE: 'kinesis',
      SHELFWATCH_STORE__TYPE: 'dynamodb',
      SHELFWATCH_STORE__CREATE_TABLES: 'false',
      SHELFWATCH_ALERTS__SINKS__0__TYPE: 'sns',
      SHELFWATCH_ALERTS__SINKS__1__TYPE: 'slack',
      SHELFWATCH_LOG__FORMAT: 'json',
    });
    expect(JSON.stringify(env.SHELFWATCH_SOURCE__APPLICATION_NAME)).toContain('TablesLeases');
    expect(JSON.stringify(env.SHELFWATCH_STORE__TABLE_NAME)).toContain('TablesState');
    expect(JSON.stringify(env.SHELFWATCH_STORE__AUDIT_TABLE_NAME)).toContain('TablesAudit');
  });

  it('take the Slack webhook from Secrets Manager, not the environment', () => {
    const c = container(worker);
    expect(c.Secrets).toEqual([
      { Name: 'SHELFWATCH_ALERTS__SINKS__1__WEBHOOK_URL', ValueFrom: expect.objectContaining({}) },
    ]);
    expect(JSON.stringify(c.Secrets)).toContain(':secret:shelfwatch/slack');
    expect(environmentOf(c)).not.toHaveProperty('SHELFWATCH_ALERTS__SINKS__1__WEBHOOK_URL');
  });

  it('give the job an environment its own configuration loader accepts', () => {
    const c = container(worker);
    const env = withExampleValues(environmentOf(c));
    for (const s of c.Secrets ?? []) env[s.Name] = 'https://hooks.slack.com/services/T000/B000/XXXX';
    const config = loadRunConfig({ env });
    expect(config.source).toMatchObject({
      type: 'kinesis',
      stream: env.SHELFWATCH_SOURCE__STREAM,
      applicationName: env.SHELFWATCH_SOURCE__APPLICATION_NAME,
      region: 'eu-west-1',
      initialPosition: 'TRIM_HORIZON',
    });
    expect(config.store).toMatchObject({
      type: 'dynamodb',
      tableName: env.SHELFWATCH_STORE__TABLE_NAME,
      auditTableName: env.SHELFWATCH_STORE__AUDIT_TABLE_NAME,
      createTables: false,
    });
    expect(config.alerts.sinks.map((s) => [s.type, s.name])).toEqual([
      ['sns', 'sns'],
      ['slack', 'slack'],
    ]);
    // The metrics server stays on the job's default: 127.0.0.1:9464, where the health check looks.
    expect(config.metrics).toMatchObject({ port: 9464, host: '127.0.0.1' });
  });

  it('run in the private subnets without a public address, on a cluster with Container Insights', () => {
    worker.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
      DeploymentConfiguration: Match.objectLike({
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
    });
    worker.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    worker.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('no inbound'),
      SecurityGroupIngress: Match.absent(),
    });
  });

  it('scale in steps on the stream iterator age, from 1 task to as many as shards', () => {
    worker.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 1,
      MaxCapacity: 2,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    const policies = worker.findResources('AWS::ApplicationAutoScaling::ScalingPolicy', {
      Properties: { PolicyType: 'StepScaling' },
    });
    expect(Object.keys(policies)).toHaveLength(2);
    // Each step policy is driven by an alarm on the stream's GetRecords.IteratorAgeMilliseconds.
    for (const id of Object.keys(policies)) {
      worker.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Kinesis',
        MetricName: 'GetRecords.IteratorAgeMilliseconds',
        Statistic: 'Maximum',
        AlarmActions: [{ Ref: id }],
      });
    }
  });

  it('hold grants from the resources only: no "*" action, no "*" resource on a data action', () => {
    const statements = identityStatements(worker);
    expect(statements.length).toBeGreaterThan(0);
    const data = /^(dynamodb|kinesis|sns|sqs|s3|kms|secretsmanager|logs):/;
    for (const { policy, statement } of statements) {
      for (const action of actionsOf(statement)) {
        expect(action, policy).not.toMatch(/^\*$|:\*$/);
        if (data.test(action)) expect(resourcesOf(statement), `${policy} ${action}`).not.toContain('*');
      }
    }
    // The one "*" is ecr:GetAuthorizationToken (no resource-level permission), acknowledged in cdk-nag.
    const starred = statements.filter(({ statement }) => resourcesOf(statement).includes('*'));
    expect(starred.flatMap(({ statement }) => actionsOf(statement))).toEqual(['ecr:GetAuthorizationToken']);
  });

  it('may read the stream, use the lease table, the state and audit tables, and publish alerts', () => {
    const actions = identityStatements(worker)
      .filter(({ policy }) => policy.startsWith('WorkerTaskTaskRole'))
      .flatMap(({ statement }) => actionsOf(statement));
    expect(actions).toEqual(
      expect.arrayContaining([
        'kinesis:GetRecords',
        'kinesis:GetShardIterator',
        'kinesis:ListShards',
        // TransactWriteItems has no IAM action of its own: it needs these, and ConditionCheckItem.
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:CreateTable',
        'dynamodb:DescribeTimeToLive',
        'sns:Publish',
      ]),
    );
  });

  it('alarm to the ops topic on iterator age, error and dead-letter log lines, and no running task', () => {
    const alarms = worker.findResources('AWS::CloudWatch::Alarm', {
      Properties: {
        AlarmActions: [{ 'Fn::GetStackOutput': Match.objectLike({ StackName: 'ShelfwatchAlerts' }) }],
      },
    });
    const metrics = Object.values(alarms).map((a) => `${a.Properties.Namespace} ${a.Properties.MetricName}`);
    expect(metrics.sort()).toEqual(
      [
        'AWS/Kinesis GetRecords.IteratorAgeMilliseconds',
        'ECS/ContainerInsights RunningTaskCount',
        'Shelfwatch/ShelfwatchWorker DeadLetters',
        'Shelfwatch/ShelfwatchWorker ErrorLines',
      ].sort(),
    );
    for (const a of Object.values(alarms)) expect(a.Properties.OKActions).toEqual(a.Properties.AlarmActions);
    worker.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RunningTaskCount',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    worker.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ ($.level = "error") || ($.level = "fatal") }',
    });
    worker.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.msg = "dead letter" }' });
  });
});

describe('templates', () => {
  it.each(['network', 'data', 'alerts', 'worker'] as const)('%s matches its snapshot', async (name) => {
    const stack = stacks[name] as Stack;
    await expect(stableTemplate(stack)).toMatchFileSnapshot(
      `__snapshots__/ecs/${stack.stackName}.template.json`,
    );
  });
});

describe('workers on MySQL', () => {
  let mysqlWorker: Template;
  let mysqlApp: AppAndStacks;
  beforeAll(() => {
    mysqlApp = buildTestApp({ mysql: true, workerStore: 'mysql' });
    mysqlWorker = Template.fromStack(mysqlApp.stacks.worker as Stack);
  });

  it('connect over TLS to RDS with the generated credentials from Secrets Manager', () => {
    const c = container(mysqlWorker);
    expect(environmentOf(c)).toMatchObject({
      SHELFWATCH_STORE__TYPE: 'mysql',
      SHELFWATCH_STORE__DATABASE: 'shelfwatch',
      SHELFWATCH_STORE__SSL: 'rds',
    });
    expect((c.Secrets ?? []).map((s) => s.Name).sort()).toEqual([
      'SHELFWATCH_STORE__PASSWORD',
      'SHELFWATCH_STORE__USER',
    ]);
    expect(JSON.stringify(c.Secrets)).toMatch(/:password::/);
    const env = withExampleValues(environmentOf(c));
    env.SHELFWATCH_STORE__USER = 'shelfwatch';
    env.SHELFWATCH_STORE__PASSWORD = 'generated-by-secrets-manager';
    expect(loadRunConfig({ env }).store).toMatchObject({
      type: 'mysql',
      host: env.SHELFWATCH_STORE__HOST,
      port: 3306,
      database: 'shelfwatch',
      ssl: 'rds',
    });
  });

  it('are admitted to the database port, and get no DynamoDB state-table grant', () => {
    mysqlWorker.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkerSecurityGroup'), 'GroupId'] },
    });
    const actions = identityStatements(mysqlWorker).flatMap(({ statement }) => actionsOf(statement));
    expect(actions).not.toContain('dynamodb:DescribeTimeToLive');
    expect(actions).toContain('dynamodb:CreateTable');
  });

  it('pass cdk-nag too, and draw no CDK warning', () => {
    expect(nagFindings(mysqlApp.app)).toEqual([]);
    expect(warningsAndErrors(Object.values(mysqlApp.stacks))).toEqual([]);
  });
});
