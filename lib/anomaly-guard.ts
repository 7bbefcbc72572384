import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Stream } from 'aws-cdk-lib/aws-kinesis';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import { AlertTopic } from './alert-topic.js';
import { type AnomalyGuardConfig, type AnomalyGuardSettings, resolveConfig } from './config.js';
import { DashboardApi } from './dashboard-api.js';
import { DASHBOARD_SITE_LOGICAL_IDS, DashboardSite } from './dashboard-site.js';
import { DeadLetterQueues } from './dead-letter-queues.js';
import { HealthAlarms } from './health-alarms.js';
import { IngestStream } from './ingest-stream.js';
import { MitigationWorkflow } from './mitigation-workflow.js';
import { OperationsDashboard } from './operations-dashboard.js';
import { API_FUNCTION_LOGICAL_IDS, OPERATOR_API_STAGE, OperatorApi } from './operator-api.js';
import { OperatorSignIn } from './operator-sign-in.js';
import { RAW_ARCHIVE_LOGICAL_IDS, RawArchive } from './raw-archive.js';
import { Reports, REPORTS_LOGICAL_IDS } from './reports.js';
import { SourcePollers } from './source-pollers.js';
import { StateTable } from './state-table.js';
import { StreamConsumer } from './stream-consumer.js';
import { pinLogicalId } from './logical-id.js';

/**
 * Logical ids of the resources the local runtime (and operators) look up in the template.
 * Pinned so that refactoring construct ids never silently replaces a stateful resource; for the
 * same reason a stack holds at most one {@link AnomalyGuard}.
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
  /**
   * The dashboard (with `dashboard.enabled` and `api.enabled`): the Cognito-authorized RestApi over the same route
   * functions, the user pool, its app client and groups, the site bucket, its log bucket and the distribution.
   */
  dashboardApi: 'DashboardApi',
  dashboardUserPool: 'DashboardUserPool',
  dashboardUserPoolClient: 'DashboardUserPoolClient',
  dashboardViewerGroup: 'DashboardViewerGroup',
  dashboardOperatorGroup: 'DashboardOperatorGroup',
  dashboardBucket: DASHBOARD_SITE_LOGICAL_IDS.bucket,
  dashboardLogBucket: DASHBOARD_SITE_LOGICAL_IDS.logBucket,
  dashboardDistribution: DASHBOARD_SITE_LOGICAL_IDS.distribution,
} as const;

/**
 * The settings of an {@link AnomalyGuard}: the same keys, defaults and checks as the `anomalyGuard`
 * object of this repository's `cdk.json` (lib/config.ts holds the schema). Every key is optional;
 * a value AWS would reject throws at construction, naming the key.
 *
 * @example
 * new AnomalyGuard(this, 'AnomalyGuard', {
 *   stream: { mode: 'on-demand' },
 *   mitigation: { automatic: false }, // alert only
 *   operations: { notify: 'alert-topic' },
 * });
 */
export interface AnomalyGuardProps extends AnomalyGuardSettings {}

/** Stacks that already hold an AnomalyGuard (its logical ids are fixed, so a second one would collide). */
const stacksWithAGuard = new WeakSet<Stack>();

/**
 * Real-time usage/cost anomaly detection with policy-guarded mitigation, as one construct to add to
 * a stack you already have: the Kinesis ingest stream and its Firehose raw archive, the stream
 * consumer Lambda and DynamoDB state table, the encrypted SNS alert topic, the Step Functions
 * mitigation workflow, root-cause reports in S3, third-party source pollers, the IAM-signed operator
 * API, the operator dashboard (CloudFront, S3, Cognito sign-in with viewer and operator roles, and a
 * Cognito-authorized API over the same route functions; `dashboard.enabled`), health alarms and an
 * operations dashboard (docs/architecture.md).
 *
 * The resources keep fixed logical ids ({@link LOGICAL_IDS}), so a stack holds at most one AnomalyGuard.
 * cdk-nag (AwsSolutions) findings are acknowledged on the exact resources they concern.
 *
 * @example
 * const guard = new AnomalyGuard(this, 'AnomalyGuard', { removalPolicy: 'destroy' });
 * guard.alertTopic.addSubscription(new EmailSubscription('oncall@example.com'));
 * guard.stream.grantWrite(producerRole);
 */
export class AnomalyGuard extends Construct {
  /** The resolved settings: validated, every default filled in. */
  readonly config: AnomalyGuardConfig;

