/**
 * The deployment's context keys: defaults, values as `-c key=value` gives them (strings), refusals that
 * name the key; and the variants they select in the stacks that are cheap to build alone.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { configFromContext, DEFAULT_CONFIG } from '../lib/config.js';
import { NetworkStack } from '../lib/network/network-stack.js';
import { DataStack } from '../lib/storage/data-stack.js';
import { cdkJsonContext, removeTestOutdirs, testOutdir } from './fixtures.js';

const config = (context: Record<string, unknown>) =>
  configFromContext(new App({ context, outdir: testOutdir() }).node);

afterAll(removeTestOutdirs);

describe('configFromContext', () => {
  it('defaults to ECS workers on a 2-shard stream, DynamoDB, one NAT gateway, no RDS', () => {
    const rootVersion = (
      JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
    expect(config({})).toEqual({
      ...DEFAULT_CONFIG,
      target: 'ecs',
      shardCount: 2,
      workerStore: 'dynamodb',
      natGateways: 1,
      mysql: false,
      imageTag: rootVersion,
    });
  });

  it('reads the strings `cdk -c key=value` passes', () => {
    expect(
      config({
        target: 'lambda',
        shardCount: '4',
        natGateways: '0',
        mysql: 'true',
        maxTasks: '3',
        logRetentionDays: '90',
        lambdaReservedConcurrency: '2',
        prefix: 'ShelfwatchStaging',
      }),
    ).toMatchObject({
      target: 'lambda',
      shardCount: 4,
      natGateways: 0,
      mysql: true,
      maxTasks: 3,
      logRetentionDays: 90,
      lambdaReservedConcurrency: 2,
      prefix: 'ShelfwatchStaging',
    });
    expect(config({ shardCount: 'on-demand' }).shardCount).toBe('on-demand');
  });

  it.each([
    [{ target: 'k8s' }, /context target: "k8s" must be one of ecs, lambda/],
    [{ shardCount: '0' }, /context shardCount: "0" must be an integer 1–500/],
    [{ shardCount: 'two' }, /context shardCount/],
    [{ mysql: 'yes' }, /context mysql: "yes" must be true or false/],
    [{ logRetentionDays: '10' }, /context logRetentionDays: 10 must be one of 1, 3, 5, 7, 14, 30/],
    [{ imageTag: 'has space' }, /context imageTag/],
    [{ imageTag: 'latest' }, /context imageTag: latest moves/],
    [{ workerStore: 'mysql' }, /workerStore: mysql needs the RDS instance: add -c mysql=true/],
    [{ target: 'lambda', mysql: 'true', workerStore: 'mysql' }, /Lambda consumer runs outside the VPC/],
  ])('refuses %j, naming the key', (context, message) => {
    expect(() => config(context)).toThrow(message);
  });
});

describe('variants', () => {
  it('natGateways 0 leaves no NAT gateway and no public subnet: isolated private subnets', () => {
    const app = new App({
      context: cdkJsonContext(),
      outdir: testOutdir(),
      builtinCloudFormationValidation: false,
    });
    const network = new NetworkStack(app, 'Net', {
      natGateways: 0,
      containerEndpoints: true,
      logRetention: RetentionDays.ONE_WEEK,
    });
    const t = Template.fromStack(network);
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.resourceCountIs('AWS::EC2::InternetGateway', 0);
    t.resourceCountIs('AWS::EC2::Subnet', 2);
    // The endpoints are then the only way out: still there.
    expect(Object.keys(t.findResources('AWS::EC2::VPCEndpoint'))).toHaveLength(8);
  });

  it('shardCount on-demand makes an on-demand stream, sized for consumers as 4 shards', () => {
    const app = new App({
      context: cdkJsonContext(),
      outdir: testOutdir(),
      builtinCloudFormationValidation: false,
    });
    const network = new NetworkStack(app, 'Net', {
      natGateways: 1,
      containerEndpoints: false,
      logRetention: RetentionDays.ONE_WEEK,
    });
    const data = new DataStack(app, 'Data', {
      vpc: network.vpc,
      privateSubnets: network.privateSubnets,
      shardCount: 'on-demand',
      retentionHours: 48,
      mysql: false,
      logRetention: RetentionDays.ONE_WEEK,
    });
    const t = Template.fromStack(data);
    t.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      RetentionPeriodHours: 48,
    });
    expect(t.findResources('AWS::Kinesis::Stream')).not.toHaveProperty('ShardCount');
    expect(data.stream.expectedShards).toBe(4);
  });
});
