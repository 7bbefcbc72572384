import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HealthAlarms, type HealthAlarmsProps } from '../../../lib/health-alarms.js';
import { bareStack, idOf, refOf } from './helpers.js';

const fn = (stack: Stack, id: string) =>
  new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => {}'),
  });

function synth(
  opts: { pollers?: boolean; api?: boolean; dashboardApi?: boolean; settings?: HealthAlarmsProps['settings'] } = {},
) {
  const stack = bareStack();
  const topic = new Topic(stack, 'Ops');
  const consumer = fn(stack, 'Consumer');
  const generator = fn(stack, 'Generator');
  const poller = opts.pollers ? fn(stack, 'Poller') : undefined;
  const machine = new StateMachine(stack, 'Machine', {
    definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Noop')),
  });
  const queues = ['FirstQueue', 'SecondQueue'].map((name) => ({
    name,
    queue: new Queue(stack, name),
    meaning: `messages of ${name}.`,
    firstStep: `drain ${name}.`,
  }));
  let api: RestApi | undefined;
  if (opts.api) {
    api = new RestApi(stack, 'Api', { restApiName: 'ops-api' });
    api.root.addMethod('GET');
  }
  const health = new HealthAlarms(stack, 'Health', {
    topic,
    consumer,
    deadLetterQueues: queues,
    stateMachine: machine,
    reportGenerator: generator,
    ...(poller && { pollers: new Map([['billing-api', poller]]) }),
    ...(api && { api: { api, apiName: 'ops-api', stage: 'prod' } }),
    ...(opts.dashboardApi && { dashboardApi: { apiName: 'ops-dashboard-api', stage: 'prod' } }),
    ...(opts.settings && { settings: opts.settings }),
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const alarms = Object.fromEntries(health.alarms.map((a) => [a.node.id, json.Resources[idOf(a)].Properties]));
  return {
    alarms,
    health,
    ids: {
      topic: idOf(topic),
      consumer: idOf(consumer),
      generator: idOf(generator),
      machine: idOf(machine),
      ...(poller && { poller: idOf(poller) }),
      queues: queues.map((q) => idOf(q.queue)),
    },
    template,
  };
}

describe('HealthAlarms (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it(
    'without pollers or an API: consumer (3), one per queue, state machine (2) and report generator alarms, ' +
      'nothing else',
    () => {
      expect(Object.keys(t.alarms)).toEqual([
        'ConsumerIteratorAge',
        'ConsumerErrors',
        'ConsumerThrottles',
        'FirstQueueMessages',
        'SecondQueueMessages',
        'MitigationExecutionsFailed',
        'MitigationExecutionsTimedOut',
        'ReportGeneratorErrors',
      ]);
      t.template.resourceCountIs('AWS::CloudWatch::Alarm', 8);
    },
  );

  it('notifies the given topic on ALARM and OK, and treats missing data as not breaching', () => {
    for (const [name, a] of Object.entries(t.alarms)) {
      expect(a.AlarmActions, name).toEqual([refOf(t.ids.topic)]);
      expect(a.OKActions, name).toEqual([refOf(t.ids.topic)]);
      expect(a.TreatMissingData, name).toBe('notBreaching');
    }
  });

  it('watches each given queue by name, describing what its messages mean and what to do first', () => {
    expect(t.alarms.SecondQueueMessages).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [t.ids.queues[1], 'QueueName'] } }],
      AlarmDescription: 'SecondQueue holds messages: messages of SecondQueue. First: drain SecondQueue.',
    });
    expect(t.alarms.ReportGeneratorErrors.Dimensions).toEqual([
      { Name: 'FunctionName', Value: refOf(t.ids.generator) },
    ]);
    expect(t.alarms.MitigationExecutionsFailed.Dimensions).toEqual([
      { Name: 'StateMachineArn', Value: refOf(t.ids.machine) },
    ]);
  });

  it('adds one error alarm per poller and the API 5xx and p99 latency alarms when given', () => {
    const full = synth({ pollers: true, api: true });
    expect(Object.keys(full.alarms).filter((n) => !(n in t.alarms))).toEqual([
      'SourcePollerBillingApiErrors',
      'OperatorApi5xx',
      'OperatorApiLatencyP99',
    ]);
    expect(full.alarms.SourcePollerBillingApiErrors.Dimensions).toEqual([
      { Name: 'FunctionName', Value: refOf(full.ids.poller!) },
    ]);
    expect(full.alarms.OperatorApi5xx.Dimensions).toEqual([
      { Name: 'ApiName', Value: 'ops-api' },
      { Name: 'Stage', Value: 'prod' },
    ]);
  });

  it("adds the dashboard API's 5xx alarm when given, with the API 5xx threshold", () => {
    const withDashboard = synth({ dashboardApi: true, settings: { api5xxAlarmCount: 9 } });
    expect(Object.keys(withDashboard.alarms).filter((n) => !(n in t.alarms))).toEqual(['DashboardApi5xx']);
    expect(withDashboard.alarms.DashboardApi5xx).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Threshold: 9,
      Dimensions: [
        { Name: 'ApiName', Value: 'ops-dashboard-api' },
        { Name: 'Stage', Value: 'prod' },
      ],
    });
  });

  it('takes its thresholds from settings', () => {
    expect(t.alarms.ConsumerIteratorAge.Threshold).toBe(300_000);
    const s = synth({
      api: true,
      settings: { iteratorAgeAlarmSeconds: 60, api5xxAlarmCount: 2, apiLatencyP99AlarmMs: 800 },
    });
    expect(s.alarms.ConsumerIteratorAge.Threshold).toBe(60_000);
    expect(s.alarms.ConsumerIteratorAge.AlarmDescription).toMatch(/more than 60 s behind/);
    expect(s.alarms.OperatorApi5xx.Threshold).toBe(2);
    expect(s.alarms.OperatorApiLatencyP99).toMatchObject({
      Threshold: 800,
      ExtendedStatistic: 'p99',
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});
