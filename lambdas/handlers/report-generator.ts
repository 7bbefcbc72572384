import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { alertMessage, incidentOf, type AlertMessage } from '../core/anomaly.js';
import { DEFAULT_INCIDENT_WINDOW_MS } from '../core/incidents.js';
import { episodeRollbackKey } from '../core/mitigation/keys.js';
import { forEachLimit } from '../core/concurrency.js';
import { episodeReportId, renderReport, summariseEpisode } from '../core/report/index.js';
import type { CostCardSeriesInput, EpisodeReport, EpisodeSummary, MitigationOutcome } from '../core/report/model.js';
import { signalSpec } from '../core/signals.js';
import { DynamoDbActionLedger } from '../adapters/action-ledger.js';
import type { ActionLedger } from '../core/ports/action-ledger.js';
import { DynamoDbAnomalyStore } from '../adapters/anomaly-store.js';
import type { AnomalyReader } from '../core/ports/anomaly-store.js';
import { DynamoDbChangeStore } from '../adapters/change-store.js';
import type { ChangeStore } from '../core/ports/change-store.js';
import { DynamoDbEpisodeTraceStore } from '../adapters/episode-trace-store.js';
import type { EpisodeTraceStore } from '../core/ports/episode-trace-store.js';
import { SnsNotifier } from '../adapters/notifier.js';
import type { Notifier } from '../core/ports/notifier.js';
import { S3ReportStore } from '../adapters/report-store.js';
import type { ReportStore } from '../core/ports/report-store.js';
import type { MitigationInput, WorkflowState } from '../usecases/mitigation-steps.js';
import { requireEnv } from './require-env.js';
import { REPORT_ENV } from './report-environment.js';
import { HOUR_MS, DAY_MS } from '../core/time.js';

/**
 * `Step Functions Execution Status Change` detail (EventBridge); input/output are JSON strings, absent when too large.
 */
export interface ExecutionStatusDetail {
  executionArn: string;
  name: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'RUNNING' | string;
  startDate: number;
  stopDate: number | null;
  input?: string | null;
  output?: string | null;
}

export type ReportEvent =
  | { 'detail-type': 'Step Functions Execution Status Change'; time?: string; detail: ExecutionStatusDetail }
  | { 'detail-type': 'Scheduled Event'; time: string; detail?: unknown };

export interface ReportGeneratorDeps {
  anomalies: Pick<AnomalyReader, 'get' | 'between'>;
  ledger: Pick<ActionLedger, 'entries'>;
  changes: Pick<ChangeStore, 'startedBetween'>;
  /** The episode's minute series as the consumer recorded it (episode trace). */
  traces: Pick<EpisodeTraceStore, 'series'>;
  /** Input and output of an execution whose event left them out (payloads over the event size). */
  executions: { describe(executionArn: string): Promise<{ input?: string; output?: string }> };
  reports: ReportStore;
  notifier: Notifier;
  /** How on-call finds a report: the object's location (s3:// in AWS, a file path locally). */
  location: (key: string) => string;
}

/** Change records this far around the episode are drawn on the chart. */
const CHANGES_BEFORE_MS = 2 * HOUR_MS;
const CHANGES_AFTER_MS = HOUR_MS;
/**
 * Incident members are looked for among the anomalies that started this long before the episode up to the report's
 * generation (plus one incident window): an incident widens by at most one window per member.
 */
const INCIDENT_LOOKBACK_MS = 2 * HOUR_MS;
/** Episode traces read at once for the digest's cost card. */
const TRACE_READS_IN_FLIGHT = 8;

/**
 * RCA reports (docs/architecture.md contract 3): one per mitigation execution when it ends, and a digest of the
 * previous UTC day on the daily schedule. Rendering is pure (lambdas/core/report); this fetches and stores.
 * Generation is idempotent: an execution's report has one id and is dated by the execution's stop, so a
 * redelivered event rewrites the same objects with the same bytes.
 */
