import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDbAnomalyStore } from '../../adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../../adapters/change-store.js';
import { bundledGuardrails } from '../../adapters/guardrails.js';
import { StepFunctionsMitigationStarter } from '../../adapters/mitigation-starter.js';
import {
  configuredKinds,
  handedOffKinds,
  parseActionTargetsConfig,
  unconfiguredSteps,
} from '../../adapters/targets/index.js';
import { killSwitchState } from '../../adapters/kill-switch.js';
import { apiWiring, lazyHandler, requireEnv, timingsFromEnv } from './aws.js';
import { API_ENV } from './environment.js';
import { createMitigateHandler } from './operator-api.js';
import type { StepApprovalConfig } from '../../core/mitigation/guardrail-request.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger, tracer } = apiWiring();
  const timings = timingsFromEnv();
  const region = process.env[API_ENV.deploymentRegion];
  // Plan as the workflow does: same incident threshold, same targets (the stack passes both).
  const planning = JSON.parse(process.env[API_ENV.mitigationPlanning] || '{}') as {
    platformMinTenants?: number;
    actionTargets?: unknown;
    stepApproval?: StepApprovalConfig;
  };
  const targets = parseActionTargetsConfig(planning.actionTargets ?? { unconfiguredTargets: 'flag-table' });
  const configured = configuredKinds(targets);
  const anomalies = new DynamoDbAnomalyStore(dynamo, table);
  return createMitigateHandler(
    {
      anomalies,
      mitigations: new StepFunctionsMitigationStarter(
        tracer.captureAWSv3Client(new SFNClient({})),
        requireEnv(API_ENV.stateMachineArn),
        timings,
      ),
      planning: {
        guardrails: bundledGuardrails(),
        changes: new DynamoDbChangeStore(dynamo, table),
        killSwitch: async () => (await killSwitchState(dynamo, table)).paused,
        now: Date.now,
        anomalies,
        platformMinTenants: planning.platformMinTenants ?? 3,
        ...(planning.stepApproval && { stepApproval: planning.stepApproval }),
        unavailableTargets: handedOffKinds(configured, targets.unconfiguredTargets),
        ...(region && { deploymentRegion: region }),
      },
      timings,
      unconfiguredTargets: (steps) => unconfiguredSteps(configured, targets.unconfiguredTargets, steps),
    },
    logger,
  );
});
