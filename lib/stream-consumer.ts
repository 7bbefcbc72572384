import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { CfnEventSourceMapping, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MitigationTimings } from '../lambdas/core/ports/mitigation-starter.js';
import { CONSUMER_ENV } from '../lambdas/handlers/consumer-environment.js';
import { DEFAULT_WINDOW_SETTINGS, type WindowSettings } from '../lambdas/core/window-settings.js';
import type { AlertTopic } from './alert-topic.js';
import { DEFAULT_CONFIG, type AnomalyGuardConfig } from './config.js';
import { HandlerFunction } from './handler-function.js';
import type { StateTable } from './state-table.js';

/**
 * Props of {@link StreamConsumer}.
 * @example
 * new StreamConsumer(this, 'Consumer', {
 *   stream: ingest.stream,
 *   stateTable: state,
 *   invalidRecordQueue: deadLetters.invalidRecordQueue,
 *   consumerFailureQueue: deadLetters.consumerFailureQueue,
 *   alertTopic: alerts,
 *   consumer: { batchSize: 500 },
 * });
 */
export interface StreamConsumerProps {
  readonly stream: IStream;
  readonly stateTable: StateTable;
  readonly invalidRecordQueue: IQueue;
  readonly consumerFailureQueue: IQueue;
  readonly alertTopic: AlertTopic;
  /** Event source mapping and function sizing. @default DEFAULT_CONFIG.consumer */
  readonly consumer?: Partial<AnomalyGuardConfig['consumer']>;
  /** @default DEFAULT_WINDOW_SETTINGS */
  readonly window?: WindowSettings;
  /** Longest change window a producer may put on the stream. @default DEFAULT_CONFIG.changes.maxStreamWindowHours */
  readonly maxStreamChangeWindowHours?: number;
  /** Must be a value CloudWatch Logs accepts (validated by resolveConfig). @default 30 */
  readonly logRetentionDays?: number;
  /** Applies to the log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** The mitigation workflow the consumer starts for `mitigate` decisions, with its timings. */
  readonly mitigation?: {
    stateMachine: IStateMachine;
    timings: MitigationTimings;
  };
}

/** The stream-consumer Lambda, its role and log group, and the Kinesis event source mapping feeding it. */
export class StreamConsumer extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly eventSourceMapping: CfnEventSourceMapping;
  readonly handler: HandlerFunction;

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    const consumer = { ...DEFAULT_CONFIG.consumer, ...props.consumer };
    const window = props.window ?? DEFAULT_WINDOW_SETTINGS;

    const fn = new HandlerFunction(this, 'Handler', {
      entry: 'lambdas/handlers/stream-consumer.ts',
      description: 'anomaly-guard: folds Kinesis record batches into per-key window state and raises alerts',
      memorySizeMb: consumer.memorySizeMb,
      timeoutSeconds: consumer.timeoutSeconds,
      logRetentionDays: props.logRetentionDays ?? DEFAULT_CONFIG.logRetentionDays,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      environment: {
        [CONSUMER_ENV.stateTable]: props.stateTable.table.tableName,
        [CONSUMER_ENV.invalidRecordQueueUrl]: props.invalidRecordQueue.queueUrl,
        [CONSUMER_ENV.alertTopicArn]: props.alertTopic.topic.topicArn,
        [CONSUMER_ENV.windowMinutes]: String(window.windowMinutes),
        [CONSUMER_ENV.slideMinutes]: String(window.slideMinutes),
        [CONSUMER_ENV.allowedLatenessMs]: String(window.allowedLatenessMs),
        [CONSUMER_ENV.dedupeIds]: String(window.dedupeIds),
        [CONSUMER_ENV.maxStreamChangeWindowHours]: String(
          props.maxStreamChangeWindowHours ?? DEFAULT_CONFIG.changes.maxStreamWindowHours,
        ),
        ...(consumer.tumblingWindowSeconds > 0 &&
          consumer.carryQuietKeys && {
            [CONSUMER_ENV.carryQuietKeys]: 'true',
            [CONSUMER_ENV.streamArn]: props.stream.streamArn,
          }),
        ...(props.mitigation && {
          [CONSUMER_ENV.mitigationStateMachineArn]: props.mitigation.stateMachine.stateMachineArn,
          [CONSUMER_ENV.mitigationTimings]: JSON.stringify(props.mitigation.timings),
        }),
      },
    });
    this.function = fn.function;
    this.role = fn.role;
    this.logGroup = fn.logGroup;
    this.handler = fn;

    props.stateTable.grantItemAccess(this.role);
    props.invalidRecordQueue.grant(this.role, 'sqs:SendMessage');
    props.invalidRecordQueue.encryptionMasterKey?.grant(this.role, 'kms:GenerateDataKey', 'kms:Decrypt');
    props.alertTopic.grantPublish(this.role);
    props.mitigation?.stateMachine.grantStartExecution(this.role);

    const eventSource = new KinesisEventSource(props.stream, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: consumer.batchSize,
      maxBatchingWindow: Duration.seconds(consumer.maxBatchingWindowSeconds),
      parallelizationFactor: consumer.parallelizationFactor,
      retryAttempts: consumer.maxRetryAttempts,
      maxRecordAge: Duration.seconds(consumer.maxRecordAgeSeconds),
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      // Each shard's records of a window aggregate in the state Lambda carries; each active key is written once
      // per window (lambdas/usecases/windowed-batch.ts). 0: every batch is folded and written on its own.
      ...(consumer.tumblingWindowSeconds > 0 && {
        tumblingWindow: Duration.seconds(consumer.tumblingWindowSeconds),
      }),
      onFailure: new SqsDlq(props.consumerFailureQueue),
    });
    this.function.addEventSource(eventSource);
    const mapping = this.function.node
      .findAll()
      .find((c): c is CfnEventSourceMapping => c instanceof CfnEventSourceMapping);
    if (!mapping) throw new Error('KinesisEventSource did not create an event source mapping');
    this.eventSourceMapping = mapping;

    // Acknowledged on the exact CloudFormation resources, so nothing else inherits the exemption.
    fn.acknowledgeXRayWildcard();
  }
}
