import { join } from 'node:path';
import { type CfnResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { Architecture, CfnEventSourceMapping, Runtime, StartingPosition, Tracing } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONSUMER_ENV } from '../lambdas/handlers/consumer-environment.js';
import { DEFAULT_WINDOW_SETTINGS, type WindowSettings } from '../lambdas/core/window-settings.js';
import type { AlertTopic } from './alert-topic.js';
import { DEFAULT_CONFIG, type AnomalyGuardConfig } from './config.js';
import type { StateTable } from './state-table.js';

export interface StreamConsumerProps {
  readonly stream: IStream;
  readonly stateTable: StateTable;
  readonly invalidRecordQueue: IQueue;
  readonly consumerFailureQueue: IQueue;
  readonly alertTopic: AlertTopic;
  /** Directory holding `package-lock.json` and `lambdas/`. */
  readonly projectRoot: string;
  /** Event source mapping and function sizing. @default DEFAULT_CONFIG.consumer */
  readonly consumer?: Partial<AnomalyGuardConfig['consumer']>;
  /** @default DEFAULT_WINDOW_SETTINGS */
  readonly window?: WindowSettings;
  /** Must be a value CloudWatch Logs accepts (validated by resolveConfig). @default 30 */
  readonly logRetentionDays?: number;
  /** Applies to the log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The stream-consumer Lambda, its role and log group, and the Kinesis event source mapping feeding it. */
export class StreamConsumer extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly eventSourceMapping: CfnEventSourceMapping;

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    const consumer = { ...DEFAULT_CONFIG.consumer, ...props.consumer };
    const window = props.window ?? DEFAULT_WINDOW_SETTINGS;

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: (props.logRetentionDays ?? DEFAULT_CONFIG.logRetentionDays) as RetentionDays,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    // Own role instead of AWSLambdaBasicExecutionRole: that managed policy allows writing to any log group.
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(props.projectRoot, 'lambdas/handlers/stream-consumer.ts'),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: consumer.memorySizeMb,
      timeout: Duration.seconds(consumer.timeoutSeconds),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      description: 'anomaly-guard: folds Kinesis record batches into per-key window state and raises alerts',
      environment: {
        [CONSUMER_ENV.stateTable]: props.stateTable.table.tableName,
        [CONSUMER_ENV.invalidRecordQueueUrl]: props.invalidRecordQueue.queueUrl,
        [CONSUMER_ENV.alertTopicArn]: props.alertTopic.topic.topicArn,
        [CONSUMER_ENV.windowMinutes]: String(window.windowMinutes),
        [CONSUMER_ENV.slideMinutes]: String(window.slideMinutes),
        [CONSUMER_ENV.allowedLatenessMs]: String(window.allowedLatenessMs),
        [CONSUMER_ENV.dedupeIds]: String(window.dedupeIds),
        POWERTOOLS_SERVICE_NAME: 'anomaly-guard',
        POWERTOOLS_METRICS_NAMESPACE: 'AnomalyGuard',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        // Bundle the AWS SDK too: the handler runs on exactly the client versions pinned in
        // package-lock.json (the ones the tests ran against), not on whatever the runtime ships.
        bundleAwsSDK: true,
        externalModules: [],
      },
    });

    props.stateTable.grantItemAccess(this.role);
    props.invalidRecordQueue.grant(this.role, 'sqs:SendMessage');
    props.invalidRecordQueue.encryptionMasterKey?.grant(this.role, 'kms:GenerateDataKey', 'kms:Decrypt');
    props.alertTopic.grantPublish(this.role);

    const eventSource = new KinesisEventSource(props.stream, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: consumer.batchSize,
      maxBatchingWindow: Duration.seconds(consumer.maxBatchingWindowSeconds),
      parallelizationFactor: consumer.parallelizationFactor,
      retryAttempts: consumer.maxRetryAttempts,
      maxRecordAge: Duration.seconds(consumer.maxRecordAgeSeconds),
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      onFailure: new SqsDlq(props.consumerFailureQueue),
    });
    this.function.addEventSource(eventSource);
    const mapping = this.function.node.findAll().find((c): c is CfnEventSourceMapping => c instanceof CfnEventSourceMapping);
    if (!mapping) throw new Error('KinesisEventSource did not create an event source mapping');
    this.eventSourceMapping = mapping;

    // Acknowledged on the exact CloudFormation resources, so nothing else inherits the exemption.
    const rolePolicy = this.role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
    Validations.of(rolePolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only xray:PutTraceSegments/PutTelemetryRecords (added by Tracing.ACTIVE) use Resource "*": X-Ray supports no resource-level permissions for these actions.',
    });
    Validations.of(this.function.node.defaultChild as CfnResource).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'nodejs22.x is pinned on purpose: a Lambda-supported LTS runtime the design fixes, and the same handler code must run on the Node 20 local runtime; moving to nodejs24.x is a deliberate, tested change.',
    });
  }
}
