import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDbActionLedger } from '../../adapters/action-ledger.js';
import { StepFunctionsMitigationStarter } from '../../adapters/mitigation-starter.js';
import { LambdaRollbackRequester } from '../../adapters/rollback-requester.js';
import { apiWiring, lazyHandler, requireEnv } from './aws.js';
import { API_ENV } from './environment.js';
import { createRollbackHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger, tracer } = apiWiring();
  return createRollbackHandler(
    {
      ledger: new DynamoDbActionLedger(dynamo, table),
      mitigations: new StepFunctionsMitigationStarter(
        tracer.captureAWSv3Client(new SFNClient({})),
        requireEnv(API_ENV.stateMachineArn),
      ),
      rollbacks: new LambdaRollbackRequester(
        tracer.captureAWSv3Client(new LambdaClient({})),
        requireEnv(API_ENV.mitigationFunction),
      ),
      now: Date.now,
    },
    logger,
  );
});
