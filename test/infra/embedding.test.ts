import { App, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SubscriptionFilter } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { CONSUMER_ENV } from '../../lambdas/handlers/consumer-environment.js';
import { AnomalyGuard, LOGICAL_IDS } from '../../lib/index.js';

// ---- The README example ("Embedding in your own CDK app"), verbatim but for the import path. ----
class PlatformStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const guard = new AnomalyGuard(this, 'AnomalyGuard', {
      stream: { mode: 'on-demand' },
      mitigation: { automatic: false }, // alert only, until you trust it
      operations: { notify: 'alert-topic' },
    });

    // Your on-call: every SEV1/SEV2 alert by email, and everything to the pager's HTTPS endpoint.
    guard.alertTopic.addSubscription(
      new EmailSubscription('oncall@example.com', {
        filterPolicy: { severity: SubscriptionFilter.stringFilter({ allowlist: ['SEV1', 'SEV2'] }) },
      }),
    );
    guard.alertTopic.addSubscription(new UrlSubscription('https://events.pagerduty.com/integration/KEY/enqueue'));
  }
}
// ---- end of the README example ----

/** As this repository's app synthesizes (lib/anomaly-guard-app.ts): cdk-nag AwsSolutions as a validation plugin. */
function synthEmbedded(): { stack: Stack; template: Record<string, any> } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  const stack = new PlatformStack(app, 'Platform');
  return { stack, template: app.synth().getStackArtifact(stack.artifactId).template };
}

describe('AnomalyGuard embedded in a stack of your own', () => {
  // Throws the cdk-nag report on any unacknowledged finding.
  const { stack, template: json } = synthEmbedded();
  const template = Template.fromJSON(json);

  it("subscribes the user's on-call to the alert topic, with their filter policy", () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: LOGICAL_IDS.alertTopic },
      FilterPolicy: { severity: ['SEV1', 'SEV2'] },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://events.pagerduty.com/integration/KEY/enqueue',
      TopicArn: { Ref: LOGICAL_IDS.alertTopic },
    });
  });

  it('holds the core resources, under the logical ids the local runtime and operators look up', () => {
    const resources = json.Resources as Record<string, { Type: string }>;
    expect(resources[LOGICAL_IDS.stream]?.Type).toBe('AWS::Kinesis::Stream');
    expect(resources[LOGICAL_IDS.stateTable]?.Type).toBe('AWS::DynamoDB::Table');
    expect(resources[LOGICAL_IDS.alertTopic]?.Type).toBe('AWS::SNS::Topic');
    expect(resources[LOGICAL_IDS.consumerFunction]?.Type).toBe('AWS::Lambda::Function');
    expect(resources[LOGICAL_IDS.consumerEventSourceMapping]?.Type).toBe('AWS::Lambda::EventSourceMapping');
    expect(resources[LOGICAL_IDS.mitigationStateMachine]?.Type).toBe('AWS::StepFunctions::StateMachine');
    expect(resources[LOGICAL_IDS.operatorApi]?.Type).toBe('AWS::ApiGateway::RestApi');
    expect(resources[LOGICAL_IDS.reportsBucket]?.Type).toBe('AWS::S3::Bucket');
    expect(resources[LOGICAL_IDS.rawArchiveBucket]?.Type).toBe('AWS::S3::Bucket');
    template.hasResourceProperties('AWS::Kinesis::Stream', { StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    // mitigation.automatic false: the consumer may not start executions.
    expect(json.Resources[LOGICAL_IDS.consumerFunction].Properties.Environment.Variables).not.toHaveProperty(
      CONSUMER_ENV.mitigationStateMachineArn,
    );
    // operations.notify alert-topic: no separate ops topic.
    expect(resources[LOGICAL_IDS.opsTopic]).toBeUndefined();
  });

  it('exposes the core resources as properties, and the resolved settings', () => {
    const guard = stack.node.findChild('AnomalyGuard') as AnomalyGuard;
    expect(stack.resolve(guard.alertTopic.topicArn)).toEqual({ Ref: LOGICAL_IDS.alertTopic });
    expect(stack.resolve(guard.stream.streamArn)).toEqual({ 'Fn::GetAtt': [LOGICAL_IDS.stream, 'Arn'] });
    expect(stack.resolve(guard.table.tableName)).toEqual({ Ref: LOGICAL_IDS.stateTable });
    expect(stack.resolve(guard.stateMachine.stateMachineArn)).toEqual({ Ref: LOGICAL_IDS.mitigationStateMachine });
    expect(guard.api && stack.resolve(guard.api.restApiId)).toEqual({ Ref: LOGICAL_IDS.operatorApi });
    expect(guard.healthAlarmTopic).toBe(guard.alertTopic);
    expect(guard.config.stream.mode).toBe('on-demand');
    expect(guard.config.consumer.batchSize).toBe(1000);
  });

  it('refuses invalid settings naming the key, and a second AnomalyGuard in the same stack', () => {
    expect(() => new AnomalyGuard(new Stack(new App(), 'Bad'), 'AnomalyGuard', { stream: { shardCount: 0 } })).toThrow(
      /stream\.shardCount must be an integer in 1\.\.500/,
    );
    const twice = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Twice');
    new AnomalyGuard(twice, 'One');
    expect(() => new AnomalyGuard(twice, 'Two')).toThrow(/already holds an AnomalyGuard/);
  });
});
