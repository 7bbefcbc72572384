import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlertTopic, type AlertTopicProps } from '../../../lib/alert-topic.js';
import { arnOf, bareStack, grants, onlyResource, refOf, roleStatements, type Statement } from './helpers.js';

function synth(props?: AlertTopicProps, opts: { grantee?: boolean; alarms?: boolean } = {}) {
  const stack = bareStack();
  const alerts = new AlertTopic(stack, 'Alerts', props);
  let roleId: string | undefined;
  if (opts.grantee) {
    const role = new Role(stack, 'Publisher', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    alerts.grantPublish(role);
    roleId = stack.getLogicalId(role.node.defaultChild as never);
  }
  if (opts.alarms) alerts.allowAlarmNotifications();
  const template = Template.fromStack(stack);
  const keyId = onlyResource(template, 'AWS::KMS::Key');
  const topicId = onlyResource(template, 'AWS::SNS::Topic');
  return { template, keyId, topicId, roleId, json: template.toJSON() };
}

describe('AlertTopic (bare stack)', () => {
  let defaults: ReturnType<typeof synth>;
  beforeAll(() => {
    defaults = synth({}, { grantee: true });
  });

  it('encrypts the topic with its own rotating customer-managed key, retained', () => {
    const { json, keyId, topicId } = defaults;
    expect(json.Resources[topicId].Properties).toEqual({
      DisplayName: 'anomaly-guard alerts',
      KmsMasterKeyId: arnOf(keyId),
    });
    expect(json.Resources[keyId].Properties).toMatchObject({ EnableKeyRotation: true, PendingWindowInDays: 7 });
    expect(json.Resources[keyId].DeletionPolicy).toBe('Retain');
  });

  it('denies publishing without TLS', () => {
    defaults.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [refOf(defaults.topicId)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it(
    'grantPublish allows sns:Publish on this topic and the ' + 'two KMS actions only through SNS, no GenerateDataKey*',
    () => {
      const { template, roleId, keyId, topicId } = defaults;
      const statements = roleStatements(template, roleId!);
      expect(grants(statements)).toEqual([
        `kms:Decrypt ${JSON.stringify(arnOf(keyId))}`,
        `kms:GenerateDataKey ${JSON.stringify(arnOf(keyId))}`,
        `sns:Publish ${JSON.stringify(refOf(topicId))}`,
      ]);
      const kms = statements.find((s) => JSON.stringify(s.Action).includes('kms:'));
      expect(kms!.Condition).toEqual({
        StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['sns.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
      });
    },
  );

  it('lets no service use the key until allowAlarmNotifications, then only CloudWatch of this account', () => {
    const keyStatements = (json: Record<string, any>, keyId: string) =>
      json.Resources[keyId].Properties.KeyPolicy.Statement as Statement[];
    expect(JSON.stringify(keyStatements(defaults.json, defaults.keyId))).not.toMatch(/cloudwatch\.amazonaws\.com/);
    const withAlarms = synth({}, { alarms: true });
    const cw = keyStatements(withAlarms.json, withAlarms.keyId).filter((s) =>
      JSON.stringify(s.Principal).includes('cloudwatch'),
    );
    expect(cw).toEqual([
      {
        Sid: 'AllowCloudWatchAlarmsOfThisAccount',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
  });

  it('subscribes each email (none by default), takes the display name, and follows removalPolicy on the key', () => {
    defaults.template.resourceCountIs('AWS::SNS::Subscription', 0);
    const custom = synth({
      emails: ['a@example.com', 'b@example.com'],
      displayName: 'ops',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const subs = Object.values(custom.template.findResources('AWS::SNS::Subscription')).map((s) => s.Properties);
    expect(subs).toEqual([
      { Protocol: 'email', Endpoint: 'a@example.com', TopicArn: refOf(custom.topicId) },
      { Protocol: 'email', Endpoint: 'b@example.com', TopicArn: refOf(custom.topicId) },
    ]);
    expect(custom.json.Resources[custom.topicId].Properties.DisplayName).toBe('ops');
    expect(custom.json.Resources[custom.keyId].DeletionPolicy).toBe('Delete');
  });
});
