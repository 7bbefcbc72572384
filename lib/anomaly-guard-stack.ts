import { CfnOutput, CfnResource, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AlertTopic } from './alert-topic.js';
import type { AnomalyGuardConfig } from './config.js';
import { DeadLetterQueues } from './dead-letter-queues.js';
import { HealthAlarms } from './health-alarms.js';
import { IngestStream } from './ingest-stream.js';
import { MitigationWorkflow } from './mitigation-workflow.js';
import { OperationsDashboard } from './operations-dashboard.js';
import { API_FUNCTION_LOGICAL_IDS, OPERATOR_API_STAGE, OperatorApi } from './operator-api.js';
import { RAW_ARCHIVE_LOGICAL_IDS, RawArchive } from './raw-archive.js';
import { Reports, REPORTS_LOGICAL_IDS } from './reports.js';
import { SourcePollers } from './source-pollers.js';
import { StateTable } from './state-table.js';
import { StreamConsumer } from './stream-consumer.js';

/**
 * Logical ids of the resources the local runtime (and operators) look up in the template.
 * Pinned so that refactoring construct ids never silently replaces a stateful resource.
 */
export const LOGICAL_IDS = {
  stream: 'IngestStream',
  stateTable: 'StateTable',
  invalidRecordQueue: 'InvalidRecordQueue',
  consumerFailureQueue: 'ConsumerFailureQueue',
  rollbackFailureQueue: 'RollbackFailureQueue',
  reportFailureQueue: 'ReportFailureQueue',
  sourceFailureQueue: 'SourceFailureQueue',
  alertTopic: 'AlertTopic',
  alertTopicKey: 'AlertTopicKey',
  /** Present when `operations.notify` is `ops-topic` (the default). */
  opsTopic: 'OpsTopic',
  opsTopicKey: 'OpsTopicKey',
  operationsDashboard: 'OperationsDashboard',
  consumerFunction: 'StreamConsumerFunction',
  consumerEventSourceMapping: 'StreamConsumerEventSourceMapping',
  mitigationStateMachine: 'MitigationStateMachine',
  mitigationFunction: 'MitigationStepsFunction',
  /** The operator API's RestApi; its route functions are pinned to API_FUNCTION_LOGICAL_IDS (lib/operator-api.ts). */
  operatorApi: 'OperatorApi',
  /** Root-cause reports (pinned by lib/reports.ts itself: its acknowledgements name the bucket). */
  reportsBucket: REPORTS_LOGICAL_IDS.bucket,
  reportsAccessLogBucket: REPORTS_LOGICAL_IDS.accessLogBucket,
  reportGenerator: REPORTS_LOGICAL_IDS.generator,
  reportOnExecutionEndRule: REPORTS_LOGICAL_IDS.executionEndRule,
  dailyReportRule: REPORTS_LOGICAL_IDS.dailyRule,
  /** The raw archive (pinned by lib/raw-archive.ts itself: its acknowledgements name the bucket). */
  rawArchiveBucket: RAW_ARCHIVE_LOGICAL_IDS.bucket,
  rawArchiveDeliveryStream: RAW_ARCHIVE_LOGICAL_IDS.deliveryStream,
} as const;

/** CfnOutput ids (also the output keys in the deployed stack). */
export const OUTPUT_IDS = {
  streamName: 'StreamName',
  streamArn: 'StreamArn',
  stateTableName: 'StateTableName',
  invalidRecordQueueUrl: 'InvalidRecordQueueUrl',
  consumerFailureQueueUrl: 'ConsumerFailureQueueUrl',
  rollbackFailureQueueUrl: 'RollbackFailureQueueUrl',
  reportFailureQueueUrl: 'ReportFailureQueueUrl',
  sourceFailureQueueUrl: 'SourceFailureQueueUrl',
  alertTopicArn: 'AlertTopicArn',
  /** Where the health alarms go: the ops topic, or the alert topic with `operations.notify: alert-topic`. */
  healthAlarmTopicArn: 'HealthAlarmTopicArn',
  operationsDashboardName: 'OperationsDashboardName',
  consumerFunctionName: 'ConsumerFunctionName',
  mitigationStateMachineArn: 'MitigationStateMachineArn',
  /** Present when `api.enabled` (the default). */
  operatorApiUrl: 'OperatorApiUrl',
  /** `execute-api:Invoke` resource for operators' IAM policies (every method of the stage). */
  operatorApiExecuteArn: 'OperatorApiExecuteArn',
  /** Root-cause reports land under `reports/YYYY/MM/DD/<id>/` here. */
  reportsBucketName: 'ReportsBucketName',
  /** Every record that entered the stream, gzip JSON lines under `raw/YYYY/MM/DD/HH/`. */
  rawArchiveBucketName: 'RawArchiveBucketName',
} as const;

