import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Stream, StreamEncryption } from 'aws-cdk-lib/aws-kinesis';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSourceConfigs } from '../../../lambdas/core/ingest/source-config.js';
import { SOURCE_POLLER_ENV } from '../../../lambdas/handlers/source-poller-environment.js';
import { SourcePollers, type SourcePollersProps } from '../../../lib/source-pollers.js';
import { arnOf, bareStack, grants, idOf, refOf, roleStatements } from './helpers.js';

const SOURCES = parseSourceConfigs([
  {
    name: 'billing-api',
    url: 'https://billing.example.com/v1/costs?from={windowStartEpoch}',
    scheduleMinutes: 15,
    auth: { secret: 'anomaly-guard/billing', scheme: 'bearer' },
    mapping: [{ records: 'items', type: 'metric', fields: { tenant: 'a', signal: 'b', value: 'c', ts: 'd' } }],
  },
  {
    name: 'prices',
    url: 'https://prices.example.com/daily?from={windowStart}',
    scheduleMinutes: 60,
    mapping: [{ records: 'items', type: 'metric', fields: { tenant: 'a', signal: 'b', value: 'c', ts: 'd' } }],
  },
]);

type Extra = Partial<Pick<SourcePollersProps, 'sources' | 'logRetentionDays' | 'removalPolicy'>>;

function synth(extra: Extra = {}, streamKey = false) {
  const stack = bareStack();
  const key = streamKey ? new Key(stack, 'StreamKey') : undefined;
  const stream = new Stream(stack, 'Stream', key ? { encryption: StreamEncryption.KMS, encryptionKey: key } : {});
  const queue = new Queue(stack, 'Failures');
  const sources = new SourcePollers(stack, 'Sources', { sources: SOURCES, stream, failureQueue: queue, ...extra });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const poller = (name: string) => {
    const p = sources.pollers.get(name)!;
    return {
      functionId: idOf(p.handler.function),
      roleId: idOf(p.handler.role),
      ruleId: idOf(p.schedule),
      logGroupId: idOf(p.handler.logGroup),
      secret: p.secret,
    };
  };
  return {
    template,
    json,
    sources,
    poller,
    ids: { stream: idOf(stream), queue: idOf(queue), ...(key && { key: idOf(key) }) },
  };
}

describe('SourcePollers (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('creates one function and one schedule per source, each poller configured with only its own source', () => {
    expect([...t.sources.pollers.keys()]).toEqual(['billing-api', 'prices']);
    t.template.resourceCountIs('AWS::Lambda::Function', 2);
    t.template.resourceCountIs('AWS::Events::Rule', 2);
    for (const source of SOURCES) {
      const p = t.poller(source.name);
      expect(
        JSON.parse(t.json.Resources[p.functionId].Properties.Environment.Variables[SOURCE_POLLER_ENV.source]),
      ).toEqual(source);
      expect(t.json.Resources[p.ruleId].Properties.Targets).toEqual([
        expect.objectContaining({ Arn: arnOf(p.functionId), DeadLetterConfig: { Arn: arnOf(t.ids.queue) } }),
      ]);
    }
    expect(t.json.Resources[t.poller('billing-api').ruleId].Properties.ScheduleExpression).toBe('cron(0/15 * * * ? *)');
    expect(t.json.Resources[t.poller('prices').ruleId].Properties.ScheduleExpression).toBe('cron(0 0/1 * * ? *)');
  });

  it(
    'lets a poller only PutRecords on the stream (no reads, no single PutRecord), send to the failure queue and ' +
      'read its own secret',
    () => {
      const p = t.poller('billing-api');
      const g = grants(roleStatements(t.template, p.roleId)).filter(
        (x) => !x.startsWith('logs:') && !x.startsWith('xray:'),
      );
      const secret = JSON.stringify({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':secretsmanager:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':secret:anomaly-guard/billing-??????',
          ],
        ],
      });
      expect(g).toEqual(
        [
          `kinesis:PutRecords ${JSON.stringify(arnOf(t.ids.stream))}`,
          ...['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'].map(
            (a) => `${a} ${JSON.stringify(arnOf(t.ids.queue))}`,
          ),
          `secretsmanager:GetSecretValue ${secret}`,
          `secretsmanager:DescribeSecret ${secret}`,
        ].sort(),
      );
      // The source without auth gets no secret; neither poller can read the other's.
      expect(t.poller('prices').secret).toBeUndefined();
      expect(
        grants(roleStatements(t.template, t.poller('prices').roleId)).filter((x) => x.startsWith('secretsmanager:')),
      ).toEqual([]);
    },
  );

  it(
    'may encrypt records for a stream with a customer-managed key (GenerateDataKey only), and needs no KMS grant ' +
      'otherwise',
    () => {
      expect(grants(roleStatements(t.template, t.poller('prices').roleId)).filter((x) => x.startsWith('kms:'))).toEqual(
        [],
      );
      const k = synth({}, true);
      for (const name of ['billing-api', 'prices']) {
        expect(
          grants(roleStatements(k.template, k.poller(name).roleId)).filter((x) => x.startsWith('kms:')),
          name,
        ).toEqual([`kms:GenerateDataKey ${JSON.stringify(arnOf(k.ids.key!))}`]);
      }
    },
  );

  it('does not retry failed invocations and sends them to the failure queue', () => {
    const p = t.poller('prices');
    t.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: refOf(p.functionId),
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: arnOf(t.ids.queue) } },
    });
  });

  it('creates nothing without sources, and follows logRetentionDays and removalPolicy', () => {
    const none = synth({ sources: [] });
    expect(
      Object.values<any>(none.json.Resources)
        .map((r) => r.Type)
        .sort(),
    ).toEqual(['AWS::Kinesis::Stream', 'AWS::SQS::Queue']);
    expect(t.json.Resources[t.poller('prices').logGroupId]).toMatchObject({
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Retain',
    });
    const c = synth({ logRetentionDays: 7, removalPolicy: RemovalPolicy.DESTROY });
    expect(c.json.Resources[c.poller('prices').logGroupId]).toMatchObject({
      Properties: { RetentionInDays: 7 },
      DeletionPolicy: 'Delete',
    });
  });
});
