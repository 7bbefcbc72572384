import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterQueues, type DeadLetterQueuesProps } from '../../../lib/dead-letter-queues.js';
import { arnOf, bareStack, refOf, type Statement } from './helpers.js';

const QUEUES = [
  'InvalidRecordQueue',
  'ConsumerFailureQueue',
  'RollbackFailureQueue',
  'ReportFailureQueue',
  'SourceFailureQueue',
];

function synth(props?: DeadLetterQueuesProps) {
  const stack = bareStack();
  const dlqs = new DeadLetterQueues(stack, 'DeadLetters', props);
  const template = Template.fromStack(stack);
  const queues = template.findResources('AWS::SQS::Queue');
  return { stack, dlqs, template, queues };
}

describe('DeadLetterQueues (bare stack)', () => {
  let defaults: ReturnType<typeof synth>;
  beforeAll(() => {
    defaults = synth();
  });

  it('creates the five queues, each SSE-SQS encrypted, keeping messages 14 days, retained', () => {
    expect(Object.keys(defaults.queues)).toHaveLength(5);
    for (const [id, q] of Object.entries(defaults.queues)) {
      expect(q.Properties, id).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
      expect(q.DeletionPolicy, id).toBe('Retain');
    }
  });

  it('denies every non-TLS request on each queue, and allows nothing in the queue policies', () => {
    const policies = Object.values(defaults.template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(5);
    const covered = policies.map((p) => {
      const statements = p.Properties.PolicyDocument.Statement as Statement[];
      const [queue] = p.Properties.Queues as { Ref: string }[];
      expect(statements).toEqual([
        {
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'sqs:*',
          Resource: arnOf(queue!.Ref),
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ]);
      return queue!.Ref;
    });
    expect(covered.sort()).toEqual(Object.keys(defaults.queues).sort());
  });

  it('describes every queue once, by the name operators see, with its meaning and a first step', () => {
    const described = defaults.dlqs.described();
    expect(described.map((d) => d.name)).toEqual(QUEUES);
    const byProperty = [
      defaults.dlqs.invalidRecordQueue,
      defaults.dlqs.consumerFailureQueue,
      defaults.dlqs.rollbackFailureQueue,
      defaults.dlqs.reportFailureQueue,
      defaults.dlqs.sourceFailureQueue,
    ];
    expect(described.map((d) => d.queue)).toEqual(byProperty);
    expect(new Set(byProperty).size).toBe(5);
    for (const d of described) {
      expect(d.meaning.length, d.name).toBeGreaterThan(20);
      expect(d.firstStep.length, d.name).toBeGreaterThan(20);
      expect(defaults.stack.resolve(d.queue.queueUrl)).toEqual(
        refOf(defaults.stack.getLogicalId(d.queue.node.defaultChild as never)),
      );
    }
  });

  it('follows retentionPeriod and removalPolicy', () => {
    const { queues } = synth({ retentionPeriod: Duration.days(4), removalPolicy: RemovalPolicy.DESTROY });
    for (const [id, q] of Object.entries(queues)) {
      expect(q.Properties.MessageRetentionPeriod, id).toBe(4 * 24 * 3600);
      expect(q.DeletionPolicy, id).toBe('Delete');
    }
  });
});
