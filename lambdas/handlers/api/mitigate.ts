import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDbAnomalyStore } from '../../adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../../adapters/change-store.js';
import { bundledGuardrails } from '../../adapters/guardrails.js';
import { StepFunctionsMitigationStarter } from '../../adapters/mitigation-starter.js';
import { readFlags } from '../../adapters/targets/index.js';
import { KILL_SWITCH_FLAG } from '../mitigation-environment.js';
import { apiWiring, lazyHandler, requireEnv, timingsFromEnv } from './aws.js';
import { API_ENV } from './environment.js';
import { createMitigateHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger, tracer } = apiWiring();
  const timings = timingsFromEnv();
  const region = process.env[API_ENV.deploymentRegion];
  return createMitigateHandler(
    {
      anomalies: new DynamoDbAnomalyStore(dynamo, table),
      mitigations: new StepFunctionsMitigationStarter(tracer.captureAWSv3Client(new SFNClient({})), requireEnv(API_ENV.stateMachineArn), timings),
      planning: {
        guardrails: bundledGuardrails(),
        changes: new DynamoDbChangeStore(dynamo, table),
        killSwitch: async () => (await readFlags(dynamo, table, '*')).get(KILL_SWITCH_FLAG)?.value === true,
        now: Date.now,
        ...(region && { deploymentRegion: region }),
      },
      timings,
    },
    logger,
  );
});
