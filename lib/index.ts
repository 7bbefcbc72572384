/**
 * anomaly-guard as a library: the {@link AnomalyGuard} construct to add to a stack of your own, its
 * settings schema, the constructs it is built from, and this repository's own stack. This module
 * only re-exports. It needs `aws-cdk-lib`, `constructs` and `zod`, and esbuild (or Docker) to
 * bundle the handlers; not cdk-nag, which only this repository's app (lib/anomaly-guard-app.ts) registers.
 */
export { AnomalyGuard, type AnomalyGuardProps, LOGICAL_IDS } from './anomaly-guard.js';
export { AnomalyGuardStack, type AnomalyGuardStackProps, OUTPUT_IDS } from './anomaly-guard-stack.js';
export {
  type AnomalyGuardConfig,
  AnomalyGuardConfigError,
  type AnomalyGuardSettings,
  anomalyGuardConfigSchema,
  type ApiConfig,
  type ArchiveConfig,
  type DashboardConfig,
  DEFAULT_CONFIG,
  type OperationsConfig,
  type ReportsConfig,
  resolveConfig,
  type UsagePlanQuotaPeriod,
  type UsageSourceSettings,
} from './config.js';
export { AlertTopic, type AlertTopicProps } from './alert-topic.js';
export { DashboardApi, type DashboardApiProps } from './dashboard-api.js';
export {
  type DashboardPageConfig,
  DashboardSite,
  type DashboardSiteProps,
  dashboardContentSecurityPolicy,
} from './dashboard-site.js';
export { DeadLetterQueues, type DeadLetterQueuesProps, type DescribedQueue } from './dead-letter-queues.js';
export { HandlerFunction, type HandlerFunctionProps, PACKAGE_ROOT } from './handler-function.js';
export { HealthAlarms, type HealthAlarmsProps } from './health-alarms.js';
export { IngestStream, type IngestStreamProps } from './ingest-stream.js';
export { MitigationWorkflow, type MitigationWorkflowProps } from './mitigation-workflow.js';
export { OperationsDashboard, type OperationsDashboardProps } from './operations-dashboard.js';
export { OPERATOR_API_STAGE, OperatorApi, type OperatorApiProps } from './operator-api.js';
export { OperatorSignIn, type OperatorSignInProps } from './operator-sign-in.js';
export { RawArchive, type RawArchiveProps } from './raw-archive.js';
export { Reports, type ReportsProps } from './reports.js';
export { SourcePollers, type SourcePollersProps } from './source-pollers.js';
export { StateTable, type StateTableProps } from './state-table.js';
export { StreamConsumer, type StreamConsumerProps } from './stream-consumer.js';
