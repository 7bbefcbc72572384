import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AnomalyGuard, LOGICAL_IDS } from './anomaly-guard.js';
import type { AnomalyGuardSettings } from './config.js';
import { OPERATOR_API_STAGE } from './operator-api.js';

export { LOGICAL_IDS };

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
  /** Present when the dashboard is deployed (`dashboard.enabled` and `api.enabled`, the defaults): its address. */
  dashboardUrl: 'DashboardUrl',
  /** The dashboard's Cognito user pool (users are added to its `viewer` or `operator` group). */
  dashboardUserPoolId: 'DashboardUserPoolId',
  dashboardUserPoolClientId: 'DashboardUserPoolClientId',
} as const;

export interface AnomalyGuardStackProps extends StackProps {
  /**
   * The settings (cdk.json context `anomalyGuard`, resolved by `resolveConfig`).
   * @example
   * new AnomalyGuardStack(app, 'AnomalyGuard', { config: resolveConfig(app.node.tryGetContext('anomalyGuard')) });
   */
  readonly config: AnomalyGuardSettings;
}

/**
 * This repository's deployable stack: one {@link AnomalyGuard} and the stack outputs operators and
 * the CLI read. To add anomaly-guard to a stack of your own, use the construct instead.
 */
export class AnomalyGuardStack extends Stack {
  readonly guard: AnomalyGuard;

  constructor(scope: Construct, id: string, props: AnomalyGuardStackProps) {
    super(scope, id, props);
    // 'Default' is the one construct id CDK leaves out of logical ids, so every resource keeps the
    // logical id it had when the stack built them itself: deploying this refactoring replaces nothing.
    const g = new AnomalyGuard(this, 'Default', props.config);
    this.guard = g;

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output(OUTPUT_IDS.streamName, g.stream.streamName, 'Kinesis stream producers PutRecords to');
    output(OUTPUT_IDS.streamArn, g.stream.streamArn, 'Kinesis stream ARN (for producer IAM policies)');
    output(OUTPUT_IDS.stateTableName, g.table.tableName, 'DynamoDB table holding per-key window state');
    output(
      OUTPUT_IDS.invalidRecordQueueUrl,
      g.deadLetters.invalidRecordQueue.queueUrl,
      'Dead-letter queue for invalid records (payload + reason)',
    );
    output(
      OUTPUT_IDS.consumerFailureQueueUrl,
      g.deadLetters.consumerFailureQueue.queueUrl,
      'On-failure destination of the stream consumer (batch metadata only)',
    );
    output(
      OUTPUT_IDS.rollbackFailureQueueUrl,
      g.deadLetters.rollbackFailureQueue.queueUrl,
      'Operator rollbacks that failed after retries (the rollback key is in each message)',
    );
    output(
      OUTPUT_IDS.reportFailureQueueUrl,
      g.deadLetters.reportFailureQueue.queueUrl,
      'Report events that could not be delivered or generated after retries (the triggering event is in each message)',
    );
    output(
      OUTPUT_IDS.sourceFailureQueueUrl,
      g.deadLetters.sourceFailureQueue.queueUrl,
      'What the source pollers could not fetch, map or put, and failed polls (the reason is in each message)',
    );
    output(OUTPUT_IDS.alertTopicArn, g.alertTopic.topicArn, 'SNS topic to subscribe on-call to');
    output(OUTPUT_IDS.consumerFunctionName, g.consumerFunction.functionName, 'Stream consumer Lambda function');
    output(
      OUTPUT_IDS.mitigationStateMachineArn,
      g.stateMachine.stateMachineArn,
      'Mitigation workflow (Step Functions Standard)',
    );
    output(
      OUTPUT_IDS.reportsBucketName,
      g.reportsBucket.bucketName,
      'Root-cause reports: reports/YYYY/MM/DD/<id>/report.{json,md,html} and the evidence bundle',
    );
    output(
      OUTPUT_IDS.rawArchiveBucketName,
      g.rawArchiveBucket.bucketName,
      'Raw archive: every ingested record, gzip JSON lines under raw/YYYY/MM/DD/HH/ (replay --input)',
    );
    output(
      OUTPUT_IDS.healthAlarmTopicArn,
      g.healthAlarmTopic.topicArn,
      'SNS topic the health alarms (ALARM and OK) notify: subscribe the platform on-call',
    );
    output(
      OUTPUT_IDS.operationsDashboardName,
      g.dashboard.dashboardName,
      'CloudWatch dashboard of the pipeline end to end',
    );
    if (g.operatorApi) {
      output(
        OUTPUT_IDS.operatorApiUrl,
        g.operatorApi.url,
        'Operator API base URL (IAM-signed requests: POST v1/anomaly/score, ...)',
      );
      output(
        OUTPUT_IDS.operatorApiExecuteArn,
        g.operatorApi.api.arnForExecuteApi('*', '/*', OPERATOR_API_STAGE),
        'Grant operators execute-api:Invoke on this ARN',
      );
    }
    if (g.dashboardSite && g.signIn) {
      output(OUTPUT_IDS.dashboardUrl, g.dashboardSite.url, 'The operator dashboard (sign in with a Cognito user)');
      output(
        OUTPUT_IDS.dashboardUserPoolId,
        g.signIn.userPool.userPoolId,
        'Cognito user pool of the dashboard: add users to its viewer or operator group',
      );
      output(
        OUTPUT_IDS.dashboardUserPoolClientId,
        g.signIn.client.userPoolClientId,
        'App client the dashboard signs in with (no secret)',
      );
    }
  }
}
