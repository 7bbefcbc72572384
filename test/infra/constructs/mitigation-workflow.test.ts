import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MITIGATION_ENV } from '../../../lambdas/handlers/mitigation-environment.js';
import { AlertTopic } from '../../../lib/alert-topic.js';
import { MitigationWorkflow, type MitigationWorkflowProps } from '../../../lib/mitigation-workflow.js';
import { StateTable } from '../../../lib/state-table.js';
import { arnOf, bareStack, grants, idOf, refOf, roleStatements } from './helpers.js';

type Extra = Partial<Omit<MitigationWorkflowProps, 'stateTable' | 'alertTopic' | 'asyncFailureQueue'>>;

function synth(extra: Extra = {}, withQueue = false) {
  const stack = bareStack();
  const state = new StateTable(stack, 'State');
  const alerts = new AlertTopic(stack, 'Alerts');
  const queue = withQueue ? new Queue(stack, 'RollbackFailures') : undefined;
  const wf = new MitigationWorkflow(stack, 'Mitigation', {
    stateTable: state,
    alertTopic: alerts,
    ...extra,
    ...(queue && { asyncFailureQueue: queue }),
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const ids = {
    table: idOf(state.table),
    topic: idOf(alerts.topic),
    key: idOf(alerts.key),
    function: idOf(wf.handler.function),
    stepsRole: idOf(wf.handler.role),
    machine: idOf(wf.stateMachine),
    machineRole: idOf(wf.stateMachine.role),
    stepsLogs: idOf(wf.handler.logGroup),
    ...(queue && { queue: idOf(queue) }),
  };
  return { template, json, ids, fn: json.Resources[ids.function], machine: json.Resources[ids.machine] };
}

describe('MitigationWorkflow (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it(
    'is a Standard state machine with a 6 h timeout, X-Ray, ' + 'and full execution logs to its own retained log group',
    () => {
      const p = t.machine.Properties;
      expect(p.StateMachineType).toBe('STANDARD');
      expect(p.TracingConfiguration).toEqual({ Enabled: true });
      expect(JSON.stringify(p.DefinitionString)).toMatch(/\\"TimeoutSeconds\\":21600/);
      const logGroupId = p.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
      expect(p.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
      expect(logGroupId).not.toBe(t.ids.stepsLogs);
      expect(t.json.Resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
        DeletionPolicy: 'Retain',
      });
    },
  );

  it('lets the state machine invoke only its task function (and its versions)', () => {
    const invoke = grants(roleStatements(t.template, t.ids.machineRole)).filter((g) => g.startsWith('lambda:'));
    expect(invoke).toEqual([
      `lambda:InvokeFunction ${JSON.stringify(arnOf(t.ids.function))}`,
      `lambda:InvokeFunction ${JSON.stringify({ 'Fn::Join': ['', [arnOf(t.ids.function), ':*']] })}`,
    ]);
  });

  it(
    'gives the task function item access to the table, publish to the topic, PutEvents on the default bus, ' +
      'nothing for action targets by default',
    () => {
      const g = grants(roleStatements(t.template, t.ids.stepsRole));
      const table = JSON.stringify(arnOf(t.ids.table));
      expect(g.filter((x) => x.startsWith('dynamodb:'))).toEqual(
        [
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ].map((a) => `${a} ${table}`),
      );
      expect(g.filter((x) => x.startsWith('sns:'))).toEqual([`sns:Publish ${JSON.stringify(refOf(t.ids.topic))}`]);
      const events = g.filter((x) => x.startsWith('events:'));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatch(/^events:PutEvents .*:event-bus\/default"\]\]\}$/);
      expect(g.filter((x) => /^(appconfig|apigateway|cloudfront|wafv2|secretsmanager):/.test(x))).toEqual([]);
      expect(JSON.parse(t.fn.Properties.Environment.Variables[MITIGATION_ENV.actionTargets])).toEqual({
        unconfiguredTargets: 'flag-table',
      });
    },
  );

  it('grants an AppConfig and a webhook target exactly their configured resources', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook';
    const c = synth({
      actionTargets: {
        appConfig: {
          applicationId: 'app1',
          environmentId: 'env1',
          configurationProfileId: 'prof1',
          deploymentStrategyId: 'strat1',
        },
        webhook: { url: 'https://hooks.example.com/x', secretArn },
      },
    });
    const g = grants(roleStatements(c.template, c.ids.stepsRole));
    expect(g.filter((x) => x.startsWith('secretsmanager:'))).toEqual([
      `secretsmanager:GetSecretValue "${secretArn}-??????"`,
    ]);
    const appconfig = g.filter((x) => x.startsWith('appconfig:'));
    expect(appconfig.length).toBe(5 * 6);
    for (const x of appconfig) expect(x).toMatch(/application\/app1|deploymentstrategy\/strat1/);
    expect(appconfig.join('\n')).not.toMatch(/environment\/\*|configurationprofile\/\*|application\/\*/);
    expect(JSON.parse(c.fn.Properties.Environment.Variables[MITIGATION_ENV.actionTargets])).toMatchObject({
      unconfiguredTargets: 'flag-table',
      webhook: { secretArn },
    });
  });

  it(
    'sends failed asynchronous invocations to asyncFailureQueue ' + 'after two retries, and configures none without it',
    () => {
      expect(t.template.findResources('AWS::Lambda::EventInvokeConfig')).toEqual({});
      const q = synth({}, true);
      q.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: refOf(q.ids.function),
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 6 * 3600,
        DestinationConfig: { OnFailure: { Destination: arnOf(q.ids.queue!) } },
      });
      expect(grants(roleStatements(q.template, q.ids.stepsRole)).filter((x) => x.startsWith('sqs:'))).toContain(
        `sqs:SendMessage ${JSON.stringify(arnOf(q.ids.queue!))}`,
      );
    },
  );

  it('follows deploymentRegion, platformMinTenants, logRetentionDays and removalPolicy', () => {
    expect(t.fn.Properties.Environment.Variables).toMatchObject({
      [MITIGATION_ENV.platformMinTenants]: '3',
      [MITIGATION_ENV.eventBusName]: 'default',
    });
    expect(t.fn.Properties.Environment.Variables[MITIGATION_ENV.deploymentRegion]).toBeUndefined();
    const c = synth({
      deploymentRegion: 'eu',
      platformMinTenants: 10,
      logRetentionDays: 7,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    expect(c.fn.Properties.Environment.Variables).toMatchObject({
      [MITIGATION_ENV.platformMinTenants]: '10',
      [MITIGATION_ENV.deploymentRegion]: 'eu',
    });
    const groups = Object.values(c.template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(2);
    for (const lg of groups) expect(lg).toMatchObject({ Properties: { RetentionInDays: 7 }, DeletionPolicy: 'Delete' });
  });
});
