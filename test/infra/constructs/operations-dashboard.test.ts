import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Alarm, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { OperationsDashboard, type OperationsDashboardProps } from '../../../lib/operations-dashboard.js';
import { bareStack, idOf, onlyResource } from './helpers.js';

interface Widget {
  type: string;
  properties: { title?: string; markdown?: string; metrics?: unknown[][]; alarms?: string[]; query?: string };
}
type Extra = Partial<Pick<OperationsDashboardProps, 'sourceNames' | 'api' | 'dashboardName' | 'consumerMemoryMb'>> & {
  alarms?: boolean;
};

/** The dashboard body with CloudFormation references rendered as `<Ref:Id>` / `<GetAtt:Id.Attr>`, parsed. */
function dashboardBody(template: Template): { widgets: Widget[] } {
  const id = onlyResource(template, 'AWS::CloudWatch::Dashboard');
  const body = template.toJSON().Resources[id].Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof body === 'string') return JSON.parse(body);
  const text = body['Fn::Join'][1]
    .map((p: any) =>
      typeof p === 'string'
        ? p
        : p.Ref
          ? `<Ref:${p.Ref}>`
          : p['Fn::GetAtt']
            ? `<GetAtt:${p['Fn::GetAtt'].join('.')}>`
            : `<${Object.keys(p)[0]}>`,
    )
    .join('');
  return JSON.parse(text);
}

const lambda = (stack: Stack, id: string) =>
  new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => {}'),
  });

function synth(extra: Extra = {}) {
  const stack = bareStack();
  const consumer = lambda(stack, 'Consumer');
  const logGroup = new LogGroup(stack, 'ConsumerLogs');
  const machine = new StateMachine(stack, 'Machine', {
    definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Noop')),
  });
  const queues = ['FirstQueue', 'SecondQueue'].map((name) => ({ name, queue: new Queue(stack, name) }));
  const alarm = extra.alarms
    ? new Alarm(stack, 'SomeAlarm', {
        metric: new Metric({ namespace: 'X', metricName: 'Y' }),
        threshold: 1,
        evaluationPeriods: 1,
      })
    : undefined;
  const { alarms: _alarms, ...rest } = extra;
  new OperationsDashboard(stack, 'Operations', {
    consumer,
    consumerMemoryMb: 512,
    consumerLogGroup: logGroup,
    deadLetterQueues: queues,
    stateMachine: machine,
    ...rest,
    ...(alarm && { alarms: [alarm] }),
  });
  const template = Template.fromStack(stack);
  const titled = (title: string) =>
    dashboardBody(template).widgets.filter((w) => w.properties.title?.startsWith(title));
  return {
    template,
    body: dashboardBody(template),
    titled,
    ids: {
      consumer: idOf(consumer),
      logGroup: idOf(logGroup),
      queues: queues.map((q) => idOf(q.queue)),
      ...(alarm && { alarm: idOf(alarm) }),
    },
  };
}

describe('OperationsDashboard (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('is one dashboard named after the stack, or dashboardName', () => {
    t.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Test-operations' });
    synth({ dashboardName: 'ops-board' }).template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'ops-board',
    });
  });

  it(
    'graphs every given dead-letter queue under its name, ' + 'and the consumer log group in a Logs Insights widget',
    () => {
      const [dlq] = t.titled('Dead-letter queues');
      expect(JSON.stringify(dlq!.properties.metrics)).toContain(`<GetAtt:${t.ids.queues[0]}.QueueName>`);
      expect(JSON.stringify(dlq!.properties.metrics)).toContain(`<GetAtt:${t.ids.queues[1]}.QueueName>`);
      expect(dlq!.properties.metrics!.map((m) => (m.at(-1) as { label: string }).label)).toEqual([
        'FirstQueue',
        'SecondQueue',
      ]);
      const logs = t.body.widgets.filter((w) => w.type === 'log');
      expect(logs).toHaveLength(1);
      expect(logs[0]!.properties.query).toContain(`SOURCE '<Ref:${t.ids.logGroup}>'`);
    },
  );

  it('shows no alarm, API or source widgets unless given', () => {
    expect(t.body.widgets.filter((w) => w.type === 'alarm')).toEqual([]);
    expect(t.titled('Operator API')).toEqual([]);
    expect(t.titled('Source pollers')).toEqual([]);
  });

  it('adds an alarm status grid, the API widget for the given stage, and per-source graphs when given', () => {
    const full = synth({
      alarms: true,
      api: { apiName: 'ops-api', stage: 'prod' },
      sourceNames: ['billing-api', 'prices'],
    });
    const alarms = full.body.widgets.filter((w) => w.type === 'alarm');
    expect(alarms.map((w) => w.properties.alarms)).toEqual([[`<GetAtt:${full.ids.alarm}.Arn>`]]);
    expect(JSON.stringify(full.titled('Operator API')[0]!.properties.metrics)).toContain(
      '"ApiName","ops-api","Stage","prod"',
    );
    const sources = full.titled('Source pollers');
    expect(sources).toHaveLength(2);
    for (const s of ['billing-api', 'prices'])
      expect(JSON.stringify(sources[0]!.properties.metrics)).toContain(`"source","${s}"`);
  });

  it('prices the consumer by its memory size in the cost-per-million estimate', () => {
    const expression = (x: ReturnType<typeof synth>) =>
      JSON.stringify(x.titled('Estimated cost per million events')[0]!.properties.metrics);
    expect(expression(t)).toContain('dur / 1000 * 0.5 *');
    expect(expression(synth({ consumerMemoryMb: 2048 }))).toContain('dur / 1000 * 2 *');
  });
});
