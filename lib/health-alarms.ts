import { Duration } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import { Alarm, ComparisonOperator, type IMetric, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG, type OperationsConfig } from './config.js';
import { pascalCase } from './source-pollers.js';

/**
 * Props of {@link HealthAlarms}.
 * @example
 * new HealthAlarms(this, 'Health', {
 *   topic: opsTopic,
 *   consumer: consumer.function,
 *   deadLetterQueues: deadLetters.described(),
 *   stateMachine: mitigation.stateMachine,
 *   reportGenerator: reports.generator.function,
 *   settings: { iteratorAgeAlarmSeconds: 600 },
 * });
 */
export interface HealthAlarmsProps {
  /** Receives ALARM and OK transitions. */
  readonly topic: ITopic;
  readonly consumer: IFunction;
  /** Dead-letter queues by a name operators recognise, each with what its messages mean. */
  readonly deadLetterQueues: readonly {
    readonly name: string;
    readonly queue: IQueue;
    readonly meaning: string;
    readonly firstStep: string;
  }[];
  readonly stateMachine: IStateMachine;
  readonly reportGenerator: IFunction;
  /** Source pollers by source name. */
  readonly pollers?: ReadonlyMap<string, IFunction>;
  /** The operator API and its stage, when deployed. */
  readonly api?: { readonly api: IRestApi; readonly apiName: string; readonly stage: string };
  /** The dashboard's Cognito-authorized API and its stage, when deployed (lib/dashboard-api.ts). */
  readonly dashboardApi?: { readonly apiName: string; readonly stage: string };
  readonly settings?: Partial<OperationsConfig>;
}

