/**
 * The deployment's context keys: defaults, values as `-c key=value` gives them (strings), refusals that
 * name the key.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { configFromContext, DEFAULT_CONFIG } from '../lib/config.js';

const config = (context: Record<string, unknown>) => configFromContext(new App({ context }).node);

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
    [{ workerStore: 'mysql' }, /workerStore: mysql needs the RDS instance: add -c mysql=true/],
    [{ target: 'lambda', mysql: 'true', workerStore: 'mysql' }, /Lambda consumer runs outside the VPC/],
  ])('refuses %j, naming the key', (context, message) => {
    expect(() => config(context)).toThrow(message);
  });
});
