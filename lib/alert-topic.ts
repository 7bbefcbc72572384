import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/**
 * Props of {@link AlertTopic}.
 * @example
 * const alerts = new AlertTopic(this, 'Alerts', {
 *   emails: ['oncall@example.com'],
 *   removalPolicy: RemovalPolicy.DESTROY,
 * });
 * alerts.grantPublish(myFunction);
 */
export interface AlertTopicProps {
  /** Addresses subscribed at deploy time (each must confirm by email). @default [] */
  readonly emails?: readonly string[];
  /** @default 'anomaly-guard alerts' */
  readonly displayName?: string;
  /** Applies to the KMS key; the topic itself holds no data. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The SNS topic on-call subscribes to, encrypted with its own customer-managed key. */
export class AlertTopic extends Construct {
  readonly topic: Topic;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    // A customer-managed key (not aws/sns) because the key policy of aws/sns cannot be edited,
    // so services such as CloudWatch alarms or EventBridge could never publish to the topic.
    this.key = new Key(this, 'Key', {
      description: 'anomaly-guard alert topic encryption',
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.topic = new Topic(this, 'Topic', {
      displayName: props.displayName ?? 'anomaly-guard alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of props.emails ?? []) this.topic.addSubscription(new EmailSubscription(email));
  }

  /**
   * Lets CloudWatch alarms of this account publish to the topic: the key policy must allow the
   * service to use the key for the encrypted topic, or the alarm's notification is silently dropped.
   */
  allowAlarmNotifications(): void {
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
  }

  /**
   * `sns:Publish` on this topic plus the two KMS actions SNS uses on the publisher's behalf, limited to
   * calls made through SNS. Narrower than `Topic.grantPublish`, which grants `kms:GenerateDataKey*`.
   */
  grantPublish(grantee: IGrantable): void {
    Grant.addToPrincipal({ grantee, actions: ['sns:Publish'], resourceArns: [this.topic.topicArn] });
    Grant.addToPrincipal({
      grantee,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resourceArns: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(this).region}.amazonaws.com` } },
    });
  }
}
