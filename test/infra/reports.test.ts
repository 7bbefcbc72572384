import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPORT_ENV } from '../../lambdas/handlers/report-environment.js';
import { LOGICAL_IDS, OUTPUT_IDS } from '../../lib/anomaly-guard-stack.js';
import { resolveConfig } from '../../lib/config.js';
import { synthTemplate } from '../../lib/synth.js';
import { arnOf, executionsArnOf } from './constructs/helpers.js';

type Resources = Record<
  string,
  { Type: string; Properties?: any; DependsOn?: string[]; DeletionPolicy?: string; UpdateReplacePolicy?: string }
>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
  Principal?: unknown;
}

const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);
const objectsOf = (bucketId: string, suffix = '/*') => ({ 'Fn::Join': ['', [arnOf(bucketId), suffix]] });

describe('Reports (cdk.json context)', () => {
  let json: { Resources: Resources; Outputs: Record<string, any> };
  let template: Template;
  beforeAll(() => {
    json = synthTemplate({}, { bundle: false, nag: false }) as typeof json;
    template = Template.fromJSON(json);
  });
  const bucketPolicyOf = (bucketId: string): Statement[] => {
    const policies = ofType(json.Resources, 'AWS::S3::BucketPolicy').filter(
      ([, p]) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: bucketId }),
    );
    expect(policies, `${bucketId}: one bucket policy`).toHaveLength(1);
    return policies[0]![1].Properties.PolicyDocument.Statement;
  };
  const expectLockedDown = (bucketId: string) => {
    const bucket = json.Resources[bucketId]!;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket.Properties.AccessControl, 'no ACLs').toBeUndefined();
    expect(bucket.Properties.VersioningConfiguration, 'versioning off (see lib/reports.ts)').toBeUndefined();
    expect(bucket.DeletionPolicy).toBe('Retain');
    // TLS only (and at least TLS 1.2), for every principal, on the bucket and its objects.
    const denies = bucketPolicyOf(bucketId).filter((s) => s.Effect === 'Deny');
    const everything = [arnOf(bucketId), objectsOf(bucketId)];
    expect(denies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Resource: everything,
        }),
        expect.objectContaining({
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          Resource: everything,
        }),
      ]),
    );
  };

  it('keeps reports in a private, encrypted, TLS-only bucket with ACLs disabled, retained', () => {
    expectLockedDown(LOGICAL_IDS.reportsBucket);
    // Reports, their access logs, the raw archive (test/infra/raw-archive.test.ts), and the dashboard's site and log
    // buckets (test/infra/constructs/dashboard-site.test.ts).
    template.resourceCountIs('AWS::S3::Bucket', 5);
    // Nothing but the TLS denies on the reports bucket: access is granted to roles only (see the IAM tests).
    expect(bucketPolicyOf(LOGICAL_IDS.reportsBucket).filter((s) => s.Effect === 'Allow')).toEqual([]);
  });

  it('expires report objects after reports.retentionDays (400) and aborts incomplete uploads', () => {
    expect(json.Resources[LOGICAL_IDS.reportsBucket]!.Properties.LifecycleConfiguration).toEqual({
      Rules: [
        { Id: 'ExpireReports', Prefix: 'reports/', ExpirationInDays: 400, Status: 'Enabled' },
        { Id: 'AbortIncompleteUploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      ],
    });
  });

  it(
    'logs server access to a separate private, encrypted, TLS-only access-log bucket that expires logs after 90 ' +
      'days',
    () => {
      expect(json.Resources[LOGICAL_IDS.reportsBucket]!.Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: LOGICAL_IDS.reportsAccessLogBucket },
        LogFilePrefix: 'reports-bucket/',
      });
      expectLockedDown(LOGICAL_IDS.reportsAccessLogBucket);
      const logBucket = json.Resources[LOGICAL_IDS.reportsAccessLogBucket]!.Properties;
      expect(logBucket.LoggingConfiguration).toBeUndefined();
      expect(logBucket.LifecycleConfiguration).toEqual({
        Rules: [
          {
            Id: 'ExpireAccessLogs',
            ExpirationInDays: 90,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: 'Enabled',
          },
        ],
      });
      // Delivered by the S3 logging service under the bucket policy (not the LogDelivery ACL), each source
      // bucket of this account under its own prefix: the reports bucket and the raw archive.
      const delivery = (source: string, prefix: string) => ({
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: objectsOf(LOGICAL_IDS.reportsAccessLogBucket, `/${prefix}*`),
        Condition: {
          ArnLike: { 'aws:SourceArn': arnOf(source) },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      });
      expect(bucketPolicyOf(LOGICAL_IDS.reportsAccessLogBucket).filter((s) => s.Effect === 'Allow')).toEqual([
        delivery(LOGICAL_IDS.reportsBucket, 'reports-bucket/'),
        delivery(LOGICAL_IDS.rawArchiveBucket, 'raw-archive-bucket/'),
      ]);
    },
  );

  it('runs the report generator when a mitigation execution ends (any final status), on the default bus', () => {
    const rule = json.Resources[LOGICAL_IDS.reportOnExecutionEndRule]!;
    expect(rule.Type).toBe('AWS::Events::Rule');
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        stateMachineArn: [{ Ref: LOGICAL_IDS.mitigationStateMachine }],
        status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
      },
    });
  });

  it('runs the daily digest at 00:15 UTC with the default scheduled event (detail-type "Scheduled Event")', () => {
    const rule = json.Resources[LOGICAL_IDS.dailyReportRule]!;
    expect(rule.Type).toBe('AWS::Events::Rule');
    expect(rule.Properties.ScheduleExpression).toBe('cron(15 0 * * ? *)');
    expect(rule.Properties.EventPattern).toBeUndefined();
  });

  it.each([
    ['status change', 'reportOnExecutionEndRule'],
    ['daily', 'dailyReportRule'],
  ] as const)('%s rule: retries delivery 4 times within 2 h, then the report failure queue', (_, ruleKey) => {
    const ruleId = LOGICAL_IDS[ruleKey];
    const targets = json.Resources[ruleId]!.Properties.Targets;
    expect(targets).toEqual([
      {
        Id: 'Target0',
        Arn: arnOf(LOGICAL_IDS.reportGenerator),
        RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 },
        DeadLetterConfig: { Arn: arnOf(LOGICAL_IDS.reportFailureQueue) },
      },
    ]);
    // No Input/InputPath/InputTransformer: the generator receives the event as EventBridge sent it.
    // EventBridge may invoke the generator for this rule only...
    const permissions = ofType(json.Resources, 'AWS::Lambda::Permission').filter(
      ([, p]) => JSON.stringify(p.Properties.SourceArn) === JSON.stringify(arnOf(ruleId)),
    );
    expect(permissions.map(([, p]) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(LOGICAL_IDS.reportGenerator),
        Principal: 'events.amazonaws.com',
        SourceArn: arnOf(ruleId),
      },
    ]);
    // ...and send this rule's undeliverable events to the dead-letter queue.
    const queuePolicy = ofType(json.Resources, 'AWS::SQS::QueuePolicy').find(
      ([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: LOGICAL_IDS.reportFailureQueue }]),
    )!;
    expect(queuePolicy[1].Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: arnOf(LOGICAL_IDS.reportFailureQueue),
          Condition: { ArnEquals: { 'aws:SourceArn': arnOf(ruleId) } },
        }),
      ]),
    );
  });

  it(
    'lets only the two report rules invoke the generator, ' + 'and only the two rules send to its dead-letter queue',
    () => {
      const invokers = ofType(json.Resources, 'AWS::Lambda::Permission').filter(
        ([, p]) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify(arnOf(LOGICAL_IDS.reportGenerator)),
      );
      expect(invokers.map(([, p]) => p.Properties.SourceArn)).toEqual(
        expect.arrayContaining([arnOf(LOGICAL_IDS.reportOnExecutionEndRule), arnOf(LOGICAL_IDS.dailyReportRule)]),
      );
      expect(invokers).toHaveLength(2);
      const queuePolicy = ofType(json.Resources, 'AWS::SQS::QueuePolicy').find(
        ([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: LOGICAL_IDS.reportFailureQueue }]),
      )!;
      const allows = (queuePolicy[1].Properties.PolicyDocument.Statement as Statement[]).filter(
        (s) => s.Effect === 'Allow',
      );
      expect(allows).toHaveLength(2);
    },
  );

  it('sends generations that still fail after two Lambda retries to the encrypted report failure queue', () => {
    const configs = ofType(json.Resources, 'AWS::Lambda::EventInvokeConfig').filter(
      ([, c]) => c.Properties.FunctionName.Ref === LOGICAL_IDS.reportGenerator,
    );
    expect(configs).toHaveLength(1);
    expect(configs[0]![1].Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: arnOf(LOGICAL_IDS.reportFailureQueue) } },
    });
    const queue = json.Resources[LOGICAL_IDS.reportFailureQueue]!;
    expect(queue).toMatchObject({
      Type: 'AWS::SQS::Queue',
      Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 },
      DeletionPolicy: 'Retain',
    });
  });

  it('runs the generator on nodejs22.x arm64, 512 MB, 60 s, traced, with exactly its environment', () => {
    const fn = json.Resources[LOGICAL_IDS.reportGenerator]!;
    expect(fn.Type).toBe('AWS::Lambda::Function');
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 60,
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
    });
    expect(json.Resources[fn.Properties.LoggingConfig.LogGroup.Ref]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 30 },
    });
    expect(fn.Properties.Environment.Variables).toEqual({
      [REPORT_ENV.stateTable]: { Ref: LOGICAL_IDS.stateTable },
      [REPORT_ENV.reportsBucket]: { Ref: LOGICAL_IDS.reportsBucket },
      [REPORT_ENV.alertTopicArn]: { Ref: LOGICAL_IDS.alertTopic },
      POWERTOOLS_SERVICE_NAME: 'anomaly-guard',
      POWERTOOLS_METRICS_NAMESPACE: 'AnomalyGuard',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('gives the generator exactly its actions on exactly its resources', () => {
    const roleId = json.Resources[LOGICAL_IDS.reportGenerator]!.Properties.Role['Fn::GetAtt'][0];
    const role = json.Resources[roleId]!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'lambda.amazonaws.com',
    });
    expect(role.Properties.Policies ?? [], 'no inline policies').toEqual([]);
    expect(role.Properties.ManagedPolicyArns ?? [], 'no managed policies').toEqual([]);
    const policies = ofType(json.Resources, 'AWS::IAM::Policy').filter(
      ([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    );
    expect(policies).toHaveLength(1);
    const grants = (policies[0]![1].Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => {
      expect(s.Effect).toBe('Allow');
      return list(s.Action).flatMap((action) =>
        list(s.Resource).map((resource) => ({
          action,
          resource,
          ...(s.Condition !== undefined && { condition: s.Condition }),
        })),
      );
    });
    for (const g of grants) expect(g.action, 'no wildcard actions').not.toContain('*');
    const logGroup = arnOf(json.Resources[LOGICAL_IDS.reportGenerator]!.Properties.LoggingConfig.LogGroup.Ref);
    const table = arnOf(LOGICAL_IDS.stateTable);
    const reportObjects = objectsOf(LOGICAL_IDS.reportsBucket, '/reports/*');
    const executions = executionsArnOf(LOGICAL_IDS.mitigationStateMachine);
    const failureQueue = arnOf(LOGICAL_IDS.reportFailureQueue);
    const expected = [
      // Its own log group, X-Ray (no resource-level permissions).
      { action: 'logs:CreateLogStream', resource: logGroup },
      { action: 'logs:PutLogEvents', resource: logGroup },
      { action: 'xray:PutTelemetryRecords', resource: '*' },
      { action: 'xray:PutTraceSegments', resource: '*' },
      // State table: read only.
      { action: 'dynamodb:BatchGetItem', resource: table },
      { action: 'dynamodb:GetItem', resource: table },
      { action: 'dynamodb:Query', resource: table },
      // Report objects under reports/ only; the daily digest lists the day's reports and reads their report.json.
      { action: 's3:PutObject', resource: reportObjects },
      { action: 's3:GetObject', resource: reportObjects },
      {
        action: 's3:ListBucket',
        resource: arnOf(LOGICAL_IDS.reportsBucket),
        condition: { StringLike: { 's3:prefix': ['reports/*'] } },
      },
      // Executions of the mitigation state machine whose input/output the event left out.
      { action: 'states:DescribeExecution', resource: executions },
      // The report link to on-call, through the topic's key (only via SNS).
      { action: 'sns:Publish', resource: { Ref: LOGICAL_IDS.alertTopic } },
      ...['kms:Decrypt', 'kms:GenerateDataKey'].map((action) => ({
        action,
        resource: arnOf(LOGICAL_IDS.alertTopicKey),
        condition: {
          StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['sns.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        },
      })),
      // Lambda's on-failure destination, sent with the function's role.
      ...['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'].map((action) => ({
        action,
        resource: failureQueue,
      })),
    ];
    const key = (g: { action: string; resource: unknown }) => `${g.action} ${JSON.stringify(g.resource)}`;
    expect([...grants].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      [...expected].sort((a, b) => key(a).localeCompare(key(b))),
    );
  });

  it('outputs the reports bucket name and the report failure queue URL', () => {
    expect(json.Outputs[OUTPUT_IDS.reportsBucketName].Value).toEqual({ Ref: LOGICAL_IDS.reportsBucket });
    expect(json.Outputs[OUTPUT_IDS.reportFailureQueueUrl].Value).toEqual({ Ref: LOGICAL_IDS.reportFailureQueue });
  });
});

describe('Reports (overridden context)', () => {
  it('follows the reports config: retention, access-log retention, daily hour, generator sizing, log retention', () => {
    const json = synthTemplate(
      {
        anomalyGuard: {
          reports: {
            retentionDays: 30,
            accessLogRetentionDays: 7,
            dailyReportHourUtc: 6,
            memorySizeMb: 1024,
            timeoutSeconds: 120,
          },
          logRetentionDays: 14,
        },
      },
      { nag: false },
    ) as { Resources: Resources };
    expect(json.Resources[LOGICAL_IDS.reportsBucket]!.Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      Prefix: 'reports/',
      ExpirationInDays: 30,
    });
    expect(
      json.Resources[LOGICAL_IDS.reportsAccessLogBucket]!.Properties.LifecycleConfiguration.Rules[0],
    ).toMatchObject({ ExpirationInDays: 7 });
    expect(json.Resources[LOGICAL_IDS.dailyReportRule]!.Properties.ScheduleExpression).toBe('cron(15 6 * * ? *)');
    const fn = json.Resources[LOGICAL_IDS.reportGenerator]!.Properties;
    expect(fn).toMatchObject({ MemorySize: 1024, Timeout: 120 });
    expect(json.Resources[fn.LoggingConfig.LogGroup.Ref]!.Properties.RetentionInDays).toBe(14);
  });

  it('with removalPolicy destroy, deletes both buckets and empties them first (auto-delete objects)', () => {
    const json = synthTemplate({ anomalyGuard: { removalPolicy: 'destroy' } }, { nag: false }) as {
      Resources: Resources;
    };
    for (const id of [LOGICAL_IDS.reportsBucket, LOGICAL_IDS.reportsAccessLogBucket]) {
      expect(json.Resources[id]!.DeletionPolicy, id).toBe('Delete');
      const autoDelete = ofType(json.Resources, 'Custom::S3AutoDeleteObjects').filter(
        ([, r]) => JSON.stringify(r.Properties.BucketName) === JSON.stringify({ Ref: id }),
      );
      expect(autoDelete, id).toHaveLength(1);
    }
  });

  it('keeps the bucket, generator and rules when the operator API is disabled', () => {
    const json = synthTemplate({ anomalyGuard: { api: { enabled: false } } }, { nag: false }) as {
      Resources: Resources;
    };
    expect(json.Resources[LOGICAL_IDS.reportGenerator]).toBeDefined();
    expect(json.Resources[LOGICAL_IDS.reportsBucket]).toBeDefined();
    expect(json.Resources[LOGICAL_IDS.reportOnExecutionEndRule]).toBeDefined();
    expect(json.Resources[LOGICAL_IDS.dailyReportRule]).toBeDefined();
  });
});

describe('resolveConfig: reports', () => {
  it('defaults: 400-day reports, 90-day access logs, digest at 00:15 UTC, 512 MB / 60 s', () => {
    expect(resolveConfig({}).reports).toEqual({
      retentionDays: 400,
      accessLogRetentionDays: 90,
      dailyReportHourUtc: 0,
      memorySizeMb: 512,
      timeoutSeconds: 60,
    });
  });

  it.each([
    [{ retentionDays: 0 }, 'reports.retentionDays'],
    [{ retentionDays: 1.5 }, 'reports.retentionDays'],
    [{ retentionDays: '400' }, 'reports.retentionDays'],
    [{ accessLogRetentionDays: -1 }, 'reports.accessLogRetentionDays'],
    [{ dailyReportHourUtc: 24 }, 'reports.dailyReportHourUtc'],
    [{ dailyReportHourUtc: -1 }, 'reports.dailyReportHourUtc'],
    [{ memorySizeMb: 64 }, 'reports.memorySizeMb'],
    [{ timeoutSeconds: 901 }, 'reports.timeoutSeconds'],
  ])('rejects reports %j naming %s', (reports, field) => {
    expect(() => resolveConfig({ reports })).toThrow(field);
  });

  it('rejects a reports section that is not an object', () => {
    expect(() => resolveConfig({ reports: 'daily' })).toThrow('reports must be an object');
  });

  it('stops the synth on a bad reports value, naming the field', () => {
    expect(() => synthTemplate({ anomalyGuard: { reports: { dailyReportHourUtc: 25 } } }, { nag: false })).toThrow(
      'reports.dailyReportHourUtc',
    );
  });
});
