import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { DynamoDbActionLedger } from '../adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../adapters/anomaly-store.js';
import { DynamoDbApprovalStore } from '../adapters/approval-store.js';
import { DynamoDbChangeStore } from '../adapters/change-store.js';
import { DynamoDbWindowStore } from '../adapters/window-store.js';
import { bundledGuardrails } from '../adapters/guardrails.js';
import { EventBridgeMitigationEvents } from '../adapters/mitigation-events.js';
import { SnsNotifier } from '../adapters/notifier.js';
import { killSwitchState } from '../adapters/kill-switch.js';
import { cachedSecretReader } from '../adapters/secret-reader.js';
import type { SecretReader } from '../core/ports/secret-reader.js';
import {
  createActionTargets,
  parseActionTargetsConfig,
  type ActionTargetClients,
  type ActionTargets,
} from '../adapters/targets/index.js';
import { KILL_SWITCH_FLAG } from '../core/ports/kill-switch.js';
import { MITIGATION_ENV, stepApprovalOf } from './mitigation-environment.js';
import type { RollbackByKeyEvent } from '../core/ports/rollback-requester.js';
import {
  rollbackByKey,
  runMitigationOp,
  type MitigationDeps,
  type MitigationOp,
  type WorkflowState,
} from '../usecases/mitigation-steps.js';
import { requireEnv } from './require-env.js';
import { countWithDimension } from './count-with-dimension.js';

export { KILL_SWITCH_FLAG, MITIGATION_ENV };

export type MitigationTaskEvent = {
  op: MitigationOp;
  state: WorkflowState;
  outcome?: WorkflowState['outcome'];
  /** `request-approval`: the token the execution waits on. */
  taskToken?: string;
};

export function createMitigationHandler(
  deps: (context: Context) => MitigationDeps,
  logger?: Logger,
  metrics?: Metrics,
) {
  async function handle(event: MitigationTaskEvent, context: Context): Promise<WorkflowState>;
  async function handle(event: RollbackByKeyEvent, context: Context): Promise<{ rolledBack: string[] }>;
  async function handle(
    event: MitigationTaskEvent | RollbackByKeyEvent,
    context: Context,
  ): Promise<WorkflowState | { rolledBack: string[] }> {
    if (event.op === 'rollback-key') {
      // An operator's rollback through the API, invoked asynchronously.
      const done = await rollbackByKey(event.key, deps(context));
      logger?.info('rollback by key', { key: event.key, requestedBy: event.requestedBy, rolledBack: done.rolledBack });
      return done;
    }
    const result = await runMitigationOp(event, deps(context));
    logger?.info('mitigation step', {
      op: event.op,
      episode: event.state.input?.anomaly?.id,
      transition: result.transition,
      stage: result.stage,
      outcome: result.outcome,
    });
    if (metrics) recordStepMetrics(metrics, event.state, result);
    return result;
  }
  return handle;
}

/** What this step changed: actions applied and rolled back, and the outcome once it is decided (four values). */
export function recordStepMetrics(metrics: Metrics, before: WorkflowState, after: WorkflowState): void {
  metrics.addMetric(
    'ActionsApplied',
    MetricUnit.Count,
    Math.max(0, (after.applied?.length ?? 0) - (before.applied?.length ?? 0)),
  );
  metrics.addMetric(
    'ActionsRolledBack',
    MetricUnit.Count,
    Math.max(0, (after.rolledBack?.length ?? 0) - (before.rolledBack?.length ?? 0)),
  );
  metrics.publishStoredMetrics();
  if (after.outcome && !before.outcome) countWithDimension(metrics, 'outcome', after.outcome, 'MitigationOutcomes', 1);
}

/**
 * The action targets the deployment configured (the JSON the stack puts in the environment). An
 * enabled webhook gets its HMAC key from Secrets Manager through `readSecret`, asked at each delivery.
 */
export function actionTargetsFromEnvironment(
  raw: string | undefined,
  clients: Omit<ActionTargetClients, 'webhookSecret'>,
  readSecret: SecretReader,
): ActionTargets {
  const config = parseActionTargetsConfig(JSON.parse(raw || '{}'));
  const webhook = config.webhook;
  return createActionTargets(config, {
    ...clients,
    ...(webhook && { webhookSecret: () => readSecret(webhook.secretArn) }),
  });
}

let lambdaHandler: ReturnType<typeof createMitigationHandler> | undefined;

function lambdaWiring() {
  const tracer = new Tracer();
  const logger = new Logger();
  const dynamo = tracer.captureAWSv3Client(new DynamoDBClient({ maxAttempts: 6 }));
  const table = requireEnv(MITIGATION_ENV.stateTable);
  const readSecret = cachedSecretReader(tracer.captureAWSv3Client(new SecretsManagerClient({ maxAttempts: 4 })));
  const targets = actionTargetsFromEnvironment(
    process.env[MITIGATION_ENV.actionTargets],
    { dynamo, tableName: table },
    readSecret,
  );
  const guardrails = bundledGuardrails();
  const anomalies = new DynamoDbAnomalyStore(dynamo, table);
  const shared = {
    guardrails,
    targetFor: targets.targetFor,
    ledger: new DynamoDbActionLedger(dynamo, table),
    events: new EventBridgeMitigationEvents(
      tracer.captureAWSv3Client(new EventBridgeClient({})),
      process.env[MITIGATION_ENV.eventBusName] || 'default',
    ),
    notifier: new SnsNotifier(tracer.captureAWSv3Client(new SNSClient({})), requireEnv(MITIGATION_ENV.alertTopicArn)),
    windows: new DynamoDbWindowStore(dynamo, table),
    changes: new DynamoDbChangeStore(dynamo, table),
    killSwitch: async () => (await killSwitchState(dynamo, table)).paused,
    anomalies,
    incidentAnomalies: anomalies,
    approvals: new DynamoDbApprovalStore(dynamo, table),
    stepApproval: stepApprovalOf(process.env[MITIGATION_ENV.stepApproval]),
    platformMinTenants: Number(process.env[MITIGATION_ENV.platformMinTenants] || 3),
    // Steps of kinds set to 'error' are handed off at planning, never sent to a target that would throw.
    unavailableTargets: targets.handedOffKinds(),
    now: Date.now,
    ...(process.env[MITIGATION_ENV.deploymentRegion] && {
      deploymentRegion: process.env[MITIGATION_ENV.deploymentRegion],
    }),
  };
  return createMitigationHandler((context) => ({ ...shared, execution: context.awsRequestId }), logger, new Metrics());
}

export const handler = (
  event: MitigationTaskEvent | RollbackByKeyEvent,
  context: Context,
): Promise<WorkflowState | { rolledBack: string[] }> => {
  lambdaHandler ??= lambdaWiring();
  return event.op === 'rollback-key' ? lambdaHandler(event, context) : lambdaHandler(event, context);
};
