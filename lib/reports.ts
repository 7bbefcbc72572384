import { ArnFormat, type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { REPORT_ENV, REPORT_GENERATOR_ENTRY } from '../lambdas/handlers/report-environment.js';
import type { AlertTopic } from './alert-topic.js';
import { DEFAULT_CONFIG, type ReportsConfig } from './config.js';
import { HandlerFunction } from './handler-function.js';
import { nagArn } from './nag.js';
import { accessLogBucket, PRIVATE_BUCKET } from './private-bucket.js';
import type { StateTable } from './state-table.js';
import { pinLogicalId } from './logical-id.js';

/**
 * Logical ids of the report resources, pinned by this construct itself: its cdk-nag acknowledgements
 * name the bucket by logical id, so the id must be final before the grants are acknowledged.
 * (The stack lists them in its LOGICAL_IDS.)
 */
export const REPORTS_LOGICAL_IDS = {
  bucket: 'ReportsBucket',
  accessLogBucket: 'ReportsAccessLogBucket',
  generator: 'ReportGeneratorFunction',
  executionEndRule: 'ReportOnExecutionEndRule',
  dailyRule: 'DailyReportRule',
} as const;

/** Every report object lives under `reports/YYYY/MM/DD/<id>/` (docs/architecture.md contract 3). */
export const REPORTS_PREFIX = 'reports/';
/** The one object pattern report readers and the writer are granted (and the `s3:prefix` they may list). */
export const REPORT_OBJECTS = `${REPORTS_PREFIX}*`;
/** Where the reports bucket's server access logs go in the access-log bucket. */
export const REPORTS_ACCESS_LOG_PREFIX = 'reports-bucket/';

/** Execution statuses that end a mitigation execution: each one gets a report. */
export const REPORTED_EXECUTION_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/** The generator's state table reads: anomalies, action ledger, change records, episode traces. No writes, no scans. */
export const REPORT_TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;

export const REPORT_OBJECTS_ACK_REASON =
  'Report object keys are reports/YYYY/MM/DD/<report id>/<file>, chosen per report at generation time; the ' +
  'wildcard covers only the reports/ prefix of the one reports bucket.';

/** EventBridge delivery of a report event: retries of the Lambda Invoke call, then the dead-letter queue. */
export const REPORT_RULE_DELIVERY = { retryAttempts: 4, maxEventAgeHours: 2 } as const;
/** Lambda's own retries of a failed (thrown) report generation, then the on-failure destination. */
export const REPORT_ASYNC_RETRY_ATTEMPTS = 2;

/**
 * Props of {@link Reports}.
 * @example
 * const reports = new Reports(this, 'Reports', {
 *   stateTable: state,
 *   alertTopic: alerts,
 *   stateMachine: mitigation.stateMachine,
 *   failureQueue: deadLetters.reportFailureQueue,
 *   settings: { dailyReportHourUtc: 6 },
 * });
 */
export interface ReportsProps {
  /** Read only: anomalies, action ledger, change records, episode traces. */
  readonly stateTable: StateTable;
  /** On-call gets each report's link here. */
  readonly alertTopic: AlertTopic;
  /** The mitigation workflow: its ended executions trigger a report; the generator may describe them. */
  readonly stateMachine: StateMachine;
  /** Report events EventBridge could not deliver and generations that failed after their retries. */
  readonly failureQueue: IQueue;
  /** @default DEFAULT_CONFIG.reports */
  readonly settings?: Partial<ReportsConfig>;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /**
   * Applies to both buckets and the log group. With DESTROY the buckets are emptied on stack deletion
   * (CDK's auto-delete-objects custom resource), since CloudFormation cannot delete a non-empty bucket.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Root-cause reports (docs/architecture.md contract 3, seed 004 §E, §G, §I): the encrypted reports bucket with its
 * access-log bucket, and the report generator Lambda, run by an EventBridge rule when a mitigation
 * execution ends and by a daily schedule. The generator reads the state table, writes under
 * `reports/` only, and publishes each report's link to the alert topic.
 */
export class Reports extends Construct {
  readonly bucket: Bucket;
  readonly accessLogBucket: Bucket;
  readonly generator: HandlerFunction;
  readonly executionEndRule: Rule;
  readonly dailyRule: Rule;

  constructor(scope: Construct, id: string, props: ReportsProps) {
    super(scope, id);
    // Server access logs are delivered by the S3 logging service under a bucket policy (with
    // aws:SourceArn/SourceAccount conditions) instead of the LogDelivery ACL, so the log bucket can
    // keep ACLs disabled (BucketOwnerEnforced). Set here so the construct does not depend on cdk.json.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const settings = { ...DEFAULT_CONFIG.reports, ...props.settings };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const destroy = removalPolicy === RemovalPolicy.DESTROY;

    // SSE-S3 on both buckets. S3 server access logs can only be delivered to an SSE-S3 bucket. For the
    // reports, SSE-KMS would add a key policy and KMS charges per request, and every presigned download
    // link would also need kms:Decrypt for its signer; the reports are derived summaries of data that is
    // already in the account (state table, raw archive) and are never shared across accounts.
    // Versioning is off on both: the only writer is the generator, which rewrites an execution's report
    // under the same keys with the same bytes (idempotent), so old versions would only be duplicates, and
    // nothing deletes reports but the lifecycle rule.
    this.accessLogBucket = accessLogBucket(this, 'AccessLogBucket', {
      logsOf: 'the reports bucket',
      retentionDays: settings.accessLogRetentionDays,
      removalPolicy,
    });
    pinLogicalId(this.accessLogBucket, REPORTS_LOGICAL_IDS.accessLogBucket);

    this.bucket = new Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: REPORTS_ACCESS_LOG_PREFIX,
      lifecycleRules: [
        // Report objects are a few KB to a few hundred KB: below the 128 KB minimum billed size of the
        // infrequent-access classes, so they stay in Standard until they expire.
        { id: 'ExpireReports', prefix: REPORTS_PREFIX, expiration: Duration.days(settings.retentionDays) },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy,
      autoDeleteObjects: destroy,
    });
    pinLogicalId(this.bucket, REPORTS_LOGICAL_IDS.bucket);

    this.generator = new HandlerFunction(this, 'Generator', {
      entry: REPORT_GENERATOR_ENTRY,
      description:
        'anomaly-guard: root-cause report per ended mitigation execution, and the daily digest (json, md, html, ' +
        'evidence bundle to S3)',
      memorySizeMb: settings.memorySizeMb,
      timeoutSeconds: settings.timeoutSeconds,
      logRetentionDays: props.logRetentionDays ?? DEFAULT_CONFIG.logRetentionDays,
      removalPolicy,
      environment: {
        [REPORT_ENV.stateTable]: props.stateTable.table.tableName,
        [REPORT_ENV.reportsBucket]: this.bucket.bucketName,
        [REPORT_ENV.alertTopicArn]: props.alertTopic.topic.topicArn,
      },
    });
    pinLogicalId(this.generator.function, REPORTS_LOGICAL_IDS.generator);
    const fn = this.generator.function;
    // A generation that throws is retried by Lambda, then lands with its event in the failure queue.
    fn.configureAsyncInvoke({
      retryAttempts: REPORT_ASYNC_RETRY_ATTEMPTS,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(props.failureQueue),
    });
    this.grantGenerator(props);

    const target = () =>
      new LambdaFunction(fn, {
        retryAttempts: REPORT_RULE_DELIVERY.retryAttempts,
        maxEventAge: Duration.hours(REPORT_RULE_DELIVERY.maxEventAgeHours),
        deadLetterQueue: props.failureQueue,
      });
    this.executionEndRule = new Rule(this, 'ExecutionEndRule', {
      description: 'anomaly-guard: a root-cause report when a mitigation execution ends',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [props.stateMachine.stateMachineArn], status: [...REPORTED_EXECUTION_STATUSES] },
      },
      targets: [target()],
    });
    pinLogicalId(this.executionEndRule, REPORTS_LOGICAL_IDS.executionEndRule);
    // The default scheduled event (detail-type "Scheduled Event", `time` = the scheduled time): the
    // generator reports the UTC day before that time.
    this.dailyRule = new Rule(this, 'DailyRule', {
      description: 'anomaly-guard: daily digest report of the previous UTC day',
      schedule: Schedule.cron({ minute: '15', hour: String(settings.dailyReportHourUtc) }),
      targets: [target()],
    });
    pinLogicalId(this.dailyRule, REPORTS_LOGICAL_IDS.dailyRule);
  }

  /** Exactly what the generator calls, on exactly its resources. */
  private grantGenerator(props: ReportsProps): void {
    const stack = Stack.of(this);
    const role = this.generator.role;
    // Reads: the anomaly, its action ledger, change records and episode trace (GetItem, Query); no writes.
    Grant.addToPrincipal({
      grantee: role,
      actions: [...REPORT_TABLE_READ_ACTIONS],
      resourceArns: [props.stateTable.table.tableArn],
    });
    // Writes report objects; the daily digest also lists the day's reports and reads their report.json.
    Grant.addToPrincipal({
      grantee: role,
      actions: ['s3:PutObject', 's3:GetObject'],
      resourceArns: [this.bucket.arnForObjects(REPORT_OBJECTS)],
    });
    grantListReports(role, this.bucket);
    // An execution's input/output are left out of the status-change event when they are too large.
    const executions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    Grant.addToPrincipal({ grantee: role, actions: ['states:DescribeExecution'], resourceArns: [executions] });
    props.alertTopic.grantPublish(role);

    this.generator.acknowledgeXRayWildcard();
    const policy = role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
    Validations.of(policy).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(stack, executions)}]`,
        reason:
          'states:DescribeExecution on execution ARNs, whose names are chosen per episode at start time; the ' +
          'wildcard covers only executions of the one mitigation state machine.',
      },
      { id: `AwsSolutions-IAM5[Resource::${reportObjectsNagName(this.bucket)}]`, reason: REPORT_OBJECTS_ACK_REASON },
    );
  }
}

/**
 * `s3:ListBucket` limited to the `reports/` prefix, and `s3:GetObject` on report objects: enough to list reports and
 * presign download links.
 */
export function grantReadReports(grantee: IGrantable, bucket: IBucket): void {
  grantListReports(grantee, bucket);
  Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [bucket.arnForObjects(REPORT_OBJECTS)] });
}

/** `s3:ListBucket` on the bucket, only for listings under `reports/`. */
function grantListReports(grantee: IGrantable, bucket: IBucket): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [REPORT_OBJECTS] } },
    }),
  );
}

/** How cdk-nag names `<bucket ARN>/reports/*` (the bucket's logical id must be final). */
export function reportObjectsNagName(bucket: IBucket): string {
  return nagArn(Stack.of(bucket), bucket.arnForObjects(REPORT_OBJECTS));
}