  /** Producers PutRecords here (one JSON envelope per record, docs/architecture.md contract 1). */
  readonly stream: Stream;
  /** Per-key window state, anomaly records, change records, whitelists, the action ledger and the flag table. */
  readonly table: Table;
  /**
   * Anomaly alerts and mitigation outcomes (KMS-encrypted): subscribe on-call here, with filter policies on `severity`,
   * `class`, `tenant`, `signal`, `decision`.
   */
  readonly alertTopic: Topic;
  /** Where the health alarms go: the ops topic, or `alertTopic` with `operations.notify: 'alert-topic'`. */
  readonly healthAlarmTopic: Topic;
  /** The mitigation workflow (Step Functions Standard). */
  readonly stateMachine: StateMachine;
  /** The operator API (IAM-signed); undefined when `api.enabled` is false. */
  readonly api?: RestApi;
  /** Root-cause reports under `reports/YYYY/MM/DD/<id>/`. */
  readonly reportsBucket: Bucket;
  /** Every ingested record, gzip JSON lines under `raw/YYYY/MM/DD/HH/`. */
  readonly rawArchiveBucket: Bucket;
  /** The stream consumer Lambda. */
  readonly consumerFunction: NodejsFunction;
  /** The CloudWatch dashboard of the pipeline end to end. */
  readonly dashboard: Dashboard;

  /** The building blocks, for finer wiring (grants, alarms, extra subscriptions). */
  readonly ingest: IngestStream;
  readonly state: StateTable;
  readonly deadLetters: DeadLetterQueues;
  readonly alerts: AlertTopic;
  readonly consumer: StreamConsumer;
  readonly mitigation: MitigationWorkflow;
  readonly reports: Reports;
  readonly archive: RawArchive;
  /** One poller per configured third-party source (`sources`). */
  readonly sources: SourcePollers;
  /** Undefined when `api.enabled` is false. */
  readonly operatorApi?: OperatorApi;
  /** The topic health alarms notify: a separate ops topic unless `operations.notify` is `alert-topic`. */
  readonly opsTopic: AlertTopic;
  readonly healthAlarms: HealthAlarms;
  readonly operationsDashboard: OperationsDashboard;
  /** Dashboard sign-in (Cognito); undefined unless `dashboard.enabled` and `api.enabled`. */
  readonly signIn?: OperatorSignIn;
  /** The dashboard's Cognito-authorized API over the route functions; undefined like `signIn`. */
  readonly dashboardApi?: DashboardApi;
  /** The dashboard page behind CloudFront; undefined like `signIn`. */
  readonly dashboardSite?: DashboardSite;

