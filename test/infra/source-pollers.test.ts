import { beforeAll, describe, expect, it } from 'vitest';
import { LOGICAL_IDS, OUTPUT_IDS } from '../../lib/anomaly-guard-stack.js';
import { scheduleFor, SOURCE_SCHEDULE_DELIVERY } from '../../lib/source-pollers.js';
import { synthTemplate } from '../../lib/synth.js';
import { SOURCE_POLLER_ENV } from '../../lambdas/handlers/source-poller-environment.js';
import { arnOf } from './constructs/helpers.js';

type Resources = Record<string, { Type: string; Properties?: any; DependsOn?: string[] }>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const TWILIO_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:anomaly-guard/twilio-AbCdEf';
const SOURCES = [
  {
    name: 'datadog-usage',
    url: 'https://api.datadoghq.com/api/v2/usage/hourly_usage?filter[timestamp][start]={windowStart}',
    scheduleMinutes: 5,
    auth: { secret: 'anomaly-guard/datadog', scheme: 'header', header: 'DD-API-KEY' },
    mapping: [
      {
        records: 'data',
        type: 'metric',
        fields: { tenant: "'acme'", signal: "'dd_hosts'", value: 'attributes.value', ts: 'attributes.timestamp' },
      },
    ],
  },
  {
    name: 'twilio',
    url: 'https://api.twilio.com/usage?StartDate={windowStart}',
    scheduleMinutes: 7,
    auth: { secret: TWILIO_SECRET, scheme: 'basic', kmsKeyArn: KMS_KEY },
    mapping: [
      {
        records: 'usage_records',
        type: 'metric',
        fields: { tenant: "'acme'", signal: 'category', value: 'usage', ts: 'start_date' },
      },
    ],
  },
  {
    name: 'public-prices',
    url: 'https://prices.example.com/daily?from={windowStart}',
    scheduleMinutes: 1440,
    mapping: [
      { records: 'items', type: 'metric', fields: { tenant: "'acme'", signal: "'price'", value: 'v', ts: 't' } },
    ],
  },
];

