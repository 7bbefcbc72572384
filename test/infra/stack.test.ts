import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_ENV } from '../../lambdas/handlers/consumer-environment.js';
import { LOGICAL_IDS, OUTPUT_IDS } from '../../lib/anomaly-guard-stack.js';
import { synthTemplate } from '../../lib/synth.js';
import { definitionFromTemplate } from '../../local/step-functions.js';
import { arnOf } from './constructs/helpers.js';

describe('AnomalyGuardStack (cdk.json context)', () => {
  let json: Record<string, any>;
  let template: Template;
  beforeAll(() => {
    json = synthTemplate({}, { nag: false });
    template = Template.fromJSON(json);
  });

  it('wires the Kinesis event source mapping as configured', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    expect(json.Resources[LOGICAL_IDS.consumerEventSourceMapping].Properties).toEqual({
      EventSourceArn: arnOf(LOGICAL_IDS.stream),
      FunctionName: { Ref: LOGICAL_IDS.consumerFunction },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 5,
      ParallelizationFactor: 1,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 3600,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      TumblingWindowInSeconds: 60,
      DestinationConfig: { OnFailure: { Destination: arnOf(LOGICAL_IDS.consumerFailureQueue) } },
    });
  });

  it('encrypts the stream with the AWS-managed Kinesis key, provisioned with retention from config', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 1,
      RetentionPeriodHours: 24,
    });
  });

  it('has exactly one state table with pk/sk, on-demand billing, PITR, SSE and TTL, retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    const table = json.Resources[LOGICAL_IDS.stateTable];
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it.each([
    LOGICAL_IDS.invalidRecordQueue,
    LOGICAL_IDS.consumerFailureQueue,
    LOGICAL_IDS.rollbackFailureQueue,
    LOGICAL_IDS.reportFailureQueue,
  ])('%s is encrypted, keeps 14 days and denies non-TLS access', (queueId) => {
    const queue = json.Resources[queueId];
    expect(queue.Type).toBe('AWS::SQS::Queue');
    expect(queue.Properties.SqsManagedSseEnabled === true || queue.Properties.KmsMasterKeyId !== undefined).toBe(true);
    expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: arnOf(queueId),
          }),
        ]),
      },
    });
  });

  it('encrypts the alert topic with a rotating customer-managed key and denies non-TLS publishing', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arnOf(LOGICAL_IDS.alertTopicKey) });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: LOGICAL_IDS.alertTopic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it(
    'runs the consumer on nodejs22.x arm64 with active ' + 'tracing, its own log group and the configured environment',
    () => {
      const fn = json.Resources[LOGICAL_IDS.consumerFunction].Properties;
      expect(fn.Runtime).toBe('nodejs22.x');
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Handler).toBe('index.handler');
      expect(fn.MemorySize).toBe(512);
      expect(fn.Timeout).toBe(60);
      const logGroupRef = fn.LoggingConfig.LogGroup.Ref as string;
      expect(json.Resources[logGroupRef]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
      expect(fn.Environment.Variables).toEqual({
        [CONSUMER_ENV.stateTable]: { Ref: LOGICAL_IDS.stateTable },
        [CONSUMER_ENV.invalidRecordQueueUrl]: { Ref: LOGICAL_IDS.invalidRecordQueue },
        [CONSUMER_ENV.alertTopicArn]: { Ref: LOGICAL_IDS.alertTopic },
        [CONSUMER_ENV.windowMinutes]: '10',
        [CONSUMER_ENV.slideMinutes]: '1',
        [CONSUMER_ENV.allowedLatenessMs]: '120000',
        [CONSUMER_ENV.dedupeIds]: '64',
        [CONSUMER_ENV.maxStreamChangeWindowHours]: '24',
        [CONSUMER_ENV.carryQuietKeys]: 'true',
        [CONSUMER_ENV.streamArn]: { 'Fn::GetAtt': [LOGICAL_IDS.stream, 'Arn'] },
        [CONSUMER_ENV.mitigationStateMachineArn]: { Ref: LOGICAL_IDS.mitigationStateMachine },
        [CONSUMER_ENV.mitigationTimings]: JSON.stringify({
          observationSeconds: 900,
          finalCheckSeconds: 2700,
          rollbackIntervalSeconds: 300,
          approvalTimeoutSeconds: 900,
        }),
        POWERTOOLS_SERVICE_NAME: 'anomaly-guard',
        POWERTOOLS_METRICS_NAMESPACE: 'AnomalyGuard',
        NODE_OPTIONS: '--enable-source-maps',
      });
    },
  );

  it('uses no AWS managed policies on the consumer role', () => {
    const roles = template.findResources('AWS::IAM::Role');
    for (const role of Object.values(roles)) expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
  });

  it('exposes the outputs the local runtime and operators rely on', () => {
    expect(Object.keys(json.Outputs).sort()).toEqual(Object.values(OUTPUT_IDS).sort());
    expect(json.Outputs[OUTPUT_IDS.stateTableName].Value).toEqual({ Ref: LOGICAL_IDS.stateTable });
    expect(json.Outputs[OUTPUT_IDS.streamName].Value).toEqual({ Ref: LOGICAL_IDS.stream });
    expect(json.Outputs[OUTPUT_IDS.consumerFailureQueueUrl].Value).toEqual({ Ref: LOGICAL_IDS.consumerFailureQueue });
  });
});

