import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { createAnomalyGuardApp } from '../../lib/anomaly-guard-app.js';
import { synthTemplate } from '../../lib/synth.js';

/** Each acknowledged cdk-nag rule by resource type, and nothing else. A new one must be reviewed and added here. */
const EXPECTED_ACKNOWLEDGEMENTS = [
  // Operator API methods: IAM (SigV4) authorization is the contract, not Cognito.
  ...Array<string>(9).fill('AWS::ApiGateway::Method: AwsSolutions-COG4'),
  // X-Ray on the consumer, the mitigation steps, the report generator and the nine API functions.
  ...Array<string>(12).fill('AWS::IAM::Policy: AwsSolutions-IAM5[Resource::*]'),
  // Step Functions execution logging (vended log delivery) and X-Ray on the state machine role.
  'AWS::IAM::Policy: AwsSolutions-IAM5[Resource::*]',
  'AWS::IAM::Policy: AwsSolutions-IAM5[Resource::<MitigationStepsFunction.Arn>:*]',
  // mitigate (DescribeExecution), rollback (DescribeExecution, StopExecution) and the report generator
  // (DescribeExecution): executions of the one state machine.
  ...Array<string>(3).fill(
    'AWS::IAM::Policy: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:' +
      'execution:<MitigationStateMachine.Name>:*]',
  ),
  // Report objects under reports/ of the one reports bucket: the generator (put, get) and the API report route (get, to
  // presign links).
  ...Array<string>(2).fill('AWS::IAM::Policy: AwsSolutions-IAM5[Resource::<ReportsBucket.Arn>/reports/*]'),
  // Firehose names the archive objects at delivery time: writes under raw/ and raw-errors/ of the archive bucket.
  'AWS::IAM::Policy: AwsSolutions-IAM5[Resource::<RawArchiveBucket.Arn>/raw/*]',
  'AWS::IAM::Policy: AwsSolutions-IAM5[Resource::<RawArchiveBucket.Arn>/raw-errors/*]',
  // A delivery stream reading a Kinesis stream cannot have Firehose SSE (the source stream and the bucket encrypt).
  'AWS::KinesisFirehose::DeliveryStream: AwsSolutions-KDF1',
  // The account-level API Gateway logging role.
  'AWS::IAM::Role: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*]',
  ...Array<string>(12).fill('AWS::Lambda::Function: AwsSolutions-L1'),
  // The reports bucket's access-log bucket does not log its own accesses.
  'AWS::S3::Bucket: AwsSolutions-S1',
  // The dashboard (lib/dashboard-site.ts, lib/operator-sign-in.ts): its log bucket does not log itself; no geo
  // restriction (on-call signs in from anywhere); no CloudFront WAF (us-east-1 only; the API keeps its regional WAF);
  // the default *.cloudfront.net certificate without a custom domain; the Essentials plan (threat protection is a
  // switch); the page deployment writes the site bucket's objects; CDK's BucketDeployment provider runtime.
  'AWS::S3::Bucket: AwsSolutions-S1',
  'AWS::CloudFront::Distribution: AwsSolutions-CFR1',
  'AWS::CloudFront::Distribution: AwsSolutions-CFR2',
  'AWS::CloudFront::Distribution: AwsSolutions-CFR4',
  'AWS::Cognito::UserPool: AwsSolutions-COG8',
  'AWS::IAM::Policy: AwsSolutions-IAM5[Resource::<DashboardBucket.Arn>/*]',
  'AWS::Lambda::Function: AwsSolutions-L1',
  // The five dead-letter queues: invalid records, consumer failures, rollback failures, report failures, source
  // failures.
  ...Array<string>(5).fill('AWS::SQS::Queue: AwsSolutions-SQS3'),
].sort();

describe('cdk-nag AwsSolutions', () => {
  it('synthesizes with zero unacknowledged findings, and every acknowledgement carries a reason', () => {
    const template = synthTemplate(); // throws the validation report on any finding
    const acknowledged = Object.entries<any>(template.Resources).flatMap(([id, r]) =>
      ((r.Metadata?.cdk_nag?.rules_to_suppress ?? []) as { id: string; reason: string }[]).map((rule) => {
        expect(rule.reason.length, `${id} ${rule.id} reason`).toBeGreaterThan(40);
        return `${r.Type}: ${rule.id}`;
      }),
    );
    expect(acknowledged.sort()).toEqual(EXPECTED_ACKNOWLEDGEMENTS);
  });

  it('stays clean with every action target enabled (their wildcards are acknowledged one by one)', () => {
    const actionTargets = {
      appConfig: { applicationId: 'a1', environmentId: 'e1', configurationProfileId: 'p1', deploymentStrategyId: 's1' },
      webhook: {
        url: 'https://hooks.example.com/x',
        secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hook',
      },
      usagePlans: { usagePlanIds: ['u'] },
      cloudFront: { distributionIds: ['E1'] },
      waf: { webAclName: 'n', webAclId: 'i', scope: 'REGIONAL', ruleNames: ['r'] },
    };
    expect(() => synthTemplate({ anomalyGuard: { mitigation: { actionTargets } } })).not.toThrow();
  });

  it(
    "stays clean with removalPolicy destroy (the buckets' " +
      'auto-delete-objects custom resource) and without the API',
    () => {
      expect(() =>
        synthTemplate({ anomalyGuard: { removalPolicy: 'destroy', api: { enabled: false } } }),
      ).not.toThrow();
    },
  );

  it('needs no CFR4 or COG8 acknowledgement with a custom domain and threat protection, none without one', () => {
    const dashboard = {
      threatProtection: true,
      domainName: 'guard.example.com',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789012',
    };
    const rulesOf = (template: Record<string, any>) =>
      Object.values<any>(template.Resources).flatMap((r) =>
        ((r.Metadata?.cdk_nag?.rules_to_suppress ?? []) as { id: string }[]).map((rule) => rule.id),
      );
    const hardened = rulesOf(synthTemplate({ anomalyGuard: { dashboard } }));
    expect(hardened).not.toContain('AwsSolutions-CFR4');
    expect(hardened).not.toContain('AwsSolutions-COG8');
    expect(hardened).toContain('AwsSolutions-CFR2');
    const without = rulesOf(synthTemplate({ anomalyGuard: { dashboard: { enabled: false } } }));
    expect(without.filter((id) => /CFR|COG8|DashboardBucket/.test(id))).toEqual([]);
  });

  it('fails the synth when a finding is not acknowledged', () => {
    const { app, stack } = createAnomalyGuardApp({ context: { 'aws:cdk:bundling-stacks': [] } });
    new Queue(stack, 'Unencrypted', { encryption: QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS2/);
  });
});