describe('Source pollers (cdk.json context anomalyGuard.sources)', () => {
  let json: { Resources: Resources; Outputs: Record<string, any> };
  beforeAll(() => {
    // With cdk-nag: a configured source must not add an unacknowledged finding.
    json = synthTemplate({ anomalyGuard: { sources: SOURCES } }) as typeof json;
  });

  const pollerOf = (name: string) => {
    const found = ofType(json.Resources, 'AWS::Lambda::Function').filter(
      ([, r]) =>
        r.Properties.Environment?.Variables?.[SOURCE_POLLER_ENV.source] &&
        JSON.parse(r.Properties.Environment.Variables[SOURCE_POLLER_ENV.source]).name === name,
    );
    expect(found, name).toHaveLength(1);
    return found[0]!;
  };
  const roleStatements = (functionId: string): Statement[] => {
    const roleRef = json.Resources[functionId]!.Properties.Role['Fn::GetAtt'][0];
    return ofType(json.Resources, 'AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleRef))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
  };
  const actionsOn = (statements: Statement[]) =>
    statements.flatMap((s) => list(s.Action).map((a) => `${a} ${JSON.stringify(s.Resource)}`)).sort();
  const ruleFor = (functionId: string) => {
    const rules = ofType(json.Resources, 'AWS::Events::Rule').filter(([, r]) =>
      r.Properties.Targets?.some((t: any) => JSON.stringify(t.Arn) === JSON.stringify(arnOf(functionId))),
    );
    expect(rules).toHaveLength(1);
    return rules[0]![1].Properties;
  };

  it('creates one poller per source, configured with its source, the stream and the failure queue', () => {
    const [, fn] = pollerOf('datadog-usage');
    const env = fn.Properties.Environment.Variables;
    expect(JSON.parse(env[SOURCE_POLLER_ENV.source])).toMatchObject({
      name: 'datadog-usage',
      scheduleMinutes: 5,
      timeoutSeconds: 10,
      maxAttempts: 3,
    });
    expect(env[SOURCE_POLLER_ENV.streamName]).toEqual({ Ref: LOGICAL_IDS.stream });
    expect(env[SOURCE_POLLER_ENV.failureQueueUrl]).toEqual({ Ref: LOGICAL_IDS.sourceFailureQueue });
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.Timeout).toBe(300);
    pollerOf('twilio');
    pollerOf('public-prices');
  });

  it('runs each poller on its schedule, on the clock when the step divides the hour or day', () => {
    expect(ruleFor(pollerOf('datadog-usage')[0]).ScheduleExpression).toBe('cron(0/5 * * * ? *)');
    expect(ruleFor(pollerOf('twilio')[0]).ScheduleExpression).toBe('rate(7 minutes)');
    expect(ruleFor(pollerOf('public-prices')[0]).ScheduleExpression).toBe('cron(0 0 * * ? *)');
    expect(scheduleFor(120).expressionString).toBe('cron(0 0/2 * * ? *)');
    expect(scheduleFor(90).expressionString).toBe('rate(90 minutes)');
    expect(scheduleFor(1).expressionString).toBe('cron(* * * * ? *)');
  });

  it('retries schedule delivery, then sends the event to the encrypted source failure queue', () => {
    const target = ruleFor(pollerOf('datadog-usage')[0]).Targets[0];
    expect(target.RetryPolicy).toEqual({
      MaximumRetryAttempts: SOURCE_SCHEDULE_DELIVERY.retryAttempts,
      MaximumEventAgeInSeconds: SOURCE_SCHEDULE_DELIVERY.maxEventAgeMinutes * 60,
    });
    expect(target.DeadLetterConfig).toEqual({ Arn: arnOf(LOGICAL_IDS.sourceFailureQueue) });
    const queue = json.Resources[LOGICAL_IDS.sourceFailureQueue]!;
    expect(queue.Type).toBe('AWS::SQS::Queue');
    expect(queue.Properties.SqsManagedSseEnabled ?? queue.Properties.KmsMasterKeyId).toBeTruthy();
    expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(json.Outputs[OUTPUT_IDS.sourceFailureQueueUrl].Value).toEqual({ Ref: LOGICAL_IDS.sourceFailureQueue });
  });

  it(
    'does not retry a failed poll invocation (the handler retries requests itself) and sends it to the failure ' +
      'queue',
    () => {
      const [functionId] = pollerOf('datadog-usage');
      const configs = ofType(json.Resources, 'AWS::Lambda::EventInvokeConfig').filter(
        ([, c]) => c.Properties.FunctionName.Ref === functionId,
      );
      expect(configs).toHaveLength(1);
      expect(configs[0]![1].Properties).toMatchObject({
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: arnOf(LOGICAL_IDS.sourceFailureQueue) } },
      });
    },
  );

  it('lets a poller put records on the stream, send to its queue and read only its own secret', () => {
    const [functionId] = pollerOf('datadog-usage');
    const statements = roleStatements(functionId);
    const logGroup = json.Resources[functionId]!.Properties.LoggingConfig.LogGroup.Ref as string;
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    const datadogSecret = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':secret:anomaly-guard/datadog-??????',
        ],
      ],
    };
    expect(actionsOn(statements)).toEqual(
      [
        `kinesis:PutRecords ${JSON.stringify(arnOf(LOGICAL_IDS.stream))}`,
        `logs:CreateLogStream ${JSON.stringify(arnOf(logGroup))}`,
        `logs:PutLogEvents ${JSON.stringify(arnOf(logGroup))}`,
        `secretsmanager:DescribeSecret ${JSON.stringify(datadogSecret)}`,
        `secretsmanager:GetSecretValue ${JSON.stringify(datadogSecret)}`,
        `sqs:GetQueueAttributes ${JSON.stringify(arnOf(LOGICAL_IDS.sourceFailureQueue))}`,
        `sqs:GetQueueUrl ${JSON.stringify(arnOf(LOGICAL_IDS.sourceFailureQueue))}`,
        `sqs:SendMessage ${JSON.stringify(arnOf(LOGICAL_IDS.sourceFailureQueue))}`,
        'xray:PutTelemetryRecords "*"',
        'xray:PutTraceSegments "*"',
      ].sort(),
    );
  });

  it(
    'grants a secret given by its complete ARN exactly, and decrypt with its customer-managed key through Secrets ' +
      'Manager only',
    () => {
      const statements = roleStatements(pollerOf('twilio')[0]);
      const secretActions = actionsOn(
        statements.filter((s) => list(s.Action).some((a) => a.startsWith('secretsmanager:'))),
      );
      expect(secretActions).toEqual([
        `secretsmanager:DescribeSecret "${TWILIO_SECRET}"`,
        `secretsmanager:GetSecretValue "${TWILIO_SECRET}"`,
      ]);
      const kms = statements.filter((s) => list(s.Action).includes('kms:Decrypt'));
      expect(kms).toHaveLength(1);
      expect(kms[0]!.Resource).toBe(KMS_KEY);
      expect(kms[0]!.Condition).toEqual({
        StringEquals: {
          'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
        },
      });
    },
  );

  it('gives a source without auth no secret access at all', () => {
    const statements = roleStatements(pollerOf('public-prices')[0]);
    expect(
      statements.flatMap((s) => list(s.Action)).filter((a) => a.startsWith('secretsmanager:') || a.startsWith('kms:')),
    ).toEqual([]);
  });

  it('creates no poller and no schedule when no source is configured', () => {
    const plain = synthTemplate({}, { nag: false }) as typeof json;
    const pollers = ofType(plain.Resources, 'AWS::Lambda::Function').filter(
      ([, r]) => r.Properties.Environment?.Variables?.[SOURCE_POLLER_ENV.source],
    );
    expect(pollers).toEqual([]);
    expect(plain.Resources[LOGICAL_IDS.sourceFailureQueue]).toBeDefined();
  });
});
