import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RouteId } from '../lambdas/core/api/routes.js';
import { DynamoDbActionLedger } from '../lambdas/adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../lambdas/adapters/anomaly-store.js';
import { DynamoDbApprovalStore } from '../lambdas/adapters/approval-store.js';
import { DynamoDbChangeStore } from '../lambdas/adapters/change-store.js';
import { DynamoDbFeedbackStore } from '../lambdas/adapters/feedback-store.js';
import { DynamoDbWindowStore } from '../lambdas/adapters/window-store.js';
import { DynamoDbEpisodeTraceStore } from '../lambdas/adapters/episode-trace-store.js';
import type { ReportStore } from '../lambdas/core/ports/report-store.js';
import type { RollbackRequester } from '../lambdas/core/ports/rollback-requester.js';
import type { ApiHandler } from '../lambdas/handlers/api/http.js';
import { createOperatorApi } from '../lambdas/handlers/api/operator-api.js';
import { rollbackByKey, type MitigationDeps } from '../lambdas/usecases/mitigation-steps.js';
import type { LocalStepFunctions } from './step-functions.js';
import type { ActionTargets } from '../lambdas/adapters/targets/index.js';

export interface LocalOperatorApiOptions {
  dynamo: DynamoDBClient;
  tableName: string;
  /** The local workflow: mitigate starts executions on it, rollback stops them. */
  stepFunctions: LocalStepFunctions;
  /** The mitigation task's dependencies: a rollback runs with them, as the task Lambda does in AWS. */
  mitigationDeps: Omit<MitigationDeps, 'execution'>;
  /** The workflow's action targets: the dry run lists the steps whose target is not configured. */
  targets?: Pick<ActionTargets, 'unavailable'>;
  /** The local reports bucket, for the report route's download links. */
  reports?: ReportStore;
  now?: () => number;
}

/** Rollbacks run in process, with the same code the task Lambda runs when the API invokes it in AWS. */
class LocalRollbackRequester implements RollbackRequester {
  constructor(private readonly deps: Omit<MitigationDeps, 'execution'>) {}
  async request(key: string, requestedBy: string): Promise<void> {
    await rollbackByKey(key, { ...this.deps, execution: `api:${requestedBy}` });
  }
}

/** Every operator API route over the local stand-ins, with the same handler factories as the Lambdas. */
export function localOperatorApi(o: LocalOperatorApiOptions): Record<RouteId, ApiHandler> {
  const changes = new DynamoDbChangeStore(o.dynamo, o.tableName);
  const now = o.now ?? Date.now;
  const { guardrails, killSwitch, deploymentRegion, anomalies, platformMinTenants, unavailableTargets, stepApproval } =
    o.mitigationDeps;
  return createOperatorApi({
    windows: new DynamoDbWindowStore(o.dynamo, o.tableName),
    changes,
    whitelist: changes,
    operatorChanges: changes,
    anomalies: new DynamoDbAnomalyStore(o.dynamo, o.tableName),
    feedback: new DynamoDbFeedbackStore(o.dynamo, o.tableName),
    approvals: new DynamoDbApprovalStore(o.dynamo, o.tableName),
    taskTokens: o.stepFunctions,
    ledger: new DynamoDbActionLedger(o.dynamo, o.tableName),
    traces: new DynamoDbEpisodeTraceStore(o.dynamo, o.tableName),
    mitigations: o.stepFunctions,
    rollbacks: new LocalRollbackRequester(o.mitigationDeps),
    planning: {
      guardrails,
      changes,
      killSwitch,
      now,
      ...(deploymentRegion !== undefined && { deploymentRegion }),
      ...(anomalies && { anomalies }),
      ...(platformMinTenants !== undefined && { platformMinTenants }),
      ...(stepApproval && { stepApproval }),
      ...(unavailableTargets && { unavailableTargets }),
    },
    ...(o.targets && {
      unconfiguredTargets: (steps: Parameters<ActionTargets['unavailable']>[0]) => o.targets!.unavailable(steps),
    }),
    timings: o.stepFunctions.timings,
    ...(o.reports && { reports: o.reports }),
    now,
  });
}
