import { type CfnResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface DeadLetterQueuesProps {
  /** @default Duration.days(14), the SQS maximum, so operators have two weeks to redrive. */
  readonly retentionPeriod?: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where records that could not be processed end up.
 * - `invalidRecordQueue`: the consumer sends each poison record here itself, with its payload and the reason.
 * - `consumerFailureQueue`: the event source mapping's on-failure destination; it only ever receives
 *   batch metadata (shard, sequence range), never record data.
 * - `rollbackFailureQueue`: the mitigation task Lambda's on-failure destination for operator rollbacks the
 *   API invoked asynchronously; each message holds the rollback key, to roll back by hand or re-request.
 */
export class DeadLetterQueues extends Construct {
  readonly invalidRecordQueue: Queue;
  readonly consumerFailureQueue: Queue;
  readonly rollbackFailureQueue: Queue;

  constructor(scope: Construct, id: string, props: DeadLetterQueuesProps = {}) {
    super(scope, id);
    this.invalidRecordQueue = this.deadLetterQueue('InvalidRecordQueue', props);
    this.consumerFailureQueue = this.deadLetterQueue('ConsumerFailureQueue', props);
    this.rollbackFailureQueue = this.deadLetterQueue('RollbackFailureQueue', props);
  }

  private deadLetterQueue(id: string, props: DeadLetterQueuesProps): Queue {
    const queue = new Queue(this, id, {
      // SSE-SQS: encrypted at rest without KMS grants for the Lambda service writing on-failure records
      // and without KMS request charges; no cross-account reader needs key-policy control here.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(queue.node.defaultChild as CfnResource).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter destination (terminal sink for poison records / failed batch metadata); a DLQ of a DLQ would only move the same messages.',
    });
    return queue;
  }
}
