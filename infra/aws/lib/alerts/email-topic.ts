import { CfnCondition, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type CfnSubscription, Subscription, SubscriptionProtocol, Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * Props of {@link EmailTopic}.
 *
 * @example
 * ```ts
 * const props: EmailTopicProps = { key, displayName: 'shelfwatch alerts', emailParameter: 'AlertEmail' };
 * ```
 */
export interface EmailTopicProps {
  readonly key: IKey;
  readonly displayName: string;
  /** Name of the stack parameter holding the address to subscribe; empty subscribes no one. */
  readonly emailParameter: string;
}

/**
 * An SNS topic encrypted with a KMS key, TLS-only, with an e-mail subscription to the address a stack
 * parameter gives (`cdk deploy --parameters <Stack>:<emailParameter>=ops@example.com`); left empty, no
 * subscription is made. SNS mails a confirmation link: nothing arrives before someone clicks it.
 *
 * @example
 * ```ts
 * const alerts = new EmailTopic(this, 'Alerts', { key, displayName: 'shelfwatch alerts', emailParameter: 'AlertEmail' });
 * alerts.topic.grantPublish(taskRole);
 * ```
 */
export class EmailTopic extends Construct {
  readonly topic: Topic;
  readonly email: CfnParameter;

  constructor(scope: Construct, id: string, props: EmailTopicProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: props.key,
      enforceSSL: true,
    });
    // A stack parameter: named at the stack's top level, whatever this construct's path.
    this.email = new CfnParameter(Stack.of(this), props.emailParameter, {
      type: 'String',
      default: '',
      description: `E-mail address subscribed to "${props.displayName}" (empty: none)`,
      allowedPattern: '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      constraintDescription: 'an e-mail address, or empty',
    });
    const hasEmail = new CfnCondition(this, 'HasEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(this.email.valueAsString, '')),
    });
    const subscription = new Subscription(this, 'Email', {
      topic: this.topic,
      protocol: SubscriptionProtocol.EMAIL,
      endpoint: this.email.valueAsString,
    });
    (subscription.node.defaultChild as CfnSubscription).cfnOptions.condition = hasEmail;
  }
}
