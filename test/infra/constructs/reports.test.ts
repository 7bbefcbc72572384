import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlertTopic } from '../../../lib/alert-topic.js';
import { REPORTS_LOGICAL_IDS, Reports, type ReportsProps } from '../../../lib/reports.js';
import { StateTable } from '../../../lib/state-table.js';
import { arnOf, bareStack, grants, idOf, refOf, roleStatements, type Statement } from './helpers.js';

type Extra = Partial<Pick<ReportsProps, 'settings' | 'logRetentionDays' | 'removalPolicy'>>;

function synth(extra: Extra = {}) {
  const stack = bareStack();
  const state = new StateTable(stack, 'State');
  const alerts = new AlertTopic(stack, 'Alerts');
  const machine = new StateMachine(stack, 'Machine', {
    definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Noop')),
  });
  const failures = new Queue(stack, 'Failures');
  const reports = new Reports(stack, 'Reports', {
    stateTable: state,
    alertTopic: alerts,
    stateMachine: machine,
    failureQueue: failures,
    ...extra,
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const ids = {
    table: idOf(state.table),
    topic: idOf(alerts.topic),
    key: idOf(alerts.key),
    machine: idOf(machine),
    failures: idOf(failures),
    role: idOf(reports.generator.role),
  };
  return { template, json, ids };
}

const bucketPolicy = (json: Record<string, any>, bucketId: string): Statement[] =>
  Object.values<any>(json.Resources)
    .filter((r) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === bucketId)
    .flatMap((r) => r.Properties.PolicyDocument.Statement);

describe('Reports (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('pins its logical ids itself (its cdk-nag acknowledgements name the bucket)', () => {
    expect(t.json.Resources[REPORTS_LOGICAL_IDS.bucket]?.Type).toBe('AWS::S3::Bucket');
    expect(t.json.Resources[REPORTS_LOGICAL_IDS.accessLogBucket]?.Type).toBe('AWS::S3::Bucket');
    expect(t.json.Resources[REPORTS_LOGICAL_IDS.generator]?.Type).toBe('AWS::Lambda::Function');
    expect(t.json.Resources[REPORTS_LOGICAL_IDS.executionEndRule]?.Type).toBe('AWS::Events::Rule');
    expect(t.json.Resources[REPORTS_LOGICAL_IDS.dailyRule]?.Type).toBe('AWS::Events::Rule');
  });

  it(
    'denies non-TLS and pre-TLS-1.2 access on both buckets, and has access logs delivered under the bucket ' +
      'policy, not an ACL, without app context',
    () => {
      for (const bucketId of [REPORTS_LOGICAL_IDS.bucket, REPORTS_LOGICAL_IDS.accessLogBucket]) {
        const conditions = bucketPolicy(t.json, bucketId)
          .filter((s) => s.Effect === 'Deny')
          .map((s) => s.Condition);
        expect(conditions, bucketId).toEqual([
          { Bool: { 'aws:SecureTransport': 'false' } },
          { NumericLessThan: { 's3:TlsVersion': 1.2 } },
        ]);
        expect(t.json.Resources[bucketId].Properties.AccessControl, bucketId).toBeUndefined();
        expect(t.json.Resources[bucketId].DeletionPolicy, bucketId).toBe('Retain');
      }
      const delivery = bucketPolicy(t.json, REPORTS_LOGICAL_IDS.accessLogBucket).filter((s) => s.Effect === 'Allow');
      expect(delivery).toEqual([
        expect.objectContaining({
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Condition: {
            ArnLike: { 'aws:SourceArn': arnOf(REPORTS_LOGICAL_IDS.bucket) },
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          },
        }),
      ]);
    },
  );

  it(
    "lets the generator read the table, write and read only reports/, describe only this machine's executions, " +
      'publish, and nothing else',
    () => {
      const { ids } = t;
      const reportObjects = { 'Fn::Join': ['', [arnOf(REPORTS_LOGICAL_IDS.bucket), '/reports/*']] };
      const statements = roleStatements(t.template, ids.role);
      const g = grants(statements).filter((x) => !x.startsWith('logs:') && !x.startsWith('xray:'));
      const on = (actions: string[], r: unknown) => actions.map((a) => `${a} ${JSON.stringify(r)}`);
      expect(g.filter((x) => !x.startsWith('states:'))).toEqual(
        [
          ...on(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'], arnOf(ids.table)),
          ...on(['s3:PutObject', 's3:GetObject'], reportObjects),
          ...on(['s3:ListBucket'], arnOf(REPORTS_LOGICAL_IDS.bucket)),
          ...on(['sns:Publish'], refOf(ids.topic)),
          ...on(['kms:GenerateDataKey', 'kms:Decrypt'], arnOf(ids.key)),
          // The async on-failure destination is written with the function's role.
          ...on(['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], arnOf(ids.failures)),
        ].sort(),
      );
      expect(statements.find((s) => s.Action === 's3:ListBucket')!.Condition).toEqual({
        StringLike: { 's3:prefix': ['reports/*'] },
      });
      const describe = g.filter((x) => x.startsWith('states:'));
      expect(describe).toHaveLength(1);
      expect(describe[0]).toMatch(
        /^states:DescribeExecution .*:execution:".*"Fn::GetAtt":\["Machine\w+","Name"\]\},":\*"\]\]\}$/,
      );
    },
  );

  it(
    'reports when an execution of the given state machine ends, and daily, retrying delivery then dead-lettering ' +
      'to the failure queue',
    () => {
      const rule = t.json.Resources[REPORTS_LOGICAL_IDS.executionEndRule].Properties;
      expect(rule.EventPattern).toEqual({
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [refOf(t.ids.machine)], status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] },
      });
      expect(t.json.Resources[REPORTS_LOGICAL_IDS.dailyRule].Properties.ScheduleExpression).toBe('cron(15 0 * * ? *)');
      for (const id of [REPORTS_LOGICAL_IDS.executionEndRule, REPORTS_LOGICAL_IDS.dailyRule]) {
        expect(t.json.Resources[id].Properties.Targets, id).toEqual([
          expect.objectContaining({
            Arn: arnOf(REPORTS_LOGICAL_IDS.generator),
            RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 },
            DeadLetterConfig: { Arn: arnOf(t.ids.failures) },
          }),
        ]);
      }
      t.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: arnOf(t.ids.failures) } },
      });
    },
  );

  it(
    'follows settings (retention, access-log retention, report hour, sizing) and removalPolicy (emptied, then ' +
      'deleted)',
    () => {
      const c = synth({
        settings: { retentionDays: 30, accessLogRetentionDays: 7, dailyReportHourUtc: 6, memorySizeMb: 1024 },
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const r = c.json.Resources;
      expect(r[REPORTS_LOGICAL_IDS.bucket].Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
        Id: 'ExpireReports',
        Prefix: 'reports/',
        ExpirationInDays: 30,
      });
      expect(r[REPORTS_LOGICAL_IDS.accessLogBucket].Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
        ExpirationInDays: 7,
      });
      expect(r[REPORTS_LOGICAL_IDS.dailyRule].Properties.ScheduleExpression).toBe('cron(15 6 * * ? *)');
      expect(r[REPORTS_LOGICAL_IDS.generator].Properties).toMatchObject({ MemorySize: 1024, Timeout: 60 });
      for (const id of [REPORTS_LOGICAL_IDS.bucket, REPORTS_LOGICAL_IDS.accessLogBucket])
        expect(r[id].DeletionPolicy, id).toBe('Delete');
      const autoDeleted = Object.values<any>(r)
        .filter((x) => x.Type === 'Custom::S3AutoDeleteObjects')
        .map((x) => x.Properties.BucketName.Ref);
      expect(autoDeleted.sort()).toEqual([REPORTS_LOGICAL_IDS.accessLogBucket, REPORTS_LOGICAL_IDS.bucket].sort());
      expect(Object.values<any>(t.json.Resources).filter((x) => x.Type === 'Custom::S3AutoDeleteObjects')).toEqual([]);
    },
  );
});
