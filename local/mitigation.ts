import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbActionLedger } from '../lambdas/adapters/action-ledger.js';
import { DynamoDbChangeStore } from '../lambdas/adapters/change-store.js';
import { DynamoDbWindowStore } from '../lambdas/adapters/window-store.js';
import { bundledGuardrails } from '../lambdas/adapters/guardrails.js';
import type { MitigationTimings } from '../lambdas/core/ports/mitigation-starter.js';
import type { MitigationEvent, MitigationEventBus } from '../lambdas/core/ports/event-bus.js';
import type { Notifier } from '../lambdas/core/ports/notifier.js';
import { killSwitchState } from '../lambdas/adapters/kill-switch.js';
import { DynamoDbAnomalyStore } from '../lambdas/adapters/anomaly-store.js';
import { DynamoDbApprovalStore } from '../lambdas/adapters/approval-store.js';
import { createActionTargets, type ActionTargets } from '../lambdas/adapters/targets/index.js';
import type { MitigationDeps } from '../lambdas/usecases/mitigation-steps.js';
import { createMitigationHandler } from '../lambdas/handlers/mitigation-workflow.js';
import { MITIGATION_ENV, stepApprovalOf } from '../lambdas/handlers/mitigation-environment.js';
import { LocalQueue } from './queue.js';
import { resourcesOfType, type CfnTemplate } from './stand-ins.js';
import { LocalStepFunctions, type LocalExecution, type LocalStepFunctionsOptions } from './step-functions.js';
import type { UsageMeter } from './usage-meter.js';

/** The demo's timings: minutes become seconds, read by the workflow from its input as in AWS. */
export const LOCAL_MITIGATION_TIMINGS: MitigationTimings = {
  observationSeconds: 3,
  finalCheckSeconds: 3,
  rollbackIntervalSeconds: 1,
  // Long enough for a person with --no-auto-approve; the demo's simulated operator answers within seconds.
  approvalTimeoutSeconds: 900,
};

/** The local stand-in for the default EventBridge bus: keeps the events in order. */
export class LocalEventBus implements MitigationEventBus {
  readonly events = new LocalQueue<MitigationEvent & { time: number }>('default');
  constructor(private readonly now: () => number = Date.now) {}
  async publish(events: readonly MitigationEvent[]): Promise<void> {
    for (const e of events) this.events.send({ ...e, time: this.now() });
  }
}

export interface LocalMitigationOptions {
  template: CfnTemplate;
  dynamo: DynamoDBClient;
  tableName: string;
  notifier: Notifier;
  timings?: MitigationTimings;
  deploymentRegion?: string;
  /** `mitigation.platformMinTenants` (default 3). */
  platformMinTenants?: number;
  onTransition?: (execution: LocalExecution, state: string) => void;
  /** Counts and times the task Lambda's invocations. */
  meter?: UsageMeter;
  /**
   * The workflow's clock. The local runtime passes the simulated services' event time, so actions,
   * guardrail windows (whitelists, recent changes), rollbacks and execution dates line up with the signals they act on.
   */
  now?: () => number;
}

/**
 * The mitigation workflow on the local stand-ins: the synthesized state machine, the same task handler, the flag table
 * as the default target.
 */
export function localMitigation(o: LocalMitigationOptions): {
  stepFunctions: LocalStepFunctions;
  bus: LocalEventBus;
  deps: Omit<MitigationDeps, 'execution'>;
  targets: ActionTargets;
} {
  const now = o.now ?? Date.now;
  const bus = new LocalEventBus(now);
  // Locally there are no AWS controls to change: every step lands in the flag table the simulated services read.
  const targets = createActionTargets(
    { unconfiguredTargets: 'flag-table' },
    { dynamo: o.dynamo, tableName: o.tableName },
  );
  const anomalies = new DynamoDbAnomalyStore(o.dynamo, o.tableName);
  const deps: Omit<MitigationDeps, 'execution'> = {
    guardrails: bundledGuardrails(),
    targetFor: targets.targetFor,
    ledger: new DynamoDbActionLedger(o.dynamo, o.tableName),
    events: bus,
    notifier: o.notifier,
    windows: new DynamoDbWindowStore(o.dynamo, o.tableName),
    changes: new DynamoDbChangeStore(o.dynamo, o.tableName),
    killSwitch: async () => (await killSwitchState(o.dynamo, o.tableName)).paused,
    anomalies,
    incidentAnomalies: anomalies,
    approvals: new DynamoDbApprovalStore(o.dynamo, o.tableName),
    platformMinTenants: o.platformMinTenants ?? 3,
    unavailableTargets: targets.handedOffKinds(),
    now,
    ...(o.deploymentRegion !== undefined && { deploymentRegion: o.deploymentRegion }),
    // `mitigation.stepApproval` as the synthesized task Lambda gets it.
    stepApproval: stepApprovalFromTemplate(o.template),
  };
  const task: LocalStepFunctionsOptions['handler'] = createMitigationHandler((context) => ({
    ...deps,
    execution: context.awsRequestId,
  }));
  const handler = o.meter ? o.meter.timed('mitigation', task) : task;
  const stepFunctions = new LocalStepFunctions({
    template: o.template,
    handler,
    timings: o.timings ?? LOCAL_MITIGATION_TIMINGS,
    now,
    ...(o.onTransition && { onTransition: o.onTransition }),
  });
  return { stepFunctions, bus, deps, targets };
}

/** The task Lambda's `STEP_APPROVAL` (which steps wait for an operator), from the synthesized template. */
function stepApprovalFromTemplate(template: CfnTemplate): NonNullable<MitigationDeps['stepApproval']> {
  for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const value = fn.Properties?.Environment?.Variables?.[MITIGATION_ENV.stepApproval];
    if (typeof value === 'string' && value) return stepApprovalOf(value);
  }
  return stepApprovalOf(undefined);
}