  constructor(scope: Construct, id: string, props: AnomalyGuardProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    if (stacksWithAGuard.has(stack))
      throw new Error(
        `stack ${stack.node.path} already holds an AnomalyGuard: its resources have fixed logical ids ` +
          `(LOGICAL_IDS), so use one per stack`,
      );
    stacksWithAGuard.add(stack);
    const config = resolveConfig(props);
    this.config = config;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.ingest = new IngestStream(this, 'Ingest', { ...config.stream, removalPolicy });
    this.state = new StateTable(this, 'State', { removalPolicy });
    this.deadLetters = new DeadLetterQueues(this, 'DeadLetters', { removalPolicy });
    this.alerts = new AlertTopic(this, 'Alerts', { emails: config.alertEmails, removalPolicy });
    this.mitigation = new MitigationWorkflow(this, 'Mitigation', {
      asyncFailureQueue: this.deadLetters.rollbackFailureQueue,
      stateTable: this.state,
      alertTopic: this.alerts,
      actionTargets: config.mitigation.actionTargets,
      platformMinTenants: config.mitigation.platformMinTenants,
      stepApproval: config.mitigation.stepApproval,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
      ...(config.mitigation.deploymentRegion && { deploymentRegion: config.mitigation.deploymentRegion }),
    });
    // Pinned before the API is built: its cdk-nag acknowledgements name the state machine by logical id.
    pinLogicalId(this.mitigation.stateMachine, LOGICAL_IDS.mitigationStateMachine);
    pinLogicalId(this.mitigation.handler.function, LOGICAL_IDS.mitigationFunction);
    const { observationSeconds, finalCheckSeconds, rollbackIntervalSeconds, approvalTimeoutSeconds } =
      config.mitigation;
    const timings = { observationSeconds, finalCheckSeconds, rollbackIntervalSeconds, approvalTimeoutSeconds };
    this.consumer = new StreamConsumer(this, 'Consumer', {
      stream: this.ingest.stream,
      stateTable: this.state,
      invalidRecordQueue: this.deadLetters.invalidRecordQueue,
      consumerFailureQueue: this.deadLetters.consumerFailureQueue,
      alertTopic: this.alerts,
      consumer: config.consumer,
      window: config.window,
      maxStreamChangeWindowHours: config.changes.maxStreamWindowHours,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
      ...(config.mitigation.automatic && {
        mitigation: {
          stateMachine: this.mitigation.stateMachine,
          timings,
        },
      }),
    });
    pinLogicalId(this.deadLetters.reportFailureQueue, LOGICAL_IDS.reportFailureQueue);
    // Before the API: the report route's grants name the reports bucket, pinned inside Reports.
    this.reports = new Reports(this, 'Reports', {
      stateTable: this.state,
      alertTopic: this.alerts,
      stateMachine: this.mitigation.stateMachine,
      failureQueue: this.deadLetters.reportFailureQueue,
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
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });
    const { enabled: apiEnabled, ...apiSettings } = config.api;
    if (apiEnabled) {
      this.operatorApi = new OperatorApi(this, 'OperatorApi', {
        stateTable: this.state,
        stateMachine: this.mitigation.stateMachine,
        mitigationFunction: this.mitigation.handler.function,
        mitigationTimings: timings,
        settings: apiSettings,
        reportsBucket: this.reports.bucket,
        logRetentionDays: config.logRetentionDays,
        removalPolicy,
        ...(config.mitigation.deploymentRegion && { deploymentRegion: config.mitigation.deploymentRegion }),
        mitigationPlanning: {
          platformMinTenants: config.mitigation.platformMinTenants,
          actionTargets: { unconfiguredTargets: 'flag-table', ...config.mitigation.actionTargets },
          stepApproval: config.mitigation.stepApproval,
        },
      });
      pinLogicalId(this.operatorApi.api, LOGICAL_IDS.operatorApi);
      for (const [route, handler] of Object.entries(this.operatorApi.handlers))
        pinLogicalId(handler.function, API_FUNCTION_LOGICAL_IDS[route as keyof typeof API_FUNCTION_LOGICAL_IDS]);
    }
    const { enabled: dashboardEnabled, ...dashboard } = config.dashboard;
    if (dashboardEnabled && this.operatorApi) {
      this.signIn = new OperatorSignIn(this, 'SignIn', { removalPolicy, threatProtection: dashboard.threatProtection });
      pinLogicalId(this.signIn.userPool, LOGICAL_IDS.dashboardUserPool);
      pinLogicalId(this.signIn.client, LOGICAL_IDS.dashboardUserPoolClient);
      this.signIn.groups.viewer.overrideLogicalId(LOGICAL_IDS.dashboardViewerGroup);
      this.signIn.groups.operator.overrideLogicalId(LOGICAL_IDS.dashboardOperatorGroup);
      this.dashboardApi = new DashboardApi(this, 'DashboardApi', {
        functions: this.operatorApi.routeFunctions,
        userPool: this.signIn.userPool,
        settings: apiSettings,
        ...(this.operatorApi.accountLogging && { accountLogging: this.operatorApi.accountLogging }),
        logRetentionDays: config.logRetentionDays,
        removalPolicy,
      });
      pinLogicalId(this.dashboardApi.api, LOGICAL_IDS.dashboardApi);
      this.dashboardSite = new DashboardSite(this, 'DashboardSite', {
        api: this.dashboardApi.api,
        auth: { userPoolId: this.signIn.userPool.userPoolId, clientId: this.signIn.client.userPoolClientId },
        priceClass: PriceClass[PRICE_CLASSES[dashboard.priceClass]],
        ...(dashboard.domainName &&
          dashboard.certificateArn && {
            customDomain: { domainName: dashboard.domainName, certificateArn: dashboard.certificateArn },
          }),
        accessLogRetentionDays: dashboard.accessLogRetentionDays,
        logRetentionDays: config.logRetentionDays,
        removalPolicy,
      });
    }

    const ops = config.operations;
    this.opsTopic =
      ops.notify === 'alert-topic'
        ? this.alerts
        : new AlertTopic(this, 'Ops', {
            emails: ops.opsEmails,
            displayName: 'anomaly-guard operations',
            removalPolicy,
          });
    this.opsTopic.allowAlarmNotifications();
    const api = this.operatorApi && {
      api: this.operatorApi.api,
      apiName: this.operatorApi.api.restApiName,
      stage: OPERATOR_API_STAGE,
    };
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
      ...(this.dashboardApi && {
        dashboardApi: { apiName: this.dashboardApi.api.restApiName, stage: OPERATOR_API_STAGE },
      }),
    });
    this.operationsDashboard = new OperationsDashboard(this, 'Operations', {
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
    pinLogicalId(this.operationsDashboard.dashboard, LOGICAL_IDS.operationsDashboard);

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

    this.stream = this.ingest.stream;
    this.table = this.state.table;
    this.alertTopic = this.alerts.topic;
    this.healthAlarmTopic = this.opsTopic.topic;
    this.stateMachine = this.mitigation.stateMachine;
    if (this.operatorApi) this.api = this.operatorApi.api;
    this.reportsBucket = this.reports.bucket;
    this.rawArchiveBucket = this.archive.bucket;
    this.consumerFunction = this.consumer.function;
    this.dashboard = this.operationsDashboard.dashboard;
  }
}

const PRICE_CLASSES = {
  PriceClass_100: 'PRICE_CLASS_100',
  PriceClass_200: 'PRICE_CLASS_200',
  PriceClass_All: 'PRICE_CLASS_ALL',
} as const;
