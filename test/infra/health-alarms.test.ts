import { beforeAll, describe, expect, it } from 'vitest';
import { LOGICAL_IDS, OUTPUT_IDS } from '../../lib/anomaly-guard-stack.js';
import { OPERATOR_API_STAGE } from '../../lib/operator-api.js';
import { resolveConfig } from '../../lib/config.js';
import { synthTemplate } from '../../lib/synth.js';

type Resources = Record<string, { Type: string; Properties?: any }>;
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const SOURCE = {
  name: 'billing',
  url: 'https://billing.example.com/v1/costs?from={windowStartEpoch}',
  mapping: [{ records: 'items', type: 'metric', fields: { tenant: 'a', signal: 'b', value: 'c', ts: 'd' } }],
};

describe('Health alarms (seed 003: paged when the system itself is unhealthy)', () => {
  let json: { Resources: Resources; Outputs: Record<string, any> };
  beforeAll(() => {
    json = synthTemplate({ anomalyGuard: { sources: [SOURCE] } }) as typeof json;
  });
  const alarms = () =>
    Object.fromEntries(
      ofType(json.Resources, 'AWS::CloudWatch::Alarm').map(([id, r]) => [
        id.replace(/^Health/, '').replace(/[0-9A-F]{8}$/, ''),
        r.Properties,
      ]),
    );
  const fnRef = (logicalId: string) => ({ Ref: logicalId });

  it.each([
    // alarm, namespace, metric, statistic, threshold, periods, what it watches
    ['ConsumerIteratorAge', 'AWS/Lambda', 'IteratorAge', 'Maximum', 300_000, 5],
    ['ConsumerErrors', 'AWS/Lambda', 'Errors', 'Sum', 1, 1],
    ['ConsumerThrottles', 'AWS/Lambda', 'Throttles', 'Sum', 1, 1],
    ['InvalidRecordQueueMessages', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', 1, 1],
    ['ConsumerFailureQueueMessages', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', 1, 1],
    ['RollbackFailureQueueMessages', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', 1, 1],
    ['ReportFailureQueueMessages', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', 1, 1],
    ['SourceFailureQueueMessages', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', 1, 1],
    ['MitigationExecutionsFailed', 'AWS/States', 'ExecutionsFailed', 'Sum', 1, 1],
    ['MitigationExecutionsTimedOut', 'AWS/States', 'ExecutionsTimedOut', 'Sum', 1, 1],
    ['ReportGeneratorErrors', 'AWS/Lambda', 'Errors', 'Sum', 1, 1],
    ['SourcePollerBillingErrors', 'AWS/Lambda', 'Errors', 'Sum', 1, 1],
    ['OperatorApi5xx', 'AWS/ApiGateway', '5XXError', 'Sum', 5, 1],
    ['DashboardApi5xx', 'AWS/ApiGateway', '5XXError', 'Sum', 5, 1],
  ])(
    '%s: %s %s (%s) ≥ %d over %d period(s), to the ops topic on ALARM and OK',
    (name, namespace, metricName, statistic, threshold, periods) => {
      const a = alarms()[name];
      expect(a, name).toBeDefined();
      expect(a).toMatchObject({
        Namespace: namespace,
        MetricName: metricName,
        Statistic: statistic,
        Threshold: threshold,
        EvaluationPeriods: periods,
        DatapointsToAlarm: periods,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(a.AlarmActions).toEqual([fnRef(LOGICAL_IDS.opsTopic)]);
      expect(a.OKActions).toEqual([fnRef(LOGICAL_IDS.opsTopic)]);
      expect(a.AlarmDescription).toMatch(/ First: /);
    },
  );

  it(
    'watches the right resources: the consumer, each queue, the state machine, the report generator, the poller, ' +
      'the API stage',
    () => {
      const a = alarms();
      expect(a.ConsumerIteratorAge.Dimensions).toEqual([
        { Name: 'FunctionName', Value: fnRef(LOGICAL_IDS.consumerFunction) },
      ]);
      expect(a.SourceFailureQueueMessages.Dimensions).toEqual([
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [LOGICAL_IDS.sourceFailureQueue, 'QueueName'] } },
      ]);
      expect(a.MitigationExecutionsFailed.Dimensions).toEqual([
        { Name: 'StateMachineArn', Value: fnRef(LOGICAL_IDS.mitigationStateMachine) },
      ]);
      expect(a.ReportGeneratorErrors.Dimensions).toEqual([
        { Name: 'FunctionName', Value: fnRef(LOGICAL_IDS.reportGenerator) },
      ]);
      expect(JSON.stringify(a.SourcePollerBillingErrors.Dimensions)).toMatch(/SourcesBillingPoller/);
      expect(a.OperatorApi5xx.Dimensions).toEqual([
        { Name: 'ApiName', Value: 'AnomalyGuard-operator-api' },
        { Name: 'Stage', Value: OPERATOR_API_STAGE },
      ]);
    },
  );

  it('pages on API p99 latency above the configured ms for 15 minutes', () => {
    expect(alarms().OperatorApiLatencyP99).toMatchObject({
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Threshold: 3000,
      EvaluationPeriods: 3,
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('has exactly these alarms, each describing what it means and what to do first', () => {
    // 14, and the dashboard API's 5xx alarm.
    expect(Object.keys(alarms())).toHaveLength(15);
    for (const [name, a] of Object.entries(alarms())) expect(a.AlarmDescription.length, name).toBeGreaterThan(100);
  });

  it('notifies a separate encrypted ops topic whose key CloudWatch of this account may use', () => {
    const topic = json.Resources[LOGICAL_IDS.opsTopic]!;
    expect(topic.Type).toBe('AWS::SNS::Topic');
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [LOGICAL_IDS.opsTopicKey, 'Arn'] });
    const statements = json.Resources[LOGICAL_IDS.opsTopicKey]!.Properties.KeyPolicy.Statement as any[];
    const cw = statements.find((s) => s.Sid === 'AllowCloudWatchAlarmsOfThisAccount');
    expect(cw).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect(json.Outputs[OUTPUT_IDS.healthAlarmTopicArn].Value).toEqual({ Ref: LOGICAL_IDS.opsTopic });
  });

  it('can send the alarms to the alert topic instead, with thresholds from the config', () => {
    const t = synthTemplate(
      {
        anomalyGuard: {
          operations: { notify: 'alert-topic', iteratorAgeAlarmSeconds: 60, api5xxAlarmCount: 1 },
          api: { enabled: false },
        },
      },
      { nag: false },
    ) as typeof json;
    expect(t.Resources[LOGICAL_IDS.opsTopic]).toBeUndefined();
    const all = ofType(t.Resources, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(all.every((a) => JSON.stringify(a.AlarmActions) === JSON.stringify([{ Ref: LOGICAL_IDS.alertTopic }]))).toBe(
      true,
    );
    expect(all.find((a) => a.MetricName === 'IteratorAge').Threshold).toBe(60_000);
    // Without the API there is nothing to alarm on for it; without sources no poller alarm.
    expect(all.filter((a) => a.Namespace === 'AWS/ApiGateway')).toEqual([]);
    expect(all).toHaveLength(11);
  });

  it('rejects operations settings that name the problem', () => {
    expect(() => resolveConfig({ operations: { notify: 'pager' } })).toThrow(
      /operations.notify must be "ops-topic" or "alert-topic"/,
    );
    expect(() => resolveConfig({ operations: { iteratorAgeAlarmSeconds: 0 } })).toThrow(
      /operations.iteratorAgeAlarmSeconds must be an integer in 10..86400/,
    );
    expect(() => resolveConfig({ operations: { notify: 'alert-topic', opsEmails: ['a@b.c'] } })).toThrow(
      /opsEmails needs operations.notify "ops-topic"/,
    );
    expect(() => resolveConfig({ operations: { opsEmails: ['nope'] } })).toThrow(
      /operations.opsEmails must be a list of email addresses/,
    );
  });
});

describe('Operations dashboard', () => {
  let body: string;
  let json: { Resources: Resources; Outputs: Record<string, any> };
  beforeAll(() => {
    json = synthTemplate({ anomalyGuard: { sources: [SOURCE] } }, { nag: false }) as typeof json;
    const dashboard = json.Resources[LOGICAL_IDS.operationsDashboard]!;
    expect(dashboard.Type).toBe('AWS::CloudWatch::Dashboard');
    // The body is a Fn::Join of literal JSON and references; the literal parts carry the widgets.
    body = (dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[])
      .map((p) => (typeof p === 'string' ? p : JSON.stringify(p)))
      .join('');
  });
  const widgets = () =>
    JSON.parse(body.replace(/\{"Ref":"[^"]+"\}|\{"Fn::GetAtt":\["[^"]+","[^"]+"\]\}/g, 'REF')).widgets as {
      type: string;
      properties: any;
    }[];
  const titled = (t: string) => widgets().find((w) => w.properties.title === t);

  it('shows the pipeline end to end: records in, processed, dead-lettered, late; iterator age', () => {
    const records = JSON.stringify(titled('Records')!.properties.metrics);
    for (const m of ['RecordsReceived', 'RecordsProcessed', 'RecordsDeadLettered', 'RecordsLate'])
      expect(records).toContain(`"AnomalyGuard","${m}","service","anomaly-guard"`);
    expect(JSON.stringify(titled('Consumer: iterator age (how far behind the stream)')!.properties.metrics)).toContain(
      'IteratorAge',
    );
  });

  it('shows the state writes, the quiet keys carried to the next window and the version conflicts', () => {
    const writes = JSON.stringify(
      titled('Consumer: state writes (a quiet key is written every other window)')!.properties.metrics,
    );
    for (const m of ['StateWrites', 'StateWritesDeferred', 'StateWriteConflicts'])
      expect(writes).toContain(`"AnomalyGuard","${m}","service","anomaly-guard"`);
  });

  it('shows anomalies and alerts per class and mitigations started, by outcome and rolled back', () => {
    const perClass = JSON.stringify(titled('Anomalies per class')!.properties.metrics);
    for (const c of ['infra', 'app', 'tenant', 'abuse'])
      expect(perClass).toContain(`"AnomaliesByClass","class","${c}","service","anomaly-guard"`);
    expect(JSON.stringify(titled('Alerts per class')!.properties.metrics)).toContain('AlertsByClass');
    const mitigations = JSON.stringify(titled('Mitigations')!.properties.metrics);
    for (const m of ['MitigationsStarted', '"outcome","recovered"', 'ActionsRolledBack', 'ExecutionsFailed'])
      expect(mitigations).toContain(m);
  });

  it('shows API traffic and errors, the dead-letter queues, the pollers and an alarm status grid', () => {
    const api = JSON.stringify(titled('Operator API')!.properties.metrics);
    for (const m of ['"Count"', '"4XXError"', '"5XXError"', '"Latency"']) expect(api).toContain(m);
    expect(titled('Dead-letter queues (messages waiting)')!.properties.metrics).toHaveLength(5);
    expect(JSON.stringify(titled('Source pollers: records put')!.properties.metrics)).toContain('"source","billing"');
    expect(widgets().find((w) => w.type === 'alarm')!.properties.alarms).toHaveLength(15);
    expect(
      widgets().some((w) => w.type === 'log' && /filter level = \\"ERROR\\"/.test(JSON.stringify(w.properties))),
    ).toBe(true);
  });

  it('estimates $ per million events from state write units, consumer invocations and duration', () => {
    const cost = JSON.stringify(
      titled('Estimated cost per million events (DynamoDB writes + consumer Lambda, list prices)')!.properties.metrics,
    );
    expect(cost).toContain('(wru * 0.625 + inv * 0.2 + dur / 1000 * 0.5 * 16.6667) / recs');
    expect(cost).toContain('StateWriteUnits');
    expect(json.Outputs[OUTPUT_IDS.operationsDashboardName]).toBeDefined();
  });
});