export function createReportGenerator(deps: ReportGeneratorDeps, logger?: Logger) {
  async function episodeReport(detail: ExecutionStatusDetail): Promise<{ id: string; keys: string[] }> {
    let { input, output } = detail;
    if (!input || (detail.status === 'SUCCEEDED' && !output))
      ({ input, output } = await deps.executions.describe(detail.executionArn));
    if (!input) throw new Error(`execution ${detail.executionArn} has no input to report on`);
    const { anomaly } = (JSON.parse(input) as { input: MitigationInput }).input;
    const state = output ? (JSON.parse(output) as WorkflowState) : undefined;
    const stoppedAt = detail.stopDate ?? detail.startDate;
    const [stored, ledger, series, changes, around] = await Promise.all([
      deps.anomalies.get(anomaly.id),
      deps.ledger.entries(episodeRollbackKey(anomaly.id)),
      deps.traces.series(anomaly.id),
      deps.changes.startedBetween(anomaly.tenant, anomaly.start - CHANGES_BEFORE_MS, stoppedAt + CHANGES_AFTER_MS),
      // The incident's other members as stored by now: the anomalies that started around the episode.
      deps.anomalies.between(
        anomaly.start - INCIDENT_LOOKBACK_MS,
        Math.max(stoppedAt, anomaly.start) + DEFAULT_INCIDENT_WINDOW_MS,
      ),
    ]);
    const incident = incidentOf(stored ?? anomaly);
    const incidentMembers = around.filter((a) => incidentOf(a) === incident);
    const outcome: MitigationOutcome | undefined =
      detail.status === 'SUCCEEDED' ? state?.outcome : detail.status === 'ABORTED' ? undefined : 'failed';
    const rendered = renderReport({
      kind: 'episode',
      generatedAt: stoppedAt,
      anomaly: stored ?? anomaly,
      ...(state?.plan && { plan: state.plan }),
      ledger,
      ...(outcome && { outcome }),
      execution: { name: detail.name, status: detail.status, startedAt: detail.startDate, stoppedAt },
      series,
      changes,
      incidentMembers,
      ...(stored?.notifiedAt !== undefined && { alertedAt: stored.notifiedAt }),
    });
    await deps.reports.put(rendered.objects);
    await deps.notifier.publish(
      episodeMessage(anomaly, rendered.report as EpisodeReport, deps.location(rendered.keys.html)),
      `${rendered.report.id}#report`,
    );
    logger?.info('episode report written', { report: rendered.report.id, execution: detail.name, outcome });
    return { id: rendered.report.id, keys: rendered.objects.map((o) => o.key) };
  }

  async function dailyReport(time: number): Promise<{ id: string; keys: string[] }> {
    const from = Math.floor(time / DAY_MS) * DAY_MS - DAY_MS;
    const to = from + DAY_MS;
    const [anomalies, existing] = await Promise.all([
      deps.anomalies.between(from, to - 1),
      deps.reports.list(from, to - 1),
    ]);
    const episodeReports = new Map(existing.filter((r) => r.kind === 'episode').map((r) => [r.id, r]));
    const episodes: EpisodeSummary[] = [];
    for (const a of anomalies) {
      const stored = episodeReports.get(episodeReportId(a.id, a.tenant, a.signal));
      const json = stored?.objects['report.json'] ? await deps.reports.read(stored.objects['report.json']) : undefined;
      const summary: EpisodeSummary = json ? summariseEpisode(JSON.parse(json) as EpisodeReport) : { anomaly: a };
      // The stored anomaly's incident: also for an episode report written before reports named incidents.
      if (a.incident !== undefined) summary.anomaly.incident = a.incident;
      episodes.push(summary);
    }
    // The cost card counts the minutes the day's cost anomalies traced (the only stored minutes with a forecast),
    // kept in the anomalies' order whatever order the reads end in: the same day gives the same bytes.
    const costly = anomalies.filter((a) => signalSpec(a.signal).category === 'cost');
    const costSeries: CostCardSeriesInput[] = costly.map((a) => ({
      tenant: a.tenant,
      signal: a.signal,
      points: [],
      expected: a.expected,
    }));
    await forEachLimit([...costly.keys()], TRACE_READS_IN_FLIGHT, async (i) => {
      costSeries[i]!.points = await deps.traces.series(costly[i]!.id);
    });
    const rendered = renderReport({ kind: 'daily', generatedAt: to, range: { from, to }, episodes, costSeries });
    await deps.reports.put(rendered.objects);
    const day = new Date(from).toISOString().slice(0, 10);
    await deps.notifier.publish(
      dailyMessage(day, episodes, deps.location(rendered.keys.html)),
      `${rendered.report.id}#report`,
    );
    logger?.info('daily report written', { report: rendered.report.id, episodes: episodes.length });
    return { id: rendered.report.id, keys: rendered.objects.map((o) => o.key) };
  }

  return async (event: ReportEvent): Promise<{ id: string; keys: string[] }> => {
    if (event['detail-type'] === 'Scheduled Event') return dailyReport(Date.parse(event.time));
    if (event['detail-type'] === 'Step Functions Execution Status Change') {
      if (event.detail.status === 'RUNNING')
        throw new Error('report requested for a running execution (the rule should match ended executions only)');
      return episodeReport(event.detail);
    }
    throw new Error(`unexpected event: ${JSON.stringify(event).slice(0, 200)}`);
  };
}