export interface AnomalyGuardStackProps extends StackProps {
  readonly config: AnomalyGuardConfig;
  /** Directory holding `package-lock.json` and `lambdas/`. */
  readonly projectRoot: string;
}

export class AnomalyGuardStack extends Stack {
  readonly ingest: IngestStream;
  readonly state: StateTable;
  readonly deadLetters: DeadLetterQueues;
  readonly alerts: AlertTopic;
  readonly consumer: StreamConsumer;
  readonly mitigation: MitigationWorkflow;
  readonly reports: Reports;
  readonly archive: RawArchive;
  /** One poller per configured third-party source (`sources` in the config). */
  readonly sources: SourcePollers;
  /** Undefined when `api.enabled` is false. */
  readonly operatorApi?: OperatorApi;
  /** The topic health alarms notify: a separate ops topic unless `operations.notify` is `alert-topic`. */
  readonly opsTopic: AlertTopic;
  readonly healthAlarms: HealthAlarms;
  readonly dashboard: OperationsDashboard;

  constructor(scope: Construct, id: string, props: AnomalyGuardStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.ingest = new IngestStream(this, 'Ingest', { ...config.stream, removalPolicy });
    this.state = new StateTable(this, 'State', { removalPolicy });
    this.deadLetters = new DeadLetterQueues(this, 'DeadLetters', { removalPolicy });
    this.alerts = new AlertTopic(this, 'Alerts', { emails: config.alertEmails, removalPolicy });
    this.mitigation = new MitigationWorkflow(this, 'Mitigation', {
      asyncFailureQueue: this.deadLetters.rollbackFailureQueue,
      stateTable: this.state,
      alertTopic: this.alerts,
      projectRoot: props.projectRoot,
      actionTargets: config.mitigation.actionTargets,
      platformMinTenants: config.mitigation.platformMinTenants,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
      ...(config.mitigation.deploymentRegion && { deploymentRegion: config.mitigation.deploymentRegion }),
    });
    // Pinned before the API is built: its cdk-nag acknowledgements name the state machine by logical id.
    pinLogicalId(this.mitigation.stateMachine, LOGICAL_IDS.mitigationStateMachine);
    pinLogicalId(this.mitigation.handler.function, LOGICAL_IDS.mitigationFunction);
    const { observationSeconds, finalCheckSeconds, rollbackIntervalSeconds } = config.mitigation;
    this.consumer = new StreamConsumer(this, 'Consumer', {
      stream: this.ingest.stream,
      stateTable: this.state,
      invalidRecordQueue: this.deadLetters.invalidRecordQueue,
      consumerFailureQueue: this.deadLetters.consumerFailureQueue,
      alertTopic: this.alerts,
      projectRoot: props.projectRoot,
      consumer: config.consumer,
      window: config.window,
      maxStreamChangeWindowHours: config.changes.maxStreamWindowHours,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
      ...(config.mitigation.automatic && { mitigation: { stateMachine: this.mitigation.stateMachine, timings: { observationSeconds, finalCheckSeconds, rollbackIntervalSeconds } } }),
    });
    pinLogicalId(this.deadLetters.reportFailureQueue, LOGICAL_IDS.reportFailureQueue);
    // Before the API: the report route's grants name the reports bucket, pinned inside Reports.
    this.reports = new Reports(this, 'Reports', {
      stateTable: this.state,
      alertTopic: this.alerts,
      stateMachine: this.mitigation.stateMachine,
      failureQueue: this.deadLetters.reportFailureQueue,
      projectRoot: props.projectRoot,
      settings: config.reports,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });
    this.archive = new RawArchive(this, 'RawArchive', {
      stream: this.ingest.stream,
      accessLogBucket: this.reports.accessLogBucket,
      settings: config.archive,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });
    this.sources = new SourcePollers(this, 'Sources', {
      sources: config.sources,
      stream: this.ingest.stream,
      failureQueue: this.deadLetters.sourceFailureQueue,
      projectRoot: props.projectRoot,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });
    const { enabled: apiEnabled, ...apiSettings } = config.api;
    if (apiEnabled) {
      this.operatorApi = new OperatorApi(this, 'OperatorApi', {
        stateTable: this.state,
        stateMachine: this.mitigation.stateMachine,
        mitigationFunction: this.mitigation.handler.function,
        projectRoot: props.projectRoot,
        mitigationTimings: { observationSeconds, finalCheckSeconds, rollbackIntervalSeconds },
        settings: apiSettings,
        reportsBucket: this.reports.bucket,
        logRetentionDays: config.logRetentionDays,
        removalPolicy,
        ...(config.mitigation.deploymentRegion && { deploymentRegion: config.mitigation.deploymentRegion }),
        mitigationPlanning: { platformMinTenants: config.mitigation.platformMinTenants, actionTargets: { unconfiguredTargets: 'flag-table', ...config.mitigation.actionTargets } },
      });
      pinLogicalId(this.operatorApi.api, LOGICAL_IDS.operatorApi);
      for (const [route, handler] of Object.entries(this.operatorApi.handlers)) pinLogicalId(handler.function, API_FUNCTION_LOGICAL_IDS[route as keyof typeof API_FUNCTION_LOGICAL_IDS]);
    }

    const ops = config.operations;
    this.opsTopic = ops.notify === 'alert-topic' ? this.alerts : new AlertTopic(this, 'Ops', { emails: ops.opsEmails, displayName: 'anomaly-guard operations', removalPolicy });
    this.opsTopic.allowAlarmNotifications();
    const api = this.operatorApi && { api: this.operatorApi.api, apiName: this.operatorApi.api.restApiName, stage: OPERATOR_API_STAGE };
    const queues = this.deadLetters.described();
    this.healthAlarms = new HealthAlarms(this, 'Health', {
      topic: this.opsTopic.topic,
      consumer: this.consumer.function,
      deadLetterQueues: queues,
      stateMachine: this.mitigation.stateMachine,
      reportGenerator: this.reports.generator.function,
      pollers: new Map([...this.sources.pollers].map(([name, p]) => [name, p.handler.function])),
      settings: ops,
      ...(api && { api }),
    });
    this.dashboard = new OperationsDashboard(this, 'Operations', {
      consumer: this.consumer.function,
      consumerMemoryMb: config.consumer.memorySizeMb,
      consumerLogGroup: this.consumer.logGroup,
      deadLetterQueues: queues,
      stateMachine: this.mitigation.stateMachine,
      sourceNames: config.sources.map((s) => s.name),
      alarms: this.healthAlarms.alarms,
      ...(api && { api }),
    });
    if (this.opsTopic !== this.alerts) {
      pinLogicalId(this.opsTopic.topic, LOGICAL_IDS.opsTopic);
      pinLogicalId(this.opsTopic.key, LOGICAL_IDS.opsTopicKey);
    }
    pinLogicalId(this.dashboard.dashboard, LOGICAL_IDS.operationsDashboard);

    pinLogicalId(this.ingest.stream, LOGICAL_IDS.stream);
    pinLogicalId(this.state.table, LOGICAL_IDS.stateTable);
    pinLogicalId(this.deadLetters.invalidRecordQueue, LOGICAL_IDS.invalidRecordQueue);
    pinLogicalId(this.deadLetters.consumerFailureQueue, LOGICAL_IDS.consumerFailureQueue);
    pinLogicalId(this.deadLetters.rollbackFailureQueue, LOGICAL_IDS.rollbackFailureQueue);
    pinLogicalId(this.deadLetters.sourceFailureQueue, LOGICAL_IDS.sourceFailureQueue);
    pinLogicalId(this.alerts.topic, LOGICAL_IDS.alertTopic);
    pinLogicalId(this.alerts.key, LOGICAL_IDS.alertTopicKey);
    pinLogicalId(this.consumer.function, LOGICAL_IDS.consumerFunction);
    this.consumer.eventSourceMapping.overrideLogicalId(LOGICAL_IDS.consumerEventSourceMapping);

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output(OUTPUT_IDS.streamName, this.ingest.stream.streamName, 'Kinesis stream producers PutRecords to');
    output(OUTPUT_IDS.streamArn, this.ingest.stream.streamArn, 'Kinesis stream ARN (for producer IAM policies)');
    output(OUTPUT_IDS.stateTableName, this.state.table.tableName, 'DynamoDB table holding per-key window state');
    output(OUTPUT_IDS.invalidRecordQueueUrl, this.deadLetters.invalidRecordQueue.queueUrl, 'Dead-letter queue for invalid records (payload + reason)');
    output(OUTPUT_IDS.consumerFailureQueueUrl, this.deadLetters.consumerFailureQueue.queueUrl, 'On-failure destination of the stream consumer (batch metadata only)');
    output(OUTPUT_IDS.rollbackFailureQueueUrl, this.deadLetters.rollbackFailureQueue.queueUrl, 'Operator rollbacks that failed after retries (the rollback key is in each message)');
    output(OUTPUT_IDS.reportFailureQueueUrl, this.deadLetters.reportFailureQueue.queueUrl, 'Report events that could not be delivered or generated after retries (the triggering event is in each message)');
    output(OUTPUT_IDS.sourceFailureQueueUrl, this.deadLetters.sourceFailureQueue.queueUrl, 'What the source pollers could not fetch, map or put, and failed polls (the reason is in each message)');
    output(OUTPUT_IDS.alertTopicArn, this.alerts.topic.topicArn, 'SNS topic to subscribe on-call to');
    output(OUTPUT_IDS.consumerFunctionName, this.consumer.function.functionName, 'Stream consumer Lambda function');
    output(OUTPUT_IDS.mitigationStateMachineArn, this.mitigation.stateMachine.stateMachineArn, 'Mitigation workflow (Step Functions Standard)');
    output(OUTPUT_IDS.reportsBucketName, this.reports.bucket.bucketName, 'Root-cause reports: reports/YYYY/MM/DD/<id>/report.{json,md,html} and the evidence bundle');
    output(OUTPUT_IDS.rawArchiveBucketName, this.archive.bucket.bucketName, 'Raw archive: every ingested record, gzip JSON lines under raw/YYYY/MM/DD/HH/ (replay --input)');
    output(OUTPUT_IDS.healthAlarmTopicArn, this.opsTopic.topic.topicArn, 'SNS topic the health alarms (ALARM and OK) notify: subscribe the platform on-call');
    output(OUTPUT_IDS.operationsDashboardName, this.dashboard.dashboard.dashboardName, 'CloudWatch dashboard of the pipeline end to end');
    if (this.operatorApi) {
      output(OUTPUT_IDS.operatorApiUrl, this.operatorApi.url, 'Operator API base URL (IAM-signed requests: POST v1/anomaly/score, ...)');
      output(OUTPUT_IDS.operatorApiExecuteArn, this.operatorApi.api.arnForExecuteApi('*', '/*', OPERATOR_API_STAGE), 'Grant operators execute-api:Invoke on this ARN');
    }
  }
}

function pinLogicalId(construct: Construct, logicalId: string): void {
  (construct.node.defaultChild as CfnResource).overrideLogicalId(logicalId);
}