describe('AnomalyGuardStack (overridden context)', () => {
  it('follows config: on-demand stream, destroy policy, sizing, window and subscriptions', () => {
    const json = synthTemplate(
      {
        anomalyGuard: {
          stream: { mode: 'on-demand', retentionHours: 48 },
          consumer: {
            batchSize: 250,
            maxBatchingWindowSeconds: 30,
            parallelizationFactor: 4,
            maxRetryAttempts: 2,
            maxRecordAgeSeconds: 600,
            memorySizeMb: 1024,
            timeoutSeconds: 120,
            tumblingWindowSeconds: 0,
          },
          window: { windowMinutes: 15, slideMinutes: 5, allowedLatenessMs: 60_000, dedupeIds: 8 },
          logRetentionDays: 7,
          alertEmails: ['oncall@example.com'],
          removalPolicy: 'destroy',
        },
      },
      { nag: false },
    );
    const t = Template.fromJSON(json);
    const stream = json.Resources[LOGICAL_IDS.stream].Properties;
    expect(stream.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    expect(stream.ShardCount).toBeUndefined();
    expect(stream.RetentionPeriodHours).toBe(48);
    expect(json.Resources[LOGICAL_IDS.stateTable].DeletionPolicy).toBe('Delete');
    expect(json.Resources[LOGICAL_IDS.stateTable].Properties.DeletionProtectionEnabled).toBe(false);
    expect(json.Resources[LOGICAL_IDS.consumerEventSourceMapping].Properties).toMatchObject({
      BatchSize: 250,
      MaximumBatchingWindowInSeconds: 30,
      ParallelizationFactor: 4,
      MaximumRetryAttempts: 2,
      MaximumRecordAgeInSeconds: 600,
    });
    // 0: every batch folded and written on its own, as before tumbling windows.
    expect(json.Resources[LOGICAL_IDS.consumerEventSourceMapping].Properties.TumblingWindowInSeconds).toBeUndefined();
    const fn = json.Resources[LOGICAL_IDS.consumerFunction].Properties;
    expect(fn).toMatchObject({ MemorySize: 1024, Timeout: 120 });
    expect(fn.Environment.Variables).toMatchObject({
      WINDOW_MINUTES: '15',
      SLIDE_MINUTES: '5',
      ALLOWED_LATENESS_MS: '60000',
      DEDUPE_IDS: '8',
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: LOGICAL_IDS.alertTopic },
    });
  });
});

