import { Template } from 'aws-cdk-lib/assertions';
import { Stream } from 'aws-cdk-lib/aws-kinesis';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Pass, StateMachine, DefinitionBody } from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_ENV } from '../../../lambdas/handlers/consumer-environment.js';
import { AlertTopic } from '../../../lib/alert-topic.js';
import { StateTable } from '../../../lib/state-table.js';
import { StreamConsumer, type StreamConsumerProps } from '../../../lib/stream-consumer.js';
import { arnOf, bareStack, grants, idOf, onlyResource, refOf, roleStatements } from './helpers.js';

type Extra = Partial<
  Omit<
    StreamConsumerProps,
    'stream' | 'stateTable' | 'invalidRecordQueue' | 'consumerFailureQueue' | 'alertTopic' | 'mitigation'
  >
>;

function synth(extra: Extra = {}, opts: { mitigation?: boolean; kmsInvalidQueue?: boolean } = {}) {
  const stack = bareStack();
  const stream = new Stream(stack, 'Stream');
  const state = new StateTable(stack, 'State');
  const alerts = new AlertTopic(stack, 'Alerts');
  const invalid = opts.kmsInvalidQueue
    ? new Queue(stack, 'Invalid', { encryption: QueueEncryption.KMS, encryptionMasterKey: new Key(stack, 'QueueKey') })
    : new Queue(stack, 'Invalid');
  const failure = new Queue(stack, 'Failure');
  const machine = opts.mitigation
    ? new StateMachine(stack, 'Machine', { definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Noop')) })
    : undefined;
  const consumer = new StreamConsumer(stack, 'Consumer', {
    stream,
    stateTable: state,
    invalidRecordQueue: invalid,
    consumerFailureQueue: failure,
    alertTopic: alerts,
    ...extra,
    ...(machine && {
      mitigation: {
        stateMachine: machine,
        timings: { observationSeconds: 60, finalCheckSeconds: 120, rollbackIntervalSeconds: 30 },
      },
    }),
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const ids = {
    stream: idOf(stream),
    table: idOf(state.table),
    topic: idOf(alerts.topic),
    key: idOf(alerts.key),
    invalid: idOf(invalid),
    failure: idOf(failure),
    function: idOf(consumer.function),
    role: idOf(consumer.role),
    logGroup: idOf(consumer.logGroup),
    ...(machine && { machine: idOf(machine) }),
    ...(opts.kmsInvalidQueue && { queueKey: idOf(invalid.encryptionMasterKey!) }),
  };
  return {
    template,
    json,
    ids,
    fn: json.Resources[ids.function],
    mapping: json.Resources[onlyResource(template, 'AWS::Lambda::EventSourceMapping')],
  };
}

describe('StreamConsumer (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it(
    'reads the stream from TRIM_HORIZON with partial batch failures, bisection and the failure queue as ' +
      'on-failure destination',
    () => {
      expect(t.mapping.Properties).toEqual({
        EventSourceArn: arnOf(t.ids.stream),
        FunctionName: refOf(t.ids.function),
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 1000,
        MaximumBatchingWindowInSeconds: 5,
        ParallelizationFactor: 1,
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 3600,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        TumblingWindowInSeconds: 60,
        DestinationConfig: { OnFailure: { Destination: arnOf(t.ids.failure) } },
      });
    },
  );

  it('aggregates per 60-second tumbling window by default; another length or 0 (off) on request', () => {
    const windowOf = (tumblingWindowSeconds: number) =>
      synth({ consumer: { tumblingWindowSeconds } }).mapping.Properties;
    expect(windowOf(120).TumblingWindowInSeconds).toBe(120);
    expect(windowOf(0)).not.toHaveProperty('TumblingWindowInSeconds');
    expect(() => windowOf(901)).toThrow(/900/);
  });

  it(
    "writes quiet keys every other window by default (the carry switch and the stream for a new shard's " +
      'parents in the environment); off on request or without tumbling windows',
    () => {
      const env = (consumer: Extra['consumer']) =>
        (consumer ? synth({ consumer }) : t).fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(env(undefined)[CONSUMER_ENV.carryQuietKeys]).toBe('true');
      expect(env(undefined)[CONSUMER_ENV.streamArn]).toEqual(arnOf(t.ids.stream));
      for (const off of [{ carryQuietKeys: false }, { tumblingWindowSeconds: 0 }]) {
        expect(env(off)).not.toHaveProperty(CONSUMER_ENV.carryQuietKeys);
        expect(env(off)).not.toHaveProperty(CONSUMER_ENV.streamArn);
      }
    },
  );

  it('follows the consumer, window and log retention props', () => {
    const custom = synth({
      consumer: { batchSize: 100, parallelizationFactor: 4, maxRetryAttempts: 1, memorySizeMb: 1024 },
      window: { windowMinutes: 15, slideMinutes: 5, allowedLatenessMs: 1000, dedupeIds: 8 },
      maxStreamChangeWindowHours: 6,
      logRetentionDays: 7,
    });
    // Unset consumer fields keep their defaults.
    expect(custom.mapping.Properties).toMatchObject({
      BatchSize: 100,
      ParallelizationFactor: 4,
      MaximumRetryAttempts: 1,
      MaximumBatchingWindowInSeconds: 5,
    });
    expect(custom.fn.Properties).toMatchObject({ MemorySize: 1024, Timeout: 60 });
    expect(custom.fn.Properties.Environment.Variables).toMatchObject({
      [CONSUMER_ENV.windowMinutes]: '15',
      [CONSUMER_ENV.slideMinutes]: '5',
      [CONSUMER_ENV.allowedLatenessMs]: '1000',
      [CONSUMER_ENV.dedupeIds]: '8',
      [CONSUMER_ENV.maxStreamChangeWindowHours]: '6',
    });
    expect(custom.json.Resources[custom.ids.logGroup].Properties.RetentionInDays).toBe(7);
  });

  it(
    'grants exactly: item access on the table, send to both queues, publish via SNS, read the stream, its logs ' +
      'and X-Ray',
    () => {
      const { ids } = t;
      const on = (actions: string[], resource: unknown) => actions.map((a) => `${a} ${JSON.stringify(resource)}`);
      expect(grants(roleStatements(t.template, ids.role))).toEqual(
        [
          ...on(
            [
              'dynamodb:GetItem',
              'dynamodb:BatchGetItem',
              'dynamodb:Query',
              'dynamodb:PutItem',
              'dynamodb:UpdateItem',
              'dynamodb:BatchWriteItem',
            ],
            arnOf(ids.table),
          ),
          ...on(['sqs:SendMessage'], arnOf(ids.invalid)),
          // The event source mapping's on-failure destination is written with the function's role.
          ...on(['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], arnOf(ids.failure)),
          ...on(['sns:Publish'], refOf(ids.topic)),
          ...on(['kms:GenerateDataKey', 'kms:Decrypt'], arnOf(ids.key)),
          ...on(
            [
              'kinesis:DescribeStreamSummary',
              'kinesis:GetRecords',
              'kinesis:GetShardIterator',
              'kinesis:ListShards',
              'kinesis:SubscribeToShard',
              'kinesis:DescribeStream',
              'kinesis:ListStreams',
              'kinesis:DescribeStreamConsumer',
            ],
            arnOf(ids.stream),
          ),
          ...on(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(ids.logGroup)),
          'xray:PutTelemetryRecords "*"',
          'xray:PutTraceSegments "*"',
        ].sort(),
      );
    },
  );

  it('sets no mitigation environment and grants no states:StartExecution without a mitigation workflow', () => {
    const vars = t.fn.Properties.Environment.Variables;
    expect(vars[CONSUMER_ENV.mitigationStateMachineArn]).toBeUndefined();
    expect(vars[CONSUMER_ENV.mitigationTimings]).toBeUndefined();
    expect(JSON.stringify(roleStatements(t.template, t.ids.role))).not.toMatch(/states:/);
  });

  it(
    'with a mitigation workflow, may start executions of ' + 'that state machine only and passes its ARN and timings',
    () => {
      const m = synth({}, { mitigation: true });
      const vars = m.fn.Properties.Environment.Variables;
      expect(vars[CONSUMER_ENV.mitigationStateMachineArn]).toEqual(refOf(m.ids.machine!));
      expect(JSON.parse(vars[CONSUMER_ENV.mitigationTimings])).toEqual({
        observationSeconds: 60,
        finalCheckSeconds: 120,
        rollbackIntervalSeconds: 30,
      });
      expect(grants(roleStatements(m.template, m.ids.role)).filter((g) => g.startsWith('states:'))).toEqual([
        `states:StartExecution ${JSON.stringify(refOf(m.ids.machine!))}`,
      ]);
    },
  );

  it('can encrypt to an invalid-record queue with its own KMS key', () => {
    const k = synth({}, { kmsInvalidQueue: true });
    const queueKey = JSON.stringify(arnOf(k.ids.queueKey!));
    expect(grants(roleStatements(k.template, k.ids.role)).filter((g) => g.endsWith(queueKey))).toEqual([
      `kms:Decrypt ${queueKey}`,
      `kms:GenerateDataKey ${queueKey}`,
    ]);
  });
});
