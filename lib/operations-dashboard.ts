import { Duration, Stack } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  LogQueryWidget,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { AnomalyClass } from '../lambdas/core/classifier.js';

/** The namespace and the one dimension every handler's Powertools metrics carry (lib/handler-function.ts). */
export const METRICS_NAMESPACE = 'AnomalyGuard';
export const METRICS_SERVICE = 'anomaly-guard';
const CLASSES: readonly AnomalyClass[] = ['infra', 'app', 'tenant', 'abuse'];
const OUTCOMES = ['recovered', 'handed-off', 'blocked', 'failed'] as const;

/**
 * List prices (us-east-1, on demand) behind the dashboard's cost estimate, the same as bench/pricing.ts (which has
 * the full model); DynamoDB's on-demand write price is $0.625 per million since November 2024.
 */
export const DASHBOARD_PRICES = {
  dynamoDbPerMillionWriteUnits: 0.625,
  lambdaPerMillionRequests: 0.2,
  lambdaPerGbSecond: 0.0000166667,
} as const;

/**
 * Props of {@link OperationsDashboard}.
 * @example
 * new OperationsDashboard(this, 'Operations', {
 *   consumer: consumer.function,
 *   consumerMemoryMb: 512,
 *   consumerLogGroup: consumer.logGroup,
 *   deadLetterQueues: deadLetters.described(),
 *   stateMachine: mitigation.stateMachine,
 *   alarms: health.alarms,
 * });
 */
export interface OperationsDashboardProps {
  readonly consumer: IFunction;
  readonly consumerMemoryMb: number;
  readonly consumerLogGroup: ILogGroup;
  readonly deadLetterQueues: readonly { readonly name: string; readonly queue: IQueue }[];
  readonly stateMachine: IStateMachine;
  readonly sourceNames?: readonly string[];
  readonly api?: { readonly apiName: string; readonly stage: string };
  /** Shown as one status grid. */
  readonly alarms?: readonly Alarm[];
  /** @default `<stack name>-operations` */
  readonly dashboardName?: string;
}

