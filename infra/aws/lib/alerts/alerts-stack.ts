import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { type IRole, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { EmailTopic } from './email-topic.js';

/**
 * Where notifications go: the **alert topic** the job's SNS sink publishes anomalies to, and the
 * **ops topic** CloudWatch alarms about the job itself go to. Both are encrypted with one
 * customer-managed key (a key CloudWatch may use: alarms cannot publish to a topic under the
 * AWS-managed `aws/sns` key), TLS-only, each with an optional e-mail subscriber from a stack
 * parameter (`AlertEmail`, `OpsEmail`).
 *
 * @example
 * ```ts
 * const alerts = new AlertsStack(app, 'ShelfwatchAlerts');
 * alerts.grantPublishAlerts(taskRole);
 * alarm.addAlarmAction(new SnsAction(alerts.opsTopic));
 * ```
 */
export class AlertsStack extends Stack {
  readonly key: Key;
  readonly alertTopic: ITopic;
  readonly opsTopic: ITopic;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.key = new Key(this, 'TopicKey', {
      description: 'shelfwatch alert and ops topics',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the ops topic: SNS then asks KMS for a data key on CloudWatch's behalf.
    this.key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    this.alertTopic = new EmailTopic(this, 'Alerts', {
      key: this.key,
      displayName: 'shelfwatch inventory anomalies',
      emailParameter: 'AlertEmail',
    }).topic;
    this.opsTopic = new EmailTopic(this, 'Ops', {
      key: this.key,
      displayName: 'shelfwatch operations alarms',
      emailParameter: 'OpsEmail',
    }).topic;
  }

  /**
   * Lets `role` publish to the alert topic (the job's SNS sink): `sns:Publish` on the topic, and
   * `kms:Decrypt` + `kms:GenerateDataKey*` on the topic's key, as `Topic.grantPublish` grants them.
   */
  grantPublishAlerts(role: IRole): void {
    this.alertTopic.grantPublish(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        "Topic.grantPublish grants kms:GenerateDataKey* on the alert topic's one key (SNS encrypts each message under a data key from it); the wildcard spans only the GenerateDataKey variants, on that key alone",
    });
  }
}