/** One alarm per way the system itself can be unhealthy; every description says what it means and what to do first. */
export class HealthAlarms extends Construct {
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: HealthAlarmsProps) {
    super(scope, id);
    const settings = { ...DEFAULT_CONFIG.operations, ...props.settings };
    const action = new SnsAction(props.topic);
    const alarm = (
      alarmId: string,
      metric: IMetric,
      o: {
        threshold: number;
        evaluationPeriods?: number;
        datapointsToAlarm?: number;
        comparison?: ComparisonOperator;
        description: string;
      },
    ) => {
      const a = new Alarm(this, alarmId, {
        metric,
        threshold: o.threshold,
        evaluationPeriods: o.evaluationPeriods ?? 1,
        datapointsToAlarm: o.datapointsToAlarm ?? o.evaluationPeriods ?? 1,
        comparisonOperator: o.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data means nothing happened (no errors, no traffic): OK, not INSUFFICIENT_DATA.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: o.description,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      this.alarms.push(a);
      return a;
    };
    const fiveMinutes = Duration.minutes(5);
    const oneMinute = Duration.minutes(1);

    alarm('ConsumerIteratorAge', props.consumer.metric('IteratorAge', { statistic: 'Maximum', period: oneMinute }), {
      threshold: settings.iteratorAgeAlarmSeconds * 1000,
      evaluationPeriods: 5,
      description:
        `The stream consumer is more than ${settings.iteratorAgeAlarmSeconds} s behind the stream for 5 minutes: ` +
        `detection is late and, past the stream's retention, records will be lost. First: check the ` +
        `ConsumerErrors alarm and the consumer's logs; if it is only load, raise consumer.parallelizationFactor ` +
        `or the shard count (docs/runbook.md "Falling behind").`,
    });
    alarm('ConsumerErrors', props.consumer.metricErrors({ statistic: 'Sum', period: fiveMinutes }), {
      threshold: 1,
      description:
        'The stream consumer failed invocations in the last 5 minutes: its batches are retried (and bisected) and, ' +
        'after consumer.maxRetryAttempts, sent to the consumer failure queue. First: read the error in the ' +
        'consumer log group (Logs Insights: filter level = "ERROR"); a DynamoDB or SNS outage resolves itself, a ' +
        'code error needs a rollback (docs/runbook.md).',
    });
    alarm('ConsumerThrottles', props.consumer.metricThrottles({ statistic: 'Sum', period: fiveMinutes }), {
      threshold: 1,
      description:
        'Invocations of the stream consumer were throttled: the account or function concurrency limit is reached, ' +
        'so the stream backs up. First: check the account concurrency (Lambda console, ConcurrentExecutions) and ' +
        'whether another function is consuming it.',
    });
    for (const q of props.deadLetterQueues) {
      alarm(
        `${q.name}Messages`,
        q.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: fiveMinutes }),
        {
          threshold: 1,
          description: `${q.name} holds messages: ${q.meaning} First: ${q.firstStep}`,
        },
      );
    }
    alarm('MitigationExecutionsFailed', props.stateMachine.metricFailed({ statistic: 'Sum', period: fiveMinutes }), {
      threshold: 1,
      description:
        'A mitigation execution failed: actions it applied may still be in place. First: open the execution in the ' +
        'Step Functions console, find the rollback keys in its history or the failure notice, and roll back what ' +
        'it applied (npm run cli -- or POST /v1/anomaly/rollback); then fix the cause.',
    });
    alarm(
      'MitigationExecutionsTimedOut',
      props.stateMachine.metricTimedOut({ statistic: 'Sum', period: fiveMinutes }),
      {
        threshold: 1,
        description:
          'A mitigation execution timed out: its observation or rollback never finished, so applied actions may ' +
          'still be in place. First: roll back its actions by key (POST /v1/anomaly/rollback) and check the ' +
          'mitigation steps function logs.',
      },
    );
    alarm('ReportGeneratorErrors', props.reportGenerator.metricErrors({ statistic: 'Sum', period: fiveMinutes }), {
      threshold: 1,
      description:
        'Root-cause report generation failed: the invocation is retried twice, then its event lands in the report ' +
        'failure queue. First: read the error in the report generator logs; when fixed, re-send the queued events ' +
        '(docs/runbook.md "Redrive").',
    });
    for (const [name, fn] of props.pollers ?? []) {
      alarm(`SourcePoller${pascalCase(name)}Errors`, fn.metricErrors({ statistic: 'Sum', period: fiveMinutes }), {
        threshold: 1,
        description:
          `The ${name} source poller failed a run: a window was not (fully) fetched and is in the source failure ` +
          `queue with the reason. First: read the reason (credential rotated? API down? mapping changed?), fix ` +
          `it, then backfill the window by invoking the poller with {"window":{"from","to"}}.`,
      });
    }
    if (props.api) {
      const apiMetric = (metricName: string, statistic: string, period: Duration) =>
        new Metric({
          namespace: 'AWS/ApiGateway',
          metricName,
          dimensionsMap: { ApiName: props.api!.apiName, Stage: props.api!.stage },
          statistic,
          period,
        });
      alarm('OperatorApi5xx', apiMetric('5XXError', 'Sum', fiveMinutes), {
        threshold: settings.api5xxAlarmCount,
        description:
          `The operator API returned ${settings.api5xxAlarmCount} or more 5xx responses in 5 minutes: operators ` +
          `cannot score, mitigate or roll back reliably. First: read the failing route's function logs (API ` +
          `access log has the request id); use the CLI or the Step Functions console for urgent rollbacks ` +
          `meanwhile.`,
      });
      alarm('OperatorApiLatencyP99', apiMetric('Latency', 'p99', fiveMinutes), {
        threshold: settings.apiLatencyP99AlarmMs,
        evaluationPeriods: 3,
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description:
          `The operator API's p99 latency has been above ${settings.apiLatencyP99AlarmMs} ms for 15 minutes. ` +
          `First: check which route is slow (IntegrationLatency per method, function Duration) and whether ` +
          `DynamoDB is throttling.`,
      });
    }
    if (props.dashboardApi) {
      const { apiName, stage } = props.dashboardApi;
      alarm(
        'DashboardApi5xx',
        new Metric({
          namespace: 'AWS/ApiGateway',
          metricName: '5XXError',
          dimensionsMap: { ApiName: apiName, Stage: stage },
          statistic: 'Sum',
          period: fiveMinutes,
        }),
        {
          threshold: settings.api5xxAlarmCount,
          description:
            `The dashboard's API returned ${settings.api5xxAlarmCount} or more 5xx responses in 5 minutes: signed-in ` +
            `operators see errors instead of reports, timelines and actions. First: read the failing route's ` +
            `function logs (the dashboard API's access log has the request id); the IAM-signed API and the CLI ` +
            `serve the same routes meanwhile.`,
        },
      );
    }
  }
}