function episodeMessage(anomaly: MitigationInput['anomaly'], report: EpisodeReport, link: string): AlertMessage {
  const base = alertMessage(anomaly, { report: link });
  const words = report.outcome ?? report.execution?.status?.toLowerCase() ?? 'ended';
  return {
    subject: `[${anomaly.severity}] ${anomaly.tenant} ${anomaly.signal} RCA report: ${words}`
      .replace(/[^\x20-\x7e]/g, '?')
      .slice(0, 100),
    body: JSON.stringify({
      ...JSON.parse(base.body),
      report: {
        id: report.id,
        outcome: report.outcome,
        link,
        stabilisedMinutes: report.stabilisation.minutes,
        costEffectPercent: report.costEffect?.percent ?? null,
      },
    }),
    attributes: { ...base.attributes, decision: 'report' },
  };
}

function dailyMessage(day: string, episodes: readonly EpisodeSummary[], link: string): AlertMessage {
  const mitigated = episodes.filter((e) => (e.actions ?? 0) > 0).length;
  const incidents = new Set(episodes.map((e) => incidentOf(e.anomaly))).size;
  return {
    subject:
      `[SEV4] anomaly-guard daily report ${day}: ${incidents} incident${incidents === 1 ? '' : 's'}, ` +
      `${episodes.length} anomalies, ${mitigated} mitigated`,
    body: JSON.stringify({ day, incidents, anomalies: episodes.length, mitigated, reportLink: link }),
    attributes: { severity: 'SEV4', class: 'report', tenant: '*', signal: '*', decision: 'daily-report' },
  };
}

let lambdaHandler: ReturnType<typeof createReportGenerator> | undefined;

function lambdaWiring() {
  const tracer = new Tracer();
  const logger = new Logger();
  const dynamo = tracer.captureAWSv3Client(new DynamoDBClient({ maxAttempts: 6 }));
  const sfn = tracer.captureAWSv3Client(new SFNClient({}));
  const table = requireEnv(REPORT_ENV.stateTable);
  const bucket = requireEnv(REPORT_ENV.reportsBucket);
  return createReportGenerator(
    {
      anomalies: new DynamoDbAnomalyStore(dynamo, table),
      ledger: new DynamoDbActionLedger(dynamo, table),
      changes: new DynamoDbChangeStore(dynamo, table),
      traces: new DynamoDbEpisodeTraceStore(dynamo, table),
      executions: {
        async describe(executionArn) {
          const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
          return {
            ...(out.input !== undefined && { input: out.input }),
            ...(out.output !== undefined && { output: out.output }),
          };
        },
      },
      reports: new S3ReportStore(tracer.captureAWSv3Client(new S3Client({})), bucket),
      notifier: new SnsNotifier(tracer.captureAWSv3Client(new SNSClient({})), requireEnv(REPORT_ENV.alertTopicArn)),
      location: (key) => `s3://${bucket}/${key}`,
    },
    logger,
  );
}

export const handler = (event: ReportEvent): Promise<{ id: string; keys: string[] }> => {
  lambdaHandler ??= lambdaWiring();
  return lambdaHandler(event);
};
