/**
 * How cdk-nag 3 is wired here (lib/shelfwatch-app.ts `checkWithCdkNag`): a finding stops the synth,
 * an acknowledgment covers exactly the rule or finding it names on the construct it sits on, and
 * nothing broader.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { checkWithCdkNag } from '../lib/shelfwatch-app.js';
import { nagFindings, removeTestOutdirs, testOutdir } from './fixtures.js';

afterAll(removeTestOutdirs);

function appWithBucket(): { app: App; bucket: Bucket } {
  const app = new App({ outdir: testOutdir(), builtinCloudFormationValidation: false });
  const bucket = new Bucket(new Stack(app, 'S'), 'Plain');
  checkWithCdkNag(app);
  return { app, bucket };
}

describe('cdk-nag as a validation plugin', () => {
  it('stops the synth on an unacknowledged finding, naming the rule and the resource', () => {
    const { app } = appWithBucket();
    expect(nagFindings(app)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^error AwsSolutions-S10 at S\/Plain\/Resource/)]),
    );
    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });

  it('lets an acknowledged rule pass, on that construct only', () => {
    const { app, bucket } = appWithBucket();
    Validations.of(bucket).acknowledge(
      { id: 'AwsSolutions-S1', reason: 'a test bucket that logs nowhere, to see the rule acknowledged' },
      { id: 'AwsSolutions-S10', reason: 'a test bucket that is never reached, to see the rule acknowledged' },
    );
    expect(nagFindings(app)).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });

  it('does not take a rule id for all of its findings: each IAM5 finding is acknowledged by itself', () => {
    const app = new App({ outdir: testOutdir(), builtinCloudFormationValidation: false });
    const role = new Role(new Stack(app, 'S'), 'Role', {
      assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    new Bucket(role.stack, 'B', { enforceSSL: true, serverAccessLogsPrefix: 'self/' }).grantRead(role);
    const iam5 = (): string[] =>
      nagFindings(app)
        .filter((f) => f.includes('AwsSolutions-IAM5'))
        .map((f) => f.replace(/ at .*/, ''))
        .sort();
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5',
      reason: 'a blanket acknowledgment, which must not work',
    });
    expect(iam5()).toEqual([
      'error AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'error AwsSolutions-IAM5[Action::s3:GetObject*]',
      'error AwsSolutions-IAM5[Action::s3:List*]',
      expect.stringMatching(/^error AwsSolutions-IAM5\[Resource::<B\w+\.Arn>\/\*\]$/),
    ]);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::s3:List*]',
      reason: 'one finding, by name',
    });
    expect(iam5()).toHaveLength(3);
    expect(iam5()).not.toContain('error AwsSolutions-IAM5[Action::s3:List*]');
  });
});
