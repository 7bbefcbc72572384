import type { RouteId } from '../../core/api/routes.js';

/** Environment variables of the operator API Lambdas (set by lib/operator-api.ts and by the local runtime). */
export const API_ENV = {
  stateTable: 'STATE_TABLE_NAME',
  /** mitigate: the workflow it starts; rollback: the executions it stops. */
  stateMachineArn: 'MITIGATION_STATE_MACHINE_ARN',
  /** rollback: the task Lambda that undoes the actions (it holds the action targets' permissions). */
  mitigationFunction: 'MITIGATION_FUNCTION_NAME',
  /** mitigate: `{"observationSeconds","finalCheckSeconds","rollbackIntervalSeconds"}`. */
  mitigationTimings: 'MITIGATION_TIMINGS',
  deploymentRegion: 'DEPLOYMENT_REGION',
  /** mitigate: `{"platformMinTenants", "actionTargets"}`, so a dry run plans as the workflow does. */
  mitigationPlanning: 'MITIGATION_PLANNING',
} as const;

/** Each route's Lambda entry module, from the project root; each exports `handler`. */
export const API_ENTRIES: Readonly<Record<RouteId, string>> = {
  score: 'lambdas/handlers/api/score.ts',
  mitigate: 'lambdas/handlers/api/mitigate.ts',
  rollback: 'lambdas/handlers/api/rollback.ts',
  report: 'lambdas/handlers/api/report.ts',
  whitelist: 'lambdas/handlers/api/whitelist.ts',
  timeline: 'lambdas/handlers/api/timeline.ts',
  changes: 'lambdas/handlers/api/changes.ts',
  feedback: 'lambdas/handlers/api/feedback.ts',
  approve: 'lambdas/handlers/api/approve.ts',
};
