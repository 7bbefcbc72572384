import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDbApprovalStore } from '../../adapters/approval-store.js';
import { StepFunctionsTaskResponder } from '../../adapters/task-token-responder.js';
import { apiWiring, lazyHandler } from './aws.js';
import { createApproveHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger, tracer } = apiWiring();
  return createApproveHandler(
    {
      approvals: new DynamoDbApprovalStore(dynamo, table),
      taskTokens: new StepFunctionsTaskResponder(tracer.captureAWSv3Client(new SFNClient({}))),
      now: Date.now,
    },
    logger,
  );
});