describe('mitigation workflow', () => {
  let json: Record<string, any>;
  beforeAll(() => {
    json = synthTemplate({}, { nag: false });
  });

  it('is a Standard state machine with execution logging, tracing and a timeout', () => {
    const sm = json.Resources[LOGICAL_IDS.mitigationStateMachine];
    expect(sm.Type).toBe('AWS::StepFunctions::StateMachine');
    expect(sm.Properties.StateMachineType).toBe('STANDARD');
    expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(sm.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
  });

  it('reads its waits from the execution input and rolls back everything when a step fails', () => {
    const def = definitionFromTemplate(json as never);
    expect(def.States.Observe).toMatchObject({ Type: 'Wait', SecondsPath: '$.input.observationSeconds' });
    expect(def.States['Wait between rollback steps']).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.input.rollbackIntervalSeconds',
    });
    const rollBackEverything = { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Roll back everything' };
    for (const name of ['Plan', 'Check regression', 'Roll back one step']) {
      expect((def.States[name] as { Catch?: { ErrorEquals: string[]; Next: string }[] }).Catch).toEqual([
        rollBackEverything,
      ]);
    }
    // The kill switch turned on mid-stage hands off with the actions in place; its catcher comes before the catch-all.
    expect((def.States.Apply as { Catch?: unknown[] }).Catch).toEqual([
      { ErrorEquals: ['MitigationPaused'], ResultPath: '$.error', Next: 'Notify hand-off' },
      rollBackEverything,
    ]);
    // Every task retries transient Lambda errors with backoff and has a Catch.
    const tasks = Object.entries(def.States).filter(([, st]) => st.Type === 'Task') as [
      string,
      { Retry?: { BackoffRate?: number; MaxAttempts?: number }[]; Catch?: unknown[] },
    ][];
    expect(tasks.length).toBe(12);
    const twoCatches = ['Apply', 'Apply approved steps', 'Await approval'];
    for (const [name, st] of tasks) {
      expect(st.Retry?.[0], name).toMatchObject({ BackoffRate: 2, MaxAttempts: 6 });
      expect(st.Catch?.length, name).toBe(twoCatches.includes(name) ? 2 : 1);
    }
    const direct = tasks.filter(([name]) => name !== 'Await approval').map(([, s]) => s as { Resource?: string });
    expect(direct.every((s) => s.Resource?.endsWith(':function:MitigationStepsFunction'))).toBe(true);
    // The approval waits on a task token for at most the execution input's approvalTimeoutSeconds; then it expires.
    const approval = def.States['Await approval'] as unknown as {
      Resource: string;
      TimeoutSecondsPath: string;
      Parameters: { Payload: Record<string, unknown> };
      Catch: { ErrorEquals: string[]; Next: string }[];
    };
    expect(approval.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(approval.TimeoutSecondsPath).toBe('$.input.approvalTimeoutSeconds');
    expect(approval.Parameters.Payload).toMatchObject({ op: 'request-approval', 'taskToken.$': '$$.Task.Token' });
    expect(approval.Catch[0]).toMatchObject({ ErrorEquals: ['States.Timeout'], Next: 'Approval expired' });
  });

  it('runs the steps on nodejs22.x with the state table, topic and bus it needs', () => {
    const fn = json.Resources[LOGICAL_IDS.mitigationFunction].Properties;
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', TracingConfig: { Mode: 'Active' } });
    expect(fn.Environment.Variables).toMatchObject({
      STATE_TABLE_NAME: { Ref: LOGICAL_IDS.stateTable },
      ALERT_TOPIC_ARN: { Ref: LOGICAL_IDS.alertTopic },
      EVENT_BUS_NAME: 'default',
    });
    expect(JSON.parse(fn.Environment.Variables.ACTION_TARGETS)).toEqual({ unconfiguredTargets: 'flag-table' });
  });

  it('sends operator rollbacks that still fail after two retries to an encrypted dead-letter queue', () => {
    const configs = Object.values(json.Resources as Record<string, any>).filter(
      (r) =>
        r.Type === 'AWS::Lambda::EventInvokeConfig' && r.Properties.FunctionName.Ref === LOGICAL_IDS.mitigationFunction,
    );
    expect(configs).toHaveLength(1);
    expect(configs[0].Properties).toMatchObject({
      FunctionName: { Ref: LOGICAL_IDS.mitigationFunction },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [LOGICAL_IDS.rollbackFailureQueue, 'Arn'] } } },
    });
    expect(json.Resources[LOGICAL_IDS.rollbackFailureQueue].Properties).toMatchObject({ SqsManagedSseEnabled: true });
  });

  it('lets the consumer alert only when mitigation.automatic is false', () => {
    const manual = synthTemplate({ anomalyGuard: { mitigation: { automatic: false } } }, { nag: false });
    const vars = manual.Resources[LOGICAL_IDS.consumerFunction].Properties.Environment.Variables;
    expect(vars[CONSUMER_ENV.mitigationStateMachineArn]).toBeUndefined();
  });
});

