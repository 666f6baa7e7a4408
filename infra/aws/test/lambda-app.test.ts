/**
 * The Lambda deployment (`target: lambda`) with the defaults otherwise (no RDS), synthesized once:
 * the function, its event-source mapping, the on-failure queue, grants, alarms, cdk-nag, snapshots;
 * and the bundle esbuild made of cli/lambda.ts, run in a plain Node process with the function's
 * environment from the template.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaConfig } from '../../../cli/lambda.js';
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

let built: ReturnType<typeof buildTestApp>;
let stacks: ShelfwatchStacks;
let lambda: Template;
let assemblyDir: string;

beforeAll(() => {
  built = buildTestApp({ target: 'lambda' });
  stacks = built.stacks;
  lambda = Template.fromStack(stacks.lambda as Stack);
  assemblyDir = built.app.synth().directory;
});

afterAll(removeTestOutdirs);

function functionProperties(): {
  Environment: { Variables: Record<string, unknown> };
  Code: { S3Key: string };
  [key: string]: unknown;
} {
  const fns = Object.values(lambda.findResources('AWS::Lambda::Function'));
  expect(fns).toHaveLength(1);
  return fns[0].Properties;
}

describe('the Lambda app', () => {
  it('has the network, data, alerts and Lambda stacks, and no worker stack', () => {
    expect(Object.keys(stacks).sort()).toEqual(['alerts', 'data', 'lambda', 'network']);
  });

  it('draws no warning or error annotation from CDK', () => {
    expect(warningsAndErrors(Object.values(stacks))).toEqual([]);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged error or warning', () => {
    expect(nagFindings(built.app)).toEqual([]);
  });

  it('acknowledges only what it must, each with a reason', () => {
    expect(cdkNagAcknowledgments(built.app)).toEqual(
      [
        'ShelfwatchData/Artifacts/AccessLogs AwsSolutions-S1',
        'ShelfwatchLambda/Consumer/Function AwsSolutions-L1',
        'ShelfwatchLambda/Consumer/Role AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        'ShelfwatchLambda/OnFailure AwsSolutions-SQS3',
      ].sort(),
    );
  });

  it('has no database and no ECR endpoints when neither is asked for', () => {
    Template.fromStack(stacks.data).resourceCountIs('AWS::RDS::DBInstance', 0);
    const endpoints = JSON.stringify(
      Template.fromStack(stacks.network).findResources('AWS::EC2::VPCEndpoint'),
    );
    expect(endpoints).not.toMatch(/\.ecr\./);
    expect(endpoints).toContain('kinesis-streams');
  });
});

describe('the function', () => {
  it('runs cli/lambda.ts bundled as an ES module on nodejs22.x', () => {
    lambda.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Architectures: ['arm64'],
      Timeout: 300,
    });
    expect(Object.keys(lambda.findResources('AWS::Lambda::Function'))).toHaveLength(1);
  });

  it('is configured for the DynamoDB tables (createTables false) and the SNS sink, as the handler reads it', () => {
    const variables = functionProperties().Environment.Variables;
    expect(variables).toMatchObject({
      SHELFWATCH_STORE__TYPE: 'dynamodb',
      SHELFWATCH_STORE__CREATE_TABLES: 'false',
      SHELFWATCH_ALERTS__SINKS__0__TYPE: 'sns',
      NODE_OPTIONS: '--enable-source-maps',
    });
    const env = withExampleValues(variables);
    const config = lambdaConfig(env);
    expect(config.store).toMatchObject({
      type: 'dynamodb',
      tableName: env.SHELFWATCH_STORE__TABLE_NAME,
      auditTableName: env.SHELFWATCH_STORE__AUDIT_TABLE_NAME,
      createTables: false,
    });
    expect(config.alerts.sinks).toEqual([
      expect.objectContaining({ type: 'sns', topicArn: env.SHELFWATCH_ALERTS__SINKS__0__TOPIC_ARN }),
    ]);
  });

  it('reads the stream through an event-source mapping that reports partial failures and gives up to a queue', () => {
    lambda.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ParallelizationFactor: 1,
      MaximumRetryAttempts: 10,
      BisectBatchOnFunctionError: false,
      MaximumRecordAgeInSeconds: 6 * 3600,
      BatchSize: 500,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OnFailure'), 'Arn'] } },
      },
      EventSourceArn: { 'Fn::GetStackOutput': Match.objectLike({ StackName: 'ShelfwatchData' }) },
    });
  });

  it('gives up to an encrypted, TLS-only queue', () => {
    lambda.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86400,
    });
    lambda.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('has a role with no managed policy, granted by the resources only', () => {
    lambda.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
    const statements = identityStatements(lambda);
    const actions = statements.flatMap(({ statement }) => actionsOf(statement));
    expect(actions).toEqual(
      expect.arrayContaining([
        'kinesis:GetRecords',
        'kinesis:GetShardIterator',
        'dynamodb:UpdateItem',
        'dynamodb:DescribeTimeToLive',
        'sns:Publish',
        'sqs:SendMessage',
        'logs:PutLogEvents',
      ]),
    );
    // No lease table, no CreateTable: Lambda keeps the leases itself.
    expect(actions).not.toContain('dynamodb:CreateTable');
    for (const { policy, statement } of statements) {
      for (const action of actionsOf(statement)) expect(action, policy).not.toMatch(/^\*$|:\*$/);
      expect(resourcesOf(statement), policy).not.toContain('*');
    }
  });

  it('has no reserved concurrency unless asked', () => {
    expect(functionProperties().ReservedConcurrentExecutions).toBeUndefined();
  });

  it('alarms to the ops topic on errors, iterator age, given-up batches and error log lines', () => {
    const alarms = Object.values(lambda.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.map((a) => `${a.Properties.Namespace} ${a.Properties.MetricName}`).sort()).toEqual(
      [
        'AWS/Lambda Errors',
        'AWS/Lambda IteratorAge',
        'AWS/SQS ApproximateNumberOfMessagesVisible',
        'Shelfwatch/ShelfwatchLambda ErrorLines',
      ].sort(),
    );
    for (const a of alarms) {
      expect(JSON.stringify(a.Properties.AlarmActions)).toContain('"StackName":"ShelfwatchAlerts"');
    }
  });
});

describe('the bundle', () => {
  /** The function's code as CDK staged it: asset.<hash>/ in the cloud assembly. */
  function bundleDir(): string {
    const hash = functionProperties().Code.S3Key.replace(/\.zip$/, '');
    return join(assemblyDir, `asset.${hash}`);
  }

  /** Runs the bundled handler once in a fresh Node process on an empty batch; its answer or error. */
  function invoke(env: Record<string, string>): { out: string; stderr: string } {
    const entry = join(bundleDir(), 'index.mjs');
    const script = `
      const { handler } = await import(${JSON.stringify(entry)});
      const started = Date.now();
      const context = { getRemainingTimeInMillis: () => 1500 - (Date.now() - started) };
      try {
        console.log('answer ' + JSON.stringify(await handler({ Records: [] }, context)));
      } catch (err) {
        console.log('error ' + err.message);
      }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        ...env,
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { out: r.stdout.trim().split('\n').at(-1) ?? '', stderr: r.stderr };
  }

  it('is one ES module with its source map, without the SQLite addon', () => {
    const dir = bundleDir();
    expect(existsSync(join(dir, 'index.mjs'))).toBe(true);
    expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    const size = statSync(join(dir, 'index.mjs')).size;
    // Minified with the AWS SDK clients inside: a few MB, far from Lambda's 50 MB zip limit.
    expect(size).toBeGreaterThan(500_000);
    expect(size).toBeLessThan(10_000_000);
    expect(readFileSync(join(dir, 'index.mjs'), 'utf8')).not.toMatch(/better_sqlite3\.node/);
  });

  it("loads in Node, takes the template's environment, and goes to the state table it names", () => {
    const env = withExampleValues(functionProperties().Environment.Variables);
    // Nothing listens on port 9: reaching the store proves the configuration was accepted.
    const r = invoke({ ...env, SHELFWATCH_STORE__ENDPOINT: 'http://127.0.0.1:9' });
    expect(r.stderr).toBe('');
    expect(r.out).toBe('error connect ECONNREFUSED 127.0.0.1:9');
  });

  it('refuses a variable the job does not know, before touching the store', () => {
    const env = withExampleValues(functionProperties().Environment.Variables);
    const r = invoke({
      ...env,
      SHELFWATCH_STORE__TABLE: 'misspelt',
      SHELFWATCH_STORE__ENDPOINT: 'http://127.0.0.1:9',
    });
    expect(r.out).toMatch(/^error shelfwatch lambda: .*SHELFWATCH_STORE__TABLE/);
  });
});

describe('templates', () => {
  it.each(['network', 'data', 'alerts', 'lambda'] as const)('%s matches its snapshot', async (name) => {
    const stack = stacks[name] as Stack;
    await expect(stableTemplate(stack)).toMatchFileSnapshot(
      `__snapshots__/lambda/${stack.stackName}.template.json`,
    );
  });
});