/** One CloudWatch dashboard showing the pipeline end to end (seed 003), from records in to money spent. */
export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const custom = (metricName: string, label: string, dims: Record<string, string> = {}) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: METRICS_SERVICE, ...dims },
        statistic: 'Sum',
        period,
        label,
      });
    const graph = (
      title: string,
      left: IMetric[],
      extra: { right?: IMetric[]; width?: number; stacked?: boolean } = {},
    ) =>
      new GraphWidget({
        title,
        left,
        width: extra.width ?? 8,
        height: 6,
        ...(extra.right && { right: extra.right }),
        ...(extra.stacked && { stacked: true }),
      });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${Stack.of(this).stackName}-operations`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          "## anomaly-guard: records in → processed → windows → anomalies → alerts → mitigations\nEvery alarm's " +
          'description says what it means and what to do first; docs/runbook.md has the procedures.',
        width: 24,
        height: 2,
      }),
    );
    if (props.alarms?.length)
      this.dashboard.addWidgets(
        new AlarmStatusWidget({ title: 'Health alarms', alarms: [...props.alarms], width: 24, height: 3 }),
      );

    this.dashboard.addWidgets(
      graph('Records', [
        custom('RecordsReceived', 'received'),
        custom('RecordsProcessed', 'processed'),
        custom('RecordsDeadLettered', 'dead-lettered'),
        custom('RecordsLate', 'late'),
        custom('RecordsDuplicate', 'duplicates dropped'),
      ]),
      graph('Consumer: state writes (a quiet key is written every other window)', [
        custom('StateWrites', 'written'),
        custom('StateWritesDeferred', 'scored, written next window'),
        custom('StateWriteConflicts', 'version conflicts'),
      ]),
      graph('Consumer: iterator age (how far behind the stream)', [
        props.consumer.metric('IteratorAge', { statistic: 'Maximum', period, label: 'iterator age max (ms)' }),
      ]),
      graph(
        'Consumer: invocations, errors, throttles',
        [
          props.consumer.metricInvocations({ period, label: 'invocations' }),
          props.consumer.metricErrors({ period, label: 'errors' }),
          props.consumer.metricThrottles({ period, label: 'throttles' }),
        ],
        { right: [props.consumer.metricDuration({ statistic: 'p99', period, label: 'duration p99 (ms)' })] },
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Anomalies per class',
        CLASSES.map((c) => custom('AnomaliesByClass', c, { class: c })),
        { stacked: true },
      ),
      graph(
        'Alerts per class',
        CLASSES.map((c) => custom('AlertsByClass', c, { class: c })),
        { stacked: true },
      ),
      graph(
        'Mitigations',
        [
          custom('MitigationsStarted', 'started'),
          ...OUTCOMES.map((o) => custom('MitigationOutcomes', o, { outcome: o })),
          custom('ActionsRolledBack', 'actions rolled back'),
        ],
        {
          right: [
            props.stateMachine.metricFailed({ period, label: 'executions failed' }),
            props.stateMachine.metricTimedOut({ period, label: 'executions timed out' }),
          ],
        },
      ),
    );
    const costPerMillion = new MathExpression({
      // $ per million records received: the consumer's state writes plus its Lambda requests and GB-seconds.
      expression:
        `IF(recs > 0, (wru * ${DASHBOARD_PRICES.dynamoDbPerMillionWriteUnits} + inv * ` +
        `${DASHBOARD_PRICES.lambdaPerMillionRequests} + dur / 1000 * ${props.consumerMemoryMb / 1024} * ` +
        `${Number((DASHBOARD_PRICES.lambdaPerGbSecond * 1e6).toFixed(4))}) / recs, 0)`,
      usingMetrics: {
        wru: custom('StateWriteUnits', 'write units'),
        recs: custom('RecordsReceived', 'records'),
        inv: props.consumer.metricInvocations({ period }),
        dur: props.consumer.metricDuration({ statistic: 'Sum', period }),
      },
      label: 'estimated $ per million events (consumer)',
      period,
    });
    this.dashboard.addWidgets(
      graph('Estimated cost per million events (DynamoDB writes + consumer Lambda, list prices)', [costPerMillion]),
      graph(
        'Dead-letter queues (messages waiting)',
        props.deadLetterQueues.map((q) =>
          q.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period, label: q.name }),
        ),
      ),
      ...(props.api ? [this.apiWidget(props.api, period)] : []),
    );
    const sources = props.sourceNames ?? [];
    if (sources.length) {
      this.dashboard.addWidgets(
        graph(
          'Source pollers: records put',
          sources.map((s) => custom('SourceRecordsPut', s, { source: s })),
          { width: 12 },
        ),
        graph(
          'Source pollers: failed polls, rejected items, failed puts',
          sources.flatMap((s) => [
            custom('SourcePollFailed', `${s} failed polls`, { source: s }),
            custom('SourceItemsRejected', `${s} rejected`, { source: s }),
            custom('SourceRecordsFailed', `${s} put failed`, { source: s }),
          ]),
          { width: 12 },
        ),
      );
    }
    this.dashboard.addWidgets(
      new SingleValueWidget({
        title: 'Last 3 hours',
        metrics: [
          custom('RecordsReceived', 'records in'),
          custom('AlertsPublished', 'alerts'),
          custom('MitigationsStarted', 'mitigations'),
        ],
        width: 8,
        height: 6,
        setPeriodToTimeRange: true,
      }),
      new LogQueryWidget({
        title: 'Consumer errors and warnings (Logs Insights)',
        logGroupNames: [props.consumerLogGroup.logGroupName],
        queryLines: [
          'fields @timestamp, level, message, error.message',
          'filter level = "ERROR" or level = "WARN"',
          'sort @timestamp desc',
          'limit 50',
        ],
        width: 16,
        height: 6,
      }),
    );
  }

  private apiWidget(api: { apiName: string; stage: string }, period: Duration): GraphWidget {
    const m = (metricName: string, statistic: string, label: string) =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: api.apiName, Stage: api.stage },
        statistic,
        period,
        label,
      });
    return new GraphWidget({
      title: 'Operator API',
      left: [m('Count', 'Sum', 'requests'), m('4XXError', 'Sum', '4xx'), m('5XXError', 'Sum', '5xx')],
      right: [m('Latency', 'p99', 'latency p99 (ms)')],
      width: 8,
      height: 6,
    });
  }
}