describe('action targets IAM', () => {
  it('grants each enabled target exactly its configured resources, and nothing when none is enabled', () => {
    const statementsOf = (t: Record<string, any>) =>
      Object.values<any>(t.Resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy')
        .flatMap((r) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const actions = (t: Record<string, any>) =>
      statementsOf(t).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    const none = synthTemplate({ anomalyGuard: { dashboard: { enabled: false } } }, { nag: false });
    expect(actions(none).filter((a) => /^(appconfig|apigateway|cloudfront|wafv2|secretsmanager):/.test(a))).toEqual([]);
    // The dashboard's page deployment invalidates its own distribution, and nothing else (dashboard-site.test.ts).
    const withDashboard = synthTemplate({}, { nag: false });
    const cloudFront = Object.entries<any>(withDashboard.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
      .filter(([, r]) => JSON.stringify(r.Properties.PolicyDocument).includes('cloudfront:'))
      .map(([, r]) =>
        JSON.stringify(
          r.Properties.PolicyDocument.Statement.filter((x: any) =>
            JSON.stringify(x.Action).includes('cloudfront:'),
          ).map((x: any) => x.Resource),
        ),
      );
    expect(cloudFront).toEqual([
      JSON.stringify([
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':cloudfront::',
              { Ref: 'AWS::AccountId' },
              ':distribution/',
              { Ref: LOGICAL_IDS.dashboardDistribution },
            ],
          ],
        },
      ]),
    ]);

    const configured = synthTemplate(
      {
        anomalyGuard: {
          mitigation: {
            actionTargets: {
              usagePlans: { usagePlanIds: ['up1'] },
              cloudFront: { distributionIds: ['E123'] },
              waf: { webAclName: 'edge', webAclId: 'abc', scope: 'REGIONAL', ruleNames: ['anomaly-guard-challenge'] },
            },
          },
        },
      },
      { nag: false },
    );
    const byAction = (action: string) =>
      statementsOf(configured).filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action));
    expect(JSON.stringify(byAction('apigateway:PATCH').map((s) => s.Resource))).toMatch(/\/usageplans\/up1/);
    expect(JSON.stringify(byAction('cloudfront:CreateInvalidation').map((s) => s.Resource))).toMatch(
      /distribution\/E123/,
    );
    expect(JSON.stringify(byAction('wafv2:UpdateWebACL').map((s) => s.Resource))).toMatch(
      /regional\/webacl\/edge\/abc/,
    );
    expect(actions(configured).filter((a) => a.startsWith('appconfig:'))).toEqual([]);
  });

  it('rejects an invalid target configuration at synth, naming the field', () => {
    expect(() =>
      synthTemplate(
        { anomalyGuard: { mitigation: { actionTargets: { cloudFront: { distributionIds: [] } } } } },
        { nag: false },
      ),
    ).toThrow(/mitigation\.actionTargets: .*cloudFront\.distributionIds/);
  });
});
